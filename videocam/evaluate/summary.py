"""From per-video records to ``summary.json`` and ``summary.md``.

The summary is a function of the records alone (plus the run's description), so a
distributed run, a resumed run and an uninterrupted single-process run that produced the
same records produce the same summary. Only its ``"run"`` section (wall time, number of
processes, date, library versions) describes how the run went.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch

from videocam.evaluate.metrics import (
    AverageDrop,
    DeletionAUC,
    IncreaseInConfidence,
    InsertionAUC,
    InstanceCoverage,
    Metric,
    TopKAccuracy,
    WinRate,
)

__all__ = ["FORMAT", "METRIC_INFO", "bootstrap_ci", "summarize", "summary_markdown"]

FORMAT = "videocam-evaluate-summary"
FORMAT_VERSION = 1
#: Bootstrap resamples for the confidence intervals, and their seed.
BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 0

#: Metric key -> (title, unit, "lower"/"higher" is better).
METRIC_INFO: dict[str, tuple[str, str, str]] = {
    "average_drop": ("Average Drop", "%", "lower"),
    "increase_in_confidence": ("% Increase in Confidence", "%", "higher"),
    "deletion_auc": ("Deletion AUC", "", "lower"),
    "insertion_auc": ("Insertion AUC", "", "higher"),
    "pointing_game": ("Pointing game", "", "higher"),
    "instance_coverage": ("Instance coverage", "", "higher"),
    "accuracy": ("Top-1 accuracy", "%", "higher"),
    "top5_accuracy": ("Top-5 accuracy", "%", "higher"),
}


def _delta_keys(deltas: Sequence[float]) -> list[str]:
    return [f"iou@{d:g}" for d in deltas] + [f"loc@{d:g}" for d in deltas]


def metric_info(key: str) -> tuple[str, str, str]:
    """(title, unit, better) of a summary key, including ``iou@δ`` and ``loc@δ``."""
    if key in METRIC_INFO:
        return METRIC_INFO[key]
    if key.startswith("iou@"):
        return (f"IoU (δ={key[4:]})", "", "higher")
    if key.startswith("loc@"):
        return (f"Loc (δ={key[4:]})", "", "higher")
    return (key, "", "higher")


def bootstrap_ci(
    values: Sequence[float],
    *,
    weights: Sequence[float] | None = None,
    scale: float = 1.0,
    level: float = 0.95,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> list[float] | None:
    """Percentile bootstrap interval of the (weighted) mean of ``values``.

    Deterministic: resampling uses a torch generator seeded with ``seed``.

    Returns:
        ``[low, high]`` times ``scale``, or ``None`` for fewer than 2 values.
    """
    n = len(values)
    if n < 2:
        return None
    x = torch.tensor(values, dtype=torch.float64)
    w = (
        torch.ones(n, dtype=torch.float64)
        if weights is None
        else torch.tensor(weights, dtype=torch.float64)
    )
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(0, n, (samples, n), generator=generator)
    stats = (x[picks] * w[picks]).sum(1) / w[picks].sum(1).clamp_min(1e-12)
    tail = (1.0 - level) / 2
    low, high = torch.quantile(stats, torch.tensor([tail, 1 - tail], dtype=torch.float64))
    return [float(low) * scale, float(high) * scale]


def _ok(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in records if r.get("status") == "ok"]


def _method_summary(
    records: Sequence[Mapping[str, Any]], deltas: Sequence[float], steps: int, with_ci: bool
) -> dict[str, Any]:
    """Metrics of one method from its ok records."""
    drop, increase = AverageDrop(), IncreaseInConfidence()
    deletion = DeletionAUC(steps=max(1, steps))
    insertion = InsertionAUC(steps=max(1, steps))
    pointing = Metric()
    coverage = InstanceCoverage()
    accuracy = TopKAccuracy((1, 5))
    per_delta = {key: Metric() for key in _delta_keys(deltas)}
    temporal: list[list[float]] = []
    coverage_pairs: list[tuple[int, int]] = []
    clips = 0
    for record in records:
        accuracy.add({1: [record.get("top1")], 5: [record.get("top5")]})
        for clip in record["clips"]:
            clips += 1
            drop.add([clip["drop"]])
            increase.add([clip["increase"]])
            if steps and clip.get("deletion"):
                deletion.add_curves([clip["deletion"]])
                insertion.add_curves([clip["insertion"]])
            for d in deltas:
                per_delta[f"iou@{d:g}"].add([clip.get("iou", {}).get(f"{d:g}")])
                per_delta[f"loc@{d:g}"].add([clip.get("loc", {}).get(f"{d:g}")])
            pointing.add([clip.get("pointing")])
            if clip.get("coverage") is not None:
                coverage.add_counts([clip["coverage"]])
                if clip["coverage"][1]:
                    coverage_pairs.append((clip["coverage"][0], clip["coverage"][1]))
            if clip.get("temporal"):
                temporal.append(clip["temporal"])
    top = accuracy.summary()
    out: dict[str, Any] = {
        "videos": len(records),
        "clips": clips,
        "average_drop": drop.summary(),
        "increase_in_confidence": increase.summary(),
        "deletion_auc": deletion.summary() if steps else None,
        "insertion_auc": insertion.summary() if steps else None,
        **{key: metric.summary() for key, metric in per_delta.items()},
        "pointing_game": pointing.summary(),
        "instance_coverage": coverage.summary(),
        "accuracy": top["top1"],
        "top5_accuracy": top["top5"],
    }
    if with_ci:
        out["ci95"] = {
            "average_drop": bootstrap_ci(drop.values, scale=100.0),
            "increase_in_confidence": bootstrap_ci(increase.values, scale=100.0),
            "deletion_auc": bootstrap_ci(deletion.values) if steps else None,
            "insertion_auc": bootstrap_ci(insertion.values) if steps else None,
            **{key: bootstrap_ci(metric.values) for key, metric in per_delta.items()},
            "pointing_game": bootstrap_ci(pointing.values),
            "instance_coverage": bootstrap_ci(
                [c / n for c, n in coverage_pairs], weights=[n for _, n in coverage_pairs]
            ),
            "accuracy": bootstrap_ci(accuracy.metrics[1].values, scale=100.0),
            "top5_accuracy": bootstrap_ci(accuracy.metrics[5].values, scale=100.0),
        }
        out["curves"] = {
            "deletion": deletion.curve() if steps else None,
            "insertion": insertion.curve() if steps else None,
            "temporal": _mean_curve(temporal),
        }
    return out


def _mean_curve(curves: Sequence[Sequence[float]]) -> list[float] | None:
    if not curves:
        return None
    length = min(len(c) for c in curves)
    return torch.tensor([list(c[:length]) for c in curves], dtype=torch.float64).mean(0).tolist()


def _win(records: Sequence[Mapping[str, Any]], methods: Sequence[str]) -> dict[str, Any]:
    """Win % over the clips every compared method explained."""
    falls: dict[tuple[int, int], dict[str, float]] = {}
    for record in _ok(records):
        for position, clip in enumerate(record["clips"]):
            falls.setdefault((int(record["index"]), position), {})[record["method"]] = clip["fall"]
    win = WinRate(methods)
    keys = sorted(falls)
    win.update({m: [falls[k].get(m) for k in keys] for m in methods})
    return win.summary()


def _block(
    records: Sequence[Mapping[str, Any]],
    methods: Sequence[str],
    deltas: Sequence[float],
    steps: int,
    with_ci: bool,
) -> dict[str, Any]:
    ok = _ok(records)
    per_method = {
        m: _method_summary([r for r in ok if r["method"] == m], deltas, steps, with_ci)
        for m in methods
    }
    return {"methods": per_method, "win": _win(records, methods) if len(methods) > 1 else {}}


def summarize(
    records: Iterable[Mapping[str, Any]],
    methods: Sequence[str],
    *,
    videos: int,
    deltas: Sequence[float] = (0.0, 0.25, 0.5),
    steps: int = 10,
    describe: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary of a run from its records.

    Args:
        records: Every record of the run (ok, error and missing).
        methods: The methods, in report order.
        videos: Number of videos the run covers (dataset size after ``limit``).
        deltas: The localization thresholds.
        steps: Deletion/insertion steps (0: not measured).
        describe: ``dataset``, ``model`` and ``settings`` sections to include.

    Returns:
        JSON data: ``counts``, ``methods`` (per method: every metric, ``ci95`` intervals and
        mean ``curves``), ``win`` (every ordered pair of methods), ``groups`` (the same per
        number of class-object instances, when the dataset has ground truth), ``failures``.
    """
    records = list(records)
    by_video: dict[int, list[Mapping[str, Any]]] = {}
    for record in records:
        by_video.setdefault(int(record["index"]), []).append(record)
    missing = sorted(i for i, rs in by_video.items() if any(r["status"] == "missing" for r in rs))
    failed = sorted(i for i, rs in by_video.items() if any(r["status"] == "error" for r in rs))
    done = sorted(
        i
        for i, rs in by_video.items()
        if {r["method"] for r in rs if r["status"] == "ok"} >= set(methods)
    )
    summary: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
    summary.update(dict(describe or {}))
    summary["counts"] = {
        "videos": videos,
        "records": len(records),
        "done": len(done),
        "failed": len(failed),
        "missing": len(missing),
        "pending": max(0, videos - len(by_video)),
    }
    summary.update(_block(records, methods, deltas, steps, with_ci=True))
    groups: dict[str, Any] = {}
    counts = sorted({int(r["num_instances"]) for r in _ok(records) if r.get("num_instances")})
    for count in counts:
        subset = [r for r in records if r.get("num_instances") == count]
        block = _block(subset, methods, deltas, steps, with_ci=False)
        block["videos"] = len({int(r["index"]) for r in _ok(subset)})
        groups[f"instances={count}"] = block
    if len(counts) > 1:
        multi = [r for r in records if (r.get("num_instances") or 0) >= 2]
        block = _block(multi, methods, deltas, steps, with_ci=False)
        block["videos"] = len({int(r["index"]) for r in _ok(multi)})
        groups["instances>=2"] = block
    summary["groups"] = groups
    summary["failures"] = [
        {
            "index": int(r["index"]),
            "video": r.get("video"),
            "status": r["status"],
            "error": r.get("error"),
        }
        for r in sorted(records, key=lambda r: int(r["index"]))
        if r["status"] != "ok" and r["method"] == _first_method(by_video[int(r["index"])], methods)
    ]
    return summary


