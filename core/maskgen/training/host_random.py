"""Random decisions that steer control flow on the host (style mixing).

They come from torch's CPU generator, which checkpoints save and restore, and never from an
accelerator's, so drawing them never waits for the device.
"""

from __future__ import annotations

import torch


def uniform() -> float:
    """A number in [0, 1)."""
    return float(torch.rand((), device="cpu"))


def integer(low: int, high: int) -> int:
    """An integer in [low, high)."""
    return int(torch.randint(low, high, (), device="cpu"))
