"""The ``videocam`` command. Thin: it parses arguments and calls the Python API.

Exit status: 0 success; 2 bad input or usage (one line ``error: ...`` on stderr, no
traceback); 1 unexpected failure (one line too; ``--debug`` shows the traceback); 130
interrupted; 141 the reader of the output went away (``videocam models | head``), as a
program stopped by SIGPIPE. Warnings are one line each, ``warning: ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 141


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2 (argparse's own convention)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from videocam import __version__

    parser = _Parser(
        prog="videocam",
        description="Explain video action-recognition models with spatiotemporal Grad-CAM++.",
    )
    parser.add_argument("--version", action="version", version=f"videocam {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of failures")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    ex = sub.add_parser("explain", help="write heatmap MP4s (+ JSON sidecars) for videos")
    ex.add_argument("videos", nargs="+", metavar="VIDEO")
    ex.add_argument("--model", default="c3d", help="registry name (see `videocam models`)")
    ex.add_argument("--checkpoint", help="local weights for the model (.pth/.pt/.pyth)")
    ex.add_argument("--pretrained", action="store_true", help="download the published weights")
    ex.add_argument("--labels", help="label file: one name per line, or JSON {name: index}")
    ex.add_argument("--num-classes", type=int, help="head size of a fine-tuned checkpoint")
    ex.add_argument(
        "--method",
        default="gradcam++",
        help="gradcam++ (default), gradcam, cam, guided-gradcam++; several: comma-separated",
    )
    ex.add_argument("--layer", help="target layer(s), dotted names, comma-separated")
    ex.add_argument("--topk", type=int, default=3, help="classes shown per window (default 3)")
    ex.add_argument("--class", dest="target_class", type=int, help="explain this class index")
    ex.add_argument("--clip-len", type=int, help="frames per clip (default: the model's)")
    ex.add_argument("--sampling-rate", type=int, help="take every n-th frame (default: model's)")
    ex.add_argument("--stride", type=int, help="frames between window starts (default: no overlap)")
    ex.add_argument("--batch-size", type=int, default=4, help="windows per forward pass")
    ex.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    ex.add_argument("--amp", action="store_true", help="bfloat16 autocast (CUDA)")
    ex.add_argument("--colormap", default="turbo", choices=["turbo", "jet", "viridis", "inferno"])
    ex.add_argument("--alpha", type=float, default=0.5, help="heatmap opacity (0..1)")
    ex.add_argument("--layout", default="overlay", choices=["overlay", "side-by-side"])
    ex.add_argument(
        "--no-timeline", action="store_true", help="no importance strip under the frames"
    )
    ex.add_argument("-o", "--output", help="OUT.mp4 or a folder (default: videocam-out/)")
    ex.add_argument("--fps", type=float, help="output frame rate (default: the source's)")
    ex.add_argument("--max-size", type=int, help="downscale so the longer side is at most N px")
    ex.add_argument("--gif", action="store_true", help="also write a GIF")
    ex.add_argument("--backend", default="pyav", choices=["pyav", "decord", "torchcodec"])
    ex.add_argument("--no-progress", action="store_true", help="no progress bar")
    ex.add_argument(
        "--allow-truncated",
        action="store_true",
        help="explain the frames that decode in a file whose end is missing (else an error)",
    )

    models = sub.add_parser("models", help="list the model registry")
    models.add_argument("pattern", nargs="?", help="shell-style filter, e.g. 'x3d*'")

    demo = sub.add_parser("demo", help="explain the bundled sample clips (the main job)")
    demo.add_argument(
        "-o", "--output", default="videocam-demo", help="folder (default videocam-demo)"
    )
    demo.add_argument("--device", default="cpu")

    syn = sub.add_parser("synthetic", help="the synthetic benchmark with ground truth")
    syn_sub = syn.add_subparsers(dest="synthetic_command", metavar="ACTION", parser_class=_Parser)
    syn_sub.required = True
    make = syn_sub.add_parser("make", help="generate a dataset folder")
    make.add_argument("root", metavar="DIR")
    make.add_argument("--n", type=int, required=True, help="number of clips")
    make.add_argument("--seed", type=int, required=True)
    make.add_argument(
        "--instances", help="instances of the class object: N, or N,M,..., or N:w,M:w,..."
    )
    make.add_argument("--frames", type=int, default=32, help="frames per clip (default 32)")
    make.add_argument("--test-fraction", type=float, default=0.25)
    make.add_argument("--workers", type=int, default=1)

    ev = sub.add_parser("evaluate", help="faithfulness and localization metrics on a dataset")
    try:
        from videocam.evaluate.cli import add_evaluate_arguments
    except ImportError:  # pragma: no cover - evaluation is optional while it is being built
        ev.set_defaults(unavailable=True)
    else:
        add_evaluate_arguments(ev)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``videocam`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from videocam.errors import VideocamError

    try:
        with warnings.catch_warnings():
            if not args.debug:
                warnings.showwarning = _show_warning
            return _dispatch(args)
    except VideocamError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Nobody reads stdout any more; point it at /dev/null so the interpreter's final
        # flush does not complain either, and stop quietly.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # noqa: BLE001 - one line, no traceback, unless --debug
        if args.debug:
            traceback.print_exc()
        print(
            f"error: unexpected failure: {type(exc).__name__}: {_one_line(exc)} "
            "(rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILURE


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Warnings as one line on stderr, like errors (``--debug`` keeps Python's format)."""
    print(f"warning: {_one_line(message)}", file=sys.stderr)


