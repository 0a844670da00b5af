"""What the varied masks (:mod:`maskgen.data.procedural_varied`) add to the detailed construction.

Each function paints one addition in the detailed module's unit coordinates (x, y in [0, 1] on the
face's own frame, y down, the left half drawn and mirrored): the skin-coloured sides of the head and
the ears on them, a shaved head, caps and helmets, beards (髯口) of several kinds, stronger shading, the
sheen of gold and silver faces, and the tinted paper of a painted scan. Shapes are filled polygons
drawn supersampled, so every edge is a hard painted edge once the mask is shrunk; shading and sheen
are smooth fields, never noise.

Caps and long beards reach past the face's frame (above y = 0, below y = 1): they are painted on a
layer with more room around the face (see :class:`RoomPen`) and the whole picture is then shrunk, so
the mask with its cap and beard fills the frame as a framed scan would.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from maskgen.data.procedural import GOLD, INK, PAPER, RED, RGB, _bezier, _stroke
from maskgen.data.procedural_detailed import (
    FINE,
    _apply_shade,
    _brush,
    _Geo,
    _Pen,
    _scroll,
    _u,
    _unit_grid,
)

# Flesh colours of the unpainted sides of the head (肉色), from pale to ruddy.
SKIN_TONES: tuple[RGB, ...] = ((242, 212, 186), (236, 198, 166), (228, 186, 152), (246, 222, 200))
# Tinted papers of painted scans: cream, rice paper, tan, grey card, rose.
PAPER_TONES: dict[str, RGB] = {
    "cream": (245, 236, 212),
    "rice": (237, 226, 190),
    "tan": (226, 206, 168),
    "grey": (228, 226, 220),
    "rose": (242, 226, 216),
}
# Beard colours (髯口): the mass and the lighter (on white: darker) strands painted over it.
BEARD_TONES: dict[str, tuple[RGB, RGB]] = {
    "black": ((30, 27, 31), (92, 88, 94)),
    "grey": ((112, 110, 110), (178, 176, 172)),
    "white": ((222, 222, 218), (140, 140, 136)),
    "red": ((158, 30, 28), (218, 78, 56)),
}
# Metal faces: the base colour and the colours of the highlight and the shadow of its sheen.
METALS: dict[str, tuple[RGB, RGB, RGB]] = {
    "gold": ((198, 172, 100), (250, 244, 208), (112, 92, 44)),
    "silver": ((192, 196, 204), (248, 249, 252), (98, 106, 122)),
}


class RoomPen(_Pen):
    """A pen on a canvas with more room round the face's frame: unit point (x, y) lands at
    ((x + dx) * scale, (y + dy) * scale), so y < 0 (a cap) and y > 1 (a long beard) stay on it."""

    def __init__(self, img: Image.Image, scale: int, thin: float, dx: float, dy: float) -> None:
        super().__init__(img, scale, thin)
        self.offset = np.array([dx, dy])

    def _xy(self, pts: np.ndarray) -> list[float]:
        return ((np.asarray(pts, dtype=np.float64) + self.offset) * self.s).ravel().tolist()

    def disc(self, cx: float, cy: float, r: float, fill: RGB, outline: RGB | None = None, width: float = 0):
        super().disc(cx + float(self.offset[0]), cy + float(self.offset[1]), r, fill, outline, width)


def _scaled(rgb: RGB, factor: float) -> RGB:
    return tuple(int(min(255, max(0, round(c * factor)))) for c in rgb)  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------------
# The sides of the head, ears, a shaved head
# --------------------------------------------------------------------------------------------------


def head_outline(geo: _Geo, widen: float) -> np.ndarray:
    """The left outline of the head: the face outline pushed out by ``widen`` at the temples and cheeks,
    meeting it again at the crown and the chin (the painted face leaves the sides of the head bare)."""
    c, f = geo.face.contour, geo.face
    y = c[:, 1]
    rise = np.clip((y - f.top) / max(1e-6, geo.brow_y - 0.04 - f.top), 0.0, 1.0) ** 0.5
    fall = np.clip((f.chin - y) / max(1e-6, f.chin - geo.nose_y), 0.0, 1.0) ** 0.5
    return np.stack([c[:, 0] - widen * np.minimum(rise, fall), y], axis=1)


def head_edge(geo: _Geo, widen: float, y: float) -> float:
    """x of the head's left outline at height ``y``."""
    head = head_outline(geo, widen)
    return float(np.interp(y, head[:, 1], head[:, 0]))


