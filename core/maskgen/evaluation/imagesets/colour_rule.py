"""The documented primary-colour rule behind ``maskgen dataset label-colors``.

1. Region: the central face region, x in [0.2, 0.8] and y in [0.25, 0.85] of the square image (the
   cheeks, eyes, nose and forehead of a centred frontal mask; background and outline stay outside).
2. Every pixel of it gets a colour from HSV (H in degrees, S and V in [0, 1]):
   V < 0.3: black; S < 0.2 and V >= 0.7: white; other S < 0.2: grey (ignored);
   otherwise by hue: red H < 15 or H >= 335, yellow 15 <= H < 70 (gold and brown too), green 70-170,
   blue 170-260, purple 260-335.
3. If the chromatic colours (red, purple, blue, green, yellow) cover at least ``CHROMATIC_SHARE`` of the
   region, the label is the most frequent of them; otherwise it is black or white, whichever covers
   more. (Black lines and white eye patches are painted on every mask, so they decide only when the
   face itself has no colour.)

``confidence`` is the share of the region taken by the winning colour. On the procedural masks the
rule agrees with the true class for 99% of masks at 32-128 px (tests/test_eval_cli.py checks >= 95%).
"""

from __future__ import annotations

import numpy as np

from maskgen.data.procedural import CATEGORY_NAMES

REGION_X = (0.2, 0.8)
REGION_Y = (0.25, 0.85)
CHROMATIC_SHARE = 0.25
_INDEX = {name: i for i, name in enumerate(CATEGORY_NAMES)}
_CHROMATIC = ("red", "purple", "blue", "green", "yellow")
# Hue bands (degrees) of the chromatic classes; red wraps around 0.
_HUES = (("red", 0, 15), ("yellow", 15, 70), ("green", 70, 170), ("blue", 170, 260), ("purple", 260, 335))


def _hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = rgb.astype(np.float64) / 255
    high, low = x.max(-1), x.min(-1)
    delta = high - low
    safe = np.where(delta == 0, 1, delta)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    hue = np.where(
        high == r, ((g - b) / safe) % 6, np.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4)
    )
    hue = np.where(delta == 0, 0, hue * 60)
    sat = np.where(high == 0, 0, delta / np.where(high == 0, 1, high))
    return hue, sat, high


def colour_shares(image: np.ndarray) -> dict[str, float]:
    """Share of each colour (the seven classes plus grey) in the central region of one uint8 image."""
    h, w = image.shape[:2]
    region = image[int(REGION_Y[0] * h) : int(REGION_Y[1] * h), int(REGION_X[0] * w) : int(REGION_X[1] * w)]
    hue, sat, val = _hsv(region)
    black = val < 0.3
    grey_or_white = ~black & (sat < 0.2)
    white = grey_or_white & (val >= 0.7)
    chroma = ~black & ~grey_or_white
    counts = {"black": black.sum(), "white": white.sum(), "grey": (grey_or_white & ~white).sum()}
    for name, low, high in _HUES:
        band = (hue >= low) & (hue < high)
        if name == "red":
            band |= hue >= 335
        counts[name] = (chroma & band).sum()
    total = max(1, hue.size)
    return {name: float(count) / total for name, count in counts.items()}


def colour_label(image: np.ndarray) -> tuple[int, float]:
    """(class index in CATEGORY_NAMES order, confidence) of one uint8 [H, W, 3] image."""
    shares = colour_shares(image)
    if sum(shares[c] for c in _CHROMATIC) >= CHROMATIC_SHARE:
        name = max(_CHROMATIC, key=lambda c: shares[c])
    else:
        name = "black" if shares["black"] > shares["white"] else "white"
    return _INDEX[name], shares[name]


def colour_labels(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels (int64) and confidences of uint8 [N, H, W, 3] images."""
    pairs = [colour_label(image) for image in images]
    labels = np.array([p[0] for p in pairs], dtype=np.int64)
    confidence = np.array([p[1] for p in pairs], dtype=np.float64)
    return labels, confidence
