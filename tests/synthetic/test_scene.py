"""Rendering of synthetic clips: determinism, masks vs pixels, instances, motions."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from videocam.errors import DatasetError, VideocamError
from videocam.synthetic import (
    DEFAULT_CLASSES,
    MOTIONS,
    GeneratorConfig,
    boxes_from_masks,
    clip_rng,
    generate_clip,
    render_scene,
    sample_scene,
)

SMALL = GeneratorConfig(num_frames=12)


def _dilate(masks: np.ndarray, pixels: int = 1) -> np.ndarray:
    kernel = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    return np.stack([cv2.dilate(m.astype(np.uint8), kernel) for m in masks]).astype(bool)


def test_same_seed_same_bytes_and_other_seeds_differ() -> None:
    a = generate_clip(7, 3, class_index=2, num_instances=2, config=SMALL)
    b = generate_clip(7, 3, class_index=2, num_instances=2, config=SMALL)
    for name in ("frames", "masks", "boxes", "centers"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes(), name
    other_seed = generate_clip(8, 3, class_index=2, num_instances=2, config=SMALL)
    other_index = generate_clip(7, 4, class_index=2, num_instances=2, config=SMALL)
    for other in (other_seed, other_index):
        assert np.mean(other.frames != a.frames) > 0.5
        assert not np.array_equal(other.masks, a.masks)


def test_clip_does_not_depend_on_other_clips_generated_before() -> None:
    direct = generate_clip(5, 9, class_index=1, config=SMALL)
    for i in range(3):
        generate_clip(5, i, class_index=0, config=SMALL)
    again = generate_clip(5, 9, class_index=1, config=SMALL)
    assert direct.frames.tobytes() == again.frames.tobytes()


def test_shapes_and_dtypes() -> None:
    clip = generate_clip(0, 0, class_index=0, num_instances=3, config=SMALL)
    t, (h, w) = SMALL.num_frames, SMALL.size
    assert clip.frames.shape == (t, h, w, 3) and clip.frames.dtype == np.uint8
    assert clip.masks.shape == (3, t, h, w) and clip.masks.dtype == bool
    assert clip.boxes.shape == (3, t, 4) and clip.boxes.dtype == np.int32
    assert clip.centers.shape == (3, t, 2)
    assert clip.num_instances == 3 and clip.class_name == DEFAULT_CLASSES[0]


@pytest.mark.parametrize("class_index", range(len(DEFAULT_CLASSES)))
def test_masks_are_exactly_the_pixels_the_class_objects_change(class_index: int) -> None:
    """Render a scene with and without its class objects, everything else identical."""
    scene = sample_scene(clip_rng(11, class_index), SMALL, class_index, num_instances=2)
    frames, masks = render_scene(scene, distractors=False)
    without, masks_again = render_scene(scene, class_objects=False, distractors=False)
    assert np.array_equal(masks, masks_again)
    union = masks.any(axis=0)
    changed = (frames != without).any(axis=-1)
    assert union.any()
    # every mask pixel shows the object, and nothing changes beyond the anti-aliased rim
    # of the masks (one pixel; two at the sharp tips of triangles, whose thin points can
    # pass near a pixel centre without covering it)
    assert changed[union].all()
    assert not changed[~_dilate(union, 2)].any()
    assert changed[~_dilate(union, 1)].sum() <= 0.005 * changed.sum()
    # the rim is thin: the masks hold most changed pixels
    assert changed[union].sum() / changed.sum() > 0.75


def test_masks_with_full_clutter_exclude_distractors_and_occluded_pixels() -> None:
    changed_outside = changed_total = rim = mask_total = 0
    for i in range(6):
        scene = sample_scene(clip_rng(12, i), SMALL, i, num_instances=1 + i % 3)
        assert scene.num_distractors >= 1
        frames, masks = render_scene(scene)
        without, _ = render_scene(scene, class_objects=False)
        union = masks.any(axis=0)
        changed = (frames != without).any(axis=-1)
        assert changed[union].all()
        changed_outside += int(changed[~_dilate(union, 2)].sum())
        changed_total += int(changed.sum())
        # distractors only hide parts of the class objects; hidden pixels leave the masks
        alone, masks_alone = render_scene(scene, distractors=False)
        by_distractors = (frames != alone).any(axis=-1)
        hidden = masks_alone.any(axis=0) & ~union
        assert not (union & ~masks_alone.any(axis=0)).any()
        assert by_distractors[hidden].all()
        rim += int((by_distractors & union).sum())
        mask_total += int(union.sum())
    # beyond the masks' rim, only the soft edges of distractors in front of class objects
    assert changed_outside <= 0.01 * changed_total
    assert rim <= 0.05 * mask_total


def test_masks_of_instances_are_disjoint_and_boxes_fit_them() -> None:
    clip = generate_clip(3, 1, class_index=6, num_instances=3, config=SMALL)
    assert (clip.masks.sum(axis=0) <= 1).all()
    for i in range(3):
        for t in range(SMALL.num_frames):
            m = clip.masks[i, t]
            x0, y0, x1, y1 = clip.boxes[i, t]
            if not m.any():
                assert (clip.boxes[i, t] == -1).all()
                continue
            ys, xs = np.nonzero(m)
            assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_boxes_from_masks_by_hand() -> None:
    masks = np.zeros((2, 5, 6), bool)
    masks[0, 1:3, 2:5] = True
    boxes = boxes_from_masks(masks)
    assert boxes.tolist() == [[2, 1, 5, 3], [-1, -1, -1, -1]]


@pytest.mark.parametrize("count", [1, 2, 3])
def test_requested_instance_count_is_in_masks_boxes_and_mostly_visible(count: int) -> None:
    for class_index in range(len(DEFAULT_CLASSES)):
        clip = generate_clip(21, class_index, class_index, num_instances=count, config=SMALL)
        assert clip.masks.shape[0] == clip.boxes.shape[0] == count
        visible = clip.masks.any(axis=(2, 3))  # (I, T)
        assert visible.mean(axis=1).min() >= 0.5  # each instance is seen most of the time


def test_class_objects_stay_inside_the_central_crop() -> None:
    x0, y0, x1, y1 = SMALL.play_box
    assert (x1 - x0, y1 - y0) == (112, 112)
    for i in range(16):
        clip = generate_clip(31, i, class_index=i % 8, num_instances=1 + i % 3, config=SMALL)
        outside = clip.masks.any(axis=0).copy()
        outside[:, y0:y1, x0:x1] = False
        assert not outside.any()


def test_objects_are_large_enough_for_conv5b() -> None:
    """Instances span at least one conv5b cell (16 px of a 112 crop) on average."""
    sides = []
    for i in range(16):
        clip = generate_clip(41, i, class_index=i % 8, config=SMALL)
        box = clip.boxes[0][clip.boxes[0, :, 0] >= 0]
        sides.append(np.sqrt((box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])).mean())
    assert min(sides) >= 14 and np.mean(sides) >= 20


def _trajectory(name: str, seed: int, frames: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(frames, dtype=float)
    lo, hi = np.array([30.0, 30.0]), np.array([150.0, 150.0])
    return MOTIONS[name].sample(rng, t, lo, hi, 1.0)


@pytest.mark.parametrize("seed", range(5))
def test_motion_signatures(seed: int) -> None:
    """Each class moves as its description says (computed on its trajectory)."""
    xy, angle = _trajectory("spin", seed)
    assert np.ptp(xy, axis=0).max() < 8 and np.abs(np.diff(angle)).min() >= 0.2
    for name in ("dribble", "juggle", "pass", "zigzag_run", "orbit", "stop_and_go"):
        _, angle = _trajectory(name, seed)
        assert np.abs(np.diff(angle)).max() <= 0.04 + 1e-9, name
    xy, _ = _trajectory("dribble", seed)
    assert np.ptp(xy[:, 0]) < 14 and np.ptp(xy[:, 1]) > 18  # up and down on one spot
    xy, _ = _trajectory("juggle", seed)
    assert np.ptp(xy[:, 0]) > 17 and np.ptp(xy[:, 1]) > 18
    xy, _ = _trajectory("pass", seed)
    speed = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    assert np.median(speed) >= 3.0 and np.mean(np.abs(speed - np.median(speed)) < 1e-6) > 0.6
    xy, _ = _trajectory("orbit", seed)
    centre = (xy.max(axis=0) + xy.min(axis=0)) / 2
    assert np.linalg.norm(xy - centre, axis=1).min() >= 0.6 * 15 - 1e-6
    xy, _ = _trajectory("stop_and_go", seed)
    speed = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    assert (speed < 1e-9).sum() >= 4 and speed.max() >= 3.5
    xy, angle = _trajectory("swing", seed)
    assert np.ptp(angle) > 0.5  # the bob turns with the swing


def test_distractors_move_in_no_class_way() -> None:
    from videocam.synthetic.motions import sample_distractor_motion

    speeds, turns = [], []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        t = np.arange(32, dtype=float)
        xy, angle = sample_distractor_motion(rng, t, np.zeros(2), np.full(2, 170.0), 1.0)
        speeds.append(np.linalg.norm(np.diff(xy, axis=0), axis=1).mean())
        turns.append(np.abs(np.diff(angle)).max())
    assert max(speeds) < 2.5 < 3.0  # slower than every fast class (pass, stop-and-go)
    assert max(turns) <= 0.04 + 1e-9  # no spinning


def test_render_switches_leave_the_rest_identical() -> None:
    scene = sample_scene(clip_rng(2, 2), SMALL, 3, 1)
    noisy, _ = render_scene(scene)
    clean, _ = render_scene(scene, noise=False)
    diff = noisy.astype(int) - clean
    assert 0.5 < diff.std() < 3 * scene.noise_std + 1
    flat, masks = render_scene(scene, texture=False, noise=False, lighting=False, distractors=False)
    assert masks.shape[0] == 1
    background = flat[~_dilate(masks.any(axis=0))]
    expected = np.rint(np.asarray(scene.background_colour))
    assert np.abs(background - expected).max() == 0


def test_camera_moves_the_background_and_the_objects_alike() -> None:
    config = GeneratorConfig(num_frames=12, camera_jitter=2.0, camera_pan=1.0)
    scene = sample_scene(clip_rng(3, 0), config, 3, 1)  # spin: the object stays in place
    quiet = {"distractors": False, "noise": False, "lighting": False}
    _, masks = render_scene(scene, **quiet)
    field, _ = render_scene(scene, class_objects=False, **quiet)
    offsets = scene.camera_offsets
    assert np.abs(np.diff(offsets, axis=0)).max() >= 0.5
    (h, w), m = config.size, 2 * scene.margin
    for t in range(1, config.num_frames):
        # frame t moved back by the camera's move since frame 0 is frame 0
        dx, dy = offsets[t] - offsets[0]
        back = cv2.warpAffine(
            field[t].astype(np.float32),
            np.array([[1.0, 0.0, -dx], [0.0, 1.0, -dy]]),
            (w, h),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        )
        assert np.abs(back - field[0])[m:-m, m:-m].mean() < 2.0
    # the object sits still in the scene, so on screen it moves against the camera
    obj = next(o for o in scene.objects if o.instance == 0)
    centroid = np.array([np.argwhere(f).mean(axis=0)[::-1] for f in masks[0]])
    assert np.abs(centroid - (obj.centers - offsets)).max() < 1.0
    assert np.ptp(centroid, axis=0).max() >= 2.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"classes": ("dribble", "kick")},
        {"classes": ()},
        {"classes": ("spin", "spin")},
        {"size": (128, 171)},
        {"size": (20, 40)},
        {"num_frames": 0},
        {"radius_range": (5.0, 2.0)},
        {"distractors": (3, 1)},
        {"noise_range": (-1.0, 2.0)},
        {"brightness": 1.5},
        {"texture": 1.5},
        {"play_size": 500},
    ],
)
def test_bad_config_raises_videocam_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(DatasetError):
        GeneratorConfig(**kwargs)  # type: ignore[arg-type]


def test_bad_clip_arguments_raise() -> None:
    with pytest.raises(VideocamError, match="class index"):
        generate_clip(0, 0, class_index=8, config=SMALL)
    with pytest.raises(VideocamError, match="num_instances"):
        generate_clip(0, 0, class_index=0, num_instances=0, config=SMALL)
    with pytest.raises(VideocamError, match="seed"):
        generate_clip(-1, 0, class_index=0, config=SMALL)


def test_other_sizes_and_rates_scale_the_scene() -> None:
    config = GeneratorConfig(size=(64, 86), num_frames=8, fps=50.0, classes=("orbit", "pass"))
    clip = generate_clip(1, 1, class_index=1, num_instances=2, config=config)
    assert clip.frames.shape == (8, 64, 86, 3) and clip.masks.shape == (2, 8, 64, 86)
    area = clip.masks[0].sum(axis=(1, 2)).max()
    assert math.pi * 4.5**2 * 0.5 <= area <= math.pi * 7.5**2 * 1.2
