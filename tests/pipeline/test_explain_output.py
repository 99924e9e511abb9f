"""What explain_video writes: a browser-playable MP4 of the input's frames, and a JSON
sidecar that describes it. Both are read back independently (PyAV, json)."""

from __future__ import annotations

import json
import os
import stat
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

import videocam
from videocam.pipeline import explain_video

from .helpers import TINY_LABELS, BrightnessNet, probe, square_frame, write_square_video


def explain(video: Path, output: Path, **kw: object):
    kw.setdefault("clip_len", 4)
    return explain_video(video, BrightnessNet().eval(), layer="features", output=output, **kw)


def strip_height(height: int) -> int:
    """The renderer's timeline strip: an eighth of the frame height, at least 24 pixels."""
    return max(24, height // 8)


@pytest.mark.parametrize(
    ("size", "fps", "options", "expected_size"),
    [
        ((64, 48), 25, {"timeline": False}, (64, 48)),
        ((64, 48), 25, {}, (64, 48 + strip_height(48))),
        ((64, 48), Fraction(30000, 1001), {"layout": "side-by-side", "timeline": False}, (128, 48)),
        ((96, 64), 25, {"layout": "side-by-side"}, (192, 64 + strip_height(64))),
        ((64, 48), 25, {"methods": ("gradcam", "gradcam++"), "timeline": False}, (128, 48)),
        ((64, 48), 25, {"fps": 10, "timeline": False}, (64, 48)),
        ((96, 64), 25, {"max_size": 48, "timeline": False}, (48, 32)),
        ((96, 64), 25, {"max_size": 48, "layout": "side-by-side", "timeline": False}, (48, 16)),
    ],
    ids=[
        "overlay",
        "timeline",
        "ntsc-side",
        "side-timeline",
        "two-methods",
        "fps",
        "max",
        "max-side",
    ],
)
def test_mp4_decodes_to_the_input_frames_rate_and_size(
    tmp_path: Path,
    size: tuple[int, int],
    fps: float,
    options: dict,
    expected_size: tuple[int, int],
) -> None:
    width, height = size
    video = write_square_video(tmp_path / "in.mp4", 11, width, height, fps)
    result = explain(video, tmp_path / "out" / "explained.mp4", **options)
    assert result.output == (tmp_path / "out" / "explained.mp4").resolve()
    info = probe(result.output)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert info["frames"] == 11 == result.num_frames
    assert info["rate"] == Fraction(options.get("fps", fps)).limit_denominator(1001)
    assert result.fps == pytest.approx(float(options.get("fps", fps)))
    assert (info["width"], info["height"]) == expected_size
    assert info["width"] % 2 == 0 and info["height"] % 2 == 0
    with result.output.open("rb") as handle:  # +faststart: the index precedes the media data
        head = handle.read(4096)
    assert head.find(b"moov") != -1 and (
        head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat")
    )


def test_overlay_with_alpha_0_is_the_input_frame(tmp_path: Path) -> None:
    """With a transparent heatmap the overlay panel is the source frame, pixel for pixel
    (up to compression) and unscaled: the output really has the input's geometry."""
    width, height = 160, 120
    video = write_square_video(tmp_path / "in.mp4", 6, width, height, start=(80, 100))
    result = explain(video, tmp_path / "out.mp4", alpha=0.0, timeline=False, top_k=1)
    frames = probe(result.output)["images"]
    for index, frame in enumerate(frames):
        source = square_frame(index, height, width, start=(80, 100))
        region = (slice(height // 2, None), slice(width // 2, None))  # clear of the caption
        error = np.abs(frame[region].astype(int) - source[region].astype(int))
        assert error.mean() < 3.0 and np.percentile(error, 99) < 24


def test_progress_callback_counts_every_frame(tmp_path: Path) -> None:
    video = write_square_video(tmp_path / "in.mp4", 13)
    counts: list[int] = []
    result = explain(video, tmp_path / "out.mp4", progress=counts.append, batch_size=1)
    assert sum(counts) == 13 == result.num_frames and len(counts) > 1


def test_sidecar_describes_the_run(tmp_path: Path) -> None:
    fps = 25
    video = write_square_video(tmp_path / "in.mp4", 12, 64, 48, fps)
    maps: dict[int, torch.Tensor] = {}
    result = explain(
        video,
        tmp_path / "out.mp4",
        stride=3,
        methods=("gradcam++", "gradcam"),
        labels=list(TINY_LABELS),
        top_k=2,
        extra_metadata={"note": "test"},
        on_frame=lambda index, heat: maps.__setitem__(index, heat["gradcam++"].clone()),
    )
    assert result.sidecar == result.output.with_suffix(".json")
    data = json.loads(result.sidecar.read_text(encoding="utf-8"))
    assert data["videocam_version"] == videocam.__version__
    assert data["model"] == "BrightnessNet" and data["checkpoint"] is None
    assert data["target_layers"] == ["features"]
    assert data["methods"] == ["gradcam++", "gradcam"]
    assert data["output"] == "out.mp4" and data["note"] == "test"
    assert (data["clip_len"], data["sampling_rate"], data["stride"]) == (4, 1, 3)
    assert data["num_frames"] == 12
    # windows of 4 frames every 3 frames over 12 frames; the last one is padded
    covered = [(w["first_frame"], w["last_frame"]) for w in data["windows"]]
    assert covered == [(0, 3), (3, 6), (6, 9), (9, 11)]
    for window in data["windows"]:
        assert window["start_time"] == pytest.approx(window["first_frame"] / fps, abs=1e-4)
        assert window["end_time"] == pytest.approx(window["last_frame"] / fps, abs=1e-4)
        top = window["top_k"]
        assert [t["label"] for t in top] == [TINY_LABELS[t["class"]] for t in top]
        assert len(top) == 2 and top[0]["probability"] >= top[1]["probability"] > 0
        assert top[0]["class"] == 0 == window["explained_class"]  # brightness wins "bright"
    assert data["predicted"][0]["label"] == "bright"
    # per-frame importance: one value per frame and method, the map's mean over the crop
    for method in ("gradcam++", "gradcam"):
        assert len(data["importance"][method]) == 12
        assert data["importance"][method] == pytest.approx(result.importance[method], abs=1e-5)
    # generic preset: short side 48 -> 128 (64 -> 171), centre crop 112: columns 11.2..53.2
    for index, heat in maps.items():
        assert data["importance"]["gradcam++"][index] == pytest.approx(
            float(heat[:, 12:53].mean()), abs=0.03
        )


def test_sidecar_and_mp4_have_ordinary_file_modes(tmp_path: Path) -> None:
    video = write_square_video(tmp_path / "in.mp4", 5)
    result = explain(video, tmp_path / "out.mp4")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(result.sidecar.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE(result.output.stat().st_mode) == 0o666 & ~umask


def test_output_folder_receives_stem_named_files(tmp_path: Path) -> None:
    video = write_square_video(tmp_path / "clip one.mp4", 5)
    result = explain(video, tmp_path / "new" / "folder")
    assert result.output == (tmp_path / "new" / "folder" / "clip one.mp4").resolve()
    assert sorted(os.listdir(tmp_path / "new" / "folder")) == ["clip one.json", "clip one.mp4"]


def test_gif_next_to_the_mp4(tmp_path: Path) -> None:
    import imageio.v3 as iio

    video = write_square_video(tmp_path / "in.mp4", 7)
    result = explain(video, tmp_path / "out.mp4", gif=True, timeline=False)
    assert result.gif == result.output.with_suffix(".gif") and result.gif.exists()
    frames = iio.imread(result.gif, index=None)
    assert frames.shape[:3] == (7, 48, 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "in.mp4",
        "out.gif",
        "out.json",
        "out.mp4",
    ]
