"""The overfitting heuristic shared by adaptive augmenters (ADA's r_t, APA's lambda_t, Diffusion-GAN's r_d).

All three measure E[sign(D(real))] over ``interval`` minibatches and move their strength by a fixed
step towards a target. The measurement lives here once; each augmenter only decides what to move.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import Tensor

from maskgen.plugins.interfaces import Augmenter


class SignHeuristicAugmenter(Augmenter):
    """An augmenter that accumulates sign(D(real)) in buffers, so a resumed run continues the count."""

    sign_sum: Tensor
    sign_count: Tensor
    minibatches: Tensor
    heuristic: Tensor

    def __init__(self, interval: int, target: float, speed_kimg: float, adaptive: bool = True) -> None:
        super().__init__()
        self.interval = interval
        self.target = target
        self.speed_kimg = speed_kimg
        self.adaptive = adaptive  # False: measure the heuristic (for the logs) but never move
        self.register_buffer("sign_sum", torch.zeros([]))
        self.register_buffer("sign_count", torch.zeros([]))
        self.register_buffer("minibatches", torch.zeros([], dtype=torch.long))
        self.register_buffer("heuristic", torch.tensor(math.nan))  # last measurement; NaN until then
        # Host copies of ``minibatches`` and ``sign_count``: deciding whether this step measures, and
        # whether anything was observed, must not read a GPU tensor.
        self._host_minibatches: int | None = None
        self._host_sign_count: int | None = None

    def _load_from_state_dict(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super()._load_from_state_dict(*args, **kwargs)
        # Re-read from the loaded buffers at the next step (one read after a resume).
        self._host_minibatches = self._host_sign_count = None

    @torch.no_grad()
    def observe(self, real_logits: Tensor) -> None:
        signs = real_logits.detach().sign()
        observed = self._observed()
        self.sign_sum += signs.sum().to(self.sign_sum)
        self.sign_count += signs.numel()
        self._host_sign_count = observed + signs.numel()

    def _observed(self) -> int:
        if self._host_sign_count is None:
            self._host_sign_count = int(self.sign_count)
        return self._host_sign_count

    @torch.no_grad()
    def measure_heuristic(self) -> Tensor | None:
        """Count one minibatch; every ``interval`` of them return E[sign(D(real))], else None.

        The accumulators are all-reduced first, so every process sees the same value and keeps the
        same strength. Returns None (and keeps accumulating) when nothing was observed yet.
        """
        if self._host_minibatches is None:
            self._host_minibatches = int(self.minibatches)
        self._host_minibatches += 1
        self.minibatches += 1
        if self._host_minibatches % self.interval != 0:
            return None
        if self._observed() == 0:  # every process observes the same number of logits
            return None
        totals = torch.stack([self.sign_sum, self.sign_count])
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(totals)
        value = totals[0] / totals[1]
        self.heuristic.copy_(value)
        self.sign_sum.zero_()
        self.sign_count.zero_()
        self._host_sign_count = 0
        return value

    @torch.no_grad()
    def adapt(self, strength: Tensor, batch_size: int, upper: float = 1.0) -> bool:
        """Count one minibatch; every ``interval`` of them measure the heuristic and, when adaptive,
        move ``strength`` (a buffer, in place, on its device) one step towards the target, within
        [0, upper]. Returns whether it moved. ``batch_size`` counts real images over all processes.
        """
        value = self.measure_heuristic()
        if value is None or not self.adaptive:
            return False
        step = self.adjustment_step(batch_size, self.interval, self.speed_kimg)
        strength.copy_((strength + torch.sign(value - self.target) * step).clamp(0.0, upper))
        return True

    def heuristic_stats(self) -> dict[str, float]:
        """The last measurement for the logs; empty until there is one."""
        value = float(self.heuristic)
        return {} if math.isnan(value) else {"augment/heuristic": value}

    @staticmethod
    def adjustment_step(batch_size: int, interval: int, speed_kimg: float) -> float:
        """Strength change per measurement so that 0 -> 1 takes ``speed_kimg`` thousand images."""
        return batch_size * interval / (speed_kimg * 1000)
