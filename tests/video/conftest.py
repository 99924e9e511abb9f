"""Fixtures of the video tests: tiny synthetic videos written directly with PyAV."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

SQUARE = 8  # side of the bright square of :func:`pattern`


def square_origin(index: int, height: int, width: int) -> tuple[int, int]:
    """Top-left ``(y, x)`` of the bright square in frame ``index`` (moves right, wraps)."""
    y = (height - SQUARE) // 2 + (index % 3) - 1
    x = 2 + (3 * index) % max(1, width - SQUARE - 4)
    return y, x


def pattern(index: int, height: int, width: int) -> np.ndarray:
    """A smooth coloured background with a white square that moves with ``index``."""
    ys = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    xs = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    image = np.empty((height, width, 3), dtype=np.float32)
    image[..., 0] = 40 + 60 * xs
    image[..., 1] = 40 + 60 * ys
    image[..., 2] = 60 + 20 * np.sin(index / 3.0) + 0 * xs
    y, x = square_origin(index, height, width)
    image[y : y + SQUARE, x : x + SQUARE] = 235
    return np.rint(image).astype(np.uint8)


def write_test_video(
    path: Path,
    num_frames: int = 16,
    width: int = 64,
    height: int = 48,
    fps: float | Fraction = 25,
    *,
    codec: str = "libx264",
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int | None = None,
    frames: Sequence[np.ndarray] | None = None,
    faststart: bool = False,
) -> Path:
    """Write a test video with PyAV (independently of videocam's encoder).

    Args:
        path: file to write.
        num_frames: frames of :func:`pattern` (ignored when ``frames`` is given).
        width: frame width.
        height: frame height.
        fps: nominal frame rate.
        codec: encoder.
        pts: explicit presentation timestamps in ``time_base`` units (variable rate).
        time_base: time base of ``pts``.
        rotation: counter-clockwise display rotation written as a display matrix.
        frames: explicit RGB frames.
        faststart: put the index (moov) before the data.
    """
    rate = Fraction(fps).limit_denominator(1001)
    images = (
        list(frames)
        if frames is not None
        else [pattern(i, height, width) for i in range(num_frames)]
    )
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = images[0].shape[1], images[0].shape[0]
        odd = stream.width % 2 or stream.height % 2
        stream.pix_fmt = "yuv444p" if odd and codec == "libx264" else "yuv420p"  # 4:2:0 needs even
        if codec == "libx264":
            stream.options = {"crf": "12", "preset": "veryfast", "bf": "2"}
        if pts is not None:
            stream.codec_context.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = pts[i] if pts is not None else i
            if pts is not None:
                frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.fixture()
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_video(name="v.mp4", **kw)`` writes a test video in ``tmp_path``."""

    def make(name: str = "video.mp4", **kw: object) -> Path:
        return write_test_video(tmp_path / name, **kw)  # type: ignore[arg-type]

    return make


@pytest.fixture()
def video_path(make_video: Callable[..., Path]) -> Path:
    """A 16-frame 64x48 25 fps H.264 video of :func:`pattern`."""
    return make_video("video.mp4")


def write_audio_only(path: Path) -> Path:
    """An MP4 with one AAC audio stream and no video stream."""
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        samples = np.zeros((1, 1024), dtype=np.float32)
        for i in range(4):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 16000
            frame.pts = i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def write_zero_frame_video(path: Path) -> Path:
    """A Matroska file that declares an H.264 video stream but holds no video frame
    (MP4 drops empty tracks, Matroska keeps them)."""
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
        )
        frame.sample_rate, frame.pts = 16000, 0
        for packet in audio.encode(frame):
            container.mux(packet)
        for packet in audio.encode(None):
            container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
    return path


def truncate(source: Path, target: Path, keep: float | int) -> Path:
    """Copy the first ``keep`` bytes (int) or fraction (float) of ``source`` to ``target``."""
    data = source.read_bytes()
    size = keep if isinstance(keep, int) else int(len(data) * keep)
    target.write_bytes(data[:size])
    return target


@pytest.fixture()
def bad_inputs(tmp_path: Path, video_path: Path) -> dict[str, Path]:
    """Every kind of bad input, by name."""
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "random.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    (folder / "text.mp4").write_text("this is not a video\n" * 20)
    (folder / "a_directory.mp4").mkdir()
    truncate(video_path, folder / "truncated_header.mp4", 600)
    return {
        "missing": folder / "missing.mp4",
        "directory": folder / "a_directory.mp4",
        "empty": folder / "empty.mp4",
        "random": folder / "random.mp4",
        "text": folder / "text.mp4",
        "truncated_header": folder / "truncated_header.mp4",
        "audio_only": write_audio_only(folder / "audio.mp4"),
        "zero_frames": write_zero_frame_video(folder / "zero_frames.mkv"),
    }


def listdir(folder: Path) -> list[str]:
    """Names in a folder, hidden ones included."""
    return sorted(os.listdir(folder))


@pytest.fixture()
def media() -> SimpleNamespace:
    """The helpers of this module, for the tests (whatever pytest's import mode)."""
    return SimpleNamespace(
        SQUARE=SQUARE,
        pattern=pattern,
        square_origin=square_origin,
        write=write_test_video,
        truncate=truncate,
        listdir=listdir,
    )
