"""Build parts from plugin specs and option dicts, turning bad options into one-line errors.

Augmenters, which may be stacked, are built by :func:`maskgen.augment.build_augmenter`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
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


def accepts_keyword(function: Callable[..., Any], name: str) -> bool:
    """Whether ``function`` takes the keyword argument ``name`` (by name or through ``**kwargs``);
    True when its signature cannot be read, so that the call itself decides."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind is p.VAR_KEYWORD or (p.name == name and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        for p in parameters
    )


def build_gan(
    name: str,
    options: dict[str, Any],
    resolution: int,
    d_c_dim: int,
    registry: PluginRegistry | None = None,
    c_dim: int = 0,
) -> tuple[torch.nn.Module, torch.nn.Module]:
    """G and D of generator plugin ``name``. ``d_c_dim``: columns of D's conditioning (the class
    one-hot, then the augmenter's c); ``c_dim``: G's class columns, passed as ``c_dim=`` only when
    non-zero, so that factories of unconditional-only plugins keep their three arguments."""
    registry = registry or get_registry()
    spec = registry.get("generator", name)
    parsed = parse_options("generator", name, options, registry)
    extra = {"c_dim": c_dim} if c_dim else {}
    if extra and not accepts_keyword(spec.factory, "c_dim"):
        raise MaskgenError(f"generator {name!r} cannot be class-conditional (--cond)")
    try:
        return spec.factory(parsed, resolution, d_c_dim, **extra)
    except ValueError as exc:
        raise MaskgenError(f"cannot build generator {name!r}: {exc}") from None
