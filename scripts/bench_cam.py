"""Explanation cost of the engine against forward-only inference, in time and peak memory.

torchvision r3d_18 and C3D with random weights, a batch of 2 x 3 x 16 x 112 x 112 clips, on
the CPU. Time: each method's median over interleaved repeats, as a ratio to a no-grad
forward pass measured in the same run. Memory: every variant runs in its own fresh
process; after a warm-up call the peak RSS (VmHWM) is reset, and the new peak of one call
is compared with the no-grad forward's. Writes the `bench_cam` section of BENCHMARKS.md.

Usage: python scripts/bench_cam.py [--repeats 5] [--batch 2] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

MODELS = {"r3d_18": "layer4", "c3d": "conv5b"}
VARIANTS = ["forward", "cam", "gradcam", "gradcam++", "gradcam++ top-5", "guided-gradcam++"]


def build(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if name == "r3d_18":
        import torchvision

        return torchvision.models.video.r3d_18(num_classes=400).eval()
    import videocam

    return videocam.models.C3D(num_classes=487).eval()


def runner(model: torch.nn.Module, layer: str, variant: str, clips: torch.Tensor):
    import videocam

    if variant == "forward":

        def forward():
            with torch.no_grad():
                return model(clips)

        return forward
    if variant == "cam":
        cam = videocam.CAM(model, layer)
        return lambda: cam(clips)
    if variant == "gradcam":
        cam = videocam.GradCAM(model, layer)
        return lambda: cam(clips)
    if variant == "gradcam++":
        cam = videocam.GradCAMPlusPlus(model, layer)
        return lambda: cam(clips)
    if variant == "gradcam++ top-5":
        cam = videocam.GradCAMPlusPlus(model, layer)
        return lambda: cam(clips, top_k=5)
    if variant == "guided-gradcam++":
        cam = videocam.GuidedGradCAMPlusPlus(model, layer)
        return lambda: cam(clips)
    raise ValueError(variant)


def applicable(model_name: str, variant: str) -> bool:
    return not (variant == "cam" and model_name == "c3d")  # C3D's head is fc6-fc8, not GAP


def child(model_name: str, variant: str, batch: int) -> None:
    """Peak memory of one call of ``variant`` in this fresh process."""
    model = build(model_name)
    clips = torch.rand(batch, 3, 16, 112, 112)
    fn = runner(model, MODELS[model_name], variant, clips)
    before = benchlib.rss_kib()  # model and input built, nothing run yet
    fn()  # warm-up: one-time allocations of the libraries (kept by the allocator)
    resettable = benchlib.reset_peak_rss()
    fn()
    peak = benchlib.rss_kib("VmHWM")
    print(json.dumps({"before_kib": before, "peak_kib": peak, "reset": resettable}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.batch)
        return

    clips = torch.rand(args.batch, 3, 16, 112, 112)
    rows = []
    for model_name, layer in MODELS.items():
        model = build(model_name)
        variants = {
            v: runner(model, layer, v, clips) for v in VARIANTS if applicable(model_name, v)
        }
        times = benchlib.interleaved_times(variants, repeats=args.repeats)
        base_time = benchlib.median(times["forward"])
        mem = {
            v: benchlib.run_child([__file__, "--child", model_name, v, "--batch", str(args.batch)])
            for v in variants
        }
        base = mem["forward"]
        base_extra = base["peak_kib"] - base["before_kib"]
        for v in variants:
            t = benchlib.median(times[v])
            extra = mem[v]["peak_kib"] - mem[v]["before_kib"]
            rows.append(
                [
                    model_name,
                    v,
                    f"{t * 1000:.0f}",
                    f"{t / base_time:.2f}x",
                    f"{mem[v]['peak_kib'] / 1024:.0f}",
                    f"{mem[v]['peak_kib'] / base['peak_kib']:.2f}x",
                    f"{extra / 1024:.0f}",
                    f"{extra / max(base_extra, 1):.2f}x",
                ]
            )
            print(" | ".join(rows[-1]), flush=True)
        del model
    body = "\n".join(
        [
            "## Engine cost against forward-only inference (`scripts/bench_cam.py`)",
            "",
            f"Batch {args.batch} x 3 x 16 x 112 x 112, random weights, CPU; median of "
            f"{args.repeats} interleaved repeats. Machine: {benchlib.machine()}.",
            "Peak = the process's peak RSS during one call (after a warm-up call, VmHWM reset);",
            "extra = that peak minus the RSS once the model and input were built, before any",
            "call (the call's working memory, including what the allocator kept from the warm-up).",
            "",
            benchlib.table(
                [
                    "model",
                    "method",
                    "ms",
                    "time vs forward",
                    "peak MiB",
                    "peak vs forward",
                    "extra MiB",
                    "extra vs forward",
                ],
                rows,
            ),
            "",
            "Targets: Grad-CAM++ <= 1.1x forward-only in time and peak memory; top-5 <= 1.3x.",
            "Guided Grad-CAM++ needs a full backward pass to the pixels (guided backprop), so it",
            "costs a forward plus a full input-gradient backward by definition.",
        ]
    )
    if not args.no_write:
        benchlib.write_section("bench_cam", body)
    print(body)


if __name__ == "__main__":
    main()
