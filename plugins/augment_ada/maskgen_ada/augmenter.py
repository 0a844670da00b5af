"""ADA as a maskgen :class:`~maskgen.Augmenter`: the pipeline plus the controller that adapts p."""

from __future__ import annotations

import torch
from pydantic import Field

from maskgen import AugmentContext, Options, SignHeuristicAugmenter
from maskgen.config import KIMG_MAX
from maskgen_ada.pipeline import AugmentPipe, PresetName

Tensor = torch.Tensor


class AdaOptions(Options):
    """Options of the ``ada`` augmenter."""

    pipeline: PresetName = Field("bgc", description="Named set of enabled transforms.")
    target: float = Field(0.6, ge=0.0, le=1.0, description="Target of the overfitting heuristic r_t.")
    interval: int = Field(4, ge=1, description="Minibatches between adjustments of p.")
    speed_kimg: float | None = Field(
        None,
        gt=0.0,
        le=KIMG_MAX,
        description="Thousands of images for p to go 0 -> 1; None: the preset's value.",
    )
    p: float | None = Field(None, ge=0.0, le=1.0, description="Fixed strength; disables adaptation.")
    initial_p: float = Field(0.0, ge=0.0, le=1.0, description="Strength at the start of adaptive training.")


class AdaAugmenter(SignHeuristicAugmenter):
    """Adaptive discriminator augmentation.

    ``observe`` accumulates sign(D(real)); every ``interval`` minibatches ``end_step`` computes
    r_t = E[sign(D(real))] and moves p by
    ``sign(r_t - target) * batch_size * interval / (speed_kimg * 1000)``, a pace at which p would
    travel 0 -> 1 in ``speed_kimg`` thousand images. With a fixed ``p`` the heuristic is
    still measured (for logging) but p never moves.
    """

    def __init__(self, options: AdaOptions, context: AugmentContext) -> None:
        speed_kimg = options.speed_kimg if options.speed_kimg is not None else context.speed_kimg
        super().__init__(options.interval, options.target, speed_kimg, adaptive=options.p is None)
        self.options = options
        start = options.initial_p if options.p is None else options.p
        self.pipe = AugmentPipe(options.pipeline, p=start)  # holds p as the buffer ``pipe.p``

    @property
    def p(self) -> float:
        return float(self.pipe.p)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor | None]:
        return self.pipe(images), None

    @torch.no_grad()
    def end_step(self, batch_size: int) -> None:
        """Count a minibatch; every ``interval`` of them measure r_t and adapt p.

        ``batch_size`` is the number of real images in one step over all processes.
        """
        self.adapt(self.pipe.p, batch_size)

    def stats(self) -> dict[str, float]:
        return {"augment/strength": self.p} | self.heuristic_stats()

    def extra_repr(self) -> str:
        mode = f"target={self.target}, speed_kimg={self.speed_kimg:g}" if self.adaptive else "fixed p"
        return f"pipeline={self.options.pipeline!r}, {mode}"
