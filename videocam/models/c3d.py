"""C3D (Tran et al., "Learning Spatiotemporal Features with 3D Convolutional Networks",
ICCV 2015), as trained on Sports-1M, and its compact relatives.

The layer names follow the widely used PyTorch conversion of the Sports-1M weights
(``conv1``, ``pool1``, ``conv2``, ``pool2``, ``conv3a``, ``conv3b``, ``pool3``, ``conv4a``,
``conv4b``, ``pool4``, ``conv5a``, ``conv5b``, ``pool5``, ``fc6``, ``fc7``, ``fc8``), so its
state_dict loads as is. Two differences from that conversion, both deliberate:

* each ``conv*`` module applies its ReLU itself, so a hook on ``conv5b`` sees the
  post-ReLU activation that CAM methods are defined on (the converted checkpoint has no
  parameters in its ReLUs, so its keys are unchanged);
* :meth:`C3D.forward` returns the fc8 **logits**, not softmax probabilities (Grad-CAM++'s
  closed form, eq. 19 of Chattopadhyay et al. 2018, is stated for the pre-softmax score).

Example:
    >>> import torch, videocam
    >>> model = videocam.models.C3D(num_classes=487).eval()
    >>> model(torch.zeros(1, 3, 16, 112, 112)).shape
    torch.Size([1, 487])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from videocam.errors import CheckpointError

__all__ = ["C3D", "Conv3dReLU", "load_checkpoint", "read_state_dict"]

#: Channel widths of conv1, conv2, conv3a, conv3b, conv4a, conv4b, conv5a, conv5b in the
#: original network.
C3D_WIDTHS = (64, 128, 256, 256, 512, 512, 512, 512)
_CONV_NAMES = ("conv1", "conv2", "conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b")


class Conv3dReLU(nn.Conv3d):
    """A 3x3x3 convolution followed by (optional) batch norm and ReLU.

    Subclassing ``nn.Conv3d`` keeps the parameter names ``weight``/``bias`` of the
    converted C3D checkpoint while the module's output is the post-ReLU activation.
    """

    def __init__(self, in_channels: int, out_channels: int, *, batch_norm: bool = False) -> None:
        super().__init__(in_channels, out_channels, kernel_size=3, padding=1, bias=not batch_norm)
        self.bn = nn.BatchNorm3d(out_channels) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = super().forward(x)
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x)


class C3D(nn.Module):
    """The C3D network of Tran et al. (2015) and compact members of its family.

    Args:
        num_classes: Number of output classes (487 for Sports-1M).
        widths: Channels of conv1, conv2, conv3a, conv3b, conv4a, conv4b, conv5a, conv5b.
        batch_norm: Batch norm after every convolution (not in the original; it makes
            small models train fast from scratch).
        head: ``"fc"`` is the original pool5 -> fc6 -> fc7 -> fc8 head (input must be
            16x112x112 so pool5 yields 512x1x4x4 = 8192 features); ``"gap"`` is
            global average pooling of conv5b followed by fc8 (any input size; CAM applies).
        fc_dim: Width of fc6 and fc7 (``head="fc"`` only).
        dropout: Dropout probability after fc6 and fc7 (and before fc8 with ``head="gap"``).

    Input: (B, 3, T, H, W) clips. Output: (B, num_classes) logits.
    """

    def __init__(
        self,
        num_classes: int = 487,
        *,
        widths: Sequence[int] = C3D_WIDTHS,
        batch_norm: bool = False,
        head: Literal["fc", "gap"] = "fc",
        fc_dim: int = 4096,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if len(widths) != 8:
            raise ValueError(f"C3D needs 8 channel widths, got {len(widths)}")
        if head not in ("fc", "gap"):
            raise ValueError(f"head must be 'fc' or 'gap', got {head!r}")
        self.head_type = head
        w1, w2, w3a, w3b, w4a, w4b, w5a, w5b = widths
        self.conv1 = Conv3dReLU(3, w1, batch_norm=batch_norm)
        self.pool1 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))
        self.conv2 = Conv3dReLU(w1, w2, batch_norm=batch_norm)
        self.pool2 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv3a = Conv3dReLU(w2, w3a, batch_norm=batch_norm)
        self.conv3b = Conv3dReLU(w3a, w3b, batch_norm=batch_norm)
        self.pool3 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv4a = Conv3dReLU(w3b, w4a, batch_norm=batch_norm)
        self.conv4b = Conv3dReLU(w4a, w4b, batch_norm=batch_norm)
        self.pool4 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv5a = Conv3dReLU(w4b, w5a, batch_norm=batch_norm)
        self.conv5b = Conv3dReLU(w5a, w5b, batch_norm=batch_norm)
        self.dropout = nn.Dropout(p=dropout)
        self.pool5: nn.Module
        if head == "fc":
            self.pool5 = nn.MaxPool3d(kernel_size=2, stride=2, padding=(0, 1, 1))
            self.fc6 = nn.Linear(w5b * 16, fc_dim)
            self.fc7 = nn.Linear(fc_dim, fc_dim)
            self.fc8 = nn.Linear(fc_dim, num_classes)
        else:
            self.pool5 = nn.AdaptiveAvgPool3d(1)
            self.fc8 = nn.Linear(w5b, num_classes)
        self.num_classes = num_classes

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Runs conv1 .. conv5b (post-ReLU)."""
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        x = self.pool3(self.conv3b(self.conv3a(x)))
        x = self.pool4(self.conv4b(self.conv4a(x)))
        return self.conv5b(self.conv5a(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 5 or x.shape[1] != 3:
            raise ValueError(f"C3D expects clips of shape (B, 3, T, H, W), got {tuple(x.shape)}")
        x = self.pool5(self.features(x)).flatten(1)
        if self.head_type == "fc":
            x = self.dropout(F.relu(self.fc6(x)))
            x = self.dropout(F.relu(self.fc7(x)))
        else:
            x = self.dropout(x)
        return self.fc8(x)


def read_state_dict(path: str | Path, *, keys: Sequence[str] = ()) -> dict[str, torch.Tensor]:
    """Reads a checkpoint file into a flat state_dict, safely.

    Checkpoints are untrusted input: they are read with ``torch.load(weights_only=True)``,
    which refuses pickled code. Wrappers ``{"state_dict": ...}``, ``{"model": ...}`` and
    ``{"model_state": ...}`` (PyTorchVideo) are unwrapped, and a ``module.`` prefix
    (DataParallel) is removed.

    Args:
        path: The checkpoint file.
        keys: Extra wrapper keys to try first.

    Raises:
        CheckpointError: The file is missing, unreadable, not a weights-only checkpoint,
            or holds no state_dict.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        obj: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types (UnpicklingError, RuntimeError, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"cannot read checkpoint {path}: {first}") from exc
    for key in (*keys, "state_dict", "model_state", "model", "module"):
        if isinstance(obj, Mapping) and key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} does not hold a state_dict of tensors")
    state = dict(obj)
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def load_checkpoint(model: nn.Module, path: str | Path) -> nn.Module:
    """Loads a checkpoint into ``model`` strictly, with an error that names the mismatch.

    Raises:
        CheckpointError: Unreadable file, missing or unexpected keys, or shape mismatches.
    """
    state = read_state_dict(path)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys {_preview(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_preview(unexpected)}")
        raise CheckpointError(
            f"checkpoint {Path(path).name} does not fit {type(model).__name__}: " + "; ".join(parts)
        )
    bad = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if tuple(state[k].shape) != tuple(v.shape)
    ]
    if bad:
        raise CheckpointError(
            f"checkpoint {Path(path).name} has wrong shapes for {type(model).__name__}: "
            + _preview(bad)
        )
    model.load_state_dict(state, strict=True)
    return model


def _preview(items: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(items[:limit])
    return f"[{shown}{', ...' if len(items) > limit else ''}] ({len(items)})"
