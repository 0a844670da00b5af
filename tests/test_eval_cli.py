"""The evaluation commands end to end: eval, classify, label-colors, report; one-line errors."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import maskgen.cli.eval_cmd  # noqa: F401  (registers the commands; harmless once main.py imports it)
from maskgen.cli.main import app
from maskgen.config import validate_config
from maskgen.data.procedural import CATEGORY_NAMES, render_masks
from maskgen.errors import MaskgenError
from maskgen.evaluation.features import weights as weights_module
from maskgen.testing import assert_one_line_error, tiny_config_values
from maskgen.training.loop import train


def _write_folder(folder: Path, images: np.ndarray, labels: np.ndarray | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, image in enumerate(images):
        name = f"m{i:03d}.png"
        Image.fromarray(image).save(folder / name)
        if labels is not None:
            rows.append({"file": name, "label": int(labels[i]), "category": CATEGORY_NAMES[labels[i]]})
    if labels is not None:
        with (folder / "labels.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["file", "label", "category"])
            writer.writeheader()
            writer.writerows(rows)
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("eval")
    real, labels = render_masks(24, 32, seed=0)
    fake, _ = render_masks(24, 32, seed=1)
    return _write_folder(root / "real", real, labels), _write_folder(root / "fake", fake)


@pytest.fixture
def no_weights(tmp_path, monkeypatch) -> Path:
    """Every place standard weights are looked up is an empty folder."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("MASKGEN_WEIGHTS", raising=False)
    monkeypatch.setattr(weights_module, "CLEANFID_CACHE", lambda: tmp_path / "cleanfid")
    return tmp_path / "torch" / "hub" / "checkpoints"


# --------------------------------------------------------------------------------------------------
# maskgen eval
# --------------------------------------------------------------------------------------------------


