"""Scenes of the synthetic benchmark: sampling (all randomness) and rendering (none).

A :class:`Scene` holds everything random about one clip: the class objects' trajectories
and looks, the distractors, the camera path, the lighting, and seeds for the background
texture and the sensor noise. :func:`render_scene` turns it into frames and ground truth
deterministically, and can leave out parts of it (class objects, distractors, texture,
noise) while everything else stays identical, which is how the tests check that the masks
coincide with the rendered class objects pixel for pixel.

Rendering is vectorised over frames: each object's anti-aliased sprite is evaluated for
all frames at once on a small window around it, then composited frame by frame.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from videocam.errors import DatasetError
from videocam.synthetic.appearance import (
    Appearance,
    make_background,
    pattern_sdf,
    sample_appearance,
    sample_background_colour,
    shape_sdf,
)
from videocam.synthetic.motions import DEFAULT_CLASSES, MOTIONS, sample_distractor_motion

__all__ = [
    "GeneratorConfig",
    "Scene",
    "SceneObject",
    "SyntheticClip",
    "boxes_from_masks",
    "clip_rng",
    "generate_clip",
    "render_scene",
    "sample_scene",
]


@dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of the synthetic clips (lengths in pixels of a 128-pixel-high frame).

    Attributes:
        classes: Class names (keys of :data:`videocam.synthetic.motions.MOTIONS`); label
            index i is ``classes[i]``.
        size: Frame (height, width). Both must be even (H.264 in yuv420p needs it). The
            default 128x170 is C3D's 128x171 rounded to an even width: the short side is
            128, so C3D's centre 112x112 crop applies directly.
        num_frames: Frames per clip. 32 frames leave room for a random 16-frame C3D clip
            in training and make the centre 16-frame clip (frames 8..23) the default view.
        fps: Frame rate. Motions are defined at 25 fps; other rates sample the same motion.
        radius_range: Object size range (the shapes cover pi * radius**2 pixels). 9..15 px
            gives objects of 18..30 px across: 1-2 cells of conv5b's 7x7 grid (16 px per
            cell on a 112 crop) and 2-4 cells of conv4b's 14x14 grid.
        distractors: Inclusive range of the number of distractor objects per clip.
        texture: Strength of the field texture (colour blend, stripes, lines, grain); 0 gives
            a flat colour, 1 the strongest texture.
        noise_range: Range of the standard deviation of per-frame Gaussian sensor noise
            (0..255 scale, grey: the same value added to R, G and B).
        camera_jitter: Standard deviation in pixels of the camera shake.
        camera_pan: Largest camera pan speed in pixels per frame (per axis).
        brightness: Largest relative amplitude of the lighting change (global gain and
            flicker).
        play_size: Side of the central square that holds every class object (the crop a
            model sees); ``None`` means round(0.875 * short side), i.e. 112 for 128.
    """

    classes: tuple[str, ...] = DEFAULT_CLASSES
    size: tuple[int, int] = (128, 170)
    num_frames: int = 32
    fps: float = 25.0
    radius_range: tuple[float, float] = (9.0, 15.0)
    distractors: tuple[int, int] = (1, 3)
    texture: float = 1.0
    noise_range: tuple[float, float] = (1.0, 3.0)
    camera_jitter: float = 1.0
    camera_pan: float = 0.25
    brightness: float = 0.12
    play_size: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))
        object.__setattr__(self, "radius_range", tuple(float(x) for x in self.radius_range))
        object.__setattr__(self, "distractors", tuple(int(x) for x in self.distractors))
        object.__setattr__(self, "noise_range", tuple(float(x) for x in self.noise_range))
        self._validate()

    def _validate(self) -> None:
        if not self.classes:
            raise DatasetError("the synthetic generator needs at least one class")
        unknown = [c for c in self.classes if c not in MOTIONS]
        if unknown:
            raise DatasetError(
                f"unknown synthetic class {unknown[0]!r}; known: {', '.join(MOTIONS)}"
            )
        if len(set(self.classes)) != len(self.classes):
            raise DatasetError("synthetic class names must not repeat")
        height, width = self.size
        if height < 32 or width < 32 or height % 2 or width % 2:
            raise DatasetError(
                f"frame size must be even and at least 32x32 (H.264 yuv420p), got {height}x{width}"
            )
        if self.num_frames < 1:
            raise DatasetError(f"num_frames must be >= 1, got {self.num_frames}")
        if not self.fps > 0:
            raise DatasetError(f"fps must be > 0, got {self.fps}")
        lo, hi = self.radius_range
        if not 1.0 <= lo <= hi:
            raise DatasetError(f"radius_range must satisfy 1 <= low <= high, got {lo}, {hi}")
        dlo, dhi = self.distractors
        if not 0 <= dlo <= dhi:
            raise DatasetError(f"distractors must satisfy 0 <= low <= high, got {dlo}, {dhi}")
        nlo, nhi = self.noise_range
        if not 0.0 <= nlo <= nhi:
            raise DatasetError(f"noise_range must satisfy 0 <= low <= high, got {nlo}, {nhi}")
        if not 0.0 <= self.texture <= 1.0:
            raise DatasetError(f"texture must be in [0, 1], got {self.texture}")
        if self.camera_jitter < 0 or self.camera_pan < 0 or not 0 <= self.brightness < 1:
            raise DatasetError("camera_jitter, camera_pan >= 0 and 0 <= brightness < 1 required")
        if self.play_size is not None and not 8 <= self.play_size <= min(self.size):
            raise DatasetError(f"play_size must be between 8 and {min(self.size)}")

    @property
    def scale(self) -> float:
        """Length scale: frame short side / 128."""
        return min(self.size) / 128.0

    @property
    def play_box(self) -> tuple[int, int, int, int]:
        """The central square (x0, y0, x1, y1), exclusive ends, that holds class objects."""
        height, width = self.size
        side = self.play_size if self.play_size is not None else round(0.875 * min(height, width))
        x0, y0 = (width - side) // 2, (height - side) // 2
        return (x0, y0, x0 + side, y0 + side)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready parameters (lists instead of tuples)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True, eq=False)
