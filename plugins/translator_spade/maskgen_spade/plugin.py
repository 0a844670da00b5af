"""Entry point of maskgen-translator-spade: registers the ``spade`` translator."""

from __future__ import annotations

from maskgen import PluginSpec, hookimpl
from maskgen.translation.model import TranslationContext
from maskgen_spade.model import SpadeModel
from maskgen_spade.options import PRESETS, SpadeOptions

CITATION = """@inproceedings{park2019spade,
  title     = {Semantic Image Synthesis with Spatially-Adaptive Normalization},
  author    = {Park, Taesung and Liu, Ming-Yu and Wang, Ting-Chun and Zhu, Jun-Yan},
  booktitle = {IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year      = {2019}
}"""


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
            label="SPADE",
            description=(
                "spatially-adaptive normalisation, colours from an encoded reference (Park et al. 2019)"
            ),
            citation=CITATION,
            presets=PRESETS,
        )
    ]
