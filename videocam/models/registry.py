"""The model zoo: one registry of frozen configs, :func:`create_model`, :func:`list_models`.

Everything videocam needs to know about a model lives in its :class:`ModelConfig`: how to
build it, which layer(s) to explain, how a clip must be sampled and normalised, how to turn
the clip into the model's input (SlowFast takes two pathways), its label map and where its
pretrained weights are.

Entries (Kinetics-400 unless noted; ``T x s`` = frames x sampling rate at 30 fps; resize
``HxW`` = exact size, a single number = short side, aspect kept):

==============  ============  ==========  ===========  ====================================
name            source        T x s       resize/crop  default target layer(s)
==============  ============  ==========  ===========  ====================================
c3d             videocam      16 x 1      128x171/112  conv5b (Sports-1M, 487 classes)
r3d_18          torchvision   16 x 2      128x171/112  layer4
mc3_18          torchvision   16 x 2      128x171/112  layer4
r2plus1d_18     torchvision   16 x 2      128x171/112  layer4
s3d             torchvision   64 x 2      256x256/224  features.15
x3d_xs          pytorchvideo  4 x 12      182/160      blocks.4
x3d_s           pytorchvideo  13 x 6      182/160      blocks.4
x3d_m           pytorchvideo  16 x 5      256/224      blocks.4
slow_r50        pytorchvideo  8 x 8       256/224      blocks.4
slowfast_r50    pytorchvideo  32 x 2      256/224      blocks.4.multipathway_blocks.0 / .1
i3d_r50         pytorchvideo  8 x 8       256/224      blocks.5
c2d_r50         pytorchvideo  8 x 8       256/224      blocks.5
csn_r101        pytorchvideo  32 x 2      256/224      blocks.4
r2plus1d_r50    pytorchvideo  16 x 4      256/224      blocks.4
==============  ============  ==========  ===========  ====================================

Sources of the numbers: torchvision's weights transforms and video reference recipe
(``R3D_18_Weights.KINETICS400_V1.transforms()``: resize 128x171, crop 112, Kinetics mean/std,
``frame_rate=15``; S3D trained with ``--clip-len 64``, resize 256x256, crop 224); PyTorchVideo's
model zoo and hub builders (frames x rate as in the checkpoint names, e.g. ``SLOW_8x8_R50``,
``CSN_32x2_R101``; crop = the builders' input size, 160 for X3D-XS/S and 224 otherwise;
short side = PySlowFast's lower train jitter scale, 182 / 256; mean 0.45, std 0.225 on 0..1
pixels); C3D: Tran et al. 2015 (frames resized to 128x171, 16-frame 112x112 crops, RGB 0..255
without mean subtraction in the common PyTorch conversion).

Default target layers are the output of the last convolutional stage (post-activation): the
last feature volume before global pooling, where Grad-CAM++ is defined. SlowFast has one per
pathway; explaining both gives one map per pathway plus a fused map. (X3D's head adds one more
1x1x1 convolution, ``conv5``, before its pooling; its post-ReLU output can be explained with
``target_layer="blocks.5.pool.pre_act"``.)

PyTorchVideo's hub tutorials crop X3D-XS/S at 182 and SlowFast at 256 (crop = short side);
the presets here use the builders' native crop (the size the head's pooling was built for)
after the same short-side resize, like torchvision's 128 -> 112 and 256 -> 224.

Example:
    >>> import torch, videocam
    >>> from videocam.models import create_model, get_config
    >>> cfg = get_config("r3d_18")
    >>> model = create_model("r3d_18")                      # random weights, eval mode
    >>> clip = torch.rand(1, 3, 8, 64, 64)
    >>> with videocam.GradCAMPlusPlus(model, target_layer=list(cfg.target_layers)) as cam:
    ...     out = cam(cfg.prepare_inputs(clip))
    >>> out.maps.shape
    torch.Size([1, 1, 8, 64, 64])
"""

from __future__ import annotations

import difflib
import fnmatch
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal, Union

import torch
from torch import nn

from videocam.errors import (
    CheckpointError,
    InputShapeError,
    ModelConfigError,
    UnknownModelError,
    WeightsUnavailableError,
)
from videocam.models.adapters import (
    PackPathways,
    PyTorchVideoHub,
    TorchvisionVideo,
    fetch_weights,
    identity_inputs,
    replace_head,
)
from videocam.models.c3d import C3D, load_checkpoint, read_state_dict
from videocam.models.labels import load_labels

