"""The shared fixtures and helpers live in :mod:`maskgen.testing`, which pyproject.toml loads for every
test folder (``addopts = "-p maskgen.testing"``). This file only keeps ``from conftest import ...`` working
for the modules that still import the helpers from here; new code imports them from maskgen.testing."""

from maskgen.testing import TINY_GENERATOR, tiny_config_values

__all__ = ["TINY_GENERATOR", "tiny_config_values"]