def _first_method(records: Sequence[Mapping[str, Any]], methods: Sequence[str]) -> str:
    failing = {r["method"] for r in records if r["status"] != "ok"}
    return next((m for m in methods if m in failing), sorted(failing)[0])


# ------------------------------------------------------------------------------ markdown
def _md(text: Any) -> str:
    """User data inside Markdown: HTML-significant and table characters escaped."""
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\n", " ")
    )


def format_value(value: float | None, unit: str) -> str:
    """A metric value as the tables show it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.2f}" if unit == "%" else f"{value:.3f}"


def metric_keys(summary: Mapping[str, Any]) -> list[str]:
    """The metric keys present in a summary's method blocks, in table order."""
    first: Mapping[str, Any] = next(iter(summary["methods"].values()), {})
    skip = {"videos", "clips", "ci95", "curves"}
    return [k for k in first if k not in skip]


def _metric_table(block: Mapping[str, Any], methods: Sequence[str]) -> list[str]:
    keys = [
        k
        for k in metric_keys({"methods": block["methods"]})
        if any(block["methods"][m].get(k) is not None for m in methods)
    ]
    lines = ["| metric | " + " | ".join(_md(m) for m in methods) + " |"]
    lines.append("|---|" + "---:|" * len(methods))
    for key in keys:
        title, unit, better = metric_info(key)
        arrow = "↓" if better == "lower" else "↑"
        cells = [format_value(block["methods"][m].get(key), unit) for m in methods]
        lines.append(f"| {title} {arrow} | " + " | ".join(cells) + " |")
    lines.append(
        "| videos (clips) | "
        + " | ".join(
            f"{block['methods'][m]['videos']} ({block['methods'][m]['clips']})" for m in methods
        )
        + " |"
    )
    return lines


