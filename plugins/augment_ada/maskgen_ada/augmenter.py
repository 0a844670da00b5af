"""ADA as a maskgen :class:`~maskgen.interfaces.Augmenter`: the pipeline plus the controller that adapts p."""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
from pydantic import Field

from maskgen.interfaces import AugmentContext, Augmenter, Options
from maskgen_ada.pipeline import AugmentPipe, PresetName

Tensor = torch.Tensor


class AdaOptions(Options):
    """Options of the ``ada`` augmenter."""

    pipeline: PresetName = Field("bgc", description="Named set of enabled transforms.")
    target: float = Field(0.6, ge=0.0, le=1.0, description="Target of the overfitting heuristic r_t.")
    interval: int = Field(4, ge=1, description="Minibatches between adjustments of p.")
    speed_kimg: float | None = Field(
        None, gt=0.0, description="Thousands of images for p to go 0 -> 1; None: the preset's value."
    )
    p: float | None = Field(None, ge=0.0, le=1.0, description="Fixed strength; disables adaptation.")
    initial_p: float = Field(0.0, ge=0.0, le=1.0, description="Strength at the start of adaptive training.")


class AdaAugmenter(Augmenter):
    """Adaptive discriminator augmentation.

    ``observe`` accumulates sign(D(real)); every ``interval`` minibatches ``end_step`` computes
    r_t = E[sign(D(real))] and moves p by
    ``sign(r_t - target) * batch_size * interval / (speed_kimg * 1000)``, a pace at which p would
    travel 0 -> 1 in ``speed_kimg`` thousand images. With a fixed ``p`` the heuristic is
    still measured (for logging) but p never moves.
    """

    sign_sum: Tensor
    sign_count: Tensor
    minibatches: Tensor
    heuristic: Tensor

    def __init__(self, options: AdaOptions, context: AugmentContext) -> None:
        super().__init__()
        self.options = options
        self.adaptive = options.p is None
        self.target = options.target
        self.interval = options.interval
        self.speed_kimg = options.speed_kimg if options.speed_kimg is not None else context.speed_kimg
        start = options.initial_p if options.p is None else options.p
        self.pipe = AugmentPipe(options.pipeline, p=start)  # holds p as the buffer ``pipe.p``
        self.register_buffer("sign_sum", torch.zeros([]))
        self.register_buffer("sign_count", torch.zeros([]))
        self.register_buffer("minibatches", torch.zeros([], dtype=torch.long))
        self.register_buffer("heuristic", torch.tensor(math.nan))  # last r_t; NaN until measured

    @property
    def p(self) -> float:
        return float(self.pipe.p)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor | None]:
        return self.pipe(images), None

    @torch.no_grad()
    def observe(self, real_logits: Tensor) -> None:
        signs = real_logits.detach().sign()
        self.sign_sum += signs.sum().to(self.sign_sum)
        self.sign_count += signs.numel()

    @torch.no_grad()
    def end_step(self, batch_size: int) -> None:
        """Count a minibatch; every ``interval`` of them measure r_t and adapt p.

        ``batch_size`` is the number of real images in one step over all processes.
        """
        self.minibatches += 1
        if int(self.minibatches) % self.interval != 0:
            return
        totals = torch.stack([self.sign_sum, self.sign_count])
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(totals)  # every process must see the same r_t and keep the same p
        if float(totals[1]) == 0:
            return  # nothing observed yet: keep accumulating
        r_t = totals[0] / totals[1]
        self.heuristic.copy_(r_t)
        if self.adaptive:
            step = batch_size * self.interval / (self.speed_kimg * 1000)
            self.pipe.p.copy_((self.pipe.p + torch.sign(r_t - self.target) * step).clamp(0.0, 1.0))
        self.sign_sum.zero_()
        self.sign_count.zero_()

    def stats(self) -> dict[str, float]:
        out = {"augment/strength": self.p}
        r_t = float(self.heuristic)
        if not math.isnan(r_t):
            out["augment/heuristic"] = r_t
        return out

    def extra_repr(self) -> str:
        mode = f"target={self.target}, speed_kimg={self.speed_kimg:g}" if self.adaptive else "fixed p"
        return f"pipeline={self.options.pipeline!r}, {mode}"
