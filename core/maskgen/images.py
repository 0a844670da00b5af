"""Converting between tensors and image files, sample grids, seed lists."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from maskgen.errors import MaskgenError

_SEED_RANGE = re.compile(r"(\d+)(?:-(\d+))?")


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] in [-1, 1] -> uint8 [N, H, W, C]."""
    scaled = (images.detach().float().cpu() * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    return scaled.permute(0, 2, 3, 1).numpy()


def from_uint8(images: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 [N, H, W, C] -> float [N, C, H, W] in [-1, 1] on ``device``."""
    tensor = torch.as_tensor(images, device=device)
    return tensor.permute(0, 3, 1, 2).float() / 127.5 - 1


def make_grid(images: np.ndarray, columns: int | None = None) -> np.ndarray:
    """uint8 [N, H, W, C] -> one uint8 [rows*H, cols*W, C] image, white where the grid is not full."""
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.full((rows * height, columns * width, channels), 255, dtype=np.uint8)
    for index, image in enumerate(images):
        row, col = divmod(index, columns)
        grid[row * height : (row + 1) * height, col * width : (col + 1) * width] = image
    return grid


def save_png(array: np.ndarray, path: str | Path) -> None:
    """Write a PNG atomically (temporary file, then rename), creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A plain open (not mkstemp) so the file gets the usual permissions from the umask.
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        Image.fromarray(array).save(tmp, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_grid(images: torch.Tensor, path: str | Path, columns: int | None = None) -> None:
    save_png(make_grid(to_uint8(images), columns), path)


def parse_seeds(text: str) -> list[int]:
    """'0-3,7,10-11' -> [0, 1, 2, 3, 7, 10, 11]."""
    seeds: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = _SEED_RANGE.fullmatch(part)
        if match is None or (match[2] is not None and int(match[2]) < int(match[1])):
            raise MaskgenError(f"bad seed list {text!r}; use e.g. 0-15 or 1,5,9-12")
        low = int(match[1])
        seeds.extend(range(low, int(match[2] or low) + 1))
    if not seeds:
        raise MaskgenError(f"bad seed list {text!r}; use e.g. 0-15 or 1,5,9-12")
    return seeds


def latents_for_seeds(seeds: list[int], z_dim: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """One latent per seed, identical on every device (drawn on the CPU with its own generator)."""
    rows = [torch.randn(z_dim, generator=torch.Generator().manual_seed(seed)) for seed in seeds]
    return torch.stack(rows).to(device)
