"""Appearance of the synthetic objects and backgrounds: shapes, patterns, colours, textures.

Everything here is independent of the motion class: the same samplers dress the class
objects of every class and the distractors, so a single frame's appearance says nothing
about the class. Shapes are drawn from signed distance functions (negative inside, in
pixels) evaluated on local, rotated coordinates ``(u, v)``, which gives anti-aliased edges
and exact masks (a pixel belongs to an object where its signed distance is <= 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "PATTERNS",
    "SHAPES",
    "Appearance",
    "colour_distance",
    "hsv_to_rgb",
    "make_background",
    "pattern_sdf",
    "sample_appearance",
    "sample_background_colour",
    "shape_sdf",
]

#: Object outlines. All are scaled to the area of a disk of the object's ``radius``.
SHAPES = ("disk", "ellipse", "square", "triangle", "hexagon", "cross")
#: Two-colour markings; none is rotation-invariant, so spinning is visible on every shape.
PATTERNS = ("half", "stripe", "dot", "quarters")

# Shape constants chosen so every shape covers pi * radius**2 pixels.
_ELLIPSE_AXES = (1.3, 1.0 / 1.3)
_SQUARE_HALF = math.sqrt(math.pi) / 2.0  # 0.886
_TRIANGLE_CIRCUM = math.sqrt(4.0 * math.pi / (3.0 * math.sqrt(3.0)))  # 1.555
_HEXAGON_CIRCUM = math.sqrt(2.0 * math.pi / (3.0 * math.sqrt(3.0)))  # 1.100
_CROSS_ARM = (1.15, 0.45)  # half-length, half-width: area 8ab - 4b^2 = 3.33 r^2

#: Largest distance from the centre to any point of the shape, in units of the radius.
_EXTENT = {
    "disk": 1.0,
    "ellipse": _ELLIPSE_AXES[0],
    "square": _SQUARE_HALF * math.sqrt(2.0),
    "triangle": _TRIANGLE_CIRCUM,
    "hexagon": _HEXAGON_CIRCUM,
    "cross": math.hypot(*_CROSS_ARM),
}


@dataclass(frozen=True)
class Appearance:
    """How one object looks.

    Attributes:
        shape: One of :data:`SHAPES`.
        pattern: One of :data:`PATTERNS` (drawn in ``secondary`` over ``primary``).
        radius: Size in pixels: the shape covers about ``pi * radius**2`` pixels.
        primary: RGB colour (0..255) of the body.
        secondary: RGB colour (0..255) of the marking.
    """

    shape: str
    pattern: str
    radius: float
    primary: tuple[float, float, float]
    secondary: tuple[float, float, float]

    @property
    def extent(self) -> float:
        """Largest distance in pixels from the centre to a point of the shape."""
        return _EXTENT[self.shape] * self.radius


def _regular_polygon_sdf(u: np.ndarray, v: np.ndarray, sides: int, apothem: float) -> np.ndarray:
    """Exact signed distance to a regular polygon with one vertex pointing up (-v).

    The point is folded into the sector of its nearest edge; the distance is then to that
    edge inside the sector, or to the edge's end vertex beyond it.
    """
    sector = 2.0 * math.pi / sides
    phi = np.arctan2(v, u) + math.pi / 2.0  # edge normals at -pi/2 + k * sector
    phi = np.mod(phi + sector / 2.0, sector) - sector / 2.0
    rho = np.sqrt(u * u + v * v)
    dx = rho * np.cos(phi) - apothem
    dy = np.abs(rho * np.sin(phi)) - apothem * math.tan(math.pi / sides)
    return np.where(dy > 0.0, np.sqrt(np.maximum(dx, 0.0) ** 2 + dy * dy), dx)


def _box_sdf(u: np.ndarray, v: np.ndarray, half_u: float, half_v: float) -> np.ndarray:
    """Exact signed distance to an axis-aligned box."""
    qu, qv = np.abs(u) - half_u, np.abs(v) - half_v
    outside = np.sqrt(np.maximum(qu, 0.0) ** 2 + np.maximum(qv, 0.0) ** 2)
    return outside + np.minimum(np.maximum(qu, qv), 0.0)


def shape_sdf(shape: str, u: np.ndarray, v: np.ndarray, radius: float) -> np.ndarray:
    """Signed distance in pixels from local coordinates ``(u, v)`` to a shape's outline.

    Args:
        shape: One of :data:`SHAPES`.
        u: Local x coordinates (already rotated into the object's frame), any shape.
        v: Local y coordinates, broadcastable with ``u``.
        radius: Object size (the shape's area is ``pi * radius**2``).

    Returns:
        Array broadcast from ``u`` and ``v``: negative inside, positive outside.
    """
    r = radius
    if shape == "disk":
        return np.sqrt(u * u + v * v) - r
    if shape == "ellipse":
        a, b = _ELLIPSE_AXES[0] * r, _ELLIPSE_AXES[1] * r
        k = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        gradient = np.sqrt((u / (a * a)) ** 2 + (v / (b * b)) ** 2)
        # k - 1 over its gradient's length: the distance to first order near the outline
        return (k - 1.0) * k / np.maximum(gradient, 1e-6 / b)
    if shape == "square":
        h = _SQUARE_HALF * r
        return _box_sdf(u, v, h, h)
    if shape == "triangle":
        return _regular_polygon_sdf(u, v, 3, _TRIANGLE_CIRCUM * r / 2.0)
    if shape == "hexagon":
        return _regular_polygon_sdf(u, v, 6, _HEXAGON_CIRCUM * r * math.sqrt(3.0) / 2.0)
    if shape == "cross":
        a, b = _CROSS_ARM[0] * r, _CROSS_ARM[1] * r
        return np.minimum(_box_sdf(u, v, a, b), _box_sdf(u, v, b, a))
    raise ValueError(f"unknown shape {shape!r}")


def pattern_sdf(pattern: str, u: np.ndarray, v: np.ndarray, radius: float) -> np.ndarray:
    """Signed distance to the region of an object painted in its secondary colour.

    Args:
        pattern: One of :data:`PATTERNS`.
        u: Local x coordinates (rotated with the object).
        v: Local y coordinates.
        radius: Object size.

    Returns:
        Array broadcast from ``u`` and ``v``: negative where the marking is.
    """
    r = radius
    if pattern == "half":
        return -u
    if pattern == "stripe":
        return np.abs(u) - 0.3 * r + 0.0 * v
    if pattern == "dot":
        return np.sqrt((u - 0.45 * r) ** 2 + v * v) - 0.35 * r
    if pattern == "quarters":
        return -np.sign(u * v) * np.minimum(np.abs(u), np.abs(v))
    raise ValueError(f"unknown pattern {pattern!r}")


def hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    """Converts HSV (each in [0, 1]) to an RGB tuple in 0..255."""
    i = int(h * 6.0) % 6
    f = h * 6.0 - math.floor(h * 6.0)
    p, q, t = v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s)
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return (255.0 * rgb[0], 255.0 * rgb[1], 255.0 * rgb[2])


def colour_distance(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """Euclidean distance between two RGB colours (0..255 scale)."""
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))


def sample_background_colour(rng: np.random.Generator) -> tuple[float, float, float]:
    """A muted field colour (grass, clay, court, ice, ...), any hue."""
    return hsv_to_rgb(rng.uniform(), rng.uniform(0.15, 0.6), rng.uniform(0.3, 0.7))


def sample_appearance(
    rng: np.random.Generator,
    radius_range: tuple[float, float],
    background: tuple[float, float, float] | None,
    *,
    min_contrast: float = 80.0,
) -> Appearance:
    """Draws an object's look from one distribution shared by all classes and distractors.

    Args:
        rng: Random generator (consumed).
        radius_range: Inclusive range of the object size in pixels.
        background: Mean background colour; both object colours are redrawn (a few times)
            until they differ from it by at least ``min_contrast``. ``None`` skips the check.
        min_contrast: Minimum RGB distance between each object colour and the background.

    Returns:
        The appearance.
    """
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    pattern = PATTERNS[int(rng.integers(len(PATTERNS)))]
    radius = float(rng.uniform(*radius_range))
    primary = secondary = (0.0, 0.0, 0.0)
    for _ in range(20):
        hue = float(rng.uniform())
        primary = hsv_to_rgb(hue, rng.uniform(0.5, 1.0), rng.uniform(0.55, 1.0))
        kind = rng.uniform()
        if kind < 0.2:
            secondary = hsv_to_rgb(0.0, 0.0, rng.uniform(0.9, 1.0))  # white marking
        elif kind < 0.35:
            secondary = hsv_to_rgb(0.0, 0.0, rng.uniform(0.0, 0.15))  # black marking
        else:
            secondary = hsv_to_rgb(
                (hue + rng.uniform(0.25, 0.75)) % 1.0, rng.uniform(0.5, 1.0), rng.uniform(0.5, 1.0)
            )
        if background is None or (
            colour_distance(primary, background) >= min_contrast
            and colour_distance(secondary, background) >= min_contrast
            and colour_distance(primary, secondary) >= min_contrast
        ):
            break
    return Appearance(shape, pattern, radius, primary, secondary)


def make_background(
    rng: np.random.Generator,
    height: int,
    width: int,
    base: tuple[float, float, float],
    *,
    scale: float = 1.0,
    texture: float = 1.0,
) -> np.ndarray:
    """Renders a static sports-field-like background texture.

    A blend of the base colour with a nearby second colour through low-frequency noise,
    mowing stripes (a sinusoidal grating), a few straight field lines and fine static grain.

    Args:
        rng: Random generator (consumed).
        height: Rows of the texture.
        width: Columns of the texture.
        base: Mean colour (RGB, 0..255).
        scale: Length scale relative to 128-pixel frames (stripe widths, line widths).
        texture: Strength of the texture, scaling the contrast of every element (the
            colour blend, stripes up to +-12 grey levels, lines, grain up to sigma 4);
            0 gives a flat field of the base colour.

    Returns:
        float32 array (height, width, 3), values in 0..255.
    """
    out = np.empty((height, width, 3), np.float32)
    out[...] = np.asarray(base, np.float32)
    if texture <= 0:
        return out
    k = np.float32(texture)
    b = np.asarray(base, np.float32)
    # second colour: same family, shifted in brightness and a little in hue
    other = b * np.float32(rng.uniform(0.7, 1.3)) + rng.normal(0.0, 12.0, 3).astype(np.float32)
    grid = rng.standard_normal((int(rng.integers(3, 8)), int(rng.integers(4, 10)))).astype(
        np.float32
    )
    blend = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    blend = (blend - blend.min()) / max(float(blend.max() - blend.min()), 1e-6)
    out += (other - b) * k * blend[..., None]

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0.0, math.pi)
    wavelength = rng.uniform(12.0, 40.0) * scale
    amplitude = rng.uniform(0.0, 12.0)
    phase = rng.uniform(0.0, 2.0 * math.pi)
    proj = xx * math.cos(angle) + yy * math.sin(angle)
    out += (k * amplitude * np.sin(proj * (2.0 * math.pi / wavelength) + phase))[..., None]

    line_colour = np.asarray(hsv_to_rgb(0.0, 0.0, rng.uniform(0.8, 1.0)), np.float32)
    for _ in range(int(rng.integers(0, 4))):
        a = rng.uniform(0.0, math.pi)
        d = rng.uniform(0.0, 1.0) * (abs(width * math.cos(a)) + abs(height * math.sin(a)))
        offset = min(0.0, width * math.cos(a)) + min(0.0, height * math.sin(a))
        half_width = rng.uniform(0.6, 1.6) * scale
        dist = np.abs(xx * math.cos(a) + yy * math.sin(a) - (d + offset)) - half_width
        cover = np.clip(0.5 - dist, 0.0, 1.0)[..., None]
        out += (line_colour - out) * (cover * np.float32(min(1.0, rng.uniform(0.5, 0.9) * k)))

    out += k * rng.normal(0.0, rng.uniform(1.0, 4.0), (height, width, 1)).astype(np.float32)
    np.clip(out, 0.0, 255.0, out=out)
    return out
