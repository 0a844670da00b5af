"""Build the augmenter of a run from its name: one plugin, or several stacked with '+' ('apa+ada')."""

from __future__ import annotations

from typing import Any

from maskgen.augment.stack import AugmenterStack
from maskgen.plugins.factory import parse_options
from maskgen.plugins.interfaces import AugmentContext, Augmenter
from maskgen.plugins.methods import parse_stack
from maskgen.plugins.registry import PluginRegistry, get_registry


def build_augmenter(
    name: str, options: dict[str, Any], context: AugmentContext, registry: PluginRegistry | None = None
) -> Augmenter:
    """One augmenter, or several stacked with '+' (e.g. 'apa+ada'), applied left to right."""
    registry = registry or get_registry()
    names = parse_stack(name)
    parts = []
    for part in names:
        # Options of a stack are keyed by augmenter name: {"ada": {...}, "apa": {...}}.
        part_options = options.get(part, {}) if len(names) > 1 else options
        spec = registry.get("augmenter", part)
        parts.append(spec.factory(parse_options("augmenter", part, part_options, registry), context))
    if len(parts) == 1:
        return parts[0].to(context.device)
    return AugmenterStack(parts, names).to(context.device)
