"""The differentiable augmentation pipeline of ADA (Karras et al. 2020, "Training Generative
Adversarial Networks with Limited Data"), written for maskgen.

Every transform is applied to each sample independently with probability ``multiplier * p``. The
geometric transforms are composed into one 3x3 matrix per sample and applied with a single bilinear
resampling; the colour transforms into one 4x4 matrix per sample. A sample that no transform touched
is passed through bit for bit, and ``p == 0`` returns the input tensor itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from maskgen.devices import host_reads_are_free

Tensor = torch.Tensor

GEOMETRIC = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac")
COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
TRANSFORMS = (*GEOMETRIC, *COLOR, "imgfilter", "noise", "cutout")

PresetName = Literal[
    "blit", "geom", "color", "filter", "noise", "cutout", "bg", "bgc", "bgcf", "bgcfn", "bgcfnc"
]
_BLIT = ("xflip", "rotate90", "xint")
_GEOM = ("scale", "rotate", "aniso", "xfrac")
PRESETS: dict[str, tuple[str, ...]] = {
    "blit": _BLIT,
    "geom": _GEOM,
    "color": COLOR,
    "filter": ("imgfilter",),
    "noise": ("noise",),
    "cutout": ("cutout",),
    "bg": (*_BLIT, *_GEOM),
    "bgc": (*_BLIT, *_GEOM, *COLOR),
    "bgcf": (*_BLIT, *_GEOM, *COLOR, "imgfilter"),
    "bgcfn": (*_BLIT, *_GEOM, *COLOR, "imgfilter", "noise"),
    "bgcfnc": (*_BLIT, *_GEOM, *COLOR, "imgfilter", "noise", "cutout"),
}

# Image-space filtering: four octave bands of the spectrum, as fractions of the Nyquist frequency.
_BAND_EDGES = (1 / 8, 1 / 4, 1 / 2)
# Expected share of a natural image's energy per band (most of it is at low frequencies); used to
# renormalise random band gains so the image keeps its overall energy.
_BAND_POWER = (10 / 13, 1 / 13, 1 / 13, 1 / 13)
_FILTER_TAPS = 47  # long enough to separate the narrow pi/8..pi/4 band
# Unit vector along grey (R = G = B): luma flip mirrors across it, hue rotates about it.
_LUMA_AXIS = (1 / math.sqrt(3),) * 3


@dataclass(frozen=True)
class PipeConfig:
    """Which transforms are on and how strong they are.

    A multiplier scales ``p`` into that transform's probability (0 disables it). The strengths are the
    paper's defaults; lengths are fractions of the image size, angles multiples of pi, ``*_std`` of
    scale-like quantities are in log2 units.
    """

    xflip: float = 0.0
    rotate90: float = 0.0
    xint: float = 0.0
    scale: float = 0.0
    rotate: float = 0.0
    aniso: float = 0.0
    xfrac: float = 0.0
    brightness: float = 0.0
    contrast: float = 0.0
    lumaflip: float = 0.0
    hue: float = 0.0
    saturation: float = 0.0
    imgfilter: float = 0.0
    noise: float = 0.0
    cutout: float = 0.0

    xint_max: float = 0.125
    scale_std: float = 0.2
    rotate_max: float = 1.0
    aniso_std: float = 0.2
    xfrac_std: float = 0.125
    brightness_std: float = 0.2
    contrast_std: float = 0.5
    hue_max: float = 1.0
    saturation_std: float = 1.0
    imgfilter_std: float = 1.0
    noise_std: float = 0.1
    cutout_size: float = 0.5

    @classmethod
    def from_preset(cls, preset: str | None, **overrides: float) -> PipeConfig:
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"unknown ADA pipeline {preset!r}; valid: {', '.join(PRESETS)}")
        enabled = dict.fromkeys(PRESETS[preset], 1.0) if preset is not None else {}
        return cls(**{**enabled, **overrides})


class AugmentPipe(nn.Module):
    """ADA's augmentation pipeline for batches ``[N, C, H, W]`` in [-1, 1] (colour needs C in {1, 3}).

    ``AugmentPipe("bgc", p=0.5)`` enables a named preset; keyword overrides set single multipliers or
    strengths, e.g. ``AugmentPipe(None, brightness=1, p=1)`` for brightness alone. ``p`` is stored in a
    0-dim buffer and can be overridden per call with ``pipe(images, p)``.
    """

    p: Tensor

    def __init__(self, preset: str | None = "bgc", p: float = 0.0, **overrides: float) -> None:
        super().__init__()
        self.config = PipeConfig.from_preset(preset, **overrides)
        self.register_buffer("p", torch.tensor(float(p)))
        self.register_buffer("band_kernels", _band_kernels(_FILTER_TAPS), persistent=False)

    def extra_repr(self) -> str:
        on = [f"{name}={getattr(self.config, name):g}" for name in TRANSFORMS if getattr(self.config, name)]
        return ", ".join(on) or "identity"

    def forward(self, images: Tensor, p: Tensor | float | None = None) -> Tensor:
        if images.ndim != 4:
            raise ValueError(f"expected images [N, C, H, W], got shape {tuple(images.shape)}")
        p = torch.as_tensor(self.p if p is None else p, dtype=torch.float32).to(images.device)
        if not any(getattr(self.config, name) > 0 for name in TRANSFORMS):
            return images
        if host_reads_are_free(images.device) and float(p) == 0.0:
            # Exactly the identity, without drawing random numbers. Not on GPUs: reading p would stall
            # the device every step, so there the transforms run with every gate closed.
            return images
        x = self._geometric(images, p)
        x = self._color(x, p)
        x = self._filter(x, p)
        x = self._noise(x, p)
        return self._cutout(x, p)

    # -- geometric ---------------------------------------------------------------------------------

    def _geometric(self, x: Tensor, p: Tensor) -> Tensor:
        cfg = self.config
        if not any(getattr(cfg, name) > 0 for name in GEOMETRIC):
            return x
        n, _, h, w = x.shape
        dev = x.device
        # Built as the inverse map (output pixel -> input pixel): composing T_1^-1 @ T_2^-1 @ ...
        # applies T_1 first. Coordinates are in pixels, centred on the image.
        g = _eye(3, n, dev)
        if cfg.xflip > 0:
            i = torch.randint(0, 2, (n,), device=dev) * _gate(n, cfg.xflip * p, dev)
            g = g @ _scale2d(1.0 - 2.0 * i, torch.ones_like(i))
        if cfg.rotate90 > 0:
            k = torch.randint(0, 4, (n,), device=dev) * _gate(n, cfg.rotate90 * p, dev)
            g = g @ _rot90_inv(k.long())
        if cfg.xint > 0:
            t = (torch.rand(n, 2, device=dev) * 2 - 1) * cfg.xint_max * _gate(n, cfg.xint * p, dev)[:, None]
            g = g @ _translate2d(-torch.round(t[:, 0] * w), -torch.round(t[:, 1] * h))
        if cfg.scale > 0:
            s = torch.exp2(torch.randn(n, device=dev) * cfg.scale_std * _gate(n, cfg.scale * p, dev))
            g = g @ _scale2d(1.0 / s, 1.0 / s)
        # Two rotations, each with the probability that makes "at least one of them" happen with p.
        p_rot = 1 - torch.sqrt(torch.clamp(1 - cfg.rotate * p, min=0.0))
        if cfg.rotate > 0:
            g = g @ _rotate2d(-self._angle(n, cfg.rotate_max, p_rot, dev))
        if cfg.aniso > 0:
            s = torch.exp2(torch.randn(n, device=dev) * cfg.aniso_std * _gate(n, cfg.aniso * p, dev))
            g = g @ _scale2d(1.0 / s, s)
        if cfg.rotate > 0:
            g = g @ _rotate2d(-self._angle(n, cfg.rotate_max, p_rot, dev))
        if cfg.xfrac > 0:
            t = torch.randn(n, 2, device=dev) * cfg.xfrac_std * _gate(n, cfg.xfrac * p, dev)[:, None]
            g = g @ _translate2d(-t[:, 0] * w, -t[:, 1] * h)

        changed = ~(g == _eye(3, 1, dev)).flatten(1).all(dim=1)
        if _nothing_changed(changed):
            return x  # nothing to resample anywhere in the batch
        return _where(changed, _resample(x, g), x)

    @staticmethod
    def _angle(n: int, max_turns: float, prob: Tensor, dev: torch.device) -> Tensor:
        return (torch.rand(n, device=dev) * 2 - 1) * math.pi * max_turns * _gate(n, prob, dev)

    # -- colour ------------------------------------------------------------------------------------

    def _color(self, x: Tensor, p: Tensor) -> Tensor:
        cfg = self.config
        if not any(getattr(cfg, name) > 0 for name in COLOR):
            return x
        n, c, h, w = x.shape
        if c not in (1, 3):
            raise ValueError(f"colour transforms need 1 or 3 channels, got {c}")
        dev = x.device
        m = _eye(4, n, dev)  # applied left to right in the order below: M = T_k @ ... @ T_1
        v = torch.tensor([*_LUMA_AXIS, 0.0], device=dev)
        vvt = torch.outer(v, v)
        if cfg.brightness > 0:
            b = torch.randn(n, device=dev) * cfg.brightness_std * _gate(n, cfg.brightness * p, dev)
            m = _translate3d(b) @ m
        if cfg.contrast > 0:
            s = torch.exp2(torch.randn(n, device=dev) * cfg.contrast_std * _gate(n, cfg.contrast * p, dev))
            m = _scale3d(s) @ m
        if cfg.lumaflip > 0:
            i = torch.randint(0, 2, (n,), device=dev) * _gate(n, cfg.lumaflip * p, dev)
            m = (_eye(4, 1, dev) - 2 * vvt * i[:, None, None]) @ m
        if cfg.hue > 0:
            theta = (torch.rand(n, device=dev) * 2 - 1) * math.pi * cfg.hue_max
            m = _rotate_about(_LUMA_AXIS, theta * _gate(n, cfg.hue * p, dev)) @ m
        if cfg.saturation > 0:
            s = torch.exp2(
                torch.randn(n, device=dev) * cfg.saturation_std * _gate(n, cfg.saturation * p, dev)
            )
            chroma = torch.diag(torch.tensor([1.0, 1.0, 1.0, 0.0], device=dev)) - vvt
            # Written as I + (s - 1) * P so that s == 1 gives exactly the identity.
            m = (_eye(4, 1, dev) + (s - 1)[:, None, None] * chroma) @ m

        changed = ~(m == _eye(4, 1, dev)).flatten(1).all(dim=1)
        if _nothing_changed(changed):
            return x
        rgb = x.expand(n, 3, h, w) if c == 1 else x
        m = m.to(x.dtype)
        out = torch.baddbmm(m[:, :3, 3:], m[:, :3, :3], rgb.reshape(n, 3, h * w)).reshape(n, 3, h, w)
        if c == 1:  # grey images: treat as equal RGB, transform, and average back
            out = out.mean(dim=1, keepdim=True)
        return _where(changed, out, x)

    # -- image-space filtering, noise, cutout ------------------------------------------------------

    def _filter(self, x: Tensor, p: Tensor) -> Tensor:
        cfg = self.config
        if cfg.imgfilter <= 0:
            return x
        n, dev = x.shape[0], x.device
        power = torch.tensor(_BAND_POWER, device=dev)
        gains = torch.ones(n, len(_BAND_POWER), device=dev)
        for band in range(len(_BAND_POWER)):
            on = _gate(n, cfg.imgfilter * p, dev).bool()
            t = torch.ones_like(gains)
            t[:, band] = torch.exp2(torch.randn(n, device=dev) * cfg.imgfilter_std)
            t = t / torch.sqrt((power * t.square()).sum(dim=1, keepdim=True))  # keep expected energy
            gains = torch.where(on[:, None], gains * t, gains)

        changed = (gains != 1).any(dim=1)
        if _nothing_changed(changed):
            return x
        kernels = gains @ self.band_kernels.to(dev)  # [N, taps]: one separable filter per sample
        return _where(changed, _separable_filter(x, kernels.to(x.dtype)), x)

    def _noise(self, x: Tensor, p: Tensor) -> Tensor:
        cfg = self.config
        if cfg.noise <= 0:
            return x
        n, dev = x.shape[0], x.device
        sigma = torch.randn(n, device=dev).abs() * cfg.noise_std * _gate(n, cfg.noise * p, dev)
        changed = sigma > 0
        if _nothing_changed(changed):
            return x
        return _where(changed, x + torch.randn_like(x) * sigma.to(x.dtype)[:, None, None, None], x)

    def _cutout(self, x: Tensor, p: Tensor) -> Tensor:
        cfg = self.config
        if cfg.cutout <= 0:
            return x
        n, _, h, w = x.shape
        dev = x.device
        changed = _gate(n, cfg.cutout * p, dev).bool()
        if _nothing_changed(changed):
            return x
        centre = torch.rand(n, 2, device=dev)
        half = cfg.cutout_size / 2
        xs = (torch.arange(w, device=dev) + 0.5) / w
        ys = (torch.arange(h, device=dev) + 0.5) / h
        keep_x = (xs[None, :] - centre[:, 0:1]).abs() >= half  # [N, W]
        keep_y = (ys[None, :] - centre[:, 1:2]).abs() >= half  # [N, H]
        keep = (keep_y[:, :, None] | keep_x[:, None, :]).to(x.dtype)[:, None]
        return _where(changed, x * keep, x)


# -- helpers ---------------------------------------------------------------------------------------


def _nothing_changed(changed: Tensor) -> bool:
    """True when no image of the batch was transformed, so the work can be skipped.

    Only asked where reading a device value is free (CPUs); on GPUs the answer would stall the device
    every step, so the transform runs and ``changed`` selects its result per image.
    """
    return host_reads_are_free(changed.device) and not bool(changed.any())


def _gate(n: int, prob: Tensor | float, dev: torch.device) -> Tensor:
    """1.0 for the samples a transform applies to (with probability ``prob``), else 0.0."""
    return (torch.rand(n, device=dev) < prob).float()


def _where(mask: Tensor, changed: Tensor, original: Tensor) -> Tensor:
    """Per-sample select, so untouched samples stay bit-identical to the input."""
    return torch.where(mask[:, None, None, None], changed, original)


def _eye(size: int, n: int, dev: torch.device) -> Tensor:
    return torch.eye(size, device=dev).expand(n, size, size)


def _matrix(rows: list[list[Tensor | float]], like: Tensor) -> Tensor:
    """Stack per-sample entries (tensors [N] or constants) into matrices [N, R, C]."""
    entries = [
        torch.as_tensor(e, dtype=like.dtype, device=like.device).expand_as(like) for r in rows for e in r
    ]
    return torch.stack(entries, dim=-1).reshape(*like.shape, len(rows), len(rows[0]))


def _scale2d(sx: Tensor, sy: Tensor) -> Tensor:
    return _matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], sx)


def _translate2d(tx: Tensor, ty: Tensor) -> Tensor:
    return _matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]], tx)


def _rotate2d(theta: Tensor) -> Tensor:
    c, s = torch.cos(theta), torch.sin(theta)
    return _matrix([[c, -s, 0], [s, c, 0], [0, 0, 1]], theta)


def _rot90_inv(k: Tensor) -> Tensor:
    """Inverse of k quarter turns, with exact 0/±1 entries (cos(pi/2) in floats is not 0)."""
    cos = torch.tensor([1.0, 0.0, -1.0, 0.0], device=k.device)[k]
    sin = torch.tensor([0.0, 1.0, 0.0, -1.0], device=k.device)[k]
    return _matrix([[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]], cos)


def _translate3d(b: Tensor) -> Tensor:
    return _matrix([[1, 0, 0, b], [0, 1, 0, b], [0, 0, 1, b], [0, 0, 0, 1]], b)


def _scale3d(s: Tensor) -> Tensor:
    return _matrix([[s, 0, 0, 0], [0, s, 0, 0], [0, 0, s, 0], [0, 0, 0, 1]], s)


def _rotate_about(axis: tuple[float, float, float], theta: Tensor) -> Tensor:
    """Rodrigues' rotation about a unit RGB axis, embedded in 4x4 (theta == 0 gives exactly I)."""
    ax, ay, az = axis
    cross = torch.tensor(
        [[0, -az, ay, 0], [az, 0, -ax, 0], [-ay, ax, 0, 0], [0, 0, 0, 0]], device=theta.device
    )
    eye = torch.eye(4, device=theta.device)
    s, one_minus_c = torch.sin(theta)[:, None, None], (1 - torch.cos(theta))[:, None, None]
    return eye + s * cross + one_minus_c * (cross @ cross)


