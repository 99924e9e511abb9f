"""Metrics on hand-computed tiny cases."""

from __future__ import annotations

import math

import pytest
import torch

from videocam.evaluate.metrics import (
    AverageDrop,
    DeletionAUC,
    IncreaseInConfidence,
    InputSpace,
    InsertionAUC,
    InstanceCoverage,
    LocalizationIoU,
    LocMeasure,
    PointingGame,
    TopKAccuracy,
    WinRate,
    auc,
    explanation_clips,
    make_baseline,
    map_peaks,
    normalize_maps,
    perturb,
    perturbation_curves,
    relative_fall,
    saliency_ranks,
    step_counts,
)


def test_average_drop_and_increase_in_confidence_by_hand():
    y = torch.tensor([0.8, 0.5, 0.4])
    o = torch.tensor([0.4, 0.6, 0.1])
    drop = AverageDrop()
    assert drop.update(y, o).tolist() == pytest.approx([0.5, 0.0, 0.75])
    assert drop.summary() == pytest.approx(100 * (0.5 + 0.0 + 0.75) / 3)
    increase = IncreaseInConfidence()
    assert increase.update(y, o).tolist() == [0.0, 1.0, 0.0]
    assert increase.summary() == pytest.approx(100 / 3)
    drop.update(torch.tensor([0.5]), torch.tensor([0.5]))  # no change: drop 0
    assert drop.count == 4 and drop.summary() == pytest.approx(100 * 1.25 / 4)
    drop.reset()
    assert drop.count == 0 and drop.summary() is None


def test_values_added_later_match_update():
    y, o = torch.tensor([0.9, 0.3]), torch.tensor([0.3, 0.3])
    direct = AverageDrop()
    values = direct.update(y, o)
    replay = AverageDrop()
    replay.add(values.tolist() + [None, math.nan])  # None / NaN are skipped
    assert replay.summary() == direct.summary() == pytest.approx(100 * (2 / 3) / 2)


def test_win_rate_counts_ties_half_and_skips_missing():
    win = WinRate(["a", "b"])
    win.update({"a": [0.1, 0.5, 0.2, math.nan], "b": [0.3, 0.4, 0.2, 0.1]})
    out = win.summary()
    assert out["a vs b"] == {"win": 50.0, "wins": 1, "ties": 1, "losses": 1, "n": 3}
    assert out["b vs a"]["win"] == 50.0
    win.reset()
    win.update({"a": [0.1, -0.2, 0.0], "b": [0.3, 0.1, 0.5]})  # negative fall: more confident
    assert win.summary()["a vs b"]["win"] == 100.0
    assert win.summary()["b vs a"]["win"] == 0.0
    with pytest.raises(ValueError):
        win.update({"a": [0.1], "b": [0.1, 0.2]})


def test_relative_fall_is_not_clipped():
    falls = relative_fall(torch.tensor([0.5, 0.5]), torch.tensor([0.25, 0.75]))
    assert falls.tolist() == [0.5, -0.5]


