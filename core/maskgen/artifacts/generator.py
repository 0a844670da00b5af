"""The generator a GAN checkpoint holds, rebuilt for inference, and masks drawn from it by seed.

A class-conditional checkpoint (``maskgen run --cond``) records its classes in config.json
(``cond: {"classes": [...]}``); :func:`class_index` turns a class name into the index that
:func:`generate_images` draws, and without one seed ``s`` is drawn as class ``s mod classes`` (so the
same seed still gives the same mask, and a range of seeds goes through the classes in turn).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from maskgen.artifacts.base_models import class_names
from maskgen.artifacts.checkpoint import Checkpoint, load_checkpoint, load_strict, split_weights
from maskgen.config import validate_config
from maskgen.errors import MaskgenError
from maskgen.images import latents_for_seeds
from maskgen.plugins import get_registry
from maskgen.plugins.factory import build_gan
from maskgen.plugins.interfaces import PluginKind


def load_generator(path: str | Path, device: torch.device) -> tuple[torch.nn.Module, Checkpoint]:
    """G_ema of a GAN checkpoint, ready for inference on ``device`` (only model.safetensors is read,
    and a Hub reference fetches only what drawing needs)."""
    checkpoint = load_checkpoint(path, inference_only=True)
    if checkpoint.config.get("kind") != "gan" or "train" not in checkpoint.config:
        raise MaskgenError(f"{checkpoint.path} is not a GAN checkpoint made by 'maskgen run'")
    config = validate_config(checkpoint.config["train"])
    require_plugin(checkpoint.config, "generator", config.generator, checkpoint.path)
    G, _ = build_gan(
        config.generator,
        config.generator_options,
        config.resolution,
        int(checkpoint.config.get("d_c_dim", 0)),
        c_dim=len(class_names(checkpoint.config)),
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


def class_index(checkpoint: Checkpoint, name: str | None) -> int | None:
    """The index of class ``name`` (e.g. "red", any case) in a conditional checkpoint; None for None.

    A name the checkpoint does not know, or any name for an unconditional checkpoint, is one line.
    """
    if name is None:
        return None
    classes = class_names(checkpoint.config)
    if not classes:
        raise MaskgenError(
            f"{checkpoint.path} is unconditional (trained without --cond): it cannot draw --class {name}"
        )
    wanted = str(name).strip().lower()
    lowered = [c.lower() for c in classes]
    if wanted not in lowered:
        raise MaskgenError(f"unknown class {name!r}; valid classes: {', '.join(classes)}")
    return lowered.index(wanted)


def seed_classes(seeds: list[int], num_classes: int, class_index: int | None = None) -> list[int]:
    """The class each seed is drawn as: ``class_index`` for all, else seed mod ``num_classes``."""
    if num_classes <= 0:
        return []
    return [class_index if class_index is not None else seed % num_classes for seed in seeds]


def seed_conditions(
    G: torch.nn.Module, seeds: list[int], class_index: int | None = None
) -> torch.Tensor | None:
    """The one-hot classes a conditional G draws ``seeds`` as (see :func:`generate_images`), on G's
    device; None for an unconditional G, which refuses a ``class_index``."""
    num_classes = int(getattr(G, "c_dim", 0))
    if class_index is not None and num_classes == 0:
        raise MaskgenError("this generator is unconditional (trained without --cond): it takes no class")
    if class_index is not None and not 0 <= class_index < num_classes:
        raise MaskgenError(
            f"class index {class_index} out of range: this generator has {num_classes} classes"
        )
    if not num_classes:
        return None
    classes = torch.tensor(seed_classes(seeds, num_classes, class_index), dtype=torch.long)
    return torch.nn.functional.one_hot(classes, num_classes).float().to(next(G.parameters()).device)


@torch.no_grad()
def generate_images(
    G: torch.nn.Module,
    seeds: list[int],
    truncation: float = 1.0,
    noise_mode: str = "const",
    batch_size: int = 16,
    class_index: int | None = None,
) -> torch.Tensor:
    """One image per seed, [N, 3, H, W] in [-1, 1] on G's device; the same seed gives the same mask.

    A class-conditional G (``G.c_dim`` > 0) draws every seed as class ``class_index``, or without it
    seed ``s`` as class ``s mod c_dim``; an unconditional G refuses a ``class_index``.
    """
    device = next(G.parameters()).device
    z = latents_for_seeds(seeds, G.z_dim, device)
    c = seed_conditions(G, seeds, class_index)
    chunks = []
    for start in range(0, len(seeds), batch_size):
        part = z[start : start + batch_size]
        if c is None:
            chunks.append(G(part, truncation_psi=truncation, noise_mode=noise_mode))
        else:
            chunks.append(
                G(part, c[start : start + batch_size], truncation_psi=truncation, noise_mode=noise_mode)
            )
    return torch.cat(chunks)
