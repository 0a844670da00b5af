"""Varied procedural masks: the detailed masks with what real collections add (``builtin-varied``).

The detailed set (:mod:`maskgen.data.procedural_detailed`) paints every mask the same way round the
face: black hair, face-coloured ears, a small painted beard, gentle shading, white paper. Real
collections of lianpu differ from it in the ways this style draws, each with its own per-seed rate
(:data:`RATES`, :data:`HEADWEAR_P`, :data:`BEARD_P`, :data:`SHADING_P`):

- the skin-coloured sides of the head (肉色) left bare beside the painted face, with skin-coloured ears;
- caps and hair: none, the detailed set's hair, headband and crown rim, a soft cap (罗帽) with
  pompoms, a gold or silver helmet (盔头), a shaved head (monks' faces);
- beards (髯口) of several kinds: the detailed set's painted beard, a full curtain (满髯) over the mouth
  and far below the chin, three locks (三髯), a bristling beard round an open mouth (扎髯), a moustache;
  black, grey, white or red;
- shading: the detailed set's gentle shading, a visibly rubbed face (揉脸-like), or flat paint;
- gold faces (a share of the yellow class: 金脸) and silver faces (a share of the white class: 银脸),
  gods' and spirits' colours, with a metallic sheen;
- more crooked faces (歪脸), drawn as in the detailed set;
- painted scans on tinted paper (cream, rice paper, tan, grey, rose) with uneven light.

Everything else is the detailed construction, called piece by piece. A mask's class stays its primary
face colour (gold counts as yellow and silver as white, as in the colour table of the detailed set),
it is exactly left-right symmetric unless crooked, and it depends only on ``(seed, size, category)``.
Its random stream is kept apart from the detailed set's (``default_rng([seed, VARIED_STREAM])``): a
varied mask never repeats the layout of the detailed mask of the same seed, so training on varied masks
does not show a model the detailed held-out masks of the benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from maskgen.data.procedural import (
    BACKGROUND,
    CATEGORIES,
    INK,
    PAPER,
    RGB,
    _check_size,
    _jitter,
    _variant_p,
    render_set,
    supersampling,
    symmetrize,
)
from maskgen.data.procedural_detailed import (
    _PATTERN_P,
    BEARD_RGB,
    DETAILED_PATTERNS,
    FINE,
    _at_least_bright,
    _Choices,
    _choose,
    _clip_to_face,
    _Colours,
    _colours,
    _draw_beard,
    _draw_ears,
    _draw_features,
    _draw_fields,
    _draw_headwear,
    _Geo,
    _layout,
    _make_crooked,
    _Pen,
    _shade,
    line_scale,
)
from maskgen.data.procedural_varied_parts import (
    BEARD_TONES,
    METALS,
    PAPER_TONES,
    SKIN_TONES,
    RoomPen,
    age_paper,
    draw_bristle_beard,
    draw_full_beard,
    draw_helmet,
    draw_moustache,
    draw_shaved_head,
    draw_skin_ears,
    draw_skin_sides,
    draw_soft_hat,
    draw_three_beard,
    head_edge,
    metal_sheen,
    rubbed_shade,
)

# The varied masks' random stream: default_rng([seed, VARIED_STREAM]), apart from the detailed set's.
VARIED_STREAM = 34

# Per-seed rates of the additions (each drawn independently of the others unless said).
RATES: dict[str, float] = {
    "crooked": 0.12,  # of all masks (the detailed set: 0.05)
    "skin_sides": 0.35,  # of all masks; a shaved head always has them
    "gold": 0.4,  # of the yellow masks
    "silver": 0.35,  # of the white masks
    "tinted_paper": 0.4,  # of all masks
}
HEADWEAR_P: dict[str, float] = {
    "none": 0.1,
    "hair": 0.32,
    "band": 0.08,
    "crown": 0.08,
    "soft_hat": 0.16,
    "helmet": 0.14,
    "shaved": 0.12,
}
BEARD_P: dict[str, float] = {
    "none": 0.42,
    "painted": 0.12,
    "full": 0.13,
    "three": 0.11,
    "bristle": 0.11,
    "moustache": 0.11,
}
BEARD_TONE_P: dict[str, float] = {"black": 0.55, "grey": 0.15, "white": 0.15, "red": 0.15}
SHADING_P: dict[str, float] = {"gentle": 0.5, "rubbed": 0.35, "flat": 0.15}
# Room round the face's frame for what reaches past it (fractions of the face's frame).
_CAP_RISE = {"soft_hat": (0.1, 0.2), "helmet": (0.12, 0.22)}
_BEARD_DROP = {"full": (0.15, 0.3), "three": (0.15, 0.3), "bristle": (0.06, 0.14)}
# Metal faces favour the gods' layouts: deity and whole faces.
_METAL_PATTERN_P = np.array([0.25, 0.1, 0.08, 0.04, 0.04, 0.04, 0.04, 0.03, 0.38, 0.0])


def _pattern_p(crooked_share: float) -> np.ndarray:
    """The detailed set's pattern weights with ``crooked_share`` crooked faces."""
    p = _PATTERN_P.copy()
    crooked = list(DETAILED_PATTERNS).index("crooked")
    p[crooked] = 0.0
    p *= (1.0 - crooked_share) / p.sum()
    p[crooked] = crooked_share
    return p


