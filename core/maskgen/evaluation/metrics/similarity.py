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
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_msssim import ms_ssim, ssim

from maskgen.errors import MaskgenError
from maskgen.evaluation.context import EvalContext
from maskgen.evaluation.imagesets.pairing import cross_pairs
from maskgen.evaluation.imagesets.sets import as_float
from maskgen.evaluation.metrics.base import Entries, Metric

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


def gaussian_window(size: int, sigma: float = SIGMA) -> torch.Tensor:
    """The normalized 1-D Gaussian of ``size`` taps, centred: [size] (pytorch_msssim's window)."""
    coords = torch.arange(size, dtype=torch.float) - size // 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def _blur(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable valid-mode Gaussian blur of every channel (a side shorter than the window is left)."""
    channels, taps = x.shape[1], window.numel()
    kernel = window.to(x.device, x.dtype).view(1, 1, 1, taps).repeat(channels, 1, 1, 1)
    if x.shape[2] >= taps:  # heights first, then widths: pytorch_msssim's order, so its very values
        x = F.conv2d(x, kernel.transpose(2, 3), groups=channels)
    if x.shape[3] >= taps:
        x = F.conv2d(x, kernel, groups=channels)
    return x


def ssim_and_contrast(
    a: torch.Tensor, b: torch.Tensor, window: torch.Tensor, k: tuple[float, float] = (0.01, 0.03)
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel SSIM and contrast-structure term of [0, 1] images: ([N, C], [N, C])."""
    c1, c2 = k[0] ** 2, k[1] ** 2  # data range 1
    mu_a, mu_b = _blur(a, window), _blur(b, window)
    mu_aa, mu_bb, mu_ab = mu_a.pow(2), mu_b.pow(2), mu_a * mu_b
    var_a = _blur(a * a, window) - mu_aa
    var_b = _blur(b * b, window) - mu_bb
    cov = _blur(a * b, window) - mu_ab
    cs_map = (2 * cov + c2) / (var_a + var_b + c2)
    ssim_map = ((2 * mu_ab + c1) / (mu_aa + mu_bb + c1)) * cs_map
    return ssim_map.flatten(2).mean(-1), cs_map.flatten(2).mean(-1)


def msssim_scales(a: torch.Tensor, b: torch.Tensor, setup: MsssimSetup) -> torch.Tensor:
    """MS-SSIM (Wang et al. 2003) as pytorch_msssim.ms_ssim computes it (per-scale SSIM, relu, 2x
    average pooling) for any window and number of scales; with the standard setup it gives ms_ssim's
    values."""
    window = gaussian_window(setup.window)
    weights = a.new_tensor(setup.weights)
    mcs = []
    for level in range(setup.scales):
        ssim_per_channel, cs = ssim_and_contrast(a, b, window)
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


# --------------------------------------------------------------------------------------------------
# The evaluators
# --------------------------------------------------------------------------------------------------


class _PairedSimilarity(Metric):
    table = "quality"
    higher_is_better = True

    def _pairs(self, context: EvalContext) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        seed = self.options.seed
        ia, ib = cross_pairs(len(context.real.images), len(context.fake.images), seed, self.options.max_pairs)
        return ia, ib, {"pairs": len(ia), "pairing": "real/fake random pairs", "pairing_seed": seed}


class SSIM(_PairedSimilarity):
    """SSIM over random real/fake pairs (pytorch_msssim's window: 11 taps, sigma 1.5)."""

    name, keys, paper_column = "ssim", ("ssim",), (3, "SSIM")

    def measure(self, context: EvalContext) -> Entries:
        ia, ib, pairing = self._pairs(context)
        progress = context.tracker.task("SSIM", len(ia))
        real, fake = context.real.images, context.fake.images
        value = paired_mean(ssim_batch, real, fake, ia, ib, context.device, progress=progress)
        return {"ssim": {"label": "SSIM", "value": value, "higher_is_better": True, "window": 11} | pairing}


class MSSSIM(_PairedSimilarity):
    """MS-SSIM over random real/fake pairs; below 161 px with a smaller window or fewer scales."""

    name, keys, paper_column = "msssim", ("msssim",), (4, "MS-SSIM")

    def measure(self, context: EvalContext) -> Entries:
        ia, ib, pairing = self._pairs(context)
        setup = msssim_setup(context.real.size)
        value = paired_mean(
            lambda a, b: msssim_batch(a, b, setup),
            context.real.images,
            context.fake.images,
            ia,
            ib,
            context.device,
            progress=context.tracker.task(setup.label, len(ia)),
        )
        if not setup.standard:
            context.notes.append(
                f"MS-SSIM at {context.real.size} px uses a {setup.window}-px window and {setup.scales} "
                "scales (the standard 11-px window with 5 scales needs images over 160 px)"
            )
        entry = {
            "label": setup.label,
            "value": value,
            "higher_is_better": True,
            "window": setup.window,
            "scales": setup.scales,
            "weights": [round(w, 4) for w in setup.weights],
        }
        return {"msssim": entry | pairing}
