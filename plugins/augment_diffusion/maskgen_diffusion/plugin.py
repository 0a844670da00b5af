"""Entry point of maskgen-augment-diffusion: registers the ``diffusion`` augmenter."""

from __future__ import annotations

from maskgen import AugmentContext, PluginSpec, hookimpl
from maskgen_diffusion.augmenter import DiffusionAugmenter, DiffusionOptions

CITATION = """@inproceedings{wang2023diffusiongan,
  title     = {Diffusion-{GAN}: Training {GANs} with Diffusion},
  author    = {Wang, Zhendong and Zheng, Huangjie and He, Pengcheng and Chen, Weizhu and Zhou, Mingyuan},
  booktitle = {International Conference on Learning Representations (ICLR)},
  year      = {2023}
}"""


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
            label="Diffusion-GAN",
            description="Diffusion-GAN's adaptive diffusion process in front of D (Wang et al. 2023)",
            citation=CITATION,
        )
    ]