_VARIED_PATTERN_P = _pattern_p(RATES["crooked"])


def _draw(rng: np.random.Generator, table: dict[str, float]) -> str:
    names = list(table)
    return names[int(rng.choice(len(names), p=np.array(list(table.values())) / sum(table.values())))]


@dataclass
class _Extras:
    """What one varied mask adds to the detailed construction, drawn before anything is painted."""

    metal: str | None  # "gold", "silver" or None
    skin: RGB | None  # the colour of the bare sides of the head, or None
    widen: float  # how far the head reaches past the painted face at the temples
    ears: str  # "skin", "face" (the detailed set's) or "none"
    headwear: str
    beard: str
    beard_tone: str
    shading: str
    paper: str  # "white" or a PAPER_TONES name
    paper_rgb: RGB
    paper_darken: float
    paper_gradient: float
    rise: float  # room above the face's frame for a cap
    drop: float  # room below it for a long beard


def _choose_extras(rng: np.random.Generator, category: int) -> _Extras:
    metal = None
    if category == 6 and rng.random() < RATES["gold"]:
        metal = "gold"
    elif category == 3 and rng.random() < RATES["silver"]:
        metal = "silver"
    headwear = _draw(rng, HEADWEAR_P)
    skin_tone = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))]
    skin = (
        _jitter(rng, skin_tone, 6) if (rng.random() < RATES["skin_sides"] or headwear == "shaved") else None
    )
    widen = float(rng.uniform(0.035, 0.06))
    ear_draw = rng.random()
    ears = (
        ("skin" if ear_draw < 0.9 else "none")
        if skin is not None
        else ("face" if ear_draw < 0.75 else "none")
    )
    beard = _draw(rng, BEARD_P)
    beard_tone = _draw(rng, BEARD_TONE_P)
    shading = _draw(rng, SHADING_P)
    tinted = rng.random() < RATES["tinted_paper"]
    paper = _draw(rng, {name: 1.0 for name in PAPER_TONES}) if tinted else "white"
    paper_rgb = _jitter(rng, PAPER_TONES[paper], 5) if tinted else BACKGROUND
    darken = float(rng.uniform(0.02, 0.08)) if tinted else 0.0
    gradient = float(rng.uniform(-0.03, 0.03)) if tinted else 0.0
    low, high = _CAP_RISE.get(headwear, (0.0, 0.0))
    rise = float(rng.uniform(low, high))
    low, high = _BEARD_DROP.get(beard, (0.0, 0.0))
    drop = float(rng.uniform(low, high))
    return _Extras(
        metal,
        skin,
        widen,
        ears,
        headwear,
        beard,
        beard_tone,
        shading,
        paper,
        paper_rgb,
        darken,
        gradient,
        rise,
        drop,
    )


# --------------------------------------------------------------------------------------------------
# The face (the detailed construction, with the additions painted where they belong)
# --------------------------------------------------------------------------------------------------


