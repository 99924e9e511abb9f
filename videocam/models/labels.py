"""Class-name maps: the shipped Kinetics-400 and Sports-1M lists and user label files.

A label map is a list of class names in class-index order (``labels[i]`` names logit ``i``).

Shipped maps (package data in ``videocam/models/labels/``, one name per line):

* ``kinetics400``: the 400 Kinetics-400 classes in the index order of the torchvision and
  PyTorchVideo checkpoints (alphabetical; the list of ``torchvision.models._meta``, which
  agrees with PySlowFast's ``kinetics_classnames.json``).
* ``sports1m``: the 487 Sports-1M classes in the order of the dataset's official
  ``labels.txt`` (github.com/gtoderici/sports-1m-dataset), the order C3D's fc8 uses.

User label files are untrusted input. Accepted forms:

* text: one class name per line, line ``i`` (from 0) naming class ``i``; trailing empty
  lines are ignored, an empty line in between is an error (it would shift every index);
* JSON: a list of names, an object ``{name: index}`` (PySlowFast / PyTorchVideo style;
  names wrapped in an extra pair of double quotes, as in ``kinetics_classnames.json``, are
  unwrapped), or an object ``{"index": name}``; the indices must be exactly 0 .. N-1.

Example:
    >>> from videocam.models import load_labels
    >>> load_labels("kinetics400")[0]
    'abseiling'
    >>> len(load_labels("sports1m", num_classes=487))
    487
"""

from __future__ import annotations

import json
import unicodedata
from importlib import resources
from pathlib import Path

from videocam.errors import LabelFileError

__all__ = ["LABEL_MAPS", "list_label_maps", "load_labels"]

#: Shipped label maps: name -> file in ``videocam/models/labels/``.
LABEL_MAPS: dict[str, str] = {
    "kinetics400": "kinetics400.txt",
    "sports1m": "sports1m.txt",
}

#: Label files larger than this are refused (a label map is a few kB; this bounds memory).
MAX_LABEL_FILE_BYTES = 16 * 1024 * 1024


def list_label_maps() -> list[str]:
    """Names of the label maps shipped with videocam."""
    return sorted(LABEL_MAPS)


def load_labels(name_or_path: str | Path, num_classes: int | None = None) -> list[str]:
    """Loads a label map: a shipped name, or a text / JSON file.

    Args:
        name_or_path: ``"kinetics400"``, ``"sports1m"`` (see :data:`LABEL_MAPS`), or the
            path of a text file (one name per line) or a JSON file (a list of names,
            ``{name: index}`` or ``{"index": name}``). An existing file takes precedence
            over a shipped name of the same spelling.
        num_classes: If given, the map must have exactly this many names (the model's
            output size).

    Returns:
        The class names, index order.

    Raises:
        LabelFileError: Unknown name, missing or unreadable file, not UTF-8, invalid JSON,
            empty, duplicate names or indices, missing indices, control characters in a
            name, or a count different from ``num_classes``.
    """
    source = str(name_or_path)
    path = Path(name_or_path)
    if isinstance(name_or_path, str) and name_or_path in LABEL_MAPS and not path.exists():
        text = (resources.files("videocam.models") / "labels" / LABEL_MAPS[name_or_path]).read_text(
            encoding="utf-8"
        )
        labels = _parse_text(text, source)
    else:
        if not path.exists():
            shipped = ", ".join(list_label_maps())
            raise LabelFileError(f"label file not found: {source} (shipped label maps: {shipped})")
        if not path.is_file():
            raise LabelFileError(f"label path is not a file: {source}")
        text = _read_text(path)
        is_json = path.suffix.lower() == ".json" or text.lstrip()[:1] in ("{", "[")
        labels = _parse_json(text, source) if is_json else _parse_text(text, source)
    if not labels:
        raise LabelFileError(f"label file {source} holds no class names")
    _check_names(labels, source)
    if num_classes is not None and len(labels) != num_classes:
        raise LabelFileError(
            f"label file {source} has {len(labels)} class names but the model has "
            f"{num_classes} classes"
        )
    return labels


# --------------------------------------------------------------------------- parsing
def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_LABEL_FILE_BYTES:
            raise LabelFileError(
                f"label file {path} is {size} bytes; refusing files over {MAX_LABEL_FILE_BYTES}"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise LabelFileError(f"cannot read label file {path}: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LabelFileError(
            f"label file {path} is not UTF-8 text (bad byte at line {line}, offset {exc.start})"
        ) from exc


def _parse_text(text: str, source: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line:
            raise LabelFileError(
                f"label file {source}: line {number} is empty (one class name per line; "
                "an empty line would shift every later class index)"
            )
    return lines


def _parse_json(text: str, source: str) -> list[str]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabelFileError(
            f"label file {source} is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from exc
    if isinstance(data, list):
        bad = [i for i, name in enumerate(data) if not isinstance(name, str)]
        if bad:
            raise LabelFileError(
                f"label file {source}: entry {bad[0]} of the JSON list is not a string"
            )
        return [name.strip() for name in data]
    if not isinstance(data, dict):
        raise LabelFileError(
            f"label file {source}: JSON must be a list of names or an object {{name: index}}"
        )
    if data and all(isinstance(v, str) for v in data.values()):
        # {"0": "abseiling", ...}: index -> name
        pairs: list[tuple[str, object]] = []
        for key, name in data.items():
            try:
                pairs.append((name, int(key)))
            except ValueError:
                raise LabelFileError(
                    f"label file {source}: key {key!r} is not a class index "
                    '(expected {name: index} or {"index": name})'
                ) from None
    else:
        pairs = list(data.items())
    return _from_index_pairs(pairs, source)


def _from_index_pairs(pairs: list[tuple[str, object]], source: str) -> list[str]:
    by_index: dict[int, str] = {}
    for raw_name, index in pairs:
        name = _unquote(raw_name.strip())
        if isinstance(index, bool) or not isinstance(index, int):
            raise LabelFileError(
                f"label file {source}: index of {name!r} is {index!r}, not an integer"
            )
        if index < 0:
            raise LabelFileError(f"label file {source}: index of {name!r} is negative ({index})")
        if index in by_index:
            raise LabelFileError(
                f"label file {source}: index {index} is given twice "
                f"({by_index[index]!r} and {name!r})"
            )
        by_index[index] = name
    if not by_index:
        return []
    missing = sorted(set(range(len(by_index))) - set(by_index))
    if missing:
        shown = ", ".join(str(i) for i in missing[:5])
        raise LabelFileError(
            f"label file {source}: class indices must be 0..{len(by_index) - 1} with none "
            f"missing; missing {shown}{', ...' if len(missing) > 5 else ''}"
        )
    return [by_index[i] for i in range(len(by_index))]


def _unquote(name: str) -> str:
    """``'"sharpening knives"'`` -> ``'sharpening knives'`` (kinetics_classnames.json)."""
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return name[1:-1].strip()
    return name


def _check_names(labels: list[str], source: str) -> None:
    seen: dict[str, int] = {}
    for index, name in enumerate(labels):
        if not name:
            raise LabelFileError(f"label file {source}: class {index} has an empty name")
        if any(unicodedata.category(ch) == "Cc" for ch in name):
            raise LabelFileError(
                f"label file {source}: class {index} name {name!r} contains control characters"
            )
        if name in seen:
            raise LabelFileError(
                f"label file {source}: class name {name!r} appears twice "
                f"(classes {seen[name]} and {index})"
            )
        seen[name] = index
