"""Training triplets (sketch, reference, target) for exemplar-based translation.

Targets are the masks; their sketches are XDoG line drawings (made once when the data is loaded, or
read from a folder of sketches). References follow CoCosNet's recipe: with probability ``pseudo_prob`` a
pseudo exemplar (the target itself, randomly deformed: affine or TPS warp, crop, flip), otherwise a
*different* mask of the same primary-colour category, so the model cannot learn to copy the reference
pixel for pixel (the identity collapse of the original on edge data).

Categories: the procedural masks come with their labels; for a folder of images each image gets the
category whose canonical colour is nearest to the mean colour of its painted (non-white) pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from maskgen.data.sketch import XDoGParams, xdog
from maskgen.errors import MaskgenError
from maskgen.translation.deform import DeformParams, deform
from maskgen.translation.model import TripletBatch


def colour_categories(images: np.ndarray) -> np.ndarray:
    """Nearest procedural category (by canonical RGB) to each image's mean non-white colour: int64 [N]."""
    from maskgen.data.procedural import CATEGORIES

    palette = np.array([c.rgb for c in CATEGORIES], dtype=np.float64)
    pixels = images.reshape(len(images), -1, 3).astype(np.float64)
    painted = pixels.min(axis=2) < 230  # white background and paper do not count
    counts = np.maximum(painted.sum(axis=1, keepdims=True), 1)
    means = (pixels * painted[..., None]).sum(axis=1) / counts
    dist = ((means[:, None, :] - palette[None]) ** 2).sum(-1)
    return dist.argmin(axis=1).astype(np.int64)


def is_builtin(data: str) -> bool:
    """One of the built-in sets: 'builtin', 'builtin-detailed', 'builtin-photographed'."""
    from maskgen.data.datasets import BUILTIN_SETS

    return data.strip().lower() in BUILTIN_SETS


def load_sketch_folder(folder: Path, image_paths: list[Path], image_root: Path, size: int) -> np.ndarray:
    """Sketches matched to images by relative path (any image extension): uint8 [N, size, size]."""
    from maskgen.data.folder import IMAGE_EXTENSIONS, load_line_drawing

    if not folder.is_dir():
        raise MaskgenError(f"sketch folder not found: {folder}")
    out = np.empty((len(image_paths), size, size), dtype=np.uint8)
    for index, path in enumerate(image_paths):
        rel = path.relative_to(image_root).with_suffix("")
        match = next(
            (
                folder / rel.with_suffix(ext)
                for ext in IMAGE_EXTENSIONS
                if (folder / rel.with_suffix(ext)).is_file()
            ),
            None,
        )
        if match is None:
            raise MaskgenError(
                f"no sketch for {path.relative_to(image_root)} in {folder} (expected {rel}.png)"
            )
        out[index] = load_line_drawing(match, size)  # as `translate apply` reads its sketches
    return out


def load_images(
    data: str, size: int, count: int, seed: int
) -> tuple[np.ndarray, np.ndarray, str, list[Path]]:
    """(uint8 [N, size, size, 3], categories [N], dataset name, paths) of a built-in set or
    a folder. The built-in sets are rendered by the same function the GAN trains on."""
    if is_builtin(data):
        from maskgen.data.datasets import load_training_images

        key = data.strip().lower()
        images, labels, _ = load_training_images(key, size, seed, count, need_labels=True)
        assert labels is not None  # the built-in sets always carry their colour classes
        return images, labels.astype(np.int64), f"{key}(count={count}, seed={seed})", []
    from maskgen.data.folder import load_folder

    images, paths, _ = load_folder(data, size)
    return images, colour_categories(images), Path(data).name, paths


def sketches_of(images: np.ndarray, params: XDoGParams, batch: int = 256) -> np.ndarray:
    """XDoG of uint8 [N, H, W, 3] images -> uint8 [N, H, W] (255 white, 0 line)."""
    out = np.empty(images.shape[:3], dtype=np.uint8)
    for start in range(0, len(images), batch):
        chunk = torch.from_numpy(images[start : start + batch]).permute(0, 3, 1, 2)
        out[start : start + batch] = (xdog(chunk, params)[:, 0] * 255).round().to(torch.uint8).numpy()
    return out


class TripletData:
    """All images, sketches and categories on the device, with a sampler of training triplets."""

    def __init__(
        self,
        images: np.ndarray,
        sketches: np.ndarray,
        categories: np.ndarray,
        device: torch.device,
        pseudo_prob: float = 0.3,
        deform_params: DeformParams | None = None,
    ) -> None:
        if len(images) < 2:
            raise MaskgenError(f"translation needs at least 2 training images, got {len(images)}")
        self.images = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous().to(device)
        self.sketches = torch.from_numpy(sketches)[:, None].contiguous().to(device)
        self.categories = torch.from_numpy(np.asarray(categories, dtype=np.int64)).to(device)
        self.device = device
        self.pseudo_prob = pseudo_prob
        self.deform_params = deform_params or DeformParams()
        # Members of each category, and each image's position within its category's list.
        cats = self.categories.cpu()
        self._members = [torch.nonzero(cats == c).flatten() for c in range(int(cats.max()) + 1)]

    def __len__(self) -> int:
        return len(self.images)

    def image(self, index: torch.Tensor) -> torch.Tensor:
        return self.images[index].float() / 127.5 - 1

    def sketch(self, index: torch.Tensor) -> torch.Tensor:
        return self.sketches[index].float() / 255

    def other_of_same_category(self, index: torch.Tensor) -> torch.Tensor:
        """For each index another image of its category (itself when alone); draws from the global RNG."""
        draws = torch.rand(len(index))
        picks = []
        for i, u in zip(index.tolist(), draws.tolist(), strict=True):
            members = self._members[int(self.categories[i])]
            others = members[members != i]
            picks.append(int(others[int(u * len(others))]) if len(others) else i)
        return torch.tensor(picks, dtype=torch.long)

    def sample(self, batch: int) -> TripletBatch:
        """A random minibatch of triplets; every random number from torch's global RNG, on the CPU."""
        index = torch.randint(len(self), (batch,))
        pseudo = torch.rand(batch) < self.pseudo_prob
        other = self.other_of_same_category(index)
        pseudo = pseudo | (other == index)  # no other mask of that colour: a pseudo pair after all
        target = self.image(index.to(self.device))
        deformed = deform(target, self.deform_params)
        reference = torch.where(
            pseudo.to(self.device)[:, None, None, None], deformed, self.image(other.to(self.device))
        )
        return TripletBatch(self.sketch(index.to(self.device)), reference, target, pseudo.to(self.device))

    def fixed_pairs(self, count: int, seed: int = 1234) -> tuple[torch.Tensor, torch.Tensor]:
        """``count`` (sketch index, reference index) pairs for contact sheets, independent of training RNG.

        References are drawn at random, so most have another primary colour than the sketch's mask.
        """
        gen = torch.Generator().manual_seed(seed)
        count = min(count, len(self))
        sketch_idx = torch.randperm(len(self), generator=gen)[:count]
        ref_idx = torch.randint(len(self), (count,), generator=gen)
        ref_idx = torch.where(ref_idx == sketch_idx, (ref_idx + 1) % len(self), ref_idx)
        return sketch_idx, ref_idx
