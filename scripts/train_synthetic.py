"""Trains ``c3d_synthetic``: a compact member of the C3D family on videocam's synthetic
sports-like benchmark, on the CPU, and ships it as package data with a model card.

Recipe (reproducible: fixed seeds, deterministic generator, single-process data):

1. Generate the training clips in memory with :func:`videocam.synthetic.generate_clip`
   (worker processes) and preprocess them exactly as the explain pipeline will (the
   model's preset: short side 64, centre crop 56, mean/std; :class:`ClipPreprocessor`):
   a curriculum of "easy" clips (flat field, still camera, 1-2 distractors) and clips of
   the benchmark's default setting (textured field, camera motion, 1-3 distractors).
   Half resolution (56 instead of C3D's 112) makes a training step 5x cheaper on the CPU;
   the objects (9-15 px radius at 128 px) stay 1-2 cells of conv4b's 7x7 grid.
2. Train C3D (layer names and conv/pool layout of Tran et al.; fewer channels, batch norm
   after every convolution, global-average-pool head) with AdamW and a cosine schedule:
   easy clips first, then a mix that ends on the default setting; random 16-frame
   windows and horizontal flips.
3. Measure held-out accuracy on freshly generated clips of a seed not used in training
   (centre 16-frame clip), and write ``videocam/models/weights/c3d_synthetic.pt`` (state
   dict), ``c3d_synthetic.json`` (model card) and ``c3d_synthetic.labels.txt``.

Usage: python scripts/train_synthetic.py [--steps 2600] [--out videocam/models/weights]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthlib import INSTANCE_SHARES, INSTANCES, clip_tasks, run_tasks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NAME = "c3d_synthetic"
WIDTHS = (8, 16, 32, 32, 64, 64, 64, 64)
MEAN, STD = (0.45, 0.45, 0.45), (0.225, 0.225, 0.225)
RESIZE, CROP = 64, 56
CLIP_LEN = 16
GEN_FRAMES = 24  # room for random 16-frame windows
TRAIN_SEED, EASY_SEED, TEST_SEED = 1, 2, 7919


def preprocessor():
    from videocam.video import ClipPreprocessor, ClipPreset

    return ClipPreprocessor(ClipPreset(resize=RESIZE, crop=CROP, mean=MEAN, std=STD))


def _make(task):
    """Worker: one clip -> (class, float16 (3, T, 56, 56) model input)."""
    seed, index, class_index, instances, easy, frames = task
    from videocam.synthetic import GeneratorConfig, generate_clip

    torch.set_num_threads(1)
    config = (
        GeneratorConfig(
            num_frames=frames, texture=0.0, camera_jitter=0.0, camera_pan=0.0, distractors=(1, 2)
        )
        if easy
        else GeneratorConfig(num_frames=frames)
    )
    clip = generate_clip(seed, index, class_index, instances, config)
    return class_index, preprocessor()(clip.frames).half().numpy()


def generate(n: int, seed: int, easy: bool, frames: int, workers: int, classes: int):
    out = run_tasks(_make, clip_tasks(n, seed, classes, easy, frames), workers)
    labels = torch.tensor([c for c, _ in out])
    clips = torch.from_numpy(np.stack([x for _, x in out]))  # (N, 3, T, 56, 56) float16
    return clips, labels


def to_input(clips: torch.Tensor) -> torch.Tensor:
    """(B, 3, T, H, W) float16 -> float32 in channels-last-3d memory (faster on CPU)."""
    return clips.float().contiguous(memory_format=torch.channels_last_3d)


def sample_batch(clips, labels, batch: int, gen: torch.Generator):
    idx = torch.randint(0, clips.shape[0], (batch,), generator=gen)
    start = torch.randint(0, clips.shape[2] - CLIP_LEN + 1, (batch,), generator=gen)
    windows = torch.stack(
        [clips[i, :, s : s + CLIP_LEN] for i, s in zip(idx.tolist(), start.tolist(), strict=True)]
    )
    flip = torch.rand(batch, generator=gen) < 0.5
    windows[flip] = windows[flip].flip(-1)
    return to_input(windows), labels[idx]


@torch.no_grad()
def accuracy(model, clips, labels, batch: int = 32) -> tuple[float, list[float]]:
    model.eval()
    start = (clips.shape[2] - CLIP_LEN) // 2
    correct, top_probs = 0, []
    for i in range(0, clips.shape[0], batch):
        x = to_input(clips[i : i + batch, :, start : start + CLIP_LEN])
        probs = model(x).softmax(1)
        correct += int((probs.argmax(1) == labels[i : i + batch]).sum())
        top_probs += probs.max(1).values.tolist()
    return correct / clips.shape[0], top_probs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=2600, help="optimizer steps (about 16 min on 2 cores)"
    )
    parser.add_argument("--easy", type=int, default=800, help="easy curriculum clips")
    parser.add_argument("--train", type=int, default=2400, help="default-setting clips")
    parser.add_argument("--test", type=int, default=400, help="held-out clips")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument(
        "--easy-share", type=float, default=0.12, help="share of time on easy clips"
    )
    parser.add_argument(
        "--fade", type=float, default=0.2, help="share of time fading easy clips out"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "videocam" / "models" / "weights")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from videocam.models import C3D
    from videocam.synthetic import GENERATOR_VERSION, GeneratorConfig

    classes = GeneratorConfig().classes
    started = time.perf_counter()
    easy_x, easy_y = generate(args.easy, EASY_SEED, True, GEN_FRAMES, args.workers, len(classes))
    train_x, train_y = generate(
        args.train, TRAIN_SEED, False, GEN_FRAMES, args.workers, len(classes)
    )
    test_x, test_y = generate(args.test, TEST_SEED, False, GEN_FRAMES, args.workers, len(classes))
    gen_seconds = time.perf_counter() - started
    print(
        f"generated {args.easy} + {args.train} + {args.test} clips in {gen_seconds:.0f} s",
        flush=True,
    )

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    model = C3D(num_classes=len(classes), widths=WIDTHS, batch_norm=True, head="gap", dropout=0.2)
    model = model.to(memory_format=torch.channels_last_3d)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{n_params} parameters", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    step, losses = 0, []
    # the schedule follows the step count, not the clock, so the same command gives the same weights
    while step < args.steps:
        elapsed = time.perf_counter() - t0
        frac = step / args.steps
        for group in opt.param_groups:
            warm = min(1.0, (step + 1) / 30)
            group["lr"] = args.lr * warm * 0.5 * (1 + math.cos(math.pi * frac))
        # curriculum: easy clips only, then a mix whose easy share falls to zero
        easy_share = (
            1.0 if frac < args.easy_share else max(0.0, 1 - (frac - args.easy_share) / args.fade)
        )
        n_easy = int(round(args.batch * easy_share * (0.5 if frac >= args.easy_share else 1)))
        parts = []
        if n_easy:
            parts.append(sample_batch(easy_x, easy_y, n_easy, gen))
        if args.batch - n_easy:
            parts.append(sample_batch(train_x, train_y, args.batch - n_easy, gen))
        x = torch.cat([p[0] for p in parts])
        y = torch.cat([p[1] for p in parts])
        model.train()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        step += 1
        if step % 25 == 0:
            print(
                f"step {step} {elapsed:.0f}s easy {easy_share:.2f} loss {np.mean(losses[-25:]):.3f}",
                flush=True,
            )
    train_seconds = time.perf_counter() - t0
    acc, top_probs = accuracy(model, test_x, test_y)
    easy_acc, _ = accuracy(model, easy_x[:200], easy_y[:200])
    quantiles = np.quantile(top_probs, [0.1, 0.25, 0.5, 0.75, 0.9]).round(3).tolist()
    print(
        f"held-out accuracy {acc:.3f} (easy {easy_acc:.3f}); top-1 prob quantiles {quantiles}",
        flush=True,
    )

    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / f"{NAME}.pt"
    tmp = weights.with_suffix(".pt.tmp")
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    torch.save(state, tmp)
    os.replace(tmp, weights)
    (args.out / f"{NAME}.labels.txt").write_text("\n".join(classes) + "\n", encoding="utf-8")
    card = {
        "name": NAME,
        "description": (
            "compact C3D (batch norm, GAP head) trained on videocam's synthetic sports-like "
            f"motion classes; held-out accuracy {acc:.1%} (see model card)"
        ),
        "architecture": {
            "type": "C3D",
            "num_classes": len(classes),
            "widths": list(WIDTHS),
            "batch_norm": True,
            "head": "gap",
            "dropout": 0.2,
            "parameters": n_params,
        },
        "weights": weights.name,
        "labels": list(classes),
        "preprocess": {
            "clip_len": CLIP_LEN,
            "sampling_rate": 1,
            "resize": RESIZE,
            "crop_size": CROP,
            "mean": list(MEAN),
            "std": list(STD),
            "value_range": 1.0,
        },
        # conv4b (4x7x7) resolves the objects; conv5b is 2x3x3 at this input (RESULTS.md)
        "target_layers": ["conv4b"],
        "target_layer_choice": (
            "conv4b (4x7x7 on the 16x56x56 input) rather than conv5b (2x3x3): on 400 held-out "
            "clips its maps localize the class objects better (pointing game 0.34 vs 0.23 with "
            "Grad-CAM) and resolve 1-2 cells per object; conv5b's 3x3 grid covers a third of the "
            "crop per cell. Both are reported in RESULTS.md."
        ),
        "training": {
            "command": "python scripts/train_synthetic.py " + " ".join(sys.argv[1:]),
            "generator_version": GENERATOR_VERSION,
            "easy_clips": {
                "n": args.easy,
                "seed": EASY_SEED,
                "config": "texture 0, still camera, 1-2 distractors",
            },
            "train_clips": {
                "n": args.train,
                "seed": TRAIN_SEED,
                "config": "default GeneratorConfig",
            },
            "frames_per_clip": GEN_FRAMES,
            "instances": {str(k): p for k, p in zip(INSTANCES, INSTANCE_SHARES, strict=True)},
            "optimizer": f"AdamW lr {args.lr} wd 1e-4, cosine, 30-step warm-up",
            "batch": args.batch,
            "steps": step,
            "curriculum": f"easy only for the first {args.easy_share:.0%} of the steps, then a mix fading to default clips",
            "augmentation": "random 16-frame window of 24, horizontal flip",
            "input": f"short side {RESIZE}, centre crop {CROP} (half of C3D's 112)",
            "seed": args.seed,
            "generation_seconds": round(gen_seconds),
            "training_seconds": round(train_seconds),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
            "date": dt.date.today().isoformat(),
        },
        "evaluation": {
            "held_out": {
                "n": args.test,
                "seed": TEST_SEED,
                "config": "default GeneratorConfig",
                "clip": "centre 16 frames",
            },
            "accuracy": round(acc, 4),
            "easy_accuracy": round(easy_acc, 4),
            "top1_probability_quantiles": dict(
                zip(["q10", "q25", "q50", "q75", "q90"], quantiles, strict=True)
            ),
        },
    }
    (args.out / f"{NAME}.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {weights} ({weights.stat().st_size / 1e6:.1f} MB) and its model card", flush=True)


if __name__ == "__main__":
    main()
