"""Feature networks by name: ``masknet`` (shipped, offline) and ``inception`` (clean-fid's FID Inception).

A feature network maps a batch of uint8 images [B, H, W, 3] to float64 features [B, D]. Which network
produced a number is always part of its label: FID[inception] is only ever computed on Inception
features, FD[masknet] on masknet's.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from maskgen.errors import MaskgenError
from maskgen.evaluation.features.masknet import FEATURE_DIM, load_masknet
from maskgen.evaluation.features.weights import INCEPTION, locate
from maskgen.evaluation.imagesets.sets import batches_uint8

ProgressFn = Callable[[int], None]  # called with the number of images just processed


class FeatureNetwork:
    name: str = "features"
    dim: int = 0
    batch_size: int = 128

    def __call__(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class MasknetFeatures(FeatureNetwork):
    """masknet's penultimate layer (256 dims) on images resized to 64x64."""

    name = "masknet"
    dim = FEATURE_DIM
    batch_size = 256

    def __init__(self, device: torch.device, weights: str | Path | None = None) -> None:
        self.device = device
        self.model = load_masknet(weights, device)

    @torch.no_grad()
    def __call__(self, images: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device).permute(0, 3, 1, 2).float() / 255
        return self.model.features(x).double().cpu().numpy()


class InceptionFeatures(FeatureNetwork):
    """clean-fid's "clean" mode: PIL bicubic resize to 299x299 on float pixels, then the TorchScript
    FID Inception-v3 (2048-dim pool features), exactly as ``cleanfid.fid`` computes them."""

    name = "inception"
    dim = 2048
    batch_size = 32

    def __init__(
        self, device: torch.device, weights: str | Path | None = None, download: bool = False
    ) -> None:
        from cleanfid.resize import build_resizer

        path = locate(INCEPTION, weights, download)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # clean-fid's model is TorchScript
                base = torch.jit.load(str(path), map_location=device).eval()
        except (RuntimeError, ValueError, OSError) as exc:
            raise MaskgenError(
                f"unreadable Inception weights {path}: {' '.join(str(exc).split())[:200]}"
            ) from None
        self.layers = base.layers
        self.device = device
        self.resize = build_resizer("clean")

    @torch.no_grad()
    def __call__(self, images: np.ndarray) -> np.ndarray:
        resized = np.stack([self.resize(image) for image in images])  # float32 [B, 299, 299, 3] in [0, 255]
        x = torch.from_numpy(resized).permute(0, 3, 1, 2).to(self.device)
        # The normalization of cleanfid.inception_torchscript.InceptionV3W.forward.
        return self.layers.forward((x - 128) / 128).view(len(images), 2048).double().cpu().numpy()


FEATURE_NETWORKS: dict[str, Callable[..., FeatureNetwork]] = {
    "masknet": lambda device, weights=None, download=False: MasknetFeatures(device, weights),
    "inception": lambda device, weights=None, download=False: InceptionFeatures(device, weights, download),
}


def feature_network(
    name: str, device: torch.device, weights: str | Path | None = None, download: bool = False
) -> FeatureNetwork:
    """Build a feature network by name; unknown names and missing weights are one MaskgenError line."""
    if name not in FEATURE_NETWORKS:
        raise MaskgenError(f"unknown feature network {name!r}; valid: {', '.join(FEATURE_NETWORKS)}")
    return FEATURE_NETWORKS[name](device, weights=weights, download=download)


def extract_features(
    net: FeatureNetwork, images: np.ndarray | torch.Tensor, progress: ProgressFn | None = None
) -> np.ndarray:
    """Features of every image, in batches: float64 [N, D]."""
    chunks = []
    for batch in batches_uint8(images, net.batch_size):
        chunks.append(net(batch))
        if progress is not None:
            progress(len(batch))
    return np.concatenate(chunks) if chunks else np.zeros((0, net.dim))
