"""Pixel statistics a reader can check by eye, without any feature network.

* :func:`asymmetry_ratio`: how left-right asymmetric the fakes are, relative to the reals. The
  asymmetry of a set is the mean |x - flip(x)| over images, pixels and channels, in [0, 1] pixel units
  (0: every image is its own mirror image). The ratio is (A_fake + eps) / (A_real + eps) with
  ``eps`` = 1/255 (one grey level), which keeps it finite for perfectly symmetric reals such as the
  built-in masks: 1 = as symmetric as the reals, above 1 = less symmetric.
* :func:`colour_distance`: every face pixel (all but the near-white background, see
  :data:`BACKGROUND_DISTANCE`) is assigned to the nearest of the seven primary colours (by Euclidean
  RGB distance to each colour's painted variants in :data:`maskgen.data.procedural.CATEGORIES`); the
  distance is the total variation 0.5 * sum |p - q| between the normalised seven-bin histograms of the
  reals and the fakes, in [0, 1] (0: the same colour proportions). Jensen-Shannon divergence (base 2,
  also in [0, 1]) is given next to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from maskgen.evaluation.context import EvalContext
from maskgen.evaluation.metrics.base import Entries, Metric

ASYMMETRY_EPS = 1.0 / 255.0
# Pixels closer than this (RGB Euclidean, 0-255) to pure white are background, not face: it keeps the
# background (255) and paper (250, 248, 242) out and the painted whites (powder white (244, 242, 236),
# oily white, silver grey) in.
BACKGROUND_DISTANCE = 18.0
_CHUNK = 1 << 16  # pixels per distance computation


def asymmetry(images: np.ndarray) -> float:
    """Mean |x - flip(x)| of uint8 [N, H, W, 3] images, in [0, 1] pixel units."""
    total = 0.0
    for start in range(0, len(images), 256):
        x = images[start : start + 256].astype(np.float32) / 255.0
        total += float(np.abs(x - x[:, :, ::-1]).sum(dtype=np.float64))
    return total / max(1, images.size)


def asymmetry_ratio(real: np.ndarray, fake: np.ndarray, eps: float = ASYMMETRY_EPS) -> dict[str, float]:
    """{"value": (A_fake + eps) / (A_real + eps), "real": A_real, "fake": A_fake, "eps": eps}."""
    a_real, a_fake = asymmetry(real), asymmetry(fake)
    return {"value": (a_fake + eps) / (a_real + eps), "real": a_real, "fake": a_fake, "eps": eps}


def _palette() -> tuple[np.ndarray, np.ndarray, list[str]]:
    from maskgen.data.procedural import CATEGORIES

    colours, owners = [], []
    for category in CATEGORIES:
        for _, rgb in category.variants:
            colours.append(rgb)
            owners.append(category.index)
    return np.array(colours, np.float32), np.array(owners, np.int64), [c.name for c in CATEGORIES]


def colour_histogram(images: np.ndarray) -> tuple[np.ndarray, int]:
    """(normalised counts of the seven primary colours over the face pixels, number of face pixels)."""
    colours, owners, names = _palette()
    counts = np.zeros(len(names), np.int64)
    pixels = images.reshape(-1, 3)
    for start in range(0, len(pixels), _CHUNK):
        chunk = pixels[start : start + _CHUNK].astype(np.float32)
        face = ((255.0 - chunk) ** 2).sum(axis=1) >= BACKGROUND_DISTANCE**2
        chunk = chunk[face]
        if len(chunk) == 0:
            continue
        nearest = ((chunk[:, None, :] - colours[None]) ** 2).sum(axis=2).argmin(axis=1)
        counts += np.bincount(owners[nearest], minlength=len(names))
    total = int(counts.sum())
    return (counts / total if total else np.zeros(len(names))), total


def _js(p: np.ndarray, q: np.ndarray) -> float:
    m = (p + q) / 2

    def kl(a: np.ndarray, b: np.ndarray) -> float:
        keep = a > 0
        return float((a[keep] * np.log2(a[keep] / b[keep])).sum())

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def colour_distance(real: np.ndarray, fake: np.ndarray) -> dict[str, Any]:
    """Total variation (``value``) and Jensen-Shannon divergence between the colour histograms."""
    from maskgen.data.procedural import CATEGORY_NAMES

    p, n_real = colour_histogram(real)
    q, n_fake = colour_histogram(fake)
    if not n_real or not n_fake:
        from maskgen.errors import MaskgenError

        side = "real" if not n_real else "fake"
        raise MaskgenError(f"the {side} images have no face pixels (everything is near white)")
    return {
        "value": 0.5 * float(np.abs(p - q).sum()),
        "js": _js(p, q),
        "real_histogram": dict(zip(CATEGORY_NAMES, map(float, p), strict=True)),
        "fake_histogram": dict(zip(CATEGORY_NAMES, map(float, q), strict=True)),
        "face_pixels": {"real": n_real, "fake": n_fake},
        "background_distance": BACKGROUND_DISTANCE,
    }


# --------------------------------------------------------------------------------------------------
# The evaluators
# --------------------------------------------------------------------------------------------------


class AsymmetryRatio(Metric):
    """Left-right asymmetry of the fakes relative to the reals (1 best)."""

    name, keys, table = "asymmetry", ("asymmetry",), "weightless"
    note = (
        "Asymmetry ratio: mean |x - flip(x)| of the fakes over that of the reals (1: as symmetric as "
        "the reals)."
    )

    def measure(self, context: EvalContext) -> Entries:
        entry: dict[str, Any] = {"label": "asymmetry ratio", "higher_is_better": False, "best": 1.0}
        return {"asymmetry": entry | asymmetry_ratio(context.real.images, context.fake.images)}

    def summary(self, key: str, entry: dict[str, Any]) -> tuple[str, str]:
        detail = f"mean |x - flip(x)|: fake {entry['fake']:.4f}, real {entry['real']:.4f}; 1 = as the reals"
        return f"{entry['value']:.4f}", detail


class ColourDistance(Metric):
    """Total variation between the seven-colour histograms of real and fake (0 best)."""

    name, keys, table = "colour", ("colour",), "weightless"
    note = (
        "Colour TV[7]: total variation between the seven primary-colour histograms of the face pixels "
        "(0: the same colours)."
    )

    def measure(self, context: EvalContext) -> Entries:
        entry: dict[str, Any] = {"label": "colour TV[7]", "higher_is_better": False, "best": 0.0}
        return {"colour": entry | colour_distance(context.real.images, context.fake.images)}

    def summary(self, key: str, entry: dict[str, Any]) -> tuple[str, str]:
        detail = f"total variation of 7-colour histograms (JS {entry['js']:.4f}); 0 = same colours"
        return f"{entry['value']:.4f}", detail
