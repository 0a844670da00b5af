"""maskgen-translator-spade: the SPADE baseline (Park et al. 2019) for sketch-to-mask translation."""

from maskgen_spade.model import SpadeModel, SpadeTranslator, StyleEncoder
from maskgen_spade.options import PRESETS, SpadeOptions

__all__ = ["PRESETS", "SpadeModel", "SpadeOptions", "SpadeTranslator", "StyleEncoder"]
