"""Configuration layering and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskgen.config import PRESETS, read_config_file, resolve_config
from maskgen.errors import MaskgenError


def test_preset_then_file_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("batch: 8\nkimg: 3\ngenerator_options:\n  channel_max: 64\n", encoding="utf-8")
    config = resolve_config(read_config_file(path), kimg=5.0, seed=None)
    assert config.batch == 8  # file over preset
    assert config.kimg == 5.0  # flag over file
    assert config.resolution == PRESETS["cpu"]["resolution"]  # preset where nothing else says
    # Nested dicts merge: the file changed one generator option and kept the preset's others.
    assert config.generator_options["channel_max"] == 64
    assert config.generator_options["z_dim"] == PRESETS["cpu"]["generator_options"]["z_dim"]


def test_toml_and_json_files(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('augment = "none"\nbatch = 4\n', encoding="utf-8")
    (tmp_path / "c.json").write_text('{"augment": "none", "batch": 6}', encoding="utf-8")
    assert resolve_config(read_config_file(tmp_path / "c.toml")).batch == 4
    assert resolve_config(read_config_file(tmp_path / "c.json")).batch == 6


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"resolution": 48}, "power of two"),
        ({"batch": 0}, "batch"),
        ({"bogus_key": 1}, "unknown option 'bogus_key'"),
        ({"preset": "huge"}, "unknown preset"),
        ({"kimg": "lots"}, "kimg"),
    ],
)
def test_bad_values_are_one_line_errors(values: dict, message: str) -> None:
    with pytest.raises(MaskgenError, match=message) as info:
        resolve_config(values)
    assert "\n" not in str(info.value)


def test_unparseable_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("batch: [1,\n", encoding="utf-8")
    with pytest.raises(MaskgenError, match="cannot parse config file"):
        read_config_file(bad)
    with pytest.raises(MaskgenError, match="config file not found"):
        read_config_file(tmp_path / "missing.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(MaskgenError, match="mapping"):
        read_config_file(listing)


def test_derived_defaults_follow_the_reference_formulas() -> None:
    config = resolve_config({"preset": "paper256", "resolution": 64, "batch": 8})
    assert config.effective_r1_gamma() == pytest.approx(0.0002 * 64**2 / 8)
    assert config.effective_ema_kimg() == pytest.approx(8 * 10 / 32)
    # The cpu preset sets its own gamma (see docs/training.md); a config file or flag still wins.
    assert resolve_config({}).effective_r1_gamma() == 4.0
    assert resolve_config({"r1_gamma": None}).effective_r1_gamma() == pytest.approx(0.0002 * 32**2 / 16)
