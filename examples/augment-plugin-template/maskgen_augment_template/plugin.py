"""Registers the ``noise`` augmenter (Gaussian noise of fixed strength on every image entering D) and
the ``brightness`` evaluator (the gap between the mean brightness of fakes and reals)."""

from __future__ import annotations

import torch
from pydantic import Field

from maskgen import AugmentContext, Augmenter, Evaluator, Options, PluginSpec, hookimpl

CITATION = r"""@inproceedings{sonderby2017instancenoise,
  title     = {Amortised {MAP} Inference for Image Super-resolution},
  author    = {S{\o}nderby, Casper Kaae and Caballero, Jose and Theis, Lucas and Shi, Wenzhe
               and Husz{\'a}r, Ferenc},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2017}
}"""


class NoiseOptions(Options):
    std: float = Field(
        0.05, ge=0, le=10, description="Standard deviation of the noise, in [-1, 1] image units."
    )


class NoiseAugmenter(Augmenter):
    def __init__(self, std: float) -> None:
        super().__init__()
        # A buffer, not a float attribute, so it is saved in checkpoints and restored on --resume.
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        # Differentiable in `images`: the generator still gets gradients through it.
        return images + torch.randn_like(images) * self.std, None

    def stats(self) -> dict[str, float]:
        return {"augment/strength": float(self.std)}


def build(options: NoiseOptions, context: AugmentContext) -> NoiseAugmenter:
    return NoiseAugmenter(options.std)


@hookimpl
def maskgen_augmenters() -> list[PluginSpec]:
    return [
        PluginSpec(
            kind="augmenter",
            name="noise",
            summary="Template plugin: Gaussian instance noise of fixed strength",
            factory=build,
            options=NoiseOptions,
            # What tables, model cards and list-plugins show for this method:
            label="Instance noise",
            description="Gaussian instance noise of fixed strength in front of D (Sønderby et al. 2017)",
            citation=CITATION,
        )
    ]


# --------------------------------------------------------------------------------------------------
# An evaluator, written to the documented interface: compute(real, fake) -> {label: value}
# --------------------------------------------------------------------------------------------------


class BrightnessGap(Evaluator):
    """How much brighter or darker the fakes are than the reals: |mean(fake) - mean(real)| of the
    pixel values in [0, 1] (0: the same mean brightness)."""

    name = "brightness"
    higher_is_better = False

    def compute(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        return {"brightness gap": float((fake.mean() - real.mean()).abs())}


@hookimpl
def maskgen_evaluators() -> list[PluginSpec]:
    return [
        PluginSpec(
            kind="evaluator",
            name="brightness",
            summary="Template plugin: gap between the mean brightness of fakes and reals (0 best)",
            factory=lambda options: BrightnessGap(),
        )
    ]
