"""XDoG line drawings (eXtended Difference of Gaussians, Winnemoeller, Kyprianidis & Olsen 2012).

The paper makes its translation inputs by extracting mask outlines with XDoG. We use the "tau" form of
the operator followed by the soft ramp threshold of the XDoG paper::

    D(x) = G_sigma(I)(x) - tau * G_{k*sigma}(I)(x)
    E(x) = 1                                  if D(x) >= epsilon
           1 + tanh(phi * (D(x) - epsilon))   otherwise

``tau`` relates to the paper's sharpening form ``(1 + p) G_sigma - p G_{k sigma}`` by ``tau = p / (1 + p)``
(up to the overall factor 1 + p): tau = 0.98 is p = 49. With tau slightly below 1 a flat region of any
brightness gives D = (1 - tau) * I >= 0, i.e. white paper, and only the darker side of every edge turns
into a line. That is what we want for masks: outlines of the painted regions, not filled dark areas (the
p-form with a positive epsilon would fill a black face black).

Masks put different hues of similar brightness side by side (red next to green), so by default
(``channels="rgb"``) D is computed per RGB channel and the most negative value is kept: every colour
boundary becomes a line. ``channels="luma"`` is the classic single-channel operator.

Output: float in [0, 1], 1 = white paper, 0 = black line, shape [N, 1, H, W] (tensors) or [H, W] /
[N, H, W] (numpy); ``binary=True`` thresholds at 0.5 to exactly {0, 1}. Everything is deterministic
(fixed separable convolutions, no randomness).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

# sigma is given in pixels at this reference size and scaled with the image (see XDoGParams.sigma_for).
REFERENCE_SIZE = 256


@dataclass(frozen=True)
class XDoGParams:
    """XDoG parameters; defaults give closed one-line mask outlines at 64 and 256 px.

    sigma:   std of the inner Gaussian in pixels *at 256 px*; scaled linearly with the image size
             (256 px: 1.0, 64 px: 0.25 -> clamped to ``min_sigma``). None of the inputs is blurred more
             than the line width needs, so thin ink strokes survive.
    k:       ratio of the outer to the inner Gaussian (1.6, Marr-Hildreth's DoG ~ LoG ratio, as in XDoG).
    tau:     weight of the outer Gaussian; < 1 keeps flat regions white (0.98 = p 49 in the p-form).
    epsilon: threshold on D; lines where D < epsilon. Slightly negative ignores faint texture/noise.
    phi:     steepness of the tanh ramp below epsilon; large = crisp, nearly binary lines.
    channels: "rgb" (min of D over R, G, B: catches iso-luminant colour edges) or "luma".
    min_sigma: lower bound of the pixel sigma at small sizes (below ~0.5 px the blur is a no-op).
    """

    sigma: float = 1.0
    k: float = 1.6
    tau: float = 0.98
    epsilon: float = -0.015
    phi: float = 100.0
    channels: Literal["rgb", "luma"] = "rgb"
    min_sigma: float = 0.5

    def sigma_for(self, size: int) -> float:
        """Inner sigma in pixels for an image of side ``size``."""
        return max(self.min_sigma, self.sigma * size / REFERENCE_SIZE)

    def as_dict(self) -> dict[str, float | str]:
        return asdict(self)


def _gaussian_kernel(sigma: float, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, device=device, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return (kernel / kernel.sum()).to(dtype)


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of [N, C, H, W]; borders replicate (the paper is white up to the edge)."""
    kernel = _gaussian_kernel(sigma, images.device, images.dtype)
    radius = (kernel.numel() - 1) // 2
    n, c, h, w = images.shape
    flat = images.reshape(n * c, 1, h, w)
    flat = F.pad(flat, (radius, radius, radius, radius), mode="replicate")
    flat = F.conv2d(flat, kernel.view(1, 1, 1, -1))
    flat = F.conv2d(flat, kernel.view(1, 1, -1, 1))
    return flat.reshape(n, c, h, w)


def xdog(images: torch.Tensor, params: XDoGParams | None = None, binary: bool = False) -> torch.Tensor:
    """Line drawings of a batch.

    images: [N, 3, H, W] (or [N, 1, H, W]) float in [0, 1], or uint8 in [0, 255].
    Returns [N, 1, H, W] float in [0, 1] on the input's device: 1 white, 0 line.
    """
    params = params or XDoGParams()
    if images.ndim != 4:
        raise ValueError(f"expected [N, C, H, W], got shape {tuple(images.shape)}")
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    if params.channels == "luma" and x.shape[1] == 3:
        weights = torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)
        x = (x * weights).sum(1, keepdim=True)
    sigma = params.sigma_for(max(x.shape[-2:]))
    dog = gaussian_blur(x, sigma) - params.tau * gaussian_blur(x, params.k * sigma)
    dog = dog.amin(1, keepdim=True)  # strongest edge over channels
    ramp = 1.0 + torch.tanh(params.phi * (dog - params.epsilon))
    out = torch.where(dog >= params.epsilon, torch.ones_like(dog), ramp).clamp(0.0, 1.0)
    if binary:
        out = (out >= 0.5).to(out.dtype)
    return out


def xdog_numpy(images: np.ndarray, params: XDoGParams | None = None, binary: bool = False) -> np.ndarray:
    """numpy version: uint8/float [H, W, 3] or [N, H, W, 3] (or greyscale [H, W]/[N, H, W, 1]).

    Returns float32 [H, W] or [N, H, W] in [0, 1] (1 white, 0 line).
    """
    arr = np.asarray(images)
    single = False
    if arr.ndim == 2:  # [H, W] grey
        arr, single = arr[None, :, :, None], True
    elif arr.ndim == 3:  # [H, W, C] one image
        arr, single = arr[None], True
    elif arr.ndim != 4:
        raise ValueError(f"expected [H, W], [H, W, C] or [N, H, W, C], got shape {arr.shape}")
    arr = arr[..., :3]  # drop alpha
    tensor = torch.from_numpy(np.array(arr)).permute(0, 3, 1, 2)
    out = xdog(tensor, params, binary)[:, 0].numpy().astype(np.float32)
    return out[0] if single else out


def sketch_to_uint8(sketch: torch.Tensor) -> np.ndarray:
    """[N, 1, H, W] in [0, 1] -> uint8 [N, H, W] greyscale for PNG files."""
    return (sketch[:, 0].detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).numpy()
