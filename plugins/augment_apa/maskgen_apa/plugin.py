"""Entry point of maskgen-augment-apa: registers the ``apa`` augmenter."""

from __future__ import annotations

from maskgen import AugmentContext, PluginSpec, hookimpl
from maskgen_apa.augmenter import APAAugmenter, APAOptions

CITATION = """@inproceedings{jiang2021apa,
  title     = {Deceive {D}: Adaptive Pseudo Augmentation for {GAN} Training with Limited Data},
  author    = {Jiang, Liming and Dai, Bo and Wu, Wayne and Loy, Chen Change},
  booktitle = {Advances in Neural Information Processing Systems (NeurIPS)},
  year      = {2021}
}"""


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
            label="APA",
            description="adaptive pseudo augmentation (Jiang et al. 2021)",
            citation=CITATION,
        )
    ]
