"""The plugin registry: entry points, broken plugins, duplicates, direct registration."""

from __future__ import annotations

import importlib.metadata as md
import json

import pytest
import torch

from maskgen.augment import build_augmenter
from maskgen.cli.main import app
from maskgen.errors import MaskgenError
from maskgen.plugins import PluginRegistry, set_registry
from maskgen.plugins.hookspecs import hookimpl
from maskgen.plugins.interfaces import AugmentContext, Augmenter, PluginSpec

CONTEXT = AugmentContext(resolution=16, batch_size=4, total_kimg=1.0, device=torch.device("cpu"))


class _Flip(Augmenter):
    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, None]:
        return images.flip(3), None


class _FlipPlugin:
    @hookimpl
    def maskgen_augmenters(self) -> list[PluginSpec]:
        return [PluginSpec("augmenter", "flip-test", "test flip", lambda options, context: _Flip())]


class _NoneClash:
    @hookimpl
    def maskgen_augmenters(self) -> list[PluginSpec]:
        return [PluginSpec("augmenter", "none", "another none", lambda options, context: _Flip())]


class _RaisingHook:
    @hookimpl
    def maskgen_augmenters(self) -> list[PluginSpec]:
        raise RuntimeError("boom in hook")


def test_builtins_register_through_entry_points(registry: PluginRegistry) -> None:
    assert registry.get("generator", "stylegan2").distribution == "maskgen"
    assert registry.get("augmenter", "none").distribution == "maskgen"
    assert registry.get("augmenter", "none").version == md.version("maskgen")


def test_direct_registration_without_installing() -> None:
    registry = PluginRegistry(entry_points=False)
    registry.register(_FlipPlugin(), distribution="my-tests", version="9.9")
    spec = registry.get("augmenter", "flip-test")
    assert (spec.distribution, spec.version) == ("my-tests", "9.9")
    augmenter = build_augmenter("flip-test", {}, CONTEXT, registry)
    images = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert torch.equal(augmenter(images)[0], images.flip(3))


def test_duplicate_name_refused_naming_both_distributions(registry: PluginRegistry) -> None:
    with pytest.raises(MaskgenError) as info:
        registry.register(_NoneClash(), distribution="clashing-dist")
    assert "maskgen" in str(info.value) and "clashing-dist" in str(info.value)
    # The original stays; nothing of the refused plugin was registered.
    assert registry.get("augmenter", "none").distribution == "maskgen"


def test_raising_hook_is_isolated(registry: PluginRegistry) -> None:
    registry.register(_RaisingHook(), distribution="broken-dist")
    assert any(p.distribution == "broken-dist" and "boom in hook" in p.error for p in registry.problems)
    assert "none" in registry.names("augmenter")


def test_unknown_name_lists_valid_ones(registry: PluginRegistry) -> None:
    with pytest.raises(MaskgenError, match=r"unknown augmenter 'nope'; valid augmenters: .*none"):
        registry.get("augmenter", "nope")


def _with_broken_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    real = md.entry_points

    def fake_entry_points(**kwargs: str) -> list[md.EntryPoint]:
        found = list(real(**kwargs))
        return found + [md.EntryPoint("broken", "maskgen_no_such_module_xyz", "maskgen")]

    monkeypatch.setattr(md, "entry_points", fake_entry_points)
    set_registry(None)


def test_broken_entry_point_reported_and_other_commands_work(monkeypatch, cli, tmp_path) -> None:
    _with_broken_entry_point(monkeypatch)
    result = cli.invoke(app, ["list-plugins", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert any("maskgen_no_such_module_xyz" in p["error"] for p in payload["broken"])
    assert any(row["name"] == "none" and row["distribution"] == "maskgen" for row in payload["plugins"])
    # A command that builds parts still works with a broken plugin installed.
    result = cli.invoke(app, ["run", "--augment", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "valid augmenters" in result.stderr


def test_list_plugins_table_shows_distribution_and_version(cli) -> None:
    result = cli.invoke(app, ["list-plugins"])
    assert result.exit_code == 0
    assert "stylegan2" in result.stdout and md.version("maskgen") in result.stdout
