"""Several processes (torchrun): who am I, and the process group.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them this is one process.
NCCL serves CUDA, gloo the CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Process:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Only the main process writes files and logs progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def from_environment() -> Process:
    return Process(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                   int(os.environ.get("LOCAL_RANK", 0)))


def init(process: Process, device: torch.device) -> None:
    """Join the process group (if there is more than one process)."""
    if process.distributed and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def shutdown(process: Process) -> None:
    if process.distributed and dist.is_initialized():
        dist.destroy_process_group()


def any_rank(process: Process, flag: bool, device: torch.device) -> bool:
    """True on every rank if ``flag`` is true on any rank (e.g. one rank was interrupted),
    so that all ranks stop after the same step."""
    if not process.distributed:
        return flag
    value = torch.tensor([int(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def sum_over_ranks(process: Process, value: int, device: torch.device) -> int:
    """The sum of ``value`` over all ranks (``value`` itself for one process)."""
    if not process.distributed:
        return value
    total = torch.tensor([value], device=device)
    dist.all_reduce(total)
    return int(total.item())
