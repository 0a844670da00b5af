"""The studio's ready examples, so that every tab gives a result in one click on a first visit: a painted
mask to find in the model, its line drawing to colour, the 16 built-in reference masks, and example
masks for a collection. All are built-in procedural masks (``maskgen.data.procedural``), drawn once
into a folder of the temp area and read back like uploads."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from maskgen.data.procedural import render_masks
from maskgen.data.sketch import XDoGParams, xdog_numpy
from maskgen.images import save_png

BUILTIN_REFERENCES = 16
REFERENCE_SIZE = 128
EXAMPLE_SIZE = 256
EXAMPLE_MASK = 3  # the built-in mask the examples are made from (clear fields, busy linework)
COLLECTION_SEED = 7  # "Add example masks" in the Train tab: other masks than the references


def _example_mask() -> np.ndarray:
    return render_masks(EXAMPLE_MASK + 1, EXAMPLE_SIZE, seed=0)[0][EXAMPLE_MASK]  # mask i: any count


def example_target(folder: Path) -> Path:
    """A painted mask to find in the model (the "Find your mask" tab)."""
    path = folder / "example-mask.png"
    if not path.is_file():
        save_png(_example_mask(), path)
    return path


def example_sketch(folder: Path) -> Path:
    """The XDoG line drawing of the same mask (the "Colour a sketch" tab)."""
    path = folder / "example-lines.png"
    if not path.is_file():
        save_png((xdog_numpy(_example_mask(), XDoGParams()) * 255).round().astype(np.uint8), path)
    return path


def builtin_references(folder: Path) -> list[Path]:
    """The built-in reference masks, one PNG each, made once."""
    paths = [folder / f"builtin_reference_{i}.png" for i in range(BUILTIN_REFERENCES)]
    if not all(p.is_file() for p in paths):
        images, _ = render_masks(BUILTIN_REFERENCES, REFERENCE_SIZE, seed=0)
        for image, path in zip(images, paths, strict=True):
            save_png(image, path)
    return paths


def builtin_reference_path(folder: Path, index: int, size: int = REFERENCE_SIZE) -> Path:
    """Built-in procedural mask ``index`` as a PNG (references are read from files, like uploads)."""
    path = folder / f"builtin_reference_{index}.png"
    if not path.is_file():
        images, _ = render_masks(index + 1, size, seed=0)  # mask i does not depend on the count
        save_png(images[index], path)
    return path


def example_collection(folder: Path, count: int) -> list[Path]:
    """``count`` built-in masks at print size, as files to add to a collection like uploads."""
    paths = []
    for index, mask in enumerate(render_masks(count, EXAMPLE_SIZE, seed=COLLECTION_SEED)[0]):
        path = folder / f"example-{index:03d}.png"
        save_png(mask, path)
        paths.append(path)
    return paths