class SceneObject:
    """One object of a scene.

    Attributes:
        appearance: Its look.
        centers: (T, 2) centre (x, y) per frame in scene coordinates (frame coordinates
            plus the camera offset).
        angles: (T,) orientation per frame in radians.
        instance: Index among the class objects, or -1 for a distractor.
    """

    appearance: Appearance
    centers: np.ndarray
    angles: np.ndarray
    instance: int


@dataclass(frozen=True, eq=False)
class Scene:
    """Everything random about one clip (see the module docstring).

    Attributes:
        config: The generator parameters.
        class_index: Label index into ``config.classes``.
        objects: Class objects and distractors, in drawing order (back to front).
        camera_offsets: (T, 2) camera position (x, y) per frame, in (sub-)pixels; a scene
            point p appears at frame position p - offset.
        margin: Whole pixels beyond the largest camera offset (the background texture is
            rendered this much larger on every side).
        background_colour: Mean field colour (RGB).
        background_seed: Seed of the texture.
        gains: (T,) brightness multiplier per frame.
        noise_std: Standard deviation of the sensor noise.
        noise_seed: Seed of the sensor noise.
    """

    config: GeneratorConfig
    class_index: int
    objects: tuple[SceneObject, ...]
    camera_offsets: np.ndarray
    margin: int
    background_colour: tuple[float, float, float]
    background_seed: int
    gains: np.ndarray
    noise_std: float
    noise_seed: int

    @property
    def num_instances(self) -> int:
        """Number of class objects."""
        return sum(1 for o in self.objects if o.instance >= 0)

    @property
    def num_distractors(self) -> int:
        """Number of distractor objects."""
        return sum(1 for o in self.objects if o.instance < 0)


@dataclass(frozen=True, eq=False)
class SyntheticClip:
    """A rendered clip and its ground truth.

    Attributes:
        frames: (T, H, W, 3) uint8 RGB.
        masks: (I, T, H, W) bool, visible pixels of each class-object instance (distractors
            excluded; pixels hidden behind a distractor in front are not in the mask).
        boxes: (I, T, 4) int32 ``[x0, y0, x1, y1]`` of each mask (x1, y1 exclusive);
            all -1 in frames where the instance is not visible.
        centers: (I, T, 2) float32 instance centre (x, y) in frame coordinates.
        class_index: Label index.
        class_name: Label name.
        fps: Frame rate.
        seed: Dataset seed the clip was drawn from.
        index: Clip index within that seed.
        num_distractors: Number of distractors in the clip.
    """

    frames: np.ndarray
    masks: np.ndarray
    boxes: np.ndarray
    centers: np.ndarray
    class_index: int
    class_name: str
    fps: float
    seed: int
    index: int
    num_distractors: int

    @property
    def num_instances(self) -> int:
        """Number of class-object instances."""
        return int(self.masks.shape[0])


