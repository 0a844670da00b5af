"""Small inputs for training an upscaler: large masks shrunk, and then spoiled the way its real inputs are.

At generation time the upscaler never sees a clean downsample of a painted mask: it sees a GAN sample,
softer at its edges, with slightly wrong colours and faint texture where the GAN's noise or its
imperfect layers leave some. An upscaler trained only on clean downsamples sharpens those faults or
gives up on them. So, as Real-ESRGAN's degradation model and the cascaded diffusion models'
conditioning augmentation do (Wang et al. 2021; Ho et al. 2021), each training input is shrunk with a
randomly chosen kernel after a random blur, then gets random noise, a soft blend with a blurred copy
and 8-bit rounding, each with its own probability and strength. The targets stay the clean large
masks, so the upscaler learns to answer a spoiled small mask with a clean large one.

Colours are another matter: the upscaler must keep the colours it is given, never guess others, so a
colour shift (:func:`shift_colours`, for the GAN's colours that no training mask has) is applied to
the large mask before it is shrunk, to input and target alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class Degradation:
    """How strongly training inputs are spoiled; ``none()`` gives clean area downsamples."""

    blur_prob: float = 0.6
    blur_sigma: float = 1.6  # at the large size; a 4x area shrink alone is about sigma 1.1
    noise_prob: float = 0.5
    noise_sigma: float = 0.04  # in [-1, 1] units at the small size
    soften_prob: float = 0.4  # blend with a blurred copy: the GAN's soft edges
    soften_amount: float = 0.6
    colour_prob: float = 0.5  # shift_colours: applied to input and target alike
    colour_shift: float = 0.06  # per-channel gain and offset
    quantize_prob: float = 0.5
    kernel_prob: float = 1.0  # shrink with a random one of SHRINK_MODES; otherwise area averaging

    @classmethod
    def none(cls) -> Degradation:
        return cls(*([0.0] * 10))

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def gaussian_blur(images: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
    """Each image blurred with its own sigma (0: unchanged), by a separable kernel of odd width."""
    radius = max(1, int(torch.ceil(sigmas.max() * 3).item()))
    offsets = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    safe = sigmas.clamp_min(1e-3).to(images.dtype)[:, None]
    kernels = torch.exp(-0.5 * (offsets[None] / safe) ** 2)
    kernels = torch.where(sigmas[:, None] > 1e-3, kernels, (offsets[None] == 0).to(images.dtype))
    kernels = kernels / kernels.sum(1, keepdim=True)
    n, c, h, w = images.shape
    flat = images.reshape(1, n * c, h, w)
    weight = kernels.repeat_interleave(c, 0)  # [n*c, k]
    flat = F.pad(flat, (radius, radius, radius, radius), mode="reflect")
    flat = F.conv2d(flat, weight[:, None, None, :], groups=n * c)
    flat = F.conv2d(flat, weight[:, None, :, None], groups=n * c)
    return flat.reshape(n, c, h, w)


SHRINK_MODES = ("area", "bilinear", "bicubic")


def shrink(images: torch.Tensor, scale: int, mode: str = "area") -> torch.Tensor:
    """[N, 3, H, W] -> [N, 3, H/scale, W/scale] with one of :data:`SHRINK_MODES` (antialiased)."""
    size = (images.shape[-2] // scale, images.shape[-1] // scale)
    if mode == "area":
        return F.interpolate(images, size=size, mode="area")
    return F.interpolate(images, size=size, mode=mode, align_corners=False, antialias=True)


def shift_colours(images: torch.Tensor, settings: Degradation, generator: torch.Generator) -> torch.Tensor:
    """Per image and channel, a random gain and offset (with ``colour_prob``), clamped to [-1, 1]."""
    n = images.shape[0]
    chosen = (torch.rand(n, generator=generator) < settings.colour_prob).to(images.device)[
        :, None, None, None
    ]
    gain = 1 + (torch.rand((n, 3, 1, 1), generator=generator) * 2 - 1) * settings.colour_shift
    offset = (torch.rand((n, 3, 1, 1), generator=generator) * 2 - 1) * settings.colour_shift
    shifted = images * gain.to(images.device) + offset.to(images.device)
    return torch.where(chosen, shifted.clamp(-1, 1), images)


def degrade(
    images: torch.Tensor, scale: int, settings: Degradation, generator: torch.Generator
) -> torch.Tensor:
    """Large masks in [-1, 1] -> the spoiled small inputs an upscaler trains on, in [-1, 1].

    All randomness comes from ``generator`` (on the CPU), so a resumed run draws the same inputs.
    """
    n = images.shape[0]

    def chance(p: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator) < p).to(images.device)

    def uniform(high: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator) * high).to(images.device)

    sigmas = uniform(settings.blur_sigma) * chance(settings.blur_prob)
    x = gaussian_blur(images, sigmas) if bool((sigmas > 1e-3).any()) else images
    mode_of = torch.randint(len(SHRINK_MODES), (n,), generator=generator) * chance(settings.kernel_prob).cpu()
    small = torch.empty(
        (n, images.shape[1], images.shape[2] // scale, images.shape[3] // scale),
        dtype=images.dtype,
        device=images.device,
    )
    for index, mode in enumerate(SHRINK_MODES):
        chosen = (mode_of == index).nonzero().flatten().to(images.device)
        if len(chosen):
            small[chosen] = shrink(x[chosen], scale, mode)
    soften = uniform(settings.soften_amount) * chance(settings.soften_prob)
    if bool((soften > 0).any()):
        blurred = gaussian_blur(small, torch.full((n,), 0.8, device=images.device))
        small = small + soften[:, None, None, None] * (blurred - small)
    colour = chance(settings.colour_prob)[:, None, None, None]
    gain = (
        1 + (torch.rand((n, 3, 1, 1), generator=generator).to(images.device) * 2 - 1) * settings.colour_shift
    )
    offset = (torch.rand((n, 3, 1, 1), generator=generator).to(images.device) * 2 - 1) * settings.colour_shift
    small = torch.where(colour, small * gain + offset, small)
    noise = uniform(settings.noise_sigma) * chance(settings.noise_prob)
    draw = torch.randn(small.shape, generator=generator).to(images.device)
    small = small + noise[:, None, None, None] * draw
    small = small.clamp(-1, 1)
    rounded = torch.round((small + 1) * 127.5) / 127.5 - 1
    return torch.where(chance(settings.quantize_prob)[:, None, None, None], rounded, small)
