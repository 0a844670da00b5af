"""SPADE's own loss term: the KL divergence of the style code (its VAE mode). The losses it shares with
CoCosNet (hinge, feature matching, the layer-weighted feature L1) are in :mod:`maskgen.translation.losses`.
"""

from __future__ import annotations

import torch


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma) || N(0, 1)), summed over dimensions, averaged over the batch."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / mu.shape[0]
