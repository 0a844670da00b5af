"""Data-parallel training across processes started by torchrun (gloo on CPUs, nccl on GPUs).

The trainer does not wrap its networks in DistributedDataParallel: DDP's reducer does not support
``torch.autograd.grad`` with ``create_graph=True``, which R1 and path-length regularization need, and
a GAN step toggles ``requires_grad`` between phases. Instead every rank computes the gradients of its
share of the global batch and :func:`average_gradients` all-reduces them in one flat buffer per phase,
the way DDP does underneath. Parameters start identical (same seed, then a broadcast from rank 0) and
receive identical averaged gradients, so they stay identical.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from maskgen.errors import MaskgenError


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


SINGLE = World()


def world_from_environment() -> World:
    """The World torchrun describes in RANK, WORLD_SIZE and LOCAL_RANK (SINGLE when they are absent)."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise MaskgenError(
            "RANK, WORLD_SIZE and LOCAL_RANK must be integers, as torchrun sets them"
        ) from None
    if size < 1 or not 0 <= rank < size:
        raise MaskgenError(f"bad torchrun environment: RANK={rank} WORLD_SIZE={size}")
    return World(rank, size, local_rank)


def start(world: World, device: torch.device) -> None:
    """Join the process group (no-op for one process): nccl for CUDA devices, gloo otherwise."""
    if not world.distributed or dist.is_initialized():
        return
    if not dist.is_available():
        raise MaskgenError("this torch build has no torch.distributed; run with one process")
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, rank=world.rank, world_size=world.size)


def finish(world: World) -> None:
    """Leave the process group cleanly: every rank waits for the others before tearing it down.

    Without the barrier, gloo ranks that exit while a peer is still sending can abort the job.
    """
    if world.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def training_device(device: torch.device, world: World) -> torch.device:
    """One GPU per local rank; CPU ranks share the CPU (and split its threads, see split_threads)."""
    if device.type == "cuda" and world.distributed:
        count = torch.cuda.device_count()
        if world.local_rank >= count:
            raise MaskgenError(f"local rank {world.local_rank} has no GPU: only {count} visible")
        torch.cuda.set_device(world.local_rank)
        return torch.device("cuda", world.local_rank)
    return device


def split_threads(world: World) -> None:
    """Give each CPU rank its share of the cores, so ranks do not oversubscribe the machine."""
    if world.distributed:
        per_rank = max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", world.size)))
        torch.set_num_threads(per_rank)


def broadcast_module(module: torch.nn.Module, world: World) -> None:
    """Copy rank 0's parameters and buffers to every rank."""
    if not world.distributed:
        return
    for tensor in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(tensor.data, src=0)


def average_gradients(module: torch.nn.Module, world: World) -> None:
    """Replace every gradient by its mean over ranks (one all-reduce of a flat buffer)."""
    if not world.distributed:
        return
    params = [p for p in module.parameters() if p.grad is not None]
    if not params:
        return
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    dist.all_reduce(flat)
    flat /= world.size
    offset = 0
    for p in params:
        count = p.numel()
        p.grad.copy_(flat[offset : offset + count].reshape(p.shape))
        offset += count


def average_tensor(tensor: torch.Tensor, world: World) -> torch.Tensor:
    """Mean of ``tensor`` over ranks (in place; returned for chaining)."""
    if world.distributed:
        dist.all_reduce(tensor)
        tensor /= world.size
    return tensor


def any_process(flag: bool, world: World) -> bool:
    """True on every rank when ``flag`` is true on at least one (a collective decision to stop)."""
    if not world.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0])
    if dist.get_backend() == "nccl":
        value = value.cuda()
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def broadcast_text(text: str, world: World) -> str:
    """Rank 0's string on every rank (e.g. the run directory it created)."""
    if not world.distributed:
        return text
    box = [text]
    dist.broadcast_object_list(box, src=0)
    return str(box[0])
