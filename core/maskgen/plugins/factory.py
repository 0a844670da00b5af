"""Build parts from plugin specs and option dicts, turning bad options into one-line errors.

Augmenters, which may be stacked, are built by :func:`maskgen.augment.build_augmenter`.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import ValidationError

from maskgen.config import format_validation_error
from maskgen.errors import MaskgenError
from maskgen.plugins.interfaces import Options, PluginKind
from maskgen.plugins.registry import PluginRegistry, get_registry


def parse_options(kind: PluginKind, name: str, values: dict[str, Any], registry: PluginRegistry) -> Options:
    spec = registry.get(kind, name)
    try:
        return spec.options.model_validate(values)
    except ValidationError as exc:
        raise MaskgenError(f"bad options for {kind} {name!r}: {format_validation_error(exc)}") from None


def build_gan(
    name: str, options: dict[str, Any], resolution: int, d_c_dim: int, registry: PluginRegistry | None = None
) -> tuple[torch.nn.Module, torch.nn.Module]:
    registry = registry or get_registry()
    spec = registry.get("generator", name)
    try:
        return spec.factory(parse_options("generator", name, options, registry), resolution, d_c_dim)
    except ValueError as exc:
        raise MaskgenError(f"cannot build generator {name!r}: {exc}") from None
