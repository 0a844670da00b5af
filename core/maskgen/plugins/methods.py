"""What reports, model cards and tables say about a method, read from the plugin that provides it.

Every fact about a method (its display label, a one-line description, its BibTeX) lives in the
:class:`~maskgen.plugins.interfaces.PluginSpec` its plugin returns, so a third-party augmenter shows
up by its own label, with its own citation, with no change to maskgen. This module also holds the one
parser of stacked augmenter names (``apa+ada``).
"""

from __future__ import annotations

from maskgen.errors import MaskgenError
from maskgen.plugins.interfaces import PluginKind, PluginSpec
from maskgen.plugins.registry import PluginRegistry, get_registry

STACK_SEPARATOR = "+"


def split_stack(augment: str) -> list[str]:
    """'apa + ada' -> ['apa', 'ada']; a single name -> [name]. Empty parts are dropped."""
    return [part.strip() for part in str(augment).split(STACK_SEPARATOR) if part.strip()]


def parse_stack(augment: str) -> list[str]:
    """A stack the user typed: as :func:`split_stack`, but a missing name ('+', 'ada+', 'apa++ada') is
    one error line, not 'no augmenter' (stored configs keep the lenient reading)."""
    parts = [part.strip() for part in str(augment).split(STACK_SEPARATOR)]
    if not all(parts):
        raise MaskgenError(
            f"bad augmenter stack {augment!r}: a name is missing; join names with '+', e.g. apa+ada"
        )
    return parts


def join_stack(parts: list[str]) -> str:
    return STACK_SEPARATOR.join(parts)


def find_spec(name: str, kind: PluginKind, registry: PluginRegistry | None = None) -> PluginSpec | None:
    """The spec of an installed part, or None (a card or report of a run whose plugin is gone)."""
    try:
        registry = registry or get_registry()
    except Exception:  # a broken plugin environment must not break writing a card or a report
        return None
    return next((spec for spec in registry.specs(kind) if spec.name == name), None)


def method_label(name: str, kind: PluginKind = "augmenter", registry: PluginRegistry | None = None) -> str:
    """'none' -> 'StyleGAN2', 'apa+ada' -> 'APA+ADA'; a part without a label keeps its name."""
    parts = split_stack(name) if kind == "augmenter" else [name]
    labels = []
    for part in parts:
        spec = find_spec(part, kind, registry)
        labels.append(spec.label if spec is not None and spec.label else part)
    return join_stack(labels)


def method_description(
    name: str, kind: PluginKind, registry: PluginRegistry | None = None, default: str = ""
) -> str:
    spec = find_spec(name, kind, registry)
    return spec.description if spec is not None and spec.description else default


def method_citation(name: str, kind: PluginKind, registry: PluginRegistry | None = None) -> str | None:
    spec = find_spec(name, kind, registry)
    return spec.citation if spec is not None else None
