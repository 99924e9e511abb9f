"""Stitching per-window maps back onto the frames of the video, streaming.

A window's model sees ``clip_len`` sampled frames and the explanation gives one map per
clip position, ``(T', h, w)``. :class:`Stitcher` turns those into one map per video frame:

1. Time: if ``T'`` differs from the clip length (a layer that downsampled time), the maps
   are first resampled linearly in time to one map per clip position.
2. Sampling rate: a covered frame between two sampled frames gets the linear
   interpolation of their maps; the frames after the last real sampled frame of a window
   (up to its ``last_frame``) keep that frame's map. Padding positions (a clip that
   repeats its last frame) are ignored, so a frame is never counted twice by one window.
3. Overlap: a frame covered by several windows gets the mean of their maps.
4. Space: maps stay in the space of the model's crop (any resolution) while they are
   accumulated; a finished frame's map is unprojected onto the original frame
   (resize and crop undone, 0 outside the crop) when a
   :class:`~videocam.video.preprocess.CropGeometry` is given.

A frame is finished, and emitted, as soon as no later window can touch it (it lies
before the :attr:`~videocam.video.windows.Window.next_start` of the window just added),
in frame order. Only the unfinished frames are held, so memory is bounded by the window
span. The frames themselves travel with the windows
(:attr:`~videocam.video.windows.Window.new_frames`) and come out paired with their maps.

The per-frame *importance* is the mean of the frame's stitched map over the model's
view (the crop), a resolution-independent measure of the map's mass in that frame.

All arithmetic is in torch on the maps' device (CUDA maps stay on CUDA); one device
synchronisation per :meth:`Stitcher.add` reads the importances.

Example:
    >>> stitcher = Stitcher(geometry)                               # doctest: +SKIP
    >>> for window, maps in zip(windows, window_maps):              # doctest: +SKIP
    ...     for done in stitcher.add(window, maps):
    ...         render(done.frame.image, done.heatmap, done.importance)
    >>> for done in stitcher.finish(): ...                          # doctest: +SKIP

Public API:
    :class:`Stitcher`, :class:`StitchedFrame`, :func:`frame_weights`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import torch
import torch.nn.functional as functional

from videocam.errors import InputShapeError
from videocam.video.decode import Frame
from videocam.video.preprocess import CropGeometry
from videocam.video.windows import Window

__all__ = ["StitchedFrame", "Stitcher", "frame_weights"]


@dataclass(frozen=True, eq=False)
class StitchedFrame:
    """A finished frame with its map.

    Attributes:
        frame: the decoded frame.
        heatmap: ``(H, W)`` float32 map on the maps' device, in original frame pixels
            when the stitcher has a geometry, else in the maps' own space ``(h, w)``.
        importance: mean of the frame's map over the model's view.
        windows: how many windows contributed to the map.
    """

    frame: Frame
    heatmap: torch.Tensor
    importance: float
    windows: int

    @property
    def index(self) -> int:
        """The frame index."""
        return self.frame.index


def frame_weights(window: Window) -> tuple[range, torch.Tensor]:
    """How a window's per-position maps combine into maps of the frames it covers.

    Args:
        window: the window.

    Returns:
        ``(frames, weights)``: the covered frame indices ``first_frame..last_frame`` and a
        ``(len(frames), clip_len)`` float32 matrix whose row ``i`` holds the weights of
        each clip position in the map of frame ``frames[i]`` (rows sum to 1; padding
        positions have weight 0).
    """
    frames = range(window.first_frame, window.last_frame + 1)
    weights = torch.zeros(len(frames), window.clip_len)
    rate = window.sampling_rate
    last_real = window.num_real - 1
    for row, index in enumerate(frames):
        offset = index - window.first_frame
        position, remainder = divmod(offset, rate)
        if position >= last_real:
            weights[row, last_real] = 1.0  # at or after the last real sampled frame: hold
        elif remainder == 0:
            weights[row, position] = 1.0
        else:
            fraction = remainder / rate
            weights[row, position] = 1.0 - fraction
            weights[row, position + 1] = fraction
    return frames, weights


class Stitcher:
    """Accumulates window maps into per-frame maps and emits finished frames in order.

    Args:
        geometry: if given, emitted heatmaps are unprojected onto the original frame
            (``(H, W)``); otherwise they stay in the maps' space. May be set later through
            the attribute, before the first frame is emitted.

    Raises:
        InputShapeError: from :meth:`add`, if maps do not have shape ``(T', h, w)`` or
            their spatial size changes between windows.
    """

    def __init__(self, geometry: CropGeometry | None = None) -> None:
        self.geometry = geometry
        self._sums: dict[int, torch.Tensor] = {}
        self._counts: dict[int, int] = {}
        self._pending: deque[Frame] = deque()
        self._map_size: tuple[int, int] | None = None
        self._next_emit = 0
        self._last_window = -1

    @property
    def pending(self) -> int:
        """Number of frames held (received but not finished)."""
        return len(self._pending)

    @property
    def emitted(self) -> int:
        """Number of frames emitted so far."""
        return self._next_emit

    def add(self, window: Window, maps: torch.Tensor) -> list[StitchedFrame]:
        """Add one window's maps.

        Args:
            window: the window (windows must be added in order).
            maps: ``(T', h, w)`` maps of the window's clip, on any device. ``T'`` is
                usually ``clip_len``; other lengths are resampled linearly in time.

        Returns:
            The frames finished by this window, in order (possibly none).
        """
        if maps.ndim != 3:
            raise InputShapeError(f"window maps must have shape (T, h, w), got {tuple(maps.shape)}")
        if window.index <= self._last_window:
            raise ValueError(f"window {window.index} added after window {self._last_window}")
        self._last_window = window.index
        size = (int(maps.shape[1]), int(maps.shape[2]))
        if self._map_size is None:
            self._map_size = size
        elif size != self._map_size:
            raise InputShapeError(
                f"map size changed from {self._map_size} to {size} at window {window.index}"
            )
        maps = maps.detach().float()
        if maps.shape[0] != window.clip_len:
            maps = (
                functional.interpolate(
                    maps.permute(1, 2, 0).reshape(1, -1, maps.shape[0]),
                    size=window.clip_len,
                    mode="linear",
                    align_corners=False,
                )
                .reshape(*size, window.clip_len)
                .permute(2, 0, 1)
            )
        frames, weights = frame_weights(window)
        per_frame = (weights.to(maps.device) @ maps.reshape(window.clip_len, -1)).view(
            len(frames), *size
        )
        for row, index in enumerate(frames):
            if index < self._next_emit:
                raise ValueError(f"window {window.index} touches frame {index}, already emitted")
            if index in self._sums:
                self._sums[index] += per_frame[row]
                self._counts[index] += 1
            else:
                self._sums[index] = per_frame[row].clone()
                self._counts[index] = 1
        self._pending.extend(window.new_frames)
        return self._emit(window.next_start)

    def finish(self) -> list[StitchedFrame]:
        """Emit every frame still held (call once, after the last window)."""
        return self._emit(None)

    def _emit(self, before: int | None) -> list[StitchedFrame]:
        ready: list[Frame] = []
        while self._pending and (before is None or self._pending[0].index < before):
            frame = self._pending.popleft()
            if frame.index not in self._sums:
                raise ValueError(f"frame {frame.index} was handed on but no window covered it")
            ready.append(frame)
        if not ready:
            return []
        counts = [self._counts.pop(frame.index) for frame in ready]
        stack = torch.stack([self._sums.pop(frame.index) for frame in ready])
        stack /= torch.tensor(counts, dtype=stack.dtype, device=stack.device).view(-1, 1, 1)
        importance = stack.mean(dim=(1, 2)).tolist()
        heatmaps = self.geometry.unproject(stack) if self.geometry is not None else stack
        self._next_emit = ready[-1].index + 1
        return [
            StitchedFrame(
                frame=frame, heatmap=heatmaps[i], importance=importance[i], windows=counts[i]
            )
            for i, frame in enumerate(ready)
        ]