def test_input_space_round_trip_and_explanation_masks_pixels():
    space = InputSpace(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    pixels = torch.tensor([0.2, 0.6, 1.0]).view(1, 3, 1, 1, 1).expand(1, 3, 1, 1, 2).clone()
    clips = space.from_pixels(pixels)
    assert torch.allclose(space.to_pixels(clips), pixels)
    maps = torch.tensor([[[[2.0, 4.0]]]])  # min-max normalised: [0, 1]
    explained = space.to_pixels(explanation_clips(clips, maps, space))
    # the voxel where the map is 0 becomes black pixels, the other one keeps its pixels
    assert torch.allclose(explained[0, :, 0, 0, 0], torch.zeros(3), atol=1e-6)
    assert torch.allclose(explained[0, :, 0, 0, 1], torch.tensor([0.2, 0.6, 1.0]))


def test_normalize_maps_per_sample_and_constant_maps():
    maps = torch.tensor([[1.0, 3.0, 2.0], [5.0, 5.0, 5.0]])
    assert normalize_maps(maps).tolist() == [[0.0, 1.0, 0.5], [0.0, 0.0, 0.0]]


def test_saliency_ranks_break_ties_in_raster_order():
    maps = torch.tensor([[[[0.5, 1.0], [0.5, 0.2]]]])
    assert saliency_ranks(maps).tolist() == [[[[1, 0], [2, 3]]]]


def test_perturb_auc_and_step_counts():
    clip = torch.arange(1.0, 5.0).view(1, 1, 2, 2).expand(3, 1, 2, 2)
    base = torch.zeros(3, 1, 2, 2)
    ranks = torch.tensor([[[3, 0], [1, 2]]])
    deleted = perturb(clip, base, ranks, 2, "deletion")
    assert deleted[0, 0].tolist() == [[1.0, 0.0], [0.0, 4.0]]
    inserted = perturb(clip, base, ranks, 1, "insertion")
    assert inserted[0, 0].tolist() == [[0.0, 2.0], [0.0, 0.0]]
    assert step_counts(4, 4) == [0, 1, 2, 3, 4]
    assert step_counts(10, 4) == [0, 2, 5, 8, 10]  # round(k/n * V), half to even
    assert float(auc(torch.tensor([1.0, 0.5, 0.0]))) == 0.5
    assert float(auc(torch.tensor([1.0, 1.0, 1.0, 1.0]))) == 1.0


def _toy_forward(clips: torch.Tensor) -> torch.Tensor:
    """Class 0's logit is the sum of channel 0; class 1's is 0."""
    s = clips[:, 0].flatten(1).sum(1)
    return torch.stack([s, torch.zeros_like(s)], dim=1)


def test_deletion_and_insertion_curves_on_a_linear_toy_model():
    values = torch.tensor([[4.0, 3.0], [2.0, 1.0]])
    clips = values.view(1, 1, 1, 2, 2).expand(1, 3, 1, 2, 2).contiguous()
    maps = torch.tensor([[[[1.0, 0.75], [0.5, 0.25]]]])  # same order as the values
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731 - p(class 0) = sigmoid(sum)
    deletion = DeletionAUC(_toy_forward, steps=4, baseline="black")
    got = deletion.update(clips, maps)
    expected = [sig(v) for v in (10, 6, 3, 1, 0)]
    assert deletion.curve() == pytest.approx(expected)
    assert float(got[0]) == pytest.approx((sum(expected) - (expected[0] + expected[-1]) / 2) / 4)
    insertion = InsertionAUC(_toy_forward, steps=4, baseline="black")
    insertion.update(clips, maps)
    assert insertion.curve() == pytest.approx([sig(v) for v in (0, 4, 7, 9, 10)])
    # a map that ranks the voxels the other way deletes the evidence last: higher AUC
    worse = DeletionAUC(_toy_forward, steps=4, baseline="black")
    worse.update(clips, 1 - maps)
    assert worse.summary() > deletion.summary()


def test_perturbation_curves_share_end_points_and_batch_independently():
    torch.manual_seed(0)
    clips = torch.rand(2, 3, 2, 4, 4)
    maps = {"a": torch.rand(2, 2, 4, 4), "b": torch.rand(2, 2, 4, 4)}
    classes = torch.tensor([0, 0])
    scores = _toy_forward(clips).softmax(1)[:, 0]
    kw = dict(space=InputSpace(), steps=5, deletion_baseline="black", insertion_baseline="mean")
    small = perturbation_curves(_toy_forward, clips, maps, classes, scores, batch_size=3, **kw)
    large = perturbation_curves(_toy_forward, clips, maps, classes, scores, batch_size=64, **kw)
    for key in maps:
        assert torch.allclose(small[key].deletion, large[key].deletion)
        curves = small[key]
        assert torch.allclose(curves.deletion[:, 0], scores.double())  # nothing deleted yet
        assert torch.allclose(curves.insertion[:, -1], scores.double())  # everything back
        explained = _toy_forward(explanation_clips(clips, maps[key], InputSpace())).softmax(1)[:, 0]
        assert torch.allclose(curves.explained, explained.double(), atol=1e-6)
    assert torch.equal(small["a"].deletion[:, -1], small["b"].deletion[:, -1])


def test_baselines():
    space = InputSpace(mean=(0.4, 0.5, 0.6), std=(0.2, 0.2, 0.2))
    clips = torch.rand(1, 3, 4, 9, 9)
    black = make_baseline(clips, "black", space)
    assert torch.allclose(space.to_pixels(black), torch.zeros_like(clips), atol=1e-6)
    constant = torch.full((1, 3, 4, 9, 9), 0.7)
    assert torch.allclose(make_baseline(constant, "blur", space), constant)
    spike = torch.zeros(1, 3, 9, 9, 9)
    spike[0, :, 4, 4, 4] = 1.0
    blurred = make_baseline(spike, "blur", space, sigma=(1.0, 1.0, 1.0))
    assert float(blurred[0, 0].sum()) == pytest.approx(1.0, abs=1e-4)  # mass kept inside
    assert float(blurred[0, 0, 4, 4, 4]) < 0.1 and float(blurred[0, 0, 3, 4, 4]) > 0
    mean = make_baseline(clips, "mean", space)
    assert torch.allclose(mean[0, :, 0, 0, 0], clips[0].mean(dim=(1, 2, 3)))


# ------------------------------------------------------------------------ localization
MAP = torch.tensor([[[[0.0, 0.2], [0.6, 1.0]]]])  # (B=1, T=1, H=2, W=2)


def test_localization_iou_by_hand():
    truth = torch.tensor([[[[False, False], [True, False]]]])
    metric = LocalizationIoU((0.0, 0.25, 0.5))
    # δ=0: {0.2, 0.6, 1.0} vs {0.6}: 1/3; δ=0.25 and 0.5: {0.6, 1.0}: 1/2
    assert metric.update(MAP, truth)[0].tolist() == pytest.approx([1 / 3, 0.5, 0.5])
    assert metric.update(MAP * 7 + 3, truth)[0].tolist() == pytest.approx([1 / 3, 0.5, 0.5])
    no_truth = metric.update(MAP, torch.zeros_like(truth))
    assert torch.isnan(no_truth).all()
    assert metric.summary() == pytest.approx({"iou@0": 1 / 3, "iou@0.25": 0.5, "iou@0.5": 0.5})


def test_loc_measure_by_hand_and_equals_iou_for_binary_maps():
    boxes = torch.tensor([[[[False, False], [True, True]]]])
    loc = LocMeasure((0.0, 0.5))
    # δ=0: inside 2, outside 1, |box| 2 -> 2/3; δ=0.5: inside 2, outside 0 -> 1
    assert loc.update(MAP, boxes)[0].tolist() == pytest.approx([2 / 3, 1.0])
    torch.manual_seed(1)
    maps, region = torch.rand(3, 2, 5, 5), torch.rand(3, 2, 5, 5) > 0.6
    assert torch.allclose(
        LocMeasure((0.3,)).update(maps, region), LocalizationIoU((0.3,)).update(maps, region)
    )


def test_pointing_game_by_hand():
    maps = torch.zeros(1, 3, 4, 4)
    truth = torch.zeros(1, 3, 4, 4, dtype=torch.bool)
    maps[0, 0, 1, 1] = 1.0
    truth[0, 0, 1, 1] = True  # frame 0: maximum on the ground truth
    maps[0, 1, 3, 3] = 1.0
    truth[0, 1, 0, 0] = True  # frame 1: maximum elsewhere
    maps[0, 2, 2, 2] = 1.0  # frame 2: no ground truth, not counted
    assert PointingGame().update(maps, truth).tolist() == [0.5]
    truth[0, 1, 2, 2] = True  # frame 1's maximum is one pixel away from this
    assert PointingGame(tolerance=1).update(maps, truth).tolist() == [1.0]
    flat = torch.ones(1, 1, 4, 4)  # a flat frame points nowhere
    assert PointingGame().update(flat, torch.ones(1, 1, 4, 4, dtype=torch.bool)).tolist() == [0.0]


def test_instance_coverage_by_hand():
    maps = torch.tensor([0.0, 1.0, 0.0, 0.0, 0.6, 0.0, 0.0]).view(1, 1, 1, 7)
    masks = torch.zeros(3, 1, 1, 7, dtype=torch.bool)
    masks[0, 0, 0, 0:3] = True  # holds the peak 1.0
    masks[1, 0, 0, 4:6] = True  # holds the peak 0.6
    # masks[2] is empty: that instance is not visible in the clip and is not counted
    assert map_peaks(maps, 0.5)[0, 0, 0].tolist() == [False, True, False, False, True, False, False]
    low = InstanceCoverage(0.5)
    assert low.update(maps, [masks]) == [(2, 2)]
    high = InstanceCoverage(0.7)
    assert high.update(maps, [masks]) == [(1, 2)]
    high.add_counts([(2, 2), None, (0, 0)])
    assert high.summary() == pytest.approx(3 / 4)  # pooled over instances
    high.reset()
    assert high.summary() is None


def test_top_k_accuracy_multi_label():
    scores = torch.tensor([[0.1, 0.5, 0.2, 0.3], [0.4, 0.1, 0.3, 0.2], [0.2, 0.3, 0.4, 0.1]])
    metric = TopKAccuracy((1, 2))
    out = metric.update(scores, [[2], [3, 0], []])
    assert out[:2].tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert torch.isnan(out[2]).all()  # no label: skipped
    assert metric.summary() == {"top1": 50.0, "top2": 50.0}
    metric.update(scores[:1], [[3]])  # 3 is second best
    assert metric.summary() == pytest.approx({"top1": 100 / 3, "top2": 200 / 3})