def draw_skin_sides(p: _Pen, geo: _Geo, skin: RGB, widen: float) -> None:
    """The unpainted, skin-coloured strip between the painted face and the outline of the head."""
    head = head_outline(geo, widen)
    p.poly(np.concatenate([head, geo.face.contour[::-1]]), skin)
    p.line(head, INK, FINE * 0.8)
    p.line(geo.face.contour, INK, FINE)


def draw_shaved_head(p: _Pen, rng: np.random.Generator, geo: _Geo, skin: RGB, widen: float) -> None:
    """A shaved head (monks' faces 僧脸): the skin-coloured crown above the painted forehead, sometimes
    with the rows of ordination marks (戒疤)."""
    f = geo.face
    y_t = geo.brow_y - 0.05
    x_t = head_edge(geo, widen, y_t)
    top = max(0.03, f.top - _u(rng, 0.035, 0.055))  # the crown stays inside the frame
    dome = _bezier([(x_t, y_t), (x_t - 0.02, f.top + 0.01), (0.5 - 0.2, top), (0.5, top)], 24)
    face_top = f.contour[f.contour[:, 1] <= y_t]
    p.poly(np.concatenate([dome, [(0.52, top), (0.52, f.top)], face_top]), skin)
    p.line(dome, INK, FINE * 0.8)
    p.line(face_top, INK, FINE)
    if rng.random() < 0.5:
        mark = _scaled(skin, 0.72)
        for row in range(2):
            y = top + 0.03 + 0.028 * row
            for k in range(2 - row):
                p.disc(0.5 - 0.025 - 0.05 * k - 0.025 * row, y, 0.007, mark)


def draw_skin_ears(p: _Pen, rng: np.random.Generator, geo: _Geo, skin: RGB, widen: float) -> None:
    """Skin-coloured ears on the outline of the head, with the curl of the inner ear."""
    y0, y1 = geo.eye_y - _u(rng, 0.0, 0.02), geo.nose_y + _u(rng, 0.0, 0.02)
    e0, e1 = head_edge(geo, widen, y0), head_edge(geo, widen, y1)
    out = _u(rng, 0.03, 0.045)
    rim = _bezier([(e0, y0), (e0 - out * 1.3, y0 - 0.035), (e1 - out, y1), (e1, y1)], 20)
    shape = np.concatenate([[(e0 + 0.008, y0)], rim, [(e1 + 0.008, y1)]])
    p.poly(_grow_pts(shape, FINE * p.thin), INK)
    p.poly(shape, skin)
    inner = _bezier(
        [(e0 - 0.004, y0 + 0.018), (e0 - out * 0.85, y0 + 0.002), (e1 - out * 0.4, y1 - 0.02)], 12
    )
    p.line(inner, _scaled(skin, 0.7), FINE)


def _grow_pts(pts: np.ndarray, d: float) -> np.ndarray:
    """A closed shape pushed out by ``d`` from its centroid (enough for the ink rim of a convex ear)."""
    centre = pts.mean(axis=0)
    v = pts - centre
    return pts + d * v / np.maximum(np.hypot(v[:, 0], v[:, 1]), 1e-9)[:, None]


# --------------------------------------------------------------------------------------------------
# Caps and helmets (painted above the face, on the room layer)
# --------------------------------------------------------------------------------------------------


def _cap_outline(geo: _Geo, rise: float) -> tuple[np.ndarray, np.ndarray]:
    """The left half of a cap's crown (from the temple up to the top centre) and its brim on the
    forehead (from the temple to the centre), ``rise`` above the face's top."""
    f = geo.face
    side_y = geo.brow_y - 0.035
    x_e = geo.edge(side_y) - 0.015
    top_y = f.top - rise
    crown = _bezier([(x_e - 0.01, side_y), (x_e - 0.05, f.top - 0.02), (0.5 - 0.24, top_y), (0.5, top_y)], 28)
    brim = _bezier(
        [
            (x_e, side_y),
            (x_e + 0.04, geo.hair_y + 0.03),
            (0.5 - 0.12, geo.hair_y - 0.004),
            (0.52, geo.hair_y),
        ],
        28,
    )
    return crown, brim


