"""The built-in mix a base model trains on: ``builtin-varied-mix``, the one place its recipe lives.

A base model's own variety is what a fine-tuned model keeps, so its training set is the broadest the
procedural sets give: mostly varied masks (:mod:`maskgen.data.procedural_varied`), some of them as
photographs and scans (the camera of :mod:`maskgen.data.photographed`: framing, backdrop, light,
colour cast, blur, noise, JPEG), and a few simple masks (:mod:`maskgen.data.procedural`), so that a
collection of plainer masks is not new to it either.

Which set mask ``i`` comes from is fixed by the dataset seed and ``i`` alone (shuffled blocks of
:data:`MIX_BLOCK`), so every prefix of the mix holds the shares of :data:`BASE_MIX` and mask ``i`` is
the same whatever the count; classes are balanced as in every built-in set (``mask_plan``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from maskgen.data.photographed import CAMERA_SEED_OFFSET, SUPERSAMPLE, draw_camera, photograph
from maskgen.data.procedural import _check_size, mask_plan, render_mask
from maskgen.data.procedural_varied import render_varied_mask

# The mix: (source, share). Shares are tenths: each block of MIX_BLOCK masks holds them exactly.
BASE_MIX: tuple[tuple[str, float], ...] = (("varied", 0.7), ("varied-photographed", 0.2), ("simple", 0.1))
MIX_BLOCK = 10
_MIX_STREAM = 35


def render_photographed_varied_mask(
    seed: int, size: int, category: int | None = None
) -> tuple[Image.Image, dict]:
    """The varied mask of ``seed`` (and ``category``) photographed as ``builtin-photographed``
    photographs the detailed ones: (PIL image, meta with the camera under ``"camera"``)."""
    mask, meta = render_varied_mask(seed, size * SUPERSAMPLE, category)
    rng = np.random.default_rng(seed + CAMERA_SEED_OFFSET)
    camera = draw_camera(rng)
    picture = photograph(mask, size, camera, rng)
    return Image.fromarray(picture), {**meta, "size": int(size), "camera": camera.__dict__}


RENDERERS: dict[str, Callable[[int, int, int | None], tuple[Image.Image, dict]]] = {
    "varied": render_varied_mask,
    "varied-photographed": render_photographed_varied_mask,
    "simple": render_mask,
}


def mix_sources(count: int, seed: int = 0) -> list[str]:
    """The source set of each of the first ``count`` masks of the mix made with ``seed``."""
    template = [name for name, share in BASE_MIX for _ in range(round(share * MIX_BLOCK))]
    rng = np.random.default_rng([int(seed), _MIX_STREAM])
    blocks = -(-int(count) // MIX_BLOCK)
    order = [template[int(k)] for _ in range(blocks) for k in rng.permutation(len(template))]
    return order[: int(count)]


def render_mix_masks_with_meta(
    count: int, size: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """``count`` masks of the base models' mix: uint8 [count, size, size, 3], int64 labels, metas (each
    with ``"source"``: varied, varied-photographed or simple, and ``"symmetric"``: whether the picture
    is an exact mirror image)."""
    _check_size(size)
    seeds, labels = mask_plan(count, seed)
    images = np.empty((len(seeds), size, size, 3), dtype=np.uint8)
    metas = []
    sources = mix_sources(count, seed)
    for i, (s, c, source) in enumerate(zip(seeds.tolist(), labels.tolist(), sources, strict=True)):
        image, meta = RENDERERS[source](s, size, c)
        images[i] = np.asarray(image)
        symmetric = {"varied": bool(meta.get("symmetric", True)), "simple": True}.get(source, False)
        metas.append({**meta, "source": source, "symmetric": symmetric})
    return images, labels, metas
