"""Decoding: round trips, timestamps, rotation, bad inputs, optional backends."""

from __future__ import annotations

import importlib.util
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from videocam.errors import (
    InvalidVideoError,
    MissingBackendError,
    NoVideoStreamError,
    VideocamError,
    VideoNotFoundError,
)
from videocam.video.decode import TruncatedVideoWarning, open_video


def _usable(backend: str) -> bool:
    """Whether an optional backend is installed and loads (torchcodec needs FFmpeg libs)."""
    if backend == "pyav":
        return True
    if importlib.util.find_spec(backend) is None:
        return False
    if backend == "torchcodec":
        try:
            from torchcodec.decoders import VideoDecoder

            VideoDecoder(b"not a video")
        except Exception as error:  # a parse error means the libraries loaded
            return "load libtorchcodec" not in str(error)
    return True


BACKENDS = [
    pytest.param(name, marks=pytest.mark.skipif(not _usable(name), reason=f"{name} not usable"))
    for name in ("pyav", "decord", "torchcodec")
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_round_trip(make_video, media, backend: str) -> None:
    path = make_video("rt.mp4", num_frames=12, width=64, height=48, fps=25)
    with open_video(path, backend) as reader:
        info = reader.info
        frames = list(reader)
    assert (info.width, info.height) == (64, 48)
    assert info.fps == pytest.approx(25.0)
    assert info.frame_rate == Fraction(25)
    assert info.num_frames == 12
    assert info.duration == pytest.approx(12 / 25, abs=1e-3)
    assert info.codec == "h264"
    assert info.backend == backend
    assert info.rotation == 0
    assert [frame.index for frame in frames] == list(range(12))
    assert [frame.time for frame in frames] == pytest.approx([i / 25 for i in range(12)], abs=1e-4)
    for frame in frames:
        assert frame.image.shape == (48, 64, 3) and frame.image.dtype == np.uint8
        expected = media.pattern(frame.index, 48, 64).astype(np.int16)
        assert np.abs(frame.image.astype(np.int16) - expected).mean() < 4.0


def test_iterating_twice_restarts(video_path: Path) -> None:
    with open_video(video_path) as reader:
        first = [frame.index for frame in reader]
        second = [frame.index for frame in reader]
    assert first == second == list(range(16))


def test_ntsc_rate(make_video) -> None:
    path = make_video("ntsc.mp4", num_frames=6, fps=Fraction(30000, 1001))
    with open_video(path) as reader:
        assert reader.info.frame_rate == Fraction(30000, 1001)
        times = [frame.time for frame in reader]
    assert times == pytest.approx([i * 1001 / 30000 for i in range(6)], abs=1e-6)


def test_variable_frame_rate_uses_timestamps(make_video) -> None:
    pts = [0, 40, 80, 200, 240, 500, 520, 540]  # milliseconds, irregular gaps
    path = make_video("vfr.mp4", num_frames=8, pts=pts, time_base=Fraction(1, 1000), fps=25)
    with open_video(path) as reader:
        frames = list(reader)
    assert [frame.index for frame in frames] == list(range(8))
    assert [frame.time for frame in frames] == pytest.approx([p / 1000 for p in pts], abs=1e-3)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("ccw", "clockwise"), [(90, 270), (-90, 90), (180, 180)])
def test_rotation_metadata_is_applied(make_video, backend: str, ccw: int, clockwise: int) -> None:
    image = np.full((32, 64, 3), 30, np.uint8)
    image[:8, :8] = 250  # marker in the top-left corner of the coded frame
    path = make_video(f"rot{ccw}.mp4", frames=[image] * 3, rotation=ccw, fps=10)
    with open_video(path, backend) as reader:
        info, frame = reader.info, next(iter(reader))
    # the expected display: numpy's rot90 turns counter-clockwise for k > 0
    expected = np.rot90(image, k=ccw // 90)
    assert info.rotation == clockwise
    assert (info.width, info.height) == (expected.shape[1], expected.shape[0])
    assert frame.image.shape == expected.shape
    bright = np.argwhere(frame.image[..., 0] > 128)
    marker = np.argwhere(expected[..., 0] > 128)
    assert np.abs(bright.mean(axis=0) - marker.mean(axis=0)).max() < 1.0


def test_max_size_downscales_while_decoding(make_video) -> None:
    path = make_video("big.mp4", num_frames=3, width=128, height=96)
    with open_video(path, max_size=64) as reader:
        assert (reader.info.width, reader.info.height) == (64, 48)
        assert all(frame.image.shape == (48, 64, 3) for frame in reader)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("missing", VideoNotFoundError),
        ("directory", VideoNotFoundError),
        ("empty", InvalidVideoError),
        ("random", InvalidVideoError),
        ("text", InvalidVideoError),
        ("truncated_header", InvalidVideoError),
        ("audio_only", NoVideoStreamError),
        ("zero_frames", NoVideoStreamError),
    ],
)
def test_bad_inputs_raise_at_open(bad_inputs: dict[str, Path], name: str, error: type) -> None:
    with pytest.raises(error) as caught:
        open_video(bad_inputs[name])
    assert isinstance(caught.value, VideocamError)
    message = str(caught.value)
    assert message and "\n" not in message
    assert bad_inputs[name].name in message


def test_truncated_video_yields_what_decodes(make_video, media, tmp_path: Path) -> None:
    path = make_video("whole.mp4", num_frames=30, width=64, height=48, faststart=True)
    cut = media.truncate(path, tmp_path / "cut.mp4", 0.5)
    with open_video(cut) as reader:
        assert reader.info.num_frames == 30  # declared by the index
        with pytest.warns(TruncatedVideoWarning, match="decoded"):
            frames = list(reader)
    assert 1 <= len(frames) < 30
    assert [frame.index for frame in frames] == list(range(len(frames)))
    first = media.pattern(0, 48, 64).astype(np.int16)
    assert np.abs(frames[0].image.astype(np.int16) - first).mean() < 4.0


def test_whole_video_gives_no_warning(video_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with open_video(video_path) as reader:
            assert len(list(reader)) == 16


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown video backend"):
        open_video("x.mp4", backend="gstreamer")


@pytest.mark.parametrize(
    ("backend", "module"), [("decord", "decord"), ("torchcodec", "torchcodec.decoders")]
)
def test_missing_backend_names_the_extra(
    monkeypatch, video_path: Path, backend: str, module: str
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    with pytest.raises(MissingBackendError, match=rf"pip install videocam\[{backend}\]") as caught:
        open_video(video_path, backend=backend)
    assert "\n" not in str(caught.value)


@pytest.mark.skipif(not _usable("decord"), reason="decord not installed")
def test_decord_refuses_bad_inputs_like_pyav(bad_inputs: dict[str, Path]) -> None:
    for name in ("empty", "random", "text", "audio_only"):
        with pytest.raises(InvalidVideoError):
            open_video(bad_inputs[name], backend="decord")


def test_torchcodec_without_ffmpeg_libraries(monkeypatch, video_path: Path) -> None:
    import sys
    import types

    def failing_decoder(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Could not load libtorchcodec. Likely causes:\n 1. FFmpeg ...")

    fake = types.ModuleType("torchcodec.decoders")
    fake.VideoDecoder = failing_decoder  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchcodec", types.ModuleType("torchcodec"))
    monkeypatch.setitem(sys.modules, "torchcodec.decoders", fake)
    with pytest.raises(MissingBackendError, match="FFmpeg") as caught:
        open_video(video_path, backend="torchcodec")
    assert "\n" not in str(caught.value)