def clip_rng(seed: int, index: int) -> np.random.Generator:
    """The random generator of clip ``index`` of the dataset with seed ``seed``.

    Seeded with the entropy ``[seed, 1, index]``; dataset-level choices (class, instance
    count and split of each clip) use ``[seed, 2]``, so the streams never coincide.
    """
    return np.random.default_rng([seed, 1, index])


def _overlap_fraction(a: SceneObject, centers: np.ndarray, reach: float) -> float:
    distance = np.linalg.norm(a.centers - centers, axis=1)
    return float(np.mean(distance < 0.8 * (a.appearance.extent + reach)))


def sample_scene(
    rng: np.random.Generator,
    config: GeneratorConfig,
    class_index: int,
    num_instances: int = 1,
) -> Scene:
    """Draws every random choice of one clip.

    Args:
        rng: Random generator (consumed).
        config: Generator parameters.
        class_index: Index into ``config.classes`` of the motion the class objects follow.
        num_instances: Number of class objects (all follow the class motion, each with its
            own look, phase, position and parameters).

    Returns:
        The scene.

    Raises:
        DatasetError: If the class index or instance count is out of range.
    """
    if not 0 <= class_index < len(config.classes):
        raise DatasetError(f"class index {class_index} out of range 0..{len(config.classes) - 1}")
    if num_instances < 1:
        raise DatasetError(f"num_instances must be >= 1, got {num_instances}")
    height, width = config.size
    s = config.scale
    n = config.num_frames
    t = np.arange(n, dtype=np.float64) * (25.0 / config.fps)

    # camera: slow pan plus shake (an Ornstein-Uhlenbeck wander), sub-pixel and smooth as
    # a hand-held camera moves
    pan = rng.uniform(-config.camera_pan, config.camera_pan, 2) * s
    shake = np.empty((n, 2))
    shake[0] = rng.standard_normal(2) * config.camera_jitter * s
    rho = 0.9
    kicks = rng.standard_normal((n, 2)) * config.camera_jitter * s * math.sqrt(1 - rho * rho)
    for i in range(1, n):
        shake[i] = rho * shake[i - 1] + kicks[i]
    offsets = np.outer(t, pan) + shake
    margin = int(math.ceil(np.abs(offsets).max())) + 1 if n else 1

    background = sample_background_colour(rng)
    background_seed = int(rng.integers(2**63))
    noise_seed = int(rng.integers(2**63))
    noise_std = float(rng.uniform(*config.noise_range))
    base_gain = 1.0 + rng.uniform(-config.brightness, config.brightness) / 2.0
    flicker = rng.uniform(0.0, config.brightness / 2.0)
    gains = base_gain * (
        1.0 + flicker * np.sin(2.0 * math.pi * t / rng.uniform(20.0, 60.0) + rng.uniform(0, 7))
    )

    radius_range = (config.radius_range[0] * s, config.radius_range[1] * s)
    bx0, by0, bx1, by1 = config.play_box
    motion = MOTIONS[config.classes[class_index]]
    objects: list[SceneObject] = []
    for instance in range(num_instances):
        look = sample_appearance(rng, radius_range, background)
        reach = look.extent + 1.0
        lo = np.array([bx0 + reach + margin, by0 + reach + margin])
        hi = np.array([bx1 - 1 - reach - margin, by1 - 1 - reach - margin])
        hi = np.maximum(hi, lo)
        for _attempt in range(20):
            centers, angles = motion.sample(rng, t, lo, hi, s)
            if all(_overlap_fraction(o, centers, look.extent) <= 0.25 for o in objects):
                break
        objects.append(SceneObject(look, centers, angles, instance))

    for _ in range(int(rng.integers(config.distractors[0], config.distractors[1] + 1))):
        look = sample_appearance(rng, radius_range, background)
        if rng.uniform() < 0.7:  # most distractors wander inside the crop a model sees
            lo = np.array([bx0, by0], dtype=np.float64)
            hi = np.array([bx1 - 1, by1 - 1], dtype=np.float64)
        else:  # the others anywhere in the frame
            half = 0.5 * look.extent
            lo = np.array([half - margin, half - margin], dtype=np.float64)
            hi = np.array([width - 1 - half + margin, height - 1 - half + margin], np.float64)
        centers, angles = sample_distractor_motion(rng, t, lo, hi, s)
        objects.append(SceneObject(look, centers, angles, -1))

    order = rng.permutation(len(objects))
    return Scene(
        config=config,
        class_index=class_index,
        objects=tuple(objects[i] for i in order),
        camera_offsets=offsets,
        margin=margin,
        background_colour=background,
        background_seed=background_seed,
        gains=gains,
        noise_std=noise_std,
        noise_seed=noise_seed,
    )


