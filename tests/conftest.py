"""Fixtures shared by the studio tests (test_studio_*.py): one tiny generator and translator per session,
and one studio serving them on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch


@dataclass
class StudioModels:
    generator: Path  # a 16 px GAN checkpoint (run/checkpoints/latest)
    translator: Path  # a 16 px CoCosNet run
    root: Path


@dataclass
class RunningStudio:
    url: str
    page: Any
    studio: Any
    models: StudioModels


@pytest.fixture(scope="session")
def studio_models(tmp_path_factory: pytest.TempPathFactory) -> StudioModels:
    """Two iterations of each, on one thread (a few seconds in all)."""
    from maskgen.config import validate_config
    from maskgen.testing import tiny_config_values, tiny_translate_values
    from maskgen.training.loop import train
    from maskgen.translation.config import validate_translate_config
    from maskgen.translation.trainer import train as train_translator

    root = tmp_path_factory.mktemp("studio-models")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        run = train(
            validate_config(tiny_config_values(kimg=0.008, snapshot_kimg=0.008)), out_root=root / "runs"
        )
        translator = train_translator(
            validate_translate_config(tiny_translate_values(kimg=0.008, snapshot_kimg=0.008)),
            out_root=root / "translate",
        )
    finally:
        torch.set_num_threads(threads)
    return StudioModels(run / "checkpoints" / "latest", translator, root)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def studio_server(
    studio_models: StudioModels, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStudio]:
    """The studio on 127.0.0.1 serving the tiny models, as `maskgen studio --checkpoint G --translator T`
    starts it (queue of 16)."""
    pytest.importorskip("gradio", reason="the studio extra is not installed: pip install 'maskgen[studio]'")
    from maskgen.studio.handlers import Limits
    from maskgen.studio.server import StudioConfig, create, launch

    config = StudioConfig(
        checkpoints=[str(studio_models.generator)],
        translators=[str(studio_models.translator)],
        port=free_port(),
        queue_size=16,
        temp_dir=tmp_path_factory.mktemp("studio-temp"),
        runs_root=tmp_path_factory.mktemp("studio-runs"),  # the Train tab's collections and runs
        limits=Limits(max_pixels=1024 * 1024),
    )
    page, studio = create(config)
    launch(page, config, block=False)
    try:
        yield RunningStudio(f"http://127.0.0.1:{config.port}/", page, studio, studio_models)
    finally:
        page.close()
