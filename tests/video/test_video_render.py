"""Rendering: colour maps, blending, layouts, caption, guided panel, timeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videocam.errors import InputShapeError, VideocamError
from videocam.video.render import (
    COLORMAPS,
    FrameRenderer,
    RenderOptionError,
    blend,
    colorize,
    deprocess_gradient,
)


@pytest.mark.parametrize("name", list(COLORMAPS))
def test_colormaps_are_rgb_and_ordered(name: str) -> None:
    ramp = np.linspace(0, 1, 256, dtype=np.float32)[None, :]
    colours = colorize(ramp, name)[0].astype(np.int16)
    assert colours.shape == (256, 3)
    assert len(np.unique(colours, axis=0)) > 100  # a real ramp, not a constant
    if name == "jet":  # jet: dark blue at 0, dark red at 1 (RGB order)
        assert colours[0, 2] > 100 and colours[0, 0] < 10
        assert colours[-1, 0] > 100 and colours[-1, 2] < 10
    # torch input (and values outside the range, clipped) give the same colours
    same = colorize(torch.from_numpy(ramp * 2 - 0.5), name, heat_range=(-0.5, 1.5))
    assert np.abs(same[0].astype(np.int16) - colours).max() <= 3


def test_blend_weights() -> None:
    image = np.full((2, 2, 3), 100, np.uint8)
    overlay = np.full((2, 2, 3), 200, np.uint8)
    assert blend(image, overlay, 0.25)[0, 0, 0] == 125
    assert blend(image, overlay, 0.0)[0, 0, 0] == 100


def test_overlay_layout_puts_heat_where_it_is() -> None:
    image = np.full((60, 80, 3), 128, np.uint8)
    heat = np.zeros((60, 80), np.float32)
    heat[10:20, 50:70] = 1.0
    renderer = FrameRenderer(colormap="jet", alpha=0.6, timeline=False)
    out = renderer.render(image, heat)
    assert out.shape == (60, 80, 3)
    hot, cold = out[15, 60].astype(int), out[40, 20].astype(int)
    assert hot[0] > hot[2] and cold[2] > cold[0]  # red where hot, blue where cold


def test_side_by_side_timeline_caption_and_even_size() -> None:
    image = np.full((41, 61, 3), 90, np.uint8)
    renderer = FrameRenderer(layout="side-by-side", timeline_height=10, expected_frames=5)
    out = renderer.render(image, torch.zeros(41, 61), importance=0.3,
                          caption=[("juggling", 0.87), "custom line"])  # fmt: skip
    assert out.shape == (52, 122, 3)  # (41 + 10 -> 52, 2 * 61 -> 122): even
    assert renderer.output_size(61, 41) == (122, 52)
    assert np.array_equal(out[:41, :61], image)  # left panel: the original, untouched
    assert out[:41, 61:].std() > 0  # caption drawn on the overlay panel
    assert not np.array_equal(out[:20, 61:122], out[20:40, 61:122])


def test_small_heatmap_is_resized_to_the_frame() -> None:
    out = FrameRenderer(timeline=False).render(np.zeros((30, 40, 3), np.uint8), np.ones((3, 4)))
    assert out.shape == (30, 40, 3)


def test_timeline_reveals_the_curve_and_rescales() -> None:
    image = np.zeros((40, 100, 3), np.uint8)
    renderer = FrameRenderer(expected_frames=10, timeline_height=20, heat_range=(0.0, 1.0))
    strips = []
    for value in [0.2, 1.0, 0.5, 0.1]:
        out = renderer.render(image, np.zeros((40, 100)), importance=value)
        strips.append(out[40:60])
    last = strips[-1].astype(int)
    # playhead (white column) at 4/10 of the width after 4 frames
    white = np.where((last[5:] >= 250).all(axis=(0, 2)))[0]
    assert white.min() >= 38 and white.max() <= 41
    # the tallest bar is frame 1 (columns 10-19), the future (after the playhead) is empty
    heights = (last[1:] > 40).any(axis=2).sum(axis=0)
    assert heights[10:20].min() == heights.max() > heights[0:10].max()
    assert heights[45:].max() == 0
    assert renderer.curve == pytest.approx([0.2, 1.0, 0.5, 0.1])
    for _ in range(12):  # more frames than expected: the x axis grows, the playhead stays in
        out = renderer.render(image, np.zeros((40, 100)), importance=0.3)
    white = np.where((out[45:60].astype(int) >= 250).all(axis=(0, 2)))[0]
    assert white.size and white.max() < 100
    renderer.reset()
    assert renderer.curve == []


def test_guided_panel_is_deprocessed() -> None:
    rng = np.random.default_rng(0)
    gradient = rng.normal(0, 1e-3, size=(3, 20, 20)).astype(np.float32)
    viewable = deprocess_gradient(gradient)
    assert viewable.shape == (20, 20, 3) and viewable.dtype == np.uint8
    assert abs(viewable.mean() - 127.5) < 3 and 15 < viewable.std() < 35
    image = np.zeros((40, 60, 3), np.uint8)
    out = FrameRenderer(timeline=False).render(
        image, np.zeros((40, 60)), guided=torch.from_numpy(gradient)
    )
    assert out.shape == (40, 100, 3)  # overlay 60 + guided panel 40 (square, frame height)
    with pytest.raises(InputShapeError):
        deprocess_gradient(np.zeros((4, 4)))


@pytest.mark.parametrize(
    "kwargs",
    [{"colormap": "rainbow"}, {"layout": "grid"}, {"alpha": 1.5}, {"heat_range": (1.0, 0.0)}],
)
def test_bad_options(kwargs: dict) -> None:
    with pytest.raises(RenderOptionError) as caught:
        FrameRenderer(**kwargs)
    assert isinstance(caught.value, VideocamError)
    assert "\n" not in str(caught.value)
