"""Sliding clip windows over a stream of frames, with a bounded buffer.

A window takes ``clip_len`` frames, one every ``sampling_rate`` frames, and covers the
``span = clip_len * sampling_rate`` consecutive frames from its first one: the frames
between two sampled frames (and the ``sampling_rate - 1`` frames after the last sampled
one) belong to it too, and :mod:`videocam.video.stitch` gives them maps interpolated
between (or held from) the sampled frames. Windows start every ``stride`` frames
(default: ``span``, windows that tile the video without overlap; a smaller stride makes
them overlap). A stride larger than ``span`` would leave frames that no window covers,
so it is refused with :class:`WindowSpecError`.

Windows are emitted as soon as the frames they cover have arrived. At the end of the
stream, if the last full window does not reach the last frame, one more window starts
at the next stride position and is padded: its sampled positions past the end repeat its
last real sampled frame. A video shorter than one window therefore gives exactly one
padded window, and every frame is covered by at least one window.

Only the frames a future window still needs are kept (at most ``span`` frames), so memory
does not grow with the video. Every frame is also handed on exactly once, in
:attr:`Window.new_frames` of the first window that covers it, so downstream stages (the
stitcher, the renderer) get all frames in order through the windows alone.

Example (clip_len=4, sampling_rate=2, stride=4, a 13-frame video)::

    window 0: frames 0 2 4 6     covers 0..7
    window 1: frames 4 6 8 10    covers 4..11
    window 2: frames 8 10 12 12  covers 8..12 (padded: position 3 repeats frame 12)

Public API:
    :class:`WindowSpec`, :class:`Window`, :func:`iter_windows`, :func:`plan_windows`,
    :func:`count_windows`, :func:`batch_windows`, :class:`WindowSpecError`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from videocam.errors import VideocamError
from videocam.video.decode import Frame

__all__ = [
    "Window",
    "WindowSpec",
    "WindowSpecError",
    "batch_windows",
    "count_windows",
    "iter_windows",
    "plan_windows",
]


class WindowSpecError(VideocamError, ValueError):
    """Invalid clip window parameters (clip length, sampling rate, stride, batch size)."""


@dataclass(frozen=True)
class WindowSpec:
    """How clips are cut from a video.

    Attributes:
        clip_len: frames per clip (the model's temporal input size), at least 1.
        sampling_rate: take one frame every ``sampling_rate`` frames, at least 1.
        stride: frames between the starts of two windows, ``1 <= stride <= span``;
            ``None`` means ``span`` (no overlap).

    Raises:
        WindowSpecError: if a value is out of range.
    """

    clip_len: int
    sampling_rate: int = 1
    stride: int | None = None

    def __post_init__(self) -> None:
        for name in ("clip_len", "sampling_rate"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise WindowSpecError(f"{name} must be a positive integer, got {value!r}")
        if self.stride is not None:
            stride = self.stride
            if not isinstance(stride, (int, np.integer)) or isinstance(stride, bool) or stride < 1:
                raise WindowSpecError(f"stride must be a positive integer, got {stride!r}")
            if stride > self.span:
                raise WindowSpecError(
                    f"stride {stride} is larger than the {self.span} frames a window covers "
                    f"(clip_len {self.clip_len} x sampling_rate {self.sampling_rate}): frames "
                    f"between windows would get no map; use a stride <= {self.span}"
                )

    @property
    def span(self) -> int:
        """Consecutive frames covered by one window: ``clip_len * sampling_rate``."""
        return self.clip_len * self.sampling_rate

    @property
    def step(self) -> int:
        """The effective stride."""
        return self.span if self.stride is None else int(self.stride)

    def sampled(self, start: int, num_frames: int | None = None) -> tuple[int, ...]:
        """Frame indices of the window starting at ``start``, padded for a video of
        ``num_frames`` frames (no padding when ``None``)."""
        indices = [start + k * self.sampling_rate for k in range(self.clip_len)]
        if num_frames is not None:
            real = [index for index in indices if index < num_frames]
            indices = real + [real[-1]] * (self.clip_len - len(real))
        return tuple(indices)


@dataclass(frozen=True, eq=False)
class Window:
    """One clip of a video.

    Attributes:
        index: 0-based window number.
        frame_indices: the ``clip_len`` frame indices fed to the model, in order;
            padding positions repeat the last real sampled frame.
        images: the ``clip_len`` frames' ``(H, W, 3)`` uint8 RGB images, same order.
        num_real: how many leading positions are real frames (the rest is padding).
        first_frame: index of the first frame the window covers (its start).
        last_frame: index of the last frame the window covers (real, never past the end).
        start_time: presentation time (s) of ``first_frame``.
        end_time: presentation time (s) of ``last_frame``.
        next_start: the frame where the next window would start: no later window touches
            the frames before it.
        sampling_rate: distance in frames between two sampled positions.
        new_frames: the frames this window is the first to cover, in order (every frame
            of the video appears in exactly one window's ``new_frames``).
    """

    index: int
    frame_indices: tuple[int, ...]
    images: tuple[np.ndarray, ...]
    num_real: int
    first_frame: int
    last_frame: int
    start_time: float
    end_time: float
    next_start: int
    sampling_rate: int
    new_frames: tuple[Frame, ...]

    @property
    def clip_len(self) -> int:
        """Number of frames in the clip."""
        return len(self.frame_indices)

    @property
    def padded(self) -> bool:
        """Whether the clip repeats frames to reach ``clip_len``."""
        return self.num_real < len(self.frame_indices)

    def clip(self) -> np.ndarray:
        """The images stacked as a ``(clip_len, H, W, 3)`` uint8 array (a copy)."""
        return np.stack(self.images)

    def __repr__(self) -> str:
        return (
            f"Window(index={self.index}, frames={list(self.frame_indices)}, "
            f"covers={self.first_frame}..{self.last_frame}, new={len(self.new_frames)})"
        )


def plan_windows(num_frames: int, spec: WindowSpec) -> list[tuple[tuple[int, ...], int]]:
    """The windows of a video of known length, without any frame.

    Args:
        num_frames: number of frames of the video.
        spec: the window parameters.

    Returns:
        For each window, ``(frame_indices, last_frame)``, exactly as :func:`iter_windows`
        produces them.
    """
    plan: list[tuple[tuple[int, ...], int]] = []
    if num_frames <= 0:
        return plan
    start, covered = 0, -1
    while start + spec.span <= num_frames:
        covered = start + spec.span - 1
        plan.append((spec.sampled(start), covered))
        start += spec.step
    if covered < num_frames - 1:
        plan.append((spec.sampled(start, num_frames), num_frames - 1))
    return plan


def count_windows(num_frames: int, spec: WindowSpec) -> int:
    """Number of windows of a video of ``num_frames`` frames (see :func:`plan_windows`)."""
    if num_frames <= 0:
        return 0
    full = 0 if num_frames < spec.span else (num_frames - spec.span) // spec.step + 1
    covered = (full - 1) * spec.step + spec.span - 1 if full else -1
    return full + (1 if covered < num_frames - 1 else 0)


def iter_windows(frames: Iterable[Frame], spec: WindowSpec) -> Iterator[Window]:
    """Cut a stream of frames into windows, keeping at most ``spec.span`` frames.

    Args:
        frames: frames in order with consecutive indices from 0 (as a video reader
            yields them).
        spec: the window parameters.

    Yields:
        :class:`Window` objects in order. An empty stream yields nothing.

    Raises:
        ValueError: if frame indices are not consecutive from 0.
    """
    span, step = spec.span, spec.step
    buffer: deque[Frame] = deque()  # frames from the next window's start onwards
    fresh: list[Frame] = []  # frames not yet handed on in a window's new_frames
    start, covered, count = 0, -1, 0

    def make(indices: tuple[int, ...], last: int, last_frame: Frame) -> Window:
        nonlocal covered, fresh
        by_index = {frame.index: frame for frame in buffer}
        real = sum(
            1
            for position, index in enumerate(indices)
            if index == start + position * spec.sampling_rate
        )
        new = tuple(frame for frame in fresh if frame.index <= last)
        fresh = [frame for frame in fresh if frame.index > last]
        covered = last
        return Window(
            index=count,
            frame_indices=indices,
            images=tuple(by_index[index].image for index in indices),
            num_real=real,
            first_frame=start,
            last_frame=last,
            start_time=by_index[start].time,
            end_time=last_frame.time,
            next_start=start + step,
            sampling_rate=spec.sampling_rate,
            new_frames=new,
        )

    last_seen: Frame | None = None
    for expected, frame in enumerate(frames):
        if frame.index != expected:
            raise ValueError(
                f"frames must have consecutive indices from 0: got {frame.index}, "
                f"expected {expected}"
            )
        last_seen = frame
        buffer.append(frame)
        fresh.append(frame)
        if frame.index == start + span - 1:
            yield make(spec.sampled(start), frame.index, frame)
            count += 1
            start += step
            while buffer and buffer[0].index < start:
                buffer.popleft()
    if last_seen is not None and covered < last_seen.index:
        yield make(spec.sampled(start, last_seen.index + 1), last_seen.index, last_seen)


def batch_windows(windows: Iterable[Window], batch_size: int) -> Iterator[list[Window]]:
    """Group windows into lists of ``batch_size`` (the last list may be shorter).

    Raises:
        WindowSpecError: if ``batch_size`` is not a positive integer.
    """
    if (
        not isinstance(batch_size, (int, np.integer))
        or isinstance(batch_size, bool)
        or batch_size < 1
    ):
        raise WindowSpecError(f"batch_size must be a positive integer, got {batch_size!r}")
    batch: list[Window] = []
    for window in windows:
        batch.append(window)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch
