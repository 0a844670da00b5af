"""The SPADE baseline: SPADE residual blocks conditioned on the sketch; the reference enters only as a
global style code from an image encoder (SPADE's VAE mode for multi-modal, image-guided synthesis).

There is no correspondence: the reference can set the palette, but not *where* each colour goes. That
is the difference Table 2 of the paper measures.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from maskgen.translation.losses import weighted_feature_l1
from maskgen.translation.model import (
    AdversarialTranslationModel,
    ExemplarTranslator,
    TranslationContext,
    TripletBatch,
)
from maskgen.translation.networks import SPADEGenerator
from maskgen_spade.losses import kl_divergence
from maskgen_spade.options import SpadeOptions


class StyleEncoder(nn.Module):
    """Reference image -> (mu, logvar) of the style code: stride-2 convs down to 4x4, then two linears."""

    def __init__(self, size: int, nf: int, z_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in, c = 3, nf
        for _ in range(int(math.log2(size // 4))):
            layers += [
                nn.Conv2d(c_in, c, 3, stride=2, padding=1),
                nn.InstanceNorm2d(c, affine=True),
                nn.LeakyReLU(0.2),
            ]
            c_in, c = c, min(c * 2, nf * 8)
        self.convs = nn.Sequential(*layers)
        self.fc_mu = nn.Linear(c_in * 16, z_dim)
        self.fc_var = nn.Linear(c_in * 16, z_dim)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.convs(image).flatten(1)
        return self.fc_mu(h), self.fc_var(h)


class SpadeTranslator(ExemplarTranslator):
    def __init__(self, options: SpadeOptions, size: int) -> None:
        super().__init__()
        self.encoder = StyleEncoder(size, options.enc_nf, options.z_dim)
        self.generator = SPADEGenerator(
            size,
            cond_channels=1,
            nf=options.ngf,
            max_channels=options.g_max_channels,
            hidden=options.spade_hidden,
            z_dim=options.z_dim,
            spectral=options.g_spectral_norm,
        )

    def forward(
        self, sketch: torch.Tensor, reference: torch.Tensor, sample: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(image, mu, logvar); ``sample`` draws z ~ N(mu, sigma) (training), otherwise z = mu."""
        mu, logvar = self.encoder(reference)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if sample else mu
        return self.generator(sketch * 2 - 1, z), mu, logvar

    def translate_with_warp(self, sketch: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self(sketch, reference, sample=False)[0], None  # deterministic: z = mu


class SpadeModel(AdversarialTranslationModel):
    options: SpadeOptions
    translator: SpadeTranslator

    def __init__(self, options: SpadeOptions, context: TranslationContext) -> None:
        super().__init__(options, context, SpadeTranslator(options, context.resolution))

    def generator_losses(self, batch: TripletBatch) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        features = self.require_features("SPADE")
        o = self.options
        fake, mu, logvar = self.translator(batch.sketch, batch.reference)
        losses = self.adversarial_losses(batch.sketch, fake, batch.target)
        if o.w_vgg > 0:
            with torch.no_grad():
                target_feats = features(batch.target)
            losses["vgg"] = o.w_vgg * weighted_feature_l1(features(fake), target_feats)
        if o.w_kld > 0:
            losses["kld"] = o.w_kld * kl_divergence(mu, logvar)
        return losses, fake
