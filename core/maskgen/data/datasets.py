"""Training images as arrays and torch datasets: the built-in masks or an image folder."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from maskgen.data.folder import load_folder
from maskgen.data.procedural import MIN_SIZE, render_masks, symmetrize
from maskgen.errors import MaskgenError

BUILTIN = "builtin"
LABELS_FILE = "labels.csv"


class ArrayImageDataset(Dataset):
    """uint8 images [N, H, W, 3] as (float tensor [3, H, W] in [-1, 1], label) pairs.

    The label is -1 without labels. With ``xflip`` the dataset is twice as long and its second half
    holds the mirrored images (StyleGAN2-ADA's ``--mirror``).
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray | None = None, xflip: bool = False) -> None:
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"images must be uint8 [N, H, W, 3], got {images.dtype} {list(images.shape)}")
        if labels is not None:
            labels = np.asarray(labels, dtype=np.int64)
            if labels.shape != (len(images),):
                raise ValueError(f"labels must have shape [{len(images)}], got {list(labels.shape)}")
        self.images = images
        self.labels = labels
        self.xflip = bool(xflip)
        self._tensor = torch.from_numpy(np.ascontiguousarray(images))  # shares memory, no copy

    def __len__(self) -> int:
        return len(self.images) * (2 if self.xflip else 1)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"index {index} out of range for a dataset of {n} images")
        i, flip = index % len(self.images), index >= len(self.images)
        x = self._tensor[i].permute(2, 0, 1).to(torch.float32) / 127.5 - 1.0
        if flip:
            x = x.flip(-1)
        return x, (int(self.labels[i]) if self.labels is not None else -1)

    @property
    def resolution(self) -> int:
        return int(self.images.shape[1])

    @property
    def has_labels(self) -> bool:
        return self.labels is not None


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
    classes). Otherwise an image folder; ``seed`` and ``count`` are not used then, and labels come from
    an optional ``labels.csv`` (columns ``file,label``, file relative to the folder) covering every image.
    With ``cache`` a folder's decoded images are kept in a packed array file (see ``data.cache``).
    """
    resolution = check_resolution(resolution)
    if data is None or str(data).strip().lower() == BUILTIN:
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise MaskgenError(f"the built-in dataset needs a count of at least 1, got {count}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise MaskgenError(f"dataset seed must be a non-negative integer, got {seed}")
        render_size = max(resolution, MIN_SIZE)
        images, labels = render_masks(int(count), render_size, int(seed))
        if render_size != resolution:  # 4 and 8 px: render at the smallest size, then shrink
            images = np.stack([_shrink(img, resolution) for img in images])
        return images, labels, f"builtin procedural masks ({count} at {resolution} px, seed {seed})"

    root = Path(data).expanduser()
    images, paths, skipped = load_folder(root, resolution, cache=cache)
    labels = _folder_labels(root, paths)
    extra = f", {skipped} skipped" if skipped else ""
    extra += ", labelled" if labels is not None else ""
    return images, labels, f"image folder {root.name or root} ({len(paths)} images at {resolution} px{extra})"


def _shrink(img: np.ndarray, size: int) -> np.ndarray:
    small = np.array(Image.fromarray(img).resize((size, size), Image.Resampling.LANCZOS))
    return symmetrize(small)


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
