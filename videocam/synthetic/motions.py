"""Motion classes of the synthetic benchmark, and the class-irrelevant motion of distractors.

A class is a way of moving, nothing else: each class below turns random parameters into a
trajectory (centre per frame and orientation per frame) of a class object. Appearance is
drawn elsewhere, from one distribution shared by every class.

Time is measured in frames at 25 fps and lengths in pixels of a 128-pixel-high frame; the
caller passes ``t`` (frame times converted to 25-fps frames) and ``scale`` (frame short side
/ 128), so the same class moves alike at other frame rates and sizes.

Every trajectory of a class object stays inside the given area (centres between ``lo`` and
``hi``): the caller shrinks the central crop by the object's extent and the camera's
wander, so the class evidence is always inside the 112x112 crop C3D looks at.

Periods are at most 16 frames (one C3D clip) wherever the class needs a full cycle to be
recognised, so any 16-frame window of a clip holds its class's signature (a swing shows
at least two thirds of its period, an orbit at least 2.4 rad of its circle). Peak speeds
stay near or below 10 px per frame, which the 3x3x3 kernels of C3D's middle layers can
follow (one voxel there spans 4 to 8 input pixels).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_CLASSES",
    "MOTIONS",
    "MotionClass",
    "fold_into",
    "sample_distractor_motion",
]

#: Signature of a class's sampler: (rng, t, lo, hi, scale) -> (centres (T, 2), angles (T,)).
MotionSampler = Callable[
    [np.random.Generator, np.ndarray, np.ndarray, np.ndarray, float],
    tuple[np.ndarray, np.ndarray],
]


@dataclass(frozen=True)
class MotionClass:
    """One class of the benchmark.

    Attributes:
        name: Label written to labels.txt.
        description: What the class object does, in words.
        sample: Draws one trajectory; see :data:`MotionSampler`.
    """

    name: str
    description: str
    sample: MotionSampler


def fold_into(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Reflects coordinates into ``[lo, hi]`` as a ball bouncing off two walls would move."""
    length = hi - lo
    if length <= 0:
        return np.full_like(x, (lo + hi) / 2.0)
    y = np.mod(x - lo, 2.0 * length)
    return lo + length - np.abs(y - length)