def draw_soft_hat(p: _Pen, rng: np.random.Generator, geo: _Geo, rise: float) -> dict:
    """A soft cap (罗帽): a dark crown with folds, a band at the brim and pompoms (绒球) on the front."""
    crown, brim = _cap_outline(geo, rise)
    cloth = (INK, (28, 36, 78), (92, 22, 30))[int(rng.choice(3, p=[0.6, 0.25, 0.15]))]
    p.poly(np.concatenate([crown, [(0.52, crown[-1, 1])], brim[::-1]]), cloth)
    p.line(crown, INK, FINE)
    fold = _scaled(cloth, 1.9) if cloth != INK else (80, 78, 86)
    for k in range(int(rng.integers(2, 4))):  # folds of the soft crown
        x = 0.5 - 0.06 - 0.07 * k
        y_top = float(np.interp(x, crown[:, 0], crown[:, 1])) + 0.02
        p.line(
            _bezier([(x, y_top), (x - 0.02, (y_top + geo.hair_y) / 2), (x + 0.01, geo.hair_y - 0.01)], 10),
            fold,
            FINE * 0.8,
        )
    band_colour = (PAPER, GOLD, RED)[int(rng.integers(3))]
    p.line(brim, band_colour, 0.024 / p.thin)  # a band of cloth, not a pen line: never thinned
    p.line(brim, INK, FINE * 0.6)
    pompom = (RED, (236, 120, 150), (44, 98, 196))[int(rng.integers(3))]
    r = _u(rng, 0.034, 0.048)
    p.disc(0.5, crown[-1, 1] + r * 1.3, r, pompom, INK, FINE * 0.6)
    for x in (0.5 - 0.13, 0.5 - 0.22):
        y = float(np.interp(x, brim[:, 0], brim[:, 1])) - 0.022
        p.disc(x, y, r * 0.45, pompom, INK, FINE * 0.5)
    return {"cap": "soft", "cap_colour": list(cloth)}


def draw_helmet(p: _Pen, rng: np.random.Generator, geo: _Geo, rise: float) -> dict:
    """A helmet (盔头): a gold or silver crown with a jewelled band, side scrolls and a red tassel on top."""
    crown, brim = _cap_outline(geo, rise)
    metal = "gold" if rng.random() < 0.7 else "silver"
    face, light, dark = METALS[metal]
    shape = np.concatenate([crown, [(0.52, crown[-1, 1])], brim[::-1]])
    p.poly(shape, face)
    p.line(crown, INK, FINE)
    p.line(_bezier([crown[3], (0.5 - 0.2, crown[-1, 1] + 0.05), (0.52, crown[-1, 1] + 0.04)], 16), dark, FINE)
    band = np.concatenate([brim, (brim + (0.0, -0.032))[::-1]])
    p.poly(band, dark)
    p.line(brim, INK, FINE * 0.7)
    for k, (x, y) in enumerate(brim[2::5]):  # jewels on the band, red and blue in turn
        p.disc(x, y - 0.016, 0.009, RED if k % 2 == 0 else (40, 90, 190), INK, FINE * 0.4)
    x_s = 0.5 - _u(rng, 0.15, 0.19)
    y_s = float(np.interp(x_s, crown[:, 0], crown[:, 1])) + 0.05
    _scroll(p, [(0.5 - 0.06, y_s + 0.02), (x_s + 0.03, y_s - 0.02), (x_s, y_s + 0.02)], 0.016, 1.2, 1.0, INK)
    p.disc(0.5, crown[-1, 1] + 0.05, _u(rng, 0.022, 0.03), light, INK, FINE * 0.6)  # the front plaque
    tassel = RED if rng.random() < 0.8 else (236, 120, 150)
    p.disc(0.5, crown[-1, 1] - 0.005, _u(rng, 0.03, 0.042), tassel, INK, FINE * 0.6)
    return {"cap": "helmet", "helmet_metal": metal}