def _one_line(exc: BaseException | Warning | str) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "explain":
        return _explain(args)
    if args.command == "models":
        return _models(args)
    if args.command == "demo":
        from videocam.demo import run_demo

        return run_demo(Path(args.output), device=args.device)
    if args.command == "synthetic":
        return _synthetic(args)
    if args.command == "evaluate":
        if getattr(args, "unavailable", False):
            from videocam.errors import VideocamError

            raise VideocamError("videocam evaluate is not available in this build")
        from videocam.evaluate.cli import run_from_args

        return run_from_args(args)
    raise AssertionError(args.command)  # pragma: no cover


def _explain(args: argparse.Namespace) -> int:
    from videocam.errors import VideocamError
    from videocam.pipeline import explain_videos, resolve_model

    resolved = resolve_model(
        args.model,
        checkpoint=args.checkpoint,
        labels=args.labels,
        layers=args.layer,
        clip_len=args.clip_len,
        sampling_rate=args.sampling_rate,
        num_classes=args.num_classes,
        pretrained=args.pretrained,
        device=args.device,
    )
    show_progress = not args.no_progress and sys.stderr.isatty()
    failures = 0
    for video, result in explain_videos(
        args.videos,
        resolved,
        output=args.output,
        methods=args.method,
        target_class=args.target_class,
        top_k=args.topk,
        stride=args.stride,
        batch_size=args.batch_size,
        amp=args.amp,
        colormap=args.colormap,
        alpha=args.alpha,
        layout=args.layout,
        timeline=not args.no_timeline,
        fps=args.fps,
        max_size=args.max_size,
        gif=args.gif,
        backend=args.backend,
        allow_truncated=args.allow_truncated,
        progress=show_progress,
    ):
        if isinstance(result, VideocamError):
            failures += 1
            print(f"error: {video}: {_one_line(result)}", file=sys.stderr)
            continue
        top = ", ".join(f"{label} {p:.2f}" for _, label, p in result.predicted)
        print(f"{video} -> {result.output} ({result.num_frames} frames; top: {top})")
    return EXIT_USAGE if failures else EXIT_OK


def _models(args: argparse.Namespace) -> int:
    from videocam.models import get_config, list_models

    names = list_models(args.pattern)
    if not names:
        print(f"error: no model matches {args.pattern!r}", file=sys.stderr)
        return EXIT_USAGE
    width = max(len(n) for n in names)
    for name in names:
        config = get_config(name)
        layers = ",".join(config.target_layers)
        print(
            f"{name:<{width}}  {config.clip_len:>2}x{config.sampling_rate:<2} crop {config.crop_size:<3} "
            f"{config.num_classes:>4} classes  layer {layers}  {config.description}"
        )
    return EXIT_OK


def _synthetic(args: argparse.Namespace) -> int:
    from videocam.synthetic import make_dataset
    from videocam.synthetic.dataset import DEFAULT_INSTANCES, parse_instances

    instances = parse_instances(args.instances) if args.instances else DEFAULT_INSTANCES
    manifest = make_dataset(
        args.root,
        n=args.n,
        seed=args.seed,
        num_frames=args.frames,
        instances=instances,
        test_fraction=args.test_fraction,
        workers=args.workers,
        progress=sys.stderr.isatty(),
    )
    print(f"wrote {len(manifest.clips)} clips to {args.root}")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
