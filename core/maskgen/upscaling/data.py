"""The large masks an upscaler learns from, and batches of (spoiled small input, clean large crop)."""

from __future__ import annotations

import numpy as np
import torch

from maskgen.data.datasets import BUILTIN_DETAILED, BUILTIN_PHOTOGRAPHED, load_training_images
from maskgen.data.degrade import Degradation, degrade, shift_colours
from maskgen.errors import MaskgenError
from maskgen.upscaling.config import BUILTIN_MIX, UpscaleConfig


def load_large_masks(config: UpscaleConfig) -> tuple[np.ndarray, str]:
    """uint8 [N, size, size, 3] and a description. A folder whose pictures are smaller than the size is
    refused in one line: an upscaler cannot learn detail its targets do not have."""
    if config.data.strip().lower() == BUILTIN_MIX:
        photographed = round(config.dataset_count * config.photographed_share)
        parts = [
            load_training_images(BUILTIN_DETAILED, config.size, config.dataset_seed, count)[0]
            for count in [config.dataset_count - photographed]
            if count
        ]
        if photographed:
            parts.append(
                load_training_images(BUILTIN_PHOTOGRAPHED, config.size, config.dataset_seed, photographed)[0]
            )
        name = f"built-in detailed and photographed masks ({config.dataset_count} at {config.size} px)"
        return np.concatenate(parts), name
    images, _labels, name = load_training_images(
        config.data, config.size, config.dataset_seed, config.dataset_count, frame=config.frame
    )
    return images, name


class PairSampler:
    """Random crops of the large masks (mirrored at random) and their spoiled small versions.

    Everything random is drawn from one CPU generator, saved with each checkpoint.
    """

    def __init__(self, images: np.ndarray, config: UpscaleConfig, device: torch.device) -> None:
        if len(images) == 0:
            raise MaskgenError("no training images for the upscaler")
        self.images = torch.from_numpy(images)  # uint8 NHWC, kept on the CPU
        self.config = config
        self.device = device
        self.degradation = Degradation(**config.degradation)
        self.generator = torch.Generator().manual_seed(config.seed)

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(small [B, 3, crop/scale, crop/scale], large [B, 3, crop, crop]), both in [-1, 1]."""
        config, g = self.config, self.generator
        index = torch.randint(len(self.images), (batch,), generator=g)
        span = config.size - config.crop + 1
        tops = torch.randint(span, (batch,), generator=g)
        lefts = torch.randint(span, (batch,), generator=g)
        flips = torch.rand(batch, generator=g) < 0.5
        crops = []
        for i, top, left, flip in zip(index, tops, lefts, flips, strict=True):
            crop = self.images[i, top : top + config.crop, left : left + config.crop]
            crops.append(crop.flip(1) if flip else crop)
        large = torch.stack(crops).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(self.device)
        large = shift_colours(large, self.degradation, g)
        return degrade(large, config.scale, self.degradation, g), large

    def fixed(self, count: int) -> torch.Tensor:
        """The first ``count`` large masks whole, [count, 3, size, size] in [-1, 1], for contact sheets."""
        chosen = self.images[: min(count, len(self.images))]
        return chosen.permute(0, 3, 1, 2).float().div(127.5).sub(1).to(self.device)
