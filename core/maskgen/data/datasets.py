"""Training images as arrays: the built-in masks or an image folder."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from maskgen.data.folder import load_folder
from maskgen.data.procedural import MIN_SIZE, render_masks, symmetrize
from maskgen.data.procedural_detailed import render_detailed_masks_with_meta
from maskgen.errors import MaskgenError

BUILTIN = "builtin"
BUILTIN_DETAILED = "builtin-detailed"
LABELS_FILE = "labels.csv"


def check_resolution(resolution: int) -> int:
    """Training resolutions are powers of two from 4 to 1024 (StyleGAN2's synthesis blocks)."""
    ok = isinstance(resolution, (int, np.integer)) and not isinstance(resolution, bool)
    if not (ok and 4 <= resolution <= 1024 and resolution & (resolution - 1) == 0):
        raise MaskgenError(f"resolution must be a power of two between 4 and 1024, got {resolution}")
    return int(resolution)


def load_training_images(
    data: str | None, resolution: int, seed: int = 0, count: int = 2000, cache: bool = True
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Images to train on: (uint8 [N, R, R, 3], int64 labels or None, a short description).

    ``data`` None or "builtin": ``count`` procedural masks made with ``seed`` (labels: the seven colour
    classes); "builtin-detailed": the same for the detailed masks of ``procedural_detailed`` (intricate
    linework, a few deliberately asymmetric crooked faces). Otherwise an image folder; ``seed`` and
    ``count`` are not used then, and labels come from an optional ``labels.csv`` (columns ``file,label``,
    file relative to the folder) covering every image. With ``cache`` a folder's decoded images are kept
    in a packed array file (see ``data.cache``).
    """
    resolution = check_resolution(resolution)
    key = BUILTIN if data is None else str(data).strip().lower()
    if key in (BUILTIN, BUILTIN_DETAILED):
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise MaskgenError(f"the built-in dataset needs a count of at least 1, got {count}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise MaskgenError(f"dataset seed must be a non-negative integer, got {seed}")
        render_size = max(resolution, MIN_SIZE)
        if key == BUILTIN_DETAILED:
            images, labels, metas = render_detailed_masks_with_meta(int(count), render_size, int(seed))
            symmetric = [bool(m["symmetric"]) for m in metas]  # crooked faces stay crooked
            kind = "builtin detailed procedural masks"
        else:
            images, labels = render_masks(int(count), render_size, int(seed))
            symmetric = [True] * len(images)
            kind = "builtin procedural masks"
        if render_size != resolution:  # 4 and 8 px: render at the smallest size, then shrink
            pairs = zip(images, symmetric, strict=True)
            images = np.stack([_shrink(img, resolution, sym) for img, sym in pairs])
        return images, labels, f"{kind} ({count} at {resolution} px, seed {seed})"

    root = Path(data).expanduser()
    images, paths, skipped = load_folder(root, resolution, cache=cache)
    labels = _folder_labels(root, paths)
    extra = f", {skipped} skipped" if skipped else ""
    extra += ", labelled" if labels is not None else ""
    return images, labels, f"image folder {root.name or root} ({len(paths)} images at {resolution} px{extra})"


def _shrink(img: np.ndarray, size: int, symmetric: bool = True) -> np.ndarray:
    small = np.array(Image.fromarray(img).resize((size, size), Image.Resampling.LANCZOS))
    return symmetrize(small) if symmetric else small


def _folder_labels(root: Path, paths: list[Path]) -> np.ndarray | None:
    """Labels from ``root/labels.csv`` when it names every loaded image, else None."""
    table = root / LABELS_FILE
    if not table.is_file():
        return None
    try:
        with table.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"file", "label"} <= set(reader.fieldnames):
                raise MaskgenError(f"{table} needs the columns file,label")
            by_file = {}
            for row in reader:
                label = int(row["label"])
                if label < 0:
                    raise ValueError(f"negative label {label}")
                by_file[Path(row["file"]).as_posix()] = label
    except (ValueError, TypeError, UnicodeDecodeError, csv.Error) as exc:
        raise MaskgenError(f"cannot read {table}: {exc}") from exc
    rel = [p.relative_to(root).as_posix() for p in paths]
    missing = [r for r in rel if r not in by_file]
    if missing:
        print(
            f"warning: {table} has no label for {len(missing)} image(s) (first: {missing[0]}); "
            "training without labels",
            file=sys.stderr,
        )
        return None
    return np.array([by_file[r] for r in rel], dtype=np.int64)
