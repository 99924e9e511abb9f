"""Explanation-guided knowledge distillation on the synthetic benchmark: the Grad-CAM++
paper's distillation experiment (Chattopadhyay et al., WACV 2018, section 8), on video.

Teacher: the bundled ``c3d_synthetic``. Student: the same C3D layout with half the
channels (about 4x fewer parameters). Three students per seed, trained with the same
data, steps and optimiser, differing only in the loss:

* ``labels``      L = CE
* ``+gradcam``    L = CE + beta * L_interpret(teacher's Grad-CAM map, student's)
* ``+gradcam++``  L = CE + beta * L_interpret(teacher's Grad-CAM++ map, student's)

The teacher's maps of the true class are computed once per training clip (one forward
for both methods, :class:`videocam.cam.MultiCAM`) and reused every epoch; the student's
map is differentiable (``create_graph=True``), see :mod:`videocam.distill`.

Measured on freshly generated held-out clips (a seed used nowhere else), for each
student: top-1 accuracy; agreement of its Grad-CAM++ map with the teacher's (Pearson r
over the 16x56x56 clip, and L_interpret); the faithfulness of its own Grad-CAM++
explanation of its predicted class (Average Drop %, Increase in Confidence %; the paper's
eq. 25-26: explanation = min-max normalised map x every frame); and its localization
against the ground-truth masks (IoU of the map binarised at 0.25 and 0.5, pointing game),
for the true class. Mean and spread (standard deviation) over seeds.

Usage:
    python scripts/distill_synthetic.py                 # defaults: about 25 min on 2 cores
    python scripts/distill_synthetic.py --steps 20 --train 64 --easy 32 --test 32 --seeds 0
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthlib import clip_tasks, run_tasks  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STUDENT_WIDTHS = (4, 8, 16, 16, 32, 32, 32, 32)
#: dataset seeds used by no other script or test (train_synthetic uses 1, 2 and 7919)
TRAIN_SEED, EASY_SEED, TEST_SEED = 31, 32, 7933
VARIANTS = (("labels", None), ("+gradcam", "gradcam"), ("+gradcam++", "gradcam++"))
METRICS = (
    ("accuracy", "accuracy %", 100.0),
    ("map_r", "map r with teacher", 1.0),
    ("interpret", "L_interpret", 1.0),
    ("average_drop", "Average Drop %", 100.0),
    ("increase_in_confidence", "Incr. in Conf. %", 100.0),
    ("iou@0.25", "IoU@0.25", 1.0),
    ("iou@0.5", "IoU@0.5", 1.0),
    ("pointing_game", "pointing game", 1.0),
)


def _make(task):
    """Worker: one clip -> (class, (3, 16, h, w) float16 input, (16, h, w) bool mask)."""
    seed, index, class_index, instances, easy = task
    from videocam.models import get_config
    from videocam.pipeline.setup import preset_for
    from videocam.synthetic import GeneratorConfig, generate_clip
    from videocam.video import ClipPreprocessor

    torch.set_num_threads(1)
    config = (
        GeneratorConfig(
            num_frames=16, texture=0.0, camera_jitter=0.0, camera_pan=0.0, distractors=(1, 2)
        )
        if easy
        else GeneratorConfig(num_frames=16)
    )
    clip = generate_clip(seed, index, class_index, instances, config)
    pre = ClipPreprocessor(preset_for(get_config("c3d_synthetic")))
    union = torch.from_numpy(clip.masks.any(axis=0)).float()  # (T, H, W)
    mask = pre.geometry(*clip.frames.shape[1:3]).project(union) > 0.5
    return class_index, pre(clip.frames).half().numpy(), mask.numpy()


def generate(n: int, seed: int, easy: bool, workers: int, classes: int):
    out = run_tasks(_make, clip_tasks(n, seed, classes, easy), workers)
    labels = torch.tensor([c for c, _, _ in out])
    clips = torch.from_numpy(np.stack([x for _, x, _ in out]))
    masks = torch.from_numpy(np.stack([m for _, _, m in out]))
    return clips, labels, masks


def batches(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))


def teacher_maps(teacher, layer: str, clips, labels, batch: int = 32) -> dict[str, torch.Tensor]:
    """Raw Grad-CAM and Grad-CAM++ maps of the true class, both from one forward."""
    from videocam.cam import MultiCAM

    out: dict[str, list[torch.Tensor]] = {"gradcam": [], "gradcam++": []}
    with MultiCAM(teacher, layer, methods=("gradcam", "gradcam++")) as cams:
        for s in batches(clips.shape[0], batch):
            results = cams(clips[s].float(), target=labels[s])
            for method in out:
                out[method].append(results[method].raw[:, 0])
    return {m: torch.cat(v) for m, v in out.items()}


def pearson(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a = a.flatten(1).double()
    b = b.flatten(1).double()
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)


def train_student(args, variant: str, method: str | None, seed: int, data, maps) -> torch.nn.Module:
    from videocam.distill import ExplanationLoss
    from videocam.models import C3D

    clips, labels = data
    torch.manual_seed(seed)
    student = C3D(
        num_classes=args.classes, widths=STUDENT_WIDTHS, batch_norm=True, head="gap", dropout=0.2
    )
    criterion = ExplanationLoss(
        method or "gradcam++",
        teacher_layer=args.layer,
        student_layer=args.layer,
        beta=args.beta if method else 0.0,
    )
    opt = torch.optim.AdamW(student.parameters(), lr=args.lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(seed)
    student.train()
    losses, interprets = [], []
    for step in range(args.steps):
        for group in opt.param_groups:
            warm = min(1.0, (step + 1) / 20)
            group["lr"] = args.lr * warm * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        idx = torch.randint(0, clips.shape[0], (args.batch,), generator=gen)
        cached = maps[method][idx] if method else None
        parts = criterion(None, student, clips[idx].float(), labels[idx], teacher_maps=cached)
        opt.zero_grad(set_to_none=True)
        parts.total.backward()
        opt.step()
        losses.append(parts.cross_entropy.item())
        interprets.append(parts.interpret.item())
        if (step + 1) % max(1, args.steps // 5) == 0:
            print(
                f"  {variant:<11} seed {seed} step {step + 1}: CE {np.mean(losses[-50:]):.3f} "
                f"L_interpret {np.mean(interprets[-50:]):.3f}",
                flush=True,
            )
    return student.eval()


@torch.no_grad()
def probabilities(model, clips, batch: int = 64) -> torch.Tensor:
    return torch.cat([model(clips[s].float()).softmax(1) for s in batches(clips.shape[0], batch)])


def evaluate(args, model, test, reference: torch.Tensor | None) -> dict[str, float]:
    """Accuracy, agreement with the teacher's Grad-CAM++ maps (``reference``, raw maps of
    the true class), faithfulness and localization of the model's own Grad-CAM++ maps."""
    from videocam.cam import GradCAMPlusPlus
    from videocam.distill import interpretability_loss
    from videocam.evaluate.metrics import (
        AverageDrop,
        IncreaseInConfidence,
        InputSpace,
        LocalizationIoU,
        PointingGame,
        explanation_clips,
    )
    from videocam.models import get_config

    clips, labels, masks = test
    config = get_config("c3d_synthetic")
    space = InputSpace(tuple(config.mean), tuple(config.std))
    probs = probabilities(model, clips)
    predicted = probs.argmax(1)
    drop, increase = AverageDrop(), IncreaseInConfidence()
    iou, pointing = LocalizationIoU((0.25, 0.5)), PointingGame()
    rs, interprets = [], []
    with GradCAMPlusPlus(model, args.layer) as cam:
        for s in batches(clips.shape[0], 32):
            x = clips[s].float()
            # faithfulness: the explanation of the predicted class (the paper's protocol)
            own = cam(x, target=predicted[s])
            explained = probabilities(model, explanation_clips(x, own.maps[:, 0], space))
            k = predicted[s].unsqueeze(1)
            drop.update(probs[s].gather(1, k)[:, 0], explained.gather(1, k)[:, 0])
            increase.update(probs[s].gather(1, k)[:, 0], explained.gather(1, k)[:, 0])
            # localization and agreement: the explanation of the true class
            true = cam(x, target=labels[s])
            iou.update(true.maps[:, 0], masks[s])
            pointing.update(true.maps[:, 0], masks[s])
            if reference is not None:
                ref = reference[s].unsqueeze(1)
                ref_maps = F.interpolate(
                    ref, size=true.maps.shape[2:], mode="trilinear", align_corners=False
                )
                rs += pearson(ref_maps[:, 0], true.maps[:, 0]).tolist()
                interprets.append(
                    interpretability_loss(reference[s], true.raw[:, 0]).item() * x.shape[0]
                )
    result = {
        "accuracy": float((predicted == labels).double().mean()),
        "average_drop": drop.summary() / 100.0,
        "increase_in_confidence": increase.summary() / 100.0,
        **iou.summary(),
        "pointing_game": pointing.summary(),
    }
    if reference is not None:
        result["map_r"] = float(np.nanmean(rs))
        result["interpret"] = sum(interprets) / clips.shape[0]
    return result


