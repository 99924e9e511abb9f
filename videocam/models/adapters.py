"""Adapters: build torchvision / PyTorchVideo video classifiers in the form videocam explains.

These changes are made to the models we build (they are ours, not the user's, so changing
them is fine; a model the user passes to an explainer is never touched):

* **Logits, not probabilities.** PyTorchVideo's hub heads (``ResNetBasicHead``) end in an
  ``activation`` module (``nn.Softmax`` for X3D and R(2+1)D) applied to the projection's
  output. Grad-CAM++'s closed form (Chattopadhyay et al. 2018, eq. 19) is stated for the
  pre-softmax score ``S^c``, so :func:`use_logits` replaces those activations with
  ``nn.Identity``: the model returns what ``head.proj`` computes.
* **Global head pooling.** PyTorchVideo heads and torchvision's S3D pool the last feature
  map with a fixed ``AvgPool3d`` whose kernel equals the feature size at the training input
  (e.g. ``(8, 7, 7)`` for Slow-R50 at 8 x 224 x 224), with stride 1. At that size it is a
  global average; on a smaller input it fails, on a larger one it averages sliding windows.
  :func:`use_global_pooling` replaces it with ``AdaptiveAvgPool3d(1)``: identical output at
  the training size (the tests check it), and any clip length or crop works. The head is
  then global-average-pool + linear, so CAM applies too.
* **Inputs left alone.** PyTorchVideo's multi-pathway blocks overwrite the input list
  ``[slow, fast]`` in place by default; :func:`keep_inputs` turns that off.
* **Pretrained weights are read safely.** Downloads go to torch hub's cache and are read
  with ``torch.load(weights_only=True)`` (:func:`videocam.models.read_state_dict`), never as
  a full pickle.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from videocam.errors import (
    InputShapeError,
    MissingBackendError,
    ModelConfigError,
    WeightsUnavailableError,
)

__all__ = [
    "PackPathways",
    "PyTorchVideoHub",
    "TorchvisionVideo",
    "fetch_weights",
    "identity_inputs",
    "keep_inputs",
    "replace_head",
    "set_submodule",
    "use_global_pooling",
    "use_logits",
]


# --------------------------------------------------------------------------- inputs
def identity_inputs(clip: torch.Tensor) -> torch.Tensor:
    """The input of single-pathway models: the (B, 3, T, H, W) clip itself."""
    return clip


@dataclass(frozen=True)
class PackPathways:
    """SlowFast's two inputs from one clip: ``[slow, fast]``.

    The fast pathway sees all T frames; the slow pathway sees ``T // alpha`` frames picked
    uniformly over the clip (indices ``linspace(0, T - 1, T // alpha)``, as PyTorchVideo's
    and PySlowFast's ``PackPathway`` do). For slowfast_r50 (alpha = 4) a 32-frame clip
    gives an 8-frame slow and a 32-frame fast pathway. T must be a multiple of alpha, or
    the pathways' frame counts do not line up at the lateral fusions.

    Args:
        alpha: Frame-rate ratio of the fast to the slow pathway.
    """

    alpha: int = 4

    def __call__(self, clip: torch.Tensor) -> list[torch.Tensor]:
        if clip.ndim != 5:
            raise InputShapeError(
                f"SlowFast expects clips (B, 3, T, H, W), got {tuple(clip.shape)}"
            )
        frames = clip.shape[2]
        if frames < self.alpha or frames % self.alpha:
            raise InputShapeError(
                f"SlowFast (alpha={self.alpha}) needs a clip length that is a positive multiple "
                f"of {self.alpha}, got {frames}"
            )
        index = torch.linspace(0, frames - 1, frames // self.alpha, device=clip.device).long()
        return [clip.index_select(2, index), clip]


# --------------------------------------------------------------------------- surgery
def set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    """Replaces the submodule at dotted ``name`` (``"blocks.5.proj"``) with ``module``."""
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def use_logits(model: nn.Module) -> list[str]:
    """Replaces the output activation of PyTorchVideo heads (a module with ``proj`` and a
    non-None ``activation``, e.g. Softmax) by ``nn.Identity``.

    Returns:
        The dotted names of the replaced activations.
    """
    replaced = []
    for name, module in list(model.named_modules()):
        activation = getattr(module, "activation", None)
        if (
            hasattr(module, "proj")
            and isinstance(activation, nn.Module)
            and not isinstance(activation, nn.Identity)
        ):
            module.activation = nn.Identity()
            replaced.append(f"{name}.activation" if name else "activation")
    return replaced


def keep_inputs(model: nn.Module) -> int:
    """Stops multi-pathway blocks from overwriting the caller's input list.

    PyTorchVideo's ``MultiPathWayWithFuse`` defaults to ``inplace=True``: it writes each
    pathway's output into the list it was given, so after ``model([slow, fast])`` the
    caller's list holds stem features instead of the clips. Setting ``inplace=False``
    makes it build a new list (same outputs).

    Returns:
        The number of blocks changed.
    """
    changed = 0
    for module in model.modules():
        if getattr(module, "inplace", None) is True and hasattr(module, "multipathway_blocks"):
            setattr(module, "inplace", False)  # noqa: B010 (a plain attribute, not a submodule)
            changed += 1
    return changed


def use_global_pooling(model: nn.Module, roots: Sequence[str]) -> list[str]:
    """Replaces every ``nn.AvgPool3d`` under the modules ``roots`` (the head) by
    ``nn.AdaptiveAvgPool3d(1)``.

    Returns:
        The dotted names of the replaced pools.
    """
    replaced = []
    for root in roots:
        base = model.get_submodule(root)
        targets = (
            [(root, base)]
            if isinstance(base, nn.AvgPool3d)
            else [
                (f"{root}.{name}", module)
                for name, module in base.named_modules()
                if name and isinstance(module, nn.AvgPool3d)
            ]
        )
        for name, _ in targets:
            set_submodule(model, name, nn.AdaptiveAvgPool3d(1))
            replaced.append(name)
    return replaced


def replace_head(model: nn.Module, head: str, num_classes: int) -> nn.Module:
    """Gives the classifier at ``head`` a new output size (fresh, randomly initialised).

    Supports ``nn.Linear`` and 1x1x1 ``nn.Conv3d`` classifiers (S3D).

    Returns:
        The new classifier module.
    """
    old = model.get_submodule(head)
    if isinstance(old, nn.Linear):
        new: nn.Module = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    elif isinstance(old, nn.Conv3d) and old.kernel_size == (1, 1, 1):
        new = nn.Conv3d(old.in_channels, num_classes, kernel_size=1, bias=old.bias is not None)
    else:
        raise ModelConfigError(
            f"cannot resize classifier {head!r}: {type(old).__name__} is not a Linear or "
            "1x1x1 Conv3d layer"
        )
    param = next(old.parameters())
    set_submodule(model, head, new.to(device=param.device, dtype=param.dtype))
    return new


# --------------------------------------------------------------------------- builders
@dataclass(frozen=True)
class TorchvisionVideo:
    """Builds a ``torchvision.models.video`` classifier with random weights.

    Args:
        arch: Builder name in ``torchvision.models.video`` (``"r3d_18"``, ``"s3d"``, ...).
        global_pool: Dotted names of fixed-size ``AvgPool3d`` head pools to make global
            (S3D's ``"avgpool"``; the video ResNets already pool adaptively).
    """

    arch: str
    global_pool: tuple[str, ...] = ()

    def __call__(self, num_classes: int) -> nn.Module:
        from torchvision.models import video  # type: ignore[import-untyped]

        model = getattr(video, self.arch)(weights=None, num_classes=num_classes)
        use_global_pooling(model, self.global_pool)
        return model


@dataclass(frozen=True)
class PyTorchVideoHub:
    """Builds a PyTorchVideo hub model (``pytorchvideo.models.hub.<arch>``) with random
    weights, the architecture its published checkpoint expects, returning logits and
    pooling globally (see the module docstring).

    Only ``pytorchvideo.models`` is imported, lazily, when a model is built.

    Args:
        arch: Hub builder name (``"x3d_xs"``, ``"slowfast_r50"``, ...).
        head_blocks: Indices in ``model.blocks`` of the head (pooling and projection);
            negative indices count from the end.
    """

    arch: str
    head_blocks: tuple[int, ...] = (-1,)

    def __call__(self, num_classes: int) -> nn.Module:
        try:
            from pytorchvideo.models import hub  # type: ignore[import-untyped]
        except ImportError as exc:  # a core dependency, but say what to do
            raise MissingBackendError(
                f"model {self.arch} needs pytorchvideo: pip install pytorchvideo ({exc})"
            ) from exc
        model = getattr(hub, self.arch)(pretrained=False, model_num_class=num_classes)
        use_logits(model)
        keep_inputs(model)
        count = len(model.blocks)
        use_global_pooling(model, [f"blocks.{i % count}" for i in self.head_blocks])
        return model


# --------------------------------------------------------------------------- weights
_HASH_PREFIX = re.compile(r"-([a-f0-9]+)\.")


def fetch_weights(source: str, *, model_name: str, progress: bool = True) -> Path:
    """Returns a local file holding pretrained weights, downloading it if needed.

    Args:
        source: An ``http(s)://`` URL (downloaded once into torch hub's cache,
            ``$TORCH_HOME/hub/checkpoints``, and checked against the hash prefix in its file
            name when there is one) or a local path (e.g. weights shipped as package data).
        model_name: For messages.
        progress: Show a download progress bar.

    Raises:
        WeightsUnavailableError: Offline, the download failed, or the local file is missing.
    """
    if not source.startswith(("http://", "https://")):
        path = Path(source)
        if not path.is_file():
            raise WeightsUnavailableError(f"weights of {model_name} not found: {path}")
        return path
    filename = Path(urlparse(source).path).name
    cached = Path(torch.hub.get_dir()) / "checkpoints" / filename
    if cached.is_file():
        return cached
    match = _HASH_PREFIX.search(filename)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(
            source, str(cached), hash_prefix=match.group(1) if match else None, progress=progress
        )
    except (OSError, http.client.HTTPException, RuntimeError) as exc:
        # OSError covers URLError, timeouts and refused connections; RuntimeError a bad hash.
        reason = str(getattr(exc, "reason", "") or exc).strip().splitlines()
        raise WeightsUnavailableError(
            f"cannot download pretrained weights of {model_name} from {source} "
            f"({reason[0] if reason else type(exc).__name__}); when offline, fetch the file "
            "elsewhere and pass checkpoint=PATH"
        ) from exc
    return cached
