"""The example third-party plugin, installed as a user would install it (scripts/setup.sh does in CI)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from maskgen.cli.main import app
from maskgen.config import validate_config
from maskgen.testing import installed_version, tiny_config_values
from maskgen.training.loop import Trainer

pytestmark = pytest.mark.skipif(
    installed_version("maskgen-augment-template") is None and os.environ.get("CI") != "true",
    reason="example plugin not installed (run scripts/setup.sh); CI always installs it",
)


def test_template_plugin_is_listed(cli) -> None:
    result = cli.invoke(app, ["list-plugins", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)["plugins"]
    row = next(r for r in rows if r["name"] == "noise")
    assert row["kind"] == "augmenter" and row["distribution"] == "maskgen-augment-template"


def test_template_plugin_trains_one_step(tmp_path: Path) -> None:
    config = validate_config(tiny_config_values(augment="noise", augment_options={"std": 0.2}))
    trainer = Trainer(config, tmp_path)
    before = [p.detach().clone() for p in trainer.G.parameters()]
    losses = trainer.step()
    assert all(torch.isfinite(v) for v in losses.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.G.parameters(), strict=True))
    assert trainer.augmenter.stats()["augment/strength"] == pytest.approx(0.2)
