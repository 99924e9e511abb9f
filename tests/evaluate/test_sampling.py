"""Clip sampling: centre and uniform clips, padding of short videos, true lengths."""

from __future__ import annotations

import numpy as np
import pytest

from videocam.errors import InvalidVideoError, VideoNotFoundError
from videocam.evaluate.sampling import clip_starts, sample_clips
from videocam.video import write_video


def test_clip_starts():
    assert clip_starts(100, 16, 1) == [42]
    assert clip_starts(10, 16, 1) == [0]
    assert clip_starts(100, 16, 3) == [0, 42, 84]
    assert clip_starts(20, 16, 5) == [0, 1, 2, 3, 4]
    assert clip_starts(8, 16, 2) == [0, 0]
    with pytest.raises(ValueError):
        clip_starts(10, 4, 0)


def numbered_video(path, count: int):
    """Frames whose grey level is 10 x their index (read back within codec error)."""
    frames = [np.full((32, 48, 3), 10 * i + 5, dtype=np.uint8) for i in range(count)]
    return write_video(path, frames, 25, crf=0, preset="ultrafast")


def levels(clip) -> list[int]:
    return [int(round((float(image.mean()) - 5) / 10)) for image in clip]


def test_sample_clips_reads_the_planned_frames(tmp_path):
    path = numbered_video(tmp_path / "v.mp4", 20)
    centre = sample_clips(path, clip_len=4, sampling_rate=2, clips_per_video=1)
    assert centre.frame_indices == [(6, 8, 10, 12)] and centre.num_frames == 20
    assert levels(centre.images[0]) == [6, 8, 10, 12]
    uniform = sample_clips(path, clip_len=4, sampling_rate=1, clips_per_video=3)
    assert uniform.frame_indices == [(0, 1, 2, 3), (8, 9, 10, 11), (16, 17, 18, 19)]
    assert [levels(c) for c in uniform.images] == [list(c) for c in uniform.frame_indices]
    short = sample_clips(path, clip_len=8, sampling_rate=4, clips_per_video=1)
    assert short.frame_indices == [(0, 4, 8, 12, 16, 16, 16, 16)]  # padded with the last
    assert levels(short.images[0]) == [0, 4, 8, 12, 16, 16, 16, 16]


def test_sample_clips_errors(tmp_path):
    with pytest.raises(VideoNotFoundError):
        sample_clips(tmp_path / "missing.mp4", 4, 1)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00not a video" * 50)
    with pytest.raises(InvalidVideoError):
        sample_clips(bad, 4, 1)
