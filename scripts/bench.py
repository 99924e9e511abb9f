"""One benchmark command: explanation cost, peers, pipeline throughput and memory.

Every figure is measured side by side in ONE run (variants interleaved round-robin, the
median of the repeats) and reported as a ratio to a baseline from that same run, next to
the absolute numbers and the machine they came from. Random weights throughout (speed and
memory do not depend on the weights).

Parts (``--parts``, comma-separated; default all):

cost
    Explanation time over forward-only (no-grad) inference for CAM, Grad-CAM, Grad-CAM++,
    top-5 Grad-CAM++ and Guided Grad-CAM++ on C3D, r3d_18, x3d_s and slowfast_r50, batch 1
    and 4, each model at its registry clip size.
peers
    pytorch-grad-cam, torchcam and Captum at the same layer, input and batch (r3d_18 and
    C3D, batch 4): time as a ratio to videocam's same method, and agreement of the maps
    (Pearson r per clip, at the layer's resolution and at the clip's), with diagnostics
    that pin down why a peer's map differs.
pipeline
    ``videocam explain`` on a generated 60 s 320x240 video: frames/s of the command,
    the per-stage breakdown (decode / model / render+encode alone and end to end), and
    how throughput changes with ``--batch-size`` and ``--stride``.
memory
    Peak RSS of one explanation call against a no-grad forward at the same batch (r3d_18,
    8 clips), for videocam and each peer, each in its own fresh process (VmHWM reset after
    a warm-up call); and peak RSS of ``explain_video`` on 10 s, 1 min and 5 min videos.

Each part writes its own section of BENCHMARKS.md (``bench-cost``, ``bench-peers``,
``bench-pipeline``, ``bench-memory``). ``--quick`` runs every code path at tiny sizes in
a minute or two (for the smoke test; its numbers mean nothing).

Usage:
    python scripts/bench.py                       # everything (hours on 2 CPU cores)
    python scripts/bench.py --parts peers,memory  # some parts
    python scripts/bench.py --quick --no-write    # smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_cam  # noqa: E402
import bench_peers  # noqa: E402
import bench_pipeline  # noqa: E402
import benchlib  # noqa: E402

PARTS = ("cost", "peers", "pipeline", "memory")
VIDEOCAM_VARIANTS = ["cam", "gradcam", "gradcam++", "gradcam++ top-5", "guided-gradcam++"]
#: (frames, crop) per model in --quick mode (tiny inputs: code paths, not numbers).
QUICK_SIZES = {"r3d_18": (4, 32), "slowfast_r50": (8, 32), "x3d_s": (4, 32), "c3d": (16, 112)}


# --------------------------------------------------------------------------- settings
@dataclass
class Settings:
    """What one run measures (the full defaults, or ``--quick``)."""

    parts: tuple[str, ...] = PARTS
    quick: bool = False
    repeats: int = 3
    models: tuple[str, ...] = ("c3d", "r3d_18", "x3d_s", "slowfast_r50")
    batches: tuple[int, ...] = (1, 4)
    peer_models: tuple[str, ...] = ("r3d_18", "c3d")
    peer_batch: int = 4
    memory_model: str = "r3d_18"
    memory_batch: int = 8
    memory_variants: tuple[str, ...] | None = None  # None: all
    pipeline_model: str = "c3d"
    pipeline_seconds: float = 60.0
    pipeline_batch: int = 4
    batch_sizes: tuple[int, ...] = (1, 4, 8)
    strides: tuple[int, ...] = (8, 4)
    lengths: tuple[float, ...] = (10.0, 60.0, 300.0)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def quick_settings(cls, parts: tuple[str, ...]) -> Settings:
        return cls(
            parts=parts,
            quick=True,
            repeats=1,
            models=("r3d_18", "slowfast_r50"),
            batches=(1, 2),
            peer_models=("r3d_18",),
            peer_batch=2,
            memory_model="r3d_18",
            memory_batch=2,
            memory_variants=(
                "forward",
                "gradcam++",
                "pytorch-grad-cam GradCAMPlusPlus",
                "torchcam GradCAMpp",
            ),
            pipeline_model="r3d_18",
            pipeline_seconds=2.0,
            pipeline_batch=2,
            batch_sizes=(1, 2),
            strides=(16,),
            lengths=(1.0, 2.0),
        )


def clip_size(name: str, quick: bool) -> tuple[int, int]:
    """(frames, crop) of the clips ``name`` is benchmarked on."""
    from videocam.models import get_config

    if quick:
        return QUICK_SIZES.get(name, (4, 32))
    cfg = get_config(name)
    return cfg.clip_len, cfg.crop_size


@dataclass
class Subject:
    """A registry model with its target layers and benchmark inputs."""

    name: str
    model: torch.nn.Module
    layers: list[str]
    frames: int
    crop: int

    def inputs(self, batch: int, seed: int = 0) -> Any:
        """(B, 3, T, S, S) random clips in the model's input form (SlowFast: two pathways)."""
        from videocam.models import get_config

        gen = torch.Generator().manual_seed(seed)
        clips = torch.rand(batch, 3, self.frames, self.crop, self.crop, generator=gen)
        return get_config(self.name).prepare_inputs(clips)

    @property
    def layer(self) -> str | list[str]:
        """One layer as a name (so CAM applies), several as a list."""
        return self.layers[0] if len(self.layers) == 1 else list(self.layers)

    def size_text(self) -> str:
        return f"{self.frames}x{self.crop}x{self.crop}"