# --------------------------------------------------------------------------------------------------
# Beards (髯口), painted on the room layer over the face
# --------------------------------------------------------------------------------------------------


def _strands(
    p: _Pen, rng: np.random.Generator, roots: np.ndarray, tips: np.ndarray, colour: RGB, count: int
) -> None:
    """``count`` wavy tapered hairs, each from a point on the ``roots`` polyline to the matching point
    on the ``tips`` polyline."""
    sway = _u(rng, -0.015, 0.015)
    for _ in range(count):
        t = float(rng.uniform(0.0, 1.0))
        i = t * (len(roots) - 1)
        root = roots[int(i)] + (roots[min(int(i) + 1, len(roots) - 1)] - roots[int(i)]) * (i - int(i))
        j = t * (len(tips) - 1)
        tip = tips[int(j)] + (tips[min(int(j) + 1, len(tips) - 1)] - tips[int(j)]) * (j - int(j))
        h = tip - root
        curve = _bezier(
            [
                tuple(root),
                (root[0] + h[0] * 0.3 + sway, root[1] + h[1] * 0.35),
                (root[0] + h[0] * 0.7 - sway, root[1] + h[1] * 0.7),
                tuple(tip),
            ],
            14,
        )
        _brush(p, curve, _u(rng, 0.006, 0.01), 0.0015, colour)


def _ragged(rng: np.random.Generator, x0: float, x1: float, y: float, depth: float, n: int = 9) -> np.ndarray:
    """The ragged lower edge of a beard from x0 to x1: strand ends longest in the middle."""
    x = np.linspace(x0, x1, n)
    side = np.abs(x - 0.5) / max(1e-6, abs(x0 - 0.5))
    return np.stack([x, y - depth * side**1.5 - rng.uniform(0.0, depth * 0.4, n)], axis=1)


def draw_full_beard(p: _Pen, rng: np.random.Generator, geo: _Geo, tone: str, bottom: float) -> None:
    """满髯: a full curtain of beard from under the nose over the mouth and chin, far below the chin."""
    mass, strand = BEARD_TONES[tone]
    y0 = geo.nose_y + _u(rng, 0.03, 0.045)
    wt, wb = _u(rng, 0.1, 0.13), _u(rng, 0.15, 0.21)
    y1 = 1.0 + bottom - 0.02
    side = _bezier([(0.5 - wt * 0.6, y0 - 0.008), (0.5 - wt * 1.2, y0 + 0.04), (0.5 - wb, y1 - 0.12)], 16)
    tips = _ragged(rng, 0.5 - wb * 0.95, 0.52, y1, _u(rng, 0.03, 0.07))
    p.poly(np.concatenate([[(0.52, y0 - 0.01)], side, tips]), mass)
    _strands(p, rng, np.concatenate([[(0.52, y0)], side[:6]]), tips[::-1], strand, int(rng.integers(18, 26)))


def draw_three_beard(p: _Pen, rng: np.random.Generator, geo: _Geo, tone: str, bottom: float) -> None:
    """三髯: three long locks of hair, one from each corner of the mouth and one from under the lip."""
    mass, strand = BEARD_TONES[tone]
    y1 = 1.0 + bottom - 0.02
    # The side lock: from the corner of the mouth down, a tapering core with hairs fanning round it.
    x = 0.5 - _u(rng, 0.075, 0.095)
    top, w = geo.mouth_y - 0.015, _u(rng, 0.028, 0.036)
    centre = _bezier([(x, top), (x - 0.03, (top + y1) / 2), (x - _u(rng, 0.0, 0.03), y1 - 0.05)], 20)
    half = w * np.linspace(0.6, 0.12, 20)
    p.poly(_stroke(centre, half, half), mass)
    roots = np.array([centre[0] - (w * 0.7, 0.0), centre[0] + (w * 0.7, 0.0)])
    ends = centre[-1] + np.stack([np.linspace(-1, 1, 7) * w, rng.uniform(-0.04, 0.04, 7)], axis=1)
    _strands(p, rng, roots, ends, mass, 8)
    _strands(p, rng, roots, ends, strand, 6)
    # The middle lock, drawn as its left half: tapering to a point, hairs fanning out.
    top_c, wc = geo.mouth_y + _u(rng, 0.035, 0.05), _u(rng, 0.03, 0.045)
    side = _bezier([(0.5 - wc * 0.8, top_c), (0.5 - wc * 1.2, (top_c + y1) / 2), (0.5 - 0.004, y1)], 20)
    p.poly(np.concatenate([[(0.52, top_c - 0.004)], side, [(0.52, y1)]]), mass)
    roots = np.array([(0.5 - wc * 0.9, top_c), (0.52, top_c)])
    ends = np.stack([0.5 - np.linspace(wc * 1.1, 0.0, 5), y1 - rng.uniform(0.0, 0.06, 5)], axis=1)
    _strands(p, rng, roots, ends, mass, 5)
    _strands(p, rng, roots, ends, strand, 4)


