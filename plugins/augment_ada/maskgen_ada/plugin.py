"""Entry point of maskgen-augment-ada: registers the ``ada`` augmenter."""

from __future__ import annotations

from maskgen import AugmentContext, PluginSpec, hookimpl
from maskgen_ada.augmenter import AdaAugmenter, AdaOptions

CITATION = """@inproceedings{karras2020ada,
  title     = {Training Generative Adversarial Networks with Limited Data},
  author    = {Karras, Tero and Aittala, Miika and Hellsten, Janne and Laine, Samuli and Lehtinen, Jaakko
               and Aila, Timo},
  booktitle = {Advances in Neural Information Processing Systems (NeurIPS)},
  year      = {2020}
}"""


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
            label="ADA",
            description="adaptive discriminator augmentation (Karras et al. 2020)",
            citation=CITATION,
        )
    ]
