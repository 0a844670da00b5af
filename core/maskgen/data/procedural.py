"""Procedural Peking-opera-like facial masks (京剧脸谱): maskgen's built-in dataset.

Each mask is a frontal face on a white background. Its class is the primary face colour, one of the
seven traditional colours (see :data:`CATEGORIES`); its layout is one of the symmetric pattern types
(谱式) of :data:`PATTERNS`, with varied brows, eye sockets, nose, forehead emblem, cheek motifs and
mouth. Everything random comes from ``numpy.random.Generator(seed)``, so a seed always gives the same
pixels.

Symmetry is exact: only the left half of the face is drawn (supersampled, with PIL), the right half is
its mirror image, and after downsampling the left half of the result is mirrored once more, so
``np.array(img) == np.flip(np.array(img), axis=1)`` holds at every size, odd sizes included.
"""

from __future__ import annotations

import colorsys
import functools
from collections.abc import Callable
from dataclasses import dataclass
from math import comb

import numpy as np
from PIL import Image, ImageDraw

RGB = tuple[int, int, int]

MIN_SIZE = 16
MAX_SIZE = 1024
BACKGROUND: RGB = (255, 255, 255)
INK: RGB = (24, 20, 22)
PAPER: RGB = (250, 248, 242)
# Accent colours for emblems, mouths and small ornaments; never the face's own colour family.
RED: RGB = (206, 34, 40)
GOLD: RGB = (226, 172, 40)
BLUE: RGB = (38, 92, 192)
GREEN: RGB = (34, 146, 78)
SILVER: RGB = (190, 192, 198)


@dataclass(frozen=True)
class Category:
    """One primary-colour class: what the colour tells the audience and how it is painted."""

    index: int
    name: str
    chinese: str
    meaning: str
    roles: tuple[str, ...]
    variants: tuple[tuple[str, RGB], ...]  # (label, RGB); the first is the canonical colour

    @property
    def rgb(self) -> RGB:
        return self.variants[0][1]


CATEGORIES: tuple[Category, ...] = (
    Category(
        0,
        "red",
        "红",
        "loyalty, courage, uprightness",
        ("Guan Yu 关羽", "Jiang Wei"),
        (
            ("red", (202, 32, 38)),
            ("crimson", (174, 22, 40)),
            ("vermilion", (222, 58, 40)),
            ("pink 粉红 (old age)", (232, 128, 140)),
        ),
    ),
    Category(
        1,
        "purple",
        "紫",
        "steadiness, wisdom, sincerity",
        ("Zhuan Zhu", "Xu Yanzhao"),
        (("purple", (118, 42, 128)), ("purple-red 紫红", (140, 36, 110)), ("dark purple", (86, 30, 98))),
    ),
    Category(
        2,
        "black",
        "黑",
        "integrity, impartiality; or rash bravery",
        ("Bao Zheng 包拯", "Zhang Fei 张飞", "Li Kui"),
        (("black", (24, 22, 26)), ("ink black", (36, 30, 30)), ("blue-black", (26, 28, 42))),
    ),
    Category(
        3,
        "white",
        "白",
        "treachery, cunning, suspicion (powder white); arrogance (oily white)",
        ("Cao Cao 曹操", "Yan Song"),
        (
            ("powder white 粉白", (244, 242, 236)),
            ("oily white 油白", (236, 230, 212)),
            ("silver grey", (210, 211, 215)),
        ),
    ),
    Category(
        4,
        "blue",
        "蓝",
        "boldness, fierceness, stubbornness",
        ("Dou Erdun 窦尔敦", "Ma Wu"),
        (("blue", (34, 78, 176)), ("deep blue", (24, 52, 136)), ("azure", (52, 122, 204))),
    ),
    Category(
        5,
        "green",
        "绿",
        "chivalry mixed with violence, wildness",
        ("Zheng Lun", "Wu Tianqiu"),
        (("green", (36, 140, 72)), ("dark green", (22, 104, 58)), ("jade", (40, 150, 112))),
    ),
    Category(
        6,
        "yellow",
        "黄",
        "ferocity, cunning ambition; gold and silver for gods and spirits",
        ("Dian Wei", "Yuwen Chengdu", "gods"),
        (("yellow", (236, 186, 34)), ("gold 金", (212, 162, 48)), ("brown-gold 棕", (178, 124, 46))),
    ),
)
CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)

# Symmetric pattern types (谱式) with their Chinese names and how often they are drawn: three-tile and
# fragmented faces are the most common in catalogues, then whole faces. Crooked faces (歪脸) are left
# out because they are asymmetric by definition.
PATTERNS: dict[str, str] = {
    "whole": "整脸",
    "three_tile": "三块瓦脸",
    "flowered_three_tile": "花三块瓦脸",
    "cross_door": "十字门脸",
    "six_tenths": "六分脸",
    "ingot": "元宝脸",
    "fragmented": "碎脸",
}
_PATTERN_WEIGHTS = np.array([0.17, 0.2, 0.12, 0.11, 0.11, 0.11, 0.18])

BROWS = ("sword", "butterfly", "flame", "swept")
EYES = ("teardrop", "almond", "round")
NOSES = ("bulb", "slim", "crying")
EMBLEMS = ("flame", "circle", "stripe", "third_eye", "bat", "crescent", "none")
CHEEKS = ("curl", "dots", "lines", "patch", "none")
MOUTHS = ("tiger", "fire_basin", "lips")


