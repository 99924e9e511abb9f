"""``OUTDIR/report/``: a static HTML page with the metrics, plots and explained clips.

``report/index.html`` needs nothing outside the ``report/`` folder (no script, no CDN):
the metric tables, PNG plots made with matplotlib (``plots/``: per-method bars with 95 %
bootstrap confidence intervals, mean deletion/insertion curves, mean temporal importance
curves) and a gallery of explained clips as ``<video>`` elements (``videos/``: H.264
yuv420p MP4s, one panel per method, rendered with :class:`videocam.video.FrameRenderer`).

The page is rendered by Jinja2 with autoescaping: every string that comes from the
dataset (label names, file names, paths, error messages) is HTML-escaped, since a label
file is untrusted input. jinja2 and matplotlib are imported only here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import torch

from videocam.errors import MissingBackendError
from videocam.evaluate.metrics import normalize_maps
from videocam.evaluate.records import write_text_atomic
from videocam.evaluate.sampling import sample_clips
from videocam.evaluate.summary import format_value, metric_info, metric_keys
from videocam.pipeline.explain import METHOD_TITLES
from videocam.video import FrameRenderer, VideoWriter

if TYPE_CHECKING:  # pragma: no cover
    from videocam.evaluate.runner import _Run

__all__ = ["TEMPLATE", "choose_gallery", "make_plots", "render_gallery", "write_report"]

#: The page template (package data).
TEMPLATE = "evaluate_report.html.j2"
#: Longer side of the gallery videos (all panels together), in pixels.
GALLERY_MAX_SIZE = 1280
#: Smaller frames are enlarged (by a whole factor) to at least this height, so that the
#: captions stay readable on small videos.
GALLERY_MIN_HEIGHT = 240
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _title(method: str) -> str:
    return METHOD_TITLES.get(method, "Guided backprop" if method == "guided-backprop" else method)


def _imports() -> tuple[Any, Any, Any]:
    try:
        import jinja2
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - both are dependencies of the report
        raise MissingBackendError(
            f"the evaluation report needs jinja2 and matplotlib ({exc.name} is missing): "
            "pip install jinja2 matplotlib, or pass report=False / --no-report"
        ) from exc
    return jinja2, Figure, FigureCanvasAgg


# ------------------------------------------------------------------------------ plots
def _save(figure: Any, canvas_class: Any, path: Path) -> None:
    canvas_class(figure)
    figure.savefig(path, format="png", dpi=100, metadata={"Software": None})


def make_plots(summary: Mapping[str, Any], folder: Path) -> list[dict[str, str]]:
    """Writes the plots of ``summary`` to ``folder``; returns ``{"file", "title", "alt"}``
    per plot (file names relative to the report)."""
    _, Figure, Canvas = _imports()
    folder.mkdir(parents=True, exist_ok=True)
    methods = list(summary["methods"])
    colors = {m: _COLORS[i % len(_COLORS)] for i, m in enumerate(methods)}
    plots: list[dict[str, str]] = []

    keys = [
        k
        for k in metric_keys(summary)
        if any(summary["methods"][m].get(k) is not None for m in methods)
    ]
    groups = [
        ("Percentages", [k for k in keys if metric_info(k)[1] == "%"]),
        ("Scores in [0, 1]", [k for k in keys if metric_info(k)[1] != "%"]),
    ]
    groups = [(title, group) for title, group in groups if group]
    if groups:
        widths = [max(2, len(group)) for _, group in groups]
        figure = Figure(figsize=(1.1 * sum(widths) + 2, 4.2))
        grid = figure.add_gridspec(1, len(groups), width_ratios=widths)
        figure.subplots_adjust(left=0.06, right=0.99, bottom=0.3, top=0.88, wspace=0.15)
        width = 0.8 / len(methods)
        for n, (title, group) in enumerate(groups):
            axes = figure.add_subplot(grid[0, n])
            positions = np.arange(len(group))
            for j, m in enumerate(methods):
                values: list[float] = []
                errors: list[list[float]] = [[], []]
                for key in group:
                    value = summary["methods"][m].get(key)
                    ci = (summary["methods"][m].get("ci95") or {}).get(key)
                    values.append(np.nan if value is None else value)
                    errors[0].append(0.0 if value is None or not ci else max(0.0, value - ci[0]))
                    errors[1].append(0.0 if value is None or not ci else max(0.0, ci[1] - value))
                axes.bar(
                    positions + (j - (len(methods) - 1) / 2) * width,
                    values,
                    width,
                    yerr=errors,
                    capsize=2,
                    color=colors[m],
                    label=_title(m),
                )
            labels = [
                metric_info(k)[0] + (" ↓" if metric_info(k)[2] == "lower" else " ↑") for k in group
            ]
            axes.set_xticks(positions, labels, rotation=35, ha="right", fontsize=8)
            axes.set_title(title, fontsize=10)
            axes.tick_params(axis="y", labelsize=8)
            if n == 0:
                axes.legend(fontsize=7)
        _save(figure, Canvas, folder / "metrics.png")
        plots.append(
            {
                "file": "plots/metrics.png",
                "title": "Metrics per method (↓ lower / ↑ higher is better; error bars: 95% "
                "bootstrap confidence intervals)",
                "alt": "bar charts of every metric per method",
            }
        )

    curves = {m: (summary["methods"][m].get("curves") or {}) for m in methods}
    if any(c.get("deletion") for c in curves.values()):
        figure = Figure(figsize=(9, 3.4))
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9, wspace=0.25)
        for n, kind in enumerate(("deletion", "insertion")):
            axes = figure.add_subplot(1, 2, n + 1)
            for m in methods:
                curve = curves[m].get(kind)
                if curve:
                    x = np.linspace(0.0, 1.0, len(curve))
                    auc_key = f"{kind}_auc"
                    label = (
                        f"{_title(m)} (AUC {format_value(summary['methods'][m].get(auc_key), '')})"
                    )
                    axes.plot(x, curve, marker="o", markersize=3, color=colors[m], label=label)
            axes.set_xlabel(f"share of voxels {'deleted' if kind == 'deletion' else 'inserted'}")
            axes.set_ylabel("probability of the explained class")
            axes.set_title(kind.capitalize())
            axes.set_ylim(0, 1)
            axes.legend(fontsize=7)
        _save(figure, Canvas, folder / "curves.png")
        plots.append(
            {
                "file": "plots/curves.png",
                "title": "Mean deletion and insertion curves",
                "alt": "deletion and insertion curves per method",
            }
        )

    if any(c.get("temporal") for c in curves.values()):
        figure = Figure(figsize=(6, 3.2))
        figure.subplots_adjust(left=0.12, right=0.98, bottom=0.16, top=0.9)
        axes = figure.add_subplot(1, 1, 1)
        for m in methods:
            curve = curves[m].get("temporal")
            if curve:
                axes.plot(
                    range(len(curve)),
                    curve,
                    marker="o",
                    markersize=3,
                    color=colors[m],
                    label=_title(m),
                )
        axes.set_xlabel("frame of the clip")
        axes.set_ylabel("mean map value")
        axes.set_title("Temporal importance")
        axes.legend(fontsize=7)
        _save(figure, Canvas, folder / "temporal.png")
        plots.append(
            {
                "file": "plots/temporal.png",
                "title": "Mean temporal importance (map mean per frame of the clip)",
                "alt": "temporal importance curves per method",
            }
        )
    return plots


# ------------------------------------------------------------------------------ gallery
def choose_gallery(
    records: Sequence[Mapping[str, Any]], methods: Sequence[str], count: int
) -> list[int]:
    """Indices of up to ``count`` videos for the gallery: videos every method explained,
    multi-instance ones first (up to half), then by index."""
    if count <= 0:
        return []
    ok: dict[int, set[str]] = {}
    instances: dict[int, int] = {}
    for record in records:
        if record.get("status") == "ok":
            ok.setdefault(int(record["index"]), set()).add(record["method"])
            instances[int(record["index"])] = int(record.get("num_instances") or 1)
    complete = sorted(i for i, done in ok.items() if done >= set(methods))
    multi = [i for i in complete if instances[i] >= 2][: max(1, count // 2)]
    rest = [i for i in complete if i not in multi]
    return sorted((multi + rest)[:count])


def render_gallery(run: _Run, indices: Sequence[int], folder: Path) -> list[dict[str, Any]]:
    """Renders one MP4 per video of ``indices`` (the centre clip, one panel per method);
    returns what the page shows about each."""
    folder.mkdir(parents=True, exist_ok=True)
    resolved = run.resolved
    out = []
    for index in indices:
        item = run.dataset[index]
        if item.path is None:
            continue
        sampled = sample_clips(item.path, resolved.clip_len, resolved.sampling_rate, 1)
        clips = run.preprocessor.batch(sampled.images)
        height, width = sampled.images[0][0].shape[:2]
        geometry = run.preprocessor.geometry(height, width)
        probs = run.forward(clips).softmax(dim=1)
        classes = probs.argmax(dim=1)
        maps = run.explain(clips, classes)
        methods = [m for m in run.methods if isinstance(maps.get(m), torch.Tensor)]
        if not methods:
            continue
        label = int(classes[0])
        name = resolved.labels[label] if label < len(resolved.labels) else str(label)
        probability = float(probs[0, label])
        heat = {m: geometry.unproject(maps[m][0]).cpu().numpy() for m in methods}
        importance = {
            m: normalize_maps(maps[m])[0].mean(dim=(1, 2)).cpu().tolist() for m in methods
        }
        renderers = {m: FrameRenderer(expected_frames=len(sampled.images[0])) for m in methods}
        factor = max(1, math.ceil(GALLERY_MIN_HEIGHT / height))
        fps = max(1e-3, float(sampled.info.fps) / resolved.sampling_rate)
        path = folder / f"video_{index:06d}.mp4"
        with VideoWriter(path, fps, max_size=GALLERY_MAX_SIZE) as writer:
            for t, image in enumerate(sampled.images[0]):
                if factor > 1:
                    image = cv2.resize(
                        image, (width * factor, height * factor), interpolation=cv2.INTER_LINEAR
                    )
                panels = [
                    renderers[m].render(
                        image,
                        heat[m][t],
                        importance=importance[m][t],
                        caption=[_title(m), (name, probability)],
                    )
                    for m in methods
                ]
                writer.write(np.concatenate(panels, axis=1))
        out.append(
            {
                "file": f"videos/{path.name}",
                "index": index,
                "source": item.source,
                "labels": run.dataset.label_names(item),
                "predicted": name,
                "probability": probability,
                "methods": [_title(m) for m in methods],
                "frames": len(sampled.images[0]),
                "fps": fps,
                "width": writer.size[0] if writer.size else None,
                "height": writer.size[1] if writer.size else None,
            }
        )
    return out


# ------------------------------------------------------------------------------ page
def _table(block: Mapping[str, Any], methods: Sequence[str]) -> dict[str, Any]:
    keys = [
        k
        for k in metric_keys({"methods": block["methods"]})
        if any(block["methods"][m].get(k) is not None for m in methods)
    ]
    rows = []
    for key in keys:
        title, unit, better = metric_info(key)
        values = [block["methods"][m].get(key) for m in methods]
        present = [v for v in values if v is not None]
        best = (min(present) if better == "lower" else max(present)) if present else None
        cells = []
        for m, value in zip(methods, values, strict=True):
            ci = (block["methods"][m].get("ci95") or {}).get(key)
            cells.append(
                {
                    "value": format_value(value, unit),
                    "ci": f"{format_value(ci[0], unit)}–{format_value(ci[1], unit)}" if ci else "",
                    "best": value is not None and value == best and len(set(present)) > 1,
                }
            )
        rows.append({"title": title, "unit": unit, "better": better, "cells": cells})
    counts = [f"{block['methods'][m]['videos']} ({block['methods'][m]['clips']})" for m in methods]
    return {"rows": rows, "counts": counts}


def _win_rows(win: Mapping[str, Any], methods: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for a in methods:
        cells = []
        for b in methods:
            entry = win.get(f"{a} vs {b}") if a != b else None
            cells.append(
                ""
                if entry is None
                else f"{format_value(entry.get('win'), '%')} ({entry['wins']}/{entry['ties']}/{entry['losses']})"
            )
        rows.append({"method": _title(a), "cells": cells})
    return rows


def write_report(
    out_dir: str | Path,
    summary: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    *,
    run: _Run | None = None,
    gallery: int = 4,
) -> Path:
    """Writes ``out_dir/report/index.html`` with its plots and (given ``run``, which holds
    the model) its gallery of explained clips.

    Returns:
        The path of ``index.html``.
    """
    jinja2, _, _ = _imports()
    report = Path(out_dir) / "report"
    for sub, pattern in (("plots", "*.png"), ("videos", "*.mp4")):
        for stale in (report / sub).glob(pattern):
            stale.unlink()
    report.mkdir(parents=True, exist_ok=True)
    methods = list(summary["methods"])
    plots = make_plots(summary, report / "plots")
    clips: list[dict[str, Any]] = []
    if run is not None and gallery > 0:
        clips = render_gallery(run, choose_gallery(records, methods, gallery), report / "videos")
    groups = [
        {
            "name": name,
            "videos": block["videos"],
            "table": _table(block, methods),
            "win": _win_rows(block.get("win") or {}, methods) if block.get("win") else [],
        }
        for name, block in (summary.get("groups") or {}).items()
    ]
    template_text = (resources.files("videocam") / "templates" / TEMPLATE).read_text(
        encoding="utf-8"
    )
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    page = environment.from_string(template_text).render(
        summary=summary,
        methods=[_title(m) for m in methods],
        table=_table(summary, methods),
        win=_win_rows(summary.get("win") or {}, methods) if summary.get("win") else [],
        groups=groups,
        plots=plots,
        clips=clips,
        failures=list(summary.get("failures") or [])[:200],
        dataset=summary.get("dataset") or {},
        model=summary.get("model") or {},
        counts=summary["counts"],
        settings=summary.get("settings") or {},
    )
    return write_text_atomic(report / "index.html", page)
