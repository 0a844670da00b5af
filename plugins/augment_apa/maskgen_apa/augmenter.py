"""APA as a maskgen :class:`~maskgen.Augmenter`: pseudo reals plus the controller that adapts p."""

from __future__ import annotations

from collections.abc import Callable

import torch
from pydantic import Field, model_validator

from maskgen import AugmentContext, Options, SignHeuristicAugmenter
from maskgen.config import KIMG_MAX
from maskgen.devices import host_reads_are_free

Tensor = torch.Tensor


class APAOptions(Options):
    """Options of the ``apa`` augmenter."""

    target: float = Field(0.6, ge=0.0, le=1.0, description="Target of the overfitting heuristic lambda_t.")
    interval: int = Field(4, ge=1, description="Minibatches between adjustments of p.")
    speed_kimg: float | None = Field(
        None,
        gt=0.0,
        le=KIMG_MAX,
        description="Thousands of images for p to go 0 -> 1; None: the preset's value.",
    )
    p: float | None = Field(None, ge=0.0, le=1.0, description="Fixed probability; disables adaptation.")
    initial_p: float = Field(
        0.0, ge=0.0, lt=1.0, description="Probability at the start of adaptive training."
    )
    max_p: float = Field(0.99, gt=0.0, lt=1.0, description="Upper clamp of the adapted p (p stays below 1).")
    use_ema: bool = Field(
        False, description="Draw pseudo reals from G_ema instead of the generator being trained."
    )

    @model_validator(mode="after")
    def _initial_below_max(self) -> APAOptions:
        if self.initial_p > self.max_p:
            raise ValueError(f"initial_p ({self.initial_p}) must not exceed max_p ({self.max_p})")
        return self


class APAAugmenter(SignHeuristicAugmenter):
    """Adaptive pseudo augmentation (Jiang et al. 2021, "Deceive D").

    ``prepare_reals`` replaces each real image, independently with probability p, by a generated image
    (detached: D learns from it, G gets no gradient through it), so D is told that some fakes are
    real. ``forward`` is the identity. ``observe`` accumulates sign(D(real)); every ``interval``
    minibatches ``end_step`` computes lambda_t = E[sign(D(real))] and moves p by
    ``sign(lambda_t - target) * batch_size * interval / (speed_kimg * 1000)``, clamped to
    [0, max_p]. With a fixed ``p`` the heuristic is still measured but p never moves.
    """

    p: Tensor

    def __init__(self, options: APAOptions, context: AugmentContext) -> None:
        speed_kimg = options.speed_kimg if options.speed_kimg is not None else context.speed_kimg
        super().__init__(options.interval, options.target, speed_kimg, adaptive=options.p is None)
        self.options = options
        self.max_p = options.max_p
        self.use_ema = options.use_ema
        start = options.initial_p if options.p is None else options.p
        self.register_buffer("p", torch.tensor(float(start)))

    def prepare_reals(self, reals: Tensor, make_fakes: Callable[..., Tensor]) -> Tensor:
        if not host_reads_are_free(reals.device):
            # On GPUs: a whole batch of fakes and a per-image choice, so nothing waits for the device
            # to say how many images p replaced.
            mask = torch.rand(reals.shape[0], device=reals.device) < self.p
            fakes = self._fakes(make_fakes, reals.shape[0], reals)
            return torch.where(mask[:, None, None, None], fakes, reals)
        p = float(self.p)
        if p <= 0.0:
            return reals  # the common case early in training: no random numbers, no generator call
        mask = torch.rand(reals.shape[0], device=reals.device) < p
        count = int(mask.sum())
        if count == 0:
            return reals
        # On CPUs only the replaced positions are generated, so the cost grows with p.
        out = reals.clone()
        out[mask] = self._fakes(make_fakes, count, reals, rows=mask)
        return out

    def _fakes(
        self, make_fakes: Callable[..., Tensor], count: int, reals: Tensor, rows: Tensor | None = None
    ) -> Tensor:
        # ``rows``: which reals the fakes replace, so that a class-conditional trainer draws each fake
        # with the class of the real it stands in for (D is then told "a real of class y").
        extra = {} if rows is None else {"rows": rows}
        fakes = make_fakes(count, use_ema=self.use_ema, **extra).detach().to(reals.dtype)
        if fakes.shape[1:] != reals.shape[1:] or fakes.shape[0] != count:
            raise ValueError(
                f"make_fakes({count}) returned shape {tuple(fakes.shape)}; reals are {tuple(reals.shape)}"
            )
        return fakes

    @torch.no_grad()
    def end_step(self, batch_size: int) -> None:
        """Count a minibatch; every ``interval`` of them measure lambda_t and adapt p.

        ``batch_size`` is the number of real images in one step over all processes.
        """
        self.adapt(self.p, batch_size, upper=self.max_p)

    def stats(self) -> dict[str, float]:
        return {"augment/strength": float(self.p)} | self.heuristic_stats()

    def extra_repr(self) -> str:
        mode = f"target={self.target}, speed_kimg={self.speed_kimg:g}" if self.adaptive else "fixed p"
        return f"{mode}, use_ema={self.use_ema}"
