"""torchrun support: one process per rank, each with a disjoint shard of the dataset.

Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) the evaluation joins the
process group (``nccl`` when the device is CUDA, ``gloo`` on CPU), rank ``r`` of ``W``
evaluates the videos whose dataset index ``i`` has ``i % W == r`` (no padding, so no video
twice), and the records are gathered on rank 0, which merges them by (index, method) and
writes the summary and the report. Without torchrun everything here is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["Context", "setup"]


@dataclass
class Context:
    """Where this process stands in the run.

    Attributes:
        rank: Global rank (0 without torchrun).
        world_size: Number of processes (1 without torchrun).
        local_rank: Rank on this node (picks the CUDA device).
        owns_group: This module created the process group (and destroys it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def active(self) -> bool:
        """Whether several processes take part."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: writes the merged records, the summary and the report."""
        return self.rank == 0

    def shard(self, indices: range | list[int]) -> list[int]:
        """The indices this rank evaluates: ``i % world_size == rank``."""
        return [i for i in indices if i % self.world_size == self.rank]

    def all_gather(self, obj: Any) -> list[Any]:
        """``obj`` of every rank, by rank (``[obj]`` without torchrun)."""
        if not self.active:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def gather(self, obj: Any) -> list[Any] | None:
        """``obj`` of every rank on rank 0 (``None`` elsewhere)."""
        if not self.active:
            return [obj]
        out: list[Any] | None = [None] * self.world_size if self.is_main else None
        dist.gather_object(obj, out, dst=0)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if not self.active:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        """Waits for every rank."""
        if self.active:
            dist.barrier()

    def close(self) -> None:
        """Leaves the process group if this module joined it."""
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def setup(device: torch.device) -> tuple[Context, torch.device]:
    """Joins the torchrun process group when there is one.

    Args:
        device: The device asked for; under torchrun a CUDA device becomes
            ``cuda:<LOCAL_RANK>``.

    Returns:
        The context and the device this process uses.
    """
    world = _env_int("WORLD_SIZE", 1)
    if world <= 1 or not dist.is_available():
        return Context(), device
    local_rank = _env_int("LOCAL_RANK", 0)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
        torch.cuda.set_device(device)
    owns = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        owns = True
    return (
        Context(
            rank=dist.get_rank(),
            world_size=dist.get_world_size(),
            local_rank=local_rank,
            owns_group=owns,
        ),
        device,
    )
