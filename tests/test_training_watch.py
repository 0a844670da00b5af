"""Watching a run: TensorBoard curves and sample grids (read back with TensorBoard's own event reader),
resumed curves, and the quality metrics measured at every snapshot (``--metrics``)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from maskgen import Evaluator, PluginSpec, hookimpl
from maskgen.artifacts.checkpoint import load_checkpoint
from maskgen.cli.main import app
from maskgen.config import PRESETS, resolve_config, validate_config
from maskgen.testing import assert_one_line_error, tiny_config_values
from maskgen.training import watch
from maskgen.training.loop import train

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator", reason="maskgen[tensorboard] not installed"
)


def _events(run_dir: Path) -> Any:
    """Every event of the run's TensorBoard folder, as TensorBoard itself reads them (purges included)."""
    sizes = {event_accumulator.SCALARS: 0, event_accumulator.IMAGES: 0}
    accumulator = event_accumulator.EventAccumulator(str(run_dir / "tensorboard"), size_guidance=sizes)
    accumulator.Reload()
    return accumulator


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _curves(accumulator: Any) -> dict[str, dict[int, float]]:
    return {
        tag: {event.step: event.value for event in accumulator.Scalars(tag)}
        for tag in accumulator.Tags()["scalars"]
    }


def _assert_curves_are_the_log(run: Path, events: Any) -> set[str]:
    """Every number of metrics.jsonl is a point of the curve of its key at its kimg in images, and
    TensorBoard has no other point; returns the keys."""
    expected = {
        (key, round(record["kimg"] * 1000)): value
        for record in _records(run / "metrics.jsonl")
        for key, value in record.items()
        if key != "kimg"
    }
    got = {(tag, step): value for tag, points in _curves(events).items() for step, value in points.items()}
    assert got.keys() == expected.keys()
    for where, value in expected.items():  # event files hold float32
        assert got[where] == pytest.approx(value, rel=1e-6, abs=1e-6), where
    return {key for key, _ in expected}


def test_tensorboard_shows_the_metrics_log_and_a_sample_grid_at_each_snapshot(tmp_path: Path) -> None:
    values = tiny_config_values(kimg=0.016, snapshot_kimg=0.008, tick_kimg=0.004)
    run = train(validate_config(values), out_root=tmp_path)
    events = _events(run)
    assert len(_records(run / "metrics.jsonl")) == 4
    keys = _assert_curves_are_the_log(run, events)
    assert keys >= {"loss/G", "loss/D", "augment/strength", "images_per_second"}
    # One grid per snapshot, the very image saved in samples/, and the reals at step 0.
    fakes = events.Images("samples/fakes")
    assert [e.step for e in fakes] == [8, 16]
    first = np.asarray(Image.open(run / "samples" / "fakes_kimg0000_008.png").convert("RGB"))
    np.testing.assert_array_equal(_png(fakes[0].encoded_image_string), first)
    latest = np.asarray(Image.open(run / "samples" / "fakes_latest.png").convert("RGB"))
    np.testing.assert_array_equal(_png(fakes[1].encoded_image_string), latest)
    assert not np.array_equal(first, latest)  # G moved between the snapshots
    (reals,) = events.Images("samples/reals")
    assert reals.step == 0
    np.testing.assert_array_equal(
        _png(reals.encoded_image_string), np.asarray(Image.open(run / "samples" / "reals.png").convert("RGB"))
    )


