"""``maskgen compare``: runs per augmenter, the Table-1 report, curves and sample plots."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

_ROOT = Path(__file__).resolve().parents[1]
try:
    import maskgen_apa  # noqa: F401
except ImportError:  # plugin not installed: use its source tree
    sys.path.insert(0, str(_ROOT / "plugins" / "augment_apa"))

import maskgen.cli.compare_cmd  # noqa: E402, F401  (registers the command on the shared app)
import maskgen.plugins.builtin as builtin_plugins  # noqa: E402
from maskgen.apps.compare import (  # noqa: E402
    CompareSettings,
    metric_key,
    metrics_table,
    parse_augment_list,
    plan_configs,
    row_label,
    run_comparison,
    tick_kimg_for,
)
from maskgen.cli.main import app  # noqa: E402  (the other commands: a one-command app has no subcommands)
from maskgen.errors import MaskgenError  # noqa: E402
from maskgen.plugins import PluginRegistry, set_registry  # noqa: E402
from maskgen.plugins.hookspecs import hookimpl  # noqa: E402
from maskgen.plugins.interfaces import Evaluator, PluginSpec  # noqa: E402
from maskgen.testing import assert_one_line_error, tiny_config_values  # noqa: E402
from maskgen_apa import plugin as apa_plugin  # noqa: E402


class _InceptionLike(Evaluator):
    name, feature_network = "fid", "inception"

    def compute(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        assert real.min() >= 0 and fake.max() <= 1 and fake.shape[0] == 8  # [0, 1], --eval-num images
        return {"fid": 12.5, "kid": 0.0031}


class _MasknetLike(Evaluator):
    """Labels as maskgen's evaluation plugins write them: network named, KD already x10^3."""

    name, feature_network = "fd", "masknet"

    def compute(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        return {"FD[masknet]": 3.0, "KD[masknet] x10^3": 113.0, "MS-SSIM (window 7, 3 scales)": 0.38}


class _MissingWeights(Evaluator):
    def compute(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        raise MaskgenError("Inception weights not found: put the file in ~/.cache")


class _Evaluators:
    @hookimpl
    def maskgen_evaluators(self) -> list[PluginSpec]:
        return [
            PluginSpec("evaluator", "fid", "test", lambda options: _InceptionLike()),
            PluginSpec("evaluator", "fd", "test", lambda options: _MasknetLike()),
            PluginSpec("evaluator", "broken", "test", lambda options: _MissingWeights()),
        ]


@pytest.fixture
def compare_registry() -> PluginRegistry:
    registry = PluginRegistry(entry_points=False)
    registry.register(builtin_plugins, distribution="maskgen")
    registry.register(apa_plugin, distribution="maskgen-augment-apa")
    registry.register(_Evaluators(), distribution="test-evaluators")
    set_registry(registry)
    return registry


def test_compare_none_and_apa_writes_report_and_plots(cli, compare_registry, tmp_path: Path) -> None:

    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(tiny_config_values(kimg=0.008)), encoding="utf-8")
    args = ["compare", "--augment", "none,apa", "--config", str(config), "--out", str(tmp_path / "out")]
    args += ["-A", "apa.p=0.5", "--eval-num", "8", "--metrics", "fid,fd,broken", "--quiet"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    (out_dir,) = (tmp_path / "out").iterdir()
    report = (out_dir / "report.md").read_text(encoding="utf-8")
    quality = report.split("## Image quality")[1].split("## Training dynamics")[0]
    rows = {line.split("|")[1].strip(): line for line in quality.splitlines() if line.startswith("| ")}
    # Table 1 layout: FID, KID (x 10^3), SSIM, MS-SSIM, then other metrics named with their network.
    header = rows["Image generation models"]
    assert header.index("FID") < header.index("KID (×10³)") < header.index("SSIM") < header.index("MS-SSIM")
    assert header.split("|")[6:8] == [" FD[masknet] ", " KD[masknet] (×10³) "]
    for label in ("StyleGAN2", "APA"):
        cells = [cell.strip() for cell in rows[label].split("|")[2:-1]]
        # Raw KID 0.0031 shown x10^3; KD already x10^3 not scaled twice; MS-SSIM in its column.
        assert cells == ["12.50", "3.10", "n/a", "0.3800", "3.00", "113.00"]
    assert "MS-SSIM: window 7, 3 scales" in report
    assert "broken: Inception weights not found" in report
    assert "| APA | `apa` | 0.500 |" in report  # fixed p, shown in the dynamics table
    for name in ("strength.png", "heuristic.png", "samples.png"):
        with Image.open(out_dir / name) as image:
            assert image.format == "PNG" and image.width > 100
        assert f"({name})" in report
    # Each run logged every step (2 records instead of one at the end).
    runs = sorted((out_dir / "runs").iterdir())
    assert [run.name.split("-")[1] for run in runs] == ["none", "apa"]
    for run in runs:
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert len(records) == 2 and all("D/real_sign" in r for r in records)
    payload = json.loads((out_dir / "compare.json").read_text())
    assert [p["label"] for p in payload] == ["StyleGAN2", "APA"]
    assert payload[1]["training"]["strength"] == {"": 0.5}


def test_augment_list_with_a_missing_stack_name_is_refused() -> None:
    assert parse_augment_list("none, apa+ada") == ["none", "apa+ada"]
    for text in ("none,ada+", "+,ada"):
        with pytest.raises(MaskgenError, match="a name is missing"):
            parse_augment_list(text)


def test_unknown_augmenter_fails_before_training(compare_registry, tmp_path: Path) -> None:
    settings = CompareSettings(["none", "nope"], [0], tmp_path / "out", tiny_config_values())
    with pytest.raises(MaskgenError, match="unknown augmenter 'nope'"):
        run_comparison(settings)
    assert not (tmp_path / "out").exists()


def test_plan_keys_options_by_augmenter_and_shares_the_budget(compare_registry) -> None:
    file_values = tiny_config_values(augment_options={"apa": {"target": 0.7}}, kimg=0.5)
    settings = CompareSettings(["none", "apa", "apa+none"], [3, 4], Path("unused"), file_values)
    planned = plan_configs(settings)
    assert [(a, s) for a, s, _ in planned] == [(a, s) for a in ("none", "apa", "apa+none") for s in (3, 4)]
    configs = {(a, s): c for a, s, c in planned}
    assert configs["none", 3].augment_options == {}
    assert configs["apa", 4].augment_options == {"target": 0.7}
    assert configs["apa+none", 3].augment_options == {"apa": {"target": 0.7}}
    assert {c.kimg for c in configs.values()} == {0.5} and configs["none", 4].seed == 4
    assert configs["none", 3].dataset_count == 32  # the file's value beats the comparison's default 200
    with pytest.raises(MaskgenError, match="keyed by augmenter name"):
        plan_configs(CompareSettings(["none"], [0], Path("unused"), {"augment_options": {"target": 0.7}}))
    with pytest.raises(MaskgenError, match="not compared: ada"):
        plan_configs(CompareSettings(["none"], [0], Path("unused"), augment_options={"ada": {"p": 0.1}}))
    with pytest.raises(MaskgenError, match="bad options for augmenter 'apa'"):
        plan_configs(CompareSettings(["none", "apa"], [0], Path("unused"), augment_options={"apa": {"q": 1}}))
    with pytest.raises(MaskgenError, match="unknown evaluator"):
        plan_configs(CompareSettings(["none"], [0], Path("unused"), metrics=["nope"]))


def test_cpu_comparison_defaults_to_equal_length_runs_with_fast_adaptation(compare_registry) -> None:
    ((_, _, default),) = plan_configs(CompareSettings(["none"], [0], Path("unused")))
    assert default.kimg == 25.0 and default.max_minutes is None  # equal kimg, not the time budget
    assert default.augment_speed_kimg == 10.0 and default.dataset_count == 200
    ((_, _, chosen),) = plan_configs(
        CompareSettings(["none"], [0], Path("unused"), {"augment_speed_kimg": 50.0}, {"kimg": 3.0})
    )
    assert chosen.kimg == 3.0 and chosen.augment_speed_kimg == 50.0
    ((_, _, paper),) = plan_configs(CompareSettings(["none"], [0], Path("unused"), {"preset": "paper256"}))
    assert paper.kimg == 25000.0 and paper.augment_speed_kimg == 500.0


def test_small_helpers() -> None:
    assert parse_augment_list("none, ada,apa + ada") == ["none", "ada", "apa+ada"]
    with pytest.raises(MaskgenError, match="twice"):
        parse_augment_list("ada,ada")
    assert [row_label(a) for a in ("none", "ada", "apa", "diffusion", "apa+ada")] == [
        "StyleGAN2",
        "ADA",
        "APA",
        "Diffusion-GAN",
        "APA+ADA",
    ]
    assert metric_key("FID[inception]") == ("fid", False, "")
    assert metric_key("KD[masknet] x10^3") == ("kd[masknet]", True, "")
    assert metric_key("MS-SSIM (window 7, 3 scales)") == ("msssim", False, "window 7, 3 scales")
    assert tick_kimg_for(60.0) == 3.0 and tick_kimg_for(2.0) == 0.1 and tick_kimg_for(0.001) == 0.001
    assert metrics_table([])[0].startswith("| Image generation models | FID | KID (×10³) | SSIM | MS-SSIM |")


def test_cli_errors_are_one_line(cli, compare_registry, tmp_path: Path) -> None:
    out = ["--out", str(tmp_path / "out")]
    for args, fragment in (
        (["--augment", "none,nope"], "unknown augmenter 'nope'"),
        (["-A", "target=0.7"], "AUGMENTER.KEY=VALUE"),
        (["--seeds", "x"], "bad seed list"),
    ):
        assert_one_line_error(cli.invoke(app, ["compare", *args, *out]), fragment)
    assert not (tmp_path / "out").exists()
