"""The plugin system: hook specifications, the registry, the interfaces every part implements, and
the factories that build parts from specs. maskgen's own parts (StyleGAN2, the ``none`` augmenter, the
evaluators) are registered here directly; everything else arrives through the ``maskgen`` entry points.
"""

from maskgen.plugins.registry import PluginProblem, PluginRegistry, get_registry, set_registry

__all__ = ["PluginProblem", "PluginRegistry", "get_registry", "set_registry"]
