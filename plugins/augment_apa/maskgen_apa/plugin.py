"""Entry point of maskgen-augment-apa: registers the ``apa`` augmenter."""

from __future__ import annotations

from maskgen.hookspecs import hookimpl
from maskgen.interfaces import AugmentContext, PluginSpec
from maskgen_apa.augmenter import APAAugmenter, APAOptions


def build(options: APAOptions, context: AugmentContext) -> APAAugmenter:
    return APAAugmenter(options, context).to(context.device)


@hookimpl
def maskgen_augmenters() -> list[PluginSpec]:
    return [
        PluginSpec(
            kind="augmenter",
            name="apa",
            summary="Adaptive pseudo augmentation (Jiang et al. 2021): fakes shown to D as reals, prob. p.",
            factory=build,
            options=APAOptions,
        )
    ]
