"""GPU benchmark for a lent machine (run it through ``scripts/bench_gpu.sh run``).

Measures, on one CUDA device, in one run:

1. The machine's bf16 ceiling: an 8192^3 bf16 matrix product (TFLOP/s).
2. C3D and r3d_18 Grad-CAM++ at 16x112x112, batch 32 and 64, fp32 and bf16 autocast,
   contiguous and channels_last_3d memory: clips/s of the no-grad forward and of
   Grad-CAM++, and the fraction of the bf16 compute bound (forward FLOPs counted by
   ``torch.utils.flop_counter`` per clip; bound = ceiling / FLOPs per clip).
3. Agreement of Grad-CAM++ maps under bf16 autocast with float32 maps (TF32 off for the
   reference): Pearson r per clip (target >= 0.99).
4. End-to-end ``explain_video`` frames/s on a generated 1080p video (C3D, bf16), with the
   per-stage busy times, and decode-only frames/s of the same file.

Writes ``bench_gpu.json`` and ``bench_gpu.md`` (the BENCHMARKS.md section) to
``--out-dir``; ``--publish FILE.json`` writes that section into BENCHMARKS.md here.
``--dry-run`` runs every step on the CPU at tiny sizes (for tests; numbers meaningless).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_peers  # noqa: E402
import bench_pipeline  # noqa: E402
import benchlib  # noqa: E402

SECTION = "bench-gpu"
TARGET_R = 0.99


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_time(fn: Callable[[], object], device: torch.device, reps: int, warmup: int) -> float:
    """Median wall time of ``fn`` with the device synchronised around each call."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return benchlib.median(times)


def matmul_ceiling(device: torch.device, n: int, reps: int) -> float:
    """Measured bf16 matrix-product rate in TFLOP/s (random data, median of ``reps``)."""
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16, generator=gen)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16, generator=gen)
    seconds = median_time(lambda: a @ b, device, reps, warmup=3)
    return 2 * n**3 / seconds / 1e12


def build(name: str, dry_run: bool) -> tuple[torch.nn.Module, str, tuple[int, int]]:
    """(model, target layer, (frames, crop)) with random weights."""
    import videocam
    from videocam.models import create_model, get_config

    torch.manual_seed(0)
    if dry_run and name == "c3d":  # the fc head needs 112x112; a compact GAP C3D instead
        model = videocam.models.C3D(num_classes=16, widths=(8,) * 8, head="gap").eval()
        return model, "conv5b", (16, 32)
    cfg = get_config(name)
    return create_model(name), cfg.target_layers[0], ((4, 32) if dry_run else (16, 112))


