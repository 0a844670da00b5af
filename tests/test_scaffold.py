"""The run scaffold both trainers share: state round trips, one-line checkpoint errors, Ctrl-C, run dirs."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from pydantic import BaseModel
from safetensors.torch import load_file, save_file

from maskgen.errors import MaskgenError
from maskgen.testing import tiny_config_values, tiny_translate_values
from maskgen.training.divergence import TrainingDiverged
from maskgen.training.rundir import write_run_config
from maskgen.training.scaffold import (
    Checkpointer,
    RunCounters,
    optimizer_state,
    restore_optimizers,
    restore_rng,
    rng_state,
    sample_tag,
    snapshot_tag,
    start_or_resume,
    stop_on_interrupt,
    write_snapshot,
)


def _through_files(tmp_path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> tuple:
    """What a checkpoint does to training state: safetensors for the tensors, JSON for the rest."""
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp_path / "state.safetensors"))
    return load_file(str(tmp_path / "state.safetensors")), json.loads(json.dumps(meta))


def _model_and_adam(lr: float = 1e-2) -> tuple[torch.nn.Module, torch.optim.Adam]:
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 1))
    return model, torch.optim.Adam(model.parameters(), lr=lr, betas=(0.0, 0.99))


def _train(model: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        optimizer.zero_grad()
        model(torch.randn(8, 4, generator=generator)).square().mean().backward()
        optimizer.step()


def test_optimizer_state_round_trips_through_safetensors_and_json(tmp_path: Path) -> None:
    model, adam = _model_and_adam()
    _train(model, adam, 3, seed=0)
    adam.param_groups[0]["lr"] = 5e-3  # a hyper-parameter changed during training comes back too
    tensors, meta = _through_files(tmp_path, *optimizer_state({"opt_G": adam}))
    assert set(meta) == {"opt_G"} and "opt_G.0.exp_avg" in tensors and tensors["opt_G.0.step"].shape == (1,)

    resumed_model, resumed = _model_and_adam(lr=1.0)
    resumed_model.load_state_dict(model.state_dict())
    restore_optimizers({"opt_G": resumed}, tensors, meta)
    fresh_model, fresh = _model_and_adam()
    fresh_model.load_state_dict(model.state_dict())
    for m, o in ((model, adam), (resumed_model, resumed), (fresh_model, fresh)):
        _train(m, o, 2, seed=1)
    for a, b in zip(model.parameters(), resumed_model.parameters(), strict=True):
        assert torch.equal(a, b)
    # Guard: without the moments and the step count the same two steps end elsewhere.
    assert any(
        not torch.equal(a, b) for a, b in zip(model.parameters(), fresh_model.parameters(), strict=True)
    )


def test_each_label_gets_back_its_own_optimizer() -> None:
    """'opt.G' must not pick up the tensors of 'opt.G_ema' (a label that starts the same)."""
    (model_a, a), (model_b, b) = _model_and_adam(), _model_and_adam()
    _train(model_a, a, 1, seed=0)
    _train(model_b, b, 3, seed=0)
    tensors, meta = optimizer_state({"opt.G": a, "opt.G_ema": b})
    fresh = {"opt.G": _model_and_adam()[1], "opt.G_ema": _model_and_adam()[1]}
    restore_optimizers(fresh, tensors, meta)
    steps = {label: float(opt.state_dict()["state"][0]["step"]) for label, opt in fresh.items()}
    assert steps == {"opt.G": 1.0, "opt.G_ema": 3.0}


def test_rng_state_round_trips_and_restoring_it_repeats_the_draws(tmp_path: Path) -> None:
    shared = torch.Generator().manual_seed(7)
    torch.manual_seed(11)
    tensors, _ = _through_files(tmp_path, rng_state(torch.device("cpu"), {"shared": shared}), {})
    assert set(tensors) == {"rng/cpu", "rng/shared"}  # no rng/cuda on a CPU device
    first = (torch.rand(5), torch.rand(5, generator=shared))
    second = (torch.rand(5), torch.rand(5, generator=shared))
    assert not torch.equal(first[0], second[0])  # guard: the streams moved on
    restore_rng(tensors, torch.device("cpu"), {"shared": shared})
    again = (torch.rand(5), torch.rand(5, generator=shared))
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])


def test_a_stream_the_checkpoint_lacks_keeps_its_state() -> None:
    stream = torch.Generator().manual_seed(5)
    expected = torch.rand(3, generator=torch.Generator().manual_seed(5))
    restore_rng({"rng/cpu": torch.random.get_rng_state()}, torch.device("cpu"), {"shared": stream})
    assert torch.equal(torch.rand(3, generator=stream), expected)


def test_counters_round_trip() -> None:
    counters = RunCounters()
    counters.cur_nimg, counters.iteration, counters.wall_seconds = 1234, 17, 2.5
    restored = RunCounters()
    restored.restore_counters(json.loads(json.dumps(counters.counters())))
    assert restored.counters() == {"cur_nimg": 1234, "iteration": 17, "wall_seconds": 2.5}
    restored.restore_counters({"cur_nimg": 8, "iteration": 2})  # the oldest checkpoints lack wall_seconds
    assert restored.wall_seconds == 0.0


def test_names() -> None:
    assert snapshot_tag(12_345) == "snapshot-000012k-345" and snapshot_tag(16) == "snapshot-000000k-016"
    assert sample_tag(16) == "0000_016" and sample_tag(12_345) == "0012_345"


# -- checkpoints --------------------------------------------------------------------------------------


def test_checkpoint_oserror_is_one_line_that_says_how_to_resume(tmp_path: Path) -> None:
    def disk_full() -> Path:
        raise OSError(28, "No space left on device")

    checkpoint = Checkpointer(disk_full, tmp_path / "00003-run", "maskgen translate train --resume")
    with pytest.raises(MaskgenError) as caught:
        checkpoint()
    message = str(caught.value)
    assert "\n" not in message and caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "No space left on device" in message and "previous checkpoint is intact" in message
    assert f"maskgen translate train --resume {tmp_path / '00003-run'}" in message


def test_other_checkpoint_errors_pass_unchanged(tmp_path: Path) -> None:
    def diverged() -> Path:
        raise TrainingDiverged("G.w is not finite")

    with pytest.raises(TrainingDiverged, match="G.w is not finite"):
        Checkpointer(diverged, tmp_path, "maskgen run --resume")()


def test_interrupted_writes_the_checkpoint_and_names_it(tmp_path: Path) -> None:
    written = tmp_path / "checkpoints" / "snapshot-000000k-016"
    error = Checkpointer(lambda: written, tmp_path, "maskgen run --resume").interrupted(16)
    assert str(error) == (
        f"interrupted at kimg 0.016; checkpoint {written} written; "
        f"resume with: maskgen run --resume {tmp_path}"
    )


def test_snapshot_card_comes_from_model_card_and_shows_the_samples(tmp_path: Path) -> None:
    net = torch.nn.Linear(2, 2)
    config = {"kind": "translation", "translator": "cocosnet", "size": 16, "train": {"data": "builtin"}}
    state = ({"rng/cpu": torch.random.get_rng_state()}, {"cur_nimg": 8})
    grid = tmp_path / "samples" / "contact_latest.png"
    plain = write_snapshot(tmp_path, 8, {"T": net}, config, state, keep=3, samples=grid)
    card = (plain / "README.md").read_text()
    assert (
        card.startswith("---\nlibrary_name: maskgen\n")
        and "translator" in card
        and "(samples.png)" not in card
    )
    assert set(load_file(str(plain / "model.safetensors"))) == {"weight", "bias"}  # T, the inference network

    grid.parent.mkdir()
    grid.write_bytes(b"\x89PNG not really")
    with_grid = write_snapshot(tmp_path, 16, {"T": net}, config, state, keep=3, samples=grid)
    assert (with_grid / "samples.png").read_bytes() == grid.read_bytes()
    assert "(samples.png)" in (with_grid / "README.md").read_text()


# -- Ctrl-C -------------------------------------------------------------------------------------------


def test_sigint_asks_the_loop_to_stop_and_the_previous_handler_comes_back() -> None:
    calls: list[int] = []

    def previous(signum: int, _frame: Any) -> None:
        calls.append(signum)

    original = signal.signal(signal.SIGINT, previous)
    try:
        with stop_on_interrupt("resume with: maskgen run --resume R") as stop:
            assert signal.getsignal(signal.SIGINT) is not previous
            assert not stop.requested
            signal.raise_signal(signal.SIGINT)  # a real signal: the loop goes on, the request is set
            assert stop.requested and not calls
        assert signal.getsignal(signal.SIGINT) is previous
        with pytest.raises(ValueError), stop_on_interrupt("hint"):  # put back on an error, too
            raise ValueError("boom")
        assert signal.getsignal(signal.SIGINT) is previous
    finally:
        signal.signal(signal.SIGINT, original)


def test_a_second_sigint_stops_at_once_in_one_line() -> None:
    original = signal.getsignal(signal.SIGINT)
    with pytest.raises(MaskgenError, match=r"^interrupted twice: .*resume with: maskgen run --resume R$"):
        with stop_on_interrupt("resume with: maskgen run --resume R"):
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
            pytest.fail("the second Ctrl-C did not stop the block")
    assert signal.getsignal(signal.SIGINT) is original


def test_sigint_is_handled_even_where_it_was_ignored() -> None:
    original = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with stop_on_interrupt("hint") as stop:
            signal.raise_signal(signal.SIGINT)
        assert stop.requested and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, original)


def test_outside_the_main_thread_no_handler_is_touched() -> None:
    original, seen = signal.getsignal(signal.SIGINT), []

    def body() -> None:
        with stop_on_interrupt("hint") as stop:
            seen.append((signal.getsignal(signal.SIGINT), stop.requested))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [(original, False)]


# -- run directories ----------------------------------------------------------------------------------


class _Config(BaseModel):
    kimg: float = 1.0
    data: str = "builtin"


class _Trainer(RunCounters):
    def __init__(self, run_dir: Path) -> None:
        self.config, self.run_dir, self.loaded = _Config(), run_dir, None

    def load(self, path: Path) -> None:
        self.loaded, self.cur_nimg = path, 16


def test_run_config_is_replaced_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_run_config(_Config(kimg=2.0), tmp_path)
    assert json.loads((tmp_path / "config.json").read_text()) == {"data": "builtin", "kimg": 2.0}

    def crash(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("maskgen.outputs.os.replace", crash)  # the one atomic writer's rename
    with pytest.raises(MaskgenError, match="cannot write .*config.json: No space left on device"):
        write_run_config(_Config(kimg=3.0), tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["kimg"] == 2.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]  # no temporary file left


def test_start_or_resume(tmp_path: Path) -> None:
    messages: list[str] = []
    ran: list[_Trainer] = []

    def prepare(trainer: _Trainer) -> None:
        trainer.config = trainer.config.model_copy(update={"kimg": 4.0})

    run = start_or_resume(
        _Trainer,
        ran.append,
        run_name="a b",
        out_root=tmp_path,
        resume_dir=None,
        say=messages.append,
        prepare=prepare,
    )
    assert run == tmp_path / "00000-a_b" and ran[0].run_dir == run and ran[0].loaded is None
    assert json.loads((run / "config.json").read_text())["kimg"] == 4.0  # the prepared config
    assert messages == [f"run directory: {run}"]

    again = start_or_resume(
        _Trainer, ran.append, run_name="a b", out_root=None, resume_dir=run, say=messages.append
    )
    assert again == run and ran[1].loaded == run / "checkpoints" / "latest"
    assert messages[-1] == f"resuming {run} at kimg 0.016"
    assert json.loads((run / "config.json").read_text())["kimg"] == 1.0


# -- both trainers ------------------------------------------------------------------------------------


def _interrupt_at(monkeypatch: pytest.MonkeyPatch, trainer_class: type, iteration: int) -> None:
    """A real SIGINT inside step number ``iteration``, before it has done any work."""
    original = trainer_class.step

    def step(self: Any) -> dict[str, torch.Tensor]:
        if self.iteration == iteration - 1:
            signal.raise_signal(signal.SIGINT)
        return original(self)

    monkeypatch.setattr(trainer_class, "step", step)


def _same_weights(a: Path, b: Path) -> None:
    from maskgen.artifacts.checkpoint import load_checkpoint

    wa, wb = (load_checkpoint(run / "checkpoints" / "latest").weights for run in (a, b))
    assert wa.keys() == wb.keys()
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=1e-5, atol=1e-6, msg=key)


def test_gan_ctrl_c_checkpoints_after_the_step_and_resumes_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from maskgen.config import validate_config
    from maskgen.training.loop import Trainer, train

    values = tiny_config_values(kimg=0.02, snapshot_kimg=0.008)
    straight = train(validate_config(values), out_root=tmp_path / "a")
    with monkeypatch.context() as patch:
        _interrupt_at(patch, Trainer, 3)
        with pytest.raises(MaskgenError, match=r"^interrupted at kimg 0\.012; .*maskgen run --resume "):
            train(validate_config(values), out_root=tmp_path / "b")
    (run,) = (tmp_path / "b").iterdir()
    meta = json.loads((run / "checkpoints" / "latest" / "training_state.json").read_text())
    assert (meta["cur_nimg"], meta["iteration"]) == (12, 3)
    train(validate_config(values), resume_dir=run)
    _same_weights(straight, run)


def test_translation_uses_the_same_scaffold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from maskgen.translation.config import validate_translate_config
    from maskgen.translation.trainer import TranslationTrainer, train

    values = tiny_translate_values(kimg=0.02, snapshot_kimg=0.008)
    straight = train(validate_translate_config(values), out_root=tmp_path / "a")
    card = (straight / "checkpoints" / "latest" / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: maskgen\n") and "(samples.png)" in card  # model_card's
    assert (straight / "checkpoints" / "latest" / "samples.png").is_file()
    with monkeypatch.context() as patch:
        _interrupt_at(patch, TranslationTrainer, 3)
        with pytest.raises(
            MaskgenError, match=r"^interrupted at kimg 0\.012; .*maskgen translate train --resume "
        ):
            train(validate_translate_config(values), out_root=tmp_path / "b")
    (run,) = (tmp_path / "b").iterdir()
    train(validate_translate_config(values), resume_dir=run)
    _same_weights(straight, run)

    def disk_full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("maskgen.artifacts.checkpoint.save_file", disk_full)
    with pytest.raises(MaskgenError, match="No space left on device.*previous checkpoint is intact"):
        train(validate_translate_config(values | {"kimg": 0.028}), resume_dir=run)