# --------------------------------------------------------------------------------------------------
# Geometry helpers (unit coordinates: x, y in [0, 1], y down; only x <= 0.5 is kept)
# --------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _bernstein(degree: int, n: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    return np.hstack([comb(degree, i) * t**i * (1 - t) ** (degree - i) for i in range(degree + 1)])


def _bezier(ctrl: list[tuple[float, float]] | np.ndarray, n: int = 24) -> np.ndarray:
    ctrl = np.asarray(ctrl, dtype=np.float64)
    return _bernstein(len(ctrl) - 1, n) @ ctrl


@functools.lru_cache(maxsize=16)
def _circle_t(n: int) -> np.ndarray:
    return np.linspace(0.0, 2 * np.pi, n, endpoint=False)


def _place(pts: np.ndarray, cx: float, cy: float, sx: float, sy: float, angle: float = 0.0) -> np.ndarray:
    """Scale local shape coordinates (u towards the nose, v down), rotate, move to (cx, cy)."""
    u, v = pts[:, 0] * sx, pts[:, 1] * sy
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([cx + u * c - v * s, cy + u * s + v * c], axis=1)


def _almond(n: int = 40, point: float = 0.8) -> np.ndarray:
    t = _circle_t(n)
    s = np.sin(t)
    return np.stack([np.cos(t), 0.5 * s * np.abs(s) ** point], axis=1)


def _teardrop(n: int = 40, m: float = 1.3) -> np.ndarray:
    # Pointed at u = +1 (towards the nose), round at u = -1.
    t = _circle_t(n)
    return np.stack([np.cos(t), 0.62 * np.sin(t) * np.sin(t / 2) ** m], axis=1)


def _ellipse(n: int = 32) -> np.ndarray:
    t = _circle_t(n)
    return np.stack([np.cos(t), np.sin(t)], axis=1) * 0.5


