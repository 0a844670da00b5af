"""Fault injection: kills, interrupts and write errors never lose a run or a checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from maskgen.artifacts.checkpoint import load_checkpoint
from maskgen.config import validate_config
from maskgen.errors import MaskgenError
from maskgen.testing import tiny_config_values
from maskgen.training.loop import train

pytestmark = pytest.mark.slow


def _start_run(
    tmp_path: Path, runs: Path, env_extra: dict[str, str], **overrides: object
) -> subprocess.Popen:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tiny_config_values(**overrides)), encoding="utf-8")
    env = os.environ | env_extra
    command = [
        sys.executable,
        "-m",
        "maskgen.cli.main",
        "run",
        "--config",
        str(config),
        "--out",
        str(runs),
        "-q",
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the training process")
        time.sleep(0.05)


def _resume(run_dir: Path, kimg: float) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "maskgen.cli.main",
        "run",
        "--resume",
        str(run_dir),
        "--kimg",
        str(kimg),
        "-q",
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_sigkill_inside_checkpoint_writer_then_resume(tmp_path: Path) -> None:
    runs, marker = tmp_path / "runs", tmp_path / "paused"
    # Pause (and get killed) inside the second checkpoint write, after its first file is written.
    process = _start_run(
        tmp_path, runs, {"MASKGEN_PAUSE_IN_CHECKPOINT": f"{marker}:2"}, kimg=0.032, snapshot_kimg=0.008
    )
    _wait_for(marker.exists)
    process.send_signal(signal.SIGKILL)
    process.wait()
    (run_dir,) = runs.iterdir()
    checkpoints = run_dir / "checkpoints"
    assert any(p.name.startswith(".tmp-") for p in checkpoints.iterdir())  # the half-written one
    latest = load_checkpoint(checkpoints / "latest")  # complete: the first snapshot
    assert latest.training_state()[1]["cur_nimg"] == 8

    result = _resume(run_dir, 0.032)
    assert result.returncode == 0, result.stderr
    assert not any(p.name.startswith(".tmp-") for p in checkpoints.iterdir())
    state = load_checkpoint(checkpoints / "latest").training_state()[1]
    assert state["cur_nimg"] == 32 and state["iteration"] == 8
    kimgs = [json.loads(line)["kimg"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert kimgs == sorted(kimgs) and kimgs[-1] == pytest.approx(0.032)


def test_sigkill_during_training_steps_then_resume(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    process = _start_run(tmp_path, runs, {}, kimg=10.0, snapshot_kimg=0.008)
    _wait_for(lambda: any(runs.glob("*/checkpoints/latest/model.safetensors")))
    time.sleep(0.5)  # somewhere in the middle of the following steps
    process.send_signal(signal.SIGKILL)
    process.wait()
    (run_dir,) = runs.iterdir()
    seen = load_checkpoint(run_dir / "checkpoints" / "latest").training_state()[1]["cur_nimg"]
    assert seen >= 8
    result = _resume(run_dir, (seen + 8) / 1000)
    assert result.returncode == 0, result.stderr
    assert load_checkpoint(run_dir / "checkpoints" / "latest").training_state()[1]["cur_nimg"] == seen + 8


def test_sigint_writes_a_checkpoint_and_says_how_to_resume(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    process = _start_run(tmp_path, runs, {}, kimg=10.0, snapshot_kimg=0.008)
    _wait_for(lambda: any(runs.glob("*/checkpoints/latest/model.safetensors")))
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    assert "interrupted at kimg" in stderr and "maskgen run --resume" in stderr
    assert "Traceback" not in stderr
    (run_dir,) = runs.iterdir()
    state = load_checkpoint(run_dir / "checkpoints" / "latest").training_state()[1]
    assert state["cur_nimg"] % 4 == 0 and state["cur_nimg"] >= 8


def test_disk_full_while_checkpointing_keeps_the_previous_one(tmp_path: Path, monkeypatch) -> None:
    values = tiny_config_values(kimg=0.016, snapshot_kimg=0.008)
    run = train(validate_config(values | {"kimg": 0.008}), out_root=tmp_path)
    before = load_checkpoint(run / "checkpoints" / "latest")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("maskgen.artifacts.checkpoint.save_file", disk_full)
    with pytest.raises(MaskgenError, match="No space left on device.*previous checkpoint is intact"):
        train(validate_config(values), resume_dir=run)
    after = load_checkpoint(run / "checkpoints" / "latest")
    assert after.path.resolve() == before.path.resolve()
    assert all(torch.equal(before.weights[k], after.weights[k]) for k in before.weights)


def test_sample_write_error_warns_and_training_continues(tmp_path: Path, monkeypatch) -> None:
    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("maskgen.training.loop._save_sample_grids", denied)
    messages: list[str] = []
    run = train(validate_config(tiny_config_values()), out_root=tmp_path, on_message=messages.append)
    assert any(m.startswith("warning: could not write sample grid") for m in messages)
    assert load_checkpoint(run / "checkpoints" / "latest").training_state()[1]["cur_nimg"] == 16