def _place(
    path: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Translates a relative path to a random position where it fits inside [lo, hi].

    A path wider than the area is first shrunk about its centre (both axes alike, so the
    motion keeps its shape).
    """
    pmin, pmax = path.min(axis=0), path.max(axis=0)
    extent = pmax - pmin
    span = np.maximum(hi - lo, 0.0)
    ratio = np.where(extent > 0, span / np.maximum(extent, 1e-9), np.inf)
    shrink = min(1.0, float(ratio.min()))
    if shrink < 1.0:
        centre = (pmin + pmax) / 2.0
        path = centre + (path - centre) * shrink
        pmin, pmax = path.min(axis=0), path.max(axis=0)
    shift = rng.uniform(lo - pmin, np.maximum(hi - pmax, lo - pmin))
    return path + shift


def _slow_turn(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Orientation of an object that is not spinning: a slow steady turn."""
    return rng.uniform(0.0, 2.0 * math.pi) + rng.uniform(-0.04, 0.04) * t


def _fold_path(path: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.stack([fold_into(path[:, 0], lo[0], hi[0]), fold_into(path[:, 1], lo[1], hi[1])], 1)


def _direction(rng: np.random.Generator) -> np.ndarray:
    a = rng.uniform(0.0, 2.0 * math.pi)
    return np.array([math.cos(a), math.sin(a)])


def _dribble(rng, t, lo, hi, s):  # type: ignore[no-untyped-def]
    period = rng.uniform(10.0, 16.0)
    height = rng.uniform(20.0, 40.0) * s
    phase = rng.uniform(0.0, period)
    u = np.mod(t + phase, period) / period
    y = -height * 4.0 * u * (1.0 - u)  # parabolic flight between floor contacts
    x = rng.uniform(-0.4, 0.4) * s * t  # walking slowly while dribbling
    return _place(np.stack([x, y], 1), lo, hi, rng), _slow_turn(rng, t)


def _juggle(rng, t, lo, hi, s):  # type: ignore[no-untyped-def]
    period = rng.uniform(12.0, 16.0)  # one throw from hand to hand
    height = rng.uniform(20.0, 40.0) * s
    width = rng.uniform(18.0, 36.0) * s
    phase = rng.uniform(0.0, 2.0 * period)
    k = np.floor((t + phase) / period)
    u = (t + phase) / period - k
    y = -height * 4.0 * u * (1.0 - u)
    x = width * np.where(np.mod(k, 2.0) == 0, u, 1.0 - u)  # arcs alternate left/right
    return _place(np.stack([x, y], 1), lo, hi, rng), _slow_turn(rng, t)


def _pass(rng, t, lo, hi, s):  # type: ignore[no-untyped-def]
    speed = rng.uniform(3.0, 6.0) * s
    start = rng.uniform(lo, np.maximum(hi, lo))
    path = start + np.outer(t, _direction(rng) * speed)
    return _fold_path(path, lo, hi), _slow_turn(rng, t)


def _spin(rng, t, lo, hi, s):  # type: ignore[no-untyped-def]
    rate = rng.uniform(0.2, 0.45) * rng.choice([-1.0, 1.0])
    drift = rng.uniform(-0.2, 0.2, 2) * s
    path = np.outer(t, drift)
    angles = rng.uniform(0.0, 2.0 * math.pi) + rate * t
    return _place(path, lo, hi, rng), angles


def _zigzag(rng, t, lo, hi, s):  # type: ignore[no-untyped-def]
    forward = _direction(rng)
    side = np.array([-forward[1], forward[0]])
    speed = rng.uniform(1.5, 3.0) * s
    amplitude = rng.uniform(8.0, 15.0) * s
    period = rng.uniform(8.0, 14.0)
    u = np.mod(t / period + rng.uniform(), 1.0)
    lateral = amplitude * (4.0 * np.abs(u - 0.5) - 1.0)  # triangle wave in [-A, A]
    start = rng.uniform(lo, np.maximum(hi, lo))
    path = start + np.outer(t * speed, forward) + np.outer(lateral, side)
    return _fold_path(path, lo, hi), _slow_turn(rng, t)


def _swing(rng, t, lo, hi, s):  # type: ignore[no-untyped-def]
    length = rng.uniform(25.0, 45.0) * s
    amplitude = rng.uniform(0.4, 0.8)
    period = rng.uniform(16.0, 24.0)
    theta = amplitude * np.sin(2.0 * math.pi * t / period + rng.uniform(0.0, 2.0 * math.pi))
    path = np.stack([length * np.sin(theta), length * np.cos(theta)], 1)  # pivot above
    angles = rng.uniform(0.0, 2.0 * math.pi) - theta  # the bob turns with its string
    return _place(path, lo, hi, rng), angles


def _orbit(rng, t, lo, hi, s):  # type: ignore[no-untyped-def]
    radius = rng.uniform(15.0, 30.0) * s
    squash = rng.uniform(0.6, 1.0)  # a circle seen at an angle
    rate = rng.uniform(0.15, 0.3) * rng.choice([-1.0, 1.0])
    a = rng.uniform(0.0, 2.0 * math.pi) + rate * t
    path = np.stack([radius * np.cos(a), squash * radius * np.sin(a)], 1)
    if rng.uniform() < 0.5:
        path = path[:, ::-1].copy()
    return _place(path, lo, hi, rng), _slow_turn(rng, t)


def _stop_and_go(rng, t, lo, hi, s):  # type: ignore[no-untyped-def]
    # Piecewise: sprint for `go` frames in a fresh direction, stand still for `stop` frames.
    steps = np.diff(t, prepend=t[0])
    velocity = np.zeros((len(t), 2))
    clock = rng.uniform(0.0, 16.0)
    go, stop = rng.uniform(4.0, 8.0), rng.uniform(4.0, 8.0)
    direction = _direction(rng) * rng.uniform(3.5, 6.0) * s
    phase_start = -clock
    for i, ti in enumerate(t):
        while ti - phase_start >= go + stop:
            phase_start += go + stop
            go, stop = rng.uniform(4.0, 8.0), rng.uniform(4.0, 8.0)
            direction = _direction(rng) * rng.uniform(3.5, 6.0) * s
        if ti - phase_start < go:
            velocity[i] = direction
    start = rng.uniform(lo, np.maximum(hi, lo))
    path = start + np.cumsum(velocity * steps[:, None], axis=0)
    return _fold_path(path, lo, hi), _slow_turn(rng, t)


#: All motion classes, by name, in their default label order.
MOTIONS: dict[str, MotionClass] = {
    m.name: m
    for m in (
        MotionClass("dribble", "bounces up and down on one spot (parabolic hops)", _dribble),
        MotionClass("juggle", "parabolic arcs thrown alternately left and right", _juggle),
        MotionClass("pass", "fast straight line at constant speed, rebounding off walls", _pass),
        MotionClass("spin", "stays in place and rotates quickly", _spin),
        MotionClass("zigzag_run", "runs forward while swerving side to side", _zigzag),
        MotionClass("swing", "pendulum swing on an arc below a pivot", _swing),
        MotionClass("orbit", "circles (or ellipses) at constant angular speed", _orbit),
        MotionClass(
            "stop_and_go", "sprints, stops dead, sprints off in a new direction", _stop_and_go
        ),
    )
}

#: The default class list (every class in :data:`MOTIONS`).
DEFAULT_CLASSES: tuple[str, ...] = tuple(MOTIONS)


def sample_distractor_motion(
    rng: np.random.Generator, t: np.ndarray, lo: np.ndarray, hi: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """A trajectory that is no class's motion: slow Brownian drift, or loitering in place.

    The velocity follows an Ornstein-Uhlenbeck process (a smooth random walk, about 1 px per
    frame for drifters, 0.1 px for loiterers); the object turns slowly at a random rate.

    Args:
        rng: Random generator (consumed).
        t: Frame times in 25-fps frames, shape (T,).
        lo: Lowest allowed centre (x, y).
        hi: Highest allowed centre (x, y); the path rebounds off these walls.
        scale: Length scale (frame short side / 128).

    Returns:
        Centres (T, 2) and orientations (T,) in radians.
    """
    n = len(t)
    speed = (0.1 if rng.uniform() < 0.25 else rng.uniform(0.6, 1.1)) * scale
    rho = 0.9
    noise = rng.standard_normal((n, 2)) * speed * math.sqrt(1.0 - rho * rho)
    velocity = np.empty((n, 2))
    velocity[0] = rng.standard_normal(2) * speed
    for i in range(1, n):
        velocity[i] = rho * velocity[i - 1] + noise[i]
    steps = np.diff(t, prepend=t[0])
    start = rng.uniform(lo, np.maximum(hi, lo))
    path = _fold_path(start + np.cumsum(velocity * steps[:, None], axis=0), lo, hi)
    return path, _slow_turn(rng, t)
