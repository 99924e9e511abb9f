"""MP4/GIF writing: browser-playable H.264, exact frame rates, odd sizes, atomic files."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import imageio.v3 as iio
import numpy as np
import pytest

from videocam.errors import InputShapeError, OutputPathError, VideocamError
from videocam.video.encode import (
    GifWriter,
    VideoWriter,
    as_fraction,
    check_output_path,
    even_size,
    write_gif,
    write_video,
)


def top_level_boxes(path: Path) -> list[str]:
    """Types of the top-level ISO-BMFF boxes of an MP4, in file order."""
    data = path.read_bytes()
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size == 0:
            break
        offset += size
    return boxes


def probe(path: Path) -> dict[str, object]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "rate": stream.average_rate,
            "count": len(frames),
            "frames": frames,
        }


@pytest.mark.parametrize(
    ("fps", "expected"),
    [(25, Fraction(25)), (30000 / 1001, Fraction(30000, 1001)), (23.976, Fraction(24000, 1001)),
     (12.5, Fraction(25, 2)), (Fraction(60000, 1001), Fraction(60000, 1001))],
)  # fmt: skip
def test_as_fraction(fps: float | Fraction, expected: Fraction) -> None:
    assert as_fraction(fps) == expected


@pytest.mark.parametrize("fps", [0, -1, float("nan"), float("inf")])
def test_as_fraction_rejects_bad_rates(fps: float) -> None:
    with pytest.raises(ValueError, match="fps"):
        as_fraction(fps)


def test_even_size() -> None:
    assert even_size(321, 241) == (322, 242)
    assert even_size(320, 240) == (320, 240)
    assert even_size(1920, 1080, max_size=640) == (640, 360)
    assert even_size(241, 321, max_size=160) == (120, 160)
    assert even_size(100, 50, max_size=640) == (100, 50)  # never upscaled


@pytest.mark.parametrize("fps", [25, 30000 / 1001])
def test_mp4_is_browser_playable_with_exact_rate(tmp_path: Path, media, fps: float) -> None:
    frames = [media.pattern(i, 48, 64) for i in range(10)]
    path = write_video(tmp_path / "out.mp4", frames, fps)
    info = probe(path)
    assert info["codec"] == "h264"
    assert info["pix_fmt"] == "yuv420p"
    assert (info["width"], info["height"]) == (64, 48)
    assert info["count"] == 10
    assert info["rate"] == as_fraction(fps)
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # faststart
    decoded = np.stack(info["frames"]).astype(np.int16)
    assert np.abs(decoded - np.stack(frames)).mean() < 4.0  # the content survives
    with av.open(str(path)) as container:  # timestamps step by exactly 1/fps
        stream = container.streams.video[0]
        times = [frame.pts * stream.time_base for frame in container.decode(stream)]
    assert times == [i / as_fraction(fps) for i in range(10)]


def test_odd_size_is_padded_by_edge_replication(tmp_path: Path) -> None:
    frame = np.zeros((241, 321, 3), np.uint8)
    frame[:, -1] = 200  # last column bright: the padding column must repeat it
    frame[-1, :] = 100
    path = write_video(tmp_path / "odd.mp4", [frame] * 3, 10, crf=0)
    info = probe(path)
    assert (info["width"], info["height"]) == (322, 242)
    assert info["count"] == 3
    decoded = info["frames"][0].astype(np.int16)
    assert abs(decoded[120, 321].mean() - 200) < 12  # padded column repeats the edge
    assert abs(decoded[241, 100].mean() - 100) < 12  # padded row repeats the edge


def test_max_size_downscales_keeping_aspect(tmp_path: Path, media) -> None:
    frames = [media.pattern(i, 120, 200) for i in range(3)]
    with VideoWriter(tmp_path / "small.mp4", 25, max_size=64) as writer:
        for frame in frames:
            writer.write(frame)
    assert writer.size == (64, 38)
    info = probe(writer.path)
    assert (info["width"], info["height"]) == (64, 38)


def test_exception_inside_with_leaves_no_file(tmp_path: Path, media) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(RuntimeError, match="boom"), VideoWriter(folder / "x.mp4", 25) as writer:
        for i in range(40):  # enough for the encoder to emit packets (file opened lazily)
            writer.write(media.pattern(i, 48, 64))
        assert len(media.listdir(folder)) == 1  # the hidden temporary file exists meanwhile
        assert media.listdir(folder)[0].startswith(".x.")
        raise RuntimeError("boom")
    assert media.listdir(folder) == []


def test_bad_frame_mid_write_leaves_no_file_and_keeps_old_output(tmp_path: Path, media) -> None:
    target = tmp_path / "x.mp4"
    target.write_bytes(b"previous result")
    with pytest.raises(InputShapeError, match="size changed"), VideoWriter(target, 25) as writer:
        writer.write(media.pattern(0, 48, 64))
        writer.write(media.pattern(1, 40, 64))
    assert media.listdir(tmp_path) == ["x.mp4"]
    assert target.read_bytes() == b"previous result"


def test_close_is_atomic_and_idempotent(tmp_path: Path, media) -> None:
    writer = VideoWriter(tmp_path / "y.mp4", 25)
    writer.write(media.pattern(0, 48, 64))
    assert not (tmp_path / "y.mp4").exists()
    writer.close()
    writer.close()
    assert media.listdir(tmp_path) == ["y.mp4"]
    with pytest.raises(ValueError, match="closed"):
        writer.write(media.pattern(1, 48, 64))


def test_abort_and_empty_writer_leave_nothing(tmp_path: Path, media) -> None:
    writer = VideoWriter(tmp_path / "a.mp4", 25)
    writer.write(media.pattern(0, 48, 64))
    writer.abort()
    with pytest.raises(VideocamError, match="no frame"):
        VideoWriter(tmp_path / "b.mp4", 25).close()
    assert media.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "frame",
    [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 3), np.float32)],
)
def test_bad_frames_are_refused(tmp_path: Path, frame: np.ndarray) -> None:
    with pytest.raises(InputShapeError), VideoWriter(tmp_path / "c.mp4", 25) as writer:
        writer.write(frame)
    assert not (tmp_path / "c.mp4").exists()


def test_gif(tmp_path: Path, media) -> None:
    frames = [media.pattern(i, 48, 64) for i in range(6)]
    path = write_gif(tmp_path / "anim.gif", frames, 10)
    read = iio.imread(path)
    assert read.shape[:3] == (6, 48, 64)
    assert iio.immeta(path)["duration"] == 100
    assert np.abs(read[..., :3].astype(np.int16) - np.stack(frames)).mean() < 12
    with pytest.raises(RuntimeError), GifWriter(tmp_path / "bad.gif", 10, max_size=32) as writer:
        writer.write(frames[0])
        raise RuntimeError("stop")
    assert media.listdir(tmp_path) == ["anim.gif"]


def test_check_output_path(tmp_path: Path, video_path: Path) -> None:
    assert check_output_path(tmp_path / "new.mp4", inputs=[video_path]) == (tmp_path / "new.mp4")
    with pytest.raises(OutputPathError, match="is the input"):
        check_output_path(video_path, inputs=[video_path])
    link = tmp_path / "link.mp4"
    link.symlink_to(video_path)
    with pytest.raises(OutputPathError, match="is the input"):
        check_output_path(link, inputs=[video_path])
    with pytest.raises(OutputPathError, match="is the input"):  # same file, other spelling
        check_output_path(video_path.parent / ".." / video_path.parent.name / video_path.name,
                          inputs=[str(video_path)])  # fmt: skip
    with pytest.raises(OutputPathError, match="does not exist"):
        check_output_path(tmp_path / "no" / "such" / "out.mp4")
    with pytest.raises(OutputPathError, match="directory"):
        check_output_path(tmp_path)


def test_unwritable_folder(tmp_path: Path) -> None:
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o555)
    try:
        folder = readonly if not _root() else Path("/proc")  # root ignores permissions
        with pytest.raises(OutputPathError, match="not writable"):
            check_output_path(folder / "out.mp4")
        with pytest.raises(OutputPathError, match="not writable"):
            VideoWriter(folder / "out.mp4", 25)
    finally:
        readonly.chmod(0o755)


def _root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0
