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


def test_the_schema_defaults_are_the_cpu_preset_and_both_paths_build_the_same_run() -> None:
    from maskgen.config import TrainConfig, validate_config

    defaults = TrainConfig().model_dump()
    for key, value in PRESETS["cpu"].items():
        assert defaults[key] == value, key
    for values in (
        {},
        {"kimg": 5.0},
        {"preset": "paper256"},
        {"preset": "paper256", "batch": 8},
        {"xflip": False},
    ):
        assert validate_config(values) == resolve_config(values), values
    paper = validate_config({"preset": "paper256"})
    assert (paper.resolution, paper.xflip, paper.r1_gamma, paper.max_minutes) == (256, False, None, None)
    assert validate_config({"kimg": 5.0}).max_minutes is None  # a chosen length is not cut short


def test_saved_configs_validate_to_the_run_they_record() -> None:
    """A checkpoint's config.json holds every field: validating it changes nothing (the shipped ones)."""
    import json

    from maskgen.config import validate_config

    root = Path(__file__).resolve().parents[1] / "core" / "maskgen" / "assets" / "base"
    saved = [json.loads(p.read_text())["train"] for p in sorted(root.glob("*/config.json"))]
    gan = [train for train in saved if "generator_options" in train]
    assert gan
    for train in gan:
        # Fields added since a checkpoint was saved (upscale_minutes: the second stage) take their
        # defaults; every field it records validates to itself.
        validated = validate_config(train).model_dump(mode="json")
        assert {key: validated[key] for key in train} == train


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kimg": float("inf")}, "kimg: Input should be a finite number"),
        ({"lr_g": 1e309}, "lr_g: Input should be a finite number"),
        ({"lr_d": 3.0}, "lr_d: Input should be less than or equal to 1"),
        ({"seed": -1}, "seed"),
        ({"dataset_count": 10**9}, "dataset_count"),
        ({"preset": [1, 2]}, "unknown preset"),
        ({"generator_options": {"conv_clamp": float("nan")}}, None),
    ],
)
def test_files_meet_the_ranges_of_the_flags(values: dict, message: str | None) -> None:
    if message is None:  # plugin options: checked when the run builds its parts
        from maskgen.plugins.factory import parse_options
        from maskgen.plugins.registry import get_registry

        with pytest.raises(MaskgenError, match="conv_clamp: Input should be a finite number"):
            parse_options("generator", "stylegan2", values["generator_options"], get_registry())
        return
    with pytest.raises(MaskgenError, match=message) as info:
        resolve_config(values)
    assert "\n" not in str(info.value)
