"""Entry point of maskgen-translator-cocosnet: registers the ``cocosnet`` translator."""

from __future__ import annotations

from maskgen import PluginSpec, hookimpl
from maskgen.translation.model import TranslationContext
from maskgen_cocosnet.model import CocosNetModel
from maskgen_cocosnet.options import PRESETS, CocosNetOptions

CITATION = """@inproceedings{zhang2020cocosnet,
  title     = {Cross-domain Correspondence Learning for Exemplar-based Image Translation},
  author    = {Zhang, Pan and Zhang, Bo and Chen, Dong and Yuan, Lu and Wen, Fang},
  booktitle = {IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year      = {2020}
}"""


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
            label="CoCosNet",
            description="cross-domain correspondence and exemplar-based synthesis (Zhang et al. 2020)",
            citation=CITATION,
            presets=PRESETS,
        )
    ]
