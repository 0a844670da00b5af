"""Detailed procedural Peking opera masks (京剧脸谱): the harder built-in dataset ``builtin-detailed``.

The simple set of :mod:`maskgen.data.procedural` paints a few large flat fields. Painted lianpu are far
busier: fine black-and-white linework swirls over the whole face, black fields carry white outlines and
white fields black ones, parallel contour lines follow the region boundaries, foreheads carry patterned
emblems, and hair, ears and painted beards frame the face. This module draws that style as a stand-in
for real mask collections during development (a GAN recipe tuned on the simple set can still draw
coloured speckle on real masks).

Same conventions as the simple set: the class is the primary face colour (:data:`CATEGORIES`, labels
0-6), the background is white, the face frontal, and everything random comes from
``numpy.random.Generator(seed)``. Symmetric masks are exactly mirror-symmetric: the left half is drawn
supersampled and mirrored, and after downsampling the left half of the result is mirrored once more.
Crooked faces (歪脸, about :data:`CROOKED_SHARE` of the masks) are asymmetric on purpose: after
mirroring, a displaced eye socket, a twisted nose and mouth and a one-sided field are painted over the
full face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from maskgen.data.procedural import (
    BACKGROUND,
    BLUE,
    CATEGORIES,
    GOLD,
    GREEN,
    INK,
    PAPER,
    RED,
    RGB,
    SILVER,
    _almond,
    _bezier,
    _check_size,
    _ellipse,
    _Face,
    _jitter,
    _make_face,
    _Painter,
    _place,
    _spiral,
    _stroke,
    _teardrop,
    _tint,
    _variant_p,
    render_set,
    supersampling,
    symmetrize,
)

# Pattern types (谱式) and how often each is drawn: three-tile and fragmented faces are the most common
# in catalogues; the crooked face is the rare deliberate exception to symmetry.
DETAILED_PATTERNS: dict[str, str] = {
    "whole": "整脸",
    "three_tile": "三块瓦脸",
    "flowered_three_tile": "花三块瓦脸",
    "cross_door": "十字门脸",
    "six_tenths": "六分脸",
    "ingot": "元宝脸",
    "fragmented": "碎脸",
    "pictographic": "象形脸",
    "deity": "神仙脸",
    "crooked": "歪脸",
}
CROOKED_SHARE = 0.05
_PATTERN_P = np.array([0.11, 0.16, 0.13, 0.08, 0.08, 0.08, 0.16, 0.08, 0.07, CROOKED_SHARE])

EMBLEMS = ("bat", "flame", "shou", "taiji", "third_eye", "stripe")
SOCKETS = ("teardrop", "almond", "swallow", "narrow", "round")
BROWS = ("sword", "butterfly", "flame", "swept", "silkworm", "cloud")
NOSES = ("bulb", "slim", "crying")
MOUTHS = ("tiger", "fire_basin", "lips")
BEARDS = ("none", "black", "white", "red")
HEADWEAR = ("hair", "band", "crown")

BEARD_RGB: dict[str, RGB] = {"black": (34, 30, 34), "white": (200, 200, 196), "red": (178, 38, 34)}
# Linework widths in unit coordinates at 64 px: about 1 and 1.5 px. Larger masks draw thinner lines
# (see line_scale) so that a 256 px mask has a pen's fine linework rather than 4 px strokes.
FINE = 0.015
MEDIUM = 0.022


# --------------------------------------------------------------------------------------------------
# Geometry helpers (unit coordinates as in procedural: x, y in [0, 1], y down, left half drawn)
# --------------------------------------------------------------------------------------------------


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _pick(rng: np.random.Generator, options: tuple[str, ...], p: list[float] | None = None) -> str:
    return str(options[int(rng.choice(len(options), p=p))])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.hypot(v[..., 0], v[..., 1]), 1e-12)[..., None]


def _grow(poly: np.ndarray, d: float) -> np.ndarray:
    """A closed polygon pushed outwards (``d`` > 0) or inwards along its normals: a contour line."""
    tangent = _unit(np.roll(poly, -1, axis=0) - np.roll(poly, 1, axis=0))
    x, y = poly[:, 0], poly[:, 1]
    orientation = np.sign(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)) or 1.0
    return poly + orientation * d * np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)


def _parallel(curve: np.ndarray, d: float) -> np.ndarray:
    """An open curve moved sideways by ``d`` (positive: towards the top of the face)."""
    tangent = _unit(np.gradient(curve, axis=0))
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    if normal[:, 1].mean() > 0:
        normal = -normal
    return curve + d * normal


def _closed(pts: np.ndarray) -> np.ndarray:
    return np.concatenate([pts, pts[:1]])


def _chain(*segments: list[tuple[float, float]], n: int = 14) -> np.ndarray:
    """Bezier segments joined into one polyline (each segment starts where the previous one ended)."""
    return np.concatenate([_bezier(seg, n)[(1 if i else 0) :] for i, seg in enumerate(segments)])


def _luma(rgb: RGB) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def _contrast(rgb: RGB) -> RGB:
    """Outline colour of a field: white round dark fields, ink round light ones."""
    return INK if _luma(rgb) > 80 else PAPER


def _blob(rng: np.random.Generator, n: int = 28) -> np.ndarray:
    """A random smooth closed blob of unit size, for the small fields of fragmented faces."""
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    r = 1 + sum(rng.uniform(-0.2, 0.2) * np.cos(k * t + rng.uniform(0, 6)) for k in (2, 3))
    return np.stack([np.cos(t) * r, np.sin(t) * r], axis=1) * 0.5


# --------------------------------------------------------------------------------------------------
# Brush work: tapered strokes, scrolls that end in a curl, cloud scrolls, contour lines
# --------------------------------------------------------------------------------------------------


def line_scale(size: int) -> float:
    """Factor on the linework widths at ``size`` px: 1 at 64 px, thinner above, a little bolder below
    (never under one pixel at 16-32 px, about 1.7 px for the finest lines at 256 px)."""
    return float(np.clip((64 / size) ** 0.6, 0.35, 1.0))


class _Pen(_Painter):
    """procedural's painter whose line widths (and those of brush strokes and outlines) are scaled by
    ``thin``: the geometry of a mask is the same at every size, its linework gets finer."""

    def __init__(self, img: Image.Image, scale: int, thin: float) -> None:
        super().__init__(img, scale)
        self.thin = thin

    def _w(self, width: float) -> int:
        return max(1, int(round(width * self.thin * self.s)))


def _brush(p: _Pen, curve: np.ndarray, w0: float, w1: float, colour: RGB) -> None:
    """A brush stroke along ``curve``, ``w0`` wide at the start tapering to ``w1``."""
    half = np.linspace(w0, w1, len(curve)) * (p.thin / 2)
    p.poly(_stroke(curve, half, half), colour)


def _scroll_curve(ctrl: list[tuple[float, float]], r: float, turns: float, sign: float) -> np.ndarray:
    """A Bezier that runs smoothly on into an inward spiral of radius ``r`` (a 卷草 scroll)."""
    c = _bezier(ctrl, 18)
    d = _unit(c[-1] - c[-3])
    normal = np.array([-d[1], d[0]]) * sign
    centre = c[-1] + normal * r
    rel = c[-1] - centre
    start = float(np.arctan2(rel[1], rel[0]))
    direction = 1.0 if np.dot(np.array([-rel[1], rel[0]]), d) > 0 else -1.0
    spiral = _spiral(centre[0], centre[1], r, turns, start, direction, max(12, int(22 * turns)))
    return np.concatenate([c, spiral[1:]])


def _scroll(
    p: _Pen,
    ctrl: list[tuple[float, float]],
    r: float,
    turns: float,
    sign: float,
    colour: RGB,
    width: float = FINE,
) -> None:
    curve = _scroll_curve(ctrl, r, turns, sign)
    _brush(p, curve, width * 1.25, width * 0.5, colour)


def _curl(
    p: _Pen,
    x: float,
    y: float,
    r: float,
    turns: float,
    start: float,
    sign: float,
    colour: RGB,
    width: float = FINE,
) -> None:
    p.line(_spiral(x, y, r, turns, start, sign, max(12, int(22 * turns))), colour, width)


def _cloud(p: _Pen, x: float, y: float, r: float, angle: float, colour: RGB, width: float = FINE) -> None:
    """A 如意 cloud scroll: two curls joined by an S stroke."""
    c, s = np.cos(angle), np.sin(angle)
    ax, ay, bx, by = x - r * c, y - r * s, x + r * c, y + r * s
    _curl(p, ax, ay, r * 0.7, 1.1, angle, 1.0, colour, width)
    _curl(p, bx, by, r * 0.55, 1.0, angle + np.pi, 1.0, colour, width)
    p.line(_bezier([(ax, ay + r * 0.7), (x, y - r * 0.4), (bx, by + r * 0.55)], 12), colour, width)


def _rimmed(p: _Pen, pts: np.ndarray, fill: RGB, rim: RGB, width: float = FINE) -> None:
    """A field with an outline of ``width`` outside it (PIL's own outline eats into thin shapes)."""
    p.poly(_grow(pts, width * p.thin), rim)
    p.poly(pts, fill)


def _contour_lines(p: _Pen, poly: np.ndarray, colours: list[RGB], gap: float, width: float = FINE) -> None:
    """Parallel lines following a field's boundary outwards, one per colour."""
    for k, colour in enumerate(colours):
        p.line(_closed(_grow(poly, gap * (k + 1))), colour, width)


# --------------------------------------------------------------------------------------------------
# Face layout and colours
# --------------------------------------------------------------------------------------------------


@dataclass
class _Geo:
    """Where the features of one face go (left half)."""

    face: _Face
    category: int
    hair_y: float  # hairline at the centre
    brow_y: float
    eye_x: float
    eye_y: float
    eye_w: float  # half length of the eye socket
    eye_h: float  # half height
    tilt: float  # eye-socket slant: the inner end lower
    nose_y: float
    mouth_y: float
    emblem_y: float

    def edge(self, y: float) -> float:
        return self.face.left_edge(y)


def _detailed_face(rng: np.random.Generator) -> _Face:
    """procedural's face outline, a little smaller, leaving room for hair, ears and a beard."""
    face = _make_face(rng)
    sx, sy, y0 = _u(rng, 0.9, 0.95), _u(rng, 0.89, 0.92), _u(rng, 0.04, 0.055)
    c = face.contour
    contour = np.stack([0.5 + (c[:, 0] - 0.5) * sx, y0 + c[:, 1] * sy], axis=1)
    return _Face(y0 + face.top * sy, y0 + face.chin * sy, contour)


def _layout(rng: np.random.Generator, category: int) -> _Geo:
    face = _detailed_face(rng)
    hair_y = face.y(_u(rng, 0.07, 0.12))
    brow_y = face.y(_u(rng, 0.33, 0.37))
    return _Geo(
        face=face,
        category=category,
        hair_y=hair_y,
        brow_y=brow_y,
        eye_x=0.5 - _u(rng, 0.135, 0.155),
        eye_y=face.y(_u(rng, 0.43, 0.46)),
        eye_w=_u(rng, 0.088, 0.108),
        eye_h=_u(rng, 0.05, 0.064),
        tilt=_u(rng, 0.2, 0.5),
        nose_y=face.y(_u(rng, 0.6, 0.64)),
        mouth_y=face.y(_u(rng, 0.75, 0.79)),
        emblem_y=(hair_y + brow_y) / 2 + _u(rng, -0.01, 0.01),
    )


@dataclass
class _Colours:
    base: RGB
    line: RGB  # linework on the face colour: ink, or white on black faces
    socket: RGB  # eye sockets and joined brows
    brow: RGB
    field: RGB  # large secondary fields: three-tile eye fields, nose socket
    accents: tuple[RGB, ...]  # emblems and small fields; never the face colour's family


_ACCENTS: dict[int, tuple[RGB, ...]] = {
    0: (GOLD, INK, PAPER, BLUE, GREEN),
    1: (RED, GOLD, PAPER, INK, GREEN),
    2: (RED, PAPER, GOLD, SILVER, BLUE),
    3: (RED, INK, BLUE, GOLD),
    4: (RED, GOLD, PAPER, INK, GREEN),
    5: (RED, GOLD, PAPER, INK, BLUE),
    6: (RED, INK, GREEN, PAPER, BLUE),
}


def _colours(rng: np.random.Generator, category: int, base: RGB) -> _Colours:
    accents = _ACCENTS[category]
    if category == 2:  # black face: white fields, black sockets in them, white linework (Zhang Fei)
        return _Colours(base, PAPER, INK, INK, PAPER, accents)
    if category == 3:  # white face: ink linework, grey or flesh fields (Cao Cao)
        field = SILVER if rng.random() < 0.5 else (236, 208, 198)
        return _Colours(base, INK, INK, INK, field, accents)
    socket = PAPER if rng.random() < 0.1 else INK
    return _Colours(base, INK, socket, INK, PAPER, accents)


def _at_least_bright(rgb: RGB, value: float) -> RGB:
    """Scale a colour up to an HSV value of at least ``value``: dark purple stays purple next to ink lines
    instead of reading as black once the lines blur into it at small sizes."""
    high = max(rgb) / 255
    if high >= value:
        return rgb
    return tuple(min(255, int(round(c * value / high))) for c in rgb)  # type: ignore[return-value]


def _accent(rng: np.random.Generator, col: _Colours, avoid: tuple[RGB, ...] = ()) -> RGB:
    options = [c for c in col.accents if c not in avoid] or list(col.accents)
    return options[int(rng.integers(len(options)))]


# --------------------------------------------------------------------------------------------------
# Pattern fields (painted first, on the face colour)
# --------------------------------------------------------------------------------------------------


def _eye_field(rng: np.random.Generator, geo: _Geo, low: float) -> np.ndarray:
    """Three-tile eye field: from beside the nose bridge up under the brow to the temple, round the outer
    eye and down to a point beside the nose. The forehead tile comes down between the fields to the
    nose bridge; the cheeks are the other two tiles."""
    by, ey, ny = geo.brow_y, geo.eye_y, geo.nose_y
    a = (0.5 - _u(rng, 0.03, 0.045), ey - _u(rng, 0.02, 0.045))
    m = (0.5 - _u(rng, 0.09, 0.11), by + _u(rng, -0.01, 0.015))
    b = (geo.edge(by) + _u(rng, 0.005, 0.02), by - _u(rng, 0.06, 0.1))
    c = (geo.edge(ey) + _u(rng, 0.025, 0.045) + (0.03 if geo.category == 2 else 0.0), ey + low)
    d = (0.5 - _u(rng, 0.05, 0.07), ny - _u(rng, 0.03, 0.065))
    return _chain(
        [a, (a[0] - 0.01, (a[1] + m[1]) / 2), m],
        [m, ((m[0] + b[0]) / 2, m[1] - 0.03), b],
        [b, (b[0] - 0.015, (b[1] + c[1]) / 2), c],
        [c, (c[0] + 0.08, c[1] + _u(rng, 0.0, 0.05)), d],
        [d, (0.5 - 0.035, (d[1] + a[1]) / 2), a],
        n=14,
    )[:-1]


def _fields_three_tile(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours, flowered: bool) -> dict:
    low = _u(rng, -0.01, 0.015) if geo.category == 2 else _u(rng, 0.03, 0.065)
    field = _eye_field(rng, geo, low)
    if geo.category == 2:  # smaller white fields on black faces, so that black stays the main colour
        field = (field - (geo.eye_x, geo.eye_y)) * 0.85 + (geo.eye_x, geo.eye_y)
    # Contour lines in the tiles follow the field's boundary: the hallmark of painted masks.
    _contour_lines(p, field, [col.line] * (1 if flowered else int(rng.integers(1, 3))), _u(rng, 0.022, 0.028))
    _rimmed(p, field, col.field, INK if col.field != INK else PAPER, FINE)
    if flowered:
        _tile_flowers(p, rng, geo, col)
    return {"field": "white" if col.field == PAPER else "grey"}


def _tile_flowers(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours) -> None:
    """Ornaments in the tiles of a flowered three-tile face: a cloud scroll, a cheek scroll, petals."""
    colour = _accent(rng, col, (PAPER, col.base)) if rng.random() < 0.6 else col.line
    _cloud(
        p,
        0.5 - _u(rng, 0.14, 0.18),
        geo.emblem_y + _u(rng, -0.01, 0.02),
        _u(rng, 0.022, 0.03),
        _u(rng, -0.5, 0.3),
        colour,
    )
    cx, cy = geo.eye_x - _u(rng, 0.0, 0.03), geo.nose_y + _u(rng, 0.0, 0.04)
    _curl(p, cx, cy, _u(rng, 0.03, 0.04), _u(rng, 1.3, 1.9), _u(rng, 0, 6), -1.0, colour, MEDIUM)
    for k in range(int(rng.integers(2, 4))):
        petal = _place(
            _teardrop(24, 1.0), cx + 0.05 - 0.02 * k, cy + 0.055 + 0.012 * k, 0.03, 0.02, 1.2 + 0.4 * k
        )
        _rimmed(p, petal, _accent(rng, col, (col.base,)), INK, FINE * 0.8)


def _fields_cross_door(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours) -> dict:
    """Cross-door face: a vertical band from the forehead down the nose crosses a band through the eyes."""
    eye_band = INK if geo.category != 2 else SILVER
    y0, y1 = geo.eye_y - _u(rng, 0.05, 0.07), geo.eye_y + _u(rng, 0.04, 0.06)
    band = np.concatenate(
        [
            _bezier([(0.08, y0 - 0.05), (0.3, y0 + 0.01), (0.52, y0)], 14),
            _bezier([(0.52, y1), (0.3, y1 + 0.02), (0.08, y1 - 0.03)], 14),
        ]
    )
    _rimmed(p, band, eye_band, _contrast(eye_band), FINE)
    hw = _u(rng, 0.03, 0.05)
    band_colour = _accent(rng, col, (INK, col.base)) if geo.category != 2 else PAPER
    vert = np.concatenate(
        [
            [(0.52, geo.hair_y - 0.02)],
            _bezier(
                [(0.5 - hw * 0.6, geo.hair_y - 0.02), (0.5 - hw * 1.4, geo.brow_y), (0.5 - hw, geo.nose_y)],
                16,
            ),
            [(0.52, geo.nose_y + 0.02)],
        ]
    )
    _rimmed(p, vert, band_colour, _contrast(band_colour), FINE)
    inner = _bezier(
        [(0.5 - hw * 0.3, geo.hair_y), (0.5 - hw * 0.75, geo.brow_y), (0.5 - hw * 0.45, geo.nose_y - 0.02)],
        14,
    )
    p.line(inner, _contrast(band_colour), FINE * 0.8)
    return {"band": "accent"}


def _region_above(boundary: np.ndarray) -> np.ndarray:
    return np.concatenate(
        [[(0.0, 0.0), (0.0, boundary[0, 1])], boundary, [(0.52, boundary[-1, 1]), (0.52, 0.0)]]
    )


def _fields_forehead(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours, ingot: bool) -> dict:
    """Six-tenths face (lighter forehead, boundary over the brows) or ingot face (boundary shaped like a
    silver ingot: raised at the temples, a hump in the middle)."""
    cat = geo.category
    if ingot:
        side, low, hump = geo.brow_y - 0.1, geo.brow_y - _u(rng, 0.0, 0.02), geo.brow_y - _u(rng, 0.05, 0.07)
        b = _bezier(
            [
                (0.0, side - 0.06),
                (0.12, side),
                (0.25, low + 0.04),
                (0.36, low + 0.01),
                (0.45, hump + 0.02),
                (0.52, hump),
            ],
            32,
        )
    else:
        yb = geo.brow_y - _u(rng, 0.0, 0.02)
        b = _bezier(
            [(0.0, yb - 0.05), (0.2, yb + 0.03), (0.38, yb + _u(rng, 0.0, 0.03)), (0.52, yb - 0.02)], 24
        )
    light = _tint(col.base, cat)
    if cat not in (2, 3) and rng.random() < 0.35:
        light = PAPER
    p.poly(_region_above(b), light)
    p.line(b, INK if cat != 2 else PAPER, MEDIUM)
    p.line(_parallel(b, 0.022), _contrast(light), FINE)
    if rng.random() < 0.6:
        p.line(_parallel(b, -0.022), col.line, FINE)
    return {"forehead": "white" if light == PAPER else "tint"}


def _fields_fragmented(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours) -> dict:
    """Fragmented face 碎脸: many small outlined fields of other colours; the face colour stays dominant."""
    f = geo.face
    spots = [
        (0.5 - _u(rng, 0.09, 0.14), f.y(_u(rng, 0.2, 0.26))),
        (0.5 - _u(rng, 0.2, 0.26), f.y(_u(rng, 0.19, 0.27))),
        (geo.edge(geo.eye_y) + _u(rng, 0.03, 0.05), geo.eye_y - _u(rng, 0.03, 0.06)),
        (0.5 - _u(rng, 0.21, 0.26), f.y(_u(rng, 0.56, 0.6))),
        (0.5 - _u(rng, 0.11, 0.16), f.y(_u(rng, 0.66, 0.7))),
        (0.5 - _u(rng, 0.22, 0.27), f.y(_u(rng, 0.68, 0.74))),
        (0.5 - _u(rng, 0.05, 0.08), f.y(_u(rng, 0.86, 0.9))),
        (geo.edge(geo.nose_y) + _u(rng, 0.02, 0.04), geo.nose_y),
        (0.5 - _u(rng, 0.03, 0.06), f.y(_u(rng, 0.28, 0.31))),
    ]
    drawn = 0
    for x, y in spots:
        if rng.random() < 0.15:
            continue
        colour = _accent(rng, col, (col.base,))
        size = _u(rng, 0.035, 0.055)
        shape = _place(_blob(rng), x, y, size, size * _u(rng, 0.6, 0.9), _u(rng, -1.5, 1.5))
        _rimmed(p, shape, colour, _contrast(colour), FINE)
        if rng.random() < 0.5:
            _curl(p, x, y, size * 0.3, 1.2, _u(rng, 0, 6), 1.0, _contrast(colour), FINE * 0.8)
        drawn += 1
    return {"fields": drawn}


def _fields_pictographic(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours) -> dict:
    """Pictographic face (the monkey king's kind): a peach-shaped field round the eyes and nose, ringed by
    gold and ink lines; round eye sockets are drawn over it."""
    top, bottom = geo.brow_y - _u(rng, 0.06, 0.09), geo.mouth_y + _u(rng, -0.02, 0.01)
    w = _u(rng, 0.19, 0.23)
    peach = _chain(
        [(0.5, top + 0.05), (0.5 - w * 0.35, top - 0.05), (0.5 - w, top), (0.5 - w * 1.05, geo.eye_y)],
        [
            (0.5 - w * 1.05, geo.eye_y),
            (0.5 - w * 1.1, geo.nose_y),
            (0.5 - w * 0.5, bottom),
            (0.5, bottom + 0.02),
        ],
        n=22,
    )
    peach = np.concatenate([peach, [(0.52, bottom + 0.02), (0.52, top + 0.05)]])
    # A lighter shade of the face inside; grey on black faces and pale flesh on white ones keep the class.
    special: dict[int, RGB] = {2: (132, 132, 140), 3: (238, 214, 204), 6: PAPER}
    inner = special.get(geo.category) or _tint(col.base, geo.category)
    rings = [GOLD, INK] if geo.category != 6 else [RED, INK]
    for k, colour in enumerate(rings):
        p.poly(_grow(peach, 0.03 - 0.014 * k), colour)
    p.poly(peach, inner)
    _contour_lines(p, peach, [col.line], 0.05)
    # Fur-like strokes on the forehead above the peach.
    for k in range(int(rng.integers(3, 6))):
        x = 0.5 - 0.03 - 0.035 * k
        p.line(
            _bezier([(x, top - 0.01), (x - 0.012, top - 0.04), (x + 0.005, top - 0.07)], 8),
            col.line,
            FINE * 0.8,
        )
    return {"centre": "peach"}


def _fields_deity(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours) -> dict:
    """Deity face 神仙脸: round patterns, gold or silver rings on the cheeks and a halo on the forehead."""
    metal = GOLD if geo.category != 6 else SILVER
    cx, cy, r = geo.eye_x - 0.02, geo.nose_y + 0.02, _u(rng, 0.042, 0.056)
    for k, colour in enumerate([INK, metal, INK, _tint(col.base, geo.category)]):
        p.disc(cx, cy, r * (1 - 0.2 * k), colour)
    _curl(p, cx, cy, r * 0.45, 1.3, _u(rng, 0, 6), 1.0, INK, FINE)
    for k in range(int(rng.integers(2, 4))):
        rr = 0.12 + 0.024 * k
        t = np.linspace(np.pi * 1.05, np.pi * 1.5, 24)
        arc = np.stack([0.5 + rr * np.cos(t) * 1.5, geo.brow_y + 0.01 + rr * np.sin(t)], axis=1)
        p.line(arc, metal if k % 2 == 0 else col.line, FINE)
    return {"metal": "gold" if metal == GOLD else "silver"}


# --------------------------------------------------------------------------------------------------
# Features (painted over the fields)
# --------------------------------------------------------------------------------------------------


def _socket_shape(kind: str) -> np.ndarray:
    """Eye-socket outline in local coordinates (u towards the nose, v down)."""
    if kind == "teardrop":
        return _teardrop(48, 1.1)
    if kind == "almond":
        return _almond(48, 0.55)
    if kind == "round":
        return _ellipse(44) * (1.7, 1.9)
    if kind == "narrow":  # phoenix eyes 丹凤眼 of whole faces: a thin slanted almond
        return _almond(44, 0.9) * (1.0, 0.5)
    # Swallow tail 燕尾: an almond whose outer end runs up and out into a pointed tail.
    return _chain(
        [(1.0, 0.0), (0.3, -0.6), (-0.7, -0.5)],
        [(-0.7, -0.5), (-1.2, -0.55), (-1.7, -1.1)],
        [(-1.7, -1.1), (-1.2, -0.2), (-0.8, 0.3)],
        [(-0.8, 0.3), (0.0, 0.65), (1.0, 0.0)],
        n=12,
    )[:-1]


def _socket(geo: _Geo, kind: str, grow: float = 1.0) -> np.ndarray:
    return _place(_socket_shape(kind), geo.eye_x, geo.eye_y, geo.eye_w * grow, geo.eye_h * 2 * grow, geo.tilt)


def _draw_socket(
    p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours, kind: str, ring: bool
) -> np.ndarray:
    """Eye socket with a contrasting rim, the eye inside; ``ring`` adds a contour line round the rim (on
    white eye fields). Returns the socket outline."""
    socket = _socket(geo, kind)
    rim_colour = _contrast(col.socket)
    rim = _u(rng, 0.008, 0.013)
    if ring:
        p.line(_closed(_grow(socket, rim + _u(rng, 0.014, 0.02))), _contrast(col.field), FINE * 0.7)
    p.poly(_grow(socket, rim * p.thin), rim_colour)
    p.poly(socket, col.socket)
    if kind != "narrow" and rng.random() < 0.6:
        # A white line inside the socket, following its lower edge.
        low = socket[socket[:, 1] > geo.eye_y - 0.005]
        low = low[np.argsort(low[:, 0])]
        p.line(_parallel(low, 0.016)[2:-2], rim_colour, FINE * 0.7)
    # The eye: a slit with the pupil, set towards the inner end of the socket.
    ew = geo.eye_w * _u(rng, 0.3, 0.38)
    ex, ey = geo.eye_x + geo.eye_w * 0.2, geo.eye_y - geo.eye_h * 0.1
    eye = _place(_almond(28, 0.8), ex, ey, ew * 2, ew * 0.6, geo.tilt * 0.6)
    white = PAPER if col.socket != PAPER else (252, 252, 250)
    p.poly(eye, white)
    if col.socket == PAPER:
        p.line(_closed(eye), INK, FINE)
    p.disc(ex, ey, ew * 0.2, INK)
    return socket


def _brow_curve(rng: np.random.Generator, geo: _Geo, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre line and upper/lower half-widths of a brow from the nose bridge to the temple."""
    by = geo.brow_y
    inner = (0.5 - _u(rng, 0.025, 0.04), by + _u(rng, 0.0, 0.02))
    edge = geo.edge(by)
    t = np.linspace(0.0, 1.0, 44)
    if kind == "butterfly":
        outer = (edge + _u(rng, 0.01, 0.03), by - _u(rng, 0.02, 0.06))
        c = _bezier([inner, (0.5 - 0.15, by - _u(rng, 0.07, 0.1)), outer], 44)
        lobes = int(rng.integers(2, 4))
        half = _u(rng, 0.034, 0.044) * np.sin(np.pi * np.clip(t * 1.05, 0, 1)) ** 0.6
        half = half * (1 + 0.3 * np.cos(lobes * np.pi * t)) + 0.004
        return c, half * 1.1, half * 0.9
    if kind == "flame":
        outer = (edge + _u(rng, 0.01, 0.03), by - _u(rng, 0.06, 0.11))
        c = _bezier([inner, (0.5 - 0.16, by + _u(rng, -0.02, 0.01)), outer], 44)
        k = int(rng.integers(3, 6))
        spikes = _u(rng, 0.026, 0.04) * np.maximum(0.0, np.sin(k * np.pi * t)) ** 2 * (1 - 0.5 * t)
        base = _u(rng, 0.016, 0.022) * (1 - 0.6 * t) + 0.004
        return c, base + spikes, base
    if kind == "silkworm":  # 卧蚕眉: thick, gently waved, tapering at both ends (Guan Yu)
        outer = (edge + _u(rng, 0.02, 0.04), by - _u(rng, 0.07, 0.11))
        c = _bezier([inner, (0.5 - 0.13, by + 0.015), (0.5 - 0.22, by - 0.05), outer], 44)
        half = _u(rng, 0.021, 0.028) * np.sin(np.pi * np.clip(t, 0.03, 0.97)) ** 0.5 + 0.003
        return c, half, half
    outer = (edge + _u(rng, 0.01, 0.035), by - _u(rng, 0.08, 0.14))
    mid = ((inner[0] + outer[0]) / 2, (inner[1] + outer[1]) / 2 - _u(rng, 0.0, 0.035))
    c = _bezier([inner, mid, outer], 44)
    half = (
        _u(rng, 0.02, 0.028) * (1 - t) ** 0.6 * (0.7 + 0.6 * np.sin(np.pi * np.minimum(t * 1.4, 1))) + 0.003
    )
    return c, half, half * 0.8


def _draw_brow(
    p: _Pen,
    rng: np.random.Generator,
    geo: _Geo,
    col: _Colours,
    kind: str,
    socket: np.ndarray,
    joined: bool,
) -> None:
    """A brow with a contrasting outline and a line inside; ``joined`` paints the eye socket continuing
    up into the brow, one black shape from the nose bridge to the temple."""
    c, up, down = _brow_curve(rng, geo, kind)
    fill = col.socket if joined else col.brow
    outline = _contrast(fill)
    if joined:
        n = int(len(c) * 0.6)
        top = socket[socket[:, 1] < geo.eye_y + 0.01]
        top = top[np.argsort(top[:, 0])]
        top = top[(top[:, 0] >= c[n, 0]) & (top[:, 0] <= c[0, 0])]
        if len(top) > 2:
            bridge = np.concatenate([c[: n + 1], top])
            p.poly(_grow(bridge, 0.01 * p.thin), outline)
            p.poly(bridge, fill)
    _rimmed(p, _stroke(c, up, down), fill, outline, FINE * 0.9)
    if kind in ("swept", "cloud"):
        end, d = c[-1], _unit(c[-1] - c[-4])
        r = 0.02 if kind == "swept" else 0.028
        curve = _scroll_curve([tuple(c[-6]), tuple(end), tuple(end + d * 0.02)], r, 1.3, -1.0)
        _brush(p, curve, MEDIUM * 1.3, FINE * 0.6, fill)
    if float(up.max()) > 0.012:
        # A white line along the brow's middle (hair strokes, or a vein on butterfly brows).
        vein = outline if kind != "butterfly" else _accent(rng, col, (fill, col.base))
        p.line(c[5:-7], vein, FINE * 0.7)
    if rng.random() < 0.6:
        # A contour line above the brow, following it.
        p.line(_parallel(c[3:-4], float(up.max()) + 0.016), col.line, FINE * 0.8)


def _draw_eye_flicks(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours, socket: np.ndarray) -> None:
    """Curled lines from the outer corner of the socket towards the temple (眼角纹)."""
    outer = socket[np.argmin(socket[:, 0])]
    for k in range(int(rng.integers(1, 3))):
        x0, y0 = outer[0] - 0.012, outer[1] + 0.02 + 0.02 * k
        ctrl = [(x0, y0), (x0 - 0.02, y0 + 0.015), (geo.edge(y0) + 0.03, y0 - 0.015 + 0.02 * k)]
        _scroll(p, ctrl, 0.012, 1.0, -1.0 if k == 0 else 1.0, col.line, FINE)


def _draw_scrolls(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours, count: int) -> int:
    """Swirling scroll lines over the tiles: forehead, temples, cheeks, jaw and chin."""
    f, ey, ny, my = geo.face, geo.eye_y, geo.nose_y, geo.mouth_y
    j = rng.uniform(-0.012, 0.012, size=(8, 2))
    templates = [
        (
            [
                (0.5 - 0.05, geo.emblem_y + 0.04),
                (0.5 - 0.12, geo.emblem_y - 0.04),
                (0.5 - 0.18, geo.emblem_y + 0.01),
            ],
            0.018,
            1.0,
        ),
        (
            [
                (geo.edge(geo.brow_y) + 0.03, geo.brow_y - 0.02),
                (geo.edge(ey) + 0.01, ey),
                (geo.edge(ny) + 0.05, ny - 0.03),
            ],
            0.016,
            -1.0,
        ),
        (
            [
                (geo.eye_x + 0.04, ey + geo.eye_h + 0.05),
                (geo.eye_x - 0.05, ny - 0.02),
                (geo.eye_x - 0.02, ny + 0.05),
            ],
            0.02,
            1.0,
        ),
        ([(0.5 - 0.12, my - 0.01), (0.5 - 0.17, my + 0.06), (0.5 - 0.22, my + 0.02)], 0.016, -1.0),
        (
            [(0.5 - 0.015, f.chin - 0.035), (0.5 - 0.07, f.chin - 0.02), (0.5 - 0.08, f.chin - 0.07)],
            0.013,
            1.0,
        ),
        ([(0.5 - 0.07, ny + 0.03), (0.5 - 0.14, ny + 0.02), (0.5 - 0.16, ny + 0.08)], 0.014, 1.0),
        (
            [
                (0.5 - 0.04, geo.brow_y - 0.04),
                (0.5 - 0.1, geo.brow_y - 0.08),
                (0.5 - 0.16, geo.brow_y - 0.05),
            ],
            0.015,
            -1.0,
        ),
        ([(geo.edge(ny) + 0.02, ny + 0.06), (geo.edge(my) + 0.04, my), (0.5 - 0.2, my + 0.07)], 0.015, 1.0),
    ]
    chosen = rng.permutation(len(templates))[:count]
    for i in chosen:
        ctrl, r, sign = templates[int(i)]
        pts = [(x + j[int(i), 0], y + j[int(i), 1]) for x, y in ctrl]
        _scroll(p, pts, r * _u(rng, 0.8, 1.2), _u(rng, 1.0, 1.6), sign, col.line, FINE)
    return len(chosen)


def _draw_glabella_frame(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours) -> None:
    """Lines rising from the inner ends of the brows to the hairline, framing the forehead emblem."""
    x0, x1 = 0.5 - _u(rng, 0.03, 0.045), 0.5 - _u(rng, 0.06, 0.1)
    for k in range(int(rng.integers(1, 3))):
        d = 0.016 * k
        frame = _bezier(
            [(x0 - d, geo.brow_y), (x0 - 0.03 - d, geo.emblem_y + 0.02), (x1 - d, geo.hair_y - 0.01)], 16
        )
        p.line(frame, col.line, FINE * 0.8)


def _draw_cheek_contours(
    p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours, socket: np.ndarray
) -> None:
    """Arcs under the eye socket following its lower edge down into the cheek."""
    low = socket[socket[:, 1] > geo.eye_y]
    low = low[np.argsort(low[:, 0])]
    for k in range(int(rng.integers(1, 3))):
        p.line(_parallel(low, -(0.035 + 0.018 * k))[1:-1], col.line, FINE * 0.7)


def _draw_wrinkles(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours) -> None:
    """Fine wrinkle arcs over the forehead and beside the nose (Guan Yu's and Cao Cao's faces)."""
    for k in range(int(rng.integers(2, 5))):
        y = geo.brow_y - 0.05 - 0.02 * k
        p.line(
            _bezier([(0.5 - 0.2, y + 0.025), (0.5 - 0.1, y - 0.015), (0.52, y - 0.005)], 16),
            col.line,
            FINE * 0.8,
        )
    for k in range(2):
        d = 0.014 * k
        c = _bezier(
            [
                (0.5 - 0.06 - d, geo.nose_y - 0.02),
                (0.5 - 0.115 - d, geo.nose_y + 0.03),
                (0.5 - 0.1 - d, geo.mouth_y + 0.03),
            ],
            14,
        )
        p.line(c, col.line, FINE * 0.8)


def _draw_nose(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours, kind: str) -> None:
    ny, top = geo.nose_y, geo.eye_y - _u(rng, 0.0, 0.03)
    fill = col.field if geo.category != 3 else INK
    line = _contrast(fill)
    if kind == "slim":
        pts = np.array(
            [
                (0.5 - 0.012, top),
                (0.5 - 0.018, ny - 0.035),
                (0.5 - 0.045, ny + 0.005),
                (0.52, ny + 0.016),
                (0.52, top),
            ]
        )
    else:
        w = _u(rng, 0.045, 0.06)
        left = _bezier(
            [
                (0.5 - 0.014, top),
                (0.5 - 0.018, ny - 0.055),
                (0.5 - w * 1.35, ny - 0.014),
                (0.5 - w * 0.6, ny + 0.03),
                (0.52, ny + 0.02),
            ],
            24,
        )
        pts = np.concatenate([[(0.52, top)], left])
    _rimmed(p, pts, fill, line, FINE)
    _curl(p, 0.5 - _u(rng, 0.022, 0.03), ny + 0.004, 0.012, 1.1, 0.0, -1.0, line, FINE)  # nostril
    if kind == "crying":
        # Curled "crying nose" lines running from the nose wings down the cheeks.
        x0 = 0.5 - _u(rng, 0.055, 0.07)
        _scroll(
            p,
            [(x0, ny - 0.01), (x0 - 0.045, ny + 0.02), (x0 - 0.02, ny + 0.07)],
            0.013,
            1.1,
            -1.0,
            col.line,
            FINE,
        )


def _draw_mouth(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours, kind: str) -> None:
    my = geo.mouth_y
    dark = INK  # on black faces the ink mouth field shows by its white outline
    red_ok = geo.category not in (0, 1)
    if kind == "tiger":
        # Tiger mouth: a dark arch under the nose whose corners flick up and out into curls; red lips.
        w = _u(rng, 0.11, 0.14)
        outer = _bezier(
            [
                (0.52, my - 0.045),
                (0.5 - w * 0.5, my - 0.055),
                (0.5 - w * 1.2, my - 0.05),
                (0.5 - w * 0.9, my + 0.05),
                (0.52, my + 0.065),
            ],
            28,
        )
        _rimmed(p, np.concatenate([outer, [(0.52, my - 0.045)]]), dark, _contrast(dark), FINE)
        _curl(p, 0.5 - w * 1.04, my - 0.035, 0.018, 1.0, 0.0, -1.0, _contrast(col.base), MEDIUM)
        lips = RED if red_ok else (PAPER if geo.category != 3 else RED)
        inner = _bezier(
            [(0.52, my - 0.012), (0.5 - w * 0.6, my - 0.02), (0.5 - w * 0.5, my + 0.028), (0.52, my + 0.033)],
            20,
        )
        p.poly(inner, lips)
        if rng.random() < 0.5:  # fangs 獠牙
            x = 0.5 - w * 0.5
            _rimmed(
                p,
                np.array([(x - 0.012, my - 0.014), (x + 0.012, my - 0.014), (x, my + 0.025)]),
                PAPER,
                INK,
                FINE * 0.5,
            )
    elif kind == "fire_basin":
        # Fire-basin mouth 火盆口: a wide basin from under the nose down to the chin, a contour line round
        # it and the mouth itself inside, red in a black basin or black in a red one.
        basin = RED if red_ok and rng.random() < 0.4 else dark
        w = _u(rng, 0.095, 0.125)
        top, bottom = geo.nose_y + 0.045, min(geo.face.chin - 0.04, my + _u(rng, 0.06, 0.09))
        pts = _bezier(
            [
                (0.52, top),
                (0.5 - w * 0.7, top - 0.02),
                (0.5 - w * 1.15, my),
                (0.5 - w * 0.7, bottom),
                (0.52, bottom),
            ],
            30,
        )
        p.line(_closed(_grow(np.concatenate([pts, [(0.52, top)]]), 0.02)), col.line, FINE * 0.8)
        _rimmed(p, pts, basin, _contrast(basin), FINE)
        mouth = RED if basin != RED else INK
        lips = _bezier(
            [
                (0.52, my - 0.01),
                (0.5 - w * 0.45, my - 0.014),
                (0.5 - w * 0.5, my + 0.008),
                (0.52, my + 0.022),
            ],
            16,
        )
        p.poly(lips, mouth)
        _curl(p, 0.5 - w * 0.75, my + 0.01, 0.014, 1.0, 0.0, 1.0, _contrast(basin), FINE * 0.8)
    else:
        colour = RED if red_ok else dark
        w = _u(rng, 0.05, 0.065)
        upper = _bezier([(0.52, my - 0.006), (0.5 - w * 0.3, my - 0.028), (0.5 - w, my)], 12)
        lower = _bezier([(0.5 - w, my), (0.5 - w * 0.6, my + 0.032), (0.52, my + 0.028)], 12)
        _rimmed(p, np.concatenate([upper, lower]), colour, INK, FINE * 0.7)
        # Painted moustache strokes above the lips.
        _brush(
            p,
            _bezier([(0.5 - 0.012, my - 0.04), (0.5 - w * 1.3, my - 0.05), (0.5 - w * 2.0, my + 0.01)], 14),
            MEDIUM,
            FINE * 0.4,
            col.line,
        )


def _draw_cheeks(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours, kind: str) -> None:
    cx, cy = geo.eye_x - _u(rng, 0.0, 0.03), geo.nose_y + _u(rng, 0.0, 0.03)
    if kind == "cloud":
        _cloud(
            p, cx, cy, _u(rng, 0.022, 0.03), _u(rng, -0.6, 0.6), _accent(rng, col, (PAPER, col.base)), FINE
        )
    elif kind == "lines":
        for k in range(int(rng.integers(2, 5))):
            y = cy - 0.04 + 0.024 * k
            p.line(
                _bezier([(0.5 - 0.1, y - 0.015), (cx, y + 0.02), (geo.edge(y) + 0.015, y - 0.03)], 14),
                col.line,
                FINE * 0.8,
            )
    elif kind == "dots":
        colour = _accent(rng, col, (col.base,))
        for k in range(3):
            p.disc(cx + 0.03 * (k - 1), cy + 0.02 * abs(k - 1), 0.012, colour, _contrast(colour), FINE * 0.5)


# --------------------------------------------------------------------------------------------------
# Forehead emblems
# --------------------------------------------------------------------------------------------------


def _emblem_bat(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours) -> None:
    """A bat 蝙蝠 (for 福, good fortune) with spread scalloped wings, veins and a head with ears."""
    cx, cy = 0.5, geo.emblem_y
    w, h = _u(rng, 0.1, 0.13), _u(rng, 0.045, 0.06)
    colour = _accent(rng, col, (PAPER, col.base))
    outline = _contrast(colour) if colour != INK else PAPER
    t = np.linspace(0.0, 1.0, 30)
    top = np.stack([cx - w * t, cy - h * 0.2 - h * 0.9 * np.sin(np.pi * t * 0.9) * t], axis=1)
    scallops = 0.35 * h * np.abs(np.sin(3 * np.pi * t[::-1]))
    bottom = np.stack([cx - w * t[::-1], cy + h * (0.6 - 0.5 * t[::-1]) - scallops], axis=1)
    _rimmed(
        p,
        np.concatenate([[(0.52, cy - h * 0.2)], top, bottom, [(0.52, cy + h * 0.6)]]),
        colour,
        outline,
        FINE * 0.8,
    )
    for k in (1, 2):  # wing veins to the scallops
        vein = _bezier(
            [(cx - w * 0.1, cy), (cx - w * 0.3 * k, cy - h * 0.3), (cx - w * k / 3, cy + h * 0.35)], 8
        )
        p.line(vein, outline, FINE * 0.7)
    head = np.array(
        [
            (cx - h * 0.22, cy - h * 0.15),
            (cx - h * 0.35, cy - h * 0.85),
            (cx - h * 0.08, cy - h * 0.4),
            (0.52, cy - h * 0.4),
            (0.52, cy + h * 0.3),
        ]
    )
    _rimmed(p, head, colour, outline, FINE * 0.7)


def _emblem_flame(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours) -> None:
    """A flame 火焰 of nested tongues, outlined, with curls at its sides."""
    cx, cy = 0.5, geo.emblem_y + 0.01
    h, w = _u(rng, 0.1, 0.14), _u(rng, 0.032, 0.048)
    tongues = int(rng.integers(2, 4))
    t = np.linspace(0.0, 1.0, 40)
    edge = w * np.sin(np.pi * t) ** 0.8 * (1 + 0.4 * np.sin(tongues * 2 * np.pi * t))
    outer = RED if col.base[0] < 150 or col.base[1] > 120 else GOLD
    for scale, colour in [(1.0, outer), (0.62, GOLD if outer == RED else PAPER), (0.3, PAPER)]:
        pts = np.stack([cx - scale * edge, cy + h / 2 - h * (0.35 + 0.65 * scale) * t], axis=1)
        pts = np.concatenate([[(0.52, cy + h / 2)], pts, [(0.52, pts[-1, 1])]])
        _rimmed(p, pts, colour, INK, FINE * 0.7)
    _scroll(
        p,
        [(cx - w * 0.8, cy + h * 0.45), (cx - w * 1.8, cy + h * 0.3), (cx - w * 1.9, cy - h * 0.05)],
        0.012,
        1.1,
        -1.0,
        col.line,
        FINE,
    )


def _emblem_shou(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours) -> None:
    """A round longevity glyph 团寿: symmetric maze strokes in a ringed disc."""
    cx, cy, r = 0.5, geo.emblem_y, _u(rng, 0.05, 0.064)
    disc = _accent(rng, col, (col.base,))
    ink = _contrast(disc)
    p.disc(cx, cy, r + 0.01 * p.thin, ink)
    p.disc(cx, cy, r, disc)
    rows = int(rng.integers(3, 5))
    ys = np.linspace(cy - r * 0.55, cy + r * 0.55, rows)
    for k, y in enumerate(ys):
        half = r * (0.55 if k in (0, rows - 1) else 0.72)
        p.line(np.array([(cx - half, y), (0.52, y)]), ink, FINE * 0.8)
        if k < rows - 1:  # alternating vertical links make the maze
            x = cx - half if k % 2 == 0 else cx - half * 0.45
            p.line(np.array([(x, y), (x, ys[k + 1])]), ink, FINE * 0.8)
    p.line(np.array([(cx - 0.004, cy - r * 0.8), (cx - 0.004, cy + r * 0.8)]), ink, FINE * 0.8)


def _emblem_taiji(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours) -> None:
    """A taiji roundel with trigram bars beside it. A real taiji is point- not mirror-symmetric, so this
    one stacks its halves: dark above with a light eye, light below with a dark eye."""
    cx, cy, r = 0.5, geo.emblem_y, _u(rng, 0.042, 0.055)
    dark, light = (INK, PAPER) if geo.category != 2 else (RED, PAPER)
    p.disc(cx, cy, r + 0.01 * p.thin, _contrast(col.base) if geo.category != 2 else PAPER)
    p.disc(cx, cy, r, light)
    s = p.s
    p.draw.pieslice([(cx - r) * s, (cy - r) * s, (cx + r) * s, (cy + r) * s], 180, 360, fill=dark)
    p.disc(cx, cy - r * 0.5, r * 0.2, light)
    p.disc(cx, cy + r * 0.5, r * 0.2, dark)
    for a in (np.pi * 1.12, np.pi * 0.88):  # trigram bars
        x, y = cx + (r + 0.028) * np.cos(a), cy + (r + 0.028) * np.sin(a)
        along = np.array([-np.sin(a), np.cos(a)]) * 0.013
        for j in (-1, 0, 1):
            o = np.array([np.cos(a), np.sin(a)]) * 0.01 * j
            p.line(np.array([(x, y) + o - along, (x, y) + o + along]), col.line, FINE * 0.7)


def _emblem_third_eye(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours) -> None:
    """A vertical third eye with a ring round it and rays above (gods such as Wang Lingguan 王灵官)."""
    cx, cy = 0.5, geo.emblem_y
    w, h = _u(rng, 0.024, 0.034), _u(rng, 0.065, 0.085)
    eye = _place(_almond(32, 0.7), cx, cy, h, w * 2, np.pi / 2)
    p.poly(_grow(eye, 0.012), RED if col.base[0] < 150 or col.base[1] > 120 else GOLD)
    _rimmed(p, eye, PAPER, INK, FINE * 0.8)
    p.disc(cx, cy, w * 0.45, INK)
    for k in range(3):
        a = np.pi * (1.22 + 0.1 * k)
        ray = np.array(
            [
                (cx + 0.055 * np.cos(a), cy + 0.055 * np.sin(a)),
                (cx + 0.075 * np.cos(a), cy + 0.075 * np.sin(a)),
            ]
        )
        p.line(ray, col.line, FINE * 0.8)


def _emblem_stripe(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours) -> None:
    """A vertical red stripe 通天纹 from the hairline to between the brows, spear-tipped."""
    w = _u(rng, 0.012, 0.022)
    colour = RED if col.base[0] < 150 or col.base[1] > 120 else GOLD
    y0, y1 = geo.hair_y, geo.brow_y + _u(rng, 0.0, 0.03)
    pts = np.array(
        [
            (0.5 - w * 0.5, y0 - 0.03),
            (0.5 - w * 1.7, y0 + 0.035),
            (0.5 - w * 0.7, y0 + 0.05),
            (0.5 - w, (y0 + y1) / 2),
            (0.5 - w * 0.3, y1),
            (0.52, y1),
            (0.52, y0 - 0.03),
        ]
    )
    _rimmed(p, pts, colour, INK if geo.category != 2 else PAPER, FINE * 0.8)
    p.line(np.array([(0.5 - w * 0.35, y0 + 0.06), (0.5 - w * 0.35, y1 - 0.02)]), PAPER, FINE * 0.6)
    if rng.random() < 0.5:
        for side in (0.032, 0.048):
            p.line(np.array([(0.5 - side, y0 + 0.03), (0.5 - side * 0.7, y1 - 0.01)]), col.line, FINE * 0.7)


_EMBLEM_DRAW = {
    "bat": _emblem_bat,
    "flame": _emblem_flame,
    "shou": _emblem_shou,
    "taiji": _emblem_taiji,
    "third_eye": _emblem_third_eye,
    "stripe": _emblem_stripe,
}


# --------------------------------------------------------------------------------------------------
# Outside the face: ears, hair and headwear, beard
# --------------------------------------------------------------------------------------------------


def _draw_ears(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours) -> None:
    y0, y1 = geo.eye_y - _u(rng, 0.0, 0.02), geo.nose_y + _u(rng, 0.0, 0.02)
    e0, e1 = geo.edge(y0), geo.edge(y1)
    out = _u(rng, 0.04, 0.055)
    rim = _bezier([(e0, y0), (e0 - out * 1.3, y0 - 0.035), (e1 - out, y1), (e1, y1)], 20)
    colour = col.base if geo.category != 3 else (240, 214, 200)
    _rimmed(p, np.concatenate([[(e0 + 0.01, y0)], rim, [(e1 + 0.01, y1)]]), colour, INK, FINE)
    p.line(
        _bezier([(e0 - 0.006, y0 + 0.02), (e0 - out * 0.8, y0), (e1 - out * 0.45, y1 - 0.02)], 12),
        INK,
        FINE * 0.8,
    )


def _outward(curve: np.ndarray, d: float, centre: tuple[float, float]) -> np.ndarray:
    """An open curve moved by ``d`` along its normals, away from ``centre``."""
    tangent = _unit(np.gradient(curve, axis=0))
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    away = np.sign(np.sum(normal * (curve - np.asarray(centre)), axis=1, keepdims=True))
    return curve + d * normal * np.where(away == 0, 1, away)


def _draw_headwear(p: _Pen, rng: np.random.Generator, geo: _Geo, kind: str) -> None:
    """Black hair (the wrap under the headdress) above a hairline that drops to sideburns at the temples,
    optionally with a headband or a gold crown rim."""
    f = geo.face
    side_y = geo.brow_y - _u(rng, 0.0, 0.05)
    peak = geo.hair_y + (_u(rng, 0.01, 0.03) if rng.random() < 0.4 else 0.0)  # widow's peak 美人尖
    x0 = geo.edge(side_y)
    hairline = _bezier(
        [(x0 - 0.01, side_y), (x0 + 0.03, geo.hair_y + 0.04), (0.5 - 0.12, geo.hair_y - 0.01), (0.52, peak)],
        28,
    )
    upper = f.contour[f.contour[:, 1] <= side_y]
    cap = _outward(upper, _u(rng, 0.02, 0.035), (0.5, (f.top + f.chin) / 2))
    p.poly(np.concatenate([hairline, [(0.52, cap[0, 1])], cap, [(cap[-1, 0], side_y)]]), INK)
    if kind == "band":
        band = _parallel(hairline[8:], 0.028)
        colour = RED if rng.random() < 0.6 else BLUE
        p.line(band, colour, 0.03 / p.thin)  # a band of cloth, not a line: never thinned
        for x, y in band[::4]:
            p.disc(x, y, 0.006, GOLD)
    elif kind == "crown":
        rim = _parallel(hairline[6:], 0.045)
        p.line(rim, GOLD, 0.036 / p.thin)
        p.line(_parallel(rim, 0.02), INK, FINE * 0.7)
        for x, y in rim[::4]:
            p.disc(x, y + 0.02, 0.012, GOLD, INK, FINE * 0.6)
            p.disc(x, y - 0.002, 0.006, RED)


def _draw_beard(p: _Pen, rng: np.random.Generator, geo: _Geo, colour: RGB) -> None:
    """A painted beard hanging from the jaw below the mouth: a dark mass with wavy tapered strands over
    it, narrowing towards the bottom edge."""
    dark = 0.55 if _luma(colour) < 150 else 0.78  # a white beard's mass stays light grey
    shade: RGB = tuple(int(c * dark) for c in colour)  # type: ignore[assignment]
    c = geo.face.contour
    jaw = c[c[:, 1] > geo.mouth_y + _u(rng, 0.0, 0.04)]
    jaw = jaw[np.linspace(0, len(jaw) - 1, 12).astype(int)]
    narrow, bottom = _u(rng, 0.45, 0.75), _u(rng, 0.975, 0.998)
    # Strand ends: longest in the middle, ragged.
    side = (0.5 - jaw[:, 0]) / max(1e-6, 0.5 - jaw[0, 0])
    tips_y = bottom - _u(rng, 0.03, 0.08) * side**1.5 - rng.uniform(0.0, 0.015, len(jaw))
    tips = np.stack([0.5 - (0.5 - jaw[:, 0]) * narrow, tips_y], axis=1)
    p.poly(
        np.concatenate([jaw - (0.0, 0.01), [(0.52, jaw[-1, 1] - 0.01), (0.52, bottom)], tips[::-1]]), shade
    )
    sway = _u(rng, -0.02, 0.02)
    for _ in range(int(rng.integers(12, 18))):
        i = int(rng.integers(len(jaw)))
        root = jaw[i] + (_u(rng, 0.0, 0.01), _u(rng, -0.01, 0.01))
        tip = (tips[i, 0] + _u(rng, -0.01, 0.01), tips[i, 1] + _u(rng, -0.01, 0.004))
        h = tip[1] - root[1]
        curve = _bezier(
            [tuple(root), (root[0] + sway, root[1] + h * 0.35), (tip[0] - sway, root[1] + h * 0.7), tip], 16
        )
        _brush(p, curve, _u(rng, 0.007, 0.012), 0.002, colour)


# --------------------------------------------------------------------------------------------------
# Shading
# --------------------------------------------------------------------------------------------------


def _shade(img: Image.Image, geo: _Geo, rng: np.random.Generator, scale: int) -> Image.Image:
    """Gentle radial darkening towards the face edge, a soft vertical gradient and rubbed-in cheeks,
    as smooth numpy fields (never noise): the painted colours look worked in rather than flat."""
    y, x = _unit_grid(img, scale)
    cy = (geo.face.top + geo.face.chin) / 2
    ry, rx = (geo.face.chin - geo.face.top) / 2, 0.5 - geo.edge(cy)
    d2 = ((x - 0.5) / rx) ** 2 + ((y - cy) / ry) ** 2
    rim = _u(rng, 0.08, 0.18) * np.clip((d2 - 0.4) / 0.6, 0.0, 1.0) ** 1.5
    vertical = _u(rng, -0.05, 0.05) * (y - cy) / ry
    cheeks = _u(rng, 0.0, 0.08) * np.exp(-(((x - geo.eye_x) / 0.07) ** 2 + ((y - geo.nose_y) / 0.07) ** 2))
    return _apply_shade(img, np.clip(1.0 - rim - vertical - cheeks, 0.8, 1.05))


def _unit_grid(img: Image.Image, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """The unit coordinates of the pixel centres of ``img``: y [H, 1] and x [1, W]."""
    y = (np.arange(img.size[1], dtype=np.float32) + 0.5)[:, None] / scale
    x = (np.arange(img.size[0], dtype=np.float32) + 0.5)[None, :] / scale
    return y, x


def _apply_shade(img: Image.Image, factor: np.ndarray) -> Image.Image:
    """``img`` darkened (or lightened) by the smooth field ``factor`` [H, W], the way rubbed pigment
    shades: dark colours less, and the shade stays warm."""
    factor = factor[..., None]
    arr = np.asarray(img, dtype=np.float32)
    # Dark colours (deep blue, dark purple) are darkened less, so that they never read as black.
    factor = 1.0 - (1.0 - factor) * np.clip(arr.max(axis=-1, keepdims=True) / 255 - 0.2, 0.0, 0.6) / 0.6
    # Darken red least and blue most: the shade stays warm, like rubbed pigment, not grey.
    warm = np.array([1.0, 1.08, 1.12], dtype=np.float32)
    arr = arr * factor**warm
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


# --------------------------------------------------------------------------------------------------
# The mask
# --------------------------------------------------------------------------------------------------


@dataclass
class _Choices:
    pattern: str
    drawn_pattern: str  # a crooked face is drawn as one of the symmetric patterns, then made crooked
    emblem: str
    socket: str
    brow: str
    joined: bool
    nose: str
    mouth: str
    cheek: str
    scrolls: int
    beard: str
    headwear: str
    ears: bool


def _choose(rng: np.random.Generator, pattern_p: np.ndarray = _PATTERN_P) -> _Choices:
    """A face's pattern and motifs; ``pattern_p`` weighs :data:`DETAILED_PATTERNS` (the varied style
    draws more crooked faces)."""
    pattern = str(list(DETAILED_PATTERNS)[int(rng.choice(len(DETAILED_PATTERNS), p=pattern_p))])
    drawn = pattern if pattern != "crooked" else _pick(rng, ("whole", "three_tile", "fragmented"))
    socket = _pick(rng, SOCKETS, [0.32, 0.26, 0.22, 0.12, 0.08])
    if drawn == "whole" and rng.random() < 0.6:
        socket = "narrow"  # Guan Yu's narrow phoenix eyes on a whole face
    if drawn in ("pictographic", "deity"):
        socket = "round"
    scrolls = int(rng.integers(3, 6)) + (2 if drawn in ("fragmented", "whole") else 0)
    return _Choices(
        pattern=pattern,
        drawn_pattern=drawn,
        emblem=_pick(rng, EMBLEMS, [0.18, 0.18, 0.14, 0.14, 0.14, 0.22]),
        socket=socket,
        brow=_pick(rng, BROWS),
        joined=socket in ("teardrop", "swallow", "almond") and rng.random() < 0.5,
        nose=_pick(rng, NOSES),
        mouth=_pick(rng, MOUTHS, [0.4, 0.35, 0.25]),
        cheek=_pick(rng, ("cloud", "lines", "dots", "none"), [0.3, 0.25, 0.15, 0.3]),
        scrolls=scrolls,
        beard=_pick(rng, BEARDS, [0.6, 0.18, 0.11, 0.11]),
        headwear=_pick(rng, HEADWEAR, [0.6, 0.2, 0.2]),
        ears=bool(rng.random() < 0.8),
    )


def _draw_fields(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours, pattern: str) -> dict:
    if pattern in ("three_tile", "flowered_three_tile"):
        return _fields_three_tile(p, rng, geo, col, pattern == "flowered_three_tile")
    if pattern == "cross_door":
        return _fields_cross_door(p, rng, geo, col)
    if pattern in ("six_tenths", "ingot"):
        return _fields_forehead(p, rng, geo, col, pattern == "ingot")
    if pattern == "fragmented":
        return _fields_fragmented(p, rng, geo, col)
    if pattern == "pictographic":
        return _fields_pictographic(p, rng, geo, col)
    if pattern == "deity":
        return _fields_deity(p, rng, geo, col)
    return {}


def _draw_features(p: _Pen, rng: np.random.Generator, geo: _Geo, col: _Colours, ch: _Choices) -> None:
    _draw_scrolls(p, rng, geo, col, ch.scrolls)
    if ch.drawn_pattern == "whole" or ch.socket == "narrow" or rng.random() < 0.2:
        _draw_wrinkles(p, rng, geo, col)
    if rng.random() < 0.6:
        _draw_glabella_frame(p, rng, geo, col)
    _draw_cheeks(p, rng, geo, col, ch.cheek)
    _draw_mouth(p, rng, geo, col, ch.mouth)
    _draw_nose(p, rng, geo, col, ch.nose)
    on_field = ch.drawn_pattern in ("three_tile", "flowered_three_tile")
    socket = _draw_socket(p, rng, geo, col, ch.socket, on_field or rng.random() < 0.25)
    if rng.random() < 0.4:
        _draw_cheek_contours(p, rng, geo, col, socket)
    _draw_eye_flicks(p, rng, geo, col, socket)
    _draw_brow(p, rng, geo, col, ch.brow, socket, ch.joined)
    _EMBLEM_DRAW[ch.emblem](p, rng, geo, col)


def _clip_to_face(p: _Pen, face: _Face, background: RGB = BACKGROUND) -> None:
    """Paint everything outside the face outline (left half plus a sliver past the centre) in the
    background colour (white; the varied style's tinted paper)."""
    c = face.contour
    outside = np.concatenate(
        [[(0.0, 0.0), (0.53, 0.0), (0.53, face.top)], c, [(0.53, face.chin), (0.53, 1.0), (0.0, 1.0)]]
    )
    p.poly(outside, background)
    p.line(c, INK, FINE)


def _render_half(
    half: Image.Image, scale: int, thin: float, rng: np.random.Generator, category: int
) -> tuple[Image.Image, dict, _Geo, _Colours]:
    cat = CATEGORIES[category]
    variant, base = cat.variants[int(rng.choice(len(cat.variants), p=_variant_p(len(cat.variants))))]
    base = _jitter(rng, base, 8)
    if category not in (2, 3):
        # Purple is the darkest hue: where its lines blur at 64 px it turns near-black first.
        base = _at_least_bright(base, 0.56 if category == 1 else 0.44)
    geo = _layout(rng, category)
    col = _colours(rng, category, base)
    ch = _choose(rng)
    half.paste(base, (0, 0, half.size[0], half.size[1]))
    info = _draw_fields(_Pen(half, scale, thin), rng, geo, col, ch.drawn_pattern)
    half = _shade(half, geo, rng, scale)
    p = _Pen(half, scale, thin)
    _draw_features(p, rng, geo, col, ch)
    _clip_to_face(p, geo.face)
    if ch.ears:
        _draw_ears(p, rng, geo, col)
        p.line(geo.face.contour, INK, FINE)
    _draw_headwear(p, rng, geo, ch.headwear)
    if ch.beard != "none":
        _draw_beard(p, rng, geo, BEARD_RGB[ch.beard])
    meta = {
        "variant": variant,
        "face_rgb": list(base),
        "pattern": ch.pattern,
        "pattern_chinese": DETAILED_PATTERNS[ch.pattern],
        "drawn_pattern": ch.drawn_pattern,
        "emblem": ch.emblem,
        "socket": ch.socket,
        "eye_socket": "white" if col.socket == PAPER else "black",
        "brow": ch.brow,
        "socket_joins_brow": ch.joined,
        "nose": ch.nose,
        "mouth": ch.mouth,
        "cheek": ch.cheek,
        "scrolls": ch.scrolls,
        "beard": ch.beard,
        "headwear": ch.headwear,
        "ears": ch.ears,
        "symmetric": ch.pattern != "crooked",
        **info,
    }
    return half, meta, geo, col


# --------------------------------------------------------------------------------------------------
# Crooked faces: asymmetric features painted over the mirrored face
# --------------------------------------------------------------------------------------------------


def _mirror_x(pts: np.ndarray) -> np.ndarray:
    return pts * (-1, 1) + (1, 0)


def _crooked_region(size: tuple[int, int], scale: int, geo: _Geo) -> Image.Image:
    """Where crooked features may paint: inside the face outline, between the brows and the chin."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    c = geo.face.contour
    full = (np.concatenate([c, _mirror_x(c)[::-1]]) * scale).ravel().tolist()
    draw.polygon(full, fill=255)
    draw.line(full, fill=0, width=max(1, int(MEDIUM * scale)))
    draw.rectangle([0, 0, size[0], int((geo.brow_y - 0.07) * scale)], fill=0)
    return mask


def _make_crooked(
    full: Image.Image, scale: int, thin: float, rng: np.random.Generator, geo: _Geo, col: _Colours
) -> Image.Image:
    """歪脸: one eye socket bigger and displaced, a one-sided cheek field, a slanted nose and mouth."""
    layer = full.copy()
    p = _Pen(layer, scale, thin)
    flip = rng.random() < 0.5  # which side is deformed

    def side(pts: np.ndarray) -> np.ndarray:
        return _mirror_x(pts) if flip else pts

    cheek = _place(
        _blob(rng), geo.eye_x - 0.02, geo.nose_y + 0.04, _u(rng, 0.12, 0.16), _u(rng, 0.08, 0.11), 0.4
    )
    accent = _accent(rng, col, (col.base,))
    _rimmed(p, side(cheek), accent, _contrast(accent), FINE)
    grown = _socket(geo, "teardrop", _u(rng, 1.2, 1.45)) + (0.0, _u(rng, -0.045, -0.015))
    p.poly(side(_grow(grown, 0.012 * p.thin)), _contrast(col.socket))
    p.poly(side(grown), col.socket)
    ex, ey = grown.mean(axis=0)
    p.disc(*side(np.array([[ex + 0.01, ey]]))[0], 0.015, _contrast(col.socket))
    slant = _u(rng, 0.05, 0.09) * (1 if flip else -1)
    nose = np.array(
        [
            (0.5 - 0.02, geo.eye_y),
            (0.5 + 0.02, geo.eye_y),
            (0.5 + 0.03 + slant, geo.nose_y + 0.01),
            (0.5 - 0.05 + slant, geo.nose_y + 0.02),
        ]
    )
    _rimmed(p, nose, col.field if geo.category != 3 else INK, _contrast(col.field), FINE)
    mouth = _place(_almond(32, 0.6), 0.5 + slant, geo.mouth_y, 0.16, 0.05, slant * 2)
    _rimmed(p, mouth, INK if geo.category != 2 else RED, PAPER, FINE)
    return Image.composite(layer, full, _crooked_region(full.size, scale, geo))


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def render_detailed_mask(seed: int, size: int, category: int | None = None) -> tuple[Image.Image, dict]:
    """Render one detailed mask: an RGB ``size`` x ``size`` image and its metadata.

    ``category`` (0-6, see :data:`CATEGORIES`) forces the face colour; ``None`` draws it from the seed.
    The result depends only on ``(seed, size, category)``. ``meta["symmetric"]`` is False for crooked
    faces (歪脸), the only masks that are not exactly left-right symmetric.
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

    big = size * supersampling(size)
    thin = line_scale(size)
    half, meta, geo, col = _render_half(
        Image.new("RGB", (big // 2, big), BACKGROUND), big, thin, rng, category
    )
    left = np.asarray(half)
    full = Image.fromarray(np.concatenate([left, left[:, ::-1]], axis=1))
    if not meta["symmetric"]:
        full = _make_crooked(full, big, thin, rng, geo, col)
    small = np.array(full.resize((size, size), Image.Resampling.LANCZOS))
    if meta["symmetric"]:
        symmetrize(small)  # the resize of a symmetric image is symmetric up to rounding; make it exact
    cat = CATEGORIES[category]
    meta = {
        "seed": int(seed),
        "size": int(size),
        "category": category,
        "name": cat.name,
        "chinese": cat.chinese,
        "meaning": cat.meaning,
        **meta,
    }
    return Image.fromarray(small), meta


def render_detailed_masks(count: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Render ``count`` detailed masks: uint8 images [count, size, size, 3] and int64 labels [count].

    Seeds and classes come from :func:`maskgen.data.procedural.mask_plan` (classes balanced in every
    block of seven), so mask ``i`` is ``render_detailed_mask(mask_seed(seed, i), size, labels[i])``.
    """
    images, labels, _ = render_detailed_masks_with_meta(count, size, seed)
    return images, labels


def render_detailed_masks_with_meta(
    count: int, size: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """:func:`render_detailed_masks` plus each mask's metadata (pattern and motif choices)."""
    return render_set(render_detailed_mask, count, size, seed)