def subject(name: str, quick: bool) -> Subject:
    from videocam.models import create_model, get_config

    torch.manual_seed(0)
    model = create_model(name)
    frames, crop = clip_size(name, quick)
    return Subject(name, model, list(get_config(name).target_layers), frames, crop)


def forward_fn(model: torch.nn.Module, inputs: Any) -> Callable[[], object]:
    """No-grad inference; a list input is passed as a fresh list (SlowFast writes into it)."""

    def forward():
        with torch.no_grad():
            return model(list(inputs) if isinstance(inputs, list) else inputs)

    return forward


def videocam_fn(subj: Subject, variant: str, inputs: Any) -> Callable[[], object]:
    """A videocam variant (``scripts/bench_cam.py``'s runner), or the no-grad forward."""
    if variant == "forward":
        return forward_fn(subj.model, inputs)
    return bench_cam.runner(subj.model, subj.layer, variant, inputs)


def usable(fn_factory: Callable[[], Callable[[], object]]) -> tuple[Callable | None, str]:
    """Builds a variant and calls it once (the warm-up); a VideocamError means "n/a"."""
    from videocam.errors import VideocamError

    try:
        fn = fn_factory()
        fn()
        return fn, ""
    except (VideocamError, ValueError) as exc:
        return None, " ".join(str(exc).split())


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}" if seconds >= 0.01 else f"{seconds * 1000:.1f}"


def fmt_x(value: float) -> str:
    return f"{value:.2f}x" if math.isfinite(value) else "n/a"


def fmt_r(value: float) -> str:
    return f"{value:.4f}" if math.isfinite(value) else "n/a"


def header(title: str, script_args: str, settings: Settings) -> list[str]:
    quick = " **--quick run: tiny sizes, numbers are not meaningful.**" if settings.quick else ""
    return [
        f"## {title} (`python scripts/bench.py {script_args}`)",
        "",
        f"Machine: {benchlib.machine()}. Measured {time.strftime('%Y-%m-%d')}.{quick}",
        "",
    ]


