"""Losses of exemplar-based translation that more than one translator uses: the hinge GAN loss and
discriminator feature matching (CoCosNet Eqs. 18-19, SPADE), the layer-weighted feature L1 (CoCosNet
Eq. 15, SPADE's VGG loss) and the perceptual MSE of one layer (CoCosNet Eq. 16). A translator's own
terms live in its plugin (CoCosNet's contextual loss, SPADE's KL term).

Feature lists come from a :class:`~maskgen.translation.features.FeatureExtractor` (shallow to deep) and
are indexed from the deep end, so VGG19's five taps and masknet's four stages both work.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Per-layer weights of the VGG feature loss of pix2pixHD/SPADE/CoCosNet (relu1 ... relu5), deepest last.
LAYER_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)


def hinge_d(real_logits: list[torch.Tensor], fake_logits: list[torch.Tensor]) -> torch.Tensor:
    """Eq. 18: E[relu(1 - D(real))] + E[relu(1 + D(fake))], averaged over discriminator scales."""
    loss = sum(
        F.relu(1 - r).mean() + F.relu(1 + f).mean() for r, f in zip(real_logits, fake_logits, strict=True)
    )
    return loss / len(real_logits)


def hinge_g(fake_logits: list[torch.Tensor]) -> torch.Tensor:
    """Eq. 19: -E[D(G(x))], averaged over scales."""
    return -sum(f.mean() for f in fake_logits) / len(fake_logits)


def feature_matching(
    fake_feats: list[list[torch.Tensor]], real_feats: list[list[torch.Tensor]]
) -> torch.Tensor:
    """pix2pixHD discriminator feature matching: L1 between D's intermediate maps of fake and real."""
    total = torch.zeros((), device=fake_feats[0][0].device)
    for fake_scale, real_scale in zip(fake_feats, real_feats, strict=True):
        for fake, real in zip(fake_scale, real_scale, strict=True):
            total = total + F.l1_loss(fake, real.detach())
    return total / len(fake_feats)


def weighted_feature_l1(
    fake: list[torch.Tensor], real: list[torch.Tensor], sample_weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Eq. 15 / SPADE's VGG loss: sum_l lambda_l |phi_l(fake) - phi_l(real)|, lambda from LAYER_WEIGHTS.

    ``sample_weights`` [N] (summing to 1) restricts the loss to some samples, e.g. the pseudo pairs.
    """
    weights = LAYER_WEIGHTS[-len(fake) :]
    total = torch.zeros((), device=fake[0].device)
    for w, f, r in zip(weights, fake, real, strict=True):
        per_sample = (f - r.detach()).abs().mean(dim=(1, 2, 3))
        total = total + w * (
            per_sample.mean() if sample_weights is None else (per_sample * sample_weights).sum()
        )
    return total


def perceptual_mse(fake: list[torch.Tensor], real: list[torch.Tensor], layer: int = -2) -> torch.Tensor:
    """Eq. 16: MSE of one deep layer (CoCosNet's edge-to-face setting: relu4_2, i.e. ``-2``)."""
    return F.mse_loss(fake[layer], real[layer].detach())