def flops_per_clip(model: torch.nn.Module, frames: int, crop: int, device: torch.device) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    clip = torch.rand(1, 3, frames, crop, crop, device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(clip)
    return float(counter.get_total_flops())


def autocast(device: torch.device, bf16: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else nullcontext()


def throughput(
    args: argparse.Namespace, device: torch.device, ceiling: float
) -> tuple[list[dict], list[dict]]:
    import videocam
    from videocam.pipeline import cuda

    rows, agreement = [], []
    for name in args.models:
        model, layer, (frames, crop) = build(name, args.dry_run)
        model = model.to(device)
        flops = flops_per_clip(model, frames, crop, device)
        channels_last = cuda.to_channels_last(copy.deepcopy(model))
        for batch in args.batches:
            clips = torch.rand(batch, 3, frames, crop, crop, device=device)
            clips_cl = cuda.channels_last_inputs(clips)
            for bf16 in (False, True):
                for fmt, net, x in (("contiguous", model, clips), ("channels_last_3d", channels_last, clips_cl)):  # fmt: skip
                    row: dict[str, Any] = {
                        "model": name, "batch": batch, "dtype": "bf16" if bf16 else "fp32",
                        "format": fmt, "gflop_per_clip": flops / 1e9,
                    }  # fmt: skip

                    def forward(net=net, x=x, bf16=bf16):
                        with torch.no_grad(), autocast(device, bf16):
                            return net(x)

                    cam = videocam.GradCAMPlusPlus(net, layer)

                    def explain(cam=cam, x=x, bf16=bf16):
                        with autocast(device, bf16):
                            return cam(x)

                    try:
                        for key, fn in (("forward", forward), ("gradcam++", explain)):
                            seconds = median_time(fn, device, args.reps, args.warmup)
                            row[f"{key}_clips_s"] = batch / seconds
                            row[f"{key}_bound_fraction"] = (
                                batch * flops / seconds / (ceiling * 1e12)
                            )
                        row["gradcam++_vs_forward"] = (
                            row["forward_clips_s"] / row["gradcam++_clips_s"]
                        )
                    except torch.OutOfMemoryError:
                        row["error"] = "out of memory"
                        torch.cuda.empty_cache()
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            agreement.append({"model": name, "batch": batch, **bf16_agreement(model, layer, clips)})
            print(json.dumps(agreement[-1]), flush=True)
        del model, channels_last
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows, agreement


def bf16_agreement(model: torch.nn.Module, layer: str, clips: torch.Tensor) -> dict[str, float]:
    """Pearson r per clip between Grad-CAM++ maps in float32 (TF32 off) and under bf16."""
    import videocam

    device = clips.device
    flags = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        with videocam.GradCAMPlusPlus(model, layer) as cam:
            ref = cam(clips)
            with autocast(device, True):
                low = cam(clips)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = flags
    same_class = float((ref.classes == low.classes).float().mean())
    mean, worst = bench_peers.pearson(ref.maps[:, 0], low.maps[:, 0])
    raw_mean, raw_worst = bench_peers.pearson(ref.raw[:, 0], low.raw[:, 0])
    return {
        "r_mean": mean,
        "r_min": worst,
        "r_raw_mean": raw_mean,
        "r_raw_min": raw_worst,
        "same_class": same_class,
        "maps_dtype": str(low.maps.dtype),
    }


def end_to_end(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    from videocam.pipeline import explain_video
    from videocam.video import open_video

    size = (120, 160) if args.dry_run else (1080, 1920)
    with tempfile.TemporaryDirectory() as tmp:
        video = bench_pipeline.make_video(Path(tmp) / "hd.mp4", args.video_seconds, size=size)
        start = time.perf_counter()
        with open_video(video) as reader:
            frames = sum(1 for _ in reader)
        decode_fps = frames / (time.perf_counter() - start)
        model = args.e2e_model
        if args.dry_run:
            model = bench_pipeline.tiny_model()
        start = time.perf_counter()
        result = explain_video(
            video,
            model,
            output=Path(tmp) / "out.mp4",
            device=device,
            amp=device.type == "cuda",  # CPU bf16 convolutions are slow: the dry run uses fp32
            batch_size=args.e2e_batch,
        )
        wall = time.perf_counter() - start
    return {
        "size": f"{size[1]}x{size[0]}",
        "frames": result.num_frames,
        "fps": result.num_frames / wall,
        "decode_only_fps": decode_fps,
        "timings": result.timings,
        "model": args.e2e_model if not args.dry_run else "compact C3D (dry run)",
        "amp": device.type == "cuda",
        "batch": args.e2e_batch,
    }


def section(data: dict[str, Any]) -> str:
    dry = data.get("dry_run")
    lines = [
        "## GPU (`scripts/bench_gpu.sh run` on a lent GPU machine)",
        "",
        f"Device: {data['device']}. {data['machine']}. Measured {data['date']}."
        + (" **Dry run on the CPU: tiny sizes, numbers are not meaningful.**" if dry else ""),
        f"Measured bf16 ceiling (8192^3 matrix product): **{data['ceiling_tflops']:.1f} TFLOP/s**; "
        "bound = ceiling / forward FLOPs per clip (counted by torch.utils.flop_counter). fp32 "
        "convolutions use TF32 (PyTorch's cuDNN default).",
        "",
    ]
    rows = []
    for r in data["throughput"]:
        if "error" in r:
            rows.append(
                [r["model"], r["batch"], r["dtype"], r["format"], r["error"], "", "", "", ""]
            )
            continue
        rows.append(
            [
                r["model"], r["batch"], r["dtype"], r["format"],
                f"{r['forward_clips_s']:.0f}", f"{r['gradcam++_clips_s']:.0f}",
                f"{r['gradcam++_vs_forward']:.2f}x",
                f"{100 * r['forward_bound_fraction']:.0f}%",
                f"{100 * r['gradcam++_bound_fraction']:.0f}%",
            ]
        )  # fmt: skip
    lines += [
        benchlib.table(
            [
                "model",
                "batch",
                "dtype",
                "memory",
                "forward clips/s",
                "Grad-CAM++ clips/s",
                "Grad-CAM++ time vs forward",
                "forward % of bound",
                "Grad-CAM++ % of bound",
            ],
            rows,
        ),  # fmt: skip
        "",
        "Grad-CAM++ maps under bf16 autocast against float32 maps (TF32 off), Pearson r per "
        f"clip (target >= {TARGET_R}):",
        "",
        benchlib.table(
            ["model", "batch", "r mean", "r min", "raw r min", "same class"],
            [
                [
                    a["model"],
                    a["batch"],
                    f"{a['r_mean']:.4f}",
                    f"{a['r_min']:.4f}",
                    f"{a['r_raw_min']:.4f}",
                    f"{100 * a['same_class']:.0f}%",
                ]
                for a in data["agreement"]
            ],
        ),  # fmt: skip
        "",
    ]
    e = data["e2e"]
    t = e["timings"]
    lines += [
        f"End to end: `explain_video` on a generated {e['size']} video ({e['frames']} frames), "
        f"{e['model']}, {'bf16' if e.get('amp') else 'fp32'}, batch {e['batch']}: **{e['fps']:.1f} frames/s** "
        f"(decode alone: {e['decode_only_fps']:.1f} frames/s; busy seconds: decode "
        f"{t.get('decode', 0):.1f}, model {t.get('model', 0):.1f}, render+encode "
        f"{t.get('render', 0):.1f}, wall {t.get('wall', 0):.1f}).",
    ]
    return "\n".join(lines)


def pending_section() -> str:
    return "\n".join(
        [
            "## GPU (`scripts/bench_gpu.sh run` on a lent GPU machine)",
            "",
            "**Pending**: no session with a GPU has run it yet. The script is ready and its logic "
            "is tested on the CPU (`scripts/bench_gpu.sh dry-run`, `tests/test_bench_scripts.py`). "
            "It reports clips/s of C3D and r3d_18 Grad-CAM++ at 16x112x112, batch 32/64, fp32 and "
            "bf16 (contiguous and channels_last_3d), the fraction of the bf16 compute bound, "
            "bf16-vs-fp32 map agreement (Pearson r, target >= 0.99) and end-to-end explain "
            "frames/s on a 1080p video.",
        ]
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes (logic check)")
    parser.add_argument("--out-dir", type=Path, default=Path("bench-gpu-out"))
    parser.add_argument("--models", default="c3d,r3d_18")
    parser.add_argument("--batches", default="32,64")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--video-seconds", type=float, default=8.0)
    parser.add_argument("--e2e-model", default="c3d")
    parser.add_argument("--e2e-batch", type=int, default=16)
    parser.add_argument("--publish", type=Path, help="write the section of this bench_gpu.json")
    parser.add_argument("--pending", action="store_true", help="write the 'pending' section")
    parser.add_argument("--output", type=Path, help="BENCHMARKS file for --publish/--pending")
    args = parser.parse_args(argv)
    args.models = [m for m in args.models.split(",") if m]
    args.batches = [int(b) for b in args.batches.split(",") if b]
    if args.dry_run:
        args.batches = [min(b, 2) for b in args.batches[:1]]
        args.reps, args.warmup, args.video_seconds = 1, 1, 0.64
        args.e2e_batch = min(args.e2e_batch, 2)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.output is not None:
        benchlib.BENCHMARKS = args.output
    if args.pending:
        benchlib.write_section(SECTION, pending_section())
        return {}
    if args.publish is not None:
        data = json.loads(args.publish.read_text())
        benchlib.write_section(SECTION, section(data))
        return data
    if args.dry_run:
        device = torch.device("cpu")
    elif not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run on a GPU machine, or pass --dry-run")
    else:
        device = torch.device("cuda")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (dry run)"
    data: dict[str, Any] = {
        "device": name,
        "machine": benchlib.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "dry_run": args.dry_run,
    }
    data["ceiling_tflops"] = matmul_ceiling(device, 256 if args.dry_run else 8192, args.reps)
    print(f"bf16 ceiling: {data['ceiling_tflops']:.1f} TFLOP/s", flush=True)
    data["throughput"], data["agreement"] = throughput(args, device, data["ceiling_tflops"])
    data["e2e"] = end_to_end(args, device)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "bench_gpu.json").write_text(json.dumps(data, indent=1, default=str))
    body = section(data)
    (args.out_dir / "bench_gpu.md").write_text(body + "\n")
    print(body, flush=True)
    return data


if __name__ == "__main__":
    main()
