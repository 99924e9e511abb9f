"""Writing and reading the synthetic Sports-1M-style dataset.

Layout of a dataset folder (every file written atomically: temporary file, then rename)::

    ROOT/
      manifest.json            format, generator version, seed, parameters, one entry per clip
      labels.txt               one class name per line; line i is label i
      train_partition.txt      "<relative video path> <label>" per line (Sports-1M style)
      test_partition.txt
      videos/clip_00000.mp4    H.264, yuv420p, frames exactly as rendered (crf 18 default)
      annotations/clip_00000.npz   masks (I, T, H, W) bool, boxes (I, T, 4) int32,
                                   centers (I, T, 2) float32, class_index, play_box
      annotations/clip_00000.json  class, instance count, seed, per-frame boxes

Ground truth covers the class objects only (distractors excluded) and is per instance:
``masks[i, t]`` are the pixels of instance ``i`` visible in frame ``t`` (at the video's
full resolution), ``boxes[i, t] = [x0, y0, x1, y1]`` their bounding box with exclusive
ends (-1s, or ``null`` in JSON, where the instance is hidden).

Labels are single integers, so each partition line carries one label; readers of the
Sports-1M format accept it as a one-element label set.

``manifest.json`` says ``"complete": false`` until every clip and the partition files
are written; rerunning :func:`make_dataset` with the same arguments on a folder left
incomplete (a killed run) generates only the missing clips.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from videocam._version import __version__
from videocam.errors import DatasetError, OutputPathError
from videocam.synthetic.motions import DEFAULT_CLASSES
from videocam.synthetic.scene import GeneratorConfig, SyntheticClip, generate_clip

__all__ = [
    "DEFAULT_INSTANCES",
    "FORMAT",
    "FORMAT_VERSION",
    "GENERATOR_VERSION",
    "Annotation",
    "ClipRecord",
    "DatasetManifest",
    "is_synthetic_dataset",
    "load_annotation",
    "make_dataset",
    "normalise_instances",
    "parse_instances",
    "plan_dataset",
    "read_manifest",
    "write_clip",
]

#: Name of the layout, in manifest.json.
FORMAT = "videocam-synthetic"
#: Version of the layout (files and their fields).
FORMAT_VERSION = 1
#: Version of the generator: bumped whenever the same seed and arguments would give
#: different pixels or ground truth.
GENERATOR_VERSION = "1.1.0"
#: Default share of clips with 1, 2 and 3 instances of the class object.
DEFAULT_INSTANCES: dict[int, float] = {1: 0.6, 2: 0.3, 3: 0.1}
#: Most instances of the class object a clip may hold.
MAX_INSTANCES = 6
# Worker processes are spawned: forking a process that runs torch or OpenCV threads can
# deadlock.
_START_METHOD = "spawn"


@dataclass(frozen=True)
class ClipRecord:
    """One clip of a dataset, as planned and listed in the manifest.

    Attributes:
        index: Clip index (the clip's random stream is ``(seed, index)``).
        stem: File stem (``clip_00042``), shared by the video and its annotations.
        class_index: Label index.
        num_instances: Number of class objects.
        split: ``"train"`` or ``"test"``.
    """

    index: int
    stem: str
    class_index: int
    num_instances: int
    split: str

    @property
    def video(self) -> str:
        """Video path relative to the dataset root."""
        return f"videos/{self.stem}.mp4"


@dataclass(frozen=True)
class DatasetManifest:
    """What manifest.json says about a dataset.

    Attributes:
        root: Dataset folder.
        seed: Dataset seed.
        config: Generator parameters (classes, frame size, length, clutter).
        instances: Share of clips per instance count.
        test_fraction: Share of each class held out in test_partition.txt.
        crf: H.264 quality the videos were written with.
        generator_version: :data:`GENERATOR_VERSION` of the writer.
        clips: One record per clip, by index.
        complete: Whether every file was written.
    """

    root: Path
    seed: int
    config: GeneratorConfig
    instances: dict[int, float]
    test_fraction: float
    crf: int
    generator_version: str
    clips: tuple[ClipRecord, ...]
    complete: bool

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names; label i is ``classes[i]``."""
        return self.config.classes

    def split(self, name: str) -> tuple[ClipRecord, ...]:
        """The clips of split ``"train"`` or ``"test"``."""
        if name not in ("train", "test"):
            raise DatasetError(f"split must be 'train' or 'test', got {name!r}")
        return tuple(c for c in self.clips if c.split == name)

    def parameters(self) -> dict[str, Any]:
        """Everything that determines the dataset's content (compared when resuming)."""
        return {
            "generator_version": self.generator_version,
            "seed": self.seed,
            "n": len(self.clips),
            "config": self.config.to_dict(),
            "instances": {str(k): v for k, v in sorted(self.instances.items())},
            "test_fraction": self.test_fraction,
            "crf": self.crf,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON content of manifest.json."""
        per_class = {name: 0 for name in self.classes}
        per_instances: dict[str, int] = {}
        for c in self.clips:
            per_class[self.classes[c.class_index]] += 1
            per_instances[str(c.num_instances)] = per_instances.get(str(c.num_instances), 0) + 1
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            **self.parameters(),
            "videocam_version": __version__,
            "numpy_version": np.__version__,
            "complete": self.complete,
            "counts": {
                "train": len(self.split("train")),
                "test": len(self.split("test")),
                "per_class": per_class,
                "per_instances": dict(sorted(per_instances.items())),
            },
            "clips": [
                {
                    "index": c.index,
                    "stem": c.stem,
                    "video": c.video,
                    "class_index": c.class_index,
                    "class_name": self.classes[c.class_index],
                    "num_instances": c.num_instances,
                    "split": c.split,
                }
                for c in self.clips
            ],
        }


@dataclass(frozen=True, eq=False)
class Annotation:
    """Ground truth of one clip, as read back from a dataset folder.

    Attributes:
        stem: File stem.
        video: Absolute path of the video.
        class_index: Label index.
        class_name: Label name.
        split: ``"train"`` or ``"test"``.
        masks: (I, T, H, W) bool visible pixels of each class-object instance.
        boxes: (I, T, 4) int32 ``[x0, y0, x1, y1]`` (exclusive ends; -1 where hidden).
        centers: (I, T, 2) float32 instance centres (x, y).
        play_box: ``(x0, y0, x1, y1)`` of the central square that holds the class objects.
        fps: Frame rate.
        seed: Dataset seed.
        index: Clip index.
        num_distractors: Number of distractors in the clip.
    """

    stem: str
    video: Path
    class_index: int
    class_name: str
    split: str
    masks: np.ndarray
    boxes: np.ndarray
    centers: np.ndarray
    play_box: tuple[int, int, int, int]
    fps: float
    seed: int
    index: int
    num_distractors: int

    @property
    def num_instances(self) -> int:
        """Number of class-object instances."""
        return int(self.masks.shape[0])

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        return int(self.masks.shape[1])

    def union_mask(self) -> np.ndarray:
        """(T, H, W) bool: pixels of any instance."""
        return self.masks.any(axis=0)


# --- arguments ---------------------------------------------------------------------------


def normalise_instances(instances: int | Sequence[int] | Mapping[int, float]) -> dict[int, float]:
    """Turns an ``instances`` argument into shares per instance count (summing to 1).

    Args:
        instances: An int (every clip has that many instances), a sequence of counts
            (drawn uniformly), or a mapping count -> weight (normalised).

    Returns:
        Sorted mapping from instance count to share.

    Raises:
        DatasetError: For counts outside 1..MAX_INSTANCES, negative or all-zero weights.
    """
    if isinstance(instances, Mapping):
        weights = {int(k): float(v) for k, v in instances.items()}
    elif isinstance(instances, (int, np.integer)):
        weights = {int(instances): 1.0}
    else:
        counts = [int(k) for k in instances]
        weights = {k: 1.0 for k in counts}
    if not weights:
        raise DatasetError("instances must name at least one instance count")
    for k, w in weights.items():
        if not 1 <= k <= MAX_INSTANCES:
            raise DatasetError(f"instance counts must be in 1..{MAX_INSTANCES}, got {k}")
        if not w >= 0 or w == float("inf"):
            raise DatasetError(f"instance weights must be finite and >= 0, got {w} for {k}")
    total = sum(weights.values())
    if total <= 0:
        raise DatasetError("instance weights must not all be zero")
    return {k: weights[k] / total for k in sorted(weights)}


def parse_instances(text: str) -> dict[int, float]:
    """Parses the CLI form of ``instances``.

    ``"2"`` -> every clip has 2 instances; ``"1,2,3"`` -> uniform over 1, 2, 3;
    ``"1:0.6,2:0.3,3:0.1"`` -> those shares.

    Args:
        text: The option value.

    Returns:
        Shares per instance count, as :func:`normalise_instances`.

    Raises:
        DatasetError: If the text does not parse.
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        if any(":" in p for p in parts):
            pairs = [p.split(":", 1) for p in parts]
            return normalise_instances({int(k): float(w) for k, w in pairs})
        return normalise_instances([int(p) for p in parts])
    except ValueError as exc:
        raise DatasetError(
            f"cannot read instances {text!r}: use N, N,M,... or N:weight,M:weight,..."
        ) from exc


def _stem_width(n: int) -> int:
    return max(5, len(str(max(n - 1, 0))))


def plan_dataset(
    n: int,
    seed: int,
    num_classes: int,
    instances: Mapping[int, float],
    test_fraction: float,
) -> tuple[ClipRecord, ...]:
    """Decides each clip's class, instance count and split.

    Classes are balanced (clip counts differ by at most one) and shuffled; instance counts
    are drawn independently of the class; each class holds out ``round(test_fraction *
    its clips)`` clips for the test partition.

    Args:
        n: Number of clips.
        seed: Dataset seed.
        num_classes: Number of classes.
        instances: Shares per instance count (see :func:`normalise_instances`).
        test_fraction: Share of each class in the test split, in [0, 1].

    Returns:
        One record per clip, by index.
    """
    rng = np.random.default_rng([seed, 2])
    labels = rng.permutation(np.arange(n) % num_classes)
    counts = np.array(sorted(instances))
    shares = np.array([instances[int(k)] for k in counts])
    num_instances = rng.choice(counts, size=n, p=shares / shares.sum())
    test = np.zeros(n, bool)
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        held = round(test_fraction * len(members))
        test[rng.permutation(members)[:held]] = True
    width = _stem_width(n)
    return tuple(
        ClipRecord(
            index=i,
            stem=f"clip_{i:0{width}d}",
            class_index=int(labels[i]),
            num_instances=int(num_instances[i]),
            split="test" if test[i] else "train",
        )
        for i in range(n)
    )


# --- writing -------------------------------------------------------------------------------


@contextlib.contextmanager
def _atomic(path: Path, mode: str = "w") -> Iterator[Any]:
    """Opens a hidden temporary sibling of ``path`` and renames it onto ``path`` on success."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_text(path: Path, text: str) -> None:
    with _atomic(path) as handle:
        handle.write(text)


def _write_json(path: Path, data: Any) -> None:
    _write_text(path, json.dumps(data, indent=1) + "\n")


def _annotation_json(
    clip: SyntheticClip, record: ClipRecord, config: GeneratorConfig
) -> dict[str, Any]:
    boxes = [
        [None if b[0] < 0 else [int(x) for x in b] for b in clip.boxes[:, t]]
        for t in range(clip.boxes.shape[1])
    ]
    return {
        "stem": record.stem,
        "video": record.video,
        "class_index": clip.class_index,
        "class_name": clip.class_name,
        "split": record.split,
        "num_instances": clip.num_instances,
        "num_distractors": clip.num_distractors,
        "num_frames": int(clip.frames.shape[0]),
        "size": [int(clip.frames.shape[1]), int(clip.frames.shape[2])],
        "fps": clip.fps,
        "seed": clip.seed,
        "index": clip.index,
        "play_box": list(config.play_box),
        "generator_version": GENERATOR_VERSION,
        "box_format": "per frame, per instance: [x0, y0, x1, y1] exclusive ends, null if hidden",
        "boxes": boxes,
    }


def write_clip(
    root: str | os.PathLike[str],
    seed: int,
    record: ClipRecord,
    config: GeneratorConfig,
    *,
    crf: int = 18,
) -> None:
    """Generates one clip and writes its video and annotations (each file atomically).

    The video is written last, so a clip whose video exists is complete.

    Args:
        root: Dataset folder (``videos/`` and ``annotations/`` must exist).
        seed: Dataset seed.
        record: The clip's plan.
        config: Generator parameters.
        crf: H.264 constant rate factor of the video.
    """
    from videocam.video.encode import write_video

    root = Path(root)
    clip = generate_clip(seed, record.index, record.class_index, record.num_instances, config)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        masks=clip.masks,
        boxes=clip.boxes,
        centers=clip.centers,
        class_index=np.int64(clip.class_index),
        play_box=np.asarray(config.play_box, np.int32),
    )
    with _atomic(root / "annotations" / f"{record.stem}.npz", "wb") as handle:
        handle.write(buffer.getvalue())
    _write_json(
        root / "annotations" / f"{record.stem}.json", _annotation_json(clip, record, config)
    )
    write_video(root / record.video, iter(clip.frames), config.fps, crf=crf, preset="medium")


def _clip_done(root: Path, record: ClipRecord) -> bool:
    return all(
        (root / p).is_file()
        for p in (
            record.video,
            f"annotations/{record.stem}.npz",
            f"annotations/{record.stem}.json",
        )
    )


def _write_clip_task(args: tuple[str, int, ClipRecord, GeneratorConfig, int]) -> int:
    root, seed, record, config, crf = args
    write_clip(root, seed, record, config, crf=crf)
    return record.index


def make_dataset(
    root: str | os.PathLike[str],
    n: int,
    seed: int,
    *,
    classes: Sequence[str] | None = None,
    size: tuple[int, int] = (128, 170),
    num_frames: int = 32,
    fps: float = 25.0,
    instances: int | Sequence[int] | Mapping[int, float] = DEFAULT_INSTANCES,
    test_fraction: float = 0.25,
    distractors: tuple[int, int] = (1, 3),
    crf: int = 18,
    workers: int = 1,
    progress: bool = True,
    config: GeneratorConfig | None = None,
) -> DatasetManifest:
    """Generates a synthetic Sports-1M-style dataset with ground truth in ``root``.

    Writes the layout described in the module docstring. Deterministic: the same
    arguments give the same clips (pixels before encoding, masks, boxes, splits) on any
    machine with the same NumPy and OpenCV, whatever ``workers`` is. Rerunning on a folder
    that a killed run left incomplete resumes it; a folder holding a different dataset
    or other files is refused.

    Args:
        root: Output folder (created if missing; must be empty or an incomplete or
            identical dataset of this generator).
        n: Number of clips (>= 1). Classes get n // C or n // C + 1 clips each.
        seed: Dataset seed (>= 0). Use different seeds for training and held-out sets.
        classes: Class names, in label order (default: all of
            :data:`videocam.synthetic.motions.DEFAULT_CLASSES`).
        size: Frame (height, width), both even.
        num_frames: Frames per clip (32 = two C3D clips of 16).
        fps: Frame rate of the videos.
        instances: Instance counts of the class object: an int (all clips), a sequence
            (uniform), or a mapping count -> weight. CLI form: see :func:`parse_instances`.
        test_fraction: Share of each class listed in test_partition.txt (the rest in
            train_partition.txt).
        distractors: Inclusive range of distractor objects per clip.
        crf: H.264 constant rate factor (18: visually lossless, frames round-trip within a
            few grey levels).
        workers: Processes generating clips in parallel.
        progress: Show a progress bar on stderr.
        config: Full generator parameters; when given, ``classes``, ``size``,
            ``num_frames``, ``fps`` and ``distractors`` are ignored.

    Returns:
        The manifest of the finished dataset.

    Raises:
        DatasetError: For invalid arguments, or a folder holding a different dataset.
        OutputPathError: If ``root`` is a file or holds files of something else.

    Example:
        >>> manifest = make_dataset("synthetic", n=300, seed=0)  # doctest: +SKIP
        >>> manifest.classes[:3]
        ('dribble', 'juggle', 'pass')
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise DatasetError(f"n must be a positive integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DatasetError(f"seed must be a non-negative integer, got {seed!r}")
    if not 0.0 <= float(test_fraction) <= 1.0:
        raise DatasetError(f"test_fraction must be in [0, 1], got {test_fraction}")
    if not 0 <= int(crf) <= 51:
        raise DatasetError(f"crf must be in 0..51, got {crf}")
    if int(workers) < 1:
        raise DatasetError(f"workers must be >= 1, got {workers}")
    if config is None:
        config = GeneratorConfig(
            classes=tuple(classes) if classes is not None else DEFAULT_CLASSES,
            size=size,
            num_frames=num_frames,
            fps=fps,
            distractors=distractors,
        )
    shares = normalise_instances(instances)
    n, seed = int(n), int(seed)
    manifest = DatasetManifest(
        root=Path(root),
        seed=seed,
        config=config,
        instances=shares,
        test_fraction=float(test_fraction),
        crf=int(crf),
        generator_version=GENERATOR_VERSION,
        clips=plan_dataset(n, seed, len(config.classes), shares, float(test_fraction)),
        complete=False,
    )
    root_path = _prepare_root(Path(root), manifest)
    todo = [c for c in manifest.clips if not _clip_done(root_path, c)]
    if todo:
        _write_json(root_path / "manifest.json", manifest.to_dict())
    _run(root_path, manifest, todo, int(workers), progress)

    _write_text(root_path / "labels.txt", "".join(f"{name}\n" for name in config.classes))
    for split in ("train", "test"):
        lines = "".join(f"{c.video} {c.class_index}\n" for c in manifest.split(split))
        _write_text(root_path / f"{split}_partition.txt", lines)
    done = DatasetManifest(**{**manifest.__dict__, "root": root_path, "complete": True})
    _write_json(root_path / "manifest.json", done.to_dict())
    return done


def _prepare_root(root: Path, manifest: DatasetManifest) -> Path:
    if root.exists() and not root.is_dir():
        raise OutputPathError(f"dataset folder {str(root)!r} is a file")
    root.mkdir(parents=True, exist_ok=True)
    existing = root / "manifest.json"
    if existing.is_file():
        try:
            old = json.loads(existing.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"cannot read {str(existing)!r}: {exc}") from exc
        new = manifest.parameters()
        if old.get("format") != FORMAT or {k: old.get(k) for k in new} != json.loads(
            json.dumps(new)
        ):
            raise DatasetError(
                f"{str(root)!r} already holds a different synthetic dataset; "
                "choose an empty folder or the same arguments"
            )
    elif any(not p.name.startswith(".") for p in root.iterdir()):
        raise OutputPathError(
            f"dataset folder {str(root)!r} is not empty and holds no synthetic dataset"
        )
    (root / "videos").mkdir(exist_ok=True)
    (root / "annotations").mkdir(exist_ok=True)
    return root.resolve()


def _run(
    root: Path, manifest: DatasetManifest, todo: list[ClipRecord], workers: int, progress: bool
) -> None:
    from tqdm import tqdm

    bar = tqdm(
        total=len(manifest.clips),
        initial=len(manifest.clips) - len(todo),
        disable=not progress,
        desc="synthetic clips",
        unit="clip",
    )
    tasks = [(str(root), manifest.seed, c, manifest.config, manifest.crf) for c in todo]
    try:
        if workers == 1 or len(tasks) <= 1:
            for task in tasks:
                _write_clip_task(task)
                bar.update()
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context(_START_METHOD)
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                for _ in pool.map(_write_clip_task, tasks, chunksize=4):
                    bar.update()
    finally:
        bar.close()


# --- reading -------------------------------------------------------------------------------


def is_synthetic_dataset(root: str | os.PathLike[str]) -> bool:
    """Whether ``root`` holds a dataset of this generator (its manifest.json says so)."""
    path = Path(root) / "manifest.json"
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def read_manifest(
    root: str | os.PathLike[str], *, require_complete: bool = False
) -> DatasetManifest:
    """Reads ``root/manifest.json``.

    Args:
        root: Dataset folder.
        require_complete: Refuse a dataset whose writing was interrupted.

    Returns:
        The manifest.

    Raises:
        DatasetError: If the manifest is missing, unreadable or of another format, or
            (with ``require_complete``) the dataset is incomplete.
    """
    root = Path(root)
    path = root / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DatasetError(
            f"{str(root)!r} holds no manifest.json (not a synthetic dataset)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read {str(path)!r}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DatasetError(f"{str(path)!r} is not a {FORMAT} manifest")
    if data.get("format_version") != FORMAT_VERSION:
        raise DatasetError(
            f"{str(path)!r} has format version {data.get('format_version')}, "
            f"this videocam reads {FORMAT_VERSION}"
        )
    try:
        raw = dict(data["config"])
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        config = GeneratorConfig(**fields)
        clips = tuple(
            ClipRecord(
                index=int(c["index"]),
                stem=str(c["stem"]),
                class_index=int(c["class_index"]),
                num_instances=int(c["num_instances"]),
                split=str(c["split"]),
            )
            for c in data["clips"]
        )
        manifest = DatasetManifest(
            root=root,
            seed=int(data["seed"]),
            config=config,
            instances={int(k): float(v) for k, v in data["instances"].items()},
            test_fraction=float(data["test_fraction"]),
            crf=int(data["crf"]),
            generator_version=str(data["generator_version"]),
            clips=clips,
            complete=bool(data["complete"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(f"{str(path)!r} is malformed: {exc}") from exc
    if require_complete and not manifest.complete:
        raise DatasetError(
            f"synthetic dataset {str(root)!r} is not complete (its writing was interrupted); "
            "rerun the same command to finish it"
        )
    return manifest


def load_annotation(root: str | os.PathLike[str], stem: str) -> Annotation:
    """Reads the ground truth of one clip.

    Args:
        root: Dataset folder.
        stem: Clip stem (``clip_00042``) or its video path (``videos/clip_00042.mp4``).

    Returns:
        The annotation (masks and boxes at the video's resolution).

    Raises:
        DatasetError: If the annotation files are missing or malformed.

    Example:
        >>> gt = load_annotation("synthetic", "clip_00000")  # doctest: +SKIP
        >>> gt.masks.shape  # (instances, frames, height, width)
        (2, 32, 128, 170)
    """
    root = Path(root)
    stem = Path(stem).stem
    base = root / "annotations" / stem
    try:
        meta = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
        with np.load(base.with_suffix(".npz")) as arrays:
            masks = arrays["masks"].astype(bool, copy=False)
            boxes = arrays["boxes"].astype(np.int32, copy=False)
            centers = arrays["centers"].astype(np.float32, copy=False)
            play_box = tuple(int(x) for x in arrays["play_box"])
        return Annotation(
            stem=stem,
            video=(root / meta["video"]).resolve(),
            class_index=int(meta["class_index"]),
            class_name=str(meta["class_name"]),
            split=str(meta["split"]),
            masks=masks,
            boxes=boxes,
            centers=centers,
            play_box=play_box,  # type: ignore[arg-type]
            fps=float(meta["fps"]),
            seed=int(meta["seed"]),
            index=int(meta["index"]),
            num_distractors=int(meta["num_distractors"]),
        )
    except FileNotFoundError as exc:
        raise DatasetError(f"no annotation for {stem!r} in {str(root)!r}: {exc.filename}") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"annotation of {stem!r} in {str(root)!r} is malformed: {exc}") from exc
