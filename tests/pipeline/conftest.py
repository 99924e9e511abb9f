"""Fixtures of the pipeline tests (helpers live in :mod:`helpers`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from videocam.models import register_model, unregister_model

from .helpers import TINY_MODEL, pipeline_threads, tiny_config, write_labels, write_square_video


@pytest.fixture()
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Registers the tiny brightness model as ``pipeline_tiny`` for the CLI (removed after)."""
    labels = write_labels(tmp_path_factory.mktemp("labels") / "labels.txt")
    register_model(tiny_config(labels), overwrite=True)
    try:
        yield TINY_MODEL
    finally:
        unregister_model(TINY_MODEL)


@pytest.fixture()
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_video(name, **kw)`` writes a square video under ``tmp_path/in``."""
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)

    def make(name: str = "video.mp4", **kw: object) -> Path:
        return write_square_video(folder / name, **kw)  # type: ignore[arg-type]

    return make


@pytest.fixture()
def out_dir(tmp_path: Path) -> Path:
    """An empty output folder."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture(autouse=True)
def _no_thread_left() -> Iterator[None]:
    """Every test of this folder must end with the pipeline's threads gone."""
    yield
    assert pipeline_threads() == []
