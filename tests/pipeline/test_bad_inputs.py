"""Bad input through the ``videocam`` command: one line ``error: ...`` on stderr, no
traceback, exit status 2, and nothing new in the output folder (no temporary file either).
The inputs the issue says must work (shorter than a clip, odd sizes, huge frames) work."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from videocam.cli import main

from .helpers import (
    TINY_MODEL,
    is_root,
    listing,
    probe,
    square_frame,
    write_audio_only,
    write_av_video,
    write_square_video,
    write_zero_frame_video,
)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_error_line(err: str, *needles: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


def explain_args(video: Path | str, output: Path, *extra: str) -> list[str]:
    return [
        "explain",
        str(video),
        "--model",
        TINY_MODEL,
        "-o",
        str(output),
        "--no-progress",
        *extra,
    ]


# ----------------------------------------------------------------------- bad video files
def _missing(folder: Path, good: Path) -> Path:
    return folder / "missing.mp4"


def _directory(folder: Path, good: Path) -> Path:
    (folder / "a_folder.mp4").mkdir()
    return folder / "a_folder.mp4"


def _zero_bytes(folder: Path, good: Path) -> Path:
    (folder / "empty.mp4").write_bytes(b"")
    return folder / "empty.mp4"


def _random_bytes(folder: Path, good: Path) -> Path:
    (folder / "random.mp4").write_bytes(np.random.default_rng(7).bytes(8192))
    return folder / "random.mp4"


def _truncated(folder: Path, good: Path) -> Path:
    data = good.read_bytes()  # written without faststart: the index (moov) is at the end
    (folder / "truncated.mp4").write_bytes(data[: len(data) * 6 // 10])
    return folder / "truncated.mp4"


def _text(folder: Path, good: Path) -> Path:
    (folder / "notes.mp4").write_text("this is not a video\n" * 50, encoding="utf-8")
    return folder / "notes.mp4"


def _audio_only(folder: Path, good: Path) -> Path:
    return write_audio_only(folder / "audio.mp4")


def _zero_frames(folder: Path, good: Path) -> Path:
    return write_zero_frame_video(folder / "no_frames.mkv")


BAD_VIDEOS: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "missing": (_missing, "not found"),
    "directory": (_directory, "directory"),
    "zero-bytes": (_zero_bytes, "empty"),
    "random-bytes": (_random_bytes, "random.mp4"),
    "truncated-mp4": (_truncated, "truncated.mp4"),
    "text-named-mp4": (_text, "notes.mp4"),
    "audio-only": (_audio_only, "no video stream"),
    "zero-video-frames": (_zero_frames, "no video frames"),
}


@pytest.mark.parametrize("kind", list(BAD_VIDEOS))
def test_bad_video_file(
    kind: str, tiny_model: str, make_video, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = make_video("good.mp4", num_frames=12)
    make, needle = BAD_VIDEOS[kind]
    bad = make(good.parent, good)
    inputs_before = listing(good.parent)
    code, out, err = run(explain_args(bad, out_dir), capsys)
    assert code == 2
    assert_one_error_line(err, needle)
    assert out == ""
    assert listing(out_dir) == []
    assert listing(good.parent) == inputs_before


def test_bad_video_leaves_no_new_output_folder(
    tiny_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "new" / "nested"
    code, _, err = run(explain_args(tmp_path / "missing.mp4", target), capsys)
    assert code == 2
    assert_one_error_line(err, "not found")
    assert not (tmp_path / "new").exists()


# ----------------------------------------------------------------- inputs that must work
def test_video_shorter_than_one_clip_is_padded(
    tiny_model: str, make_video, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = make_video("short.mp4", num_frames=3)
    code, _, err = run(explain_args(video, out_dir, "--clip-len", "8"), capsys)
    assert code == 0 and err == ""
    assert probe(out_dir / "short.mp4")["frames"] == 3
    sidecar = json.loads((out_dir / "short.json").read_text())
    assert len(sidecar["windows"]) == 1 and sidecar["clip_len"] == 8
    assert len(sidecar["importance"]["gradcam++"]) == 3
    assert listing(out_dir) == ["short.json", "short.mp4"]


def test_odd_dimensions_work(
    tiny_model: str, tmp_path: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = [square_frame(i, 241, 321, start=(100, 120)) for i in range(5)]
    video = write_av_video(tmp_path / "odd.mp4", frames)
    code, _, err = run(explain_args(video, out_dir, "--no-timeline"), capsys)
    assert code == 0 and err == ""
    info = probe(out_dir / "odd.mp4")
    assert (info["width"], info["height"], info["frames"]) == (322, 242, 5)  # padded to even
    assert (info["codec"], info["pix_fmt"]) == ("h264", "yuv420p")


def test_very_large_frames_are_downscaled_before_the_model(
    tiny_model: str, tmp_path: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = [square_frame(i, 3000, 4000, start=(1400, 1900)) for i in range(3)]
    video = write_av_video(tmp_path / "huge.mp4", frames)
    code, _, err = run(explain_args(video, out_dir, "--no-timeline"), capsys)
    assert code == 0 and err == ""
    info = probe(out_dir / "huge.mp4")
    assert info["frames"] == 3
    assert (info["width"], info["height"]) == (1920, 1440)  # decoded at most 1920 wide
    sidecar = json.loads((out_dir / "huge.json").read_text())
    assert (sidecar["source"]["width"], sidecar["source"]["height"]) == (1920, 1440)


def test_truncated_video_that_decodes_in_part(
    tiny_model: str, tmp_path: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A faststart MP4 cut short (a broken download) is bad input: one error line, exit 2,
    nothing written. With --allow-truncated the frames that decode are explained and one
    ``warning:`` line says the rest is missing."""
    full = write_square_video(tmp_path / "full.mp4", 30, faststart=True)
    data = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 6 // 10])
    code, _, err = run(explain_args(cut, out_dir), capsys)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "of 30 frames" in lines[0]
    assert "--allow-truncated" in lines[0] and "Traceback" not in err
    assert list(out_dir.iterdir()) == [] if out_dir.exists() else True

    code, _, err = run([*explain_args(cut, out_dir), "--allow-truncated"], capsys)
    assert code == 0
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "of 30 frames" in lines[0]
    decoded = probe(out_dir / "cut.mp4")["frames"]
    assert 0 < decoded < 30
    assert json.loads((out_dir / "cut.json").read_text())["num_frames"] == decoded


