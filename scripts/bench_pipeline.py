"""Throughput of the explain pipeline per stage and end to end, and memory against length.

1. A generated 320x240 video (default 30 s at 25 fps); torchvision r3d_18 with random
   weights on the CPU, Grad-CAM++. Measured in one run: decode-only, model-only
   (preprocessing + Grad-CAM++ on the video's windows), render+encode-only and the
   end-to-end ``explain_video``, each in frames per second; the end-to-end time is
   compared with the slowest stage (target <= 1.25x).
2. Peak RSS of ``explain_video`` on a 10-second and a 5-minute video, each in its own
   process (target: 5 min <= 1.2x of 10 s). The pipeline's memory is what is measured, so
   this part uses a compact C3D-family model to keep the 5-minute run short.

Writes the ``bench_pipeline`` section of BENCHMARKS.md.

Usage: python scripts/bench_pipeline.py [--seconds 30] [--long-seconds 300] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402

FPS = 25


def make_video(path: Path, seconds: float, size=(240, 320), seed: int = 0) -> Path:
    """A moving textured square over a noisy background, written with videocam's encoder."""
    from videocam.video import VideoWriter

    rng = np.random.default_rng(seed)
    height, width = size
    background = rng.integers(40, 90, size=(height, width, 3), dtype=np.uint8)
    n = int(round(seconds * FPS))
    with VideoWriter(path, FPS, preset="ultrafast") as writer:
        for t in range(n):
            frame = background.copy()
            x = int((width - 40) * (0.5 + 0.5 * np.sin(t / 17)))
            y = int((height - 40) * (0.5 + 0.5 * np.cos(t / 23)))
            frame[y : y + 40, x : x + 40] = (220, 180, 40)
            frame += rng.integers(0, 8, size=frame.shape, dtype=np.uint8)
            writer.write(frame)
    return path


def tiny_model() -> torch.nn.Module:
    import videocam

    torch.manual_seed(0)
    return videocam.models.C3D(
        num_classes=8, widths=(8, 16, 16, 16, 32, 32, 32, 32), head="gap"
    ).eval()


def stage_throughput(video: Path, model_name: str, batch_size: int) -> dict[str, float]:
    from videocam.cam import MultiCAM
    from videocam.pipeline import explain_video, resolve_model, window_spec_for
    from videocam.video import (
        ClipPreprocessor,
        FrameRenderer,
        VideoWriter,
        batch_windows,
        iter_windows,
        open_video,
    )

    resolved = resolve_model(model_name, device="cpu")
    spec = window_spec_for(resolved)
    out: dict[str, float] = {}

    start = time.perf_counter()
    with open_video(video) as reader:
        frames = sum(1 for _ in reader)
        info = reader.info
    out["frames"] = frames
    out["decode"] = frames / (time.perf_counter() - start)

    # model-only: the video's windows, preprocessed in advance, through Grad-CAM++
    pre = ClipPreprocessor(resolved.preset)
    with open_video(video) as reader:
        batches = [
            pre.batch([w.images for w in batch])
            for batch in batch_windows(iter_windows(reader, spec), batch_size)
        ]
    cam = MultiCAM(resolved.model, list(resolved.target_layers), methods=("gradcam++",))
    start = time.perf_counter()
    for clips in batches:
        cam(resolved.prepare_inputs(clips))
    out["model"] = frames / (time.perf_counter() - start)
    del batches

    # render + encode only: the frames with a moving synthetic heatmap
    renderer = FrameRenderer(expected_frames=frames)
    yy, xx = np.mgrid[0 : info.height, 0 : info.width]
    with tempfile.TemporaryDirectory() as tmp, open_video(video) as reader:
        images = [f.image for f in reader]
        start = time.perf_counter()
        with VideoWriter(Path(tmp) / "encode.mp4", info.frame_rate) as writer:
            for i, image in enumerate(images):
                heat = np.exp(-((xx - i % info.width) ** 2 + (yy - info.height / 2) ** 2) / 800.0)
                writer.write(
                    renderer.render(
                        image,
                        heat.astype(np.float32),
                        importance=float(heat.mean()),
                        caption=["bench 0.50"],
                    )
                )
        out["encode"] = frames / (time.perf_counter() - start)
        del images

        start = time.perf_counter()
        result = explain_video(video, resolved, output=Path(tmp) / "e2e.mp4", batch_size=batch_size)
        wall = time.perf_counter() - start
    out["end_to_end"] = result.num_frames / wall
    out.update({f"busy_{k}": v for k, v in result.timings.items()})
    return out


def child_memory(video: str) -> None:
    from videocam.pipeline import explain_video, resolve_model

    resolved = resolve_model(tiny_model(), device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        result = explain_video(video, resolved, output=Path(tmp) / "out.mp4", batch_size=4)
    print(json.dumps({"peak_kib": benchlib.rss_kib("VmHWM"), "frames": result.num_frames}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--short-seconds", type=float, default=10)
    parser.add_argument("--long-seconds", type=float, default=300)
    parser.add_argument("--model", default="r3d_18")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child-memory", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        child_memory(args.child_memory)
        return
    with tempfile.TemporaryDirectory() as tmp:
        video = make_video(Path(tmp) / "bench.mp4", args.seconds)
        stages = stage_throughput(video, args.model, args.batch_size)
        short = make_video(Path(tmp) / "short.mp4", args.short_seconds, seed=1)
        long = make_video(Path(tmp) / "long.mp4", args.long_seconds, seed=2)
        mem_short = benchlib.run_child([__file__, "--child-memory", str(short)])
        mem_long = benchlib.run_child([__file__, "--child-memory", str(long)], timeout=3600)
    slowest = min(stages["decode"], stages["model"], stages["encode"])
    ratio = slowest / stages["end_to_end"]
    rows = [
        ["decode only", f"{stages['decode']:.1f}"],
        [
            f"model only ({args.model}, Grad-CAM++, batch {args.batch_size})",
            f"{stages['model']:.1f}",
        ],
        ["render + encode only", f"{stages['encode']:.1f}"],
        ["end to end (`explain_video`)", f"{stages['end_to_end']:.1f}"],
    ]
    body = "\n".join(
        [
            "## Explain pipeline (`scripts/bench_pipeline.py`)",
            "",
            f"A generated {args.seconds:.0f} s 320x240 video at {FPS} fps ({stages['frames']:.0f} frames), "
            f"{args.model} with random weights, CPU. Machine: {benchlib.machine()}.",
            "",
            benchlib.table(["stage", "frames/s"], rows),
            "",
            f"End to end takes **{ratio:.2f}x** the time of the slowest stage (target <= 1.25x); "
            f"the sum of the stages would be "
            f"{(1 / stages['decode'] + 1 / stages['model'] + 1 / stages['encode']) * stages['end_to_end']:.2f}x.",
            "",
            "Peak RSS of `explain_video` (compact C3D-family model, own process each):",
            "",
            benchlib.table(
                ["video", "frames", "peak RSS MiB"],
                [
                    [
                        f"{args.short_seconds:.0f} s",
                        mem_short["frames"],
                        f"{mem_short['peak_kib'] / 1024:.0f}",
                    ],
                    [
                        f"{args.long_seconds:.0f} s",
                        mem_long["frames"],
                        f"{mem_long['peak_kib'] / 1024:.0f}",
                    ],
                ],
            ),
            "",
            f"Long / short: **{mem_long['peak_kib'] / mem_short['peak_kib']:.2f}x** (target <= 1.2x).",
        ]
    )
    if not args.no_write:
        benchlib.write_section("bench_pipeline", body)
    print(body)


if __name__ == "__main__":
    main()
