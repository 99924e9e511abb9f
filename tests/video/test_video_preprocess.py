"""Preprocessing: values, channel order, shapes, and the crop geometry round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as functional

from videocam.errors import InputShapeError
from videocam.video.preprocess import ClipPreprocessor, ClipPreset


def square_frame(height: int, width: int, top: int, left: int, side: int) -> np.ndarray:
    image = np.full((height, width, 3), 20, np.uint8)
    image[top : top + side, left : left + side] = 250
    return image


def test_value_range_mean_std_and_channel_order() -> None:
    image = np.zeros((4, 6, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 10, 100, 200  # R, G, B
    unit = ClipPreprocessor(ClipPreset(mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 2.0)))([image, image])
    assert unit.shape == (3, 2, 4, 6) and unit.dtype == torch.float32
    expected = [(10 / 255 - 0.1) / 0.5, (100 / 255 - 0.2) / 0.25, (200 / 255 - 0.3) / 2.0]
    assert unit.mean(dim=(1, 2, 3)).tolist() == pytest.approx(expected, rel=1e-5)
    c3d_like = ClipPreset(mean=(90.0, 98.0, 102.0), std=(1.0, 1.0, 1.0), value_range=255.0,
                          channel_order="BGR")  # fmt: skip
    bgr = ClipPreprocessor(c3d_like)([image])
    assert bgr.mean(dim=(1, 2, 3)).tolist() == pytest.approx([200 - 90, 100 - 98, 10 - 102])


def test_resize_short_side_and_centre_crop_shapes() -> None:
    pre = ClipPreprocessor(ClipPreset(resize=32, crop=(24, 28)))
    geometry = pre.geometry(48, 100)
    assert geometry.resized_size == (32, 67)
    assert geometry.crop_size == (24, 28)
    assert geometry.offset == (4, 20)
    portrait = pre.geometry(100, 48)
    assert portrait.resized_size == (67, 32)
    clip = pre([np.zeros((48, 100, 3), np.uint8)] * 5)
    assert clip.shape == (3, 5, 24, 28)
    batch = pre.batch([[np.zeros((48, 100, 3), np.uint8)] * 5] * 3)
    assert batch.shape == (3, 3, 5, 24, 28) and batch.is_contiguous()


def test_matches_float_reference() -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (60, 80, 3), dtype=np.uint8) for _ in range(3)]
    preset = ClipPreset(resize=40, crop=32, mean=(0.4, 0.5, 0.6), std=(0.2, 0.3, 0.4))
    pre = ClipPreprocessor(preset)
    geometry = pre.geometry(60, 80)
    reference = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float()
    reference = functional.interpolate(reference, size=geometry.resized_size, mode="bilinear",
                                       antialias=True, align_corners=False)  # fmt: skip
    top, left = geometry.offset
    reference = reference[..., top : top + 32, left : left + 32] / 255
    mean, std = (
        torch.tensor(preset.mean).view(1, 3, 1, 1),
        torch.tensor(preset.std).view(1, 3, 1, 1),
    )
    reference = ((reference - mean) / std).permute(1, 0, 2, 3)
    # uint8 resizing rounds to whole levels: at most one level of difference
    assert (pre(frames) - reference).abs().max().item() <= 1.01 / 255 / 0.2


@pytest.mark.parametrize(
    ("height", "width", "resize", "crop"),
    [(120, 200, 64, (48, 56)), (241, 321, 128, 112), (200, 120, 64, 64), (90, 90, None, 60)],
)
def test_square_lands_on_predicted_crop_pixels_and_back(height, width, resize, crop) -> None:
    top, left, side = height // 2 - 12, width // 2 - 4, 24
    pre = ClipPreprocessor(ClipPreset(resize=resize, crop=crop))
    geometry = pre.geometry(height, width)
    clip = pre([square_frame(height, width, top, left, side)])
    bright = torch.nonzero(clip[0, 0] > 0.6)  # crop pixels covered by the square
    y0, x0 = geometry.to_crop(top, left)
    y1, x1 = geometry.to_crop(top + side, left + side)
    assert bright[:, 0].min().item() == pytest.approx(y0, abs=1.0)
    assert bright[:, 0].max().item() + 1 == pytest.approx(y1, abs=1.0)
    assert bright[:, 1].min().item() == pytest.approx(x0, abs=1.0)
    assert bright[:, 1].max().item() + 1 == pytest.approx(x1, abs=1.0)
    # a crop-space map of the square goes back onto the square's original pixels
    mask = (clip[:, :1, :, :] > 0.6).float()[:, 0]  # (1, h, w)
    back = geometry.unproject(mask)[0]
    assert back.shape == (height, width)
    found = torch.nonzero(back > 0.5)
    assert found[:, 0].min().item() == pytest.approx(top, abs=1.5)
    assert found[:, 0].max().item() == pytest.approx(top + side - 1, abs=1.5)
    assert found[:, 1].min().item() == pytest.approx(left, abs=1.5)
    assert found[:, 1].max().item() == pytest.approx(left + side - 1, abs=1.5)


def test_unproject_is_zero_outside_the_crop_and_resolution_free() -> None:
    geometry = ClipPreset(resize=64, crop=48).geometry(96, 192)  # scale 2/3, offset (8, 40)
    ones = torch.ones(2, 7, 7)
    back = geometry.unproject(ones)
    assert back.shape == (2, 96, 192)
    assert geometry.crop_box() == pytest.approx((12.0, 60.0, 84.0, 132.0))
    inside = back[:, 12:84, 60:132]  # the whole crop, no fading at its border
    assert torch.allclose(inside, torch.ones_like(inside), atol=1e-6)
    assert back[:, :12].abs().max() == 0 and back[:, 84:].abs().max() == 0
    assert back[:, :, :60].abs().max() == 0 and back[:, :, 132:].abs().max() == 0
    # a horizontal ramp at 7x7 or at 48x48 describes the same picture
    coarse = torch.linspace(0, 1, 7).repeat(7, 1)[None]
    fine = functional.interpolate(
        coarse[None], size=(48, 48), mode="bilinear", align_corners=False
    )[0]
    assert (geometry.unproject(coarse) - geometry.unproject(fine)).abs().max() < 0.05


def test_project_then_unproject_round_trip() -> None:
    geometry = ClipPreset(resize=60, crop=50).geometry(120, 180)
    yy, xx = torch.meshgrid(torch.arange(120.0), torch.arange(180.0), indexing="ij")
    smooth = torch.exp(-((yy - 60) ** 2 + (xx - 90) ** 2) / 800)[None]
    crop_space = geometry.project(smooth)
    assert crop_space.shape == (1, 50, 50)
    back = geometry.unproject(crop_space)
    top, left, bottom, right = (int(round(v)) for v in geometry.crop_box())
    error = (back - smooth)[:, top + 2 : bottom - 2, left + 2 : right - 2].abs().max()
    assert error < 0.03


def test_torch_input_and_shape_errors() -> None:
    pre = ClipPreprocessor(ClipPreset(resize=16))
    stack = torch.zeros(4, 20, 30, 3, dtype=torch.uint8)
    assert pre(stack).shape == (3, 4, 16, 24)
    with pytest.raises(InputShapeError):
        pre(torch.zeros(4, 20, 30, 3))  # float frames
    with pytest.raises(InputShapeError):
        pre([np.zeros((20, 30, 3), np.uint8), np.zeros((21, 30, 3), np.uint8)])
    with pytest.raises(InputShapeError):
        pre.batch([[np.zeros((20, 30, 3), np.uint8)] * 2, [np.zeros((20, 30, 3), np.uint8)]])


@pytest.mark.parametrize(
    "kwargs",
    [{"resize": 0}, {"crop": (1, 2, 3)}, {"std": (1.0, 0.0, 1.0)}, {"value_range": 2.0},
     {"channel_order": "RBG"}, {"mean": (0.5,)}],
)  # fmt: skip
def test_bad_presets(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        ClipPreset(**kwargs)
