"""Choosing the torch device: never hard-coded, 'auto' takes the best one present."""

from __future__ import annotations

import torch

from maskgen.errors import MaskgenError


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise MaskgenError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise MaskgenError(f"device {name!r} requested but CUDA is not available on this machine")
    return device


def host_reads_are_free(device: torch.device) -> bool:
    """Whether reading a tensor's value on the host costs nothing.

    On a CPU the value is already there. On an accelerator the read waits for every queued kernel, and
    the device idles until the host queues more work; code on the training step's path that would
    read a value takes a read-free path there instead.
    """
    return device.type == "cpu"
