"""CoCosNet: the translator (correspondence + SPADE generator) and its training step (paper Eq. 20)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from maskgen.translation.deform import DeformParams, deform
from maskgen.translation.losses import perceptual_mse, weighted_feature_l1
from maskgen.translation.model import (
    AdversarialTranslationModel,
    ExemplarTranslator,
    TranslationContext,
    TripletBatch,
)
from maskgen.translation.networks import SPADEGenerator
from maskgen_cocosnet.correspondence import Correspondence, CorrespondenceNet, auto_corr_size, warp_back
from maskgen_cocosnet.losses import contextual_loss
from maskgen_cocosnet.options import CocosNetOptions


class CocosTranslator(ExemplarTranslator):
    """(sketch, reference) -> mask: warp the reference onto the sketch, then synthesise with SPADE blocks
    modulated by the sketch and the warped reference (Eq. 14)."""

    def __init__(self, options: CocosNetOptions, size: int) -> None:
        super().__init__()
        self.size = size
        self.corr_size = auto_corr_size(size, options.corr_size)
        self.correspondence = CorrespondenceNet(
            size,
            self.corr_size,
            options.adaptor_nf,
            options.w_channels,
            options.temperature,
            options.coord_conv,
        )
        self.generator = SPADEGenerator(
            size,
            cond_channels=4,
            nf=options.ngf,
            max_channels=options.g_max_channels,
            hidden=options.spade_hidden,
            spectral=options.g_spectral_norm,
        )

    def synthesize(self, sketch: torch.Tensor, warp: torch.Tensor) -> torch.Tensor:
        return self.generator(torch.cat([sketch * 2 - 1, warp], 1))

    def forward(self, sketch: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, Correspondence]:
        corr = self.correspondence(sketch, reference)
        return self.synthesize(sketch, corr.warp), corr

    def translate_with_warp(
        self, sketch: torch.Tensor, reference: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        image, corr = self(sketch, reference)
        return image, corr.warp


def motion_params(strength: float) -> DeformParams:
    """The random warp of :attr:`CocosNetOptions.reference_motion`: the pseudo exemplars' affine/TPS
    family scaled by ``strength``, without their crop (the face stays whole) and flip."""
    base = DeformParams()
    lo, hi = base.scale_range
    return DeformParams(
        tps_prob=base.tps_prob,
        max_rotation_deg=base.max_rotation_deg * strength,
        scale_range=(1 - (1 - lo) * strength, 1 + (hi - 1) * strength),
        max_shift=base.max_shift * strength,
        tps_grid=base.tps_grid,
        tps_strength=base.tps_strength * strength,
        crop_range=(1.0, 1.0),
        flip_prob=0.0,
    )


class CocosNetModel(AdversarialTranslationModel):
    options: CocosNetOptions
    translator: CocosTranslator

    def __init__(self, options: CocosNetOptions, context: TranslationContext) -> None:
        super().__init__(options, context, CocosTranslator(options, context.resolution))

    def generator_losses(self, batch: TripletBatch) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Weighted loss terms of the translator (Eq. 20 without D's part), and the fake images."""
        features = self.require_features("CoCosNet")
        o, T = self.options, self.translator
        sketch, reference, target = batch.sketch, batch.reference, batch.target
        if o.reference_motion > 0:  # from torch's global RNG, like the rest of the step
            reference = deform(reference, motion_params(o.reference_motion))
        corr = T.correspondence(sketch, reference)
        fake = T.synthesize(sketch, corr.warp.detach() if o.detach_warp else corr.warp)
        losses = self.adversarial_losses(sketch, fake, target)

        fake_feats = features(fake)
        with torch.no_grad():
            target_feats = features(target)
            ref_feats = features(reference)
        pseudo = batch.pseudo.float()
        if o.w_feat > 0 and pseudo.sum() > 0:  # Eq. 15 only where the reference is a deformed target
            losses["feat"] = o.w_feat * weighted_feature_l1(fake_feats, target_feats, pseudo / pseudo.sum())
        if o.w_perc > 0:
            losses["perc"] = o.w_perc * perceptual_mse(fake_feats, target_feats, o.perceptual_layer)
        if o.w_context > 0:
            losses["context"] = o.w_context * contextual_loss(fake_feats, ref_feats, o.context_bandwidth)
        if o.w_domain > 0:  # Eq. 9: the sketch and its own colour image must land on the same W features
            losses["domain"] = o.w_domain * F.l1_loss(corr.x_w, T.correspondence.to_w_b(target))
        if o.w_cycle > 0:  # Eq. 13: warping there and back gives the (pooled) reference again
            ref_low = F.adaptive_avg_pool2d(reference, T.corr_size)
            losses["cycle"] = o.w_cycle * F.l1_loss(warp_back(corr.warp_low, corr.m, o.temperature), ref_low)
        if o.w_warp_self > 0 and pseudo.sum() > 0:
            per_sample = (corr.warp - target).abs().mean(dim=(1, 2, 3))
            losses["warp_self"] = o.w_warp_self * (per_sample * pseudo).sum() / pseudo.sum()
        return losses, fake
