"""Readers for the video dataset layouts users already have.

Every reader returns a :class:`VideoDataset`: class names, and one :class:`VideoItem` per
video with a stable index (its position in the description, from 0), the local file, the
label set (multi-label: a tuple of class indices) and, where the layout has it, ground
truth. :func:`open_dataset` recognises the layout of a folder or file.

Layouts (see REFERENCE.md section 4):

``sports1m``
    ``labels.txt`` (line i names class i) and partition files of
    ``<path-or-URL> <label>[,<label>...]`` lines (integer labels). A URL line maps to a
    local ``videos/<id>.*`` (a YouTube URL's video id, else the URL's file stem) when one
    exists; otherwise the item has no file and is reported missing. Relative paths are
    relative to the partition file's folder.
``list``
    PyTorchVideo / PySlowFast / MMAction2 list files: ``<path> <label>`` per line; several
    labels may follow (space- or comma-separated: MMAction2's multi-label form). Class
    names come from ``labels=`` or a ``labels.txt`` beside the file, else they are the
    numbers ``"0" .. "N-1"``.
``folders``
    ``root/<class name>/<video>``: classes are the sub-folders, sorted, numbered from 0;
    videos are the files with a video extension inside each class folder (recursively),
    sorted.
``kinetics``
    A Kinetics CSV with the columns ``label,youtube_id,time_start,time_end,split`` (the
    test CSVs have no ``label``). Item ``i`` is row ``i``; its file is
    ``{youtube_id}_{time_start:06d}_{time_end:06d}.<ext>`` found anywhere under the
    video root (default: the CSV's folder), e.g. ``<split>/<label>/<file>.mp4``. Classes
    are the CSV's labels, sorted (the Kinetics convention), unless ``labels=`` is given.
``ucf101``
    ``classInd.txt`` (``1 ApplyEyeMakeup``: 1-based) and list files of
    ``Class/v_x.avi [label]`` lines (the train lists carry the 1-based label, the test
    lists only the path; the class then comes from the folder name). Videos are looked
    for under ``video_root``, else beside the lists, their parent, or ``UCF-101/``.
``synthetic``
    The videocam synthetic layout (:mod:`videocam.synthetic`): a ``sports1m`` layout plus
    ``manifest.json`` and per-clip ground truth (``annotations/<stem>.npz``: per-instance
    masks and boxes).

Any ``sports1m`` or ``list`` dataset whose root holds ``annotations/<stem>.npz`` files in
the synthetic format gets that ground truth too.

Descriptions are untrusted input: every problem raises
:class:`~videocam.errors.DatasetError` with a one-line message naming the file, the line
number and the offending text.

Example:
    >>> from videocam.evaluate import open_dataset
    >>> ds = open_dataset("synthetic_test", split="test")  # doctest: +SKIP
    >>> ds.format, len(ds), ds.classes[:2]                  # doctest: +SKIP
    ('synthetic', 75, ('dribble', 'juggle'))
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from videocam.errors import DatasetError, LabelFileError
from videocam.models.labels import load_labels
from videocam.synthetic.dataset import Annotation, is_synthetic_dataset, load_annotation

__all__ = [
    "FORMATS",
    "VIDEO_EXTENSIONS",
    "VideoDataset",
    "VideoItem",
    "open_dataset",
    "read_class_folders",
    "read_kinetics_csv",
    "read_list_file",
    "read_sports1m",
    "read_synthetic",
    "read_ucf101",
    "youtube_id",
]

#: File extensions taken for videos (lower case).
VIDEO_EXTENSIONS = (
    ".mp4",
    ".avi",
    ".mkv",
    ".mov",
    ".webm",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".flv",
    ".wmv",
    ".3gp",
    ".ts",
    ".ogv",
)
#: Layout names accepted by ``open_dataset(format=...)``.
FORMATS = ("synthetic", "sports1m", "list", "folders", "kinetics", "ucf101")

#: Description files larger than this are refused (bounds memory on untrusted input).
MAX_DESCRIPTION_BYTES = 256 * 1024 * 1024
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_LINE = re.compile(r"^(?P<path>\S.*?)(?P<labels>(?:\s+\d+(?:,\d+)*,?)+)$")
_SHOWN = 80  # characters of an offending line quoted in an error message


@dataclass(frozen=True)
class VideoItem:
    """One video of a dataset.

    Attributes:
        index: Stable 0-based position in the dataset description.
        source: The video as the description names it (relative path, URL, CSV key).
        path: The local file, or ``None`` when there is none (a URL without a local
            copy). A path that does not exist is kept: opening it fails, and the run
            records the error.
        labels: Class indices (into :attr:`VideoDataset.classes`); several for
            multi-label datasets, none when the description has no label (test CSVs).
        line: 1-based line of the description the item comes from (``None`` for folders).
        missing: Why there is no local file, when :attr:`path` is ``None``.
        annotation: Stem of the ground truth in ``root/annotations/``, if any.
        num_instances: Number of class-object instances (synthetic ground truth).
    """

    index: int
    source: str
    path: Path | None
    labels: tuple[int, ...]
    line: int | None = None
    missing: str | None = None
    annotation: str | None = None
    num_instances: int | None = None


@dataclass(frozen=True, eq=False)
class VideoDataset:
    """A list of labelled videos.

    Attributes:
        format: One of :data:`FORMATS`.
        source: The file or folder the dataset was read from.
        root: The folder relative paths and ``annotations/`` are resolved against.
        classes: Class names; label ``i`` is ``classes[i]``.
        items: The videos, by index.
        split: The split read (``"test"``, ``"trainlist01"``, ...), if the layout has one.
    """

    format: str
    source: Path
    root: Path
    classes: tuple[str, ...]
    items: tuple[VideoItem, ...]
    split: str | None = None
    _annotations: dict[str, Annotation] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> VideoItem:
        return self.items[index]

    def __iter__(self) -> Iterator[VideoItem]:
        return iter(self.items)

    @property
    def has_ground_truth(self) -> bool:
        """Whether any item has ground truth."""
        return any(item.annotation is not None for item in self.items)

    @property
    def missing(self) -> tuple[VideoItem, ...]:
        """Items without a local file (URLs never downloaded, paths that do not exist)."""
        return tuple(item for item in self.items if item.path is None or not item.path.is_file())

    def ground_truth(self, item: VideoItem) -> Annotation | None:
        """The ground truth of ``item`` (masks and boxes at the video's resolution).

        Raises:
            DatasetError: The annotation files are missing or malformed.
        """
        if item.annotation is None:
            return None
        return load_annotation(self.root, item.annotation)

    def label_names(self, item: VideoItem) -> list[str]:
        """Names of the item's labels."""
        return [self.classes[label] for label in item.labels]

    def describe(self) -> dict[str, Any]:
        """Plain data about the dataset (for summaries)."""
        return {
            "format": self.format,
            "source": str(self.source),
            "split": self.split,
            "videos": len(self.items),
            "classes": len(self.classes),
            "missing": len(self.missing),
            "ground_truth": self.has_ground_truth,
        }


# ------------------------------------------------------------------------------ helpers
def _shown(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "...")


def _fail(path: Path, line: int | None, message: str, text: str | None = None) -> DatasetError:
    where = f"{path}:{line}" if line is not None else f"{path}"
    suffix = f": {_shown(text)}" if text is not None else ""
    return DatasetError(f"{where}: {message}{suffix}")


def _read_lines(path: Path, what: str) -> list[tuple[int, str]]:
    """(1-based line number, stripped text) of the non-blank, non-comment lines."""
    if not path.exists():
        raise DatasetError(f"{what} not found: {path}")
    if not path.is_file():
        raise DatasetError(f"{what} is not a file: {path}")
    if path.stat().st_size > MAX_DESCRIPTION_BYTES:
        raise DatasetError(f"{what} {path} is larger than {MAX_DESCRIPTION_BYTES} bytes")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{what} {path} is not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise DatasetError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            if "\x00" in stripped:
                raise _fail(path, number, "NUL byte in line", stripped.replace("\x00", "?"))
            out.append((number, stripped))
    return out


def _load_class_names(spec: str | os.PathLike[str]) -> tuple[str, ...]:
    """Class names from a label file or a shipped label map name."""
    try:
        return tuple(load_labels(spec if isinstance(spec, str) else Path(spec)))
    except LabelFileError as exc:
        raise DatasetError(str(exc)) from exc


def youtube_id(url: str) -> str | None:
    """The video id of a YouTube URL (``watch?v=``, ``youtu.be/``, ``/embed/``,
    ``/shorts/``, ``/v/``), or ``None`` if ``url`` is not one."""
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    candidate: str | None = None
    if host == "youtu.be" or host.endswith(".youtu.be"):
        candidate = parsed.path.strip("/").split("/")[0]
    elif host == "youtube.com" or host.endswith(".youtube.com"):
        query = parse_qs(parsed.query)
        if "v" in query:
            candidate = query["v"][0]
        else:
            parts = [p for p in parsed.path.split("/") if p]
            if len(parts) >= 2 and parts[0] in ("embed", "shorts", "v", "live"):
                candidate = parts[1]
    if candidate and _YOUTUBE_ID.match(candidate):
        return candidate
    return None


def _is_url(text: str) -> bool:
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text) is not None


