"""Clip windows: indices, padding, coverage, bounded buffering, batching."""

from __future__ import annotations

import weakref
from collections.abc import Iterator

import numpy as np
import pytest

from videocam.errors import VideocamError
from videocam.video.decode import Frame
from videocam.video.windows import (
    WindowSpec,
    WindowSpecError,
    batch_windows,
    count_windows,
    iter_windows,
    plan_windows,
)


def frames(count: int) -> Iterator[Frame]:
    """Frames whose pixels hold their own index."""
    for index in range(count):
        yield Frame(index=index, time=index / 10, image=np.full((2, 3, 3), index % 256, np.uint8))


def windows_of(count: int, *args: int | None) -> list:
    return list(iter_windows(frames(count), WindowSpec(*args)))


def test_overlap_with_sampling_rate_and_padding() -> None:
    ws = windows_of(13, 4, 2, 4)  # clip_len 4, sampling_rate 2, stride 4 (overlap)
    assert [w.frame_indices for w in ws] == [(0, 2, 4, 6), (4, 6, 8, 10), (8, 10, 12, 12)]
    assert [(w.first_frame, w.last_frame) for w in ws] == [(0, 7), (4, 11), (8, 12)]
    assert [w.num_real for w in ws] == [4, 4, 3]
    assert [w.padded for w in ws] == [False, False, True]
    assert [[f.index for f in w.new_frames] for w in ws] == [
        list(range(8)), [8, 9, 10, 11], [12]
    ]  # fmt: skip
    assert [w.next_start for w in ws] == [4, 8, 12]
    assert [t for w in ws for t in (w.start_time, w.end_time)] == pytest.approx(
        [0.0, 0.7, 0.4, 1.1, 0.8, 1.2]
    )
    for w in ws:  # the images are the frames of the indices, padding repeats the last one
        assert [int(image[0, 0, 0]) for image in w.images] == list(w.frame_indices)


def test_default_stride_tiles_the_video() -> None:
    ws = windows_of(20, 8)
    assert [w.frame_indices for w in ws] == [tuple(range(8)), tuple(range(8, 16)),
                                             (16, 17, 18, 19, 19, 19, 19, 19)]  # fmt: skip
    assert [w.last_frame for w in ws] == [7, 15, 19]


def test_overlap_stride_one() -> None:
    ws = windows_of(6, 3, 1, 1)
    assert [w.frame_indices for w in ws] == [(0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5)]
    assert not any(w.padded for w in ws)  # the last full window reaches the end: no padding


def test_short_video_gives_one_padded_window() -> None:
    (window,) = windows_of(5, 16, 2)
    assert window.frame_indices == (0, 2, 4) + (4,) * 13
    assert (window.first_frame, window.last_frame, window.num_real) == (0, 4, 3)
    assert [f.index for f in window.new_frames] == [0, 1, 2, 3, 4]
    assert window.clip().shape == (16, 2, 3, 3)


def test_single_frame_and_empty_videos() -> None:
    (window,) = windows_of(1, 4, 3)
    assert window.frame_indices == (0, 0, 0, 0)
    assert windows_of(0, 4) == []


@pytest.mark.parametrize("clip_len", [1, 2, 3, 5])
@pytest.mark.parametrize("sampling_rate", [1, 2, 3])
def test_every_frame_covered_once_handed_on_and_plan_agrees(
    clip_len: int, sampling_rate: int
) -> None:
    span = clip_len * sampling_rate
    for stride in sorted({1, max(1, span // 2), span}):
        spec = WindowSpec(clip_len, sampling_rate, stride)
        for count in range(0, 3 * span + 2):
            ws = list(iter_windows(frames(count), spec))
            assert [(w.frame_indices, w.last_frame) for w in ws] == plan_windows(count, spec)
            assert len(ws) == count_windows(count, spec)
            assert [f.index for w in ws for f in w.new_frames] == list(range(count))
            covered = {i for w in ws for i in range(w.first_frame, w.last_frame + 1)}
            assert covered == set(range(count))
            assert all(w.last_frame < count for w in ws)
            assert [w.index for w in ws] == list(range(len(ws)))


def test_stride_larger_than_span_is_refused() -> None:
    with pytest.raises(WindowSpecError, match="stride 9 is larger than the 8 frames") as caught:
        WindowSpec(4, 2, 9)
    assert isinstance(caught.value, VideocamError)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("args", [(0,), (4, 0), (4, 1, 0), (2.5,), (True,)])
def test_bad_spec_values(args: tuple) -> None:
    with pytest.raises(WindowSpecError):
        WindowSpec(*args)


def test_non_consecutive_frames_are_refused() -> None:
    stream = [
        Frame(0, 0.0, np.zeros((1, 1, 3), np.uint8)),
        Frame(2, 0.1, np.zeros((1, 1, 3), np.uint8)),
    ]
    with pytest.raises(ValueError, match="consecutive"):
        list(iter_windows(stream, WindowSpec(2)))


def test_buffer_is_bounded() -> None:
    """Consuming windows one by one, the frames alive stay within one window span."""
    spec = WindowSpec(4, 2, 3)  # span 8
    alive: weakref.WeakSet = weakref.WeakSet()

    def tracked(count: int) -> Iterator[Frame]:
        for frame in frames(count):
            holder = _Image(frame.image)  # an ndarray cannot be weakly referenced
            alive.add(holder)
            yield Frame(frame.index, frame.time, holder)  # type: ignore[arg-type]

    peak = 0
    for window in iter_windows(tracked(200), spec):
        del window
        peak = max(peak, len(alive))
    assert peak <= spec.span + 1


class _Image:
    """Stand-in image that weak references can track."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array


def test_batch_windows() -> None:
    ws = windows_of(40, 4)
    batches = list(batch_windows(iter(ws), 3))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert [w.index for b in batches for w in b] == list(range(10))
    with pytest.raises(WindowSpecError, match="batch_size"):
        list(batch_windows(ws, 0))