__all__ = [
    "KINETICS_MEAN",
    "KINETICS_STD",
    "ModelConfig",
    "ModelInputs",
    "PYTORCHVIDEO_MEAN",
    "PYTORCHVIDEO_STD",
    "create_model",
    "get_config",
    "list_models",
    "register_model",
    "unregister_model",
]

ModelInputs = Union[torch.Tensor, list[torch.Tensor]]  # noqa: UP007 (a runtime alias on 3.10)

#: torchvision's Kinetics-400 normalisation (pixels in 0..1).
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
#: PyTorchVideo / PySlowFast normalisation (pixels in 0..1).
PYTORCHVIDEO_MEAN = (0.45, 0.45, 0.45)
PYTORCHVIDEO_STD = (0.225, 0.225, 0.225)


@dataclass(frozen=True)
class ModelConfig:
    """Everything videocam knows about one model.

    Preprocessing a decoded RGB uint8 clip for this model (the video pipeline does it):
    sample ``clip_len`` frames ``sampling_rate`` frames apart; resize each frame (``resize``
    an int: short side to that size, aspect kept; a pair: exactly (height, width)); centre
    crop ``crop_size`` x ``crop_size``; then :meth:`normalize` (channel order, value range,
    mean/std) and :attr:`prepare_inputs` (the model's input structure).

    Attributes:
        name: Registry name (lower case, ``[a-z0-9_]``).
        builder: ``builder(num_classes) -> nn.Module`` with random weights; the module
            returns (B, num_classes) logits.
        target_layers: Default layer(s) to explain, as dotted module names.
        head: Dotted name of the classifier layer (``nn.Linear`` or 1x1x1 ``nn.Conv3d``),
            resized by ``create_model(num_classes=...)``.
        num_classes: Output size of the published model.
        labels: Label map: a shipped name (``"kinetics400"``, ``"sports1m"``) or a file.
        clip_len: Frames per clip.
        sampling_rate: Stride between sampled frames, in frames of a 30 fps video.
        crop_size: Side of the square centre crop.
        resize: Short side (int) or exact (height, width) to resize frames to before
            cropping.
        mean: Per-channel mean, in the units of ``value_range``.
        std: Per-channel standard deviation, in the units of ``value_range``.
        value_range: 1.0 if pixels are scaled to 0..1 before normalising, 255.0 if raw.
        channel_order: ``"RGB"`` or ``"BGR"``.
        prepare_inputs: Maps a normalised (B, 3, T, H, W) clip to the model's input:
            the clip itself, or SlowFast's ``[slow, fast]``.
        weights: Pretrained weights, an ``https://`` URL or a local file (package data);
            ``None`` when none are published.
        frame_rate: The frame rate the model was trained at when it was set by a rate
            (torchvision: 15 fps); ``sampling_rate`` is its equivalent at 30 fps.
        fixed_input_size: True if the model accepts only :attr:`input_size` (C3D: fc6
            expects exactly the 8192 pool5 features of a 16 x 112 x 112 clip); the other
            models pool globally and take other clip lengths and crops too (down to what
            their strides allow).
        min_clip_len: The fewest frames the architecture accepts (its temporal strides and
            kernels; S3D: 5).
        clip_len_multiple: Clip lengths must be a multiple of this (SlowFast: alpha = 4,
            so that both pathways line up at every fusion).
        source: ``"videocam"``, ``"torchvision"`` or ``"pytorchvideo"``.
        description: One line: the architecture, paper and training data.
        weights_by_default: Load :attr:`weights` even without ``pretrained=True`` (models
            whose trained weights ship with videocam, such as ``c3d_synthetic``); a
            ``checkpoint`` still replaces them.
    """

    name: str
    builder: Callable[[int], nn.Module]
    target_layers: tuple[str, ...]
    head: str
    num_classes: int
    labels: str
    clip_len: int
    sampling_rate: int
    crop_size: int
    resize: int | tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    value_range: float = 1.0
    channel_order: Literal["RGB", "BGR"] = "RGB"
    prepare_inputs: Callable[[torch.Tensor], ModelInputs] = field(default=identity_inputs)
    weights: str | None = None
    frame_rate: float | None = None
    fixed_input_size: bool = False
    min_clip_len: int = 1
    clip_len_multiple: int = 1
    source: str = "videocam"
    description: str = ""
    weights_by_default: bool = False

    def __post_init__(self) -> None:
        def fail(message: str) -> None:
            raise ModelConfigError(f"model config {self.name!r}: {message}")

        if (
            not isinstance(self.name, str)
            or not self.name
            or not all(c.islower() or c.isdigit() or c == "_" for c in self.name)
        ):
            fail("name must be non-empty lower case letters, digits and '_'")
        if not callable(self.builder) or not callable(self.prepare_inputs):
            fail("builder and prepare_inputs must be callable")
        layers = (
            (self.target_layers,) if isinstance(self.target_layers, str) else self.target_layers
        )
        layers = tuple(layers)
        if not layers or not all(isinstance(n, str) and n for n in layers):
            fail("target_layers must be one or more dotted module names")
        object.__setattr__(self, "target_layers", layers)
        for attr in (
            "num_classes",
            "clip_len",
            "sampling_rate",
            "crop_size",
            "min_clip_len",
            "clip_len_multiple",
        ):
            value = getattr(self, attr)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                fail(f"{attr} must be a positive int, got {value!r}")
        sizes: tuple[int, ...] = (
            tuple(self.resize) if isinstance(self.resize, Sequence) else (self.resize,)
        )
        if isinstance(self.resize, Sequence):
            object.__setattr__(self, "resize", sizes)
        if len(sizes) not in (1, 2) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= self.crop_size for s in sizes
        ):
            fail(f"resize must be an int or (height, width) >= crop_size, got {self.resize!r}")
        for attr in ("mean", "std"):
            value = tuple(float(v) for v in getattr(self, attr))
            if len(value) != 3 or not all(math.isfinite(v) for v in value):
                fail(f"{attr} must be 3 finite numbers")
            object.__setattr__(self, attr, value)
        if any(s <= 0 for s in self.std):
            fail("std must be positive")
        if self.value_range not in (1.0, 255.0):
            fail(f"value_range must be 1.0 or 255.0, got {self.value_range!r}")
        if self.channel_order not in ("RGB", "BGR"):
            fail(f"channel_order must be 'RGB' or 'BGR', got {self.channel_order!r}")
        if not isinstance(self.head, str) or not self.head:
            fail("head must be the dotted name of the classifier layer")
        try:
            self.check_clip_len(self.clip_len)
        except InputShapeError as exc:
            fail(str(exc))

    def check_clip_len(self, clip_len: int) -> int:
        """Checks that the model accepts clips of ``clip_len`` frames.

        Returns:
            ``clip_len``.

        Raises:
            InputShapeError: Too short, not a multiple of :attr:`clip_len_multiple`, or
                (for a fixed-size model) not :attr:`clip_len`.
        """
        if isinstance(clip_len, bool) or not isinstance(clip_len, int) or clip_len < 1:
            raise InputShapeError(f"clip length must be a positive int, got {clip_len!r}")
        if self.fixed_input_size and clip_len != self.clip_len:
            raise InputShapeError(
                f"{self.name} only accepts {self.clip_len}-frame clips, got {clip_len}"
            )
        if clip_len < self.min_clip_len:
            raise InputShapeError(
                f"{self.name} needs clips of at least {self.min_clip_len} frames, got {clip_len}"
            )
        if clip_len % self.clip_len_multiple:
            raise InputShapeError(
                f"{self.name} needs a clip length that is a multiple of "
                f"{self.clip_len_multiple}, got {clip_len}"
            )
        return clip_len

    @property
    def input_size(self) -> tuple[int, int, int]:
        """(T, H, W) of one clip at the native size."""
        return (self.clip_len, self.crop_size, self.crop_size)

    def normalize(self, clip: torch.Tensor) -> torch.Tensor:
        """Normalises RGB pixels for this model: channel order, value range, mean/std.

        Args:
            clip: (B, 3, T, H, W) or (3, T, H, W) RGB, uint8 or float in 0..255.

        Returns:
            A float32 tensor of the same shape, ready for :attr:`prepare_inputs`.
        """
        if clip.ndim not in (4, 5) or clip.shape[-4] != 3:
            raise ValueError(
                f"expected RGB clips (B, 3, T, H, W) or (3, T, H, W), got {tuple(clip.shape)}"
            )
        x = clip.float() if not clip.is_floating_point() else clip.to(torch.float32)
        if self.channel_order == "BGR":
            x = x.flip(-4)
        if self.value_range != 255.0:
            x = x * (self.value_range / 255.0)
        shape = (3, 1, 1, 1)
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(shape)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(shape)
        return (x - mean) / std

    def load_labels(self) -> list[str]:
        """This model's class names (see :func:`videocam.models.load_labels`)."""
        return load_labels(self.labels, num_classes=self.num_classes)

    def summary(self) -> dict[str, object]:
        """The config as plain data (for JSON sidecars and ``videocam models``)."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("builder", "prepare_inputs"):
                value = repr(value) if not hasattr(value, "__name__") else value.__name__
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


# --------------------------------------------------------------------------- registry
_REGISTRY: dict[str, ModelConfig] = {}


def register_model(config: ModelConfig, *, overwrite: bool = False) -> ModelConfig:
    """Adds ``config`` to the registry under ``config.name``.

    Raises:
        ModelConfigError: The name is taken and ``overwrite`` is False.
    """
    if not isinstance(config, ModelConfig):
        raise ModelConfigError(f"expected a ModelConfig, got {type(config).__name__}")
    if config.name in _REGISTRY and not overwrite:
        raise ModelConfigError(f"model {config.name!r} is already registered")
    _REGISTRY[config.name] = config
    return config


def unregister_model(name: str) -> ModelConfig:
    """Removes and returns the entry ``name``.

    Raises:
        UnknownModelError: No such entry.
    """
    config = get_config(name)
    del _REGISTRY[config.name]
    return config


def list_models(pattern: str | None = None) -> list[str]:
    """Sorted registry names, optionally filtered by a shell-style pattern (``"x3d_*"``)."""
    names = sorted(_REGISTRY)
    if pattern is None:
        return names
    return [n for n in names if fnmatch.fnmatchcase(n, pattern.lower())]


def get_config(name: str) -> ModelConfig:
    """The config of ``name`` (case-insensitive; ``-`` may stand for ``_``).

    Raises:
        UnknownModelError: No such entry; the message lists the nearest names.
    """
    if not isinstance(name, str):
        raise UnknownModelError(f"model name must be a string, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    if key in _REGISTRY:
        return _REGISTRY[key]
    near = difflib.get_close_matches(key, list(_REGISTRY), n=4, cutoff=0.4)
    hint = f"nearest: {', '.join(near)}" if near else f"available: {', '.join(list_models())}"
    raise UnknownModelError(f"unknown model {name!r}; {hint}")


def create_model(
    name: str | ModelConfig,
    checkpoint: str | Path | None = None,
    num_classes: int | None = None,
    pretrained: bool = False,
    device: str | torch.device | None = None,
    *,
    progress: bool = True,
) -> nn.Module:
    """Builds a registered model in eval mode; it returns logits.

    Args:
        name: Registry name (see :func:`list_models`) or a :class:`ModelConfig`.
        checkpoint: A local checkpoint to load: a state_dict, possibly wrapped in
            ``{"state_dict": ...}``, ``{"model": ...}`` or PyTorchVideo's
            ``{"model_state": ...}``. Read with ``torch.load(weights_only=True)``: a
            checkpoint is untrusted input and may not run code.
        num_classes: Output size. Without ``pretrained`` the model is built with it (and a
            ``checkpoint`` must match it); with ``pretrained`` the published head is
            replaced by a fresh, randomly initialised one of this size.
        pretrained: Load the published weights (torchvision's or PyTorchVideo's files,
            downloaded once into torch hub's cache). Offline, raises
            :class:`~videocam.errors.WeightsUnavailableError`.
        device: Move the model there.
        progress: Show a progress bar while downloading.

    Returns:
        The model, in eval mode. PyTorchVideo models are built returning the logits of
        ``head.proj`` (their hub heads end in Softmax) and with global head pooling; see
        :mod:`videocam.models.adapters`.

    Raises:
        UnknownModelError: ``name`` is not registered.
        CheckpointError: The checkpoint is unreadable or does not fit (the message names
            missing/unexpected keys or shape mismatches).
        WeightsUnavailableError: ``pretrained=True`` but the weights cannot be obtained.
        ModelConfigError: ``num_classes`` is not a positive int.
    """
    config = name if isinstance(name, ModelConfig) else get_config(name)
    if num_classes is not None and (
        isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1
    ):
        raise ModelConfigError(f"num_classes must be a positive int, got {num_classes!r}")
    if pretrained and checkpoint is not None:
        raise CheckpointError("pass either pretrained=True or checkpoint=PATH, not both")
    classes = config.num_classes if num_classes is None else num_classes
    if config.weights_by_default and checkpoint is None:
        pretrained = True
    if pretrained:
        if config.weights is None:
            raise WeightsUnavailableError(
                f"no pretrained weights are published for {config.name} at a stable URL; "
                "pass checkpoint=PATH to a local file"
            )
        path = fetch_weights(config.weights, model_name=config.name, progress=progress)
        model = config.builder(config.num_classes)
        _load(model, path, config)
        if classes != config.num_classes:
            replace_head(model, config.head, classes)
    else:
        model = config.builder(classes)
        if checkpoint is not None:
            _load(model, checkpoint, config)
    model.eval()
    if device is not None:
        model.to(device)
    return model


def _load(model: nn.Module, path: str | Path, config: ModelConfig) -> None:
    """Strict load through :func:`load_checkpoint`, with a hint when only the head size
    differs."""
    try:
        load_checkpoint(model, path)
    except CheckpointError as exc:
        key = f"{config.head}.weight"
        if key in str(exc) and "wrong shapes" in str(exc):
            state = read_state_dict(path)
            if key in state:
                found = state[key].shape[0]
                raise CheckpointError(
                    f"{exc}; the checkpoint's classifier has {found} classes: pass "
                    f"num_classes={found}"
                ) from exc
        raise


# --------------------------------------------------------------------------- entries
def _c3d(num_classes: int) -> nn.Module:
    return C3D(num_classes=num_classes)


_TV_URL = "https://download.pytorch.org/models"
_PTV_URL = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics"
_TV_NOTE = "Kinetics-400, torchvision weights (trained at 15 fps: sampling rate 2 at 30 fps)"
_PTV_NOTE = "Kinetics-400, PyTorchVideo model zoo"

# PyTorchVideo single-pathway entries. last = index in model.blocks of the last stage
# (c2d/i3d have a pool block after stage 1, so their stages end one block later).
# fmt: off
_PYTORCHVIDEO = (
    # name          T   rate side crop
    #   checkpoint file       last  title
    ("x3d_xs",       4, 12, 182, 160,
        "X3D_XS.pyth",            4, "X3D-XS (Feichtenhofer, CVPR 2020)"),
    ("x3d_s",       13,  6, 182, 160,
        "X3D_S.pyth",             4, "X3D-S (Feichtenhofer, CVPR 2020)"),
    ("x3d_m",       16,  5, 256, 224,
        "X3D_M.pyth",             4, "X3D-M (Feichtenhofer, CVPR 2020)"),
    ("slow_r50",     8,  8, 256, 224,
        "SLOW_8x8_R50.pyth",      4, "Slow-only ResNet-50 (Feichtenhofer et al., ICCV 2019)"),
    ("i3d_r50",      8,  8, 256, 224,
        "I3D_8x8_R50.pyth",       5, "I3D ResNet-50 (Carreira & Zisserman, CVPR 2017)"),
    ("c2d_r50",      8,  8, 256, 224,
        "C2D_8x8_R50.pyth",       5, "C2D ResNet-50, 2D convolutions only"),
    ("csn_r101",    32,  2, 256, 224,
        "CSN_32x2_R101.pyth",     4, "ir-CSN ResNet-101 (Tran et al., ICCV 2019)"),
    ("r2plus1d_r50", 16, 4, 256, 224,
        "R2PLUS1D_16x4_R50.pyth", 4, "R(2+1)D ResNet-50 (Tran et al., CVPR 2018)"),
)
# fmt: on

_ENTRIES = [
    ModelConfig(
        name="c3d",
        builder=_c3d,
        target_layers=("conv5b",),
        head="fc8",
        num_classes=487,
        labels="sports1m",
        clip_len=16,
        sampling_rate=1,
        crop_size=112,
        resize=(128, 171),
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        value_range=255.0,
        fixed_input_size=True,
        source="videocam",
        description=(
            "C3D (Tran et al., ICCV 2015), Sports-1M; RGB 0..255 without mean subtraction "
            "as in the common PyTorch conversion (weights: pass checkpoint=PATH)"
        ),
    ),
    *(
        ModelConfig(
            name=arch,
            builder=TorchvisionVideo(arch),
            target_layers=("layer4",),
            head="fc",
            num_classes=400,
            labels="kinetics400",
            clip_len=16,
            sampling_rate=2,
            crop_size=112,
            resize=(128, 171),
            mean=KINETICS_MEAN,
            std=KINETICS_STD,
            weights=f"{_TV_URL}/{file}",
            frame_rate=15.0,
            source="torchvision",
            description=f"{title} (Tran et al., CVPR 2018), {_TV_NOTE}",
        )
        for arch, file, title in (
            ("r3d_18", "r3d_18-b3b3357e.pth", "R3D-18, 3D ResNet"),
            ("mc3_18", "mc3_18-a90a0ba3.pth", "MC3-18, mixed 3D/2D convolution ResNet"),
            ("r2plus1d_18", "r2plus1d_18-91a641e6.pth", "R(2+1)D-18, factorised ResNet"),
        )
    ),
    ModelConfig(
        name="s3d",
        builder=TorchvisionVideo("s3d", global_pool=("avgpool",)),
        target_layers=("features.15",),
        head="classifier.1",
        num_classes=400,
        labels="kinetics400",
        clip_len=64,
        sampling_rate=2,
        crop_size=224,
        resize=(256, 256),
        mean=KINETICS_MEAN,
        std=KINETICS_STD,
        weights=f"{_TV_URL}/s3d-d76dad2f.pth",
        frame_rate=15.0,
        min_clip_len=5,
        source="torchvision",
        description=(
            "S3D, separable 3D Inception (Xie et al., ECCV 2018), "
            f"{_TV_NOTE}; trained on 64-frame clips"
        ),
    ),
    *(
        ModelConfig(
            name=arch,
            builder=PyTorchVideoHub(arch),
            target_layers=(f"blocks.{last}",),
            head=f"blocks.{last + 1}.proj",
            num_classes=400,
            labels="kinetics400",
            clip_len=frames,
            sampling_rate=rate,
            crop_size=crop,
            resize=short_side,
            mean=PYTORCHVIDEO_MEAN,
            std=PYTORCHVIDEO_STD,
            weights=f"{_PTV_URL}/{file}",
            min_clip_len=2 if last == 5 else 1,  # c2d/i3d pool time by 2 after stage 1
            source="pytorchvideo",
            description=f"{title}, {_PTV_NOTE}",
        )
        for arch, frames, rate, short_side, crop, file, last, title in _PYTORCHVIDEO
    ),
    ModelConfig(
        name="slowfast_r50",
        builder=PyTorchVideoHub("slowfast_r50", head_blocks=(-2, -1)),
        target_layers=("blocks.4.multipathway_blocks.0", "blocks.4.multipathway_blocks.1"),
        head="blocks.6.proj",
        num_classes=400,
        labels="kinetics400",
        clip_len=32,
        sampling_rate=2,
        crop_size=224,
        resize=256,
        mean=PYTORCHVIDEO_MEAN,
        std=PYTORCHVIDEO_STD,
        prepare_inputs=PackPathways(alpha=4),
        weights=f"{_PTV_URL}/SLOWFAST_8x8_R50.pyth",
        min_clip_len=4,
        clip_len_multiple=4,
        source="pytorchvideo",
        description=(
            "SlowFast ResNet-50 (Feichtenhofer et al., ICCV 2019), "
            f"{_PTV_NOTE}; the fast pathway sees all 32 frames, the slow one every 4th "
            "(alpha=4); both pathways' last stages are explained"
        ),
    ),
]

for _config in _ENTRIES:
    register_model(_config)
del _config

from videocam.models.bundled import register_bundled_models  # noqa: E402

register_bundled_models()
