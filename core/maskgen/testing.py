"""Test helpers for maskgen and its plugins: plain helpers, and a pytest plugin with the shared fixtures.

The helpers import like any module::

    from maskgen.testing import assert_one_line_error, registry_of, require_installed, tiny_config_values

The fixtures (``cli``, ``registry``, ``tiny_config_file``, ``one_thread`` and two autouse ones: a fixed
seed with two CPU threads, and a registry reloaded for every test) come with the plugin: maskgen's own
``pyproject.toml`` loads it for every test folder (``addopts = "-p maskgen.testing"``); a plugin
developed on its own does the same, or names it in a top-level ``conftest.py``:
``pytest_plugins = ["maskgen.testing"]``.

Needs pytest (maskgen's ``dev`` extra).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import socket
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from maskgen.plugins import PluginRegistry, set_registry

# -- tiny configurations -------------------------------------------------------------------------------

# Small enough that a training iteration takes a few milliseconds on 2 CPU cores.
TINY_GENERATOR: dict[str, Any] = {
    "z_dim": 32,
    "w_dim": 32,
    "mapping_layers": 2,
    "channel_base": 256,
    "channel_max": 32,
}

# Widths of the translators this repository ships that train a step in milliseconds at 16 px.
_TINY_SPADE_GENERATOR_AND_D: dict[str, Any] = {  # the parts both share: SPADE blocks, the PatchGANs
    "ngf": 4,
    "g_max_channels": 16,
    "spade_hidden": 8,
    "g_spectral_norm": False,
    "ndf": 8,
    "d_layers": 2,
    "num_d": 1,
}
TINY_TRANSLATOR_OPTIONS: dict[str, dict[str, Any]] = {
    "cocosnet": {"adaptor_nf": 4, "w_channels": 8, **_TINY_SPADE_GENERATOR_AND_D},
    "spade": {**_TINY_SPADE_GENERATOR_AND_D, "z_dim": 8, "enc_nf": 4},
}


def tiny_config_values(**overrides: Any) -> dict[str, Any]:
    """Values of a GAN training config (``maskgen run``) that trains at 16 px in milliseconds."""
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
        # The plain run these tests were written against, where the cpu preset (the schema's defaults)
        # adds its recipe: mirrored copies, framing, its R1 weight and augmenter speed.
        "xflip": False,
        "frame": False,
        "r1_gamma": None,
        "augment_speed_kimg": 500.0,
        "metrics": [],  # no quality measured at snapshots: seconds per tiny run, for no test's sake
    }
    values.update(overrides)
    return values


def tiny_translate_values(translator: str = "cocosnet", **overrides: Any) -> dict[str, Any]:
    """Values of a translation training config (``maskgen translate train``) at 16 px, random features.

    ``translator_options`` are :data:`TINY_TRANSLATOR_OPTIONS` for the translators listed there, empty
    (the translator's defaults) otherwise; pass ``translator_options=...`` for another translator.
    """
    values: dict[str, Any] = {
        "translator": translator,
        "translator_options": dict(TINY_TRANSLATOR_OPTIONS.get(translator, {})),
        "size": 16,
        "batch": 4,
        "kimg": 0.016,
        "snapshot_kimg": 0.008,
        "dataset_count": 16,
        "features": "random",
        "device": "cpu",
        "sheet_rows": 2,
    }
    return values | overrides


TINY_UPSCALER_OPTIONS = {"channels": 8, "blocks": 1, "growth": 4}


def tiny_upscale_values(**overrides: Any) -> dict[str, Any]:
    """Values of an upscaler training config (``maskgen upscale train``): 16 -> 64 px on a few detailed
    built-in masks, in seconds."""
    values: dict[str, Any] = {
        "data": "builtin-detailed",
        "dataset_count": 6,
        "size": 64,
        "scale": 4,
        "crop": 32,
        "batch": 2,
        "kimg": 0.008,
        "snapshot_kimg": 0.004,
        "adversarial_start_kimg": 0.002,
        "upscaler_options": dict(TINY_UPSCALER_OPTIONS),
        "init": "none",
        "device": "cpu",
    }
    return values | overrides


# -- assertions ----------------------------------------------------------------------------------------


def assert_one_line_error(result: Any, *fragments: str, exit_code: int | tuple[int, ...] = 1) -> str:
    """A CLI result (typer's ``CliRunner``) that failed the way maskgen fails: exit code 1 (or one of
    ``exit_code``; usage errors exit with 2), exactly one ``error: ...`` line on stderr, no traceback;
    every fragment in that line. Returns the line."""
    codes = (exit_code,) if isinstance(exit_code, int) else exit_code
    assert result.exit_code in codes, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def cli_ending_problem(result: Any) -> str | None:
    """What is wrong with how a CLI run ended, or None: it must exit 0, or exit non-zero with exactly
    one ``error: ...`` line on stderr; an exception escaping the command (a traceback for the user) is
    reported with the place it was raised. For tests that collect every problem before failing."""
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if "maskgen" in f.filename] or frames
        where = f" at {Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else ""
        message = " ".join(str(exc).split())[:160]
        return f"traceback: {type(exc).__name__}: {message}{where}"
    if result.exit_code == 0:
        return None
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if len(lines) == 1 and lines[0].startswith("error: "):
        return None
    shown = " | ".join(" ".join(line.split()) for line in lines[:4])[:240]
    return f"exit {result.exit_code} with {len(lines)} stderr lines: {shown}"


# -- installed distributions ---------------------------------------------------------------------------


def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution (e.g. "maskgen-augment-apa"), None if not installed."""
    try:
        return md.version(distribution)
    except md.PackageNotFoundError:
        return None


def require_installed(distribution: str) -> str:
    """The installed version of ``distribution``; skips the calling test when it is not installed."""
    version = installed_version(distribution)
    if version is None:
        pytest.skip(f"{distribution} is not installed (the setup script installs it)")
    return version


# -- registries ----------------------------------------------------------------------------------------


def registry_of(*plugins: object, builtins: bool = True) -> PluginRegistry:
    """A registry of maskgen's built-in parts (unless ``builtins=False``) plus the given plugin objects,
    registered directly, installed or not; each plugin's distribution is its top-level package name."""
    import maskgen.plugins.builtin as builtin_plugins

    registry = PluginRegistry(entry_points=False)
    if builtins:
        registry.register(builtin_plugins, distribution="maskgen")
    for plugin in plugins:
        name = getattr(plugin, "__name__", type(plugin).__module__)
        registry.register(plugin, distribution=name.split(".")[0])
    return registry


# -- fixtures (the pytest plugin) ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _seed_and_threads() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    """Every test starts from the installed plugins, unaffected by registrations of other tests."""
    set_registry(None)
    yield
    set_registry(None)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One intra-op thread for the test: on tiny tensors extra threads only add synchronisation, which
    on a busy 2-core machine made single convolutions take 100+ ms. Restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def registry() -> PluginRegistry:
    """An installed-plugins registry that is also the process-wide one for the test."""
    reg = PluginRegistry()
    set_registry(reg)
    return reg


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture
def tiny_config_file(tmp_path: Path) -> Path:
    """:func:`tiny_config_values` as a JSON config file."""
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(tiny_config_values()), encoding="utf-8")
    return path


LOOPBACK = ("127.0.0.1", "::1", "localhost")


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt of this process to connect beyond loopback fails the test (``usefixtures`` it, or
    wrap it in an autouse fixture of a module that talks to servers)."""
    connect, create_connection = socket.socket.connect, socket.create_connection

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            raise AssertionError(f"a test tried to use the network: {address}")
        return connect(self, address)

    def guarded_create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        if address[0] not in LOOPBACK:
            raise AssertionError(f"a test tried to use the network: {address}")
        return create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "create_connection", guarded_create_connection)
