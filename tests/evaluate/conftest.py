"""Fixtures of the evaluation tests: a tiny synthetic dataset (4 test clips, single and
two-instance), and the helpers to run ``python -m videocam.evaluate`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from videocam.synthetic import make_dataset

from .nets import CLASSES

HERE = Path(__file__).parent
REPO = HERE.parent.parent


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 clips of 12 frames at 48x64, 4 classes; the test split holds 4 clips, two of
    them with two instances of the class object (seed 2)."""
    root = tmp_path_factory.mktemp("evaluate") / "synthetic"
    make_dataset(
        root,
        n=8,
        seed=2,
        classes=CLASSES,
        size=(48, 64),
        num_frames=12,
        instances={1: 0.5, 2: 0.5},
        test_fraction=0.5,
        progress=False,
    )
    return root


def subprocess_env() -> dict[str, str]:
    """Environment of the spawned runs: one thread each, the test models importable as
    ``nets``."""
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "1"
    env["MKL_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(REPO), env.get("PYTHONPATH", "")])
    return env


def evaluate_command(dataset: Path, out_dir: Path, *extra: str) -> list[str]:
    """``python -m videocam.evaluate`` on the tiny model with fast settings."""
    return [
        sys.executable,
        "-m",
        "videocam.evaluate",
        str(dataset),
        "--model",
        "nets:TINY",
        "--steps",
        "3",
        "--batch-size",
        "4",
        "--clips-per-video",
        "2",
        "--no-report",
        "--quiet",
        "-o",
        str(out_dir),
        *extra,
    ]


def run(command: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs ``command`` with :func:`subprocess_env`; fails the test with its stderr."""
    done = subprocess.run(
        command, env=subprocess_env(), capture_output=True, text=True, timeout=timeout, cwd=REPO
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done
