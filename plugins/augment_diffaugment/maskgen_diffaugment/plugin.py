"""Entry point of maskgen-augment-diffaugment: registers the ``diffaugment`` augmenter."""

from __future__ import annotations

from maskgen import AugmentContext, PluginSpec, hookimpl
from maskgen_diffaugment.augmenter import DiffAugmenter, DiffAugmentOptions

CITATION = """@inproceedings{zhao2020diffaugment,
  title     = {Differentiable Augmentation for Data-Efficient {GAN} Training},
  author    = {Zhao, Shengyu and Liu, Zhijian and Lin, Ji and Zhu, Jun-Yan and Han, Song},
  booktitle = {Advances in Neural Information Processing Systems (NeurIPS)},
  year      = {2020}
}"""


def build(options: DiffAugmentOptions, context: AugmentContext) -> DiffAugmenter:
    return DiffAugmenter(options, context).to(context.device)


@hookimpl
def maskgen_augmenters() -> list[PluginSpec]:
    return [
        PluginSpec(
            kind="augmenter",
            name="diffaugment",
            summary="DiffAugment (Zhao et al. 2020): colour, translation and cutout on every image D sees.",
            factory=build,
            options=DiffAugmentOptions,
            label="DiffAugment",
            description="differentiable augmentation of every image D sees (Zhao et al. 2020)",
            citation=CITATION,
        )
    ]
