"""Appearance gives the class away nowhere: only motion identifies it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from videocam.synthetic import DEFAULT_CLASSES, GeneratorConfig, generate_clip
from videocam.synthetic.appearance import (
    SHAPES,
    colour_distance,
    make_background,
    sample_appearance,
    shape_sdf,
)

PER_CLASS = 16
CONFIG = GeneratorConfig(num_frames=6)


def _leave_one_out_nearest_centroid(features: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy of a nearest-class-mean classifier, each sample left out of its own mean."""
    x = (features - features.mean(axis=0)) / (features.std(axis=0) + 1e-9)
    classes = np.unique(labels)
    sums = np.stack([x[labels == c].sum(axis=0) for c in classes])
    counts = np.array([(labels == c).sum() for c in classes], float)
    correct = 0
    for i in range(len(x)):
        own = np.searchsorted(classes, labels[i])
        means = sums / counts[:, None]
        means[own] = (sums[own] - x[i]) / (counts[own] - 1)
        correct += classes[np.argmin(((means - x[i]) ** 2).sum(axis=1))] == labels[i]
    return correct / len(x)


@pytest.fixture(scope="module")
def features() -> dict[str, np.ndarray]:
    """Single-frame appearance features and multi-frame motion features of many clips."""
    appearance, motion, labels = [], [], []
    for c in range(len(DEFAULT_CLASSES)):
        for k in range(PER_CLASS):
            clip = generate_clip(77, c * PER_CLASS + k, c, 1, CONFIG)
            t = int(k % CONFIG.num_frames)  # one frame, anywhere in the clip
            frame, mask = clip.frames[t].astype(float), clip.masks[0, t]
            if not mask.any():
                continue
            x0, y0, x1, y1 = clip.boxes[0, t]
            appearance.append(
                [
                    *frame[mask].mean(axis=0),  # object colour
                    mask.sum(),  # object size
                    (x1 - x0) / (y1 - y0),  # object aspect
                    *frame.reshape(-1, 3).mean(axis=0),  # frame colour
                    frame.std(),  # frame contrast
                ]
            )
            track = np.array(
                [np.argwhere(m).mean(axis=0) if m.any() else [np.nan] * 2 for m in clip.masks[0]]
            )
            step = np.linalg.norm(np.diff(track, axis=0), axis=1)
            path = np.nansum(step)
            motion.append(
                [
                    np.nanmean(step),
                    np.nanstd(step),
                    np.linalg.norm(track[-1] - track[0]) / (path + 1e-6),
                    np.nanmax(track[:, 0]) - np.nanmin(track[:, 0]),
                    np.nanmax(track[:, 1]) - np.nanmin(track[:, 1]),
                    np.nanmean(np.linalg.norm(np.diff(track, 2, axis=0), axis=1)),
                    np.mean(step < 0.5),
                ]
            )
            labels.append(c)
    return {
        "appearance": np.array(appearance),
        "motion": np.nan_to_num(np.array(motion)),
        "labels": np.array(labels),
    }


def test_single_frame_appearance_does_not_predict_the_class(
    features: dict[str, np.ndarray],
) -> None:
    labels = features["labels"]
    chance = 1.0 / len(DEFAULT_CLASSES)
    assert len(labels) >= 0.9 * PER_CLASS * len(DEFAULT_CLASSES)
    accuracy = _leave_one_out_nearest_centroid(features["appearance"], labels)
    print(f"appearance -> class accuracy {accuracy:.3f} (chance {chance:.3f})")
    assert accuracy < 2.0 * chance, accuracy


def test_the_same_classifier_reads_the_class_from_motion(features: dict[str, np.ndarray]) -> None:
    """Control: the harness above can find class information where it exists."""
    chance = 1.0 / len(DEFAULT_CLASSES)
    accuracy = _leave_one_out_nearest_centroid(features["motion"], features["labels"])
    print(f"motion -> class accuracy {accuracy:.3f} (chance {chance:.3f})")
    assert accuracy > 3.0 * chance, accuracy


@pytest.mark.parametrize(("column", "name"), [(0, "red"), (1, "green"), (2, "blue"), (3, "area")])
def test_per_class_means_agree_within_sampling_error(
    features: dict[str, np.ndarray], column: int, name: str
) -> None:
    values, labels = features["appearance"][:, column], features["labels"]
    spread = values.std()
    for c in np.unique(labels):
        mine = values[labels == c]
        assert abs(mine.mean() - values.mean()) <= 3.5 * spread / math.sqrt(len(mine)), (name, c)


def test_every_class_uses_every_shape() -> None:
    """Shapes are drawn independently of the class (from the scene, not the pixels)."""
    from videocam.synthetic import clip_rng, sample_scene

    seen: dict[int, set[str]] = {c: set() for c in range(len(DEFAULT_CLASSES))}
    for c in seen:
        for i in range(8):
            scene = sample_scene(clip_rng(5, 100 * c + i), CONFIG, c, 3)
            seen[c] |= {o.appearance.shape for o in scene.objects}
    assert all(s == set(SHAPES) for s in seen.values())


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_covers_the_area_of_its_disk(shape: str) -> None:
    radius = 12.0
    ys, xs = np.mgrid[-30:30:0.25, -30:30:0.25]
    area = (shape_sdf(shape, xs, ys, radius) <= 0).sum() * 0.25**2
    assert area == pytest.approx(math.pi * radius**2, rel=0.07)


def test_object_colours_stand_out_from_the_field() -> None:
    rng = np.random.default_rng(0)
    field = (90.0, 120.0, 60.0)
    for _ in range(200):
        look = sample_appearance(rng, (9.0, 15.0), field)
        assert colour_distance(look.primary, field) >= 80
        assert colour_distance(look.secondary, field) >= 80
        assert 9.0 <= look.radius <= 15.0


def test_background_is_textured_but_flat_on_request() -> None:
    textured = make_background(np.random.default_rng(1), 64, 80, (100.0, 120.0, 80.0))
    faint = make_background(np.random.default_rng(1), 64, 80, (100.0, 120.0, 80.0), texture=0.3)
    flat = make_background(np.random.default_rng(1), 64, 80, (100.0, 120.0, 80.0), texture=0.0)
    assert textured.shape == faint.shape == flat.shape == (64, 80, 3)
    assert textured.std(axis=(0, 1)).min() > 2.0
    assert 0.1 < faint.std(axis=(0, 1)).mean() / textured.std(axis=(0, 1)).mean() < 0.5
    assert (flat == np.float32([100.0, 120.0, 80.0])).all()
