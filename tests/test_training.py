"""The training loop: losses move, checkpoints resume exactly, divergence is caught."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from maskgen.artifacts.checkpoint import load_checkpoint, split_weights
from maskgen.config import validate_config
from maskgen.errors import MaskgenError
from maskgen.networks.layers import reduced_precision_dtype
from maskgen.testing import tiny_config_values
from maskgen.training.divergence import TrainingDiverged
from maskgen.training.loop import Trainer, train


def _final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir / "checkpoints" / "latest").weights


def test_resumed_run_equals_uninterrupted_run(tmp_path: Path) -> None:
    values = tiny_config_values(augment="none", kimg=0.032, snapshot_kimg=0.016)
    straight = train(validate_config(values), out_root=tmp_path / "a")
    # Same run, stopped halfway, then resumed with the full budget.
    half = train(validate_config(values | {"kimg": 0.016}), out_root=tmp_path / "b")
    train(validate_config(values), resume_dir=half)
    a, b = _final_weights(straight), _final_weights(half)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)
    # The metrics log of the resumed run continues where it stopped, without duplicates.
    kimgs = [json.loads(line)["kimg"] for line in (half / "metrics.jsonl").read_text().splitlines()]
    assert kimgs == sorted(set(kimgs)) and kimgs[-1] == pytest.approx(0.032)


def test_resume_changes_the_result_when_state_is_not_restored(tmp_path: Path) -> None:
    """Guards the test above: continuing from the weights alone (fresh RNG/optimizers) differs."""
    values = tiny_config_values(kimg=0.032, snapshot_kimg=0.016)
    straight = train(validate_config(values), out_root=tmp_path / "a")
    half = train(validate_config(values | {"kimg": 0.016}), out_root=tmp_path / "b")
    trainer = Trainer(validate_config(values), half)
    trainer.load(half / "checkpoints" / "latest", with_training_state=False)
    trainer.cur_nimg = 16
    while trainer.cur_nimg < 32:
        trainer.step()
    reference = split_weights(_final_weights(straight), "G")
    assert any(not torch.allclose(reference[k], v) for k, v in trainer.G.state_dict().items())


def test_training_reduces_discriminator_loss_on_fixed_fakes(tmp_path: Path) -> None:
    """D learns: after a few iterations its loss is below the chance value 2*log(2)."""
    config = validate_config(tiny_config_values(kimg=0.2, pl_weight=0.0, lr_g=1e-6))
    trainer = Trainer(config, tmp_path)
    losses = [float(trainer.step()["loss/D"]) for _ in range(40)]
    assert sum(losses[-5:]) / 5 < 2 * torch.log(torch.tensor(2.0)).item() - 0.1


def test_nan_loss_stops_the_run_and_keeps_the_last_checkpoint(tmp_path: Path, monkeypatch) -> None:
    values = tiny_config_values(kimg=0.048, snapshot_kimg=0.016)
    config = validate_config(values)
    run = train(validate_config(values | {"kimg": 0.016}), out_root=tmp_path)
    before = _final_weights(run)
    original = Trainer.step

    def poisoned(self: Trainer) -> dict[str, torch.Tensor]:
        out = original(self)
        out["loss/G"] = torch.tensor(float("nan"))
        return out

    monkeypatch.setattr(Trainer, "step", poisoned)
    with pytest.raises(TrainingDiverged, match=r"loss/G = nan"):
        train(config, resume_dir=run)
    after = _final_weights(run)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_bad_plugin_name_fails_before_creating_a_run_dir(tmp_path: Path) -> None:
    with pytest.raises(MaskgenError, match="unknown augmenter"):
        train(validate_config(tiny_config_values(augment="nope")), out_root=tmp_path)
    assert not list(tmp_path.glob("*"))


def test_second_process_on_same_run_dir_is_refused(tmp_path: Path) -> None:
    from maskgen.training.rundir import RunLock

    with RunLock(tmp_path), pytest.raises(MaskgenError, match="in use"), RunLock(tmp_path):
        pass
    with RunLock(tmp_path):  # released when the first holder exits
        pass


@pytest.mark.skipif(
    reduced_precision_dtype(torch.device("cpu")) is None, reason="this CPU has no native bf16"
)
def test_mixed_precision_training_learns_and_checkpoints_load_into_fp32_networks(tmp_path: Path) -> None:
    values = tiny_config_values(kimg=0.2, lr_g=1e-6)
    values["generator_options"] |= {"mixed_precision_resolutions": 2}
    trainer = Trainer(validate_config(values), tmp_path)
    # 40 iterations include path length (every 4) and R1 (every 16) through the bf16 blocks.
    out = [trainer.step() for _ in range(40)]
    losses = [float(step["loss/D"]) for step in out]
    assert sum(losses[-5:]) / 5 < 2 * torch.log(torch.tensor(2.0)).item() - 0.1
    assert all(torch.isfinite(step[key]) for step in out for key in ("loss/pl", "loss/r1") if key in step)

    weights = load_checkpoint(trainer.save_checkpoint()).weights
    assert {w.dtype for w in weights.values() if w.is_floating_point()} == {torch.float32}
    fp32_values = tiny_config_values()
    fp32 = Trainer(validate_config(fp32_values), tmp_path / "fp32")
    fp32.G.load_state_dict(split_weights(weights, "G"))
    z = torch.randn(4, fp32.G.z_dim)
    mixed_images, fp32_images = trainer.G(z, noise_mode="const"), fp32.G(z, noise_mode="const")
    assert (mixed_images - fp32_images).abs().mean() < 0.05 * fp32_images.abs().mean()


def test_tick_means_average_each_loss_over_the_steps_that_reported_it() -> None:
    from maskgen.training.tick import TickMeans, crossed

    means = TickMeans()
    means.add({"loss/G": torch.tensor(1.0), "loss/pl": torch.tensor(4.0)})
    means.add({"loss/G": torch.tensor(3.0)})  # path length runs only every few steps
    assert means.means() == {"loss/G": 2.0, "loss/pl": 4.0}
    means.reset()
    assert means.means() == {}
    assert crossed(990, 1010, 1000) and not crossed(1000, 1999, 1000) and crossed(1999, 2000, 1000)


def test_the_data_is_prepared_before_the_trainer_which_only_takes_it(tmp_path: Path, monkeypatch) -> None:
    from maskgen.training.loop import prepare_run

    values = tiny_config_values(xflip=True, cond=True, dataset_count=16)
    values["generator_options"]["symmetric"] = "auto"  # what the presets set
    config = validate_config(values)
    data = prepare_run(config)
    # The decisions: the built-in masks are mirror images, so G mirrors; the config records it.
    assert data.config.generator_options["symmetric"] is True
    assert config.generator_options["symmetric"] == "auto"
    assert [note for note in data.notes if note.startswith("G mirrored left-right")]
    assert len(data.images) == len(data.labels) == 32  # 16 masks and their mirror images

    def no_loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the trainer loaded data")

    monkeypatch.setattr("maskgen.data.prepare.load_training_images", no_loading)
    trainer = Trainer(data.config, tmp_path, data=data)
    assert trainer.config.generator_options["symmetric"] is True
    assert torch.equal(trainer.reals_uint8[16:], trainer.reals_uint8[:16].flip(3))
    assert torch.equal(trainer.labels[16:], trainer.labels[:16])
    with pytest.raises(ValueError, match="data.config"):
        Trainer(config, tmp_path, data=data)  # the undecided config with data decided for it
