"""Building blocks both translators use: SPADE generator (Park et al. 2019) and the multi-scale
PatchGAN discriminator of pix2pixHD/SPADE/CoCosNet.

The generator is conditioned through spatially-adaptive normalization (Eq. 14 of the paper)::

    SPADE(F, c) = gamma(c) * (F - mu) / sigma + beta(c)

with parameter-free instance statistics mu, sigma and per-pixel gamma, beta predicted from the
condition map c (the sketch, plus the warped reference for CoCosNet) resized to F's resolution.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def conv(
    c_in: int, c_out: int, kernel: int = 3, stride: int = 1, padding: int | None = None, sn: bool = False
) -> nn.Module:
    layer = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2 if padding is None else padding)
    return spectral_norm(layer) if sn else layer


def resize_to(cond: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Condition map at a feature resolution: area-average when shrinking (thin lines survive as grey)."""
    if tuple(cond.shape[-2:]) == tuple(size):
        return cond
    if cond.shape[-1] > size[-1]:
        return F.adaptive_avg_pool2d(cond, size)
    return F.interpolate(cond, size=size, mode="bilinear", align_corners=False)


class SPADE(nn.Module):
    """Spatially-adaptive denormalization of ``channels`` maps by a ``cond_channels`` condition map."""

    def __init__(self, channels: int, cond_channels: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.shared = nn.Sequential(nn.Conv2d(cond_channels, hidden, 3, padding=1), nn.ReLU())
        self.gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.shared(resize_to(cond, x.shape[-2:]))
        return self.norm(x) * (1 + self.gamma(h)) + self.beta(h)


class SPADEResBlock(nn.Module):
    """SPADE -> lrelu -> conv, twice, plus a (learned when widths differ) shortcut."""

    def __init__(self, c_in: int, c_out: int, cond_channels: int, hidden: int, sn: bool) -> None:
        super().__init__()
        mid = min(c_in, c_out)
        self.norm0 = SPADE(c_in, cond_channels, hidden)
        self.conv0 = conv(c_in, mid, sn=sn)
        self.norm1 = SPADE(mid, cond_channels, hidden)
        self.conv1 = conv(mid, c_out, sn=sn)
        self.learned_shortcut = c_in != c_out
        if self.learned_shortcut:
            self.norm_s = SPADE(c_in, cond_channels, hidden)
            self.conv_s = (
                spectral_norm(nn.Conv2d(c_in, c_out, 1, bias=False))
                if sn
                else nn.Conv2d(c_in, c_out, 1, bias=False)
            )

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        shortcut = self.conv_s(self.norm_s(x, cond)) if self.learned_shortcut else x
        h = self.conv0(F.leaky_relu(self.norm0(x, cond), 0.2))
        h = self.conv1(F.leaky_relu(self.norm1(h, cond), 0.2))
        return shortcut + h


def base_resolution(size: int) -> int:
    """Where the generator starts: 4 px up to 128 px images, size/32 above (SPADE's 8 px at 256)."""
    return max(4, size // 32)


class SPADEGenerator(nn.Module):
    """Upsampling stack of SPADE residual blocks from ``base_resolution(size)`` to ``size``.

    It starts either from the condition map shrunk to the base resolution (``z_dim == 0``), or from a
    style code z through a linear layer (``z_dim > 0``, SPADE's VAE mode).
    """

    def __init__(
        self,
        size: int,
        cond_channels: int,
        nf: int = 64,
        max_channels: int = 1024,
        hidden: int = 128,
        z_dim: int = 0,
        spectral: bool = True,
    ) -> None:
        super().__init__()
        if size < 8 or size & (size - 1):
            raise ValueError(f"image size must be a power of two >= 8, got {size}")
        self.size, self.z_dim = size, z_dim
        self.base = base_resolution(size)
        resolutions = [self.base * 2**i for i in range(int(math.log2(size // self.base)) + 1)]
        self.resolutions = resolutions

        def width(res: int) -> int:
            return min(max_channels, nf * (size // res))

        if z_dim > 0:
            self.head = nn.Linear(z_dim, width(self.base) * self.base * self.base)
        else:
            self.head = nn.Conv2d(cond_channels, width(self.base), 3, padding=1)
        blocks = [SPADEResBlock(width(self.base), width(self.base), cond_channels, hidden, spectral)]
        for prev, res in zip(resolutions[:-1], resolutions[1:], strict=True):
            blocks.append(SPADEResBlock(width(prev), width(res), cond_channels, hidden, spectral))
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Conv2d(width(size), 3, 3, padding=1)

    def forward(self, cond: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        if self.z_dim > 0:
            if z is None:
                raise ValueError("this generator needs a style code z")
            x = self.head(z).view(z.shape[0], -1, self.base, self.base)
        else:
            x = self.head(resize_to(cond, (self.base, self.base)))
        x = self.blocks[0](x, cond)
        for block in self.blocks[1:]:
            x = block(F.interpolate(x, scale_factor=2, mode="nearest"), cond)
        return torch.tanh(self.out(F.leaky_relu(x, 0.2)))


class PatchDiscriminator(nn.Module):
    """pix2pixHD's n-layer PatchGAN (k4, stride 2 except the last two), spectral norm + instance norm."""

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Sequential(conv(in_channels, ndf, 4, 2, 2, sn=True), nn.LeakyReLU(0.2))]
        nf = ndf
        for n in range(1, n_layers):
            prev, nf = nf, min(nf * 2, 512)
            stride = 1 if n == n_layers - 1 else 2
            layers.append(
                nn.Sequential(conv(prev, nf, 4, stride, 2, sn=True), nn.InstanceNorm2d(nf), nn.LeakyReLU(0.2))
            )
        layers.append(conv(nf, 1, 4, 1, 2))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """All intermediate maps (for feature matching); the last one is the patch logits."""
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return outs


class MultiscaleDiscriminator(nn.Module):
    """``num_d`` PatchGANs on the image and its 2x, 4x... downsampled copies, conditioned on the sketch."""

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 4, num_d: int = 2) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(
            PatchDiscriminator(in_channels, ndf, n_layers) for _ in range(num_d)
        )

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        results = []
        for index, disc in enumerate(self.discriminators):
            if index > 0:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            results.append(disc(x))
        return results


def logits(results: list[list[torch.Tensor]]) -> list[torch.Tensor]:
    return [scale[-1] for scale in results]


def intermediates(results: list[list[torch.Tensor]]) -> list[list[torch.Tensor]]:
    return [scale[:-1] for scale in results]
