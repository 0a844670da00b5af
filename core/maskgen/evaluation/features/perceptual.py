"""LPIPS: the lpips package with its AlexNet backbone, or the same formula on masknet (offline).

LPIPS(x, y) = sum over layers l of mean over positions (h, w) of sum over channels c of
w_lc * (f_l(x)_chw / |f_l(x)_hw| - f_l(y)_chw / |f_l(y)_hw|)^2, where f_l are feature maps unit-
normalized along channels. ``alex``: the lpips package, AlexNet trunk (torchvision ImageNet weights)
with its learned weights w_lc (shipped inside the lpips package). ``masknet``: masknet's four stage
outputs with uniform weights w_lc = 1 (LPIPS's "baseline" variant), labelled LPIPS[masknet].
AlexNet's pooling needs at least 32 px; smaller images are upsampled (bilinear) to 64 px for it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from maskgen.errors import MaskgenError
from maskgen.evaluation.features.masknet import load_masknet
from maskgen.evaluation.features.weights import ALEXNET, locate

ALEX_MIN_SIZE = 64
# lpips' alexnet wrapper splits torchvision's ``features`` into five slices at these indices.
_ALEX_SLICES = ((0, 2), (2, 5), (5, 8), (8, 10), (10, 12))


def _unit(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    # Same normalization as lpips.normalize_tensor.
    return x / (torch.sqrt(torch.sum(x**2, dim=1, keepdim=True)) + eps)


class Lpips:
    name: str = "lpips"
    batch_size: int = 32

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Distance of each pair of [N, 3, H, W] images in [0, 1]: [N]."""
        raise NotImplementedError


class MasknetLpips(Lpips):
    name = "masknet"
    batch_size = 128  # small network: big batches amortize per-call overhead (2x faster on 2 cores)

    def __init__(self, device: torch.device, weights: str | Path | None = None) -> None:
        self.model = load_masknet(weights, device)

    @torch.no_grad()
    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(len(a), device=a.device)
        for fa, fb in zip(self.model.feature_maps(a), self.model.feature_maps(b), strict=True):
            total += ((_unit(fa) - _unit(fb)) ** 2).sum(dim=1).mean(dim=(1, 2))
        return total


def lpips_with_trunk(
    net: str, path: Path, slices: tuple[tuple[int, int], ...], label: str
) -> torch.nn.Module:
    """The lpips package's LPIPS(net) with its trunk read from torchvision's state dict at ``path``
    (``slices``: the ``features`` indices of each lpips slice), frozen, in eval mode.

    pnet_rand builds the trunk without torchvision downloading anything; the learned linear layers
    come from the lpips package itself."""
    import lpips

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a file that is not a state dict
        raise MaskgenError(f"unreadable {label} weights {path}: {' '.join(str(exc).split())[:200]}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lpips still passes torchvision's deprecated `pretrained`
        model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
    trunk = {
        f"slice{n}.{index}.{param}": state[f"features.{index}.{param}"]
        for n, (start, stop) in enumerate(slices, 1)
        for index in range(start, stop)
        for param in ("weight", "bias")
        if isinstance(state, dict) and f"features.{index}.{param}" in state
    }
    if set(trunk) != set(model.net.state_dict()):
        raise MaskgenError(f"{path} is not torchvision's {label} state dict (features.* keys missing)")
    model.net.load_state_dict(trunk)
    return model.eval().requires_grad_(False)


class AlexLpips(Lpips):
    name = "alex"

    def __init__(
        self, device: torch.device, weights: str | Path | None = None, download: bool = False
    ) -> None:

        path = locate(ALEXNET, weights, download)
        self.model = lpips_with_trunk("alex", path, _ALEX_SLICES, "AlexNet").to(device)

    @torch.no_grad()
    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if min(a.shape[-2:]) < ALEX_MIN_SIZE:
            a = F.interpolate(a, size=(ALEX_MIN_SIZE, ALEX_MIN_SIZE), mode="bilinear", align_corners=False)
            b = F.interpolate(b, size=(ALEX_MIN_SIZE, ALEX_MIN_SIZE), mode="bilinear", align_corners=False)
        return self.model(a, b, normalize=True).view(-1)


def lpips_network(
    name: str, device: torch.device, weights: str | Path | None = None, download: bool = False
) -> Lpips:
    if name == "alex":
        return AlexLpips(device, weights, download)
    if name == "masknet":
        return MasknetLpips(device, weights)
    raise MaskgenError(f"unknown LPIPS network {name!r}; valid: alex, masknet")
