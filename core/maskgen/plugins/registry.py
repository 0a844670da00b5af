"""The plugin registry: maskgen's own parts registered directly, the rest found through entry points;
broken plugins are isolated, duplicate names refused."""

from __future__ import annotations

import importlib
import importlib.metadata as md
from dataclasses import dataclass
from typing import Any

import pluggy

from maskgen.errors import MaskgenError
from maskgen.plugins import hookspecs
from maskgen.plugins.interfaces import PLUGIN_KINDS, PluginKind, PluginSpec

ENTRY_POINT_GROUP = "maskgen"
# maskgen's own parts, registered directly (as pytest and llm do with theirs), not through entry points.
BUILTIN_PLUGINS = ("maskgen.plugins.builtin", "maskgen.evaluation.plugin")
_HOOK_OF_KIND: dict[PluginKind, str] = {
    "generator": "maskgen_generators",
    "augmenter": "maskgen_augmenters",
    "translator": "maskgen_translators",
    "evaluator": "maskgen_evaluators",
    "upscaler": "maskgen_upscalers",
}


@dataclass
class PluginProblem:
    """A plugin that could not be loaded or whose hook failed; shown by ``maskgen list-plugins``."""

    source: str
    distribution: str
    error: str


class PluginRegistry:
    """All parts known to this process, by kind and name.

    ``PluginRegistry()`` holds maskgen's own parts and the installed entry points;
    ``PluginRegistry(entry_points=False)`` starts empty, for tests that ``register`` plugin objects
    directly.
    """

    def __init__(self, entry_points: bool = True) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._specs: dict[PluginKind, dict[str, PluginSpec]] = {kind: {} for kind in PLUGIN_KINDS}
        self._checkpoints: dict[str, tuple[str, str]] = {}
        self.problems: list[PluginProblem] = []
        if entry_points:
            self._load_builtins()
            self._load_entry_points()

    # -- loading -----------------------------------------------------------------------------------

    def _load_builtins(self) -> None:
        from maskgen import __version__

        for module_name in BUILTIN_PLUGINS:
            self.register(
                importlib.import_module(module_name), "maskgen", __version__, f"maskgen:{module_name}"
            )

    def _load_entry_points(self) -> None:
        for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = ep.dist.name if ep.dist is not None else "unknown"
            version = ep.dist.version if ep.dist is not None else "unknown"
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must not break other commands
                self.problems.append(PluginProblem(f"entry point {ep.name!r}", dist, _one_line(exc)))
                continue
            try:
                self.register(plugin, distribution=dist, version=version, name=f"{dist}:{ep.name}")
            except MaskgenError as exc:
                self.problems.append(PluginProblem(f"entry point {ep.name!r}", dist, str(exc)))

    def register(
        self, plugin: Any, distribution: str = "direct", version: str = "", name: str | None = None
    ) -> None:
        """Register a plugin object (module or instance with hook implementations).

        Raises :class:`MaskgenError` when one of its names is already taken; nothing of the plugin
        is registered then. A hook that raises is recorded in ``problems`` and skipped.
        """
        name = name or f"{distribution}:{id(plugin)}"
        self._pm.register(plugin, name=name)
        try:
            new_specs = self._collect(plugin, distribution, version)
        except MaskgenError:
            self._pm.unregister(plugin)
            raise
        for spec in new_specs:
            self._specs[spec.kind][spec.name] = spec

    def _collect(self, plugin: Any, distribution: str, version: str) -> list[PluginSpec]:
        collected: list[PluginSpec] = []
        for kind, hook_name in _HOOK_OF_KIND.items():
            for spec in self._call(plugin, hook_name, distribution) or []:
                if spec.kind != kind:
                    raise MaskgenError(f"plugin {distribution} returned a {spec.kind} from {hook_name}")
                spec.distribution, spec.version = distribution, version
                taken = self._specs[kind].get(spec.name) or next(
                    (s for s in collected if s.kind == kind and s.name == spec.name), None
                )
                if taken is not None:
                    raise MaskgenError(
                        f"duplicate {kind} name {spec.name!r}: provided by both "
                        f"{taken.distribution} and {distribution}"
                    )
                collected.append(spec)
        for short, target in (
            self._call(plugin, "maskgen_pretrained_checkpoints", distribution) or {}
        ).items():
            self._checkpoints[short] = (target, distribution)
        return collected

    def _call(self, plugin: Any, hook_name: str, distribution: str) -> Any:
        """Call one hook of one plugin only, so every spec can be traced to its distribution."""
        others = [p for p in self._pm.get_plugins() if p is not plugin]
        caller = self._pm.subset_hook_caller(hook_name, remove_plugins=others)
        try:
            results = caller()
        except Exception as exc:
            self.problems.append(PluginProblem(f"hook {hook_name}", distribution, _one_line(exc)))
            return None
        return results[0] if results else None

    # -- lookup ------------------------------------------------------------------------------------

    def specs(self, kind: PluginKind) -> list[PluginSpec]:
        return sorted(self._specs[kind].values(), key=lambda s: s.name)

    def names(self, kind: PluginKind) -> list[str]:
        return [s.name for s in self.specs(kind)]

    def get(self, kind: PluginKind, name: str) -> PluginSpec:
        try:
            return self._specs[kind][name]
        except KeyError:
            valid = ", ".join(self.names(kind)) or "none installed"
            raise MaskgenError(f"unknown {kind} {name!r}; valid {kind}s: {valid}") from None

    def pretrained_checkpoints(self) -> dict[str, tuple[str, str]]:
        """Short name -> (OWNER/REPO@REVISION, distribution)."""
        return dict(self._checkpoints)


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


_registry: PluginRegistry | None = None


def get_registry() -> PluginRegistry:
    """The process-wide registry, loaded on first use."""
    global _registry
    if _registry is None:
        _registry = PluginRegistry()
    return _registry


def set_registry(registry: PluginRegistry | None) -> None:
    """Replace the process-wide registry (tests); ``None`` reloads it on next use."""
    global _registry
    _registry = registry
