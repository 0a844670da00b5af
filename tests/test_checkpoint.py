"""Checkpoint directories: round trip, atomic replacement, strict loading, bad files."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from maskgen.artifacts.checkpoint import load_checkpoint, load_strict, split_weights, write_checkpoint
from maskgen.errors import MaskgenError


def _write(directory: Path, tag: str, value: float, keep: int = 3) -> Path:
    weights = {"G.weight": torch.full((2, 3), value), "D.bias": torch.arange(4.0)}
    return write_checkpoint(
        directory,
        tag,
        weights,
        {"kind": "gan", "v": value},
        {"rng": torch.arange(3, dtype=torch.uint8)},
        {"cur_nimg": int(value)},
        keep=keep,
    )


def test_round_trip_and_latest(tmp_path: Path) -> None:
    _write(tmp_path, "snapshot-a", 1.0)
    _write(tmp_path, "snapshot-b", 2.0)
    checkpoint = load_checkpoint(tmp_path / "latest")
    assert checkpoint.path.resolve() == (tmp_path / "snapshot-b").resolve()
    assert torch.equal(checkpoint.weights["G.weight"], torch.full((2, 3), 2.0))
    tensors, meta = checkpoint.training_state()
    assert meta["cur_nimg"] == 2 and torch.equal(tensors["rng"], torch.arange(3, dtype=torch.uint8))
    assert split_weights(checkpoint.weights, "D") == {"bias": checkpoint.weights["D.bias"]}
    # A run directory resolves to its latest checkpoint too.
    assert load_checkpoint(tmp_path.parent / tmp_path.name).path.name in ("latest", "snapshot-b")


def test_old_snapshots_pruned_and_temporaries_removed(tmp_path: Path) -> None:
    (tmp_path / ".tmp-snapshot-x-123").mkdir(parents=True)  # left by a killed writer
    for index in range(5):
        _write(tmp_path, f"snapshot-{index}", float(index), keep=2)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["latest", "snapshot-2", "snapshot-3", "snapshot-4"]


def test_failed_write_keeps_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "snapshot-good", 1.0)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("maskgen.artifacts.checkpoint.save_file", disk_full)
    with pytest.raises(OSError):
        _write(tmp_path, "snapshot-bad", 2.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "snapshot-good"]
    assert load_checkpoint(tmp_path / "latest").config["v"] == 1.0


def test_truncated_and_pickled_files_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "snapshot-a", 1.0)
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(MaskgenError, match="not valid safetensors"):
        load_checkpoint(path)
    (path / "model.safetensors").write_bytes(pickle.dumps({"G.weight": [1, 2]}))
    with pytest.raises(MaskgenError, match="not valid safetensors"):
        load_checkpoint(path)
    with pytest.raises(MaskgenError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "nowhere")


def test_strict_loading_names_the_difference() -> None:
    module = torch.nn.Linear(3, 2)
    with pytest.raises(MaskgenError, match=r"weight has shape \(2, 4\), expected \(2, 3\)"):
        load_strict(module, {"weight": torch.zeros(2, 4), "bias": torch.zeros(2)}, "test")
    with pytest.raises(MaskgenError, match="missing"):
        load_strict(module, {"weight": torch.zeros(2, 3)}, "test")
    state = {"weight": torch.ones(2, 3), "bias": torch.zeros(2)}
    load_strict(module, state, "test")
    assert torch.equal(module.weight, state["weight"])


def test_model_safetensors_holds_the_inference_network_alone_as_safetensors_saves_a_module(
    tmp_path: Path,
) -> None:
    """A GAN snapshot: G_ema under its own names in model.safetensors (what safetensors.torch.save_model
    writes for the module, so its load_model reads it back), G and D in training_weights.safetensors,
    and every file carries the metadata format: pt."""
    from safetensors import safe_open
    from safetensors.torch import load_file, load_model

    from maskgen.artifacts.base_models import weight_shapes

    torch.manual_seed(0)
    nets = {"G": torch.nn.Linear(3, 2), "D": torch.nn.Linear(2, 1), "G_ema": torch.nn.Linear(3, 2)}
    weights = {f"{p}.{k}": v for p, m in nets.items() for k, v in m.state_dict().items()}
    path = write_checkpoint(
        tmp_path, "snapshot-a", weights, {"kind": "gan"}, {"rng": torch.arange(3)}, {"cur_nimg": 1}
    )
    fresh = torch.nn.Linear(3, 2)
    load_model(fresh, str(path / "model.safetensors"), strict=True)  # the library's own loader
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in nets["G_ema"].state_dict().items())
    assert set(load_file(str(path / "training_weights.safetensors"))) == {
        "G.weight", "G.bias", "D.weight", "D.bias"
    }  # fmt: skip
    for name in ("model.safetensors", "training_weights.safetensors", "training_state.safetensors"):
        with safe_open(str(path / name), framework="pt") as handle:
            assert handle.metadata() == {"format": "pt"}, name
    # Read back: every network under its prefix; for drawing, G_ema alone.
    everything = load_checkpoint(path).weights
    assert everything.keys() == weights.keys()
    assert all(torch.equal(everything[k], v) for k, v in weights.items())
    assert set(load_checkpoint(path, inference_only=True).weights) == {"G_ema.weight", "G_ema.bias"}
    assert weight_shapes(path) == {k: tuple(v.shape) for k, v in weights.items()}


def test_evaluation_safetensors_files_say_format_pt_too(tmp_path: Path) -> None:
    from safetensors import safe_open

    from maskgen.evaluation.files import write_safetensors

    write_safetensors(tmp_path / "features.safetensors", {"x": torch.zeros(2)})
    with safe_open(str(tmp_path / "features.safetensors"), framework="pt") as handle:
        assert handle.metadata() == {"format": "pt"}