# --------------------------------------------------------------------------- part 1: cost
def part_cost(settings: Settings, results: dict) -> str:
    rows = []
    out = results.setdefault("cost", {})
    for name in settings.models:
        subj = subject(name, settings.quick)
        for batch in settings.batches:
            inputs = subj.inputs(batch)
            variants: dict[str, Callable[[], object]] = {}
            missing: dict[str, str] = {}
            for v in ["forward", *VIDEOCAM_VARIANTS]:
                fn, why = usable(lambda v=v, s=subj, x=inputs: videocam_fn(s, v, x))
                if fn is None:
                    missing[v] = why
                else:
                    variants[v] = fn
            times = benchlib.interleaved_times(variants, repeats=settings.repeats, warmup=0)
            base = benchlib.median(times["forward"])
            for v in ["forward", *VIDEOCAM_VARIANTS]:
                key = f"{name}/b{batch}/{v}"
                if v in missing:
                    out[key] = {"na": missing[v]}
                    rows.append([name, batch, v, "n/a", "n/a", f"not applicable: {missing[v]}"])
                    continue
                t = benchlib.median(times[v])
                out[key] = {"seconds": t, "ratio": t / base}
                rows.append([name, batch, v, fmt_ms(t), fmt_x(t / base), ""])
            print(f"cost {name} batch {batch}: done", flush=True)
    sizes = ", ".join(
        f"{m} {clip_size(m, settings.quick)[0]}x{clip_size(m, settings.quick)[1]}^2"
        for m in settings.models
    )
    gcpp = [r for k, r in out.items() if k.endswith("/gradcam++") and "ratio" in r]
    worst = max((r["ratio"] for r in gcpp), default=float("nan"))
    lines = header("Explanation cost against forward-only inference", "--parts cost", settings)
    lines += [
        f"CPU, random weights, clips {sizes} (frames x crop^2), default target layers; "
        f"median of {settings.repeats} interleaved repeats; ratio = time / no-grad forward of "
        "the same batch in the same run.",
        "",
        benchlib.table(["model", "batch", "method", "ms", "vs forward", "note"], rows),
        "",
        f"Target: Grad-CAM++ <= 1.1x forward-only. Worst Grad-CAM++ ratio here: **{fmt_x(worst)}**.",
        "Guided Grad-CAM++ needs a full backward pass to the pixels by definition (guided",
        "backprop), so it costs about a forward plus a full input-gradient backward.",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- part 2: peers
def _zoom_like_grad_cam(raw: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """videocam's raw map resized by pytorch-grad-cam's own scale_cam_image (scipy zoom)."""
    import numpy as np
    from pytorch_grad_cam.utils.image import scale_cam_image

    zoomed = scale_cam_image(raw.numpy(), tuple(reversed(size)))  # per layer: norm + zoom
    return torch.from_numpy(scale_cam_image(np.maximum(zoomed, 0)))  # then ReLU + norm again


def _raw_with_alpha(subj: Subject, inputs: Any, alpha: Callable) -> torch.Tensor:
    import videocam

    with videocam.GradCAMPlusPlus(subj.model, subj.layer, alpha=alpha) as cam:
        return cam(inputs).raw[:, 0]


def _grad_cam_eps_alpha(acts: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    """pytorch-grad-cam's alpha: g^2 / (2 g^2 + sum(A) g^3 + 1e-6), 0 where g == 0."""
    act_sum = acts.flatten(2).sum(-1)[(None, ...) + (None,) * (acts.ndim - 2)]
    g2 = grads.pow(2)
    return torch.where(grads != 0, g2 / (2 * g2 + act_sum * g2 * grads + 1e-6), 0.0)


def _torchcam_alpha(acts: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    """torchcam 0.5's effective alpha: g^2 (its in-place division acts on a masked copy)."""
    return grads.pow(2)


def _diagnostics(subj: Subject, inputs: Any, peer: bench_peers.PeerVariant, final, raw) -> str:
    """A computed explanation of a peer's disagreement with videocam (or '')."""
    size = tuple(inputs.shape[2:])
    if peer.library == "grad-cam" and peer.method == "gradcam":
        ours = bench_peers.videocam_maps(subj.model, subj.layer, inputs, "gradcam")[1]
        r, _ = bench_peers.pearson(_zoom_like_grad_cam(ours, size), final)
        return (
            f"same formula (raw r ~ 1); the final maps differ by upsampling: scipy zoom "
            f"(cubic spline, corner-aligned) vs trilinear. videocam's raw map resized with "
            f"pytorch-grad-cam's scale_cam_image: r = {fmt_r(r)}"
        )
    if peer.library == "grad-cam" and peer.method == "gradcam++":
        emulated = _raw_with_alpha(subj, inputs, _grad_cam_eps_alpha)
        r, _ = bench_peers.pearson(emulated, raw)
        return (
            "its alpha adds eps = 1e-6 to the denominator 2g^2 + sum(A)g^3, which is not "
            "negligible against 2g^2 once |g| < 1e-3 (small gradients are common at the last "
            "block); "
            f"videocam with that alpha: raw r = {fmt_r(r)}; plus the zoom upsampling"
        )
    if peer.library == "torchcam" and peer.method == "gradcam++":
        emulated = _raw_with_alpha(subj, inputs, _torchcam_alpha)
        r, _ = bench_peers.pearson(emulated, raw)
        return (
            "torchcam 0.5 divides alpha in place on a boolean-masked copy (`alpha[mask].div_`), "
            "so alpha stays g^2 (weights = sum g^2 relu(g)), and its denominator sums A*g^3 over "
            f"positions; videocam with alpha = g^2: raw r = {fmt_r(r)}"
        )
    if peer.library == "captum" and peer.method == "guided-gradcam++":
        ours = bench_peers.videocam_guided_backprop(subj.model, inputs)
        theirs = peer.guided_backprop()  # type: ignore[attr-defined]
        r_gb, _ = bench_peers.pearson(ours, theirs)
        plain = inputs.detach().clone().requires_grad_(True)
        target = subj.model(plain).max(1).values.sum()
        (grad,) = torch.autograd.grad(target, plain)
        r_plain, _ = bench_peers.pearson(grad, theirs)
        if r_gb > 0.99:
            verdict = "the guided-backprop parts agree; the difference is Grad-CAM vs Grad-CAM++"
        elif r_plain > 0.99:
            verdict = (
                "Captum's guided backprop is the plain input gradient here: it guides nn.ReLU "
                "modules only, and this model applies functional relu (videocam guides both)"
            )
        else:
            verdict = "the guided-backprop parts differ"
        return (
            f"guided backprop alone: r = {fmt_r(r_gb)} with videocam's; Captum's against the "
            f"plain input gradient: r = {fmt_r(r_plain)}: {verdict}"
        )
    return ""


def part_peers(settings: Settings, results: dict) -> str:
    versions = bench_peers.versions()
    out = results.setdefault("peers", {})
    rows, agree_rows, notes = [], [], []
    missing = [bench_peers.PEER_LABELS[k] for k, v in versions.items() if v is None]
    for name in settings.peer_models:
        subj = subject(name, settings.quick)
        layer = subj.layers[0]
        inputs = subj.inputs(settings.peer_batch)
        ours = {}
        for v in ["forward", "gradcam", "gradcam++", "gradcam++ top-5", "guided-gradcam++"]:
            fn, why = usable(lambda v=v, s=subj, x=inputs: videocam_fn(s, v, x))
            if fn is None:
                raise RuntimeError(f"videocam {v} failed on {name}: {why}")
            ours[v] = fn
        peers = bench_peers.peer_variants(subj.model, layer, inputs)
        variants = {f"videocam {k}" if k != "forward" else k: fn for k, fn in ours.items()}
        for peer in peers:
            peer.run()  # warm-up
            variants[peer.name] = peer.run
        times = benchlib.interleaved_times(variants, repeats=settings.repeats, warmup=0)
        base = benchlib.median(times["forward"])
        med = {k: benchlib.median(v) for k, v in times.items()}
        for v in ["forward", "gradcam", "gradcam++", "gradcam++ top-5", "guided-gradcam++"]:
            key = v if v == "forward" else f"videocam {v}"
            rows.append(
                [
                    name,
                    key,
                    fmt_ms(med[key]),
                    fmt_x(med[key] / base),
                    "1.00x" if v != "forward" else "",
                ]
            )
        for peer in peers:
            ref = med[f"videocam {peer.method}"]
            ratio = med[peer.name] / ref
            rows.append(
                [name, f"{peer.name} ({peer.method})", fmt_ms(med[peer.name]),
                 fmt_x(med[peer.name] / base), f"**{fmt_x(ratio)}**"]
            )  # fmt: skip
            out[f"{name}/{peer.name}"] = {"seconds": med[peer.name], "vs_videocam": ratio}
            if peer.maps is None:
                continue
            final, raw = peer.maps()
            ours_final, ours_raw = bench_peers.videocam_maps(subj.model, layer, inputs, peer.method)
            r_final = bench_peers.pearson(ours_final, final)
            r_raw = bench_peers.pearson(ours_raw, raw) if raw is not None else (math.nan, math.nan)
            why = _diagnostics(subj, inputs, peer, final, raw)
            out[f"{name}/{peer.name}"].update({"r_final": r_final[0], "r_raw": r_raw[0]})
            agree_rows.append(
                [name, peer.name, peer.method, fmt_r(r_raw[0]), fmt_r(r_raw[1]),
                 fmt_r(r_final[0]), fmt_r(r_final[1]), "; ".join(x for x in (peer.note, why) if x)]
            )  # fmt: skip
        for v in ours:
            out[f"{name}/videocam {v}"] = {"seconds": med[f"videocam {v}" if v != "forward" else v]}
        print(f"peers {name}: done", flush=True)
    lines = header("Peers at the same layer, input and batch", "--parts peers", settings)
    installed = ", ".join(f"{bench_peers.PEER_LABELS[k]} {v}" for k, v in versions.items() if v)
    lines += [
        f"CPU, random weights, batch {settings.peer_batch}, default target layers; median of "
        f"{settings.repeats} interleaved repeats. Installed: {installed or 'none'}"
        + (f"; not installed (`pip install -e .[bench]`): {', '.join(missing)}" if missing else "")
        + ".",
        "Every call returns the maps of each clip's predicted class (top-5: the 5 best) at the",
        "clip's resolution: torchcam's and Captum's layer-resolution maps are upsampled",
        "trilinearly inside the timed call; Captum is given the target class (the forward",
        "pass that finds it is not timed). pytorch-grad-cam's targets API takes one",
        "`ClassifierOutputTarget` per clip, so its top-5 is 5 calls, each a forward and a full",
        "backward pass; torchcam's top-5 is one forward and 5 backward passes to the layer.",
        "",
        benchlib.table(["model", "variant", "ms", "vs forward", "vs videocam (same method)"], rows),
        "",
        "Agreement with videocam's map of the same method and class (Pearson r per clip, mean "
        "and min over the batch): *raw* = at the target layer's resolution after ReLU, where "
        "the formulas meet; *final* = the delivered map at the clip's resolution.",
        "",
        benchlib.table(
            ["model", "peer", "method", "r raw", "min", "r final", "min", "why they differ"],
            agree_rows,
        ),
        "",
    ]
    target = settings.peer_models[0] if settings.peer_models else None
    if target and versions.get("grad-cam"):
        one = out.get(f"{target}/pytorch-grad-cam GradCAMPlusPlus", {}).get("vs_videocam")
        five = out.get(f"{target}/pytorch-grad-cam GradCAMPlusPlus x5 (top-5)", {}).get(
            "vs_videocam"
        )
        if one is not None and five is not None:
            lines.append(
                f"Targets ({target}, batch {settings.peer_batch}): videocam Grad-CAM++ >= 3x faster "
                f"than pytorch-grad-cam's GradCAMPlusPlus for one class: **{one:.2f}x**; "
                f">= 10x for the top-5 classes: **{five:.2f}x**."
            )
    notes.append("")
    return "\n".join(lines + notes)


# --------------------------------------------------------------------------- part 3: pipeline
def _explain_run(video: Path, resolved, out: Path, batch: int, stride: int | None) -> dict:
    from videocam.pipeline import explain_video

    start = time.perf_counter()
    result = explain_video(video, resolved, output=out, batch_size=batch, stride=stride)
    wall = time.perf_counter() - start
    busy = {k: v for k, v in result.timings.items() if k != "wall"}
    return {
        "frames": result.num_frames,
        "windows": len(result.windows),
        "fps": result.num_frames / wall,
        "wall": wall,
        **{f"busy_{k}": v for k, v in busy.items()},
        "wall_vs_busiest": wall / max(busy.values()),
    }


def _cli_run(video: Path, model: str, batch: int, out: Path) -> dict:
    cmd = [
        sys.executable, "-m", "videocam", "explain", str(video), "--model", model,
        "--batch-size", str(batch), "--device", "cpu", "--no-progress", "-o", str(out),
    ]  # fmt: skip
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"videocam explain failed: {proc.stderr[-2000:]}")
    frames = json.loads(out.with_suffix(".json").read_text())["num_frames"]
    return {"frames": frames, "wall": wall, "fps": frames / wall}


def part_pipeline(settings: Settings, results: dict) -> str:
    from videocam.pipeline import resolve_model, window_spec_for

    out = results.setdefault("pipeline", {})
    model = settings.pipeline_model
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        video = bench_pipeline.make_video(tmp_path / "bench.mp4", settings.pipeline_seconds)
        stages = bench_pipeline.stage_throughput(video, model, settings.pipeline_batch)
        out["stages"] = stages
        cli = _cli_run(video, model, settings.pipeline_batch, tmp_path / "cli.mp4")
        out["cli"] = cli
        resolved = resolve_model(model, device="cpu")
        span = window_spec_for(resolved).span
        sweep = []
        for batch in settings.batch_sizes:
            sweep.append(
                (
                    "batch",
                    batch,
                    None,
                    _explain_run(video, resolved, tmp_path / "s.mp4", batch, None),
                )
            )
        for stride in settings.strides:
            sweep.append(("stride", settings.pipeline_batch, stride,
                          _explain_run(video, resolved, tmp_path / "s.mp4", settings.pipeline_batch, stride)))  # fmt: skip
        out["sweep"] = [{"batch": b, "stride": s or span, **r} for _, b, s, r in sweep]
    slowest = min(stages["decode"], stages["model"], stages["encode"])
    ratio = slowest / stages["end_to_end"]
    out["e2e_vs_slowest"] = ratio
    stage_rows = [
        ["decode only", f"{stages['decode']:.1f}"],
        [f"model only ({model}, Grad-CAM++, batch {settings.pipeline_batch})", f"{stages['model']:.1f}"],
        ["render + encode only", f"{stages['encode']:.1f}"],
        ["end to end (`explain_video`)", f"{stages['end_to_end']:.1f}"],
        [f"`videocam explain --model {model}` (whole command: start-up, model build included)",
         f"{cli['fps']:.1f}"],
    ]  # fmt: skip
    sweep_rows = [
        [
            r["batch"],
            f"{r['stride']}" + (" (default: no overlap)" if r["stride"] == span else ""),
            r["windows"],
            f"{r['fps']:.1f}",
            f"{r['busy_decode']:.1f}",
            f"{r['busy_model']:.1f}",
            f"{r['busy_render']:.1f}",
            f"{r['wall']:.1f}",
            fmt_x(r["wall_vs_busiest"]),
        ]
        for r in out["sweep"]
    ]
    lines = header("Explain pipeline throughput", "--parts pipeline", settings)
    lines += [
        f"A generated {settings.pipeline_seconds:.0f} s 320x240 video at {bench_pipeline.FPS} fps "
        f"({stages['frames']:.0f} frames), `{model}` with random weights, Grad-CAM++, CPU.",
        "",
        benchlib.table(["stage", "frames/s"], stage_rows),
        "",
        f"End to end takes **{ratio:.2f}x** the time of the slowest stage alone (target <= 1.25x).",
        "",
        f"Throughput against `--batch-size` and `--stride` (`explain_video`; window span {span} "
        "frames; busy = seconds each stage spent working, they overlap):",
        "",
        benchlib.table(
            [
                "batch",
                "stride",
                "windows",
                "frames/s",
                "decode s",
                "model s",
                "render s",
                "wall s",
                "wall / busiest",
            ],
            sweep_rows,
        ),  # fmt: skip
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- part 4: memory
def child_memory(model_name: str, variant: str, batch: int, quick: bool) -> None:
    """Peak RSS of one call of ``variant`` in this fresh process (prints one JSON line)."""
    subj = subject(model_name, quick)
    inputs = subj.inputs(batch)
    if variant == "forward" or variant in VIDEOCAM_VARIANTS:
        fn = videocam_fn(subj, variant, inputs)
    else:
        peers = {p.name: p for p in bench_peers.peer_variants(subj.model, subj.layers[0], inputs)}
        fn = peers[variant].run
    # RSS with the model and the clips in memory, before any call: the baseline of "extra".
    # (After a warm-up call, RSS already holds what the allocator kept from it, so a
    # baseline taken then would hide most of a call's working memory.)
    start = benchlib.rss_kib()
    fn()  # warm-up: one-time allocations of the libraries (kept ones count in "extra")
    resettable = benchlib.reset_peak_rss()
    fn()
    peak = benchlib.rss_kib("VmHWM")
    print(json.dumps({"before_kib": start, "peak_kib": peak, "reset": resettable}))


def part_memory(settings: Settings, results: dict) -> str:
    out = results.setdefault("memory", {})
    name, batch = settings.memory_model, settings.memory_batch
    subj = subject(name, settings.quick)
    ours = ["forward", "gradcam", "gradcam++", "gradcam++ top-5", "guided-gradcam++"]
    wanted = settings.memory_variants
    peer_names = []
    if wanted is None or any(v not in ours for v in wanted):
        peer_names = [
            p.name
            for p in bench_peers.peer_variants(subj.model, subj.layers[0], subj.inputs(1))
            if "top-5" not in p.method
        ]
    size = subj.size_text()
    variants = [*ours, *peer_names]
    if wanted is not None:
        variants = [v for v in variants if v in wanted]
        if "forward" not in variants:
            variants.insert(0, "forward")  # the baseline of every ratio
    flags = ["--quick"] if settings.quick else []
    for v in variants:
        out[v] = benchlib.run_child(
            [__file__, "--child-memory", name, v, str(batch), *flags], timeout=3600
        )
        print(f"memory {v}: {out[v]['peak_kib'] / 1024:.0f} MiB", flush=True)
    base = out["forward"]
    base_extra = max(base["peak_kib"] - base["before_kib"], 1)
    rows = []
    for v in variants:
        m = out[v]
        extra = m["peak_kib"] - m["before_kib"]
        m["peak_ratio"] = m["peak_kib"] / base["peak_kib"]
        m["extra_ratio"] = extra / base_extra
        rows.append(
            [
                v if v in ("forward", *peer_names) else f"videocam {v}",
                f"{m['peak_kib'] / 1024:.0f}",
                fmt_x(m["peak_ratio"]),
                f"{extra / 1024:.0f}",
                fmt_x(m["extra_ratio"]),
            ]
        )
    # peak RSS against video length: bench_pipeline's child (compact C3D-family model)
    length_rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, seconds in enumerate(settings.lengths):
            video = bench_pipeline.make_video(Path(tmp) / f"len{i}.mp4", seconds, seed=i)
            m = benchlib.run_child(
                [bench_pipeline.__file__, "--child-memory", str(video)], timeout=3600
            )
            out[f"length {seconds:g}s"] = m
            video.unlink()
            length_rows.append([f"{seconds:g} s", m["frames"], f"{m['peak_kib'] / 1024:.0f}"])
    shortest = out[f"length {settings.lengths[0]:g}s"]["peak_kib"]
    longest = out[f"length {settings.lengths[-1]:g}s"]["peak_kib"]
    out["length_ratio"] = longest / shortest
    for row, seconds in zip(length_rows, settings.lengths, strict=True):
        row.append(fmt_x(out[f"length {seconds:g}s"]["peak_kib"] / shortest))
    gcpp = out.get("gradcam++", {}).get("peak_ratio", math.nan)
    gcpp_extra = out.get("gradcam++", {}).get("extra_ratio", math.nan)
    lines = header("Peak memory", "--parts memory", settings)
    lines += [
        f"{name}, {batch} clips of {size}, random weights, CPU. Each variant runs in its own fresh "
        "process: one warm-up call, then the peak RSS (VmHWM) is reset and one call measured. "
        "*peak* = the process's peak during that call (libraries, weights and clips included); "
        "*extra* = that peak minus the RSS with the model and clips loaded before any call "
        "(the method's working memory, including what it keeps between calls, such as "
        "parameter gradients).",
        "",
        benchlib.table(["variant", "peak MiB", "peak vs forward", "extra MiB", "extra vs forward"], rows),
        "",
        f"Target: Grad-CAM++ <= 1.1x the no-grad forward in peak memory: **{fmt_x(gcpp)}** "
        f"(extra: {fmt_x(gcpp_extra)}). "
        "(Reference figures from the issue, r3d_18, 8 clips: torchcam 2.7x, pytorch-grad-cam 4.6x, "
        "a head-only backward about 1.0x.)",
        "",
        "Peak RSS of `explain_video` against the video's length (320x240, 25 fps, a compact "
        "C3D-family model so the 5-minute run stays short; each in its own process):",
        "",
        benchlib.table(["video", "frames", "peak RSS MiB", "vs shortest"], length_rows),
        "",
        f"Longest / shortest: **{fmt_x(out['length_ratio'])}** (must stay flat: streaming).",
    ]  # fmt: skip
    return "\n".join(lines)


# --------------------------------------------------------------------------- main
SECTIONS = {
    "cost": "bench-cost",
    "peers": "bench-peers",
    "pipeline": "bench-pipeline",
    "memory": "bench-memory",
}
RUNNERS = {"cost": part_cost, "peers": part_peers, "pipeline": part_pipeline, "memory": part_memory}


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


def _names(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, Settings]:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--parts", default=",".join(PARTS), help=f"comma-separated: {','.join(PARTS)}"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: code paths, not numbers")
    parser.add_argument("--repeats", type=int, help="interleaved timed repeats (default 3)")
    parser.add_argument("--models", type=_names, help="cost: registry models")
    parser.add_argument("--batches", type=_ints, help="cost: batch sizes (default 1,4)")
    parser.add_argument("--peer-models", type=_names, help="peers: models (default r3d_18,c3d)")
    parser.add_argument("--peer-batch", type=int, help="peers: batch (default 4)")
    parser.add_argument("--memory-model", help="memory: model (default r3d_18)")
    parser.add_argument("--memory-batch", type=int, help="memory: clips (default 8)")
    parser.add_argument("--pipeline-model", help="pipeline: registry model (default c3d)")
    parser.add_argument("--pipeline-seconds", type=float, help="pipeline: video length (60)")
    parser.add_argument("--batch-sizes", type=_ints, help="pipeline: --batch-size sweep (1,4,8)")
    parser.add_argument("--strides", type=_ints, help="pipeline: --stride sweep (8,4)")
    parser.add_argument(
        "--memory-variants",
        type=lambda t: tuple(x.strip() for x in t.split(";") if x.strip()),
        help="memory: variants, ';'-separated (default all; e.g. 'forward;gradcam++')",
    )
    parser.add_argument("--lengths", type=_floats, help="memory: video lengths in s (10,60,300)")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch BENCHMARKS.md")
    parser.add_argument("--output", type=Path, help="write the sections to this file instead")
    parser.add_argument("--json", type=Path, help="also dump every measured number as JSON here")
    parser.add_argument("--child-memory", nargs=3, metavar=("MODEL", "VARIANT", "BATCH"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args(argv)
    parts = _names(args.parts)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {unknown}; choose from {', '.join(PARTS)}")
    settings = Settings.quick_settings(parts) if args.quick else Settings(parts=parts)
    for option in (
        "repeats", "models", "batches", "peer_models", "peer_batch", "memory_model",
        "memory_batch", "memory_variants", "pipeline_model", "pipeline_seconds", "batch_sizes",
        "strides", "lengths",
    ):  # fmt: skip
        value = getattr(args, option)
        if value is not None:
            setattr(settings, option, value)
    return args, settings


def main(argv: Sequence[str] | None = None) -> dict:
    """Runs the selected parts; returns every measured number (also for ``--json``)."""
    args, settings = parse_args(argv)
    if args.child_memory:
        model, variant, batch = args.child_memory
        child_memory(model, variant, int(batch), settings.quick)
        return {}
    if args.output is not None:
        benchlib.BENCHMARKS = args.output  # write_section reads this module global
    results: dict = {"machine": benchlib.machine(), "quick": settings.quick}
    for part in settings.parts:
        body = RUNNERS[part](settings, results)
        if not args.no_write:
            benchlib.write_section(SECTIONS[part], body)
        print(body, flush=True)
        if args.json is not None:  # after every part, so a long run keeps what it has
            args.json.write_text(json.dumps(results, indent=1, default=float))
    return results


if __name__ == "__main__":
    main()
