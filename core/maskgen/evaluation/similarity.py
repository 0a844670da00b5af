"""SSIM and MS-SSIM with pytorch_msssim on [0, 1] images (data_range=1), averaged over image pairs.

SSIM uses pytorch_msssim's defaults: an 11-tap Gaussian window with sigma 1.5, K = (0.01, 0.03), SSIM
of every colour channel averaged. MS-SSIM needs the image to survive its downsamplings with a window
left at the coarsest scale: pytorch_msssim requires more than (window - 1) * 16 px for its five scales
(over 160 px at the default window). Smaller images use, in order of preference, a smaller window
(9, then 7) with five scales, then a 7-tap window with fewer scales, the standard weights
(0.0448, 0.2856, 0.3001, 0.2363, 0.1333) cut to those scales and renormalized to sum to 1:

=========  ======  ======
 size px   window  scales
=========  ======  ======
 > 160     11      5 (standard)
 129-160   9       5
 97-128    7       5
 49-96     7       4
 25-48     7       3
 13-24     7       2
=========  ======  ======
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_msssim import ms_ssim, ssim
from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim

from maskgen.errors import MaskgenError
from maskgen.evaluation.imagesets import as_float

MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
SIGMA = 1.5
PIXELS_PER_BATCH = 256 * 64 * 64
ProgressFn = Callable[[int], None]


@dataclass(frozen=True)
class MsssimSetup:
    window: int
    scales: int

    @property
    def standard(self) -> bool:
        return self.window == 11 and self.scales == 5

    @property
    def weights(self) -> list[float]:
        cut = MS_WEIGHTS[: self.scales]
        return [w / sum(cut) for w in cut]

    @property
    def label(self) -> str:
        return "MS-SSIM" if self.standard else f"MS-SSIM (window {self.window}, {self.scales} scales)"


def msssim_setup(size: int) -> MsssimSetup:
    """Window and number of scales that fit images of ``size`` px (see the module docstring)."""
    for window in (11, 9, 7):
        if size > (window - 1) * 16:
            return MsssimSetup(window, 5)
    for scales in (4, 3, 2):
        if size > 6 * 2 ** (scales - 1):
            return MsssimSetup(7, scales)
    raise MaskgenError(f"images of {size} px are too small for MS-SSIM (at least 13 px are needed)")


def ssim_batch(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """SSIM of each pair of [N, 3, H, W] images in [0, 1]: [N]."""
    return ssim(a, b, data_range=1.0, size_average=False, win_size=11, win_sigma=SIGMA)


def msssim_batch(a: torch.Tensor, b: torch.Tensor, setup: MsssimSetup | None = None) -> torch.Tensor:
    """MS-SSIM of each pair: [N]. The standard setup is pytorch_msssim.ms_ssim itself."""
    setup = setup or msssim_setup(min(a.shape[-2:]))
    if setup.standard:
        return ms_ssim(a, b, data_range=1.0, size_average=False, win_size=11, win_sigma=SIGMA)
    return msssim_scales(a, b, setup)


def msssim_scales(a: torch.Tensor, b: torch.Tensor, setup: MsssimSetup) -> torch.Tensor:
    """pytorch_msssim.ms_ssim's loop (its per-scale ``_ssim``, relu, 2x average pooling) for any window
    and number of scales; with the standard setup it gives ms_ssim's values."""
    win = _fspecial_gauss_1d(setup.window, SIGMA).repeat([a.shape[1], 1, 1, 1])
    weights = a.new_tensor(setup.weights)
    mcs = []
    for level in range(setup.scales):
        ssim_per_channel, cs = _ssim(a, b, data_range=1.0, win=win, size_average=False)
        if level < setup.scales - 1:
            mcs.append(torch.relu(cs))
            padding = [s % 2 for s in a.shape[2:]]
            a = F.avg_pool2d(a, kernel_size=2, padding=padding)
            b = F.avg_pool2d(b, kernel_size=2, padding=padding)
    stacked = torch.stack([*mcs, torch.relu(ssim_per_channel)], dim=0)  # [scales, N, C]
    return torch.prod(stacked ** weights.view(-1, 1, 1), dim=0).mean(1)


@torch.no_grad()
def paired_mean(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    images_a: np.ndarray | torch.Tensor,
    images_b: np.ndarray | torch.Tensor,
    index_a: np.ndarray,
    index_b: np.ndarray,
    device: torch.device | str = "cpu",
    batch_size: int | None = None,
    progress: ProgressFn | None = None,
) -> float:
    """Mean of ``fn(a[i], b[j])`` over the index pairs, in batches (default: about 1 Mpixel per batch,
    256 pairs at 64 px: big batches are 2-3x faster on a CPU than small ones, and memory stays bounded)."""
    if batch_size is None:
        nchw = isinstance(images_a, torch.Tensor) and images_a.dtype != torch.uint8
        pixels = images_a.shape[2] * images_a.shape[3] if nchw else images_a.shape[1] * images_a.shape[2]
        batch_size = int(max(4, min(512, PIXELS_PER_BATCH // pixels)))
    total = 0.0
    for start in range(0, len(index_a), batch_size):
        ia, ib = index_a[start : start + batch_size], index_b[start : start + batch_size]
        values = fn(as_float(images_a[ia], device), as_float(images_b[ib], device))
        total += float(values.double().sum())
        if progress is not None:
            progress(len(ia))
    return total / len(index_a)