def spread(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def markdown(summary: dict, teacher: dict, args, seeds: list[int]) -> str:
    head = "| student | " + " | ".join(label for _, label, _ in METRICS) + " |"
    lines = [head, "|" + "---|" * (len(METRICS) + 1)]
    for variant, _ in VARIANTS:
        cells = []
        for key, _, scale in METRICS:
            mean, std = summary[variant][key]
            digits = 1 if scale == 100.0 else 3
            cells.append(f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}")
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    cells = []
    for key, _, scale in METRICS:
        value = teacher.get(key)
        digits = 1 if scale == 100.0 else 3
        cells.append("—" if value is None else f"{value * scale:.{digits}f}")
    lines.append("| (teacher) | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"mean ± standard deviation over seeds {seeds}; {args.test} held-out clips (seed "
        f"{TEST_SEED}); layer {args.layer}; beta {args.beta}; {args.steps} steps of batch {args.batch}."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=1200, help="default-setting training clips")
    parser.add_argument("--easy", type=int, default=400, help="easy training clips (flat field)")
    parser.add_argument("--test", type=int, default=400, help="held-out clips")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--beta", type=float, default=2.0, help="weight of L_interpret")
    parser.add_argument("--layer", default="conv4b", help="teacher and student target layer")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    parser.add_argument("--markdown", type=Path, default=None, help="write the table here")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]

    from videocam.models import create_model

    torch.set_num_threads(args.threads)
    teacher = create_model("c3d_synthetic")
    args.classes = teacher.fc8.out_features
    started = time.perf_counter()
    easy = generate(args.easy, EASY_SEED, True, args.workers, args.classes)
    train = generate(args.train, TRAIN_SEED, False, args.workers, args.classes)
    test = generate(args.test, TEST_SEED, False, args.workers, args.classes)
    clips = torch.cat([easy[0], train[0]])
    labels = torch.cat([easy[1], train[1]])
    print(
        f"generated {args.easy} + {args.train} + {args.test} clips in {time.perf_counter() - started:.0f} s"
    )

    t0 = time.perf_counter()
    maps = teacher_maps(teacher, args.layer, clips, labels)
    reference = teacher_maps(teacher, args.layer, test[0], test[1])["gradcam++"]
    teacher_result = evaluate(args, teacher, test, None)
    print(
        f"teacher maps and evaluation in {time.perf_counter() - t0:.0f} s; teacher {teacher_result}"
    )
    n_teacher = sum(p.numel() for p in teacher.parameters())

    runs: dict[str, list[dict]] = {variant: [] for variant, _ in VARIANTS}
    seconds: dict[str, float] = {variant: 0.0 for variant, _ in VARIANTS}
    n_student = 0
    for seed in seeds:
        for variant, method in VARIANTS:
            t0 = time.perf_counter()
            student = train_student(args, variant, method, seed, (clips, labels), maps)
            seconds[variant] += time.perf_counter() - t0
            n_student = sum(p.numel() for p in student.parameters())
            result = evaluate(args, student, test, reference)
            print(
                f"{variant:<11} seed {seed}: "
                + ", ".join(f"{k} {v:.3f}" for k, v in result.items()),
                flush=True,
            )
            runs[variant].append(result)
    summary = {
        variant: {key: spread([r[key] for r in runs[variant]]) for key, _, _ in METRICS}
        for variant, _ in VARIANTS
    }
    table = markdown(summary, teacher_result, args, seeds)
    print(table)
    report = {
        "command": "python scripts/distill_synthetic.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "seeds": seeds,
        "teacher_parameters": n_teacher,
        "student_parameters": n_student,
        "student_widths": list(STUDENT_WIDTHS),
        "teacher": teacher_result,
        "runs": runs,
        "summary": {
            v: {k: {"mean": m, "std": s} for k, (m, s) in d.items()} for v, d in summary.items()
        },
        "training_seconds": seconds,
        "total_seconds": round(time.perf_counter() - started),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(table + "\n", encoding="utf-8")
    print(
        f"{n_teacher} teacher / {n_student} student parameters; total {report['total_seconds']} s"
    )
    return report


if __name__ == "__main__":
    main()
