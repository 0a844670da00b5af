"""A learned 4x upscaler for masks: residual-in-residual dense blocks at the small size, then
nearest-neighbour doubling and convolutions (ESRGAN's layout, Wang et al. 2018, made small for CPUs).

The network predicts what bilinear interpolation misses: its output is added to the bilinearly enlarged
input, so flat colour fields cost it nothing and its capacity goes to edges and linework. Doubling by
nearest neighbour followed by a convolution, not a transposed convolution, is what keeps it free of
checkerboard patterns (Odena et al. 2016).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

RESIDUAL_SCALE = 0.2  # ESRGAN's residual scaling: deep stacks of dense blocks train stably with it


def _act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


class DenseBlock(nn.Module):
    """Each convolution sees the input and every earlier convolution's output; the last maps back."""

    def __init__(self, channels: int, growth: int, convs: int = 4) -> None:
        super().__init__()
        widths = [channels + i * growth for i in range(convs)]
        outs = [growth] * (convs - 1) + [channels]
        self.convs = nn.ModuleList(nn.Conv2d(w, o, 3, padding=1) for w, o in zip(widths, outs, strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for conv in self.convs[:-1]:
            features.append(_act(conv(torch.cat(features, 1))))
        return x + RESIDUAL_SCALE * self.convs[-1](torch.cat(features, 1))


class ResidualInResidual(nn.Module):
    """Two dense blocks inside one more residual connection."""

    def __init__(self, channels: int, growth: int) -> None:
        super().__init__()
        self.blocks = nn.Sequential(DenseBlock(channels, growth), DenseBlock(channels, growth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + RESIDUAL_SCALE * self.blocks(x)


class RRDBUpscaler(nn.Module):
    """[N, 3, H, W] in [-1, 1] -> [N, 3, scale*H, scale*W] in [-1, 1] (unclamped).

    The body works at the small size; each doubling but the last is nearest neighbour + conv; the last
    is a sub-pixel convolution (Shi et al. 2016) at half the output size, because convolutions at the
    full size would cost as much as the whole body. Its weights start as copies across the four
    sub-pixels (ICNR, Aitken et al. 2017), so it too starts free of checkerboard.
    """

    def __init__(self, scale: int = 4, channels: int = 32, blocks: int = 2, growth: int = 16) -> None:
        super().__init__()
        if scale < 2 or scale & (scale - 1):
            raise ValueError(f"scale must be a power of two >= 2, got {scale}")
        self.scale = scale
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*(ResidualInResidual(channels, growth) for _ in range(blocks)))
        self.body_out = nn.Conv2d(channels, channels, 3, padding=1)
        doublings = scale.bit_length() - 1
        self.ups = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1) for _ in range(doublings - 1))
        self.refine = nn.Conv2d(channels, channels, 3, padding=1)
        self.to_subpixels = nn.Conv2d(channels, 3 * 4, 3, padding=1)
        with torch.no_grad():
            # ICNR with a zero start: the residual branch begins at zero (the upscaler starts as
            # bilinear interpolation), and the four sub-pixels of each channel stay tied until trained.
            self.to_subpixels.weight.zero_()
            self.to_subpixels.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.head(x)
        features = features + self.body_out(self.body(features))
        for conv in self.ups:
            features = _act(conv(F.interpolate(features, scale_factor=2, mode="nearest")))
        features = _act(self.refine(features))
        detail = F.pixel_shuffle(self.to_subpixels(features), 2)
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return base + detail


class PatchDiscriminator(nn.Module):
    """Real or upscaled, judged per patch: strided convolutions to one logit per 8x8 pixels.

    Spectral normalization keeps it from overpowering a small upscaler (Real-ESRGAN uses it on its
    U-Net discriminator for the same reason). It sees the enlarged input beside the image, so it
    judges whether the detail fits the small mask, not only whether it looks painted.
    """

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        self.layers = nn.ModuleList(
            [
                sn(nn.Conv2d(6, channels, 3, padding=1)),
                sn(nn.Conv2d(channels, channels, 4, stride=2, padding=1)),
                sn(nn.Conv2d(channels, channels * 2, 4, stride=2, padding=1)),
                sn(nn.Conv2d(channels * 2, channels * 4, 4, stride=2, padding=1)),
                sn(nn.Conv2d(channels * 4, channels * 4, 3, padding=1)),
            ]
        )
        self.out = sn(nn.Conv2d(channels * 4, 1, 3, padding=1))

    def forward(self, image: torch.Tensor, small: torch.Tensor) -> torch.Tensor:
        scale = image.shape[-1] // small.shape[-1]
        x = torch.cat(
            [image, F.interpolate(small, scale_factor=scale, mode="bilinear", align_corners=False)], 1
        )
        for layer in self.layers:
            x = _act(layer(x))
        return self.out(x)