def _paint_face(
    half: Image.Image, scale: int, thin: float, rng: np.random.Generator, category: int, ex: _Extras
) -> tuple[Image.Image, dict, _Geo, _Colours, _Choices]:
    """The left half of the face on its paper: the detailed set's fields, shading and features, then
    the bare sides of the head and the ears. Caps and beards come later, on the room layer."""
    cat = CATEGORIES[category]
    variant, base = cat.variants[int(rng.choice(len(cat.variants), p=_variant_p(len(cat.variants))))]
    base = _jitter(rng, base, 8)
    if ex.metal is not None:
        base, variant = METALS[ex.metal][0], f"{ex.metal} {'金' if ex.metal == 'gold' else '银'}"
    elif category not in (2, 3):
        base = _at_least_bright(base, 0.56 if category == 1 else 0.44)
    geo = _layout(rng, category)
    col = _colours(rng, category, base)
    if ex.metal == "silver":
        col = replace(col, field=PAPER)  # grey fields would vanish on a silver face
    ch = _choose(rng, _METAL_PATTERN_P if ex.metal else _VARIED_PATTERN_P)
    half.paste(base, (0, 0, half.size[0], half.size[1]))
    info = _draw_fields(_Pen(half, scale, thin), rng, geo, col, ch.drawn_pattern)
    if ex.metal is not None:
        half = metal_sheen(half, geo, rng, scale, ex.metal)
    elif ex.shading == "gentle":
        half = _shade(half, geo, rng, scale)
    elif ex.shading == "rubbed":
        half = rubbed_shade(half, geo, rng, scale)
    p = _Pen(half, scale, thin)
    _draw_features(p, rng, geo, col, ch)
    _clip_to_face(p, geo.face, ex.paper_rgb)
    if ex.skin is not None:
        draw_skin_sides(p, geo, ex.skin, ex.widen)
        if ex.headwear == "shaved":
            draw_shaved_head(p, rng, geo, ex.skin, ex.widen)
    if ex.ears == "skin" and ex.skin is not None:
        draw_skin_ears(p, rng, geo, ex.skin, ex.widen)
    elif ex.ears == "face":
        _draw_ears(p, rng, geo, col)
        p.line(geo.face.contour, INK, FINE)
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
        "nose": ch.nose,
        "mouth": ch.mouth,
        "cheek": ch.cheek,
        "symmetric": ch.pattern != "crooked",
        **info,
    }
    return half, meta, geo, col, ch


def _paint_room(p: RoomPen, rng: np.random.Generator, geo: _Geo, ex: _Extras) -> dict:
    """Caps, hair and beards, on the layer that reaches past the face's frame."""
    info: dict = {}
    if ex.headwear in ("hair", "band", "crown"):
        _draw_headwear(p, rng, geo, ex.headwear)
    elif ex.headwear == "soft_hat":
        info.update(draw_soft_hat(p, rng, geo, ex.rise))
    elif ex.headwear == "helmet":
        info.update(draw_helmet(p, rng, geo, ex.rise))
    beard: dict[str, Callable[..., None]] = {
        "full": draw_full_beard,
        "three": draw_three_beard,
        "bristle": draw_bristle_beard,
    }
    if ex.beard == "painted":
        _draw_beard(p, rng, geo, BEARD_RGB.get(ex.beard_tone, BEARD_TONES[ex.beard_tone][1]))
    elif ex.beard in beard:
        beard[ex.beard](p, rng, geo, ex.beard_tone, ex.drop)
    elif ex.beard == "moustache":
        draw_moustache(p, rng, geo, ex.beard_tone)
    return info


