"""Drawing heatmaps over frames: colour maps, blending, layouts, captions, timeline.

:class:`FrameRenderer` holds the drawing options and the state of the timeline, and
turns ``(frame, heatmap)`` pairs into output frames, one at a time and in order::

    +-----------------------+-----------------------+-----------------+
    | original              | overlay + caption     | guided (option) |   side-by-side
    +-----------------------+-----------------------+-----------------+
    | timeline: importance curve revealed so far, playhead            |
    +-----------------------------------------------------------------+

Layouts: ``"overlay"`` (the overlay panel alone) and ``"side-by-side"`` (original |
overlay). A Guided Grad-CAM++ panel is added on the right when a ``guided`` image is
passed. The caption (the window's top-k ``"label 0.87"`` lines) is drawn on the overlay
panel. The timeline strip under the panels shows the per-frame importance of the frames
rendered so far (the future is unknown while streaming): its x axis spans the expected
number of frames and is rescaled when the video turns out longer; the y axis is scaled
by the largest importance so far. Output frames have even width and height (padded with
black), as H.264 in yuv420p needs.

Heatmaps are floats in ``heat_range`` (default ``(0, 1)``; values outside are clipped;
``None`` scales each frame by its own min and max), as ``(H, W)`` NumPy arrays or torch
tensors on any device (converted to uint8 on their device before the copy to the host).
A heatmap of another size than the frame is resized to it.

Example:
    >>> renderer = FrameRenderer(colormap="turbo", alpha=0.5, layout="side-by-side",
    ...                          expected_frames=300)
    >>> out = renderer.render(frame.image, heatmap, importance=0.42,   # doctest: +SKIP
    ...                       caption=[("juggling", 0.87), ("dancing", 0.05)])

Public API:
    :class:`FrameRenderer`, :func:`colorize`, :func:`blend`, :func:`deprocess_gradient`,
    :data:`COLORMAPS`, :data:`LAYOUTS`, :class:`RenderOptionError`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import torch

from videocam.errors import InputShapeError, VideocamError

__all__ = [
    "COLORMAPS",
    "LAYOUTS",
    "FrameRenderer",
    "RenderOptionError",
    "blend",
    "colorize",
    "deprocess_gradient",
]

COLORMAPS: dict[str, int] = {
    "turbo": cv2.COLORMAP_TURBO,
    "jet": cv2.COLORMAP_JET,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "inferno": cv2.COLORMAP_INFERNO,
}
"""Colour map names and their OpenCV codes."""

LAYOUTS = ("overlay", "side-by-side")
"""Panel layouts."""

_LUTS: dict[str, np.ndarray] = {}


class RenderOptionError(VideocamError, ValueError):
    """An invalid rendering option (colour map, layout, alpha, ...)."""


def _lut(colormap: str) -> np.ndarray:
    """(256, 3) uint8 RGB colours of an OpenCV colour map."""
    if colormap not in COLORMAPS:
        raise RenderOptionError(
            f"unknown colour map {colormap!r}; choose one of {', '.join(COLORMAPS)}"
        )
    if colormap not in _LUTS:
        ramp = np.arange(256, dtype=np.uint8).reshape(256, 1)
        bgr = cv2.applyColorMap(ramp, COLORMAPS[colormap]).reshape(256, 3)
        _LUTS[colormap] = np.ascontiguousarray(bgr[:, ::-1])
    return _LUTS[colormap]


def _apply_lut(levels: np.ndarray, colormap: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB colours of (H, W) uint8 levels."""
    return cv2.applyColorMap(levels, userColor=_lut(colormap).reshape(256, 1, 3))


def heat_levels(heat: torch.Tensor, heat_range: tuple[float, float] | None) -> torch.Tensor:
    """``(..., H, W)`` float heat -> uint8 colour-map levels, on the heat's device.

    ``heat_range`` maps to levels 0 and 255 (clipped); ``None`` scales each ``(H, W)``
    frame by its own min and max (a flat frame gives 0).
    """
    heat = heat.detach().float()
    if heat_range is None:
        low = heat.amin(dim=(-2, -1), keepdim=True)
        span = heat.amax(dim=(-2, -1), keepdim=True) - low
        heat = (heat - low) / torch.where(span > 0, span, torch.ones_like(span))
    else:
        heat = (heat - heat_range[0]) / (heat_range[1] - heat_range[0])
    return (heat.clamp_(0, 1) * 255).round_().to(torch.uint8)


