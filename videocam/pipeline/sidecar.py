"""Atomic JSON files (sidecars, manifests): written to a temporary file in the same folder
and renamed, so a reader never sees half a file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["write_json_atomic"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json_atomic(path: str | Path, data: Any, *, commit: bool = True) -> Path:
    """Writes ``data`` as JSON to ``path`` atomically.

    Args:
        path: Destination.
        data: JSON-serialisable data (NaN/inf are refused: the file must be valid JSON).
        commit: Rename into place now. With ``False`` the temporary file is returned and
            the caller renames it (``temp.replace(path)``) once the files that belong with
            it are complete.

    Returns:
        ``path`` when committed, else the temporary file.
    """
    path = Path(path)
    text = json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".part.json", dir=path.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600); give it the mode of an ordinary new file
        os.chmod(temp, 0o666 & ~_umask())
        if not commit:
            return temp
        temp.replace(path)
        return path
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
