"""The stitched maps land on the right pixels of the ORIGINAL frames.

The model is :class:`helpers.BrightnessNet`: its Grad-CAM++ map is the pooled brightness of
the clip, so in every frame the map must peak on the moving white square, wherever the
pipeline resized, cropped, sampled and overlapped the clips. The maps are read through
``explain_video(..., on_frame=...)``, in source pixels.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from videocam.pipeline import explain_video

from .helpers import SQUARE, BrightnessNet, square_origin, write_square_video

CASES = {
    # frames, width, height, clip_len, sampling_rate, stride, square start (y, x) and
    # velocity (y, x) in pixels per frame
    "landscape-rate2-overlap": (24, 200, 150, 4, 2, 3, (30, 50), (1, 2)),
    "landscape-rate2-tiled": (24, 200, 150, 4, 2, None, (100, 140), (-1, -2)),
    "portrait-rate1-overlap": (24, 150, 200, 8, 1, 3, (50, 30), (2, 1)),
    "small-rate3-overlap": (24, 96, 72, 3, 3, 4, (20, 16), (0, 2)),
    # a square that jumps 12 px a frame: a map one frame early or late misses it
    "fast-rate1-overlap": (10, 200, 150, 4, 1, 2, (60, 40), (0, 12)),
}


def crop_box(
    width: int, height: int, resize: int = 128, crop: int = 112
) -> tuple[float, float, float, float]:
    """Top, left, bottom, right edges, in source pixels, of the centre crop of a landscape
    frame after its short side is resized to ``resize`` (the generic preset: 128, crop 112)."""
    resized_width = round(width * resize / height)
    top, left = round((resize - crop) / 2), round((resized_width - crop) / 2)
    scale_y, scale_x = resize / height, resized_width / width
    return top / scale_y, left / scale_x, (top + crop) / scale_y, (left + crop) / scale_x


@pytest.mark.parametrize("case", list(CASES))
def test_map_peaks_on_the_square_in_every_source_frame(tmp_path: Path, case: str) -> None:
    num_frames, width, height, clip_len, rate, stride, start, velocity = CASES[case]
    video = write_square_video(
        tmp_path / "square.mp4", num_frames, width, height, start=start, velocity=velocity
    )
    maps: dict[int, torch.Tensor] = {}

    def keep(index: int, heatmaps: dict[str, torch.Tensor]) -> None:
        assert index not in maps
        maps[index] = heatmaps["gradcam++"].clone()

    result = explain_video(
        video,
        BrightnessNet().eval(),
        layer="features",
        output=tmp_path / "out.mp4",
        clip_len=clip_len,
        sampling_rate=rate,
        stride=stride,
        batch_size=2,
        on_frame=keep,
    )
    assert sorted(maps) == list(range(num_frames)) == list(range(result.num_frames))
    for index, heat in maps.items():
        assert heat.shape == (height, width)
        assert float(heat.min()) >= 0.0 and float(heat.max()) <= 1.0 + 1e-6
        y, x = divmod(int(heat.argmax()), width)
        top, left = square_origin(index, start, velocity)
        assert top <= y < top + SQUARE and left <= x < left + SQUARE, (
            f"frame {index}: peak at {(y, x)}, square at {(top, left)}"
        )
    if width > height:  # outside the centre crop the model saw nothing: the map is 0 there
        top, left, bottom, right = (int(v) for v in crop_box(width, height))
        for heat in maps.values():
            for outside in (heat[: top - 1], heat[bottom + 2 :], heat[:, : left - 1]):
                assert float(outside.abs().max()) == 0.0
            assert float(heat[:, right + 2 :].abs().max()) == 0.0
            # the background brightens to the right: the map is warm right up to the edge
            assert float(heat[top + 2 : bottom - 2, right - 2].min()) > 0.0


def test_map_follows_the_square_at_an_exact_position(tmp_path: Path) -> None:
    """A still square at a known place: the map's mass centre is the square's centre
    (within a pixel or two after resize, crop, pooling and back)."""
    width, height = 200, 150
    video = write_square_video(
        tmp_path / "still.mp4", 8, width, height, start=(70, 120), velocity=(0, 0)
    )
    maps: list[torch.Tensor] = []
    explain_video(
        video,
        BrightnessNet().eval(),
        layer="features",
        output=tmp_path / "out.mp4",
        clip_len=4,
        on_frame=lambda index, heatmaps: maps.append(heatmaps["gradcam++"].clone()),
    )
    for heat in maps:
        hot = torch.where(heat > 0.5 * heat.max(), heat, torch.zeros_like(heat))
        ys = torch.arange(height, dtype=torch.float32)[:, None] + 0.5
        xs = torch.arange(width, dtype=torch.float32)[None, :] + 0.5
        mass = hot.sum()
        centre = (float((hot * ys).sum() / mass), float((hot * xs).sum() / mass))
        assert centre == pytest.approx((70 + SQUARE / 2, 120 + SQUARE / 2), abs=2.0)