def _with_room(
    full: Image.Image, big: int, thin: float, rng: np.random.Generator, geo: _Geo, ex: _Extras
) -> tuple[Image.Image, dict, tuple[float, float, float]]:
    """The face on a square sheet with room for its cap and beard, the room layer painted over it.

    Returns the sheet, what the layer painted, and how the face's frame sits on the sheet: (scale,
    dx, dy) such that a unit point (x, y) of the frame is at ((x + dx) * scale, (y + dy) * scale) of
    the sheet, in fractions of its side."""
    pad = int(round(big * (ex.rise + ex.drop) / 2))
    side = big + 2 * pad
    top = min(2 * pad, int(round(big * ex.rise)))
    sheet = Image.new("RGB", (side, side), ex.paper_rgb)
    sheet.paste(full, (pad, top))
    layer = Image.new("RGBA", (side // 2, side), (0, 0, 0, 0))
    info = _paint_room(RoomPen(layer, big, thin, pad / big, top / big), rng, geo, ex)
    half = np.asarray(layer)
    if half[..., 3].any():
        whole = Image.fromarray(np.concatenate([half, half[:, ::-1]], axis=1))
        sheet = Image.alpha_composite(sheet.convert("RGBA"), whole).convert("RGB")
    return sheet, info, (big / side, pad / big, top / big)


def _geometry(geo: _Geo, frame: tuple[float, float, float], ex: _Extras) -> dict:
    """Where the face's parts landed, in fractions of the picture (x from the left, y from the top)."""
    scale, dx, dy = frame

    def fx(x: float) -> float:
        return round((x + dx) * scale, 4)

    def fy(y: float) -> float:
        return round((y + dy) * scale, 4)

    def head(y: float) -> float:
        return head_edge(geo, ex.widen, y) if ex.skin is not None else geo.edge(y)

    return {
        "face_top": fy(geo.face.top),
        "chin": fy(geo.face.chin),
        "hair_y": fy(geo.hair_y),
        "brow_y": fy(geo.brow_y),
        "eye_y": fy(geo.eye_y),
        "nose_y": fy(geo.nose_y),
        "mouth_y": fy(geo.mouth_y),
        "face_left_at_eye": fx(geo.edge(geo.eye_y)),
        "head_left_at_eye": fx(head(geo.eye_y)),
        "face_left_at_nose": fx(geo.edge(geo.nose_y)),
        "head_left_at_nose": fx(head(geo.nose_y)),
        "face_left_at_mouth": fx(geo.edge(geo.mouth_y)),
        "head_left_at_mouth": fx(head(geo.mouth_y)),
        "scale": round(scale, 4),
    }


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def render_varied_mask(seed: int, size: int, category: int | None = None) -> tuple[Image.Image, dict]:
    """Render one varied mask: an RGB ``size`` x ``size`` image and its metadata.

    ``category`` (0-6) forces the face colour; ``None`` draws it from the seed. The result depends only
    on ``(seed, size, category)``. The metadata holds the detailed set's choices, the additions
    (``metal``, ``skin_sides``, ``ears``, ``headwear``, ``beard``, ``beard_tone``, ``shading``,
    ``paper``), ``symmetric`` (False for crooked faces only) and ``geometry``: where the face's
    parts landed, in fractions of the picture.
    """
    _check_size(size)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng([int(seed), VARIED_STREAM])
    drawn = int(rng.integers(len(CATEGORIES)))  # always drawn, so the stream does not depend on category
    if category is None:
        category = drawn
    if isinstance(category, bool) or not isinstance(category, (int, np.integer)) or not 0 <= category < 7:
        raise ValueError(f"category must be an integer 0-6 or None, got {category!r}")
    category = int(category)
    ex = _choose_extras(rng, category)

    big = size * supersampling(size)
    thin = line_scale(size)
    half, meta, geo, col, _ = _paint_face(
        Image.new("RGB", (big // 2, big), ex.paper_rgb), big, thin, rng, category, ex
    )
    left = np.asarray(half)
    full = Image.fromarray(np.concatenate([left, left[:, ::-1]], axis=1))
    if not meta["symmetric"]:
        full = _make_crooked(full, big, thin, rng, geo, col)
    sheet, room, frame = _with_room(full, big, thin, rng, geo, ex)
    small = sheet.resize((size, size), Image.Resampling.LANCZOS)
    if ex.paper != "white":  # a smooth field: drawn at the final size, where it costs nothing
        small = age_paper(small, ex.paper_darken, ex.paper_gradient)
    small = np.array(small)
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
        "metal": ex.metal,
        "skin_sides": ex.skin is not None,
        "skin_rgb": list(ex.skin) if ex.skin is not None else None,
        "ears": ex.ears,
        "headwear": ex.headwear,
        "beard": ex.beard,
        "beard_tone": ex.beard_tone if ex.beard != "none" else None,
        "shading": "sheen" if ex.metal else ex.shading,
        "paper": ex.paper,
        "paper_rgb": list(ex.paper_rgb),
        **room,
        "geometry": _geometry(geo, frame, ex),
    }
    return Image.fromarray(small), meta


def render_varied_masks_with_meta(
    count: int, size: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """``count`` varied masks: uint8 [count, size, size, 3], int64 labels [count] and each mask's
    metadata. Seeds and classes come from :func:`maskgen.data.procedural.mask_plan`, as for the other
    built-in sets: mask ``i`` is ``render_varied_mask(mask_seed(seed, i), size, labels[i])``."""
    return render_set(render_varied_mask, count, size, seed)


def render_varied_masks(count: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` varied masks: uint8 [count, size, size, 3] and int64 labels [count]."""
    images, labels, _ = render_varied_masks_with_meta(count, size, seed)
    return images, labels
