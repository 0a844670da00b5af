"""Drawing new masks from a trained checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch

from maskgen.checkpoint import Checkpoint, load_checkpoint, load_strict, split_weights
from maskgen.config import validate_config
from maskgen.errors import MaskgenError
from maskgen.factory import build_gan
from maskgen.images import latents_for_seeds


def load_generator(path: str | Path, device: torch.device) -> tuple[torch.nn.Module, Checkpoint]:
    """G_ema of a GAN checkpoint, ready for inference on ``device``."""
    checkpoint = load_checkpoint(path)
    if checkpoint.config.get("kind") != "gan" or "train" not in checkpoint.config:
        raise MaskgenError(f"{checkpoint.path} is not a GAN checkpoint made by 'maskgen run'")
    config = validate_config(checkpoint.config["train"])
    G, _ = build_gan(
        config.generator,
        config.generator_options,
        config.resolution,
        int(checkpoint.config.get("d_c_dim", 0)),
    )
    load_strict(G, split_weights(checkpoint.weights, "G_ema"), f"generator ({config.resolution} px)")
    return G.to(device).eval().requires_grad_(False), checkpoint


@torch.no_grad()
def generate_images(
    G: torch.nn.Module,
    seeds: list[int],
    truncation: float = 1.0,
    noise_mode: str = "const",
    batch_size: int = 16,
) -> torch.Tensor:
    """One image per seed, [N, 3, H, W] in [-1, 1] on G's device; the same seed gives the same mask."""
    device = next(G.parameters()).device
    z = latents_for_seeds(seeds, G.z_dim, device)
    chunks = [G(part, truncation_psi=truncation, noise_mode=noise_mode) for part in z.split(batch_size)]
    return torch.cat(chunks)
