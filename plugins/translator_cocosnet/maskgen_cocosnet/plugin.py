"""Entry point of maskgen-translator-cocosnet: registers the ``cocosnet`` translator."""

from __future__ import annotations

from maskgen.hookspecs import hookimpl
from maskgen.interfaces import PluginSpec
from maskgen.translation.model import TranslationContext
from maskgen_cocosnet.model import CocosNetModel
from maskgen_cocosnet.options import PRESETS, CocosNetOptions


def build(options: CocosNetOptions, context: TranslationContext) -> CocosNetModel:
    return CocosNetModel(options, context).to(context.device)


@hookimpl
def maskgen_translators() -> list[PluginSpec]:
    return [
        PluginSpec(
            kind="translator",
            name="cocosnet",
            summary=(
                "CoCosNet (Zhang et al. 2020): cross-domain correspondence + "
                "SPADE synthesis, exemplar colours"
            ),
            factory=build,
            options=CocosNetOptions,
            extra={"presets": PRESETS},
        )
    ]
