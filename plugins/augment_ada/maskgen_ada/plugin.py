"""Entry point of maskgen-augment-ada: registers the ``ada`` augmenter."""

from __future__ import annotations

from maskgen.hookspecs import hookimpl
from maskgen.interfaces import AugmentContext, PluginSpec
from maskgen_ada.augmenter import AdaAugmenter, AdaOptions


def build(options: AdaOptions, context: AugmentContext) -> AdaAugmenter:
    return AdaAugmenter(options, context).to(context.device)


@hookimpl
def maskgen_augmenters() -> list[PluginSpec]:
    return [
        PluginSpec(
            kind="augmenter",
            name="ada",
            summary="Adaptive discriminator augmentation (Karras et al. 2020): p tracks D overfitting.",
            factory=build,
            options=AdaOptions,
        )
    ]
