"""Cross-domain correspondence (paper Eqs. 7-13): domain adaptors, shared domain W, cosine correlation,
softmax warp of the reference, and the cycle warp back.

Memory: the correlation matrix has (corr_size^2)^2 entries per image. With corr_size = size/4 (at most 64):
64 px -> 16x16 grid, 256^2 floats = 256 KiB; 128 px -> 32x32, 1024^2 = 4 MiB; 256 px -> 64x64,
4096^2 = 64 MiB per image and matrix (the softmax and its backward keep about three such matrices).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def auto_corr_size(size: int, corr_size: int | None = None) -> int:
    """The correlation grid side: size/4 (CoCosNet's 64 at 256 px), capped at 64 to bound memory."""
    side = corr_size or min(size // 4, 64)
    if side > size or size % side or (size // side) & (size // side - 1):
        raise ValueError(f"corr_size {side} must divide the image size {size} by a power of two")
    return side


def _block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1),
        nn.InstanceNorm2d(c_out, affine=True),
        nn.LeakyReLU(0.2),
    )


def add_coords(x: torch.Tensor) -> torch.Tensor:
    n, _, h, w = x.shape
    ys = torch.linspace(-1, 1, h, device=x.device).view(1, 1, h, 1).expand(n, 1, h, w)
    xs = torch.linspace(-1, 1, w, device=x.device).view(1, 1, 1, w).expand(n, 1, h, w)
    return torch.cat([x, xs, ys], 1)


class DomainAdaptor(nn.Module):
    """F_{A->W} or F_{B->W} up to the shared part (Eqs. 7-8): a small feature pyramid network.

    A stride-2 encoder down to corr_size/4; the levels at corr_size, /2 and /4 (those of at least 2 px)
    are merged top-down (coarse context into the correspondence resolution), as in FPN.
    """

    def __init__(
        self, in_channels: int, size: int, corr_size: int, nf: int, out_channels: int, coord: bool
    ) -> None:
        super().__init__()
        self.coord = coord
        downs = int(math.log2(size // corr_size))
        # Up to two coarser levels, never below 2 px (instance norm needs more than one position).
        extra = max(0, min(2, int(math.log2(corr_size)) - 1))
        self.stem = _block(in_channels + (2 if coord else 0), nf)
        widths = [min(nf * 2 ** (i + 1), nf * 8) for i in range(downs + extra)]
        chans = [nf, *widths]
        self.down = nn.ModuleList(_block(chans[i], chans[i + 1], stride=2) for i in range(downs + extra))
        # Pyramid levels at corr_size, /2 and /4; index -1 is the stem (when corr_size == size).
        self.level_index = list(range(downs - 1, downs + extra))
        self.lateral = nn.ModuleList(nn.Conv2d(chans[i + 1], out_channels, 1) for i in self.level_index)
        self.smooth = _block(out_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(add_coords(x) if self.coord else x)
        levels = {-1: x}
        for index, layer in enumerate(self.down):
            x = layer(x)
            levels[index] = x
        top = None
        for lateral, index in reversed(list(zip(self.lateral, self.level_index, strict=True))):
            feat = lateral(levels[index])
            top = feat if top is None else feat + F.interpolate(top, size=feat.shape[-2:], mode="nearest")
        return self.smooth(top)


class SharedW(nn.Module):
    """The part of the adaptors both domains share: two residual blocks in W."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, 3, padding=1),
                nn.InstanceNorm2d(channels, affine=True),
                nn.LeakyReLU(0.2),
                nn.Conv2d(channels, channels, 3, padding=1),
                nn.InstanceNorm2d(channels, affine=True),
            )
            for _ in range(2)
        )
        self.out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = F.leaky_relu(x + block(x), 0.2)
        return self.out(x)


def normalize_features(f: torch.Tensor) -> torch.Tensor:
    """Eqs. 11-12: centre each position's feature vector on its channel mean, then unit length: [N, C, L]."""
    f = f.flatten(2)
    f = f - f.mean(dim=1, keepdim=True)
    return F.normalize(f, dim=1, eps=1e-6)


def correlation(x_w: torch.Tensor, y_w: torch.Tensor) -> torch.Tensor:
    """Eq. 10: cosine similarity M[n, u, v] of sketch position u and reference position v: [N, L, L]."""
    return torch.bmm(normalize_features(x_w).transpose(1, 2), normalize_features(y_w))


def attention(m: torch.Tensor, temperature: float) -> torch.Tensor:
    """Softmax over reference positions v (dim 2) of M / temperature."""
    return torch.softmax(m / temperature, dim=2)


def warp_patches(reference: torch.Tensor, attn: torch.Tensor, corr_size: int) -> torch.Tensor:
    """r_{y->x} at full resolution: every stride x stride patch of the reference is moved as a whole.

    reference [N, C, H, W], attn [N, L, L] (rows: sketch positions). With an identity attention the
    result is exactly the reference.
    """
    n, c, h, w = reference.shape
    stride = h // corr_size
    patches = F.unfold(reference, stride, stride=stride)  # [N, C*s*s, L]
    warped = torch.bmm(patches, attn.transpose(1, 2))  # [N, C*s*s, L]
    return F.fold(warped, (h, w), stride, stride=stride)


def warp_low(reference_low: torch.Tensor, attn: torch.Tensor) -> torch.Tensor:
    """r_{y->x} at the correlation resolution: [N, C, h, w] of the pooled reference."""
    n, c, h, w = reference_low.shape
    return torch.bmm(reference_low.flatten(2), attn.transpose(1, 2)).view(n, c, h, w)


def warp_back(warped_low: torch.Tensor, m: torch.Tensor, temperature: float) -> torch.Tensor:
    """Eq. 13's r_{y->x->y}: the warped reference sent back with the softmax over sketch positions."""
    n, c, h, w = warped_low.shape
    back = torch.softmax(m / temperature, dim=1)  # [N, Lu, Lv], columns sum to 1
    return torch.bmm(warped_low.flatten(2), back).view(n, c, h, w)


@dataclass
class Correspondence:
    x_w: torch.Tensor  # sketch features in W [N, C, h, w]
    y_w: torch.Tensor  # reference features in W
    m: torch.Tensor  # correlation [N, L, L]
    attn: torch.Tensor  # softmax(M / T) over reference positions
    warp: torch.Tensor  # reference warped to the sketch, full resolution [N, 3, H, W]
    warp_low: torch.Tensor  # ... at the correlation resolution


class CorrespondenceNet(nn.Module):
    """Both adaptors, the shared W part and the warp."""

    def __init__(
        self, size: int, corr_size: int, nf: int, channels: int, temperature: float, coord: bool
    ) -> None:
        super().__init__()
        self.corr_size, self.temperature = corr_size, temperature
        self.adaptor_a = DomainAdaptor(1, size, corr_size, nf, channels, coord)
        self.adaptor_b = DomainAdaptor(3, size, corr_size, nf, channels, coord)
        self.shared = SharedW(channels)

    def to_w_a(self, sketch: torch.Tensor) -> torch.Tensor:
        return self.shared(self.adaptor_a(sketch * 2 - 1))

    def to_w_b(self, image: torch.Tensor) -> torch.Tensor:
        return self.shared(self.adaptor_b(image))

    def forward(self, sketch: torch.Tensor, reference: torch.Tensor) -> Correspondence:
        x_w, y_w = self.to_w_a(sketch), self.to_w_b(reference)
        m = correlation(x_w, y_w)
        attn = attention(m, self.temperature)
        ref_low = F.adaptive_avg_pool2d(reference, self.corr_size)
        return Correspondence(
            x_w, y_w, m, attn, warp_patches(reference, attn, self.corr_size), warp_low(ref_low, attn)
        )
