"""Differentiable perceptual distances for the projector: LPIPS-VGG when its weights exist, else
the same formula on masknet (offline, always there).

* ``vgg``, labelled ``LPIPS[vgg]``: the lpips package's VGG16 variant (the distance of the StyleGAN2
  projector): torchvision's ImageNet VGG16 trunk, read from ``vgg16-397923af.pth`` wherever
  :mod:`maskgen.evaluation.features.weights` looks (``$MASKGEN_WEIGHTS``, torch's hub cache), with the learned
  linear layers shipped inside the lpips package. Images under 64 px are upsampled to 64 px for it,
  images over 256 px area-downsampled to 256 px (as the reference projector does).
* ``masknet``, labelled ``LPIPS[masknet]``: masknet's four stage outputs, unit-normalised along
  channels, squared differences summed over channels and averaged over positions, uniform layer
  weights: the LPIPS[masknet] of ``maskgen eval``, with gradients.

``auto`` takes ``vgg`` when its weights are found and ``masknet`` otherwise; nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from maskgen.errors import MaskgenError
from maskgen.evaluation.features.masknet import load_masknet
from maskgen.evaluation.features.perceptual import lpips_with_trunk
from maskgen.evaluation.features.weights import WeightFile, locate

VGG16 = WeightFile(
    "vgg16",
    "vgg16-397923af.pth",
    # torchvision's VGG16_Weights.IMAGENET1K_V1, which lpips.LPIPS(net="vgg") loads.
    "https://download.pytorch.org/models/vgg16-397923af.pth",
    "torchvision's ImageNet VGG16 (the LPIPS-VGG backbone)",
)
DISTANCES = ("auto", "vgg", "masknet")
# lpips' vgg16 wrapper splits torchvision's ``features`` into five slices at these indices.
_VGG_SLICES = ((0, 4), (4, 9), (9, 16), (16, 23), (23, 30))
VGG_MIN_SIZE = 64
VGG_MAX_SIZE = 256


def _unit(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return x / (torch.sqrt(torch.sum(x**2, dim=1, keepdim=True)) + eps)


class ProjectionDistance:
    """``features(x)`` once for the target, then ``distance(features, y)`` per step: [N] distances.
    Images are [N, 3, H, W] in [-1, 1]; everything is differentiable in ``y``."""

    name: str = "distance"

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        raise NotImplementedError

    def distance(self, target: list[torch.Tensor], images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class MasknetDistance(ProjectionDistance):
    name = "LPIPS[masknet]"

    def __init__(self, device: torch.device) -> None:
        self.model = load_masknet(None, device)

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        return [_unit(f) for f in self.model.feature_maps((images + 1) / 2)]

    def distance(self, target: list[torch.Tensor], images: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(len(images), device=images.device)
        for ft, fy in zip(target, self.features(images), strict=True):
            total = total + ((ft - fy) ** 2).sum(dim=1).mean(dim=(1, 2))
        return total


class VggDistance(ProjectionDistance):
    name = "LPIPS[vgg]"

    def __init__(self, device: torch.device, weights: str | Path | None = None) -> None:
        path = locate(VGG16, weights)
        self.model = lpips_with_trunk("vgg", path, _VGG_SLICES, "VGG16").to(device)

    def _resize(self, images: torch.Tensor) -> torch.Tensor:
        size = images.shape[-1]
        if size < VGG_MIN_SIZE:
            return F.interpolate(
                images, size=(VGG_MIN_SIZE, VGG_MIN_SIZE), mode="bilinear", align_corners=False
            )
        if size > VGG_MAX_SIZE:
            return F.interpolate(images, size=(VGG_MAX_SIZE, VGG_MAX_SIZE), mode="area")
        return images

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = self.model.scaling_layer(self._resize(images))  # lpips v0.1 takes [-1, 1] and rescales
        return [_unit(f) for f in self.model.net.forward(x)]

    def distance(self, target: list[torch.Tensor], images: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(len(images), device=images.device)
        for lin, ft, fy in zip(self.model.lins, target, self.features(images), strict=True):
            total = total + lin((ft - fy) ** 2).mean(dim=(1, 2, 3))
        return total


def projection_distance(
    name: str, device: torch.device, weights: str | Path | None = None
) -> ProjectionDistance:
    """``auto`` (VGG when its weights are found, else masknet), ``vgg`` (missing weights: one line
    saying which file to put where) or ``masknet``."""
    if name not in DISTANCES:
        raise MaskgenError(f"unknown projection distance {name!r}; valid: {', '.join(DISTANCES)}")
    if name == "masknet":
        return MasknetDistance(device)
    if name == "vgg" or weights is not None:
        return VggDistance(device, weights)
    if any(path.is_file() for path in VGG16.search_paths()):
        return VggDistance(device)  # found: a broken file is an error, not a silent fallback
    return MasknetDistance(device)
