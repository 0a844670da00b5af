"""Class-conditional training on the seven colour characters (``maskgen run --cond``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from maskgen.artifacts.base_models import architecture, matching_base_model
from maskgen.artifacts.checkpoint import load_checkpoint, resolve_checkpoint_dir
from maskgen.artifacts.generator import class_index, generate_images, load_generator
from maskgen.cli.main import app
from maskgen.config import validate_config
from maskgen.data.datasets import load_training_images
from maskgen.data.procedural import CATEGORY_NAMES, render_masks
from maskgen.errors import MaskgenError
from maskgen.images import save_png
from maskgen.networks import Generator
from maskgen.plugins import get_registry
from maskgen.testing import assert_one_line_error, require_installed, tiny_config_values
from maskgen.training.loop import Trainer, train

CLASSES = len(CATEGORY_NAMES)


def _tiny_g(c_dim: int) -> Generator:
    return Generator(z_dim=16, w_dim=16, c_dim=c_dim, img_resolution=8, mapping_layers=1, channel_base=64)


@pytest.fixture(scope="module")
def cond_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    values = tiny_config_values(cond=True, kimg=0.008, snapshot_kimg=0.008)
    return train(validate_config(values), out_root=tmp_path_factory.mktemp("cond"))


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    values = tiny_config_values(kimg=0.004, snapshot_kimg=0.004)
    return train(validate_config(values), out_root=tmp_path_factory.mktemp("plain"))


# -- the networks ----------------------------------------------------------------------------------


def test_the_class_changes_a_conditional_generators_output() -> None:
    G = _tiny_g(CLASSES).eval()
    with torch.no_grad():  # a fresh G's mapping has small weights: give the class embedding some say
        G.mapping_network.embed.weight.mul_(10)
    z = torch.randn(2, 16).repeat(CLASSES, 1)
    c = torch.nn.functional.one_hot(torch.arange(CLASSES).repeat_interleave(2), CLASSES).float()
    images = G(z, c, noise_mode="const")
    for k in range(1, CLASSES):  # same latents, another class: another image
        assert not torch.allclose(images[:2], images[2 * k : 2 * k + 2], atol=1e-4), CATEGORY_NAMES[k]
    red = generate_images(G, [0, 1, 2], class_index=0)
    assert torch.equal(red, generate_images(G, [0, 1, 2], class_index=0))  # reproducible
    assert not torch.allclose(red, generate_images(G, [0, 1, 2], class_index=4), atol=1e-4)
    # Without a class, seed s is class s mod 7: seed 4 alone is the blue seed 4.
    torch.testing.assert_close(generate_images(G, [4])[0], generate_images(G, [4], class_index=4)[0])
    with pytest.raises(ValueError, match="expected c"):
        G(z[:2])  # a conditional G needs its class
    with pytest.raises(MaskgenError, match="out of range"):
        generate_images(G, [0], class_index=CLASSES)


def test_an_unconditional_generator_refuses_a_class() -> None:
    G = _tiny_g(0).eval()
    with pytest.raises(ValueError, match="unconditional"):
        G(torch.randn(2, 16), torch.eye(CLASSES)[:2])
    with pytest.raises(MaskgenError, match="unconditional"):
        generate_images(G, [0, 1], class_index=0)
    assert generate_images(G, [0, 1]).shape == (2, 3, 8, 8)


# -- training --------------------------------------------------------------------------------------


def test_conditional_run_records_its_classes_and_says_so_in_the_card(cond_run: Path) -> None:
    checkpoint = load_checkpoint(cond_run)
    assert checkpoint.config["cond"]["classes"] == list(CATEGORY_NAMES)
    assert sum(checkpoint.config["cond"]["images_per_class"]) == 32
    assert checkpoint.config["train"]["cond"] is True
    assert checkpoint.config["d_c_dim"] == CLASSES  # augment none: D's c is the class one-hot alone
    card = (resolve_checkpoint_dir(cond_run) / "README.md").read_text()
    assert "conditional on colour character" in card and "--class red" in card
    assert "class-conditional-image-generation" in card
    G, _ = load_generator(cond_run, torch.device("cpu"))
    assert G.c_dim == CLASSES
    assert class_index(checkpoint, "Yellow") == CATEGORY_NAMES.index("yellow")


def test_conditional_run_resumes_exactly(tmp_path: Path) -> None:
    values = tiny_config_values(cond=True, augment="apa", augment_options={"p": 0.5}, kimg=0.032)
    values["snapshot_kimg"] = 0.016
    straight = train(validate_config(values), out_root=tmp_path / "a")
    half = train(validate_config(values | {"kimg": 0.016}), out_root=tmp_path / "b")
    train(validate_config(values), resume_dir=half)
    a, b = load_checkpoint(straight).weights, load_checkpoint(half).weights
    assert a.keys() == b.keys() and any(k.startswith("G.mapping_network.embed") for k in a)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)


def test_reals_carry_their_labels_and_fakes_follow_the_data_distribution(tmp_path: Path) -> None:
    trainer = Trainer(validate_config(tiny_config_values(cond=True, batch=8)), tmp_path)
    _, labels, _ = load_training_images("builtin", 16, count=32)
    assert torch.equal(trainer.labels.cpu(), torch.as_tensor(labels))
    # Fake classes are labels of random training images: over many draws, the data's frequencies.
    draws = torch.cat([trainer._fake_classes().argmax(1) for _ in range(400)])
    observed = torch.bincount(draws, minlength=CLASSES).double() / len(draws)
    expected = torch.bincount(trainer.labels, minlength=CLASSES).double() / len(trainer.labels)
    assert torch.allclose(observed, expected, atol=0.03)


AUGMENTERS = [
    ("none", {}, "maskgen"),
    ("ada", {"p": 0.5}, "maskgen-augment-ada"),
    ("apa", {"p": 0.6}, "maskgen-augment-apa"),
    ("diffusion", {"t_embed_dim": 4, "initial_T": 100}, "maskgen-augment-diffusion"),
    ("apa+ada", {"apa": {"p": 0.6}, "ada": {"p": 0.3}}, "maskgen-augment-apa"),
]


@pytest.mark.parametrize(("augment", "options", "distribution"), AUGMENTERS, ids=[a[0] for a in AUGMENTERS])
def test_every_augmenter_trains_with_cond(
    augment: str, options: dict, distribution: str, tmp_path: Path
) -> None:
    if distribution != "maskgen":
        require_installed(distribution)
    if augment == "apa+ada":
        require_installed("maskgen-augment-ada")
    config = validate_config(tiny_config_values(cond=True, augment=augment, augment_options=options))
    trainer = Trainer(config, tmp_path)
    assert trainer.G.c_dim == CLASSES
    assert trainer.D.c_dim == CLASSES + trainer.augmenter.c_dim
    seen: list[torch.Tensor] = []
    trainer.D.register_forward_pre_hook(lambda _module, args: seen.append(args[1].detach().clone()))
    pseudo: list[torch.Tensor] = []
    make_fakes = trainer.make_fakes
    trainer.make_fakes = lambda n, use_ema=False, rows=None, c=None: (
        pseudo.append(c) or make_fakes(n, use_ema, rows, c)
    )
    for _ in range(3):
        out = trainer.step()
        assert all(torch.isfinite(v) for v in out.values()), out
    # D always sees a one-hot class in front of the augmenter's own c (Diffusion-GAN: t's embedding).
    for c in seen:
        assert c.shape[1] == trainer.D.c_dim
        assert torch.equal(c[:, :CLASSES].sum(1), torch.ones(len(c)))
    if augment.startswith("apa"):
        assert pseudo  # pseudo reals were drawn, with the classes of the reals they replace
    # A checkpoint of it generates every class.
    G, _ = load_generator(trainer.save_checkpoint(), torch.device("cpu"))
    assert generate_images(G, [0, 1], class_index=CLASSES - 1).shape == (2, 3, 16, 16)


def test_apa_pseudo_reals_take_the_replaced_reals_classes(tmp_path: Path) -> None:
    require_installed("maskgen-augment-apa")
    config = validate_config(
        tiny_config_values(cond=True, augment="apa", augment_options={"p": 0.5}, batch=8)
    )
    trainer = Trainer(config, tmp_path)
    real_c = torch.nn.functional.one_hot(torch.arange(8) % CLASSES, CLASSES).float()
    got: list[torch.Tensor] = []
    original = trainer.G_ema.forward
    trainer.G_ema.forward = lambda z, c=None, **kw: got.append(c) or original(z, c, **kw)
    trainer.augmenter.use_ema = True
    torch.manual_seed(3)
    reals = torch.zeros(8, 3, 16, 16)
    out = trainer.augmenter.prepare_reals(reals, trainer.fakes_replacing(real_c))
    replaced = (out != 0).flatten(1).any(1)
    assert 0 < int(replaced.sum()) < 8
    assert torch.equal(got[-1], real_c[replaced])


# -- data ------------------------------------------------------------------------------------------


def _write_masks(folder: Path, names: list[str]) -> np.ndarray:
    images, labels = render_masks(len(names), 16, seed=0)
    for name, image in zip(names, images, strict=True):
        save_png(image, folder / name)
    return labels


def test_labels_from_class_sub_folders_and_labels_csv_wins(tmp_path: Path) -> None:
    names = ["red/a.png", "Black/b.png", "yellow/c.png", "red/d.png"]  # folder names: any case
    _write_masks(tmp_path, names)
    _, labels, desc = load_training_images(str(tmp_path), 16, cache=False)
    # Images in path order (Black/b, red/a, red/d, yellow/c); indices in CATEGORY_NAMES order.
    assert labels.tolist() == [2, 0, 0, 6] and "labelled" in desc
    # labels.csv takes precedence over the folder names; colour names are accepted in it.
    rows = "".join(f"{n},{'blue' if i % 2 else 5}\n" for i, n in enumerate(names))
    (tmp_path / "labels.csv").write_text("file,label\n" + rows)
    _, labels, _ = load_training_images(str(tmp_path), 16, cache=False)
    assert labels.tolist() == [4, 5, 4, 5]


def test_cond_without_labels_is_one_line(cli, tmp_path: Path) -> None:
    data = tmp_path / "masks"
    _write_masks(data, ["a.png", "b.png", "faces/c.png", "faces/d.png"])
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(tiny_config_values(data=str(data), data_cache=False)))
    args = ["run", "--config", str(config), "--cond", "--out", str(tmp_path / "runs"), "--quiet"]
    assert_one_line_error(cli.invoke(app, args), "no class labels", "labels.csv", "red, purple")
    assert not (tmp_path / "runs").exists()
    for name in ("a.png", "b.png"):  # every image in a sub-folder, but 'faces' is not a colour
        (data / name).rename(data / "faces" / name)
    assert_one_line_error(cli.invoke(app, args), "no class labels", "'faces' is not a colour")
    (data / "labels.csv").write_text("file,label\nfaces/a.png,0\nfaces/b.png,red\n")
    assert_one_line_error(cli.invoke(app, args), "no label for 2 image(s)")
    # Without --cond the same folder trains, unlabelled, with the old warning.
    plain = cli.invoke(app, [a for a in args if a != "--cond"])
    assert plain.exit_code == 0, plain.output


def test_labels_out_of_range_are_one_line(cli, tmp_path: Path) -> None:
    data = tmp_path / "masks"
    _write_masks(data, ["a.png", "b.png", "c.png", "d.png"])
    (data / "labels.csv").write_text("file,label\na.png,0\nb.png,1\nc.png,9\nd.png,2\n")
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(tiny_config_values(data=str(data), cond=True)))
    args = ["run", "--config", str(config), "--out", str(tmp_path / "runs"), "--quiet"]
    assert_one_line_error(cli.invoke(app, args), "7 colour characters", "label 9")


# -- generate --class ------------------------------------------------------------------------------


def test_generate_class_through_the_cli(cli, cond_run: Path, plain_run: Path, tmp_path: Path) -> None:
    base = ["generate", "--checkpoint", str(cond_run), "--seeds", "0-2"]
    result = cli.invoke(app, [*base, "--class", "red", "--out", str(tmp_path / "red")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "red").iterdir()) == [f"seed000{i}.png" for i in range(3)]
    assert cli.invoke(app, [*base, "--class", "BLUE", "--out", str(tmp_path / "blue.png")]).exit_code == 0
    assert cli.invoke(app, [*base, "--out", str(tmp_path / "turns.png")]).exit_code == 0  # classes in turn
    line = assert_one_line_error(cli.invoke(app, [*base, "--class", "pink", "--out", str(tmp_path / "x")]))
    assert "unknown class 'pink'" in line and ", ".join(CATEGORY_NAMES) in line
    plain = ["generate", "--checkpoint", str(plain_run), "--class", "red", "--out", str(tmp_path / "y")]
    assert_one_line_error(cli.invoke(app, plain), "unconditional", "--cond")


def test_mix_and_video_draw_the_asked_for_class(cli, cond_run: Path, plain_run: Path, tmp_path: Path) -> None:
    from PIL import Image

    mix = ["mix", "--checkpoint", str(cond_run), "--rows", "0-1", "--cols", "2-3", "--styles", "none"]
    grids = {}
    for name in ("red", "blue"):
        result = cli.invoke(app, [*mix, "--class", name, "--out", str(tmp_path / f"{name}.png")])
        assert result.exit_code == 0, result.output
        grids[name] = np.asarray(Image.open(tmp_path / f"{name}.png"))
    assert not np.array_equal(grids["red"], grids["blue"])  # same seeds, another character
    video = ["video", "--checkpoint", str(cond_run), "--seeds", "0-1", "--frames", "2", "--class", "green"]
    assert cli.invoke(app, [*video, "--out", str(tmp_path / "w.gif")]).exit_code == 0
    plain = ["mix", "--checkpoint", str(plain_run), "--rows", "0", "--cols", "1", "--class", "red"]
    assert_one_line_error(cli.invoke(app, [*plain, "--out", str(tmp_path / "p.png")]), "unconditional")


def test_truncation_sweep_draws_the_asked_for_class(cli, cond_run: Path, tmp_path: Path) -> None:
    from PIL import Image

    from maskgen.apps.truncation import truncation_sweep

    G, loaded = load_generator(cond_run, torch.device("cpu"))
    red = class_index(loaded, "red")
    rows = truncation_sweep(G, [0, 1], [0.5, 1.0], class_index=red)
    expected = [generate_images(G, [0, 1], truncation=psi, class_index=red) for psi in (0.5, 1.0)]
    assert torch.equal(rows, torch.cat(expected))
    sweep = ["generate", "--checkpoint", str(cond_run), "--seeds", "0-1", "--truncation-sweep", "0.5,1"]
    grids = {}
    for name in ("red", "blue"):
        result = cli.invoke(app, [*sweep, "--class", name, "--out", str(tmp_path / f"{name}.png")])
        assert result.exit_code == 0, result.output
        grids[name] = np.asarray(Image.open(tmp_path / f"{name}.png"))
    assert not np.array_equal(grids["red"], grids["blue"])


def test_colour_rule_accuracy_of_a_conditional_checkpoint(cond_run: Path, plain_run: Path) -> None:
    from maskgen.evaluation.metrics.conditional import colour_rule_accuracy

    result = colour_rule_accuracy(cond_run, per_class=3)
    assert result["class_names"] == list(CATEGORY_NAMES) and result["per_class_images"] == 3
    confusion = np.array(result["confusion"])
    assert confusion.shape == (CLASSES, CLASSES) and (confusion.sum(1) == 3).all()
    assert result["overall"] == pytest.approx(np.trace(confusion) / (3 * CLASSES))
    assert result["per_class"]["red"] == confusion[0, 0] / 3
    with pytest.raises(MaskgenError, match="unconditional"):
        colour_rule_accuracy(plain_run, per_class=2)


def test_eval_labels_conditional_fakes_by_their_class(cond_run: Path) -> None:
    from maskgen.evaluation.imagesets import load_image_set

    fakes = load_image_set(cond_run, 16, 9, "fake", seed=5)
    assert fakes.class_names == list(CATEGORY_NAMES)
    assert fakes.labels.tolist() == [s % CLASSES for s in range(5, 14)]


# -- architecture ----------------------------------------------------------------------------------


def test_class_count_is_part_of_the_architecture(plain_run: Path, tmp_path: Path, monkeypatch) -> None:
    defaults = get_registry().get("generator", "stylegan2").options().model_dump()
    train_values = validate_config(tiny_config_values()).model_dump(mode="json")
    assert architecture(train_values, defaults, 0, 0) != architecture(
        train_values, defaults, CLASSES, CLASSES
    )
    # An unconditional base model is no base for a conditional run of the same sizes.
    from maskgen.artifacts import base_models

    root = tmp_path / "base"
    shutil.copytree(resolve_checkpoint_dir(plain_run), root / "tiny")
    monkeypatch.setattr(base_models, "base_models_dir", lambda: root)
    plain_config = validate_config(tiny_config_values())
    assert Trainer(plain_config, tmp_path).matching_base_model() == root / "tiny"
    cond_config = validate_config(tiny_config_values(cond=True))
    assert Trainer(cond_config, tmp_path).matching_base_model() is None
    assert matching_base_model(architecture(train_values, defaults, CLASSES, CLASSES), defaults) is None


def test_init_from_an_unconditional_checkpoint_says_why(cli, plain_run: Path, tmp_path: Path) -> None:
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(tiny_config_values(cond=True, init=str(plain_run))))
    args = ["run", "--config", str(config), "--out", str(tmp_path / "runs"), "--quiet"]
    assert_one_line_error(cli.invoke(app, args), "checkpoint is unconditional", "--cond")


def test_explore_tools_accept_a_conditional_generator() -> None:
    from maskgen.apps.latents import ws_for_sources
    from maskgen.apps.projection import w_statistics
    from maskgen.networks import Generator

    G = Generator(
        z_dim=16, w_dim=16, c_dim=7, img_resolution=16, mapping_layers=2, channel_base=128, channel_max=16
    )
    ws = ws_for_sources(G, [0, 7])  # seeds as classes 0 and 0 (s mod 7), as generate draws them
    assert ws.shape == (2, G.num_ws, 16) and torch.isfinite(ws).all()
    mean, spread = w_statistics(G, 70)
    assert mean.shape == (16,) and spread > 0
