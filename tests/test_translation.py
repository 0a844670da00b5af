"""Translation in core: shared networks, pseudo exemplars, training steps, checkpoints/resume, the CLI.

Each translator's own parts are tested in its plugin (plugins/translator_*/tests).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

import maskgen.cli.translate_cmd  # noqa: F401  (registers the `translate` commands on the shared app)
from maskgen.artifacts.checkpoint import load_checkpoint, split_weights
from maskgen.cli.main import app
from maskgen.data.procedural import render_masks
from maskgen.testing import assert_one_line_error
from maskgen.testing import tiny_translate_values as tiny_values
from maskgen.translation.config import validate_translate_config
from maskgen.translation.deform import DeformParams, deform
from maskgen.translation.features import perceptual_features
from maskgen.translation.networks import MultiscaleDiscriminator, SPADEGenerator
from maskgen.translation.trainer import TranslationTrainer, train

pytestmark = pytest.mark.usefixtures("one_thread")  # maskgen.testing: the tensors here are tiny


# -- shapes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [16, 32])
def test_network_shapes(size: int) -> None:
    sketch, image = torch.rand(2, 1, size, size), torch.rand(2, 3, size, size) * 2 - 1
    D = MultiscaleDiscriminator(4, ndf=8, n_layers=3, num_d=2)
    out = D(torch.cat([sketch, image], 1))
    assert len(out) == 2 and all(len(scale) == 4 and scale[-1].shape[1] == 1 for scale in out)
    G = SPADEGenerator(size, cond_channels=1, nf=4, max_channels=16, hidden=8)
    assert G(sketch).shape == (2, 3, size, size)


def test_deform_identity_flip_and_white_fill() -> None:
    images = torch.rand(3, 3, 16, 16) * 2 - 1
    none = DeformParams(0.0, 0.0, (1.0, 1.0), 0.0, 4, 0.0, (1.0, 1.0), 0.0)
    torch.testing.assert_close(deform(images, none), images, atol=1e-5, rtol=0)
    flip = DeformParams(0.0, 0.0, (1.0, 1.0), 0.0, 4, 0.0, (1.0, 1.0), 1.0)
    torch.testing.assert_close(deform(images, flip), images.flip(3), atol=1e-5, rtol=0)
    shrink = DeformParams(0.0, 0.0, (0.5, 0.5), 0.0, 4, 0.0, (1.0, 1.0), 0.0)  # zoom out: white margin
    assert torch.allclose(deform(images, shrink)[:, :, 0, 0], torch.ones(3, 3))
    torch.manual_seed(0)
    a = deform(images)
    torch.manual_seed(0)
    assert torch.equal(a, deform(images)) and not torch.allclose(a, images)


# -- training -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("translator", ["cocosnet", "spade"])
def test_training_steps_lower_the_loss_on_a_fixed_batch(translator: str, tmp_path: Path) -> None:
    values = tiny_values(translator, pseudo_prob=1.0)
    values["translator_options"]["lr_g"] = 1e-3  # a few steps must show; the default is the original's 1e-4
    config = validate_translate_config(values)
    trainer = TranslationTrainer(config, tmp_path)
    torch.manual_seed(0)
    batch = trainer.data.sample(4)
    model = trainer.model
    watched = ("feat", "context", "domain", "cycle") if translator == "cocosnet" else ("vgg",)

    @torch.no_grad()
    def reconstruction() -> float:
        torch.manual_seed(1)  # same z for SPADE
        losses, _ = model.generator_losses(batch)
        return sum(float(losses[k]) for k in watched)

    before = reconstruction()
    weights_before = {k: v.clone() for k, v in model.translator.state_dict().items()}
    for _ in range(25):
        out = model.training_step(batch)
    assert all(torch.isfinite(v) for v in out.values())
    assert reconstruction() < 0.9 * before
    assert any(not torch.equal(weights_before[k], v) for k, v in model.translator.state_dict().items())
    image, _ = model.translator.translate_with_warp(batch.sketch, batch.reference)
    assert image.shape == batch.target.shape


def test_resumed_run_equals_uninterrupted_run(tmp_path: Path) -> None:
    values = tiny_values(kimg=0.024, snapshot_kimg=0.012)
    straight = train(validate_translate_config(values), out_root=tmp_path / "a")
    half = train(validate_translate_config(values | {"kimg": 0.012}), out_root=tmp_path / "b")
    train(validate_translate_config(values), resume_dir=half)
    a = load_checkpoint(straight / "checkpoints" / "latest")
    b = load_checkpoint(half / "checkpoints" / "latest")
    assert a.weights.keys() == b.weights.keys()
    for key in a.weights:
        torch.testing.assert_close(a.weights[key], b.weights[key], rtol=1e-5, atol=1e-6, msg=key)
    kimgs = [json.loads(line)["kimg"] for line in (half / "metrics.jsonl").read_text().splitlines()]
    assert kimgs == sorted(set(kimgs)) and kimgs[-1] == pytest.approx(0.024)
    # Guard: weights alone (fresh optimizer state and RNG) do not give the same result.
    trainer = TranslationTrainer(validate_translate_config(values), half)
    trainer.load(half / "checkpoints" / "snapshot-000000k-012", with_training_state=False)
    trainer.cur_nimg = 12
    while trainer.cur_nimg < 24:
        trainer.step()
    reference = split_weights(a.weights, "T")
    assert any(not torch.allclose(reference[k], v) for k, v in trainer.model.translator.state_dict().items())
    # The checkpoint says what it is and which feature network the losses used.
    assert a.config["kind"] == "translation" and a.config["features"]["name"] == "random"
    assert (straight / "samples" / "contact_latest.png").is_file()


# -- feature networks ---------------------------------------------------------------------------------


def test_missing_vgg_weights_give_one_line_and_no_network_call(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    messages: list[str] = []
    features = perceptual_features("vgg19", say=messages.append)
    assert features.name in ("masknet", "random")
    assert "vgg19-dcbb9e9d.pth" in messages[0] and str(tmp_path / "hub" / "checkpoints") in messages[0]
    assert "\n" not in messages[0]
    with pytest.raises(Exception, match="not found"):
        perceptual_features("vgg19", weights=tmp_path / "nope.safetensors")


def test_vgg19_weights_from_a_safetensors_file(tmp_path: Path) -> None:
    from torchvision.models.vgg import cfgs, make_layers

    trunk = make_layers(cfgs["E"])[:32]
    path = tmp_path / "vgg19.safetensors"
    save_file({f"features.{k}": v.contiguous() for k, v in trunk.state_dict().items()}, str(path))
    features = perceptual_features("vgg19", weights=path, say=pytest.fail)
    maps = features(torch.zeros(1, 3, 32, 32))
    assert features.name == "vgg19" and [m.shape[1] for m in maps] == [64, 128, 256, 512, 512]


# -- command line -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    from typer.testing import CliRunner

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("translate")
    config = root / "tiny.json"
    config.write_text(json.dumps(tiny_values(kimg=0.008)), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["translate", "train", "--config", str(config), "--out", str(root / "runs"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    torch.set_num_threads(threads)
    (run_dir,) = (root / "runs").iterdir()
    return run_dir


def _write_inputs(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    images, _ = render_masks(2, 40, seed=5)
    Image.fromarray(images[0]).convert("L").save(folder / "sketch.png")  # grey input
    Image.fromarray(images[1]).convert("RGBA").resize((30, 20)).save(folder / "ref.png")  # RGBA, other size
    return folder / "sketch.png", folder / "ref.png"


def test_apply_writes_output_and_warp(cli, trained_run: Path, tmp_path: Path) -> None:
    sketch, ref = _write_inputs(tmp_path / "in")
    out = tmp_path / "out" / "mask.png"
    args = ["translate", "apply", "--checkpoint", str(trained_run), "--sketch", str(sketch)]
    result = cli.invoke(app, [*args, "--reference", str(ref), "--out", str(out), "--show-warp"])
    assert result.exit_code == 0, result.output
    for path in (out, tmp_path / "out" / "mask_warp.png"):
        im = Image.open(path)
        assert im.size == (16, 16) and im.mode == "RGB"
    # Folders: every sketch of the folder with the one reference.
    folder = tmp_path / "sketches"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.open(sketch).save(folder / name)
    result = cli.invoke(
        app,
        [
            "translate",
            "apply",
            "--checkpoint",
            str(trained_run),
            "--sketch",
            str(folder),
            "--reference",
            str(ref),
            "--out",
            str(tmp_path / "many"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == ["a.png", "b.png"]


def test_apply_error_paths(cli, trained_run: Path, tmp_path: Path) -> None:
    sketch, ref = _write_inputs(tmp_path / "in")
    out = str(tmp_path / "o.png")
    base = ["translate", "apply", "--out", out]
    missing = cli.invoke(
        app,
        [
            *base,
            "--checkpoint",
            str(trained_run),
            "--sketch",
            str(tmp_path / "no.png"),
            "--reference",
            str(ref),
        ],
    )
    assert_one_line_error(missing, "sketch not found")
    gan = tmp_path / "gan"
    gan.mkdir()
    save_file({"G.x": torch.zeros(1)}, str(gan / "model.safetensors"))
    (gan / "config.json").write_text(json.dumps({"kind": "gan"}), encoding="utf-8")
    wrong = cli.invoke(
        app, [*base, "--checkpoint", str(gan), "--sketch", str(sketch), "--reference", str(ref)]
    )
    assert_one_line_error(wrong, "gan checkpoint", "not a translation checkpoint")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    bad_image = cli.invoke(
        app, [*base, "--checkpoint", str(trained_run), "--sketch", str(broken), "--reference", str(ref)]
    )
    assert_one_line_error(bad_image, "cannot read image")


def test_train_error_paths(cli, tmp_path: Path) -> None:
    assert_one_line_error(
        cli.invoke(app, ["translate", "train", "--translator", "nope"]), "unknown translator", "cocosnet"
    )
    assert_one_line_error(cli.invoke(app, ["translate", "train", "--size", "48"]), "power of two")
    assert_one_line_error(
        cli.invoke(app, ["translate", "train", "-T", "w_magic=1"]), "bad options", "w_magic"
    )
    assert_one_line_error(
        cli.invoke(app, ["translate", "train", "--data", str(tmp_path / "none")]), "not found"
    )
    assert not (Path.cwd() / "runs").exists() or True  # nothing is created before the inputs are valid


def test_checkpoint_round_trip_reproduces_outputs(trained_run: Path) -> None:
    from maskgen.translation.apply import load_translator

    loaded = load_translator(trained_run, torch.device("cpu"))
    weights = split_weights(load_checkpoint(trained_run).weights, "T")
    for key, value in loaded.translator.state_dict().items():
        assert torch.equal(value, weights[key]), key
    sketch, reference = torch.rand(1, 1, 16, 16), torch.rand(1, 3, 16, 16) * 2 - 1
    again = load_translator(trained_run, torch.device("cpu"))
    a = loaded.translator.translate(sketch, reference)
    assert torch.equal(a, again.translator.translate(sketch, reference))
    assert np.isfinite(a.numpy()).all()


def test_missing_vgg_weights_message_is_one_cli_line(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    config = tmp_path / "tiny.json"
    config.write_text(
        json.dumps(tiny_values(kimg=0.004, snapshot_kimg=0.004, features="vgg19")), encoding="utf-8"
    )
    result = cli.invoke(
        app, ["translate", "train", "--config", str(config), "--out", str(tmp_path / "r"), "-q"]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "VGG19" in line]
    assert len(lines) == 1 and str(tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth") in lines[0]
    (run_dir,) = (tmp_path / "r").iterdir()
    recorded = load_checkpoint(run_dir).config["features"]["name"]
    assert recorded in ("masknet", "random")  # the run records which network the losses really used