def _draw(
    frames: np.ndarray | None,
    owner: np.ndarray,
    obj: SceneObject,
    owner_id: int,
    offsets: np.ndarray,
) -> None:
    """Composites one object into ``frames`` (if given) and marks its pixels in ``owner``."""
    n, height, width = owner.shape
    look = obj.appearance
    half = int(math.ceil(look.extent + 1.5))
    size = 2 * half + 1
    fx = obj.centers[:, 0] - offsets[:, 0]
    fy = obj.centers[:, 1] - offsets[:, 1]
    ix0 = np.floor(fx).astype(np.int64) - half
    iy0 = np.floor(fy).astype(np.int64) - half
    grid = np.arange(size, dtype=np.float64)
    x = (ix0[:, None] + grid - fx[:, None])[:, None, :]  # (T, 1, size)
    y = (iy0[:, None] + grid - fy[:, None])[:, :, None]  # (T, size, 1)
    cos = np.cos(obj.angles)[:, None, None]
    sin = np.sin(obj.angles)[:, None, None]
    u = cos * x + sin * y
    v = cos * y - sin * x
    sdf = shape_sdf(look.shape, u, v, look.radius)
    inside = sdf <= 0.0
    if frames is not None:
        alpha = np.clip(0.5 - sdf, 0.0, 1.0).astype(np.float32)[..., None]
        marking = np.clip(0.5 - pattern_sdf(look.pattern, u, v, look.radius), 0.0, 1.0)
        primary = np.asarray(look.primary, np.float32)
        secondary = np.asarray(look.secondary, np.float32)
        colour = primary + (secondary - primary) * marking.astype(np.float32)[..., None]
    for i in range(n):
        x0, y0 = int(ix0[i]), int(iy0[i])
        cx0, cy0 = max(x0, 0), max(y0, 0)
        cx1, cy1 = min(x0 + size, width), min(y0 + size, height)
        if cx0 >= cx1 or cy0 >= cy1:
            continue
        wy = slice(cy0 - y0, cy1 - y0)
        wx = slice(cx0 - x0, cx1 - x0)
        if frames is not None:
            region = frames[i, cy0:cy1, cx0:cx1]
            a = alpha[i, wy, wx]
            region += (colour[i, wy, wx] - region) * a
        owner[i, cy0:cy1, cx0:cx1][inside[i, wy, wx]] = owner_id


def boxes_from_masks(masks: np.ndarray) -> np.ndarray:
    """Bounding boxes of boolean masks.

    Args:
        masks: (..., H, W) bool.

    Returns:
        (..., 4) int32 ``[x0, y0, x1, y1]`` with exclusive ends; -1 everywhere for empty masks.
    """
    rows = masks.any(axis=-1)
    cols = masks.any(axis=-2)
    height, width = masks.shape[-2:]
    y0 = rows.argmax(axis=-1)
    y1 = height - rows[..., ::-1].argmax(axis=-1)
    x0 = cols.argmax(axis=-1)
    x1 = width - cols[..., ::-1].argmax(axis=-1)
    boxes = np.stack([x0, y0, x1, y1], axis=-1).astype(np.int32)
    boxes[~rows.any(axis=-1)] = -1
    return boxes


