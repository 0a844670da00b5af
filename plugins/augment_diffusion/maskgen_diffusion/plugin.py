"""Entry point of maskgen-augment-diffusion: registers the ``diffusion`` augmenter."""

from __future__ import annotations

from maskgen.hookspecs import hookimpl
from maskgen.interfaces import AugmentContext, PluginSpec
from maskgen_diffusion.augmenter import DiffusionAugmenter, DiffusionOptions


def build(options: DiffusionOptions, context: AugmentContext) -> DiffusionAugmenter:
    return DiffusionAugmenter(options, context).to(context.device)


@hookimpl
def maskgen_augmenters() -> list[PluginSpec]:
    return [
        PluginSpec(
            kind="augmenter",
            name="diffusion",
            summary="Diffusion-GAN (Wang et al. 2023): adaptive forward diffusion of D's inputs, D sees t.",
            factory=build,
            options=DiffusionOptions,
        )
    ]