@pytest.mark.slow
def test_a_resumed_run_continues_the_curves_and_drops_what_came_after_its_checkpoint(tmp_path: Path) -> None:
    values = tiny_config_values(kimg=0.032, snapshot_kimg=0.016, tick_kimg=0.004)
    run = train(validate_config(values | {"kimg": 0.016}), out_root=tmp_path)
    # A crash after the checkpoint at 16 images, once the run had logged ticks at 18 and 20 (its log
    # was once finer) that are now lost.
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(run / "tensorboard")) as stale:
        for step in (18, 20):
            stale.add_scalar("loss/G", 999.0, global_step=step)
    with open(run / "metrics.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps({"kimg": 0.018, "loss/G": 999.0}) + "\n")

    train(validate_config(values), resume_dir=run)
    events = _events(run)
    steps = [event.step for event in events.Scalars("loss/G")]
    assert steps == [4, 8, 12, 16, 20, 24, 28, 32]  # one curve, continued, not restarted at 0
    records = _records(run / "metrics.jsonl")
    loss = _curves(events)["loss/G"]
    assert loss == pytest.approx({round(r["kimg"] * 1000): r["loss/G"] for r in records}, rel=1e-6)
    assert 999.0 not in loss.values()
    assert [e.step for e in events.Images("samples/fakes")] == [16, 32]


def test_the_upscaler_trainer_shows_its_log_in_tensorboard_too(tmp_path: Path) -> None:
    """The step loop the upscaler and translator trainers share writes the same curves."""
    from maskgen.testing import tiny_upscale_values
    from maskgen.upscaling.config import validate_upscale_config
    from maskgen.upscaling.trainer import train as train_upscaler

    run = train_upscaler(validate_upscale_config(tiny_upscale_values()), out_root=tmp_path)
    keys = _assert_curves_are_the_log(run, _events(run))
    assert keys >= {"loss/l1", "seconds_per_step"}


def test_without_tensorboard_installed_the_run_trains_and_says_so_once(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # its import fails as when missing
    monkeypatch.setattr(watch.TensorBoard, "said_missing", False)  # said once per process: this one
    messages: list[str] = []
    run = train(validate_config(tiny_config_values()), out_root=tmp_path / "a", on_message=messages.append)
    notes = [m for m in messages if m.startswith(("note:", "warning:"))]
    assert len(notes) == 1 and "tensorboard" in notes[0] and "maskgen[tensorboard]" in notes[0]
    assert not (run / "tensorboard").exists()
    assert len(_records(run / "metrics.jsonl")) == 1
    assert (run / "checkpoints" / "latest").is_dir()


def test_the_run_command_takes_the_flags_and_says_the_metrics(cli, tmp_path: Path) -> None:
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(tiny_config_values(metrics_images=16)), encoding="utf-8")
    out = tmp_path / "runs"
    result = cli.invoke(
        app, ["run", "--config", str(config), "--out", str(out), "--no-tensorboard", "--metrics", "fid"]
    )
    assert result.exit_code == 0, result.output
    (run,) = out.iterdir()
    assert not (run / "tensorboard").exists() and (run / "metrics.jsonl").is_file()
    assert "TensorBoard" not in result.output  # no note about it (the test's folder names it in lower case)
    # The labels name their network in brackets, which the terminal must not take for markup.
    assert result.output.count("FD[masknet]") == 2
    assert len(_records(run / "metric-snapshots.jsonl")) == 2
    assert json.loads((run / "config.json").read_text())["tensorboard"] is False


def _mask_folder(folder: Path, count: int, size: int) -> Path:
    from maskgen.data.procedural import render_masks

    images, _ = render_masks(count, size, seed=3)
    folder.mkdir()
    for index, image in enumerate(images):
        Image.fromarray(image).save(folder / f"mask{index:02d}.png")
    return folder


@pytest.mark.slow
def test_snapshot_metrics_equal_maskgen_eval_on_that_checkpoint(cli, tmp_path: Path) -> None:
    """The numbers of the last snapshot are what `maskgen eval` gives on its checkpoint with the same
    reals, count and seeds; they are in metric-snapshots.jsonl and in TensorBoard."""
    data = _mask_folder(tmp_path / "masks", 24, 16)
    values = tiny_config_values(
        data=str(data), xflip=True, metrics="fid, KID", metrics_images=40, snapshot_kimg=0.008
    )
    messages: list[str] = []
    run = train(validate_config(values), out_root=tmp_path / "runs", on_message=messages.append)
    records = _records(run / "metric-snapshots.jsonl")
    assert [r["snapshot"] for r in records] == ["snapshot-000000k-008", "snapshot-000000k-016"]
    # The 24 masks of the folder, not their mirror images (xflip): the reals `maskgen eval` reads.
    assert all(r["fakes"] == 40 and r["reals"] == 24 and r["seconds"] > 0 for r in records)
    assert all(r["seconds_each"].keys() == {"fakes", "fid", "kid"} for r in records)
    assert sum("FD[masknet]" in m for m in messages) == 2  # said at each snapshot

    report = tmp_path / "eval.json"
    result = cli.invoke(
        app,
        ["eval", "--real", str(data), "--fake", str(run / "checkpoints" / "latest"), "--num", "40",
         "-m", "fid,kid", "--device", "cpu", "--json", str(report), "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    measured = {
        entry["label"]: entry["value"] for entry in json.loads(report.read_text())["metrics"].values()
    }
    assert set(measured) == {"FD[masknet]", "KD[masknet] x10^3"}
    assert records[-1]["metrics"] == pytest.approx(measured, rel=1e-5)
    assert records[0]["metrics"]["FD[masknet]"] != pytest.approx(measured["FD[masknet]"], rel=1e-5)
    curves = _curves(_events(run))
    for label, value in records[-1]["metrics"].items():
        assert curves[f"metrics/{label}"][16] == pytest.approx(value, rel=1e-6)


class _DrawsFromTorch(Evaluator):
    """A third-party evaluator that draws from torch's global random stream, as careless ones do."""

    def compute(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        return {"noisy gap": float((fake.mean() - real.mean()).abs()) + float(torch.rand(1)) * 0}


class _Plugin:
    @hookimpl
    def maskgen_evaluators(self) -> list[PluginSpec]:
        return [
            PluginSpec("evaluator", "noisy", "draws from torch's RNG", lambda _options: _DrawsFromTorch())
        ]


@pytest.mark.slow
def test_measuring_changes_nothing_in_the_training(registry, tmp_path: Path) -> None:
    registry.register(_Plugin(), distribution="test-noisy")
    values = tiny_config_values(kimg=0.008, snapshot_kimg=0.004)
    plain = train(validate_config(values), out_root=tmp_path / "plain")
    measured = train(validate_config(values | {"metrics": ["noisy"]}), out_root=tmp_path / "measured")
    assert len(_records(measured / "metric-snapshots.jsonl")) == 2
    a = load_checkpoint(plain / "checkpoints" / "latest").weights
    b = load_checkpoint(measured / "checkpoints" / "latest").weights
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_a_failing_metric_is_one_warning_and_the_run_goes_on(tmp_path: Path) -> None:
    messages: list[str] = []
    values = tiny_config_values(metrics="ppl,fid", metrics_images=16)
    run = train(validate_config(values), out_root=tmp_path, on_message=messages.append)
    warnings = [m for m in messages if m.startswith("warning: metric ppl")]
    assert len(warnings) == 1  # dropped after the first snapshot
    records = _records(run / "metric-snapshots.jsonl")
    assert [list(r["metrics"]) for r in records] == [["FD[masknet]"], ["FD[masknet]"]]


def test_runs_below_16_px_are_not_measured_and_say_so(tmp_path: Path) -> None:
    messages: list[str] = []
    values = tiny_config_values(resolution=8, metrics=["fid"], kimg=0.008)
    run = train(validate_config(values), out_root=tmp_path, on_message=messages.append)
    assert [m for m in messages if m.startswith("note:")] == [
        "note: no snapshot metrics below 16 px (this run trains at 8 px)"
    ]
    assert not (run / "metric-snapshots.jsonl").exists() and (run / "checkpoints" / "latest").is_dir()


def test_an_unknown_metric_is_one_error_line_listing_the_known_ones(
    cli, tiny_config_file: Path, tmp_path
) -> None:
    out = tmp_path / "runs"
    result = cli.invoke(
        app, ["run", "--config", str(tiny_config_file), "--out", str(out), "--metrics", "fid,fdd"]
    )
    assert_one_line_error(result, "unknown evaluator 'fdd'", "fid", "kid", "c2st")
    assert not out.exists()


def test_metric_names_are_read_as_maskgen_eval_reads_them_and_the_presets_choose_the_default() -> None:
    assert resolve_config(metrics="FID, ms-ssim,fid").metrics == ["fid", "msssim"]
    assert resolve_config(metrics="none").metrics == []
    assert resolve_config().metrics == PRESETS["cpu"]["metrics"] == ["fid"]  # about 1% of a CPU run
    assert resolve_config(preset="paper256").metrics == ["fid"]
    assert resolve_config().tensorboard is True