def render_scene(
    scene: Scene,
    *,
    class_objects: bool = True,
    distractors: bool = True,
    texture: bool = True,
    noise: bool = True,
    lighting: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Renders a scene's frames and class-object masks.

    Every switch leaves the rest of the scene untouched (same camera, same noise values),
    so two renders that differ in one switch differ only where that part is drawn.

    Args:
        scene: The scene.
        class_objects: Draw the class objects (their masks are computed either way).
        distractors: Draw the distractors (hidden ones do not occlude the masks).
        texture: Textured background of strength ``config.texture``; False draws the flat
            mean colour.
        noise: Add the sensor noise.
        lighting: Apply the brightness changes.

    Returns:
        ``(frames, masks)``: (T, H, W, 3) uint8 RGB and (I, T, H, W) bool visible masks.
    """
    config = scene.config
    height, width = config.size
    n = config.num_frames
    m = scene.margin
    texture_rng = np.random.default_rng(scene.background_seed)
    field_texture = make_background(
        texture_rng,
        height + 2 * m,
        width + 2 * m,
        scene.background_colour,
        scale=config.scale,
        texture=config.texture if texture else 0.0,
    )
    frames = np.empty((n, height, width, 3), np.float32)
    for i, (ox, oy) in enumerate(scene.camera_offsets):
        # frame pixel (x, y) shows the scene at (x + ox, y + oy): bilinear, sub-pixel
        shift = np.array([[1.0, 0.0, m + ox], [0.0, 1.0, m + oy]])
        cv2.warpAffine(
            field_texture,
            shift,
            (width, height),
            dst=frames[i],
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REFLECT,
        )

    owner = np.zeros((n, height, width), np.int16)
    ids: list[tuple[int, int]] = []
    for k, obj in enumerate(scene.objects, start=1):
        is_class = obj.instance >= 0
        if not is_class and not distractors:
            continue
        draw = class_objects if is_class else distractors
        _draw(frames if draw else None, owner, obj, k, scene.camera_offsets)
        if is_class:
            ids.append((obj.instance, k))
    ids.sort()
    masks = np.stack([owner == k for _, k in ids]) if ids else np.zeros((0, n, height, width), bool)

    if lighting:
        frames *= scene.gains.astype(np.float32)[:, None, None, None]
    if noise and scene.noise_std > 0:
        noise_rng = np.random.default_rng(scene.noise_seed)
        grain = noise_rng.standard_normal((n, height, width, 1), dtype=np.float32)
        frames += grain * np.float32(scene.noise_std)  # luminance noise, fresh every frame
    np.clip(frames, 0.0, 255.0, out=frames)
    return np.rint(frames).astype(np.uint8), masks


def generate_clip(
    seed: int,
    index: int,
    class_index: int,
    num_instances: int = 1,
    config: GeneratorConfig | None = None,
) -> SyntheticClip:
    """Samples and renders one clip, reproducibly from ``(seed, index)``.

    The clip depends only on ``seed``, ``index``, ``class_index``, ``num_instances`` and
    ``config`` (NumPy's PCG64 generator, see :func:`clip_rng`), not on any other
    clip, so datasets can be generated in any order or in parallel.

    Args:
        seed: Dataset seed (>= 0).
        index: Clip index (>= 0).
        class_index: Label index into ``config.classes``.
        num_instances: Number of class objects.
        config: Generator parameters (defaults: :class:`GeneratorConfig()`).

    Returns:
        The rendered clip with its ground truth.

    Example:
        >>> clip = generate_clip(seed=0, index=3, class_index=1, num_instances=2)
        >>> clip.frames.shape, clip.masks.shape
        ((32, 128, 170, 3), (2, 32, 128, 170))
    """
    config = config or GeneratorConfig()
    if seed < 0 or index < 0:
        raise DatasetError(f"seed and index must be >= 0, got {seed}, {index}")
    scene = sample_scene(clip_rng(seed, index), config, class_index, num_instances)
    frames, masks = render_scene(scene)
    class_objects = sorted((o for o in scene.objects if o.instance >= 0), key=lambda o: o.instance)
    centers = np.stack([o.centers - scene.camera_offsets for o in class_objects]).astype(np.float32)
    return SyntheticClip(
        frames=frames,
        masks=masks,
        boxes=boxes_from_masks(masks),
        centers=centers,
        class_index=class_index,
        class_name=config.classes[class_index],
        fps=config.fps,
        seed=seed,
        index=index,
        num_distractors=scene.num_distractors,
    )
