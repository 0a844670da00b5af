#!/usr/bin/env python
"""Contact sheets of the built-in procedural masks for docs/datasets.md, and how fast they render.

Writes an 8x8 grid of 64 masks at 64 px for the simple (``builtin``), the detailed
(``builtin-detailed``), the photographed (``builtin-photographed``) and the varied (``builtin-varied``)
set, and a 4x4 grid of detailed, photographed and varied masks at 256 px:

    python benchmarks/contact_sheets.py --out docs/images
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from maskgen.data.photographed import render_photographed_masks
from maskgen.data.procedural import render_masks
from maskgen.data.procedural_detailed import render_detailed_masks
from maskgen.data.procedural_varied import render_varied_masks

Renderer = Callable[[int, int, int], tuple[np.ndarray, np.ndarray]]


def grid(images: np.ndarray, columns: int, gap: int = 2) -> Image.Image:
    """Images [N, H, W, 3] tiled row by row on a white sheet, ``gap`` pixels apart."""
    n, h, w, _ = images.shape
    rows = -(-n // columns)
    sheet = np.full((rows * (h + gap) + gap, columns * (w + gap) + gap, 3), 255, dtype=np.uint8)
    for i, image in enumerate(images):
        y, x = gap + (i // columns) * (h + gap), gap + (i % columns) * (w + gap)
        sheet[y : y + h, x : x + w] = image
    return Image.fromarray(sheet)


def write_sheet(
    render: Renderer, count: int, size: int, seed: int, columns: int, path: Path, exact: bool = False
) -> float:
    """Render ``count`` masks, save them as a grid; returns the rendering time in seconds.

    Unless ``exact``, the sheet is stored with a 256-colour palette: it looks the same and the PNG is
    about three times smaller, which matters for images kept in the repository.
    """
    start = time.perf_counter()
    images, _ = render(count, size, seed)
    seconds = time.perf_counter() - start
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet = grid(images, columns)
    if not exact:
        sheet = sheet.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    sheet.save(path, optimize=True)
    print(f"{path}: {count} masks at {size} px in {seconds:.2f} s ({1000 * seconds / count:.1f} ms each)")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"), help="folder for the PNG files")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed of every set")
    parser.add_argument("--exact", action="store_true", help="full RGB sheets instead of 256 colours")
    args = parser.parse_args()
    sheets = [
        (render_masks, 64, 64, 8, "builtin_simple_64px.png"),
        (render_detailed_masks, 64, 64, 8, "builtin_detailed_64px.png"),
        (render_detailed_masks, 16, 256, 4, "builtin_detailed_256px.png"),
        (render_photographed_masks, 64, 64, 8, "builtin_photographed_64px.png"),
        (render_photographed_masks, 16, 256, 4, "builtin_photographed_256px.png"),
        (render_varied_masks, 64, 64, 8, "dataset_varied_64px.png"),
        (render_varied_masks, 16, 256, 4, "dataset_varied_256px.png"),
    ]
    for render, count, size, columns, name in sheets:
        write_sheet(render, count, size, args.seed, columns, args.out / name, args.exact)


if __name__ == "__main__":
    main()
