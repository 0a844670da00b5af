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
