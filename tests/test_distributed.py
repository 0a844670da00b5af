"""Data-parallel training: two gloo processes on CPU behave like one process with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from maskgen.config import TrainConfig
from maskgen.testing import TINY_GENERATOR, tiny_config_values
from maskgen.training.distributed import World, world_from_environment

WORKER = Path(__file__).parent / "helpers" / "ddp_worker.py"
ITERATIONS = 4


def _config(tmp_path: Path) -> Path:
    # Settings under which one process and two see exactly the same batch: minibatch-stddev groups
    # of 1 (groups would otherwise span the two halves differently), no style mixing and no
    # path-length term (both draw per process); the worker switches noise inputs off for the same reason.
    values = tiny_config_values(
        batch=8,
        pl_weight=0,
        style_mixing_prob=0,
        r1_interval=2,
        generator_options=TINY_GENERATOR | {"mbstd_group_size": 1},
    )
    path = tmp_path / "config.json"
    path.write_text(TrainConfig(**values).model_dump_json())
    return path


def _run(args: list[str], nproc: int | None, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    launcher = [sys.executable]
    if nproc:
        launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    result = subprocess.run(launcher + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
def test_two_gloo_processes_equal_one_process_with_the_same_global_batch(tmp_path: Path) -> None:
    config = _config(tmp_path)
    single, double = tmp_path / "single", tmp_path / "double"
    single.mkdir()
    double.mkdir()
    _run([str(WORKER), str(config), str(single), str(ITERATIONS)], None, tmp_path)
    _run([str(WORKER), str(config), str(double), str(ITERATIONS)], 2, tmp_path)

    rank0, rank1 = (load_file(str(double / f"rank{r}.safetensors")) for r in (0, 1))
    reference = load_file(str(single / "rank0.safetensors"))
    initial = _initial_weights(config)
    for name, value in rank0.items():
        # Identical on both ranks: same start, same averaged gradients, same augmenter state.
        assert torch.equal(value, rank1[name]), name
    moved = 0
    for name, value in reference.items():
        torch.testing.assert_close(rank0[name], value, rtol=0, atol=1e-5, msg=name)
        if name in initial and not torch.equal(initial[name], value):
            moved += 1
    assert moved > 20  # the comparison is of trained weights, not of the initialization


def _initial_weights(config_path: Path) -> dict[str, torch.Tensor]:
    from maskgen.training.loop import Trainer

    config = TrainConfig.model_validate(json.loads(config_path.read_text()))
    trainer = Trainer(config, config_path.parent)
    return {f"G.{k}": v.clone() for k, v in trainer.G.state_dict().items()}


@pytest.mark.slow
def test_nproc_run_writes_one_checkpoint_that_resumes_in_one_process(tmp_path: Path, cli) -> None:
    config = tmp_path / "run.json"
    config.write_text(json.dumps(tiny_config_values(batch=8, kimg=0.016, snapshot_kimg=0.008)))
    maskgen = [sys.executable, "-m", "maskgen.cli.main"]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    result = subprocess.run(
        maskgen + ["run", "--nproc", "2", "-c", str(config), "--out", str(tmp_path / "runs"), "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["kimg"] == pytest.approx(0.016)
    assert len({m["kimg"] for m in metrics}) == len(metrics)  # one writer: no duplicated records

    from maskgen.cli.main import app

    resumed = cli.invoke(app, ["run", "--resume", str(run_dir), "--kimg", "0.024", "-q"])
    assert resumed.exit_code == 0, resumed.output
    last = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["kimg"] == pytest.approx(0.024)


def test_world_comes_from_the_torchrun_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert world_from_environment() == World(rank=3, size=4, local_rank=1)
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(Exception, match="RANK=4"):
        world_from_environment()


def test_a_batch_that_does_not_split_over_the_processes_is_one_clear_error(tmp_path: Path) -> None:
    from maskgen.errors import MaskgenError
    from maskgen.training.loop import Trainer

    config = TrainConfig(**tiny_config_values(batch=6))
    with pytest.raises(MaskgenError, match="multiple of 4"):
        Trainer(config, tmp_path, World(rank=0, size=4))


def test_nproc_is_not_passed_on_to_the_workers() -> None:
    from maskgen.cli.run_cmd import _without_nproc

    args = ["run", "--nproc", "2", "--kimg", "1", "--nproc=3", "-q"]
    assert _without_nproc(args) == ["run", "--kimg", "1", "-q"]


def test_nproc_with_a_batch_that_does_not_split_fails_before_launching(cli) -> None:
    from maskgen.cli.main import app

    result = cli.invoke(app, ["run", "--nproc", "2", "--batch", "3", "--kimg", "0.01", "-q"])
    assert result.exit_code == 1
    assert "use a multiple of 2" in result.output and "Traceback" not in result.output