def _resample(x: Tensor, g_inv: Tensor) -> Tensor:
    """Sample ``x`` at ``g_inv @ (output pixel)`` with bilinear interpolation and mirrored borders.

    The grid is built from exact pixel-centre coordinates (not ``affine_grid``) so that flips, quarter
    turns and integer shifts land exactly on input pixels and reproduce them bit for bit.
    """
    n, _, h, w = x.shape
    dev = x.device
    ys = torch.arange(h, device=dev, dtype=torch.float32) - (h - 1) / 2
    xs = torch.arange(w, device=dev, dtype=torch.float32) - (w - 1) / 2
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    centres = torch.stack([gx, gy, torch.ones_like(gx)], dim=-1)  # [H, W, 3]
    src = torch.einsum("nij,hwj->nhwi", g_inv, centres)[..., :2]
    # Pixel coordinates -> grid_sample's [-1, 1] convention with align_corners=False.
    grid = src * torch.tensor([2.0 / w, 2.0 / h], device=dev)
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="reflection", align_corners=False)


def _band_kernels(taps: int) -> Tensor:
    """Symmetric FIR filters [bands, taps] splitting the spectrum into octave bands; they sum to a delta."""
    n = torch.arange(taps, dtype=torch.float64) - (taps - 1) / 2
    window = torch.kaiser_window(taps, periodic=False, beta=5.0, dtype=torch.float64)
    lowpasses = []
    for cutoff in _BAND_EDGES:
        h = cutoff * torch.sinc(cutoff * n) * window
        lowpasses.append(h / h.sum())  # unit gain at DC
    delta = torch.zeros(taps, dtype=torch.float64)
    delta[taps // 2] = 1.0
    edges = [torch.zeros(taps, dtype=torch.float64), *lowpasses, delta]
    return torch.stack([hi - lo for lo, hi in zip(edges[:-1], edges[1:], strict=True)]).float()


def _separable_filter(x: Tensor, kernels: Tensor) -> Tensor:
    """Convolve each sample with its own 1D kernel, horizontally then vertically (mirrored borders)."""
    n, c, h, w = x.shape
    pad = kernels.shape[1] // 2
    weight = kernels.repeat_interleave(c, dim=0)[:, None, None, :]  # [N*C, 1, 1, taps]
    mode = "reflect" if pad < min(h, w) else "replicate"
    y = F.pad(x.reshape(1, n * c, h, w), [pad, pad, pad, pad], mode=mode)
    y = F.conv2d(y, weight, groups=n * c)
    y = F.conv2d(y, weight.transpose(2, 3), groups=n * c)
    return y.reshape(n, c, h, w)
