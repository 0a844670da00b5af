"""CoCosNet's contextual loss (Eq. 17 of the paper; Mechrez et al. 2018). The losses it shares with
SPADE (hinge, feature matching, the layer-weighted feature L1, the perceptual MSE) are in
:mod:`maskgen.translation.losses`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# (layer from the deep end, weight, average-pool factor) as in CoCosNet: 5_2 x8, 4_2 x4, 3_2 x2 (pooled
# by 2 to keep the pairwise matrix small).
CONTEXT_LAYERS = ((-1, 8.0, 1), (-2, 4.0, 1), (-3, 2.0, 2))


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
    """Eq. 17: sum_l w_l * -log CX(phi_l(fake), phi_l(reference)) over CONTEXT_LAYERS.

    Feature lists are shallow to deep and indexed from the deep end, so VGG19's five taps and masknet's
    four stages both work.
    """
    total = torch.zeros((), device=fake[0].device)
    for layer, weight, pool in CONTEXT_LAYERS[: len(fake)]:
        f, r = fake[layer], reference[layer].detach()
        if pool > 1 and min(f.shape[-2:]) >= 2 * pool:
            f, r = F.avg_pool2d(f, pool), F.avg_pool2d(r, pool)
        cx = contextual_similarity(f, r, bandwidth)
        total = total + weight * (-torch.log(cx + 1e-5)).mean()
    return total
