"""Converting between tensors and image files, sample grids, seed lists."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from maskgen.errors import MaskgenError
from maskgen.outputs import atomic_write

_SEED_RANGE = re.compile(r"([0-9]+)(?:-([0-9]+))?")
SEED_MAX = 2**32 - 1  # what numpy, torch and Python generators all accept
MAX_SEEDS = 10_000  # one command's images are held in memory together


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
    """Write a PNG atomically (temporary file, then rename; removed on failure), creating parent
    folders; an OSError is one line, ``cannot write PATH: reason``."""
    atomic_write(path, lambda tmp: Image.fromarray(array).save(tmp, format="PNG"))


def save_grid(images: torch.Tensor, path: str | Path, columns: int | None = None) -> None:
    save_png(make_grid(to_uint8(images), columns), path)


def parse_seeds(text: str, max_count: int = MAX_SEEDS) -> list[int]:
    """'0-3,7,10-11' -> [0, 1, 2, 3, 7, 10, 11]; seeds are 0 .. 2**32-1, at most ``max_count`` of them."""
    shown = repr(text if len(text) <= 40 else text[:37] + "...")
    usage = f"bad seed list {shown}; use e.g. 0-15 or 1,5,9-12"
    seeds: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = _SEED_RANGE.fullmatch(part)
        if match is None:
            raise MaskgenError(usage)
        if max(len(match[1]), len(match[2] or "")) > len(str(SEED_MAX)):  # also: int() of 5000 digits
            raise MaskgenError(f"a seed in {shown} is too large: seeds are 0 to {SEED_MAX} (32-bit)")
        low, high = int(match[1]), int(match[2] or match[1])
        if high < low:
            raise MaskgenError(f"{usage} (a range goes up: {high}-{low}, not {part})")
        if high > SEED_MAX:
            raise MaskgenError(f"seed {high} in {shown} is too large: seeds are 0 to {SEED_MAX} (32-bit)")
        if len(seeds) + high - low + 1 > max_count:
            raise MaskgenError(
                f"seed list {shown} has more than {max_count} seeds; split it over several commands"
            )
        seeds.extend(range(low, high + 1))
    if not seeds:
        raise MaskgenError(usage)
    return seeds


def latents_for_seeds(seeds: list[int], z_dim: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """One latent per seed, identical on every device (drawn on the CPU with its own generator)."""
    rows = [torch.randn(z_dim, generator=torch.Generator().manual_seed(seed)) for seed in seeds]
    return torch.stack(rows).to(device)
