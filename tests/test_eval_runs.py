"""One evaluation path for a run (maskgen.evaluation.reports.runs.evaluate_run): ``maskgen report``'s metric
and ``maskgen compare``'s evaluator plugins see the same images and give the same numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from maskgen.apps.compare import RunSummary, evaluate_summary
from maskgen.config import validate_config
from maskgen.evaluation.evaluate import EvalSettings
from maskgen.evaluation.reports.runs import EVAL_FILE, evaluate_run, run_label
from maskgen.testing import tiny_config_values
from maskgen.training.loop import train

METRICS = ["ssim", "asymmetry", "colour"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, object]:
    config = validate_config(tiny_config_values(kimg=0.008))
    return train(config, out_root=tmp_path_factory.mktemp("runs")), config


def test_report_settings_and_compare_plugins_agree(run) -> None:
    run_dir, config = run
    cpu = torch.device("cpu")
    by_settings = evaluate_run(run_dir, 12, cpu, EvalSettings(metrics=METRICS), cache=False)
    by_plugins = evaluate_run(run_dir, 12, cpu, evaluators=METRICS, cache=False)
    assert not (run_dir / EVAL_FILE).exists()
    assert by_settings["real"] == by_plugins["real"] and by_settings["fake"] == by_plugins["fake"]
    values = {e["label"]: e["value"] for e in by_settings["metrics"].values()}
    assert values.keys() == {"SSIM", "asymmetry ratio", "colour TV[7]"}
    for label, value in values.items():
        assert by_plugins["metrics"][label]["value"] == pytest.approx(value, rel=1e-6), label
    assert by_plugins["model"]["label"] == run_label("none") == "StyleGAN2"
    # compare's wrapper is the same call, seen as {label: value}.
    summary = RunSummary("none", 0, run_dir, config)
    metrics, notes = evaluate_summary(summary, METRICS, 12)
    assert notes == [] and metrics == pytest.approx(values, rel=1e-6)


def test_compare_notes_a_run_it_cannot_evaluate(tmp_path: Path) -> None:
    config = validate_config(tiny_config_values(kimg=0.004, resolution=8))
    run_dir = train(config, out_root=tmp_path / "runs")
    metrics, notes = evaluate_summary(RunSummary("none", 0, run_dir, config), ["ssim"], 8)
    assert metrics == {} and len(notes) == 1 and "too small to evaluate" in notes[0]
