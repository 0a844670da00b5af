"""maskgen-augment-ada: adaptive discriminator augmentation (ADA) as a maskgen augmenter plugin."""

from maskgen_ada.augmenter import AdaAugmenter, AdaOptions
from maskgen_ada.pipeline import PRESETS, AugmentPipe, PipeConfig

__all__ = ["PRESETS", "AdaAugmenter", "AdaOptions", "AugmentPipe", "PipeConfig"]
