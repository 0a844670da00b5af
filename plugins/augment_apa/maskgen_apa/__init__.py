"""maskgen-augment-apa: adaptive pseudo augmentation (APA) as a maskgen augmenter plugin."""

from maskgen_apa.augmenter import APAAugmenter, APAOptions

__all__ = ["APAAugmenter", "APAOptions"]
