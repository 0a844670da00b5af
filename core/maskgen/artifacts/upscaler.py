"""The upscaler a checkpoint holds, rebuilt for inference, and the cascade's second stage applied.

An upscaler checkpoint (config.json ``kind: "upscaler"``) holds ``U_ema`` (what inference uses) in
model.safetensors and, in a training run's snapshots and the shipped base upscaler, ``U`` and/or ``D`` in
training_weights.safetensors. A GAN checkpoint carries its run's fine-tuned upscaler in the sub-folder
``upscaler/`` (model.safetensors only), so one folder, pushed or pulled, draws print-size masks. The
shipped base GANs draw at print size with the shipped base upscaler.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from maskgen.artifacts.base_models import base_models_dir, list_base_models, read_base_config
from maskgen.artifacts.checkpoint import (
    Checkpoint,
    load_checkpoint,
    load_strict,
    resolve_checkpoint_dir,
    split_weights,
)
from maskgen.artifacts.layout import CONFIG_FILE, MODEL_FILE
from maskgen.errors import MaskgenError
from maskgen.plugins import get_registry
from maskgen.plugins.factory import parse_options
from maskgen.plugins.registry import PluginRegistry

UPSCALER = "upscaler"  # the checkpoint kind, and the sub-folder of a GAN checkpoint that holds one
INFERENCE_PREFIX = "U_ema"


def build_upscaler(
    name: str, options: dict[str, Any], scale: int, registry: PluginRegistry | None = None
) -> torch.nn.Module:
    """The network of upscaler plugin ``name`` for ``scale``; bad options are one line."""
    registry = registry or get_registry()
    spec = registry.get("upscaler", name)
    parsed = parse_options("upscaler", name, options, registry)
    try:
        return spec.factory(parsed, scale)
    except ValueError as exc:
        raise MaskgenError(f"cannot build upscaler {name!r}: {exc}") from None


def check_upscaler_config(config: dict[str, Any], path: Path) -> None:
    if config.get("kind") != UPSCALER:
        raise MaskgenError(
            f"{path} is a {config.get('kind') or 'unknown'} checkpoint, not an upscaler "
            "(train one with: maskgen upscale train)"
        )
    for key in ("upscaler", "scale", "size"):
        if key not in config:
            raise MaskgenError(f"{path} is a damaged upscaler checkpoint: config.json has no {key!r}")


def load_upscaler(path: str | Path, device: torch.device) -> tuple[torch.nn.Module, Checkpoint]:
    """The averaged upscaler of an upscaler checkpoint, ready for inference on ``device``."""
    checkpoint = load_checkpoint(path, inference_only=True)
    config = checkpoint.config
    check_upscaler_config(config, checkpoint.path)
    network = build_upscaler(
        str(config["upscaler"]), dict(config.get("upscaler_options") or {}), int(config["scale"])
    )
    weights = split_weights(checkpoint.weights, INFERENCE_PREFIX)
    load_strict(network, weights, f"upscaler {config['upscaler']!r} ({config['scale']}x)")
    return network.to(device).eval().requires_grad_(False), checkpoint


def base_upscalers() -> list[Path]:
    """The shipped base upscalers, by name."""
    return list_base_models(UPSCALER)


def base_upscaler_for(small_size: int, size: int | None = None) -> Path | None:
    """The shipped base upscaler that enlarges ``small_size`` px masks (to ``size`` px where one does)."""
    fitting = []
    for directory in base_upscalers():
        config = read_base_config(directory) or {}
        if config.get("small_size") == small_size:
            fitting.append((config.get("size") != size, directory))
    return min(fitting)[1] if fitting else None


def matching_base_upscaler(name: str, options: dict[str, Any], scale: int, size: int) -> Path | None:
    """The shipped base upscaler of this plugin, options, scale and output size, or None."""
    for directory in base_upscalers():
        config = read_base_config(directory) or {}
        same = (config.get("upscaler"), config.get("scale"), config.get("size")) == (name, scale, size)
        if same and (config.get("upscaler_options") or {}) == options:
            return directory
    return None


def upscaler_for(gan: Checkpoint) -> Path | None:
    """Where the upscaler of a GAN checkpoint is: its own ``upscaler/`` folder, or for a shipped base
    GAN the shipped base upscaler that enlarges its resolution; None when it has none."""
    own = gan.path / UPSCALER
    if (own / MODEL_FILE).is_file() or (own / CONFIG_FILE).is_file():
        return own
    try:
        shipped = gan.path.resolve().parent == base_models_dir().resolve()
    except OSError:
        shipped = False
    if not shipped:
        return None
    resolution = (gan.config.get("train") or {}).get("resolution")
    return base_upscaler_for(resolution) if isinstance(resolution, int) else None


def resolve_upscaler(gan: Checkpoint, explicit: str | None) -> Path | None:
    """``explicit`` (PATH, base:NAME, hf://...) when given, else :func:`upscaler_for`."""
    return upscaler_for(gan) if explicit is None else resolve_checkpoint_dir(explicit)


@torch.no_grad()
def upscale(network: torch.nn.Module, images: torch.Tensor, batch_size: int = 16) -> torch.Tensor:
    """Small images [N, 3, h, w] in [-1, 1] -> large ones, clamped to [-1, 1], on the network's device."""
    device = next(network.parameters()).device
    out = [
        network(images[start : start + batch_size].to(device)).clamp(-1, 1)
        for start in range(0, len(images), batch_size)
    ]
    return torch.cat(out) if out else images.new_zeros((0, 3, 0, 0))


def attach_upscaler(gan_dir: Path, upscaler_dir: Path) -> Path:
    """Put the inference weights of an upscaler checkpoint into a GAN checkpoint, as ``upscaler/``.

    Written beside its place and renamed into it, so a reader sees the old folder or the new one whole;
    a GAN checkpoint with its upscaler is then one folder to push, pull and draw from.
    """
    import json
    import os
    import shutil
    import tempfile

    from maskgen.artifacts.checkpoint import write_weights
    from maskgen.artifacts.layout import README_FILE, SAMPLES_FILE

    source = load_checkpoint(upscaler_dir, inference_only=True)
    check_upscaler_config(source.config, source.path)
    weights = {k: v for k, v in source.weights.items() if k.startswith(INFERENCE_PREFIX + ".")}
    gan_dir = Path(gan_dir).resolve()
    final = gan_dir / UPSCALER
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-upscaler-", dir=gan_dir))
    try:
        write_weights(tmp, weights, UPSCALER)  # U_ema alone: model.safetensors, nothing else
        (tmp / CONFIG_FILE).write_text(json.dumps(source.config, indent=2, sort_keys=True), encoding="utf-8")
        for extra in (README_FILE, SAMPLES_FILE):
            if (source.path / extra).is_file():
                shutil.copyfile(source.path / extra, tmp / extra)
        if final.exists():
            old = gan_dir / f".old-upscaler-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
