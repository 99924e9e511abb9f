"""Turning what a user names (a model, a checkpoint, labels, window options, an output
path) into the objects the pipeline and the evaluation run with.

This is the one place that knows both the model registry and the video package, which
stay independent of each other.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from videocam.errors import ClassIndexError, LabelFileError, OutputPathError, VideocamError
from videocam.models import ModelConfig, create_model, get_config, load_labels
from videocam.video import ClipPreset, WindowSpec, check_output_path

__all__ = [
    "ResolvedModel",
    "resolve_model",
    "preset_for",
    "window_spec_for",
    "output_paths",
    "removing_new_folders",
    "resolve_device",
]

#: Preprocessing for a user module given without a registry config: 16 frames, short
#: side 128, centre crop 112, pixels in 0..1 (C3D-sized clips; override as needed).
GENERIC_CONFIG = dict(clip_len=16, sampling_rate=1, resize=128, crop_size=112)


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to explain, with what the pipeline needs to feed it.

    Attributes:
        model: The module (eval mode, on ``device``).
        name: Registry name, or the module's class name.
        config: Registry config (``None`` for a user module).
        labels: Class names, index = class.
        target_layers: Layers to explain.
        preset: Preprocessing of frames for this model.
        clip_len: Frames per clip.
        sampling_rate: Frames between sampled frames.
        device: Where the model runs.
        checkpoint: The checkpoint file, if any.
    """

    model: nn.Module
    name: str
    config: ModelConfig | None
    labels: list[str]
    target_layers: tuple[str, ...]
    preset: ClipPreset
    clip_len: int
    sampling_rate: int
    device: torch.device
    checkpoint: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def prepare_inputs(self, clips: torch.Tensor):
        """(B, 3, T, H, W) normalised clips -> the model's input (SlowFast: [slow, fast])."""
        return self.config.prepare_inputs(clips) if self.config is not None else clips

    def check_class(self, target_class: int | None) -> None:
        if target_class is not None and not 0 <= target_class < self.num_classes:
            raise ClassIndexError(
                f"class index {target_class} is out of range for {self.name} "
                f"({self.num_classes} classes: 0..{self.num_classes - 1})"
            )


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None``/"auto" -> CUDA when available, else CPU; a clear error for unusable devices."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise VideocamError(f"unknown device {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise VideocamError("--device cuda was asked for, but no CUDA device is available")
    return dev


def preset_for(config: ModelConfig | None, **override) -> ClipPreset:
    """The frame preprocessing of a registry model (or the generic one)."""
    if config is None:
        return ClipPreset(
            resize=override.get("resize", GENERIC_CONFIG["resize"]),
            crop=override.get("crop", GENERIC_CONFIG["crop_size"]),
        )
    return ClipPreset(
        resize=override.get("resize", config.resize),
        crop=override.get("crop", config.crop_size),
        mean=config.mean,
        std=config.std,
        value_range=config.value_range,
        channel_order=config.channel_order,
    )


def resolve_model(
    model: str | nn.Module,
    *,
    checkpoint: str | Path | None = None,
    labels: str | Path | list[str] | None = None,
    layers: str | Sequence[str] | None = None,
    clip_len: int | None = None,
    sampling_rate: int | None = None,
    num_classes: int | None = None,
    pretrained: bool = False,
    device: str | torch.device | None = None,
    config: ModelConfig | None = None,
) -> ResolvedModel:
    """Builds (or adopts) the model and collects its preprocessing, labels and layers.

    Args:
        model: A registry name (``videocam models`` lists them) or an ``nn.Module`` (kept
            as is: never put in eval mode or moved; it is the user's).
        checkpoint: Local weights for a registry model.
        labels: A label file (one name per line, or JSON), a shipped label map name, or a
            list of names; default: the model's own.
        layers: Target layer(s); default: the model's registered ones.
        clip_len: Frames per clip; default: the model's.
        sampling_rate: Frames between sampled frames; default: the model's.
        num_classes: Head size of a registry model (e.g. for a fine-tuned checkpoint).
        pretrained: Download the published weights (online only).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``None`` (CUDA if available).
        config: Preprocessing config for a user module.
    """
    for option, value in (("clip_len", clip_len), ("sampling_rate", sampling_rate)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise VideocamError(f"{option} must be a positive integer, got {value!r}")
    dev = resolve_device(device)
    if isinstance(model, nn.Module):
        module, name = model, type(model).__name__
        if checkpoint is not None:
            raise VideocamError("checkpoint= applies to registry models; load your module yourself")
        n_classes = num_classes
    else:
        config = get_config(str(model))
        module = create_model(
            config,
            checkpoint=checkpoint,
            num_classes=num_classes,
            pretrained=pretrained,
            device=dev,
        )
        name = config.name
        n_classes = num_classes or config.num_classes
    label_names = _labels(labels, config, n_classes)
    if n_classes is None:
        n_classes = len(label_names) if label_names else None
    if not label_names and n_classes:
        label_names = [str(i) for i in range(n_classes)]
    target_layers: tuple[str, ...]
    if layers is None:
        target_layers = tuple(config.target_layers) if config is not None else ()
    elif isinstance(layers, str):
        target_layers = tuple(x.strip() for x in layers.split(",") if x.strip())
    else:
        target_layers = tuple(layers)
    if clip_len is None:
        clip_len = config.clip_len if config else GENERIC_CONFIG["clip_len"]
    if sampling_rate is None:
        sampling_rate = config.sampling_rate if config else GENERIC_CONFIG["sampling_rate"]
    if config is not None:
        _check_clip_len(config, clip_len)
    return ResolvedModel(
        model=module,
        name=name,
        config=config,
        labels=label_names,
        target_layers=target_layers,
        preset=preset_for(config),
        clip_len=int(clip_len),
        sampling_rate=int(sampling_rate),
        device=dev,
        checkpoint=str(checkpoint) if checkpoint is not None else None,
    )


def _labels(
    labels: str | Path | list[str] | None, config: ModelConfig | None, n_classes: int | None
) -> list[str]:
    if isinstance(labels, list):
        names = [str(x) for x in labels]
        if n_classes is not None and len(names) != n_classes:
            raise LabelFileError(f"{len(names)} labels given for a model with {n_classes} classes")
        return names
    if labels is not None:
        return load_labels(labels, num_classes=n_classes)
    if config is None:
        return []
    if n_classes is not None and n_classes != config.num_classes:
        return [str(i) for i in range(n_classes)]  # a re-headed model: the shipped names don't fit
    return config.load_labels()


def _check_clip_len(config: ModelConfig, clip_len: int) -> None:
    if config.fixed_input_size and clip_len != config.clip_len:
        raise VideocamError(
            f"{config.name} takes exactly {config.clip_len}-frame clips, not {clip_len}"
        )
    if clip_len < config.min_clip_len:
        raise VideocamError(f"{config.name} needs clips of at least {config.min_clip_len} frames")
    if clip_len % config.clip_len_multiple:
        raise VideocamError(
            f"{config.name} needs a clip length that is a multiple of {config.clip_len_multiple}"
        )


def window_spec_for(resolved: ResolvedModel, stride: int | None = None) -> WindowSpec:
    """Windows of the model's clip length and sampling rate, every ``stride`` frames."""
    return WindowSpec(
        clip_len=resolved.clip_len, sampling_rate=resolved.sampling_rate, stride=stride
    )


def output_paths(
    videos: list[Path], output: str | Path | None, *, suffix: str = ".mp4"
) -> list[Path]:
    """Where each video's MP4 goes.

    ``output`` ending in ``.mp4`` names the file (one video only); anything else is a
    folder (created if missing) that receives ``<video stem>.mp4`` files; ``None`` means
    the folder ``videocam-out``. Every path is checked: not equal to an input, folder
    writable.

    Raises:
        OutputPathError: One of the rules above is broken.
    """
    if output is not None and str(output).lower().endswith((".mp4", ".m4v")):
        if len(videos) != 1:
            raise OutputPathError(
                f"-o {output} names one file but {len(videos)} videos were given; pass a folder"
            )
        paths = [Path(output)]
        _make_folder(Path(output).parent)
    else:
        folder = Path(output) if output is not None else Path("videocam-out")
        _make_folder(folder)
        paths = [folder / (Path(v).stem + suffix) for v in videos]
        seen: dict[Path, Path] = {}
        for video, path in zip(videos, paths, strict=True):
            if path in seen:
                raise OutputPathError(
                    f"{video} and {seen[path]} would both be written to {path}; rename one"
                )
            seen[path] = video
    return [check_output_path(p, inputs=videos) for p in paths]


def _make_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(f"output folder {folder} is a file")
    if not folder.exists():
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise OutputPathError(f"cannot create output folder {folder}: {exc.strerror}") from exc


@contextmanager
def removing_new_folders(output: str | Path | None) -> Iterator[None]:
    """On leaving, removes the output folders that did not exist on entering and are still
    empty (the folders :func:`output_paths` made for a run that wrote nothing), so bad
    input leaves no trace, not even an empty ``videocam-out/``."""
    target = Path(output) if output is not None else Path("videocam-out")
    if str(target).lower().endswith((".mp4", ".m4v")):
        target = target.parent
    missing: list[Path] = []  # deepest first
    while not target.exists() and not target.is_symlink() and target != target.parent:
        missing.append(target)
        target = target.parent
    try:
        yield
    finally:
        for folder in missing:
            try:
                folder.rmdir()  # only succeeds when empty
            except OSError:
                break
