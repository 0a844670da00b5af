"""Import paths of maskgen 0.1 that third-party plugins use, mapped onto the current layout.

``import maskgen.hookspecs`` (and ``from maskgen.interfaces import Augmenter``) keep working: the old
name is bound to the very module object of the new one, so isinstance checks and hook markers agree.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

LEGACY_MODULES = {
    "maskgen.hookspecs": "maskgen.plugins.hookspecs",
    "maskgen.interfaces": "maskgen.plugins.interfaces",
    "maskgen.factory": "maskgen.plugins.factory",
    "maskgen.builtin_plugins": "maskgen.plugins.builtin",
    "maskgen.adaptive": "maskgen.augment.adaptive",
    "maskgen.augment_stack": "maskgen.augment.stack",
    "maskgen.checkpoint": "maskgen.artifacts.checkpoint",
    "maskgen.modelcard": "maskgen.artifacts.modelcard",
    "maskgen.hub": "maskgen.artifacts.hub_pull",
    "maskgen.generate": "maskgen.artifacts.generator",
    "maskgen.compare": "maskgen.apps.compare",
    "maskgen.sketch": "maskgen.data.sketch",
    "maskgen.distributed": "maskgen.training.distributed",
}


class _LegacyPathFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self) -> None:
        self._own_specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def find_spec(
        self, fullname: str, path: object, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in LEGACY_MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(LEGACY_MODULES[spec.name])
        self._own_specs[module.__name__] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import machinery stamped the alias's spec on the real module; give it its own back.
        module.__spec__ = self._own_specs[module.__name__]


def install() -> None:
    if not any(isinstance(finder, _LegacyPathFinder) for finder in sys.meta_path):
        sys.meta_path.append(_LegacyPathFinder())
