"""The settings of benchmarks/quality_per_minute.py are data: every entry is a valid run, every result
recorded in benchmarks/results names one, and none points at a folder of one machine."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import quality_per_minute as qpm  # noqa: E402


@pytest.mark.parametrize("name", sorted(qpm.SETTINGS))
def test_every_setting_is_a_valid_run(name: str) -> None:
    from maskgen.config import resolve_config

    setting = qpm.SETTINGS[name]
    assert setting.description
    if setting.retired:
        with pytest.raises(SystemExit, match="retired"):
            qpm.training_options(name)
        return
    if setting.needs_init:
        with pytest.raises(SystemExit, match="--init"):
            qpm.training_options(name)
    options = qpm.training_options(name, init="none" if setting.needs_init else None)
    config = resolve_config(options, data="builtin", resolution=qpm.RESOLUTION, kimg=1e6, device="cpu")
    assert config.augment == options["augment"]
    assert "runs/" not in json.dumps(setting.options)  # no folder that existed on one machine only


def test_every_recorded_result_names_a_setting() -> None:
    for style in qpm.COLLECTIONS:
        results = qpm.load_results(qpm.Collection.named(style))
        recorded = {m["setting"] for m in results["measurements"]}
        assert recorded <= set(qpm.SETTINGS), (style, recorded - set(qpm.SETTINGS))
