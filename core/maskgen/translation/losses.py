"""Losses shared by the translators (CoCosNet Eqs. 15-19 of the paper, SPADE's objective).

Feature lists come from a :class:`~maskgen.translation.features.FeatureExtractor` (shallow to deep) and
are indexed from the deep end, so VGG19's five taps and masknet's four stages both work.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Per-layer weights of the VGG feature loss of pix2pixHD/SPADE/CoCosNet (relu1 ... relu5), deepest last.
LAYER_WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)
# Contextual loss: (layer from the deep end, weight, average-pool factor) as in CoCosNet: 5_2 x8, 4_2 x4,
# 3_2 x2 (pooled by 2 to keep the pairwise matrix small).
CONTEXT_LAYERS = ((-1, 8.0, 1), (-2, 4.0, 1), (-3, 2.0, 2))


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


def contextual_similarity(
    x: torch.Tensor, y: torch.Tensor, bandwidth: float = 0.1, eps: float = 1e-5
) -> torch.Tensor:
    """CX(x, y) of Mechrez et al. 2018 per sample: [N] in (0, 1], 1 when every y feature has a close x match.

    x, y: [N, C, H, W]. Features are centred on y's mean and L2-normalised; d_ij is the cosine distance of
    x_i and y_j, normalised by the closest distance of x_i, turned into affinities exp((1 - d~)/h) that
    are normalised over j; CX = mean_j max_i CX_ij.
    """
    n, c = x.shape[:2]
    mu = y.mean(dim=(2, 3), keepdim=True)
    xs = F.normalize((x - mu).reshape(n, c, -1), dim=1)
    ys = F.normalize((y - mu).reshape(n, c, -1), dim=1)
    dist = 1 - torch.bmm(xs.transpose(1, 2), ys)  # [N, Lx, Ly] cosine distances
    rel = dist / (dist.min(dim=2, keepdim=True).values + eps)
    cx = torch.softmax((1 - rel) / bandwidth, dim=2)  # == w_ij / sum_k w_ik
    return cx.max(dim=1).values.mean(dim=1)


def contextual_loss(
    fake: list[torch.Tensor], reference: list[torch.Tensor], bandwidth: float = 0.1
) -> torch.Tensor:
    """Eq. 17: sum_l w_l * -log CX(phi_l(fake), phi_l(reference)) over CONTEXT_LAYERS."""
    total = torch.zeros((), device=fake[0].device)
    for layer, weight, pool in CONTEXT_LAYERS[: len(fake)]:
        f, r = fake[layer], reference[layer].detach()
        if pool > 1 and min(f.shape[-2:]) >= 2 * pool:
            f, r = F.avg_pool2d(f, pool), F.avg_pool2d(r, pool)
        cx = contextual_similarity(f, r, bandwidth)
        total = total + weight * (-torch.log(cx + 1e-5)).mean()
    return total


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """SPADE's VAE term: KL(N(mu, sigma) || N(0, 1)), summed over dimensions, averaged over the batch."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / mu.shape[0]
