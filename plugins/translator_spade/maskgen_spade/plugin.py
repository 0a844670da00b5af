"""Entry point of maskgen-translator-spade: registers the ``spade`` translator."""

from __future__ import annotations

from maskgen.hookspecs import hookimpl
from maskgen.interfaces import PluginSpec
from maskgen.translation.model import TranslationContext
from maskgen_spade.model import SpadeModel
from maskgen_spade.options import PRESETS, SpadeOptions


def build(options: SpadeOptions, context: TranslationContext) -> SpadeModel:
    return SpadeModel(options, context).to(context.device)


@hookimpl
def maskgen_translators() -> list[PluginSpec]:
    return [
        PluginSpec(
            kind="translator",
            name="spade",
            summary=(
                "SPADE (Park et al. 2019) baseline: sketch-conditioned SPADE "
                "blocks, reference as a style code"
            ),
            factory=build,
            options=SpadeOptions,
            extra={"presets": PRESETS},
        )
    ]
