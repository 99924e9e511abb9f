"""Turning frames into model input, and model-space maps back into frame pixels.

A :class:`ClipPreset` describes what a model expects: short-side resize, centre crop,
channel order, value range and mean/std. :class:`ClipPreprocessor` applies it in torch
to a stack of uint8 frames (resize with antialiasing on the uint8 stack, which is the
fast path on CPU; the crop is a view; one fused float conversion and normalisation), and
returns ``(3, T, h, w)`` float32 clips, or ``(B, 3, T, h, w)`` batches.

:class:`CropGeometry` records, for one frame size, where the crop lies in the original
frame, and maps between the two spaces:

- :meth:`CropGeometry.unproject`: a map of the crop at any resolution, ``(..., h', w')``,
  straight to the original frame, ``(..., H, W)``: bilinear inside the crop, exactly 0
  outside (resize and crop undone in one ``grid_sample``).
- :meth:`CropGeometry.project`: a map of the original frame, ``(..., H, W)``, to the crop,
  ``(..., h, w)``, exactly as the frames are preprocessed (e.g. ground-truth masks).
- :meth:`CropGeometry.to_crop` / :meth:`CropGeometry.to_frame`: point coordinates.

Coordinates are continuous with pixel centres at ``i + 0.5`` (the convention of
``F.interpolate(..., align_corners=False)``, used for the resize itself).

Example:
    >>> preset = ClipPreset(resize=128, crop=112, mean=(0.43, 0.39, 0.37),
    ...                     std=(0.23, 0.22, 0.22))
    >>> pre = ClipPreprocessor(preset)
    >>> clip = pre(window.images)              # doctest: +SKIP
    >>> geometry = pre.geometry(240, 320)       # frames of 240x320
    >>> heat = geometry.unproject(maps)         # (T, 7, 7) -> (T, 240, 320)  # doctest: +SKIP

Public API:
    :class:`ClipPreset`, :class:`ClipPreprocessor`, :class:`CropGeometry`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as functional

from videocam.errors import InputShapeError

__all__ = ["ClipPreprocessor", "ClipPreset", "CropGeometry"]


def _pair(value: int | Sequence[int] | None, name: str) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        values = [int(value), int(value)]
    else:
        values = [int(v) for v in value]
        if len(values) != 2:
            raise ValueError(f"{name} must be an int or (height, width), got {value!r}")
    if min(values) < 1:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return values[0], values[1]


@dataclass(frozen=True)
class ClipPreset:
    """Input conventions of a video model.

    Attributes:
        resize: ``int``: scale so the shorter side has this length (aspect kept);
            ``(height, width)``: scale to exactly that size; ``None``: no resize.
        crop: centre crop size, ``int`` (square) or ``(height, width)``; ``None``: no
            crop. A crop larger than the resized frame is zero-padded (as torchvision's
            ``center_crop``).
        mean: per-channel mean, in the model's channel order and value range.
        std: per-channel standard deviation, same conventions.
        value_range: ``1.0`` divides pixels by 255 first (most models); ``255.0`` keeps
            them in 0..255 (C3D).
        channel_order: ``"RGB"`` or ``"BGR"`` (order of the model's input channels).
    """

    resize: int | tuple[int, int] | None = None
    crop: int | tuple[int, int] | None = None
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    value_range: float = 1.0
    channel_order: Literal["RGB", "BGR"] = "RGB"

    def __post_init__(self) -> None:
        if self.resize is not None and not isinstance(self.resize, (int, np.integer)):
            _pair(self.resize, "resize")
        elif self.resize is not None and self.resize < 1:
            raise ValueError(f"resize must be positive, got {self.resize}")
        _pair(self.crop, "crop")
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError("mean and std need 3 values (one per channel)")
        if any(s <= 0 for s in self.std):
            raise ValueError(f"std must be positive, got {self.std}")
        if self.value_range not in (1.0, 255.0):
            raise ValueError(f"value_range must be 1.0 or 255.0, got {self.value_range}")
        if self.channel_order not in ("RGB", "BGR"):
            raise ValueError(f"channel_order must be 'RGB' or 'BGR', got {self.channel_order!r}")

    def geometry(self, height: int, width: int) -> CropGeometry:
        """The :class:`CropGeometry` of frames of ``height`` x ``width`` pixels."""
        if height < 1 or width < 1:
            raise InputShapeError(f"frame size must be positive, got {height}x{width}")
        if self.resize is None:
            resized = (height, width)
        elif isinstance(self.resize, (int, np.integer)):
            short = int(self.resize)
            if height <= width:
                resized = (short, max(1, int(round(width * short / height))))
            else:
                resized = (max(1, int(round(height * short / width))), short)
        else:
            resized = _pair(self.resize, "resize")  # type: ignore[assignment]
        crop = _pair(self.crop, "crop") or resized
        top = int(round((resized[0] - crop[0]) / 2.0))
        left = int(round((resized[1] - crop[1]) / 2.0))
        return CropGeometry(
            frame_size=(height, width), resized_size=resized, crop_size=crop, offset=(top, left)
        )


@dataclass(frozen=True)
class CropGeometry:
    """Where the model's crop lies in an original frame.

    Attributes:
        frame_size: ``(H, W)`` of the original frame.
        resized_size: ``(height, width)`` after the resize.
        crop_size: ``(h, w)`` of the crop (the model's input size).
        offset: ``(top, left)`` of the crop in the resized frame; negative when the crop
            is larger than the resized frame (zero padding).
    """

    frame_size: tuple[int, int]
    resized_size: tuple[int, int]
    crop_size: tuple[int, int]
    offset: tuple[int, int]
    _cache: dict[Any, tuple[torch.Tensor, torch.Tensor]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @property
    def scale(self) -> tuple[float, float]:
        """``(sy, sx)``: resized pixels per original pixel."""
        return (
            self.resized_size[0] / self.frame_size[0],
            self.resized_size[1] / self.frame_size[1],
        )

    def to_crop(self, y: float, x: float) -> tuple[float, float]:
        """Continuous crop coordinates of the original-frame point ``(y, x)``."""
        sy, sx = self.scale
        return y * sy - self.offset[0], x * sx - self.offset[1]

    def to_frame(self, y: float, x: float) -> tuple[float, float]:
        """Continuous original-frame coordinates of the crop point ``(y, x)``."""
        sy, sx = self.scale
        return (y + self.offset[0]) / sy, (x + self.offset[1]) / sx

    def crop_box(self) -> tuple[float, float, float, float]:
        """``(top, left, bottom, right)`` of the crop in original-frame coordinates
        (continuous, clipped to the frame)."""
        top, left = self.to_frame(0.0, 0.0)
        bottom, right = self.to_frame(float(self.crop_size[0]), float(self.crop_size[1]))
        height, width = self.frame_size
        return max(0.0, top), max(0.0, left), min(float(height), bottom), min(float(width), right)

    def _grid(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Sampling grid (1, H, W, 2) into the crop and the inside-the-crop mask (H, W)."""
        key = (device.type, device.index)
        if key not in self._cache:
            height, width = self.frame_size
            sy, sx = self.scale
            ch, cw = self.crop_size
            ys = ((torch.arange(height, device=device, dtype=torch.float32) + 0.5) * sy
                  - self.offset[0]) / ch * 2 - 1  # fmt: skip
            xs = ((torch.arange(width, device=device, dtype=torch.float32) + 0.5) * sx
                  - self.offset[1]) / cw * 2 - 1  # fmt: skip
            grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).unsqueeze(0)
            inside = (ys.abs() <= 1)[:, None] & (xs.abs() <= 1)[None, :]
            self._cache[key] = (grid, inside)
        return self._cache[key]

    def unproject(self, maps: torch.Tensor) -> torch.Tensor:
        """Map crop-space maps onto the original frame pixels.

        Args:
            maps: ``(..., h', w')`` maps covering the crop (any resolution, e.g. the
                target layer's 7x7 or the crop's 112x112), on any device.

        Returns:
            ``(..., H, W)`` float32 maps on the same device: bilinear inside the crop,
            0 outside it.
        """
        if maps.ndim < 2:
            raise InputShapeError(f"maps must have shape (..., h, w), got {tuple(maps.shape)}")
        lead = maps.shape[:-2]
        flat = maps.reshape(1, -1, *maps.shape[-2:]).float()
        grid, inside = self._grid(maps.device)
        out = functional.grid_sample(
            flat, grid, mode="bilinear", padding_mode="border", align_corners=False
        )
        out = out * inside
        return out.reshape(*lead, *self.frame_size)

    def project(self, maps: torch.Tensor) -> torch.Tensor:
        """Map original-frame maps onto the crop, as the frames are preprocessed.

        Args:
            maps: ``(..., H, W)`` maps of the original frame.

        Returns:
            ``(..., h, w)`` float32 maps (antialiased bilinear resize, then centre crop,
            zeros where the crop pads).
        """
        if tuple(maps.shape[-2:]) != self.frame_size:
            raise InputShapeError(
                f"maps must end with the frame size {self.frame_size}, got {tuple(maps.shape)}"
            )
        lead = maps.shape[:-2]
        flat = maps.reshape(1, -1, *self.frame_size).float()
        if self.resized_size != self.frame_size:
            flat = functional.interpolate(
                flat, size=self.resized_size, mode="bilinear", antialias=True, align_corners=False
            )
        flat = _crop(flat, self.offset, self.crop_size)
        return flat.reshape(*lead, *self.crop_size)


def _crop(x: torch.Tensor, offset: tuple[int, int], size: tuple[int, int]) -> torch.Tensor:
    """Crop the last two dims of ``x`` at ``offset`` to ``size``, zero-padding outside."""
    top, left = offset
    height, width = x.shape[-2:]
    pad_top, pad_left = max(0, -top), max(0, -left)
    pad_bottom = max(0, top + size[0] - height)
    pad_right = max(0, left + size[1] - width)
    if pad_top or pad_left or pad_bottom or pad_right:
        x = functional.pad(x, (pad_left, pad_right, pad_top, pad_bottom))
        top, left = top + pad_top, left + pad_left
    return x[..., top : top + size[0], left : left + size[1]]


class ClipPreprocessor:
    """Applies a :class:`ClipPreset` to frames.

    Args:
        preset: the model's input conventions.
        device: where the clips are built (frames are uploaded as uint8, the cheapest
            transfer); ``None`` means CPU.

    Example:
        >>> pre = ClipPreprocessor(ClipPreset(resize=128, crop=112))
        >>> batch = pre.batch([w.images for w in windows])  # (B, 3, T, 112, 112)  # doctest: +SKIP
    """

    def __init__(self, preset: ClipPreset, device: torch.device | str | None = None) -> None:
        self.preset = preset
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        mean = torch.tensor(preset.mean, dtype=torch.float32)
        std = torch.tensor(preset.std, dtype=torch.float32)
        # fused normalisation: x_uint8 * scale + shift == (x_uint8 / range - mean) / std
        per_pixel = 1.0 / 255.0 if preset.value_range == 1.0 else 1.0
        self._scale = (per_pixel / std).view(1, 3, 1, 1, 1).to(self.device)
        self._shift = (-mean / std).view(1, 3, 1, 1, 1).to(self.device)
        self._geometries: dict[tuple[int, int], CropGeometry] = {}

    def geometry(self, height: int, width: int) -> CropGeometry:
        """The (cached) :class:`CropGeometry` of ``height`` x ``width`` frames."""
        key = (height, width)
        if key not in self._geometries:
            self._geometries[key] = self.preset.geometry(height, width)
        return self._geometries[key]

    def _frames(self, images: Any) -> torch.Tensor:
        """(N, 3, H, W) uint8 tensor (channels-last memory) from frames of one size."""
        if isinstance(images, torch.Tensor):
            stack = images
        elif isinstance(images, np.ndarray):
            stack = torch.from_numpy(np.ascontiguousarray(images))
        else:
            images = list(images)
            if not images:
                raise InputShapeError("no frames to preprocess")
            shapes = {image.shape for image in images}
            if len(shapes) != 1:
                raise InputShapeError(f"all frames must have the same shape, got {sorted(shapes)}")
            stack = torch.from_numpy(np.stack(images))
        if stack.ndim != 4 or stack.shape[-1] != 3 or stack.dtype != torch.uint8:
            raise InputShapeError(
                f"frames must be (T, H, W, 3) uint8 RGB, got {tuple(stack.shape)} {stack.dtype}"
            )
        return stack.to(self.device, non_blocking=True).permute(0, 3, 1, 2)

    def _transform(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) uint8 -> (N, 3, h, w) resized and cropped (uint8 on CPU)."""
        geometry = self.geometry(int(frames.shape[-2]), int(frames.shape[-1]))
        x = frames
        if geometry.resized_size != geometry.frame_size:
            if x.device.type != "cpu":  # uint8 antialiasing is a CPU kernel
                x = x.float()
            x = functional.interpolate(
                x, size=geometry.resized_size, mode="bilinear", antialias=True, align_corners=False
            )
        x = _crop(x, geometry.offset, geometry.crop_size)  # zero padding = black pixels
        if self.preset.channel_order == "BGR":
            x = x.flip(1)
        return x

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Contiguous (B, 3, T, h, w) float32 from a (B, 3, T, h, w) view (any dtype)."""
        out = x.to(torch.float32, memory_format=torch.contiguous_format)
        if out.data_ptr() == x.data_ptr():  # already float32 contiguous: do not modify input
            out = out.clone()
        return out.mul_(self._scale).add_(self._shift)

    def __call__(self, images: Any) -> torch.Tensor:
        """Preprocess one clip.

        Args:
            images: ``T`` frames: a sequence of ``(H, W, 3)`` uint8 RGB arrays, or a
                ``(T, H, W, 3)`` uint8 array or tensor.

        Returns:
            ``(3, T, h, w)`` float32 tensor on :attr:`device`.
        """
        x = self._transform(self._frames(images))  # (T, 3, h, w)
        return self._normalise(x.permute(1, 0, 2, 3).unsqueeze(0)).squeeze(0)

    def batch(self, clips: Sequence[Any] | torch.Tensor) -> torch.Tensor:
        """Preprocess several clips of equal length and frame size in one go.

        Args:
            clips: ``B`` clips, each as accepted by :meth:`__call__`, or one
                ``(B, T, H, W, 3)`` uint8 tensor (on any device).

        Returns:
            ``(B, 3, T, h, w)`` float32 tensor on :attr:`device`.
        """
        if isinstance(clips, torch.Tensor):  # (B, T, H, W, 3) uint8, e.g. already on the device
            if clips.ndim != 5 or clips.shape[0] == 0:
                raise InputShapeError(
                    f"a clip batch tensor must be (B, T, H, W, 3), got {tuple(clips.shape)}"
                )
            frames: Any = clips.flatten(0, 1)
            batch, length = clips.shape[:2]
        else:
            if not clips:
                raise InputShapeError("no clips to preprocess")
            lengths = {len(clip) for clip in clips}
            if len(lengths) != 1:
                raise InputShapeError(f"all clips must have the same length, got {sorted(lengths)}")
            frames = [image for clip in clips for image in clip]
            batch, length = len(clips), lengths.pop()
        x = self._transform(self._frames(frames))  # (B*T, 3, h, w)
        x = x.reshape(batch, length, *x.shape[1:])
        return self._normalise(x.permute(0, 2, 1, 3, 4))
