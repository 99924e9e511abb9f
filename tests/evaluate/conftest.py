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


EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="session")
def mixed_root(synthetic_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Sports-1M-style folder built from the synthetic clips, with every kind of trouble:
    class names and a file name holding HTML, a corrupt video, a missing file, a YouTube
    URL with a local copy (multi-label) and one without. Items 0 and 6 have ground truth
    (their annotations are copied), the others none."""
    import shutil

    from videocam.synthetic import read_manifest

    root = tmp_path_factory.mktemp("mixed")
    manifest = read_manifest(synthetic_root)
    test = sorted(manifest.split("test"), key=lambda c: c.num_instances)  # 1, 1, 2, 2
    (root / "videos").mkdir()
    shutil.copytree(synthetic_root / "annotations", root / "annotations")
    single, other, _, double = test
    shutil.copy(synthetic_root / single.video, root / single.video)
    shutil.copy(synthetic_root / double.video, root / double.video)
    shutil.copy(synthetic_root / other.video, root / "videos" / "a<i>b&c.mp4")
    shutil.copy(synthetic_root / other.video, root / "videos" / "dQw4w9WgXcQ.mp4")
    (root / "videos" / f"{EVIL}.mp4").write_bytes(b"\x00\x01 this is not a video " * 40)
    names = ["dribble <script>alert(1)</script>", 'juggle & "co"', "pass <i>", "spin <b>"]
    (root / "labels.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    lines = [
        f"{single.video} {single.class_index}",
        f"videos/a<i>b&c.mp4 {other.class_index}",
        f"videos/{EVIL}.mp4 0",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ 1,2",
        "https://www.youtube.com/watch?v=AAAAAAAAAAA 3",
        "videos/missing.mp4 0",
        f"{double.video} {double.class_index}",
    ]
    (root / "test_partition.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def mixed_run(mixed_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """``evaluate`` in this process on :func:`mixed_root` with the report and a gallery of
    three clips."""
    from videocam.evaluate import evaluate

    from .nets import TINY

    out = tmp_path_factory.mktemp("mixed_run") / "out"
    return evaluate(mixed_root, TINY, out_dir=out, steps=2, batch_size=8, gallery=3, progress=False)
