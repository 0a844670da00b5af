"""maskgen-translator-cocosnet: exemplar-based sketch-to-mask translation (CoCosNet, Zhang et al. 2020)."""

from maskgen_cocosnet.correspondence import CorrespondenceNet, attention, correlation, warp_back, warp_patches
from maskgen_cocosnet.model import CocosNetModel, CocosTranslator
from maskgen_cocosnet.options import PRESETS, CocosNetOptions

__all__ = [
    "PRESETS",
    "CocosNetModel",
    "CocosNetOptions",
    "CocosTranslator",
    "CorrespondenceNet",
    "attention",
    "correlation",
    "warp_back",
    "warp_patches",
]
