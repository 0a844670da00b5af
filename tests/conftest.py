"""Shared fixtures: tiny training configs, a fresh plugin registry, the CLI runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from maskgen.plugins import PluginRegistry, set_registry

# Small enough that a training iteration takes a few milliseconds on 2 CPU cores.
TINY_GENERATOR = {"z_dim": 32, "w_dim": 32, "mapping_layers": 2, "channel_base": 256, "channel_max": 32}


def tiny_config_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "resolution": 16,
        "batch": 4,
        "kimg": 0.016,
        "snapshot_kimg": 0.008,
        "dataset_count": 32,
        "generator_options": dict(TINY_GENERATOR),
        "augment": "none",
        "r1_interval": 2,
        "pl_interval": 2,
        "grid_size": 2,
        "device": "cpu",
    }
    values.update(overrides)
    return values


@pytest.fixture(autouse=True)
def _seed_and_threads() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _fresh_registry() -> Any:
    """Every test starts from the installed plugins, unaffected by registrations of other tests."""
    set_registry(None)
    yield
    set_registry(None)


@pytest.fixture
def registry() -> PluginRegistry:
    reg = PluginRegistry()
    set_registry(reg)
    return reg


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture
def tiny_config_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(tiny_config_values()), encoding="utf-8")
    return path
