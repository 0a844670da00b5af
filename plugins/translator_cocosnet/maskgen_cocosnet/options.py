"""Options of the CoCosNet translator; defaults are the original's (edge-to-face setting) unless noted."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from maskgen import Options


class CocosNetOptions(Options):
    # -- cross-domain correspondence (Eqs. 7-13) --------------------------------------------------------
    adaptor_nf: int = Field(64, ge=4, description="Width of the first layer of each domain adaptor.")
    w_channels: int = Field(256, ge=8, description="Channels of the shared domain W.")
    corr_size: int | None = Field(
        None, ge=4, description="Side of the correlation grid; None: size/4, at most 64 (memory ~ side^4)."
    )
    temperature: float = Field(0.01, gt=0, description="Softmax temperature over reference positions.")
    coord_conv: bool = Field(False, description="Append x/y coordinate channels to the adaptor inputs.")
    # -- image synthesis (Eq. 14) ------------------------------------------------------------------------
    ngf: int = Field(64, ge=4, description="Generator width at full resolution (doubles per halving).")
    g_max_channels: int = Field(1024, ge=8, description="Generator width cap (SPADE: 16 * ngf).")
    spade_hidden: int = Field(128, ge=4, description="Hidden width of the SPADE modulation convs.")
    g_spectral_norm: bool = Field(True, description="Spectral norm on the generator convs (as SPADE).")
    # -- discriminator -----------------------------------------------------------------------------------
    ndf: int = Field(64, ge=4)
    d_layers: int = Field(4, ge=2, description="Layers of each PatchGAN.")
    num_d: int = Field(2, ge=1, description="Discriminator scales.")
    # -- optimisation (TTUR as in SPADE/CoCosNet: G lr/2, D lr*2, betas 0/0.9) ---------------------------
    lr_g: float = Field(1e-4, gt=0)
    lr_d: float = Field(4e-4, gt=0)
    beta1: float = Field(0.0, ge=0, lt=1)
    beta2: float = Field(0.9, ge=0, lt=1)
    # -- loss weights (Eq. 20) ---------------------------------------------------------------------------
    w_feat: float = Field(10.0, ge=0, description="phi1: feature loss on pseudo exemplar pairs (Eq. 15).")
    w_perc: float = Field(0.001, ge=0, description="phi2: perceptual MSE at relu4_2 (Eq. 16).")
    perceptual_layer: int = Field(
        -2, le=-1, description="Feature layer of the perceptual loss, from the deep end."
    )
    w_context: float = Field(10.0, ge=0, description="phi3: contextual loss to the reference (Eq. 17).")
    context_bandwidth: float = Field(0.1, gt=0, description="h of the contextual loss.")
    w_adv: float = Field(10.0, ge=0, description="phi4: hinge adversarial loss (Eqs. 18-19).")
    w_fm: float = Field(10.0, ge=0, description="Discriminator feature matching.")
    w_domain: float = Field(10.0, ge=0, description="phi5: domain alignment L1 in W (Eq. 9).")
    w_cycle: float = Field(1.0, ge=0, description="phi6: correspondence cycle (Eq. 13).")
    w_warp_self: float = Field(
        0.0, ge=0, description="L1 of the warped pseudo exemplar to the target (original's warp_self_w)."
    )
    detach_warp: bool = Field(
        False,
        description="Train the correspondence only on its own losses (domain, cycle, warp_self): the "
        "generator's losses do not reach it through the warp. On aligned masks they pull it to the identity.",
    )
    # -- training pairs ----------------------------------------------------------------------------------
    reference_motion: float = Field(
        0.0,
        ge=0,
        le=3,
        description="Move every training reference by a random warp of this strength (1: rotations to "
        "8 deg, shifts to 6%, TPS 0.06) so that 'same position' is never the answer; 0: the original.",
    )


# Reduced widths for 2 CPU cores at 64 px; paper256 keeps the original settings (the defaults above).
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {
        "adaptor_nf": 16,
        "w_channels": 64,
        "ngf": 16,
        "g_max_channels": 128,
        "spade_hidden": 32,
        "g_spectral_norm": False,
        "ndf": 32,
        "d_layers": 3,
        "num_d": 2,
        # Short-budget deviations (see docs/cocosnet.md): a 4x larger G step, and direct supervision
        # of the warp on pseudo pairs (the original's warp_self_w) so a correspondence forms in minutes.
        "lr_g": 4e-4,
        "w_warp_self": 10.0,
        # With masknet features (offline: no VGG19) the contextual term stops falling after the first
        # kimg yet is 85% of G's loss at weight 10; of weights 0, 1 and 10, 1 gave the most painted
        # cross-mask outputs (FD[masknet] 0.94 against 1.37 and 1.66) for a little colour (docs/cocosnet.md).
        "w_context": 1.0,
        # Aligned frontal masks make the identity warp nearly right on every training pair, and the
        # correspondence collapses to it; moved references make it learn to match content (cocosnet.md).
        "reference_motion": 1.5,
        "detach_warp": True,
    },
    # The original widths and loss weights; the warp fix too, because the collapse comes from the data
    # (aligned frontal masks), not from the budget (measured at 32 and 64 px only, see cocosnet.md).
    "paper256": {"reference_motion": 1.5, "detach_warp": True},
}
