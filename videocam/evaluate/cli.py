"""Command-line wiring of ``videocam evaluate`` (the ``videocam`` command and
``python -m videocam.evaluate`` share it).

Example:
    videocam evaluate synthetic_test --model c3d_synthetic -o eval
    torchrun --nproc-per-node 4 -m videocam evaluate DATASET --model NAME -o OUTDIR
"""

from __future__ import annotations

import argparse
import sys

from videocam.evaluate.datasets import FORMATS
from videocam.evaluate.metrics import BASELINES
from videocam.evaluate.runner import DEFAULT_METHODS, DEFAULT_MODEL, EVALUATION_METHODS, evaluate

__all__ = ["add_evaluate_arguments", "run_from_args"]


def _deltas(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers like 0,0.25,0.5, got {text!r}"
        ) from None


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds the arguments of ``videocam evaluate`` to ``parser`` (returned)."""
    parser.add_argument("dataset", metavar="DATASET", help="dataset folder or description file")
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"registry name or package.module:attribute (default {DEFAULT_MODEL})",
    )
    parser.add_argument("--checkpoint", metavar="PATH", help="weights for the model")
    parser.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help=f"comma-separated, from {', '.join(EVALUATION_METHODS)} (default %(default)s)",
    )
    parser.add_argument("--layers", help="target layer(s), comma-separated (default: the model's)")
    parser.add_argument(
        "--clips-per-video", type=int, default=1, metavar="N", help="1: centre clip; N: uniform"
    )
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N videos")
    parser.add_argument("--batch-size", type=int, default=16, metavar="N")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    parser.add_argument("--amp", action="store_true", help="bfloat16 autocast")
    parser.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    parser.add_argument("--resume", action="store_true", help="finish the run recorded in OUTDIR")
    parser.add_argument("--split", default="test", help="split of a dataset folder (default test)")
    parser.add_argument("--format", choices=FORMATS, help="force the dataset layout")
    parser.add_argument("--labels", help="class names for list files / Kinetics CSVs")
    parser.add_argument("--video-root", help="folder of the videos of a Kinetics CSV / UCF101 list")
    parser.add_argument(
        "--steps", type=int, default=10, help="deletion/insertion steps, 0 to skip (default 10)"
    )
    parser.add_argument("--deletion-baseline", choices=BASELINES, default="black")
    parser.add_argument("--insertion-baseline", choices=BASELINES, default="blur")
    parser.add_argument(
        "--deltas", type=_deltas, default=(0.0, 0.25, 0.5), help="localization thresholds"
    )
    parser.add_argument("--coverage-delta", type=float, default=0.5)
    parser.add_argument("--pointing-tolerance", type=int, default=0, metavar="PIXELS")
    parser.add_argument("--gallery", type=int, default=4, metavar="N", help="clips in the report")
    parser.add_argument("--no-report", action="store_true", help="skip report/index.html")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    return parser


def run_from_args(args: argparse.Namespace) -> int:
    """Runs ``videocam evaluate`` for parsed arguments; prints a short summary (rank 0).

    Returns:
        The exit status (0). Bad input raises :class:`~videocam.errors.VideocamError`.
    """
    summary = evaluate(
        args.dataset,
        args.model,
        out_dir=args.output,
        methods=args.methods,
        checkpoint=args.checkpoint,
        target_layers=[x.strip() for x in args.layers.split(",")] if args.layers else None,
        clips_per_video=args.clips_per_video,
        limit=args.limit,
        batch_size=args.batch_size,
        device=args.device,
        amp=args.amp,
        resume=args.resume,
        steps=args.steps,
        deltas=args.deltas,
        coverage_delta=args.coverage_delta,
        pointing_tolerance=args.pointing_tolerance,
        deletion_baseline=args.deletion_baseline,
        insertion_baseline=args.insertion_baseline,
        split=args.split,
        dataset_format=args.format,
        labels=args.labels,
        video_root=args.video_root,
        gallery=args.gallery,
        report=not args.no_report,
        progress=not args.quiet,
    )
    if not args.quiet and _is_main():
        counts = summary.counts
        print(
            f"evaluated {counts['done']} of {counts['videos']} videos "
            f"({counts['failed']} failed, {counts['missing']} missing)"
        )
        for method, values in summary.methods.items():
            drop = values.get("average_drop")
            increase = values.get("increase_in_confidence")
            print(
                f"  {method:18s} average drop {_fmt(drop)}%  increase in confidence "
                f"{_fmt(increase)}%  insertion AUC {_fmt(values.get('insertion_auc'), 3)}"
            )
        print(f"results: {summary.summary_path}, {summary.markdown_path}")
        if summary.report_path.is_file():
            print(f"report: {summary.report_path}")
    return 0


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _is_main() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"


def main(argv: list[str] | None = None) -> int:
    """``python -m videocam.evaluate``: the same as ``videocam evaluate``."""
    parser = argparse.ArgumentParser(prog="python -m videocam.evaluate", description=__doc__)
    add_evaluate_arguments(parser)
    args = parser.parse_args(argv)
    from videocam.errors import VideocamError

    try:
        return run_from_args(args)
    except VideocamError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
