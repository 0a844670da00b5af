"""What a person downloads from the studio: each mask as its own PNG, the grid as one PNG, and a zip of
the single masks. Every file is written atomically (:func:`maskgen.outputs.atomic_write`) into a fresh
folder of the studio's temp area, so a download never gets half a file."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maskgen.images import make_grid, save_png
from maskgen.outputs import atomic_write


@dataclass(frozen=True)
class SavedMasks:
    singles: list[Path]  # one PNG per mask, in order
    grid: Path  # all of them in one PNG (what `maskgen generate --out grid.png` writes)
    archive: Path  # the singles in one zip


def save_masks(images: np.ndarray, folder: Path, names: Sequence[str], stem: str) -> SavedMasks:
    """uint8 [N, H, W, 3] masks -> ``folder/NAME.png`` each, ``folder/STEM.png`` (the grid) and
    ``folder/STEM.zip`` (the single PNGs)."""
    if len(names) != len(images):
        raise ValueError(f"{len(images)} masks but {len(names)} names")
    singles = []
    for image, name in zip(images, names, strict=True):
        path = folder / f"{name}.png"
        save_png(image, path)
        singles.append(path)
    grid = folder / f"{stem}.png"
    save_png(make_grid(images), grid)
    archive = folder / f"{stem}.zip"

    def write(tmp: str) -> None:
        # PNGs are compressed already: stored, not deflated again.
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
            for path in singles:
                z.write(path, arcname=path.name)

    atomic_write(archive, write)
    return SavedMasks(singles, grid, archive)