class _FileIndex:
    """Video files under a folder by stem and by name (one walk, on first use)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._by_stem: dict[str, list[Path]] | None = None
        self._by_name: dict[str, list[Path]] = {}

    def _build(self) -> dict[str, list[Path]]:
        if self._by_stem is None:
            by_stem: dict[str, list[Path]] = {}
            if self.root.is_dir():
                for folder, dirs, files in os.walk(self.root):
                    dirs.sort()
                    for name in sorted(files):
                        path = Path(folder) / name
                        if path.suffix.lower() in VIDEO_EXTENSIONS:
                            by_stem.setdefault(path.stem, []).append(path)
                            self._by_name.setdefault(name, []).append(path)
            self._by_stem = by_stem
        return self._by_stem

    def by_stem(self, stem: str) -> list[Path]:
        return self._build().get(stem, [])

    def by_name(self, name: str) -> list[Path]:
        self._build()
        return self._by_name.get(name, [])


def _resolve_url(url: str, index: _FileIndex) -> tuple[Path | None, str | None]:
    key = youtube_id(url) or Path(urlparse(url).path).stem
    found = index.by_stem(key) if key else []
    if found:
        return found[0], None
    return None, f"no local copy of {url} (looked for {index.root.name}/{key or '?'}.*)"


def _parse_labels(
    tokens: Sequence[str], path: Path, number: int, text: str, one_based: bool = False
) -> tuple[int, ...]:
    labels: list[int] = []
    for token in tokens:
        for part in token.split(","):
            if part == "":
                continue
            value = int(part) - (1 if one_based else 0)
            if value < 0:
                raise _fail(path, number, f"label {part} is out of range", text)
            if value not in labels:
                labels.append(value)
    if not labels:
        raise _fail(path, number, "no label", text)
    return tuple(labels)


def _split_line(
    path: Path, number: int, text: str, *, need_label: bool = True
) -> tuple[str, list[str]]:
    """``<path> <labels...>`` -> (path text, label tokens). The path is everything before
    the trailing run of label tokens (so a path may contain spaces; its first word is
    always part of it)."""
    match = _LINE.match(text)
    if match is None:
        if not need_label:
            return text, []
        last = text.split()[-1]
        if len(text.split()) == 1:
            raise _fail(path, number, "expected '<path> <label>[,<label>...]', got no label", text)
        raise _fail(path, number, f"bad label {last!r} (labels are integers)", text)
    return match["path"], match["labels"].split()


def _annotation_stem(root: Path, video: Path | None, source: str) -> str | None:
    stem = video.stem if video is not None else Path(urlparse(source).path).stem
    if stem and (root / "annotations" / f"{stem}.npz").is_file():
        return stem
    return None


def _labelled_items(
    path: Path,
    root: Path,
    num_classes: int | None,
    *,
    with_annotations: bool,
) -> list[VideoItem]:
    """Items of a ``<path-or-URL> <label>[,<label>...]`` file."""
    lines = _read_lines(path, "partition file")
    index = _FileIndex(root / "videos")
    items: list[VideoItem] = []
    for number, text in lines:
        name, label_tokens = _split_line(path, number, text)
        labels = _parse_labels(label_tokens, path, number, text)
        if num_classes is not None:
            bad = [label for label in labels if label >= num_classes]
            if bad:
                raise _fail(
                    path, number, f"label {bad[0]} is out of range ({num_classes} classes)", text
                )
        missing = None
        video: Path | None
        if _is_url(name):
            video, missing = _resolve_url(name, index)
        else:
            video = (root / name).expanduser()
            video = video if video.is_absolute() else video.absolute()
        items.append(
            VideoItem(
                index=len(items),
                source=name,
                path=video,
                labels=labels,
                line=number,
                missing=missing,
                annotation=_annotation_stem(root, video, name) if with_annotations else None,
            )
        )
    if not items:
        raise DatasetError(f"{path} lists no video")
    return items


# ------------------------------------------------------------------------------ readers
def read_sports1m(
    partition: str | os.PathLike[str], labels: str | os.PathLike[str] | None = None
) -> VideoDataset:
    """Reads a Sports-1M-style partition file with its ``labels.txt``.

    Args:
        partition: The partition file (``<path-or-URL> <label>[,<label>...]`` lines).
        labels: The class-name file; default ``labels.txt`` beside the partition file.

    Raises:
        DatasetError: A bad line (the message names the file, line and text), an
            out-of-range label, a missing or invalid label file.
    """
    partition = Path(partition)
    classes = _load_class_names(labels if labels is not None else partition.parent / "labels.txt")
    root = partition.parent
    items = _labelled_items(partition, root, len(classes), with_annotations=True)
    split = partition.stem.removesuffix("_partition")
    return VideoDataset("sports1m", partition, root, classes, tuple(items), split)


def read_list_file(
    list_file: str | os.PathLike[str],
    labels: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] | None = None,
) -> VideoDataset:
    """Reads a PyTorchVideo / PySlowFast / MMAction2 list file (``<path> <label>``).

    Args:
        list_file: The list file.
        labels: Class names (a label file, see :func:`videocam.models.load_labels`);
            default ``labels.txt`` beside the list if present, else ``"0" .. "N-1"``.
        root: Folder relative paths are resolved against (MMAction2's ``data_prefix``);
            default the list file's folder.
    """
    list_file = Path(list_file)
    beside = list_file.parent / "labels.txt"
    classes: tuple[str, ...] | None = None
    if labels is not None:
        classes = _load_class_names(labels)
    elif beside.is_file():
        classes = _load_class_names(beside)
    base = Path(root) if root is not None else list_file.parent
    items = _labelled_items(
        list_file, base, len(classes) if classes else None, with_annotations=True
    )
    if classes is None:
        top = max(label for item in items for label in item.labels)
        classes = tuple(str(i) for i in range(top + 1))
    return VideoDataset("list", list_file, base, classes, tuple(items), list_file.stem)


def read_synthetic(root: str | os.PathLike[str], split: str = "test") -> VideoDataset:
    """Reads a videocam synthetic dataset folder (see :mod:`videocam.synthetic`).

    Args:
        root: The dataset folder (holds ``manifest.json``).
        split: ``"test"`` or ``"train"`` (the partition file read).

    Raises:
        DatasetError: The folder is not a complete synthetic dataset, or the split has no
            partition file.
    """
    from videocam.synthetic.dataset import read_manifest

    root = Path(root)
    manifest = read_manifest(root, require_complete=True)
    partition = root / f"{split}_partition.txt"
    if not partition.is_file():
        raise DatasetError(f"synthetic dataset {root} has no {partition.name}")
    base = read_sports1m(partition)
    counts = {clip.stem: clip.num_instances for clip in manifest.clips}
    items = tuple(
        VideoItem(
            index=item.index,
            source=item.source,
            path=item.path,
            labels=item.labels,
            line=item.line,
            missing=item.missing,
            annotation=item.annotation,
            num_instances=counts.get(item.annotation) if item.annotation else None,
        )
        for item in base.items
    )
    if base.classes != tuple(manifest.classes):
        raise DatasetError(f"{root}: labels.txt does not match the classes of manifest.json")
    return VideoDataset("synthetic", root, root, base.classes, items, split)


def read_class_folders(root: str | os.PathLike[str]) -> VideoDataset:
    """Reads ``root/<class name>/<video>`` (classes sorted, numbered from 0).

    Raises:
        DatasetError: No class folder or no video.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder not found: {root}")
    classes = tuple(
        sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    )
    if not classes:
        raise DatasetError(f"{root} has no class sub-folders (expected root/<class>/<video>)")
    items: list[VideoItem] = []
    for label, name in enumerate(classes):
        for folder, dirs, files in os.walk(root / name):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for file in sorted(files):
                path = Path(folder) / file
                if path.suffix.lower() in VIDEO_EXTENSIONS:
                    items.append(
                        VideoItem(
                            index=len(items),
                            source=path.relative_to(root).as_posix(),
                            path=path.absolute(),
                            labels=(label,),
                        )
                    )
    if not items:
        raise DatasetError(
            f"{root} holds no video in its class folders (extensions: {', '.join(VIDEO_EXTENSIONS)})"
        )
    return VideoDataset("folders", root, root, classes, tuple(items))


_KINETICS_REQUIRED = ("youtube_id", "time_start", "time_end")


def _time(value: str, path: Path, number: int, text: str, column: str) -> int:
    try:
        number_value = float(value)
    except ValueError:
        raise _fail(path, number, f"{column} is not a number", text) from None
    if not number_value >= 0 or number_value != int(number_value):
        raise _fail(path, number, f"{column} must be a whole number of seconds >= 0", text)
    return int(number_value)


def read_kinetics_csv(
    csv_file: str | os.PathLike[str],
    video_root: str | os.PathLike[str] | None = None,
    labels: str | os.PathLike[str] | None = None,
) -> VideoDataset:
    """Reads a Kinetics CSV (``label,youtube_id,time_start,time_end,split``).

    Args:
        csv_file: The CSV.
        video_root: Folder searched (recursively) for the files
            ``{youtube_id}_{time_start:06d}_{time_end:06d}.<ext>``; default the CSV's folder.
        labels: Class names in model order (e.g. ``"kinetics400"`` or a file); default the
            CSV's labels, sorted.

    Raises:
        DatasetError: Missing columns, a bad row (line number and text), a label that is not
            in ``labels``.
    """
    csv_file = Path(csv_file)
    lines = _read_lines(csv_file, "Kinetics CSV")
    if not lines:
        raise DatasetError(f"{csv_file} is empty")
    rows = list(csv.reader([text for _, text in lines]))
    header = [h.strip().lower() for h in rows[0]]
    absent = [c for c in _KINETICS_REQUIRED if c not in header]
    if absent:
        raise _fail(csv_file, lines[0][0], f"missing column(s) {', '.join(absent)}", lines[0][1])
    col = {name: header.index(name) for name in header}
    parsed: list[tuple[int, str, str | None, str, str | None]] = []
    for (number, text), row in zip(lines[1:], rows[1:], strict=True):
        if len(row) != len(header):
            raise _fail(csv_file, number, f"expected {len(header)} fields, got {len(row)}", text)
        key = row[col["youtube_id"]].strip()
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise _fail(csv_file, number, "bad youtube_id", text)
        start = _time(row[col["time_start"]].strip(), csv_file, number, text, "time_start")
        end = _time(row[col["time_end"]].strip(), csv_file, number, text, "time_end")
        if end < start:
            raise _fail(csv_file, number, "time_end is before time_start", text)
        label = row[col["label"]].strip() if "label" in col else None
        split = row[col["split"]].strip() if "split" in col else None
        parsed.append((number, f"{key}_{start:06d}_{end:06d}", label or None, text, split))
    if not parsed:
        raise DatasetError(f"{csv_file} lists no video")
    if labels is not None:
        classes = _load_class_names(labels)
    else:
        classes = tuple(sorted({label for *_, label, _t, _s in parsed if label is not None}))
    by_name = {name: i for i, name in enumerate(classes)}
    index = _FileIndex(Path(video_root) if video_root is not None else csv_file.parent)
    items: list[VideoItem] = []
    for number, stem, label, text, _split in parsed:
        if label is not None and label not in by_name:
            raise _fail(csv_file, number, f"label {label!r} is not a known class", text)
        found = index.by_stem(stem)
        if len(found) > 1 and label is not None:  # prefer the copy in the label's folder
            found = sorted(
                found, key=lambda p: p.parent.name not in (label, label.replace(" ", "_"))
            )
        items.append(
            VideoItem(
                index=len(items),
                source=stem,
                path=found[0] if found else None,
                labels=(by_name[label],) if label is not None else (),
                line=number,
                missing=None if found else f"no local copy of {stem} under {index.root}",
            )
        )
    return VideoDataset("kinetics", csv_file, index.root, classes, tuple(items), csv_file.stem)


def _read_class_index(path: Path) -> tuple[str, ...]:
    lines = _read_lines(path, "UCF101 class index")
    names: list[str] = []
    for number, text in lines:
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise _fail(path, number, "expected '<1-based index> <class name>'", text)
        if int(parts[0]) != len(names) + 1:
            raise _fail(path, number, f"expected index {len(names) + 1}", text)
        names.append(parts[1])
    if not names:
        raise DatasetError(f"{path} lists no class")
    return tuple(names)


def read_ucf101(
    list_file: str | os.PathLike[str],
    class_index: str | os.PathLike[str] | None = None,
    video_root: str | os.PathLike[str] | None = None,
) -> VideoDataset:
    """Reads a UCF101 train/test list with ``classInd.txt``.

    Args:
        list_file: ``trainlist0X.txt`` (``Class/v_x.avi <1-based label>``) or
            ``testlist0X.txt`` (``Class/v_x.avi``).
        class_index: ``classInd.txt``; default beside the list.
        video_root: Folder holding the ``Class/`` folders; default the first of the list's
            folder, its parent, ``UCF-101`` beside or above it that holds the first video.

    Raises:
        DatasetError: A bad line, a label out of range, or a label that contradicts the
            class folder of its path.
    """
    list_file = Path(list_file)
    index_path = Path(class_index) if class_index is not None else list_file.parent / "classInd.txt"
    classes = _read_class_index(index_path)
    by_name = {name: i for i, name in enumerate(classes)}
    lines = _read_lines(list_file, "UCF101 list")
    entries: list[tuple[int, str, tuple[int, ...]]] = []
    for number, text in lines:
        name, tokens = _split_line(list_file, number, text, need_label=False)
        folder = Path(name).parts[0] if len(Path(name).parts) > 1 else None
        if tokens:
            labels = _parse_labels(tokens, list_file, number, text, one_based=True)
            if len(labels) != 1 or labels[0] >= len(classes):
                raise _fail(list_file, number, f"label out of range 1..{len(classes)}", text)
            if folder in by_name and by_name[folder] != labels[0]:
                raise _fail(
                    list_file,
                    number,
                    f"label {labels[0] + 1} ({classes[labels[0]]}) contradicts folder {folder}",
                    text,
                )
        elif folder in by_name:
            labels = (by_name[folder],)
        else:
            raise _fail(list_file, number, "no label and the folder is not a class", text)
        entries.append((number, name, labels))
    if not entries:
        raise DatasetError(f"{list_file} lists no video")
    if video_root is not None:
        root = Path(video_root)
    else:
        here = list_file.parent.absolute()
        candidates = [here, here.parent, here / "UCF-101", here.parent / "UCF-101"]
        root = next((c for c in candidates if (c / entries[0][1]).is_file()), candidates[0])
    items = tuple(
        VideoItem(index=i, source=name, path=(root / name).absolute(), labels=labels, line=number)
        for i, (number, name, labels) in enumerate(entries)
    )
    return VideoDataset("ucf101", list_file, root, classes, items, list_file.stem)


# ------------------------------------------------------------------------------ detection
def _ucf_list_name(split: str) -> str:
    if split in ("test", "train"):
        return f"{split}list01.txt"
    return split if split.endswith(".txt") else f"{split}.txt"


def _detect_file(path: Path, labels: str | os.PathLike[str] | None) -> str:
    if path.suffix.lower() == ".csv":
        return "kinetics"
    if path.name.lower() == "classind.txt":
        raise DatasetError(f"{path} is the UCF101 class index: pass a train/test list file")
    if (path.parent / "classInd.txt").is_file():
        return "ucf101"
    if labels is None and (path.parent / "labels.txt").is_file():
        if is_synthetic_dataset(path.parent):
            return "synthetic-file"
        return "sports1m"
    return "list"


def open_dataset(
    path: str | os.PathLike[str],
    *,
    split: str = "test",
    format: str | None = None,  # noqa: A002 - the natural name for the user
    labels: str | os.PathLike[str] | None = None,
    video_root: str | os.PathLike[str] | None = None,
) -> VideoDataset:
    """Opens a dataset, recognising its layout.

    A folder is, in this order: a videocam synthetic dataset (``manifest.json``; reads
    ``<split>_partition.txt``), a Sports-1M layout (``labels.txt`` and
    ``<split>_partition.txt``), a UCF101 layout (``classInd.txt`` in the folder or its
    ``ucfTrainTestlist/``; reads ``<split>list01.txt``), or class folders. A file is a
    Kinetics CSV (``.csv``), a UCF101 list (``classInd.txt`` beside it), a Sports-1M
    partition file (``labels.txt`` beside it), or a ``<path> <label>`` list file.

    Args:
        path: The dataset folder or description file.
        split: Which split of a folder layout (``"test"``, ``"train"``; UCF101 also
            ``"testlist02"`` ...). Ignored for a file.
        format: Force a layout (one of :data:`FORMATS`).
        labels: Class names (label file or shipped label map) for list and Kinetics files,
            or the ``labels.txt`` of a Sports-1M partition.
        video_root: Where the videos of a Kinetics CSV / UCF101 list are.

    Raises:
        DatasetError: The path does not exist, its layout is not recognised, or its
            description is invalid.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DatasetError(f"dataset not found: {path}")
    if format is not None and format not in FORMATS:
        raise DatasetError(f"unknown dataset format {format!r}; choose one of {', '.join(FORMATS)}")
    if path.is_dir():
        if format in (None, "synthetic") and is_synthetic_dataset(path):
            return read_synthetic(path, split)
        if format == "synthetic":
            raise DatasetError(f"{path} is not a videocam synthetic dataset (no manifest.json)")
        partition = path / f"{split}_partition.txt"
        if format in (None, "sports1m") and (path / "labels.txt").is_file():
            if partition.is_file():
                return read_sports1m(partition, labels)
            others = sorted(p.name for p in path.glob("*_partition.txt"))
            if others or format == "sports1m":
                raise DatasetError(
                    f"{path} has no {partition.name} (partition files: {', '.join(others) or 'none'})"
                )
        for folder in (path, path / "ucfTrainTestlist"):
            if format in (None, "ucf101") and (folder / "classInd.txt").is_file():
                list_file = folder / _ucf_list_name(split)
                if not list_file.is_file():
                    raise DatasetError(f"{folder} has no UCF101 list {list_file.name}")
                return read_ucf101(list_file, folder / "classInd.txt", video_root)
        if format in (None, "folders"):
            return read_class_folders(path)
        raise DatasetError(f"{path} is a folder; a {format} dataset is described by a file")
    kind = format or _detect_file(path, labels)
    if kind == "kinetics":
        return read_kinetics_csv(path, video_root, labels)
    if kind == "ucf101":
        return read_ucf101(path, None, video_root)
    if kind == "synthetic-file":
        return read_synthetic(path.parent, path.stem.removesuffix("_partition"))
    if kind == "synthetic":
        raise DatasetError("a synthetic dataset is opened by its folder")
    if kind == "sports1m":
        return read_sports1m(path, labels)
    if kind == "folders":
        raise DatasetError(f"{path} is a file; class folders are opened by their root folder")
    return read_list_file(path, labels, video_root)
