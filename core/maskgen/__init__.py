"""maskgen: generate Peking opera facial masks from small image collections.

The plugin-author API is importable from here (``from maskgen import hookimpl, Augmenter, Options``);
it is loaded on first use, so ``import maskgen`` stays cheap. So is the Python API (docs/python.md):
``maskgen.load("base:NAME").generate(seeds=range(8))``, ``maskgen.load_translator()`` (``maskgen.api``).
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("maskgen")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

# name -> module that defines it
_PLUGIN_API = {
    "hookimpl": "maskgen.plugins.hookspecs",
    "PluginSpec": "maskgen.plugins.interfaces",
    "Options": "maskgen.plugins.interfaces",
    "Augmenter": "maskgen.plugins.interfaces",
    "AugmentContext": "maskgen.plugins.interfaces",
    "Evaluator": "maskgen.plugins.interfaces",
    "Translator": "maskgen.plugins.interfaces",
    "SignHeuristicAugmenter": "maskgen.augment.adaptive",
    "MaskgenError": "maskgen.errors",
    **dict.fromkeys("load load_translator list_models MaskGenerator MaskTranslator".split(), "maskgen.api"),
}

__all__ = ["__version__", *_PLUGIN_API]


def __getattr__(name: str) -> Any:
    module = _PLUGIN_API.get(name)
    if module is None:
        raise AttributeError(f"module 'maskgen' has no attribute {name!r}")
    return getattr(import_module(module), name)
