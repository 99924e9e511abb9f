"""The evaluation's output folder: append-only JSONL records that survive ``kill -9``.

Layout of ``OUTDIR``:

``run.json``
    The settings that determine the records (dataset, model, methods, clips per video,
    metric parameters). ``--resume`` refuses a folder whose settings differ.
``records.jsonl``
    One JSON object per line, one line per (dataset index, method). While a run is in
    progress each process appends to its own file (``records.jsonl`` for a single
    process, ``records.rank<R>.jsonl`` under torchrun) with one ``write`` per line,
    flushed and fsynced. At the end the records of every process are merged, sorted by
    (index, method order), and written atomically to ``records.jsonl``; the rank files
    are then removed.
``summary.json``, ``summary.md``, ``report/``
    Written at the end from the records alone.

Resuming: a process killed at any moment leaves complete lines plus, at worst, one torn
last line without its newline. Readers ignore such a tail; the process that owns the file
truncates it before appending. Records are keyed by (index, method): a key already
present is never computed or written again, so a resumed run ends with exactly the
records of an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from videocam.errors import OutputPathError, VideocamError

__all__ = [
    "RECORDS",
    "RUN",
    "RecordWriter",
    "RecordsError",
    "clean_json",
    "load_records",
    "merge_records",
    "prepare_output",
    "read_records",
    "record_key",
    "write_text_atomic",
]

RECORDS = "records.jsonl"
RUN = "run.json"
#: Settings that may change between a run and its resumption (they do not change what a
#: record holds).
RESUMABLE_CHANGES = ("limit", "batch_size", "device", "amp", "progress", "gallery", "report")


class RecordsError(VideocamError, ValueError):
    """The output folder holds records that cannot be read or continued."""


def record_key(record: Mapping[str, Any]) -> tuple[int, str]:
    """(dataset index, method) of a record."""
    return int(record["index"]), str(record["method"])


def clean_json(value: Any) -> Any:
    """Makes ``value`` strict JSON: NaN and infinities become ``None``; tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    return value


def _dumps(record: Mapping[str, Any]) -> bytes:
    text = json.dumps(
        clean_json(record), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )
    return (text + "\n").encode("utf-8")


def read_records(path: str | os.PathLike[str], *, repair: bool = False) -> list[dict[str, Any]]:
    """Reads a JSONL records file.

    A torn last line (no newline: the writer was killed mid-line) is ignored, and with
    ``repair`` cut off the file so that appending continues on a line boundary.

    Raises:
        RecordsError: A complete line is not a JSON record.
    """
    path = Path(path)
    if not path.is_file():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if repair and end < len(data):
        with open(path, "r+b") as handle:
            handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())
    records = []
    for number, line in enumerate(data[:end].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            record_key(record)
        except (ValueError, KeyError, TypeError) as exc:
            raise RecordsError(
                f"{path}:{number}: not a videocam evaluation record ({type(exc).__name__})"
            ) from exc
        records.append(record)
    return records


def _record_files(out_dir: Path) -> list[Path]:
    files = [out_dir / RECORDS] if (out_dir / RECORDS).is_file() else []
    return files + sorted(out_dir.glob("records.rank*.jsonl"))


def load_records(out_dir: str | os.PathLike[str]) -> dict[tuple[int, str], dict[str, Any]]:
    """Every complete record in ``out_dir`` (merged file and rank files), by key; the
    first copy of a key wins."""
    out: dict[tuple[int, str], dict[str, Any]] = {}
    for path in _record_files(Path(out_dir)):
        for record in read_records(path):
            out.setdefault(record_key(record), record)
    return out


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Writes ``text`` to ``path`` through a temporary file and a rename (fsynced)."""
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


class RecordWriter:
    """Appends records to a JSONL file, one ``write`` and one ``fsync`` per record.

    Args:
        path: The file (created if missing; a torn last line is cut off first).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        read_records(self.path, repair=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, record: Mapping[str, Any]) -> None:
        """Appends one record and makes it durable."""
        if self._fd is None:
            raise ValueError(f"{self.path} is closed")
        data = _dumps(record)
        written = 0
        while written < len(data):
            written += os.write(self._fd, data[written:])
        os.fsync(self._fd)

    def close(self) -> None:
        """Closes the file (harmless twice)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def merge_records(
    out_dir: str | os.PathLike[str],
    records: Iterable[Mapping[str, Any]],
    methods: Sequence[str],
) -> list[dict[str, Any]]:
    """Writes ``records`` (deduplicated by key, sorted by index and ``methods`` order)
    atomically to ``out_dir/records.jsonl`` and removes the rank files.

    Returns:
        The merged records, in file order.
    """
    out_dir = Path(out_dir)
    order = {m: i for i, m in enumerate(methods)}
    unique: dict[tuple[int, str], dict[str, Any]] = {}
    for record in records:
        unique.setdefault(record_key(record), dict(record))
    merged = sorted(
        unique.values(), key=lambda r: (int(r["index"]), order.get(r["method"], len(order)))
    )
    text = b"".join(_dumps(r) for r in merged).decode("utf-8")
    write_text_atomic(out_dir / RECORDS, text)
    for path in out_dir.glob("records.rank*.jsonl"):
        path.unlink(missing_ok=True)
    return merged


def prepare_output(
    out_dir: str | os.PathLike[str],
    settings: Mapping[str, Any],
    *,
    resume: bool,
    write: bool = True,
) -> Path:
    """Checks (and creates) the output folder for a run with ``settings``.

    Args:
        out_dir: The folder.
        settings: What determines the records (JSON data); stored in ``run.json``.
        resume: Continue the records already there.
        write: Create the folder and write ``run.json`` (only one process of a
            distributed run does).

    Raises:
        OutputPathError: ``out_dir`` is a file or cannot be created.
        RecordsError: Records are there but ``resume`` is off, or they belong to a run
            with other settings.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputPathError(f"output folder {out_dir} is a file")
    has_records = (
        any(p.stat().st_size > 0 for p in _record_files(out_dir)) if out_dir.is_dir() else False
    )
    if has_records and not resume:
        raise RecordsError(
            f"{out_dir} already holds evaluation records; pass --resume to finish that run "
            "or choose another output folder"
        )
    run_file = out_dir / RUN
    if resume and run_file.is_file():
        try:
            previous = json.loads(run_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RecordsError(f"cannot read {run_file}: {exc}") from exc
        current = clean_json(dict(settings))
        changed = sorted(
            key
            for key in set(previous) | set(current)
            if key not in RESUMABLE_CHANGES and previous.get(key) != current.get(key)
        )
        if changed:
            detail = "; ".join(
                f"{k}: {previous.get(k)!r} -> {current.get(k)!r}" for k in changed[:3]
            )
            raise RecordsError(
                f"{out_dir} holds a run with other settings ({detail}); "
                "resume it with the same settings or choose another output folder"
            )
    elif has_records:
        raise RecordsError(f"{out_dir} holds records but no {RUN}; cannot tell what they are")
    if write:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputPathError(f"cannot create output folder {out_dir}: {exc.strerror}") from exc
        text = json.dumps(clean_json(dict(settings)), indent=2, ensure_ascii=False, allow_nan=False)
        write_text_atomic(run_file, text + "\n")
    return out_dir
