"""maskgen-augment-diffaugment: differentiable augmentation (DiffAugment) as a maskgen augmenter plugin."""

from maskgen_diffaugment.augmenter import DiffAugmenter, DiffAugmentOptions

__all__ = ["DiffAugmentOptions", "DiffAugmenter"]