def draw_bristle_beard(p: _Pen, rng: np.random.Generator, geo: _Geo, tone: str, bottom: float) -> None:
    """扎髯: a bristling beard round an open mouth, stiff hairs fanning out at its edge."""
    mass, strand = BEARD_TONES[tone]
    y0, y1 = geo.nose_y + _u(rng, 0.03, 0.04), 1.0 + bottom - 0.03
    w0, w1 = _u(rng, 0.1, 0.13), _u(rng, 0.17, 0.22)
    side = _bezier(
        [
            (0.5 - w0 * 0.5, y0),
            (0.5 - w0 * 1.2, y0 + 0.02),
            (0.5 - w1, geo.face.chin - 0.02),
            (0.5 - w1 * 0.55, y1),
        ],
        24,
    )
    outline = np.concatenate([[(0.52, y0 - 0.005)], side, [(0.52, y1 + 0.01)]])
    p.poly(outline, mass)
    # Stiff hairs fanning out from the edge (jagged, as painted 扎髯 are).
    centre = np.array([0.5, (geo.mouth_y + y1) / 2])
    for k, q in enumerate(side[3::2]):
        d = q - centre
        d = d / max(1e-9, float(np.hypot(*d)))
        tip = q + d * _u(rng, 0.02, 0.035)
        spike = np.array([q + (d[1], -d[0]) * np.array(0.008), tip, q - (d[1], -d[0]) * np.array(0.008)])
        p.poly(spike, mass if k % 2 else strand)
    for _ in range(int(rng.integers(10, 15))):
        a = float(rng.uniform(0.55, 1.0)) * np.pi
        r0, r1 = _u(rng, 0.05, 0.07), _u(rng, 0.1, 0.16)
        hair = [(0.5 + r0 * np.cos(a), geo.mouth_y + r0 * np.sin(a) * 1.2)]
        hair.append((0.5 + r1 * np.cos(a), geo.mouth_y + r1 * np.sin(a) * 1.4))
        p.line(np.array(hair), strand, FINE * 0.8)
    # The open mouth: the beard parts round it, the painted mouth shows through.
    mw, mh = _u(rng, 0.055, 0.07), _u(rng, 0.028, 0.036)
    t = np.linspace(np.pi / 2, np.pi * 1.5, 20)
    hole = np.stack([0.5 + mw * np.cos(t), geo.mouth_y + 0.005 + mh * np.sin(t)], axis=1)
    p.poly(np.concatenate([hole, [(0.52, hole[-1, 1]), (0.52, hole[0, 1])]]), (0, 0, 0, 0))  # type: ignore[arg-type]


def draw_moustache(p: _Pen, rng: np.random.Generator, geo: _Geo, tone: str) -> None:
    """A painted moustache (八字 or the upturned 二挑) from under the nose past the mouth corners."""
    mass, strand = BEARD_TONES[tone]
    y0 = geo.nose_y + _u(rng, 0.03, 0.04)
    up = rng.random() < 0.5
    end = (0.5 - _u(rng, 0.13, 0.17), geo.mouth_y + (_u(rng, -0.05, -0.02) if up else _u(rng, 0.02, 0.05)))
    curve = _bezier([(0.5 - 0.008, y0), (0.5 - 0.07, y0 + 0.01), (0.5 - 0.11, geo.mouth_y), end], 20)
    _brush(p, curve, 0.034 / p.thin, 0.008 / p.thin, mass)  # a mass of hair, not a pen line: not thinned
    for k in range(3):
        _brush(p, curve[2 + k : -3] + (0.0, 0.006 * (k - 1)), FINE * 0.7, FINE * 0.2, strand)


