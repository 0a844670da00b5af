"""A checkpoint's lineage: the runs its weights came through, kept across resumes and base-model
retraining (a base model shipped again under its own name must not become its own parent)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

from maskgen.artifacts import base_models
from maskgen.artifacts.checkpoint import load_checkpoint
from maskgen.artifacts.hub_push import stage_base_model
from maskgen.artifacts.lineage import describe_lineage, lineage_of, total_kimg
from maskgen.config import validate_config
from maskgen.testing import tiny_config_values
from maskgen.training.loop import train

ROOT = Path(__file__).resolve().parents[1]


def _make_base_model_script():  # noqa: ANN202 - the script's module
    spec = importlib.util.spec_from_file_location("make_base_model", ROOT / "scripts" / "make_base_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ship(script, monkeypatch: pytest.MonkeyPatch, run: Path, name: str) -> None:  # noqa: ANN001
    monkeypatch.setattr(sys, "argv", ["make_base_model.py", str(run), name, "--replace"])
    assert script.main() == 0


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder of shipped base models."""
    folder = tmp_path / "base"
    folder.mkdir()
    monkeypatch.setattr(base_models, "base_models_dir", lambda: folder)
    return folder


def test_lineage_survives_resume_and_reshipping_a_base_model_under_its_name(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _make_base_model_script()
    monkeypatch.setattr(script, "base_models_dir", lambda: root)
    torch.manual_seed(0)

    # Generation 0: from scratch, 8 images; shipped as base:tiny.
    first = train(validate_config(tiny_config_values(kimg=0.008, snapshot_kimg=0.008)), tmp_path / "r0")
    _ship(script, monkeypatch, first, "tiny")
    assert lineage_of(json.loads((root / "tiny" / "config.json").read_text())) == []

    # Generation 1 starts from base:tiny, is interrupted and resumed: the record stays.
    values = tiny_config_values(kimg=0.016, snapshot_kimg=0.008)
    half = train(validate_config(values | {"kimg": 0.008}), out_root=tmp_path / "r1")
    step = {"init": "base:tiny", "kimg": 0.008, "dataset": load_checkpoint(first).config["dataset"]["name"]}
    assert load_checkpoint(half).config["lineage"] == [step]
    train(validate_config(values), resume_dir=half)
    assert load_checkpoint(half).config["lineage"] == [step]

    # Shipped again as base:tiny (training a base model longer): its parent is the old base:tiny.
    _ship(script, monkeypatch, half, "tiny")
    shipped = json.loads((root / "tiny" / "config.json").read_text())
    assert shipped["kimg"] == pytest.approx(0.016) and lineage_of(shipped) == [step]
    assert total_kimg(shipped) == pytest.approx(0.024)
    assert not (root / ".tiny.staging").exists()
    card = (root / "tiny" / "README.md").read_text()
    history = "0.008 kimg as `base:tiny`, then 0.016 kimg in this run: 0.024 kimg in all"
    assert f"| training history | {history} |" in card

    # Generation 2 from the new base:tiny holds both steps, oldest first.
    third = train(validate_config(tiny_config_values(kimg=0.004, snapshot_kimg=0.004)), tmp_path / "r2")
    steps = load_checkpoint(third).config["lineage"]
    assert [s["kimg"] for s in steps] == pytest.approx([0.008, 0.016])
    assert total_kimg(load_checkpoint(third).config) == pytest.approx(0.028)


def test_history_of_a_checkpoint_from_before_lineages(root: Path) -> None:
    (root / "old").mkdir()
    (root / "old" / "model.safetensors").write_bytes(b"")  # listed as shipped; never loaded here
    (root / "old" / "config.json").write_text(json.dumps({"kimg": 200.0, "train": {"init": "none"}}))

    legacy = {"kimg": 60.0, "train": {"init": "base:old"}}
    assert lineage_of(legacy) == [{"init": "base:old", "kimg": 200.0, "dataset": None}]
    assert total_kimg(legacy) == 260.0
    assert describe_lineage(legacy) == "200 kimg as `base:old`, then 60 kimg in this run: 260 kimg in all"
    # A base model no longer shipped: the step is kept, its length unknown, no total claimed.
    gone = {"kimg": 60.0, "train": {"init": "base:gone"}}
    assert lineage_of(gone) == [{"init": "base:gone", "kimg": None, "dataset": None}]
    assert total_kimg(gone) is None
    assert describe_lineage({"kimg": 5.0, "train": {"init": "none"}}) is None


def test_staging_a_legacy_checkpoint_writes_its_history_down(root: Path, tmp_path: Path) -> None:
    run = train(validate_config(tiny_config_values(kimg=0.004, snapshot_kimg=0.004)), tmp_path / "r")
    stage_base_model(run, root / "parent", "parent")
    # A checkpoint trained from base:parent before lineages were recorded.
    child = train(validate_config(tiny_config_values(kimg=0.004, snapshot_kimg=0.004)), tmp_path / "c")
    config_file = child / "checkpoints" / "latest" / "config.json"
    config = json.loads(config_file.read_text())
    assert config.pop("lineage")[0]["init"] == "base:parent"
    config_file.write_text(json.dumps(config))
    stage_base_model(child, tmp_path / "staged", "child")
    staged = json.loads((tmp_path / "staged" / "config.json").read_text())
    assert [s["init"] for s in staged["lineage"]] == ["base:parent"]
    assert staged["lineage"][0]["kimg"] == pytest.approx(0.004)
