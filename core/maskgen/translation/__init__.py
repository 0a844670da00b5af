"""Exemplar-based translation (sketch + colour reference -> mask): data, losses, trainer, inference.

The translators themselves (CoCosNet, the SPADE baseline) are plugins; this package holds what they
share: the (sketch, reference, target) triplets with pseudo-exemplar deformation, the perceptual feature
networks, the losses both use, SPADE building blocks, the adversarial model both extend
(:class:`AdversarialTranslationModel`), the training loop and ``translate apply``.
"""

from maskgen.translation.model import (
    AdversarialTranslationModel,
    ExemplarTranslator,
    TranslationContext,
    TranslationModel,
    TripletBatch,
)

__all__ = [
    "AdversarialTranslationModel",
    "ExemplarTranslator",
    "TranslationContext",
    "TranslationModel",
    "TripletBatch",
]
