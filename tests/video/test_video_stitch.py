"""Stitching: sampling-rate interpolation, overlap averaging, ordering, geometry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as functional

from videocam.errors import InputShapeError
from videocam.video.decode import Frame, open_video
from videocam.video.preprocess import ClipPreprocessor, ClipPreset
from videocam.video.stitch import Stitcher, frame_weights
from videocam.video.windows import WindowSpec, iter_windows


def frames(count: int) -> Iterator[Frame]:
    for index in range(count):
        yield Frame(index=index, time=index / 25, image=np.zeros((4, 4, 3), np.uint8))


def stitch_all(count: int, spec: WindowSpec, make_maps) -> list:
    stitcher = Stitcher()
    done = []
    for window in iter_windows(frames(count), spec):
        finished = stitcher.add(window, make_maps(window))
        assert [item.index for item in finished] == list(
            range(len(done), len(done) + len(finished))
        )
        assert all(item.index < window.next_start for item in finished)
        done += finished
    done += stitcher.finish()
    return done


def index_maps(window) -> torch.Tensor:
    """Each clip position's map is filled with the frame index it shows (a 'time' map)."""
    return torch.tensor(window.frame_indices, dtype=torch.float32).view(-1, 1, 1).expand(-1, 2, 3)


def test_sampling_rate_is_undone_by_linear_interpolation() -> None:
    done = stitch_all(16, WindowSpec(4, 4), index_maps)  # windows 0-15 sample 0, 4, 8, 12
    values = [item.heatmap[0, 0].item() for item in done]
    # between sampled frames the map is interpolated; after the last sampled frame, held
    assert values == pytest.approx([*range(13), 12, 12, 12])
    assert all(item.windows == 1 for item in done)
    assert [item.importance for item in done] == pytest.approx(values)


def test_overlapping_windows_are_averaged() -> None:
    spec = WindowSpec(4, 1, 2)  # windows at 0, 2, 4, ... of 4 frames
    done = stitch_all(10, spec, lambda w: torch.full((4, 1, 1), float(w.index)))
    values = [item.heatmap.item() for item in done]
    counts = [item.windows for item in done]
    # windows start at 0, 2, 4, 6 (window 6 reaches the end: no padded window at 8), so
    # frame f is covered by windows f//2 - 1 and f//2 when they exist
    assert counts == [1, 1, 2, 2, 2, 2, 2, 2, 1, 1]
    assert values == pytest.approx([0, 0, 0.5, 0.5, 1.5, 1.5, 2.5, 2.5, 3, 3])


def test_padding_is_not_counted() -> None:
    # 6 frames, clip_len 4, sampling_rate 2 (a window spans 8 frames): one padded window
    # sampling 0 2 4 4, whose padding position carries a wrong map
    def maps(window):
        values = [float(i) for i in window.frame_indices]
        values[window.num_real :] = [1000.0] * (window.clip_len - window.num_real)
        return torch.tensor(values).view(-1, 1, 1)

    done = stitch_all(6, WindowSpec(4, 2), maps)
    assert [item.heatmap.item() for item in done] == pytest.approx([0, 1, 2, 3, 4, 4])


def test_frame_weights_rows_sum_to_one() -> None:
    for window in iter_windows(frames(23), WindowSpec(5, 3, 4)):
        covered, weights = frame_weights(window)
        assert list(covered) == list(range(window.first_frame, window.last_frame + 1))
        assert torch.allclose(weights.sum(dim=1), torch.ones(len(covered)))
        assert torch.all(weights[:, window.num_real :] == 0)


def test_coarse_time_is_resampled() -> None:
    # T' = 2 maps for clip_len 8 (a layer that halves time twice): linear in time
    done = stitch_all(8, WindowSpec(8), lambda w: torch.tensor([0.0, 1.0]).view(2, 1, 1))
    values = [item.heatmap.item() for item in done]
    assert (
        values == sorted(values)
        and values[0] == pytest.approx(0)
        and values[-1] == pytest.approx(1)
    )


def test_memory_is_bounded_while_streaming() -> None:
    stitcher = Stitcher()
    spec = WindowSpec(4, 2, 3)
    peak = 0
    emitted = 0
    for window in iter_windows(frames(300), spec):
        emitted += len(stitcher.add(window, torch.ones(4, 2, 2)))
        peak = max(peak, stitcher.pending, len(stitcher._sums))
    emitted += len(stitcher.finish())
    assert emitted == 300
    assert peak <= spec.span


def test_geometry_unprojects_and_shapes_are_checked() -> None:
    geometry = ClipPreset(resize=8, crop=8).geometry(16, 24)  # crop: middle 16x16 of 16x24
    stitcher = Stitcher(geometry)
    window = next(iter_windows(frames(4), WindowSpec(4)))
    (*done,) = stitcher.add(window, torch.ones(4, 2, 2))
    assert len(done) == 4
    assert done[0].heatmap.shape == (16, 24)
    assert done[0].heatmap[:, :4].abs().max() == 0 and done[0].heatmap[:, 4:20].min() > 0.99
    assert done[0].importance == pytest.approx(1.0)  # measured over the model's view
    with pytest.raises(InputShapeError):
        Stitcher().add(window, torch.ones(4, 2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_maps_stay_on_cuda() -> None:
    geometry = ClipPreset(resize=8, crop=8).geometry(16, 24)
    stitcher = Stitcher(geometry)
    window = next(iter_windows(frames(4), WindowSpec(4)))
    done = stitcher.add(window, torch.ones(4, 2, 2, device="cuda"))
    assert done[0].heatmap.device.type == "cuda"


def test_moving_square_lands_on_the_original_pixels(make_video, media) -> None:
    """decode -> windows -> preprocess -> 'model' -> stitch: with a model whose
    activation is the brightness of its input at 7x7, the stitched map's maximum lies
    on the bright square of the ORIGINAL frame in every frame (resize and crop undone)."""
    height, width = 72, 96
    path: Path = make_video("square.mp4", num_frames=20, width=width, height=height)
    pre = ClipPreprocessor(
        ClipPreset(resize=40, crop=(36, 40), mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    )
    spec = WindowSpec(clip_len=4, sampling_rate=1, stride=2)
    stitcher = Stitcher()
    done = []
    with open_video(path) as reader:
        for window in iter_windows(reader, spec):
            clip = pre(window.images)  # (3, T, 36, 40)
            activation = functional.adaptive_avg_pool2d(clip.mean(dim=0), (9, 10))  # (T, 9, 10)
            stitcher.geometry = pre.geometry(height, width)
            done += stitcher.add(window, activation - activation.amin(dim=(1, 2), keepdim=True))
    done += stitcher.finish()
    assert [item.index for item in done] == list(range(20))
    checked = 0
    for item in done:
        y, x = media.square_origin(item.index, height, width)
        peak = divmod(int(torch.argmax(item.heatmap)), width)
        box = pre.geometry(height, width).crop_box()
        if not (box[1] + 6 <= x and x + media.SQUARE <= box[3] - 6):
            continue  # the square is (partly) outside what the model sees
        checked += 1
        assert y - 3 <= peak[0] <= y + media.SQUARE + 3, (item.index, peak, (y, x))
        assert x - 3 <= peak[1] <= x + media.SQUARE + 3, (item.index, peak, (y, x))
    assert checked >= 10