def _win_table(win: Mapping[str, Any], methods: Sequence[str]) -> list[str]:
    lines = ["| Win % (row vs column) | " + " | ".join(_md(m) for m in methods) + " |"]
    lines.append("|---|" + "---:|" * len(methods))
    for a in methods:
        cells = []
        for b in methods:
            if a == b:
                cells.append("")
                continue
            entry = win.get(f"{a} vs {b}", {})
            cells.append(format_value(entry.get("win"), "%"))
        lines.append(f"| {_md(a)} | " + " | ".join(cells) + " |")
    return lines


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """``summary.md``: the counts, the metric table, Win % and the per-group tables."""
    methods = list(summary["methods"])
    dataset = summary.get("dataset", {})
    model = summary.get("model", {})
    counts = summary["counts"]
    lines = ["# videocam evaluation", ""]
    if dataset:
        lines.append(
            f"- dataset: `{_md(dataset.get('source'))}` ({_md(dataset.get('format'))}"
            + (f", split {_md(dataset.get('split'))}" if dataset.get("split") else "")
            + ")"
        )
    if model:
        lines.append(
            f"- model: {_md(model.get('name'))}"
            + (f" (checkpoint `{_md(model.get('checkpoint'))}`)" if model.get("checkpoint") else "")
            + (f", target layers {_md(', '.join(model.get('target_layers', [])))}")
        )
    lines.append(
        f"- videos: {counts['videos']}; done {counts['done']}, failed {counts['failed']}, "
        f"missing {counts['missing']}, pending {counts['pending']}"
    )
    lines += ["", "## Metrics", ""] + _metric_table(summary, methods)
    if summary.get("win"):
        lines += ["", "## Win %", ""] + _win_table(summary["win"], methods)
        ties = {k: v["ties"] for k, v in summary["win"].items() if v.get("ties")}
        if ties:
            lines += [
                "",
                "Ties count half a win for each side: "
                + ", ".join(f"{_md(k)}: {v}" for k, v in sorted(ties.items())),
            ]
    for name, block in summary.get("groups", {}).items():
        lines += ["", f"## {_md(name)} ({block['videos']} videos)", ""]
        lines += _metric_table(block, methods)
        if block.get("win"):
            lines += [""] + _win_table(block["win"], methods)
    if summary.get("failures"):
        lines += ["", "## Failed videos", ""]
        for failure in summary["failures"][:50]:
            lines.append(
                f"- {failure['index']}: `{_md(failure.get('video'))}`: {_md(failure.get('error'))}"
            )
        if len(summary["failures"]) > 50:
            lines.append(f"- ... and {len(summary['failures']) - 50} more (see records.jsonl)")
    lines += [
        "",
        "Average Drop, Increase in Confidence and Win % follow Chattopadhyay et al. (2018), "
        "section 6; deletion/insertion AUC Petsiuk et al. (2018) over space-time voxels; "
        "IoU/Loc at δ, pointing game and instance coverage use the ground truth in the "
        "model's input crop. See videocam.evaluate.metrics for the exact definitions.",
    ]
    return "\n".join(lines) + "\n"
