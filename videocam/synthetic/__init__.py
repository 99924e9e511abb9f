"""Synthetic Sports-1M-style benchmark: sports-like motion classes with per-pixel ground truth.

Pretrained Sports-1M weights and real sports videos are out of reach offline, so videocam
ships a procedural benchmark where the pixels that carry the class evidence are known.
Each class is a way of moving (dribble, juggle, pass, spin, zig-zag run, swing, orbit,
stop-and-go); shapes, colours and sizes are drawn from one distribution for every class
and for the distractors, which drift at random, so only motion tells the class and only
motion tells the class object from a distractor. Clips have textured fields, camera
shake and pan, lighting changes and sensor noise; a share of them hold two or three
instances of the class object.

Example:
    >>> from videocam.synthetic import make_dataset, load_annotation
    >>> manifest = make_dataset("synthetic", n=300, seed=0)  # doctest: +SKIP
    >>> gt = load_annotation("synthetic", manifest.split("test")[0].stem)  # doctest: +SKIP

The folder layout is described in :mod:`videocam.synthetic.dataset`.
"""

from videocam.synthetic.appearance import PATTERNS, SHAPES, Appearance
from videocam.synthetic.dataset import (
    DEFAULT_INSTANCES,
    FORMAT,
    FORMAT_VERSION,
    GENERATOR_VERSION,
    Annotation,
    ClipRecord,
    DatasetManifest,
    is_synthetic_dataset,
    load_annotation,
    make_dataset,
    normalise_instances,
    parse_instances,
    plan_dataset,
    read_manifest,
    write_clip,
)
from videocam.synthetic.motions import DEFAULT_CLASSES, MOTIONS, MotionClass
from videocam.synthetic.scene import (
    GeneratorConfig,
    Scene,
    SceneObject,
    SyntheticClip,
    boxes_from_masks,
    clip_rng,
    generate_clip,
    render_scene,
    sample_scene,
)

__all__ = [
    "DEFAULT_CLASSES",
    "DEFAULT_INSTANCES",
    "FORMAT",
    "FORMAT_VERSION",
    "GENERATOR_VERSION",
    "MOTIONS",
    "PATTERNS",
    "SHAPES",
    "Annotation",
    "Appearance",
    "ClipRecord",
    "DatasetManifest",
    "GeneratorConfig",
    "MotionClass",
    "Scene",
    "SceneObject",
    "SyntheticClip",
    "boxes_from_masks",
    "clip_rng",
    "generate_clip",
    "is_synthetic_dataset",
    "load_annotation",
    "make_dataset",
    "normalise_instances",
    "parse_instances",
    "plan_dataset",
    "read_manifest",
    "render_scene",
    "sample_scene",
    "write_clip",
]