# --------------------------------------------------------------------------------------------------
# Shading, metal sheen, paper
# --------------------------------------------------------------------------------------------------


def rubbed_shade(img: Image.Image, geo: _Geo, rng: np.random.Generator, scale: int) -> Image.Image:
    """揉脸-like shading: the face colour visibly rubbed darker towards the edge and into the cheeks,
    lighter on the forehead and the bridge of the nose (stronger than the detailed set's)."""
    y, x = _unit_grid(img, scale)
    f = geo.face
    cy = (f.top + f.chin) / 2
    ry, rx = (f.chin - f.top) / 2, 0.5 - geo.edge(cy)
    d2 = ((x - 0.5) / rx) ** 2 + ((y - cy) / ry) ** 2
    rim = _u(rng, 0.16, 0.28) * np.clip((d2 - 0.3) / 0.7, 0.0, 1.0) ** 1.3
    vertical = _u(rng, -0.08, 0.08) * (y - cy) / ry
    cheeks = _u(rng, 0.06, 0.14) * np.exp(-(((x - geo.eye_x) / 0.08) ** 2 + ((y - geo.nose_y) / 0.08) ** 2))
    light = _u(rng, 0.04, 0.1) * np.exp(-(((x - 0.5) / 0.06) ** 2 + ((y - geo.brow_y) / 0.12) ** 2))
    return _apply_shade(img, np.clip(1.0 - rim - vertical - cheeks + light, 0.62, 1.12))


def metal_sheen(img: Image.Image, geo: _Geo, rng: np.random.Generator, scale: int, metal: str) -> Image.Image:
    """The sheen of a gold or silver face: the face colour (only it; the fields painted on it keep
    theirs) runs to a pale highlight on the forehead and upper cheeks and to a deep shadow at the
    edge, as metallic paint catches the light."""
    base, light, dark = (np.asarray(c, dtype=np.float32) for c in METALS[metal])
    arr = np.asarray(img, dtype=np.float32)
    y, x = _unit_grid(img, scale)
    f = geo.face
    cy = (f.top + f.chin) / 2
    ry, rx = (f.chin - f.top) / 2, 0.5 - geo.edge(cy)
    d2 = ((x - 0.5) / rx) ** 2 + ((y - cy) / ry) ** 2
    bright = _u(rng, 0.85, 1.05) * np.exp(-(((x - 0.5) / 0.24) ** 2 + ((y - geo.emblem_y) / 0.14) ** 2))
    bright = bright + _u(rng, 0.75, 1.0) * np.exp(
        -(((x - geo.eye_x + 0.02) / 0.1) ** 2 + ((y - geo.nose_y + 0.02) / 0.14) ** 2)
    )
    shadow = _u(rng, 0.7, 1.0) * np.clip((d2 - 0.2) / 0.7, 0.0, 1.0) ** 1.1
    s = np.clip(bright - shadow, -1.0, 1.0)[..., None]
    sheen = np.where(s > 0, base + s * (light - base), base - s * (dark - base))
    own = np.all(np.abs(arr - base) < 1.0, axis=-1, keepdims=True)  # the face colour, exactly
    return Image.fromarray(np.clip(np.where(own, sheen, arr), 0, 255).astype(np.uint8))


def age_paper(img: Image.Image, darken: float, gradient: float) -> Image.Image:
    """A scan's uneven paper and light: darker towards the corners and from top to bottom by a smooth,
    left-right symmetric field (symmetric masks stay exactly symmetric)."""
    w, h = img.size
    x = (np.arange(w, dtype=np.float32) + 0.5)[None, :] / w - 0.5
    y = (np.arange(h, dtype=np.float32) + 0.5)[:, None] / h - 0.5
    factor = 1.0 - darken * (x**2 + y**2) * 2.0 - gradient * y
    arr = np.asarray(img, dtype=np.float32) * factor[..., None]
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))
