"""The ``videocam`` command: ``models``, ``demo``, several videos at once, usage errors,
progress bar, broken pipes. (Bad input of ``explain`` is tested one case at a time in
tests/pipeline/test_bad_inputs.py.)"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline.helpers import (  # tests/pipeline/helpers.py (tests/ is on sys.path)
    TINY_MODEL,
    listing,
    pipeline_threads,
    probe,
    tiny_config,
    write_labels,
    write_square_video,
)

import videocam
from videocam.cli import main
from videocam.demo import repository_clips
from videocam.models import (
    get_config,
    list_models,
    register_model,
    unregister_model,
)
from videocam.synthetic import GeneratorConfig


@pytest.fixture()
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    labels = write_labels(tmp_path_factory.mktemp("labels") / "labels.txt")
    register_model(tiny_config(labels), overwrite=True)
    try:
        yield TINY_MODEL
    finally:
        unregister_model(TINY_MODEL)


def explain(*args: str) -> int:
    return main(["explain", "--model", TINY_MODEL, "--no-progress", *args])


# ------------------------------------------------------------------------------ models
def test_models_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    assert [row[0] for row in rows] == list_models()
    for row in rows:
        config = get_config(row[0])
        assert row[1] == f"{config.clip_len}x{config.sampling_rate}"
        assert f"layer {','.join(config.target_layers)}" in " ".join(row)


def test_models_pattern(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "x3d*"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == [n for n in list_models() if n.startswith("x3d")] and names
    assert main(["models", "zzz*"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == ["error: no model matches 'zzz*'"]


def test_broken_pipe_stops_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``videocam models | head -1``: the reader goes away; no error message."""

    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["models"]) == 141
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------------------- usage
@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["explain"],
        ["explain", "v.mp4", "--layout", "mosaic"],
        ["nonsense"],
        ["models", "a", "b"],
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "error:" in err and "Traceback" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"videocam {videocam.__version__}"


# ---------------------------------------------------------------------- several videos
def test_several_videos_into_one_folder(
    tiny_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write_square_video(tmp_path / "a.mp4", 9)
    b = write_square_video(tmp_path / "b.mp4", 5, 96, 64)
    out = tmp_path / "out"
    assert explain(str(a), str(b), "-o", str(out)) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert len(captured.out.splitlines()) == 2 and "a.mp4 ->" in captured.out
    assert listing(out) == ["a.json", "a.mp4", "b.json", "b.mp4"]
    assert probe(out / "a.mp4")["frames"] == 9 and probe(out / "b.mp4")["frames"] == 5
    assert json.loads((out / "b.json").read_text())["source"]["width"] == 96


@pytest.mark.parametrize("bad_first", [True, False])
def test_one_bad_video_among_several(
    bad_first: bool, tiny_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_square_video(tmp_path / "good.mp4", 7)
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    videos = [str(bad), str(good)] if bad_first else [str(good), str(bad)]
    out = tmp_path / "out"
    assert explain(*videos, "-o", str(out)) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: ")
    assert listing(out) == ["good.json", "good.mp4"]
    assert probe(out / "good.mp4")["frames"] == 7
    assert pipeline_threads() == []


def test_several_videos_need_a_folder(
    tiny_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write_square_video(tmp_path / "a.mp4", 4)
    (tmp_path / "other").mkdir()
    a2 = write_square_video(tmp_path / "other" / "a.mp4", 4)
    before = listing(tmp_path)
    assert explain(str(a), str(a2), "-o", str(tmp_path / "one.mp4")) == 2
    assert "names one file but 2 videos" in capsys.readouterr().err
    assert explain(str(a), str(a2), "-o", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "would both be written" in err
    assert listing(tmp_path) == before


# ------------------------------------------------------------------------- progress bar
def test_progress_bar_on_a_terminal(
    tiny_model: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    video = write_square_video(tmp_path / "v.mp4", 10)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code = main(["explain", str(video), "--model", TINY_MODEL, "-o", str(tmp_path / "o")])
    assert code == 0
    err = capsys.readouterr().err
    assert "explain:" in err and "/10 [" in err and "frame/s" in err  # a bar over 10 frames
    assert err.endswith("\r")  # and it is cleared at the end (the result line follows)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)  # a pipe or a log: no bar
    assert main(["explain", str(video), "--model", TINY_MODEL, "-o", str(tmp_path / "p")]) == 0
    assert capsys.readouterr().err == ""


# -------------------------------------------------------------------------------- demo
CLIPS = repository_clips()


@pytest.mark.slow
def test_demo_writes_a_playable_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.err == ""
    assert "c3d_synthetic" in printed.out and "RANDOM" not in printed.out
    correct = 0
    page = (out / "index.html").read_text(encoding="utf-8")
    videos = sorted(out.glob("*.mp4"))
    assert videos
    for video in videos:
        assert f'src="{video.name}"' in page and f'href="{video.stem}.json"' in page
        info = probe(video)
        assert (info["codec"], info["pix_fmt"]) == ("h264", "yuv420p") and info["frames"] > 0
        sidecar = json.loads(video.with_suffix(".json").read_text(encoding="utf-8"))
        assert sidecar["num_frames"] == info["frames"]
        assert sidecar["methods"] == ["gradcam", "gradcam++", "guided-gradcam++"]
        # the bundled trained model on the bundled clips, every frame explained
        assert sidecar["model"] == "c3d_synthetic"
        meta = json.loads((CLIPS / f"{video.stem}.json").read_text(encoding="utf-8"))
        assert info["frames"] == meta["num_frames"]
        assert sidecar["true_label"] == {"class": meta["class_index"], "label": meta["class_name"]}
        assert sidecar["predicted"][0]["label"] in GeneratorConfig().classes
        correct += sidecar["predicted"][0]["class"] == meta["class_index"]
    assert sorted(v.stem for v in videos) == sorted(p.stem for p in CLIPS.glob("*.mp4"))
    assert correct == len(videos), "the bundled model misclassifies a sample clip"
    assert not [p for p in listing(out) if ".part" in p]
