"""The generator a GAN checkpoint holds, rebuilt for inference, and masks drawn from it by seed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from maskgen.artifacts.checkpoint import Checkpoint, load_checkpoint, load_strict, split_weights
from maskgen.config import validate_config
from maskgen.errors import MaskgenError
from maskgen.images import latents_for_seeds
from maskgen.plugins import get_registry
from maskgen.plugins.factory import build_gan
from maskgen.plugins.interfaces import PluginKind


def load_generator(path: str | Path, device: torch.device) -> tuple[torch.nn.Module, Checkpoint]:
    """G_ema of a GAN checkpoint, ready for inference on ``device``."""
    checkpoint = load_checkpoint(path)
    if checkpoint.config.get("kind") != "gan" or "train" not in checkpoint.config:
        raise MaskgenError(f"{checkpoint.path} is not a GAN checkpoint made by 'maskgen run'")
    config = validate_config(checkpoint.config["train"])
    require_plugin(checkpoint.config, "generator", config.generator, checkpoint.path)
    G, _ = build_gan(
        config.generator,
        config.generator_options,
        config.resolution,
        int(checkpoint.config.get("d_c_dim", 0)),
    )
    load_strict(G, split_weights(checkpoint.weights, "G_ema"), f"generator ({config.resolution} px)")
    return G.to(device).eval().requires_grad_(False), checkpoint


def require_plugin(config: dict[str, Any], kind: PluginKind, name: str, path: Path) -> None:
    """Fail with the distribution to install when a checkpoint's plugin is not registered here.

    config.json records ``"plugins": {"generator": "dist==ver", "augment": {name: "dist==ver"}}``
    (translators: ``"plugin": "dist==ver"``); without it the registry's own error is raised.
    """
    registry = get_registry()
    if name in registry.names(kind):
        return
    plugins = config.get("plugins") or {}
    recorded = plugins.get(kind) if kind == "generator" else None
    if kind == "augmenter" and isinstance(plugins.get("augment"), dict):
        recorded = plugins["augment"].get(name)
    if kind == "translator":
        recorded = config.get("plugin")
    if not isinstance(recorded, str) or not recorded:
        registry.get(kind, name)  # raises "unknown generator 'x'; valid generators: ..."
        return
    distribution = recorded.split("==", 1)[0]
    broken = next((p for p in registry.problems if p.distribution == distribution), None)
    if broken is not None:
        raise MaskgenError(
            f"{path} needs the {kind} {name!r} from {recorded}, which is installed but failed to load: "
            f"{broken.error}"
        )
    raise MaskgenError(
        f"{path} needs the {kind} {name!r} from {recorded}, which is not installed; "
        f"install it with: pip install '{recorded}'"
    )


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