def _stroke(center: np.ndarray, up: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Polygon around a centre line: ``up`` and ``down`` are the half-widths on the two sides.

    "Up" is the side of the normal that points to smaller y (towards the top of the face).
    """
    d = np.gradient(center, axis=0)
    d /= np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-12)[:, None]
    nrm = np.stack([-d[:, 1], d[:, 0]], axis=1)
    if nrm[:, 1].mean() > 0:
        nrm = -nrm
    return np.concatenate([center + nrm * up[:, None], (center - nrm * down[:, None])[::-1]])


def _spiral(
    cx: float, cy: float, r: float, turns: float, start: float, sign: float, n: int = 30
) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)
    a = start + sign * turns * 2 * np.pi * t
    rr = r * (1 - 0.85 * t)
    return np.stack([cx + rr * np.cos(a), cy + rr * np.sin(a)], axis=1)


def _crescent(cx: float, cy: float, r: float, n: int = 48) -> np.ndarray:
    """A crescent with its horns up: the outer circle minus a smaller circle set higher."""
    ri, cyi = 0.85 * r, cy - 0.45 * r
    t = np.linspace(0.0, np.pi, n)
    outer = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)
    outer = outer[np.hypot(outer[:, 0] - cx, outer[:, 1] - cyi) >= ri]
    inner = np.stack([cx + ri * np.cos(t[::-1]), cyi + ri * np.sin(t[::-1])], axis=1)
    inner = inner[np.hypot(inner[:, 0] - cx, inner[:, 1] - cy) <= r]
    return np.concatenate([outer, inner])


def _jitter(rng: np.random.Generator, rgb: RGB, amount: int) -> RGB:
    j = rng.integers(-amount, amount + 1, size=3).tolist()
    return tuple(min(255, max(0, c + d)) for c, d in zip(rgb, j, strict=True))  # type: ignore[return-value]


def _tint(rgb: RGB, category: int) -> RGB:
    """A lighter shade of the face colour that still reads as the same colour (six-tenths forehead)."""
    if category == 2:  # black: charcoal, still dark
        return (66, 62, 70)
    if category == 3:  # white: pale flesh
        return (242, 218, 204)
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    r, g, b = colorsys.hsv_to_rgb(h, max(0.34, 0.55 * s), min(1.0, 0.35 + 0.75 * v))
    return (int(r * 255), int(g * 255), int(b * 255))


class _Painter:
    """ImageDraw on the left half of a supersampled canvas, in unit coordinates."""

    def __init__(self, img: Image.Image, scale: int) -> None:
        self.s = float(scale)
        self.draw = ImageDraw.Draw(img)

    def _xy(self, pts: np.ndarray) -> list[float]:
        return (pts * self.s).ravel().tolist()

    def _w(self, width: float) -> int:
        return max(1, int(round(width * self.s)))

    def poly(self, pts: np.ndarray, fill: RGB) -> None:
        self.draw.polygon(self._xy(pts), fill=fill)

    def bordered(self, pts: np.ndarray, fill: RGB, border: RGB | None, width: float) -> None:
        if border is None:
            self.poly(pts, fill)
        else:
            self.draw.polygon(self._xy(pts), fill=fill, outline=border, width=self._w(width))

    def line(self, pts: np.ndarray, fill: RGB, width: float) -> None:
        self.draw.line(self._xy(pts), fill=fill, width=self._w(width), joint="curve")

    def disc(self, cx: float, cy: float, r: float, fill: RGB, outline: RGB | None = None, width: float = 0):
        box = [(cx - r) * self.s, (cy - r) * self.s, (cx + r) * self.s, (cy + r) * self.s]
        self.draw.ellipse(box, fill=fill, outline=outline, width=self._w(width) if outline else 0)


@dataclass
class _Face:
    top: float
    chin: float
    contour: np.ndarray  # left half, from the top centre down to the chin centre

    def y(self, v: float) -> float:
        return self.top + v * (self.chin - self.top)

    def left_edge(self, y: float) -> float:
        return float(np.interp(y, self.contour[:, 1], self.contour[:, 0]))


def _make_face(rng: np.random.Generator) -> _Face:
    top = rng.uniform(0.035, 0.07)
    chin = rng.uniform(0.945, 0.972)
    half_w = rng.uniform(0.335, 0.385)
    yc = top + (chin - top) * rng.uniform(0.38, 0.45)
    n_top, n_bot = rng.uniform(2.3, 3.4), rng.uniform(1.6, 2.3)
    jaw = rng.uniform(0.0, 0.18)  # narrower jaw = more shield-like
    phi = np.linspace(0.0, np.pi / 2, 28)
    upper = np.stack(
        [0.5 - half_w * np.sin(phi) ** (2 / n_top), yc - (yc - top) * np.cos(phi) ** (2 / n_top)], axis=1
    )
    c, s = np.cos(phi), np.sin(phi)
    lower = np.stack(
        [0.5 - half_w * c ** (2 / n_bot) * (1 - jaw * s), yc + (chin - yc) * s ** (2 / n_bot)], axis=1
    )
    return _Face(top, chin, np.concatenate([upper, lower[1:]]))


# --------------------------------------------------------------------------------------------------
# The mask
# --------------------------------------------------------------------------------------------------


@dataclass
class _Palette:
    base: RGB
    line: RGB  # brows, ink lines: INK, or white on black faces
    socket: RGB  # eye-socket fill
    socket_border: RGB | None
    field: RGB  # three-tile eye fields / nose socket
    accents: tuple[RGB, ...]


def _palette(rng: np.random.Generator, category: int, base: RGB) -> _Palette:
    if category == 2:  # black face: white and grey features, red accents
        border = (INK, RED, SILVER)[int(rng.integers(3))] if rng.random() < 0.5 else None
        return _Palette(base, PAPER, PAPER, border, PAPER, (RED, PAPER, GOLD, SILVER))
    if category == 3:  # white face: thin black features
        return _Palette(base, INK, INK, RED if rng.random() < 0.35 else None, SILVER, (RED, INK, BLUE))
    socket_white = rng.random() < 0.3
    socket = PAPER if socket_white else INK
    border_opts: list[RGB] = [INK if socket_white else PAPER, PAPER if socket_white else RED]
    border = border_opts[int(rng.integers(2))] if rng.random() < 0.75 else None
    accents = {
        0: (GOLD, INK, PAPER, BLUE),
        1: (RED, GOLD, PAPER, INK),
        4: (RED, GOLD, PAPER, INK),
        5: (RED, GOLD, PAPER, INK),
        6: (RED, INK, GREEN, PAPER),
    }[category]
    return _Palette(base, INK, socket, border, PAPER, accents)


def _pick(rng: np.random.Generator, options: tuple[str, ...], p: list[float] | None = None) -> str:
    return str(options[int(rng.choice(len(options), p=p))])


def _region_above(boundary: np.ndarray) -> np.ndarray:
    """Polygon of everything above a boundary curve running left to right across the half canvas."""
    return np.concatenate(
        [[(0.0, 0.0), (0.0, boundary[0, 1])], boundary, [(0.52, boundary[-1, 1]), (0.52, 0.0)]]
    )


def _draw_regions(
    p: _Painter, rng: np.random.Generator, face: _Face, pal: _Palette, pattern: str, geo: dict
) -> dict:
    info: dict = {}
    cat = geo["category"]
    if pattern == "six_tenths":
        # The forehead (upper four tenths) in a lighter shade, boundary dipping over the brows.
        yb = face.y(rng.uniform(0.27, 0.33))
        dip = rng.uniform(0.0, 0.05)
        b = _bezier(
            [(0.0, yb - 0.04), (0.2, yb + dip + 0.02), (0.38, yb + dip), (0.52, yb - rng.uniform(0.0, 0.04))]
        )
        p.poly(_region_above(b), _tint(pal.base, cat))
    elif pattern == "ingot":
        # Forehead in another colour; the boundary rises at the temples and has a hump in the middle,
        # like a silver ingot (元宝).
        side = face.y(rng.uniform(0.12, 0.18))
        low = face.y(rng.uniform(0.25, 0.3))
        hump = face.y(rng.uniform(0.17, 0.22))
        b = _bezier(
            [
                (0.0, side - 0.05),
                (0.06, side),
                (0.2, low + 0.04),
                (0.34, low + 0.01),
                (0.44, hump + 0.02),
                (0.52, hump),
            ],
            30,
        )
        paper = PAPER if cat != 3 else (238, 206, 200)
        colour = paper if cat != 2 and rng.random() < 0.3 else _tint(pal.base, cat)
        p.poly(_region_above(b), colour)
        p.line(b, INK if cat != 2 else PAPER, 0.008)
    elif pattern == "cross_door":
        # A vertical band from the forehead down the nose crossing a horizontal band through the eyes.
        hw = rng.uniform(0.035, 0.06)
        band_c = pal.accents[int(rng.integers(2))] if cat != 2 else PAPER
        eye_band = INK if cat != 2 else SILVER
        y0, y1 = geo["eye_y"] - rng.uniform(0.05, 0.07), geo["eye_y"] + rng.uniform(0.04, 0.06)
        band = _bezier([(0.0, y0 - 0.05), (0.25, y0 + 0.01), (0.52, y0)], 12)
        band = np.concatenate([band, _bezier([(0.52, y1), (0.25, y1 + 0.02), (0.0, y1 - 0.02)], 12)])
        p.poly(band, eye_band)
        vert = np.array(
            [
                (0.5 - hw * 0.7, face.top),
                (0.5 - hw, geo["brow_y"]),
                (0.5 - hw * 0.8, geo["nose_y"]),
                (0.52, geo["nose_y"] + 0.03),
                (0.52, face.top),
            ]
        )
        p.poly(vert, band_c)
        info["band"] = "accent"
    elif pattern in ("three_tile", "flowered_three_tile"):
        # Large eye fields (white, or grey on white faces) split the face into three tiles of the base
        # colour: forehead and two cheeks.
        # Each field runs under the brow from the nose bridge to the temple, round the outer eye and
        # tapers down to a point beside the nose.
        by, ey, ny = geo["brow_y"], geo["eye_y"], geo["nose_y"]
        a = (0.5 - rng.uniform(0.015, 0.03), by + 0.005)
        b = (face.left_edge(by) + rng.uniform(0.01, 0.04), by - rng.uniform(0.0, 0.03))
        # Smaller fields on black faces so that black stays the dominant colour.
        low = (0.02, 0.05) if cat == 2 else (0.06, 0.1)
        c = (face.left_edge(ey) + rng.uniform(0.02, 0.05), ey + rng.uniform(*low))
        d = (
            0.5 - rng.uniform(0.06, 0.09),
            ny + (rng.uniform(-0.07, -0.03) if cat == 2 else rng.uniform(-0.02, 0.03)),
        )
        field = np.concatenate(
            [
                _bezier([a, ((a[0] + b[0]) / 2, by - 0.03), b], 16),
                _bezier([b, (b[0] - 0.03, (b[1] + c[1]) / 2), c], 12),
                _bezier([c, (c[0] + 0.08, c[1] + rng.uniform(0.0, 0.04)), d], 14),
                _bezier([d, (0.5 - 0.05, (d[1] + a[1]) / 2), a], 10),
            ]
        )
        p.poly(field, pal.field)
        bridge = np.array([a, (0.5 - 0.04, ny - 0.04), (0.52, ny), (0.52, by - 0.01)])
        p.poly(bridge, pal.field)
        if pattern == "flowered_three_tile":
            _flowers(p, rng, face, pal, geo)
    elif pattern == "fragmented":
        _fragments(p, rng, face, pal, geo)
    return info


def _flowers(p: _Painter, rng: np.random.Generator, face: _Face, pal: _Palette, geo: dict) -> None:
    """Ornaments inside the tiles of a flowered three-tile face: curls and dots."""
    col = pal.accents[int(rng.integers(len(pal.accents)))]
    x0 = 0.5 - rng.uniform(0.16, 0.22)
    y0 = face.y(rng.uniform(0.14, 0.2))
    p.line(_spiral(x0, y0, rng.uniform(0.03, 0.045), 1.2, rng.uniform(0, 6), 1.0), col, 0.009)
    cx, cy = 0.5 - rng.uniform(0.2, 0.26), face.y(rng.uniform(0.6, 0.66))
    p.line(_spiral(cx, cy, rng.uniform(0.035, 0.05), 1.4, rng.uniform(0, 6), -1.0), col, 0.01)
    for k in range(int(rng.integers(2, 4))):
        p.disc(cx + 0.06 - 0.02 * k, cy + 0.06 + 0.015 * k, 0.009, col)


def _fragments(p: _Painter, rng: np.random.Generator, face: _Face, pal: _Palette, geo: dict) -> None:
    """Fragmented face: several small colour patches and many lines, base colour still dominant."""
    cols = [pal.accents[i] for i in rng.permutation(len(pal.accents))[:3]]
    spots = [
        (0.5 - rng.uniform(0.12, 0.2), face.y(rng.uniform(0.08, 0.16))),
        (0.5 - rng.uniform(0.27, 0.33), face.y(rng.uniform(0.22, 0.3))),
        (0.5 - rng.uniform(0.24, 0.3), face.y(rng.uniform(0.55, 0.62))),
        (0.5 - rng.uniform(0.12, 0.18), face.y(rng.uniform(0.66, 0.72))),
        (0.5 - rng.uniform(0.3, 0.34), face.y(rng.uniform(0.42, 0.48))),
    ]
    for k, (x, y) in enumerate(spots):
        if rng.random() < 0.2:
            continue
        shape = _teardrop(24, 1.0) if k % 2 else _almond(24, 0.5)
        size = rng.uniform(0.05, 0.085)
        p.bordered(
            _place(shape, x, y, size, size * rng.uniform(0.6, 0.9), rng.uniform(-1.5, 1.5)),
            cols[k % len(cols)],
            INK if pal.base != INK else PAPER,
            0.005,
        )
    line_c = pal.line
    for _ in range(int(rng.integers(3, 6))):
        x = 0.5 - rng.uniform(0.08, 0.32)
        y = face.y(rng.uniform(0.1, 0.75))
        dx, dy = rng.uniform(-0.08, 0.08), rng.uniform(-0.06, 0.06)
        p.line(_bezier([(x, y), (x + dx, y + dy - 0.03), (x + 2 * dx, y + dy)], 12), line_c, 0.006)


def _draw_emblem(
    p: _Painter, rng: np.random.Generator, face: _Face, pal: _Palette, kind: str, geo: dict
) -> None:
    cx, cy = 0.5, geo["emblem_y"]
    accent = pal.accents[0] if pal.accents[0] != pal.base else pal.accents[1]
    outline = INK if geo["category"] != 2 else PAPER
    if kind == "flame":
        h, w = rng.uniform(0.1, 0.15), rng.uniform(0.035, 0.055)
        tongues = int(rng.integers(2, 4))
        t = np.linspace(0.0, 1.0, 40)
        # Left half outline of a flame: tongues on the edge, the centre tongue tallest.
        edge = w * np.sin(np.pi * t) ** 0.8 * (1 + 0.35 * np.sin(tongues * 2 * np.pi * t))
        pts = np.stack([cx - edge, cy + h / 2 - h * t], axis=1)
        pts = np.concatenate([[(0.52, cy + h / 2)], pts, [(0.52, cy - h / 2)]])
        p.bordered(pts, accent, outline, 0.006)
        inner = np.stack([cx - 0.45 * edge, cy + h / 2 - 0.75 * h * t], axis=1)
        p.poly(
            np.concatenate([[(0.52, cy + h / 2)], inner, [(0.52, cy + h / 4)]]),
            GOLD if accent != GOLD else RED,
        )
    elif kind == "circle":
        # Taiji-like roundel, mirrored: dark upper half, light lower half, two dots.
        r = rng.uniform(0.04, 0.06)
        p.disc(cx, cy, r, outline)
        p.disc(cx, cy, r * 0.82, PAPER if geo["category"] != 3 else SILVER)
        p.draw.pieslice(
            [(cx - r * 0.82) * p.s, (cy - r * 0.82) * p.s, (cx + r * 0.82) * p.s, (cy + r * 0.82) * p.s],
            180,
            360,
            fill=accent,
        )
        p.disc(cx - r * 0.4, cy + r * 0.3, r * 0.16, INK)
    elif kind == "stripe":
        # Vertical stripe from the hairline down between the brows (e.g. a red 通天纹).
        w = rng.uniform(0.012, 0.026)
        y1 = geo["brow_y"] + rng.uniform(0.0, 0.04)
        pts = np.array(
            [
                (cx - w * 0.6, face.top),
                (cx - w, (face.top + y1) / 2),
                (cx - w * 0.3, y1),
                (0.52, y1),
                (0.52, face.top),
            ]
        )
        p.bordered(pts, accent, outline if rng.random() < 0.5 else None, 0.005)
    elif kind == "third_eye":
        w, h = rng.uniform(0.03, 0.045), rng.uniform(0.08, 0.11)
        eye = _place(_almond(32, 0.7), cx, cy, h, w * 2, np.pi / 2)
        p.bordered(eye, PAPER if geo["category"] != 3 else accent, INK, 0.006)
        p.disc(cx, cy, w * 0.45, INK)
    elif kind == "bat":
        # A bat with spread wings: scalloped lower wing edge, small head and ears.
        w, h = rng.uniform(0.09, 0.13), rng.uniform(0.04, 0.06)
        t = np.linspace(0.0, 1.0, 30)
        top_edge = np.stack([cx - w * t, cy - h * 0.2 - h * 0.9 * np.sin(np.pi * t * 0.9) * t], axis=1)
        bottom_edge = np.stack(
            [
                cx - w * t[::-1],
                cy + h * (0.6 - 0.5 * t[::-1]) - 0.35 * h * np.abs(np.sin(3 * np.pi * t[::-1])),
            ],
            axis=1,
        )
        pts = np.concatenate([[(0.52, cy - h * 0.2)], top_edge, bottom_edge, [(0.52, cy + h * 0.6)]])
        p.poly(pts, accent if accent != PAPER else INK)
        p.poly(
            np.array(
                [
                    (cx - h * 0.25, cy - h * 0.2),
                    (cx - h * 0.35, cy - h * 0.8),
                    (cx - h * 0.1, cy - h * 0.35),
                    (0.52, cy - h * 0.35),
                ]
            ),
            accent if accent != PAPER else INK,
        )
    elif kind == "crescent":
        # Bao Zheng's crescent moon, horns up.
        r = rng.uniform(0.035, 0.05)
        col = PAPER if geo["category"] in (2, 4, 1) else GOLD
        p.bordered(_crescent(cx, cy, r), col, INK if geo["category"] == 3 else None, 0.004)


def _draw_brow(p: _Painter, rng: np.random.Generator, pal: _Palette, kind: str, geo: dict) -> None:
    by = geo["brow_y"]
    inner = (0.5 - rng.uniform(0.028, 0.05), by + rng.uniform(0.0, 0.02))
    edge = geo["brow_edge"]  # x of the temple at brow height
    t = np.linspace(0.0, 1.0, 36)
    border = PAPER if geo["category"] == 2 and pal.line == INK else None
    if kind == "sword":
        outer = (edge + rng.uniform(0.0, 0.03), by - rng.uniform(0.04, 0.1))
        mid = ((inner[0] + outer[0]) / 2, (inner[1] + outer[1]) / 2 - rng.uniform(0.0, 0.025))
        c = _bezier([inner, mid, outer], 36)
        w0 = rng.uniform(0.018, 0.028)
        half = w0 * (1 - t) ** 0.7 * (0.7 + 0.6 * np.sin(np.pi * np.minimum(t * 1.4, 1)))
        pts = _stroke(c, half, half * 0.8)
    elif kind == "butterfly":
        outer = (edge + rng.uniform(0.0, 0.03), by - rng.uniform(0.0, 0.05))
        c = _bezier([inner, (0.5 - 0.16, by - rng.uniform(0.05, 0.09)), outer], 36)
        w0 = rng.uniform(0.032, 0.048)
        lobes = int(rng.integers(2, 4))
        half = w0 * np.sin(np.pi * np.clip(t * 1.05, 0, 1)) ** 0.6 * (1 + 0.28 * np.cos(lobes * np.pi * t))
        half = half + 0.004
        pts = _stroke(c, half * 1.1, half * 0.9)
    elif kind == "flame":
        outer = (edge + rng.uniform(0.0, 0.03), by - rng.uniform(0.03, 0.09))
        c = _bezier([inner, (0.5 - 0.17, by + rng.uniform(-0.02, 0.01)), outer], 36)
        w0 = rng.uniform(0.016, 0.024)
        k = int(rng.integers(3, 6))
        spikes = rng.uniform(0.025, 0.04) * np.maximum(0.0, np.sin(k * np.pi * t)) ** 2 * (1 - 0.5 * t)
        base = w0 * (1 - 0.7 * t) + 0.003
        pts = _stroke(c, base + spikes, base)
    else:  # swept up towards the temples, curled end
        outer = (edge + rng.uniform(0.03, 0.06), by - rng.uniform(0.11, 0.15))
        c = _bezier([inner, (0.5 - rng.uniform(0.18, 0.22), by + 0.02), outer], 36)
        w0 = rng.uniform(0.02, 0.03)
        half = w0 * (1 - 0.8 * t) ** 0.8 + 0.002
        pts = _stroke(c, half, half)
        p.line(_spiral(outer[0] + 0.02, outer[1] + 0.005, 0.022, 0.8, np.pi, 1.0, 16), pal.line, 0.009)
    p.bordered(pts, pal.line, border, 0.006)
    if kind == "butterfly" and rng.random() < 0.6:
        # A contrasting vein along the middle of a butterfly brow.
        vein = pal.accents[0] if pal.line == INK else INK
        p.line(c[4:-6], vein, 0.007)


def _draw_eye(p: _Painter, rng: np.random.Generator, pal: _Palette, kind: str, geo: dict) -> None:
    ex, ey = geo["eye_x"], geo["eye_y"]
    w, h = rng.uniform(0.13, 0.17), rng.uniform(0.085, 0.12)
    angle = rng.uniform(0.05, 0.4)
    shape = {"teardrop": _teardrop(40, 1.2), "almond": _almond(40, 0.6), "round": _ellipse(36) * (1, 1.15)}[
        kind
    ]
    if pal.socket_border is not None:
        b = rng.uniform(0.012, 0.02)
        p.poly(_place(shape, ex, ey, w + 2 * b, h + 2 * b, angle), pal.socket_border)
    p.poly(_place(shape, ex, ey, w, h, angle), pal.socket)
    # The eye itself: a small almond in the socket, the pupil a dark dot.
    eye_fill = PAPER if pal.socket == INK else INK
    ew = w * rng.uniform(0.45, 0.6)
    eye = _place(_almond(28, 0.8), ex + w * 0.08, ey - h * 0.05, ew, ew * 0.38, angle * 0.6)
    p.poly(eye, eye_fill)
    p.disc(ex + w * 0.08, ey - h * 0.05, ew * 0.14, INK if eye_fill == PAPER else PAPER)


def _draw_nose(p: _Painter, rng: np.random.Generator, pal: _Palette, kind: str, geo: dict) -> None:
    ny, top = geo["nose_y"], geo["eye_y"] - rng.uniform(0.0, 0.04)
    fill = pal.field if geo["category"] != 3 else INK
    if kind == "slim":
        pts = np.array(
            [
                (0.5 - 0.012, top),
                (0.5 - 0.02, ny - 0.03),
                (0.5 - 0.045, ny + 0.005),
                (0.52, ny + 0.015),
                (0.52, top),
            ]
        )
        p.poly(pts, fill)
    else:
        w = rng.uniform(0.045, 0.065)
        left = _bezier(
            [
                (0.5 - 0.015, top),
                (0.5 - 0.02, ny - 0.06),
                (0.5 - w * 1.3, ny - 0.01),
                (0.5 - w * 0.6, ny + 0.03),
                (0.52, ny + 0.02),
            ],
            24,
        )
        pts = np.concatenate([[(0.52, top)], left])
        p.bordered(pts, fill, INK if fill != INK else None, 0.005)
    # Nostril.
    p.disc(0.5 - rng.uniform(0.018, 0.026), ny + 0.004, 0.007, INK if fill != INK else PAPER)
    if kind == "crying":
        # Curled "crying nose" lines running down from the nostrils.
        x0 = 0.5 - rng.uniform(0.05, 0.07)
        c = _bezier([(x0, ny - 0.01), (x0 - 0.05, ny + 0.02), (x0 - 0.03, ny + 0.07)], 14)
        p.line(c, pal.line, 0.008)
        p.line(_spiral(c[-1, 0] + 0.012, c[-1, 1], 0.014, 0.8, np.pi, -1.0, 14), pal.line, 0.008)


def _draw_cheeks(
    p: _Painter, rng: np.random.Generator, face: _Face, pal: _Palette, kind: str, geo: dict
) -> None:
    cx, cy = 0.5 - rng.uniform(0.2, 0.26), face.y(rng.uniform(0.58, 0.64))
    col = pal.accents[int(rng.integers(len(pal.accents)))]
    if kind == "curl":
        p.line(
            _spiral(cx, cy, rng.uniform(0.035, 0.05), rng.uniform(1.0, 1.6), rng.uniform(0, 6), 1.0),
            pal.line,
            0.01,
        )
    elif kind == "dots":
        for k in range(3):
            p.disc(cx + 0.025 * (k - 1), cy + 0.02 * abs(k - 1), 0.011, col)
    elif kind == "lines":
        for k in range(int(rng.integers(2, 4))):
            y = cy - 0.04 + 0.03 * k
            p.line(
                _bezier([(0.5 - 0.1, y - 0.02), (cx, y + 0.02), (cx - 0.08, y - 0.03)], 14), pal.line, 0.006
            )
    elif kind == "patch":
        shape = _teardrop(28, 1.0)
        p.bordered(
            _place(shape, cx, cy, 0.07, 0.05, rng.uniform(-1.2, -0.4)),
            col,
            INK if pal.line == INK else PAPER,
            0.005,
        )


def _draw_mouth(p: _Painter, rng: np.random.Generator, pal: _Palette, kind: str, geo: dict) -> None:
    my = geo["mouth_y"]
    red_ok = geo["category"] not in (0, 1)
    if kind == "tiger":
        # Tiger mouth: a dark arch under the nose whose corners flick up and out.
        col = INK if geo["category"] != 2 else RED
        w = rng.uniform(0.12, 0.16)
        outer = _bezier(
            [
                (0.52, my - 0.05),
                (0.5 - w * 0.5, my - 0.06),
                (0.5 - w * 1.2, my - 0.05),
                (0.5 - w * 0.9, my + 0.05),
                (0.52, my + 0.07),
            ],
            28,
        )
        p.poly(np.concatenate([outer, [(0.52, my - 0.05)]]), col)
        lip = RED if red_ok else (PAPER if geo["category"] != 3 else RED)
        inner = _bezier(
            [(0.52, my - 0.01), (0.5 - w * 0.6, my - 0.02), (0.5 - w * 0.5, my + 0.03), (0.52, my + 0.035)],
            20,
        )
        p.poly(inner, lip)
    elif kind == "fire_basin":
        # Fire-basin mouth: a rounded basin of colour from under the nose to the chin.
        col = RED if red_ok else INK
        w = rng.uniform(0.1, 0.14)
        pts = _bezier(
            [(0.52, my - 0.045), (0.5 - w, my - 0.05), (0.5 - w * 1.1, my + 0.06), (0.52, my + 0.085)], 28
        )
        p.bordered(pts, col, INK if col != INK else None, 0.005)
        p.line(
            _bezier([(0.5 - w * 0.6, my + 0.01), (0.5 - w * 0.3, my + 0.025), (0.52, my + 0.02)], 10),
            INK if col != INK else PAPER,
            0.007,
        )
    else:
        col = RED if red_ok else INK
        w = rng.uniform(0.05, 0.07)
        upper = _bezier([(0.52, my - 0.008), (0.5 - w * 0.3, my - 0.03), (0.5 - w, my)], 12)
        lower = _bezier([(0.5 - w, my), (0.5 - w * 0.6, my + 0.035), (0.52, my + 0.03)], 12)
        p.poly(np.concatenate([upper, lower]), col)


def _render_half(img: Image.Image, scale: int, rng: np.random.Generator, category: int) -> dict:
    cat = CATEGORIES[category]
    variant, base = cat.variants[int(rng.choice(len(cat.variants), p=_variant_p(len(cat.variants))))]
    base = _jitter(rng, base, 6)
    img.paste(base, (0, 0, img.size[0], img.size[1]))
    face = _make_face(rng)
    pattern = str(list(PATTERNS)[int(rng.choice(len(PATTERNS), p=_PATTERN_WEIGHTS))])
    pal = _palette(rng, category, base)
    geo = {
        "category": category,
        "brow_y": face.y(rng.uniform(0.3, 0.35)),
        "eye_y": face.y(rng.uniform(0.41, 0.45)),
        "eye_x": 0.5 - rng.uniform(0.13, 0.155),
        "nose_y": face.y(rng.uniform(0.6, 0.64)),
        "mouth_y": face.y(rng.uniform(0.75, 0.79)),
        "emblem_y": face.y(rng.uniform(0.13, 0.19)),
    }
    geo["brow_edge"] = face.left_edge(geo["brow_y"])
    brow = _pick(rng, BROWS)
    eye = _pick(rng, EYES, [0.45, 0.35, 0.2])
    nose = _pick(rng, NOSES)
    emblem = _pick(rng, EMBLEMS, [0.18, 0.14, 0.16, 0.12, 0.14, 0.1, 0.16])
    cheek = _pick(rng, CHEEKS, [0.22, 0.18, 0.2, 0.18, 0.22])
    mouth = _pick(rng, MOUTHS, [0.4, 0.35, 0.25])

    p = _Painter(img, img.size[1])
    info = _draw_regions(p, rng, face, pal, pattern, geo)
    if pattern == "whole" and rng.random() < 0.5:
        # Forehead wrinkle lines, as on Guan Yu's whole red face.
        for k in range(int(rng.integers(2, 4))):
            y = geo["emblem_y"] + 0.02 + 0.022 * k
            p.line(
                _bezier([(0.5 - 0.12, y + 0.015), (0.5 - 0.06, y - 0.012), (0.52, y - 0.005)], 10),
                pal.line,
                0.006,
            )
    _draw_emblem(p, rng, face, pal, emblem, geo)
    _draw_cheeks(p, rng, face, pal, cheek, geo)
    _draw_mouth(p, rng, pal, mouth, geo)
    _draw_nose(p, rng, pal, nose, geo)
    _draw_eye(p, rng, pal, eye, geo)
    _draw_brow(p, rng, pal, brow, geo)
    # Clip everything to the face: paint the outside (left half plus a sliver past the centre, which
    # is discarded) in the background colour, then draw the outline.
    c = face.contour
    outside = np.concatenate(
        [[(0.0, 0.0), (0.53, 0.0), (0.53, face.top)], c, [(0.53, face.chin), (0.53, 1.0), (0.0, 1.0)]]
    )
    p.poly(outside, BACKGROUND)
    p.line(c, INK, 0.009)
    return {
        "variant": variant,
        "face_rgb": list(base),
        "pattern": pattern,
        "pattern_chinese": PATTERNS[pattern],
        "brow": brow,
        "eye": eye,
        "eye_socket": "white" if pal.socket == PAPER else "black",
        "nose": nose,
        "emblem": emblem,
        "cheek": cheek,
        "mouth": mouth,
        **info,
    }


@functools.lru_cache(maxsize=8)
def _variant_p(n: int) -> np.ndarray:
    # The canonical colour half of the time, the variants share the rest.
    p = np.full(n, 0.5 / (n - 1))
    p[0] = 0.5
    return p


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be an integer between {MIN_SIZE} and {MAX_SIZE}, got {size!r}")


def supersampling(size: int) -> int:
    """Supersampling factor used at ``size``: 4x up to 256 px, 2x above (keeps 1024 px affordable)."""
    return 4 if size <= 256 else 2


def symmetrize(arr: np.ndarray) -> np.ndarray:
    """Make an [H, W, C] array exactly left-right symmetric by mirroring its left half (in place)."""
    w = arr.shape[1]
    arr[:, w - w // 2 :] = arr[:, : w // 2][:, ::-1]
    return arr


def render_mask(seed: int, size: int, category: int | None = None) -> tuple[Image.Image, dict]:
    """Render one mask: an RGB ``size`` x ``size`` image and its metadata.

    ``category`` (0-6, see :data:`CATEGORIES`) forces the face colour; ``None`` draws it from the
    seed. The result depends only on ``(seed, size, category)``.
    """
    _check_size(size)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    drawn = int(rng.integers(len(CATEGORIES)))  # always drawn, so the stream does not depend on category
    if category is None:
        category = drawn
    if isinstance(category, bool) or not isinstance(category, (int, np.integer)) or not 0 <= category < 7:
        raise ValueError(f"category must be an integer 0-6 or None, got {category!r}")
    category = int(category)

    ss = supersampling(size)
    big = size * ss
    half = Image.new("RGB", (big // 2, big), BACKGROUND)
    meta = _render_half(half, big, rng, category)
    # Downsample only the left half (plus the centre column at odd sizes). The strip carries a few
    # mirrored columns past the centre line so that the filter sees what the full face would show;
    # ``box`` makes PIL use them as support without resampling them.
    left = np.asarray(half)
    strip = np.concatenate([left, left[:, ::-1][:, : 4 * ss]], axis=1)
    out_w = (size + 1) // 2
    small = np.asarray(
        Image.fromarray(strip).resize((out_w, size), Image.Resampling.LANCZOS, box=(0, 0, out_w * ss, big))
    )
    img = Image.fromarray(np.concatenate([small, small[:, : size // 2][:, ::-1]], axis=1))
    cat = CATEGORIES[category]
    return img, {
        "seed": int(seed),
        "size": int(size),
        "category": category,
        "name": cat.name,
        "chinese": cat.chinese,
        "meaning": cat.meaning,
        **meta,
    }


def mask_seed(seed: int, index: int) -> int:
    """The seed of mask ``index`` in a dataset made with ``seed`` (63-bit, from numpy's SeedSequence)."""
    state = np.random.SeedSequence([int(seed), int(index)]).generate_state(1, dtype=np.uint64)[0]
    return int(state) & (2**63 - 1)


def mask_plan(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-mask seeds and categories of a dataset: categories are balanced in every block of seven
    (a shuffled 0..6 per block), so any prefix has all classes within one of each other."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise ValueError(f"count must be a non-negative integer, got {count!r}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7]))
    blocks = -(-int(count) // 7)
    labels = np.concatenate([rng.permutation(7) for _ in range(blocks)] or [np.zeros(0, np.int64)])
    seeds = np.array([mask_seed(seed, i) for i in range(count)], dtype=np.int64)
    return seeds, labels[:count].astype(np.int64)


def render_masks(count: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Render ``count`` masks: uint8 images [count, size, size, 3] and int64 labels [count].

    Mask ``i`` is ``render_mask(mask_seed(seed, i), size, labels[i])``, independent of ``count``.
    """
    images, labels, _ = render_masks_with_meta(count, size, seed)
    return images, labels


def render_set(
    render_one: Callable[[int, int, int], tuple[Image.Image, dict]], count: int, size: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """A built-in set: uint8 images [count, size, size, 3], int64 labels [count] and metadata, mask ``i``
    being ``render_one(mask_seed(seed, i), size, labels[i])`` for the seeds and classes of
    :func:`mask_plan` (one plan for every built-in style, so mask i of any set has the same class)."""
    _check_size(size)
    seeds, labels = mask_plan(count, seed)
    images = np.empty((len(seeds), size, size, 3), dtype=np.uint8)
    metas = []
    for i, (s, c) in enumerate(zip(seeds.tolist(), labels.tolist(), strict=True)):
        img, meta = render_one(s, size, c)
        images[i] = np.asarray(img)
        metas.append(meta)
    return images, labels, metas


def render_masks_with_meta(count: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """:func:`render_masks` plus each mask's metadata (pattern and motif choices, e.g. for training a
    classifier on them: the choices are the names in PATTERNS, BROWS, EYES, NOSES, EMBLEMS, MOUTHS)."""
    return render_set(render_mask, count, size, seed)
