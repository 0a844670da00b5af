"""The SPADE baseline: SPADE residual blocks conditioned on the sketch; the reference enters only as a
global style code from an image encoder (SPADE's VAE mode for multi-modal, image-guided synthesis).

There is no correspondence: the reference can set the palette, but not *where* each colour goes. That
is the difference Table 2 of the paper measures.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from maskgen.translation.losses import feature_matching, hinge_g, kl_divergence, weighted_feature_l1
from maskgen.translation.model import ExemplarTranslator, TranslationContext, TranslationModel, TripletBatch
from maskgen.translation.networks import MultiscaleDiscriminator, SPADEGenerator, intermediates, logits
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


class SpadeModel(TranslationModel):
    def __init__(self, options: SpadeOptions, context: TranslationContext) -> None:
        super().__init__()
        self.options = options
        self.features = context.features  # frozen, not a submodule: never checkpointed
        self.translator = SpadeTranslator(options, context.resolution)
        self.discriminator = MultiscaleDiscriminator(4, options.ndf, options.d_layers, options.num_d)
        betas = (options.beta1, options.beta2)
        self.optimizers = {
            "G": torch.optim.Adam(self.translator.parameters(), lr=options.lr_g, betas=betas),
            "D": torch.optim.Adam(self.discriminator.parameters(), lr=options.lr_d, betas=betas),
        }

    def generator_losses(self, batch: TripletBatch) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        if self.features is None:
            raise RuntimeError("SPADE was built without a feature network; it can only translate")
        o, D = self.options, self.discriminator
        fake, mu, logvar = self.translator(batch.sketch, batch.reference)
        cond = batch.sketch * 2 - 1
        losses: dict[str, torch.Tensor] = {}
        if o.w_adv > 0 or o.w_fm > 0:
            pred_fake = D(torch.cat([cond, fake], 1))
            with torch.no_grad():
                pred_real = D(torch.cat([cond, batch.target], 1))
            losses["adv"] = o.w_adv * hinge_g(logits(pred_fake))
            losses["fm"] = o.w_fm * feature_matching(intermediates(pred_fake), intermediates(pred_real))
        if o.w_vgg > 0:
            with torch.no_grad():
                target_feats = self.features(batch.target)
            losses["vgg"] = o.w_vgg * weighted_feature_l1(self.features(fake), target_feats)
        if o.w_kld > 0:
            losses["kld"] = o.w_kld * kl_divergence(mu, logvar)
        return losses, fake

    def training_step(self, batch: TripletBatch) -> dict[str, torch.Tensor]:
        return self.hinge_training_step(batch, self.generator_losses, self.options.w_adv)