# ------------------------------------------------------------------------ bad output paths
def test_output_equal_to_input(
    tiny_model: str, make_video, capsys: pytest.CaptureFixture[str]
) -> None:
    video = make_video("same.mp4", num_frames=6)
    before = video.read_bytes()
    for output in (video, video.parent):  # the file itself, or its folder (same stem)
        code, _, err = run(explain_args(video, output), capsys)
        assert code == 2
        assert_one_error_line(err, "is the input file")
        assert video.read_bytes() == before
        assert listing(video.parent) == ["same.mp4"]


@pytest.mark.parametrize("shape", ["file-as-folder", "file-as-parent", "below-a-file"])
def test_output_folder_is_a_file(
    shape: str, tiny_model: str, make_video, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = make_video("good.mp4", num_frames=6)
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    output = {
        "file-as-folder": blocker,
        "file-as-parent": blocker / "out.mp4",
        "below-a-file": blocker / "sub" / "out.mp4",
    }[shape]
    before = listing(tmp_path)
    code, _, err = run(explain_args(video, output), capsys)
    assert code == 2
    assert_one_error_line(err, "file.txt")
    assert listing(tmp_path) == before and blocker.read_text() == "x"


def test_unwritable_output_folder(
    tiny_model: str, make_video, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder that refuses new files: a read-only folder for a normal user; as root
    (who ignores modes) /proc, whose top level no one can create files in."""
    video = make_video("good.mp4", num_frames=6)
    if is_root():
        if not Path("/proc/self").exists():
            pytest.skip("no /proc to stand for an unwritable folder")
        folder = Path("/proc")
        before = sorted(os.listdir(folder))
    else:
        folder = tmp_path / "readonly"
        folder.mkdir()
        folder.chmod(0o555)
        before = []
    try:
        code, _, err = run(explain_args(video, folder / "out.mp4"), capsys)
        assert code == 2
        assert_one_error_line(err, "not writable")
        if not is_root():
            assert sorted(os.listdir(folder)) == before
    finally:
        if not is_root():
            folder.chmod(0o755)


# ------------------------------------------------------------------------ bad options
@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--model", "no_such_model"], "unknown model 'no_such_model'"),
        (["--layer", "no.such.layer"], "unknown target layer 'no.such.layer'"),
        (["--class", "3"], "class index 3 is out of range"),
        (["--class", "-1"], "class index -1 is out of range"),
        (["--method", "gradcam+++"], "unknown method gradcam+++"),
        (["--fps", "0"], "fps must be a positive number"),
        (["--max-size", "0"], "max_size must be"),
        (["--clip-len", "0"], "clip_len must be a positive integer"),
        (["--stride", "99"], "stride 99 is larger than"),
        (["--topk", "0"], "top_k must be a positive integer"),
        (["--alpha", "1.5"], "alpha must be in [0, 1]"),
    ],
    ids=lambda v: v[0].lstrip("-") if isinstance(v, list) else None,
)
def test_bad_option(
    extra: list[str],
    needle: str,
    tiny_model: str,
    make_video,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    video = make_video("good.mp4", num_frames=6)
    code, out, err = run(explain_args(video, out_dir, *extra), capsys)
    assert code == 2
    assert_one_error_line(err, needle)
    assert out == "" and listing(out_dir) == []


def test_missing_optional_backend(
    tiny_model: str,
    make_video,
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "decord", None)  # "import decord" now fails
    video = make_video("good.mp4", num_frames=6)
    code, _, err = run(explain_args(video, out_dir, "--backend", "decord"), capsys)
    assert code == 2
    assert_one_error_line(err, "pip install videocam[decord]")
    assert listing(out_dir) == []
