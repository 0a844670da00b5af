"""Options of the SPADE baseline; defaults are SPADE's own (Park et al. 2019) unless noted."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from maskgen import Options


class SpadeOptions(Options):
    # -- generator ---------------------------------------------------------------------------------------
    ngf: int = Field(64, ge=4, description="Generator width at full resolution (doubles per halving).")
    g_max_channels: int = Field(1024, ge=8, description="Generator width cap (SPADE: 16 * ngf).")
    spade_hidden: int = Field(128, ge=4, description="Hidden width of the SPADE modulation convs.")
    g_spectral_norm: bool = Field(True, description="Spectral norm on the generator convs.")
    # -- style encoder of the reference (SPADE's VAE image encoder) ---------------------------------------
    z_dim: int = Field(256, ge=1, description="Length of the style code.")
    enc_nf: int = Field(64, ge=4, description="Width of the encoder's first layer.")
    # -- discriminator -----------------------------------------------------------------------------------
    ndf: int = Field(64, ge=4)
    d_layers: int = Field(4, ge=2)
    num_d: int = Field(2, ge=1)
    # -- optimisation (TTUR) -----------------------------------------------------------------------------
    lr_g: float = Field(1e-4, gt=0)
    lr_d: float = Field(4e-4, gt=0)
    beta1: float = Field(0.0, ge=0, lt=1)
    beta2: float = Field(0.9, ge=0, lt=1)
    # -- loss weights ------------------------------------------------------------------------------------
    w_adv: float = Field(1.0, ge=0, description="Hinge adversarial loss.")
    w_fm: float = Field(10.0, ge=0, description="Discriminator feature matching (lambda_feat).")
    w_vgg: float = Field(10.0, ge=0, description="Perceptual (VGG) feature L1 to the target (lambda_vgg).")
    w_kld: float = Field(0.05, ge=0, description="KL divergence of the style code (lambda_kld).")


PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {
        "ngf": 16,
        "g_max_channels": 128,
        "spade_hidden": 32,
        "g_spectral_norm": False,
        "z_dim": 64,
        "enc_nf": 16,
        "ndf": 32,
        "d_layers": 3,
        "num_d": 2,
        "lr_g": 4e-4,  # same short-budget step size as CoCosNet's cpu preset, for a fair comparison
    },
    "paper256": {},
}