def _heat_uint8(
    heatmap: Any, size: tuple[int, int], heat_range: tuple[float, float] | None
) -> np.ndarray:
    """(H, W) uint8 levels of a float heatmap, resized to ``size`` = (H, W).

    CPU tensors are read as NumPy (torch's CPU thread pool is not used in the render
    thread); tensors on an accelerator are quantised there, so only uint8 is copied.
    """
    if isinstance(heatmap, torch.Tensor) and heatmap.device.type != "cpu":
        if heatmap.ndim != 2:
            raise InputShapeError(f"a heatmap must be (H, W), got {tuple(heatmap.shape)}")
        levels = heat_levels(heatmap, heat_range).cpu().numpy()
    else:
        if isinstance(heatmap, torch.Tensor):
            heatmap = heatmap.detach().float().numpy()
        heat = np.asarray(heatmap, dtype=np.float32)
        if heat.ndim != 2:
            raise InputShapeError(f"a heatmap must be (H, W), got {heat.shape}")
        low, high = heat_range if heat_range is not None else (heat.min(), heat.max())
        scale = float(high - low)
        scaled = (heat - np.float32(low)) * np.float32(255.0 / (scale if scale > 0 else 1.0))
        levels = np.rint(np.clip(scaled, 0.0, 255.0, out=scaled)).astype(np.uint8)
    if levels.shape != size:
        levels = cv2.resize(levels, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return levels


def colorize(
    heatmap: Any,
    colormap: str = "turbo",
    heat_range: tuple[float, float] | None = (0.0, 1.0),
) -> np.ndarray:
    """Colour a heatmap.

    Args:
        heatmap: ``(H, W)`` floats (NumPy or torch).
        colormap: one of :data:`COLORMAPS`.
        heat_range: values mapped to the ends of the colour map; ``None``: min and max.

    Returns:
        ``(H, W, 3)`` uint8 RGB image.
    """
    size = tuple(int(v) for v in heatmap.shape[-2:])
    return _apply_lut(_heat_uint8(heatmap, size, heat_range), colormap)  # type: ignore[arg-type]


def blend(image: np.ndarray, overlay: np.ndarray, alpha: float) -> np.ndarray:
    """``(1 - alpha) * image + alpha * overlay`` on uint8 RGB images of equal size."""
    return cv2.addWeighted(image, 1.0 - alpha, overlay, alpha, 0.0)


def deprocess_gradient(gradient: Any, std: float = 0.1) -> np.ndarray:
    """Turn a gradient image (guided backprop, Guided Grad-CAM++) into a viewable image.

    The usual recipe: centre on 0 with unit standard deviation, scale to ``std``, shift
    to 0.5 and clip to [0, 1].

    Args:
        gradient: ``(3, H, W)`` or ``(H, W, 3)`` floats (NumPy or torch), RGB order.
        std: standard deviation of the result around 0.5.

    Returns:
        ``(H, W, 3)`` uint8 RGB image.
    """
    if isinstance(gradient, torch.Tensor):
        gradient = gradient.detach().float().cpu().numpy()
    grad = np.asarray(gradient, dtype=np.float32)
    if grad.ndim != 3 or 3 not in (grad.shape[0], grad.shape[-1]):
        raise InputShapeError(f"a gradient image must be (3, H, W) or (H, W, 3), got {grad.shape}")
    if grad.shape[-1] != 3:
        grad = grad.transpose(1, 2, 0)
    grad = grad - grad.mean()
    grad = grad / (grad.std() + 1e-5) * std + 0.5
    return np.rint(np.clip(grad, 0.0, 1.0) * 255).astype(np.uint8)


class FrameRenderer:
    """Renders frames with their heatmaps (holds the options and the timeline).

    Args:
        colormap: one of :data:`COLORMAPS`.
        alpha: weight of the colour map in the blend, in [0, 1].
        layout: one of :data:`LAYOUTS`.
        heat_range: heat values mapped to the ends of the colour map (clipped); ``None``
            scales each frame by its own min and max.
        timeline: draw the importance strip (needs ``importance`` in :meth:`render`).
        timeline_height: strip height in pixels; default: an eighth of the frame height,
            at least 24.
        expected_frames: frames expected (e.g. ``VideoInfo.num_frames``), the initial
            span of the timeline's x axis; rescaled when exceeded.
        font_scale: caption font scale; default: proportional to the frame height.

    Raises:
        RenderOptionError: if an option is invalid.
    """

    def __init__(
        self,
        *,
        colormap: str = "turbo",
        alpha: float = 0.5,
        layout: str = "overlay",
        heat_range: tuple[float, float] | None = (0.0, 1.0),
        timeline: bool = True,
        timeline_height: int | None = None,
        expected_frames: int | None = None,
        font_scale: float | None = None,
    ) -> None:
        _lut(colormap)
        if layout not in LAYOUTS:
            raise RenderOptionError(
                f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}"
            )
        if not 0.0 <= float(alpha) <= 1.0:
            raise RenderOptionError(f"alpha must be in [0, 1], got {alpha}")
        if heat_range is not None and not heat_range[1] > heat_range[0]:
            raise RenderOptionError(
                f"heat_range must be (low, high) with low < high, got {heat_range}"
            )
        if timeline_height is not None and timeline_height < 4:
            raise RenderOptionError(f"timeline_height must be at least 4, got {timeline_height}")
        self.colormap = colormap
        self.alpha = float(alpha)
        self.layout = layout
        self.heat_range = heat_range
        self.timeline = timeline
        self.timeline_height = timeline_height
        self.expected_frames = expected_frames
        self.font_scale = font_scale
        self.reset()

    def reset(self) -> None:
        """Forget the timeline (start a new video)."""
        self._curve: list[float] = []
        self._span = max(1, int(self.expected_frames or 1))
        self._columns: np.ndarray | None = None  # max importance per strip column
        self._peak = 0.0

    @property
    def curve(self) -> list[float]:
        """Importance values of the frames rendered so far."""
        return list(self._curve)

    # ----------------------------------------------------------------------------------
    def render(
        self,
        image: np.ndarray,
        heatmap: Any,
        *,
        importance: float | None = None,
        caption: Sequence[str | tuple[str, float]] = (),
        guided: Any = None,
        overlay: np.ndarray | None = None,
    ) -> np.ndarray:
        """Render one frame.

        Args:
            image: ``(H, W, 3)`` uint8 RGB frame.
            heatmap: ``(h, w)`` float map (NumPy or torch, any device), resized to the
                frame if needed; ignored when ``overlay`` is given.
            importance: this frame's importance (appended to the timeline).
            caption: lines to print, strings or ``(label, probability)`` pairs.
            guided: optional ``(3, h, w)``/``(h, w, 3)`` gradient image for the Guided
                Grad-CAM++ panel (RGB), shown at the frame's height.
            overlay: the ``(H, W, 3)`` uint8 heatmap-over-frame blend, already made (on
                an accelerator: :func:`videocam.pipeline.cuda.overlay_on_device`); it is
                drawn on (caption) in place.

        Returns:
            ``(H', W', 3)`` uint8 RGB image with even ``H'`` and ``W'``.
        """
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
            raise InputShapeError(
                f"a frame must be (H, W, 3) uint8 RGB, got {getattr(image, 'shape', image)}"
            )
        height, width = image.shape[:2]
        if overlay is None:
            levels = _heat_uint8(heatmap, (height, width), self.heat_range)
            overlay = blend(image, _apply_lut(levels, self.colormap), self.alpha)
        elif overlay.shape != image.shape or overlay.dtype != np.uint8:
            raise InputShapeError(
                f"overlay must be {image.shape} uint8 like the frame, got "
                f"{overlay.shape} {overlay.dtype}"
            )
        if caption:
            self._draw_caption(overlay, caption)
        panels = [image, overlay] if self.layout == "side-by-side" else [overlay]
        if guided is not None:
            panel = deprocess_gradient(guided)
            panel_width = max(1, round(panel.shape[1] * height / panel.shape[0]))
            panels.append(cv2.resize(panel, (panel_width, height), interpolation=cv2.INTER_LINEAR))
        out = np.concatenate(panels, axis=1) if len(panels) > 1 else overlay
        if importance is not None:
            self._curve.append(float(importance))
        if self.timeline:
            out = np.concatenate([out, self._draw_timeline(out.shape[1], height)], axis=0)
        pad_h, pad_w = out.shape[0] % 2, out.shape[1] % 2
        if pad_h or pad_w:
            out = np.pad(out, ((0, pad_h), (0, pad_w), (0, 0)))
        return np.ascontiguousarray(out)

    def output_size(self, width: int, height: int, guided_width: int = 0) -> tuple[int, int]:
        """``(width, height)`` of the frames :meth:`render` makes from ``width`` x
        ``height`` frames (``guided_width``: width of the guided panel, if any)."""
        total = width * (2 if self.layout == "side-by-side" else 1) + guided_width
        total_height = height + (self._strip_height(height) if self.timeline else 0)
        return total + total % 2, total_height + total_height % 2

    # ----------------------------------------------------------------------------------
    def _scale(self, height: int) -> float:
        return self.font_scale if self.font_scale is not None else max(0.35, height / 600)

    def _draw_caption(self, panel: np.ndarray, caption: Sequence[str | tuple[str, float]]) -> None:
        lines = [
            text if isinstance(text, str) else f"{text[0]} {float(text[1]):.2f}" for text in caption
        ]
        scale = self._scale(panel.shape[0])
        thickness = max(1, round(scale * 1.5))
        font = cv2.FONT_HERSHEY_SIMPLEX
        sizes = [cv2.getTextSize(line, font, scale, thickness) for line in lines]
        line_height = max(size[0][1] + size[1] for size in sizes) + max(2, round(4 * scale))
        margin = max(2, round(6 * scale))
        box_w = min(panel.shape[1], max(size[0][0] for size in sizes) + 2 * margin)
        box_h = min(panel.shape[0], line_height * len(lines) + margin)
        region = panel[:box_h, :box_w]
        region[:] = (region.astype(np.uint16) * 2 // 5).astype(np.uint8)  # darken behind text
        for row, line in enumerate(lines):
            baseline = margin + (row + 1) * line_height - sizes[row][1] - max(1, round(2 * scale))
            cv2.putText(
                panel,
                line,
                (margin, baseline),
                font,
                scale,
                (255, 255, 255),
                thickness,
                cv2.LINE_AA,
            )

    def _strip_height(self, height: int) -> int:
        if self.timeline_height is not None:
            return self.timeline_height
        return max(24, height // 8)

    def _column(self, index: int, width: int) -> int:
        return min(width - 1, int(index * width / self._span))

    def _mark(self, index: int, value: float, width: int) -> None:
        """Record frame ``index``'s importance on the strip columns it spans."""
        assert self._columns is not None
        first = self._column(index, width)
        last = max(first + 1, min(width, int((index + 1) * width / self._span)))
        self._columns[first:last] = np.fmax(self._columns[first:last], value)

    def _draw_timeline(self, width: int, height: int) -> np.ndarray:
        strip_height = self._strip_height(height)
        strip = np.full((strip_height, width, 3), 24, dtype=np.uint8)
        count = len(self._curve)
        if self._columns is None or self._columns.shape[0] != width or count > self._span:
            if count > self._span:  # longer than expected: grow the axis geometrically
                self._span = max(count, math.ceil(self._span * 1.25))
            self._columns = np.full(width, np.nan, dtype=np.float32)
            for index, value in enumerate(self._curve[:-1]):
                self._mark(index, value, width)
            self._peak = max(self._curve[:-1], default=0.0)
        if count:
            self._mark(count - 1, self._curve[-1], width)
            self._peak = max(self._peak, self._curve[-1])
        inner = strip_height - 2
        revealed = ~np.isnan(self._columns)
        if revealed.any() and inner > 0:
            peak = self._peak if self._peak > 0 else 1.0
            values = np.clip(np.nan_to_num(self._columns, nan=0.0) / peak, 0.0, 1.0)
            tops = (strip_height - 1 - np.rint(values * inner)).astype(np.int64)
            rows = np.arange(strip_height)[:, None]
            filled = (rows >= tops[None, :]) & revealed[None, :]
            colours = _lut(self.colormap)[np.rint(values * 255).astype(np.uint8)]
            strip[filled] = np.broadcast_to(colours[None], strip.shape)[filled]
        strip[0, :] = 80  # separator line
        if count:
            playhead = min(width - 1, int(count * width / self._span))
            strip[:, max(0, playhead - 1) : playhead + 1] = 255
        return strip
