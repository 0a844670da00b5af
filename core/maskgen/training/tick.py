"""Bookkeeping shared by the training loops: per-tick means of the step losses, interval crossings."""

from __future__ import annotations

import torch


class TickMeans:
    """Sums of each step's losses, kept on their device and read once per tick.

    Reading a loss every step would make the host wait for a GPU; summing on the device and averaging
    at a tick is the only read, and it also lets the caller catch a NaN before writing a checkpoint.
    """

    def __init__(self) -> None:
        self._sums: dict[str, torch.Tensor] = {}
        self._counts: dict[str, int] = {}

    def add(self, values: dict[str, torch.Tensor]) -> None:
        for key, value in values.items():
            value = value.detach().float()
            self._sums[key] = self._sums[key] + value if key in self._sums else value.clone()
            self._counts[key] = self._counts.get(key, 0) + 1

    def means(self) -> dict[str, float]:
        return {key: float(total) / self._counts[key] for key, total in self._sums.items()}

    def reset(self) -> None:
        self._sums, self._counts = {}, {}


def crossed(before: int, now: int, every: int) -> bool:
    """Whether a count going from ``before`` to ``now`` passed a multiple of ``every``."""
    return now // every > before // every
