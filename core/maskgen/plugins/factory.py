"""Build parts from plugin specs and option dicts, turning bad options into one-line errors."""

from __future__ import annotations

from typing import Any

import torch
from pydantic import ValidationError

from maskgen.config import format_validation_error
from maskgen.errors import MaskgenError
from maskgen.plugins.interfaces import AugmentContext, Augmenter, Options, PluginKind
from maskgen.plugins.methods import split_stack
from maskgen.plugins.registry import PluginRegistry, get_registry


def parse_options(kind: PluginKind, name: str, values: dict[str, Any], registry: PluginRegistry) -> Options:
    spec = registry.get(kind, name)
    try:
        return spec.options.model_validate(values)
    except ValidationError as exc:
        raise MaskgenError(f"bad options for {kind} {name!r}: {format_validation_error(exc)}") from None


def build_augmenter(
    name: str, options: dict[str, Any], context: AugmentContext, registry: PluginRegistry | None = None
) -> Augmenter:
    """One augmenter, or several stacked with '+' (e.g. 'apa+ada'), applied left to right."""
    registry = registry or get_registry()
    names = split_stack(name)
    parts = []
    for part in names:
        # Options of a stack are keyed by augmenter name: {"ada": {...}, "apa": {...}}.
        part_options = options.get(part, {}) if len(names) > 1 else options
        spec = registry.get("augmenter", part)
        parts.append(spec.factory(parse_options("augmenter", part, part_options, registry), context))
    if len(parts) == 1:
        return parts[0].to(context.device)
    from maskgen.augment.stack import AugmenterStack

    return AugmenterStack(parts, names).to(context.device)


def build_gan(
    name: str, options: dict[str, Any], resolution: int, d_c_dim: int, registry: PluginRegistry | None = None
) -> tuple[torch.nn.Module, torch.nn.Module]:
    registry = registry or get_registry()
    spec = registry.get("generator", name)
    try:
        return spec.factory(parse_options("generator", name, options, registry), resolution, d_c_dim)
    except ValueError as exc:
        raise MaskgenError(f"cannot build generator {name!r}: {exc}") from None
