"""Every metric runs through the evaluator registry: an evaluator written to the documented plugin
interface (``Evaluator.compute(real, fake) -> {label: value}`` from a ``maskgen_evaluators`` hook) works
unchanged in ``maskgen eval``, ``maskgen report`` and ``maskgen compare``, and the template plugin's
``brightness`` evaluator shows in all three with no core change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from maskgen.apps.compare import RunSummary, default_metrics, evaluate_summary, metrics_table
from maskgen.cli.main import app
from maskgen.config import validate_config
from maskgen.data.procedural import render_masks
from maskgen.evaluation import plugin as builtin_evaluators
from maskgen.evaluation.evaluate import EvalSettings, evaluate, summary_rows
from maskgen.evaluation.imagesets import ImageSet
from maskgen.evaluation.reports.report import render_markdown
from maskgen.plugins import PluginRegistry, get_registry
from maskgen.plugins.hookspecs import hookimpl
from maskgen.plugins.interfaces import Evaluator, PluginSpec
from maskgen.testing import tiny_config_values
from maskgen.training.loop import train


class _Darkness(Evaluator):
    """Today's documented interface, nothing more."""

    name, feature_network = "darkness", None

    def compute(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        assert real.dtype == torch.float32 and 0 <= float(real.min()) and float(fake.max()) <= 1
        return {"darkness": float(1 - fake.mean())}


class _Plugin:
    @hookimpl
    def maskgen_evaluators(self) -> list[PluginSpec]:
        return [PluginSpec("evaluator", "darkness", "test", lambda options: _Darkness())]


@pytest.fixture
def registry_with_darkness() -> PluginRegistry:
    registry = PluginRegistry(entry_points=False)
    registry.register(builtin_evaluators, distribution="maskgen", version="test")
    registry.register(_Plugin(), distribution="test-evaluators")
    return registry


@pytest.fixture(scope="module")
def run() -> Path:
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="maskgen-third-party-"))
    return train(validate_config(tiny_config_values(kimg=0.008)), out_root=out)


def test_a_compute_only_evaluator_runs_beside_the_builtin_ones(registry_with_darkness) -> None:
    real = ImageSet(render_masks(12, 32, seed=0)[0], "real", "builtin")
    fake = ImageSet(render_masks(12, 32, seed=1)[0], "fake", "folder")
    settings = EvalSettings(metrics=["ssim", "darkness"])
    result = evaluate(real, fake, settings, torch.device("cpu"), registry=registry_with_darkness)
    assert list(result["metrics"]) == ["ssim", "darkness"]
    entry = result["metrics"]["darkness"]
    assert entry["label"] == "darkness" and entry["evaluator"] == "darkness" and 0 < entry["value"] < 1
    assert [row[0] for row in summary_rows(result, registry_with_darkness)] == ["SSIM", "darkness"]
    result["model"] = {"label": "ADA", "kind": "generation"}
    assert "| ADA |" in render_markdown([result], None) and "darkness" in render_markdown([result], None)


def _template_installed() -> None:
    if "brightness" not in get_registry().names("evaluator"):
        pytest.fail("the template plugin (examples/augment-plugin-template) is not installed")


def test_the_template_evaluator_in_eval(cli, tmp_path) -> None:
    _template_installed()
    out = tmp_path / "eval.json"
    args = ["eval", "--real", "builtin", "--fake", "builtin:1", "-n", "12", "--size", "32"]
    result = cli.invoke(app, [*args, "-m", "ssim,brightness", "--json", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "brightness gap" in result.stdout
    metrics = json.loads(out.read_text())["metrics"]
    assert metrics["brightness gap"]["evaluator"] == "brightness" and "ssim" in metrics


def test_the_template_evaluator_in_report_and_compare(cli, run, tmp_path) -> None:
    _template_installed()
    report = tmp_path / "report.md"
    result = cli.invoke(app, ["report", str(run), "--out", str(report), "--num", "16", "-q"])
    assert result.exit_code == 0, result.output
    table1 = report.read_text().split("**Table 1**")[1].split("**Table 3**")[0]
    assert "brightness gap" in table1 and "FD[masknet]" in table1
    # compare runs installed evaluators by default, and shows them in its Table 1.
    assert "brightness" in default_metrics()
    config = validate_config(tiny_config_values(kimg=0.008))
    summary = RunSummary("none", 0, run, config)
    summary.metrics, notes = evaluate_summary(summary, ["ssim", "brightness"], 12)
    assert notes == [] and set(summary.metrics) == {"SSIM", "brightness gap"}
    header, _, row = metrics_table([summary])
    assert "brightness gap" in header and "n/a" in row
