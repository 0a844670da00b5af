"""Support for augmenter plugins: the sign(D(real)) strength controller that ADA, APA and Diffusion-GAN
share (:class:`~maskgen.augment.adaptive.SignHeuristicAugmenter`) and stacks of augmenters (``apa+ada``).
The augmenters themselves are plugins (``plugins/augment_*``)."""

from maskgen.augment.build import build_augmenter

__all__ = ["build_augmenter"]