def test_eval_on_two_folders_writes_the_json(cli, folders, tmp_path) -> None:
    real, fake = folders
    out = tmp_path / "eval.json"
    result = cli.invoke(app, ["eval", "--real", str(real), "--fake", str(fake), "--json", str(out), "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert set(data["metrics"]) == {
        "fid", "kid", "ssim", "msssim", "lpips_real", "lpips_diversity", "acc_real", "acc_fake",
    }  # fmt: skip
    assert data["metrics"]["fid"]["label"] == "FD[masknet]"
    assert data["metrics"]["kid"]["label"] == "KD[masknet] x10^3"
    assert data["metrics"]["kid"]["value"] == pytest.approx(data["metrics"]["kid"]["raw"] * 1e3)
    assert data["metrics"]["msssim"]["scales"] == 3 and data["metrics"]["msssim"]["window"] == 7
    assert data["metrics"]["lpips_real"]["label"] == "LPIPS[masknet] fake-real"
    assert data["metrics"]["acc_real"]["label_source"].startswith("real labels")
    assert data["metrics"]["acc_fake"]["label_source"].startswith("colour rule")
    assert data["metrics"]["acc_real"]["value"] >= 0.95
    assert data["real"]["count"] == 24 and data["fake"]["size"] == 32
    assert 0 < data["metrics"]["ssim"]["value"] < 1
    assert "FD[masknet]" in result.stdout and "MS-SSIM (window 7, 3 scales)" in result.stdout


def test_eval_errors_are_one_line(cli, folders, tmp_path) -> None:
    real, fake = folders
    line = assert_one_line_error(
        cli.invoke(app, ["eval", "--real", str(tmp_path / "nope"), "--fake", str(fake)])
    )
    assert "real images not found" in line
    (tmp_path / "empty").mkdir()
    line = assert_one_line_error(
        cli.invoke(app, ["eval", "--real", str(real), "--fake", str(tmp_path / "empty")])
    )
    assert "no readable images" in line
    big = _write_folder(tmp_path / "big", render_masks(3, 48, seed=2)[0])
    line = assert_one_line_error(cli.invoke(app, ["eval", "--real", str(real), "--fake", str(big)]))
    assert "32 px" in line and "48 px" in line and "--size" in line
    line = assert_one_line_error(
        cli.invoke(app, ["eval", "--real", str(real), "--fake", str(fake), "-m", "fid,bogus"])
    )
    assert "bogus" in line
    mixed = _write_folder(tmp_path / "mixed", render_masks(2, 48, seed=2)[0])
    Image.fromarray(render_masks(1, 32, seed=3)[0][0]).save(mixed / "small.png")
    line = assert_one_line_error(cli.invoke(app, ["eval", "--real", str(real), "--fake", str(mixed)]))
    assert "different sizes" in line and "--size" in line
    result = cli.invoke(
        app, ["eval", "--real", str(real), "--fake", str(mixed), "--size", "32", "-m", "ssim", "-q"]
    )
    assert result.exit_code == 0, result.output
    # With --size both are resized and compared.
    result = cli.invoke(
        app, ["eval", "--real", str(real), "--fake", str(big), "--size", "32", "-m", "ssim", "-q"]
    )
    assert result.exit_code == 0, result.output


def test_missing_standard_weights_give_one_line(cli, folders, no_weights) -> None:
    real, fake = folders
    line = assert_one_line_error(
        cli.invoke(app, ["eval", "--real", str(real), "--fake", str(fake), "--features", "inception"])
    )
    assert "inception-2015-12-05.pt" in line and str(no_weights) in line
    args = ["eval", "--real", str(real), "--fake", str(fake), "-m", "lpips", "--lpips-net", "alex"]
    line = assert_one_line_error(cli.invoke(app, args))
    assert "alexnet-owt-7be5be79.pth" in line and str(no_weights) in line
    args = ["classify", "train", "--data", str(real), "--pretrained", "--out", str(no_weights.parent / "c")]
    line = assert_one_line_error(cli.invoke(app, args))
    assert "resnet18-f37072fd.pth" in line
    line = assert_one_line_error(
        cli.invoke(
            app,
            [
                "eval",
                "--real",
                str(real),
                "--fake",
                str(fake),
                "--weights",
                "/nonexistent/i.pt",
                "--features",
                "inception",
            ],
        )  # fmt: skip
    )
    assert "/nonexistent/i.pt" in line


def test_download_fails_fast_without_network(no_weights) -> None:
    started = time.perf_counter()
    with pytest.raises(MaskgenError, match="could not download"):
        weights_module.fetch(weights_module.INCEPTION, url="http://127.0.0.1:9/inception.pt", timeout=3)
    assert time.perf_counter() - started < 10
    assert not any(no_weights.glob("*")) if no_weights.exists() else True


def test_eval_draws_from_a_checkpoint_and_report_tabulates_runs(cli, tmp_path) -> None:
    run = train(validate_config(tiny_config_values(kimg=0.008)), out_root=tmp_path / "runs")
    out = tmp_path / "ck.json"
    args = [
        "eval",
        "--real",
        "builtin",
        "--fake",
        str(run),
        "--num",
        "16",
        "-m",
        "fid,ssim",
        "--json",
        str(out),
        "-q",
    ]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert (
        data["fake"]["kind"] == "checkpoint"
        and data["fake"]["seeds"] == "0-15"
        and data["fake"]["size"] == 16
    )
    assert data["real"]["count"] == 16

    report = tmp_path / "report.md"
    result = cli.invoke(app, ["report", str(run), "--out", str(report), "--num", "16", "-q"])
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert (
        "**Table 1**" in text and "| StyleGAN2 |" in text and "FD[masknet]" in text and "**Table 3**" in text
    )
    assert (tmp_path / "report-lpips.png").is_file() and (run / "eval.json").is_file()
    # The second report reuses eval.json.
    cached = (run / "eval.json").stat().st_mtime_ns
    assert cli.invoke(app, ["report", str(run), "--out", str(report), "--num", "16", "-q"]).exit_code == 0
    assert (run / "eval.json").stat().st_mtime_ns == cached


# --------------------------------------------------------------------------------------------------
# maskgen classify
# --------------------------------------------------------------------------------------------------


def _toy(folder: Path, count: int, seed: int) -> Path:
    """Two separable classes in sub-folders: reddish and bluish noisy squares."""
    rng = np.random.default_rng(seed)
    for name, colour in (("red", (200, 40, 40)), ("blue", (40, 60, 200))):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            image = np.full((24, 24, 3), 255, np.uint8)
            lo, hi = sorted(rng.integers(2, 22, size=2))
            image[lo : hi + 2, lo : hi + 2] = np.clip(np.array(colour) + rng.integers(-30, 30, 3), 0, 255)
            Image.fromarray(image).save(folder / name / f"{i}.png")
    return folder


def test_classify_learns_a_separable_toy_set(cli, tmp_path) -> None:
    train_dir, test_dir = _toy(tmp_path / "train", 16, 0), _toy(tmp_path / "test", 8, 1)
    ckpt = tmp_path / "clf"
    args = [
        "classify",
        "train",
        "--data",
        str(train_dir),
        "--backbone",
        "masknet",
        "--epochs",
        "15",
        "--out",
        str(ckpt),
    ]
    result = cli.invoke(app, [*args, "-q"])
    assert result.exit_code == 0, result.output
    assert (ckpt / "classifier.safetensors").is_file() and (ckpt / "classifier.json").is_file()
    assert json.loads((ckpt / "classifier.json").read_text())["class_names"] == ["red", "blue"]
    out = tmp_path / "acc.json"
    result = cli.invoke(
        app, ["classify", "eval", "-c", str(ckpt), "--data", str(test_dir), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["accuracy"] == 1.0 and report["per_class"] == {"red": 1.0, "blue": 1.0}
    assert (ckpt / "confusion-test.png").is_file()


def test_classify_eval_refuses_unknown_classes(cli, tmp_path) -> None:
    train_dir = _toy(tmp_path / "train", 4, 0)
    ckpt = tmp_path / "clf"
    args = [
        "classify",
        "train",
        "--data",
        str(train_dir),
        "--backbone",
        "masknet",
        "--epochs",
        "1",
        "--out",
        str(ckpt),
    ]
    assert cli.invoke(app, [*args, "-q"]).exit_code == 0
    other = tmp_path / "other"
    (other / "green").mkdir(parents=True)
    Image.new("RGB", (24, 24), (0, 160, 0)).save(other / "green" / "a.png")
    line = assert_one_line_error(cli.invoke(app, ["classify", "eval", "-c", str(ckpt), "--data", str(other)]))
    assert "green" in line
    line = assert_one_line_error(cli.invoke(app, ["classify", "train", "--data", str(tmp_path / "nope")]))
    assert "not found" in line


# --------------------------------------------------------------------------------------------------
# maskgen dataset label-colors
# --------------------------------------------------------------------------------------------------


def test_label_colors_proposes_the_primary_colours(cli, tmp_path) -> None:
    images, labels = render_masks(70, 48, seed=9)
    folder = _write_folder(tmp_path / "masks", images)
    result = cli.invoke(app, ["dataset", "label-colors", str(folder)])
    assert result.exit_code == 0, result.output
    with (folder / "labels.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["file"] for r in rows] == [f"m{i:03d}.png" for i in range(70)]
    proposed = np.array([int(r["label"]) for r in rows])
    assert (proposed == labels).mean() >= 0.95
    assert all(CATEGORY_NAMES[int(r["label"])] == r["category"] for r in rows)
    line = assert_one_line_error(cli.invoke(app, ["dataset", "label-colors", str(folder)]))
    assert "--force" in line


# --------------------------------------------------------------------------------------------------
# maskgen features train-masknet
# --------------------------------------------------------------------------------------------------


def test_train_masknet_is_reproducible(cli, tmp_path) -> None:
    """Same settings, same weights: what makes the shipped file reproducible (at a tiny scale here)."""
    outs = [tmp_path / f"m{i}.safetensors" for i in range(2)]
    for out in outs:
        args = ["features", "train-masknet", "--out", str(out), "--count", "14", "--size", "16"]
        result = cli.invoke(app, [*args, "--epochs", "1", "--batch", "7", "--holdout", "7", "-q"])
        assert result.exit_code == 0, result.output
    assert outs[0].read_bytes() == outs[1].read_bytes()
    info = json.loads(outs[0].with_suffix(".json").read_text())
    assert info["config"]["count"] == 14 and 0 <= info["heldout_accuracy"] <= 1
    from maskgen.evaluation.features.masknet import load_masknet

    load_masknet(outs[0])
    line = assert_one_line_error(
        cli.invoke(app, ["features", "train-masknet", "--out", str(tmp_path / "m.pt")])
    )
    assert ".safetensors" in line


def test_train_eye_is_reproducible_and_loads_as_the_projected_ds_eye(cli, tmp_path) -> None:
    outs = [tmp_path / f"e{i}.safetensors" for i in range(2)]
    for out in outs:
        args = ["features", "train-eye", "--out", str(out), "--count", "16", "--batch", "8"]
        result = cli.invoke(app, [*args, "--epochs", "1", "--holdout", "8", "-q"])
        assert result.exit_code == 0, result.output
        assert "finds its twin" in result.output and "chance 12.5%" in result.output
    assert outs[0].read_bytes() == outs[1].read_bytes()
    info = json.loads(outs[0].with_suffix(".json").read_text())
    assert info["config"]["count"] == 16 and 0 <= info["heldout_retrieval"] <= 1
    from maskgen.networks.projected import load_eye

    load_eye(outs[0])
    line = assert_one_line_error(cli.invoke(app, ["features", "train-eye", "--out", str(tmp_path / "e.pt")]))
    assert ".safetensors" in line


class _FakeInception(torch.nn.Module):
    """Stands in for clean-fid's TorchScript Inception: same interface (``.layers`` -> [B, 2048, 1, 1])."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Conv2d(3, 2048, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def test_inception_and_alex_paths_with_given_weight_files(cli, folders, tmp_path) -> None:
    from torchvision.models import alexnet

    inception = tmp_path / "inception.pt"
    torch.jit.save(torch.jit.script(_FakeInception()), str(inception))
    alex = tmp_path / "alex.pth"
    torch.save(alexnet(weights=None).state_dict(), alex)
    real, fake = folders
    out = tmp_path / "i.json"
    # (FID itself is left out: sqrtm of a 2048x2048 matrix takes minutes on 2 busy cores.)
    args = ["eval", "--real", str(real), "--fake", str(fake), "--num", "8", "-m", "kid,lpips"]
    args += ["--features", "inception", "--weights", str(inception), "--lpips-weights", str(alex)]
    result = cli.invoke(app, [*args, "--json", str(out), "-q"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())["metrics"]
    assert (
        metrics["kid"]["label"] == "KID[inception] x10^3" and metrics["kid"]["feature_network"] == "inception"
    )
    assert metrics["lpips_real"]["label"] == "LPIPS[alex] fake-real" and metrics["lpips_real"]["value"] > 0


def test_finetune_masknet_on_a_labelled_folder(cli, folders, tmp_path) -> None:
    real, fake = folders
    out = tmp_path / "tuned.safetensors"
    args = ["features", "train-masknet", "--finetune", str(real), "--out", str(out), "--epochs", "1", "-q"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["images"] == 24 and info["heldout_images"] == 4 and 0 <= info["heldout_accuracy"] <= 1
    result = cli.invoke(
        app, ["eval", "--real", str(real), "--fake", str(fake), "-m", "fid", "--masknet", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    line = assert_one_line_error(
        cli.invoke(app, [*args[:3], str(fake), *args[4:]])
    )  # no labels in that folder
    assert "no labels" in line


def test_eval_draws_from_a_shipped_base_model_by_name(cli, tmp_path) -> None:
    out = tmp_path / "base.json"
    args = [
        "eval",
        "--real",
        "builtin",
        "--fake",
        "base:builtin-64px-mirrored",
        "--num",
        "8",
        "-m",
        "asymmetry",
    ]
    result = cli.invoke(app, [*args, "--json", str(out), "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["fake"]["kind"] == "checkpoint" and data["fake"]["size"] == 64
    assert Path(data["fake"]["source"]).name == "builtin-64px-mirrored"
    line = assert_one_line_error(cli.invoke(app, ["eval", "--real", "builtin", "--fake", "base:nope"]))
    assert "no base model 'base:nope'" in line
