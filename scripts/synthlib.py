"""Shared by ``train_synthetic.py`` and ``distill_synthetic.py``: which clips a training
set holds, and generating them in worker processes."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from typing import Any

import numpy as np

#: instances of the class object per clip, and their shares (recorded in the model card)
INSTANCES, INSTANCE_SHARES = (1, 2, 3), (0.6, 0.3, 0.1)


def clip_tasks(n: int, seed: int, classes: int, *extra: Any) -> list[tuple]:
    """``(seed, index, class, instances, *extra)`` for ``n`` clips: classes in turn, the
    instance count drawn from a generator of ``seed`` (reproducible)."""
    rng = np.random.default_rng(seed + 1000)
    return [
        (seed, i, i % classes, int(rng.choice(list(INSTANCES), p=list(INSTANCE_SHARES))), *extra)
        for i in range(n)
    ]


def run_tasks(worker: Callable[[tuple], Any], tasks: list[tuple], workers: int) -> list[Any]:
    """``[worker(t) for t in tasks]``, in ``workers`` spawned processes when more than one."""
    if workers > 1:
        with mp.get_context("spawn").Pool(workers) as pool:
            return pool.map(worker, tasks, chunksize=8)
    return [worker(t) for t in tasks]
