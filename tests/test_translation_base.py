"""Base translators shipped in the package (``translate train`` starts from one, ``translate apply`` uses
one without --checkpoint), ``--init``, and the notes ``translate apply`` gives on unexpected inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

import maskgen.cli.translate_cmd  # noqa: F401  (registers the `translate` commands on the shared app)
from maskgen.artifacts import base_models
from maskgen.artifacts.checkpoint import load_checkpoint
from maskgen.artifacts.hub_push import stage_base_model
from maskgen.cli.main import app
from maskgen.data.procedural import render_masks
from maskgen.data.sketch import XDoGParams, xdog
from maskgen.errors import MaskgenError
from maskgen.testing import assert_one_line_error
from maskgen.testing import tiny_translate_values as tiny_values
from maskgen.translation.apply import (
    COLOUR_CHECK_SIZE,
    COLOUR_FRACTION,
    colour_area_fraction,
    default_translator,
    is_colour_image,
)
from maskgen.translation.config import validate_translate_config
from maskgen.translation.trainer import TranslationTrainer, train

pytestmark = pytest.mark.usefixtures("one_thread")  # maskgen.testing: the tensors here are tiny

NAME = "tiny-cocosnet-16px"
SLOW = {"lr_g": 1e-12, "lr_d": 1e-12}  # the weights stay where they started, to within 1e-9


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A base-model folder with one tiny 16 px CoCosNet, staged as scripts/make_base_model.py does."""
    torch.manual_seed(0)
    run = train(
        validate_translate_config(tiny_values(kimg=0.008, snapshot_kimg=0.008, init="none")),
        tmp_path_factory.mktemp("r"),
    )
    root = tmp_path_factory.mktemp("base")
    plan = stage_base_model(run, root / NAME, NAME)
    assert sorted(plan.files) == [
        "README.md",
        "config.json",
        "model.safetensors",
        "samples.png",
        "training_weights.safetensors",
    ]
    # T alone (under its own names) in model.safetensors, D beside it: everything a checkpoint holds.
    training = load_file(str(root / NAME / "training_weights.safetensors"))
    assert {key.split(".")[0] for key in training} == {"D"}
    kept = load_checkpoint(root / NAME).weights
    assert {key.split(".")[0] for key in kept} == {"T", "D"}
    assert kept.keys() == load_checkpoint(run).weights.keys()
    return root


@pytest.fixture
def base_dir(shipped: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(base_models, "base_models_dir", lambda: shipped)
    return shipped / NAME


def _values(translator: str = "cocosnet", **overrides: object) -> dict:
    values = tiny_values(translator, kimg=0.004, snapshot_kimg=0.004, **overrides)
    values["translator_options"] = values["translator_options"] | SLOW
    return values


def _moving(key: str) -> bool:
    """Spectral norm's power-iteration vectors change at every forward pass, whatever the learning rate."""
    return key.endswith(("._u", "._v"))


def _same_as_base(run: Path, base: Path) -> bool:
    after, shipped = load_checkpoint(run).weights, load_checkpoint(base).weights
    assert after.keys() == shipped.keys()
    return all(torch.allclose(after[k], v, atol=1e-6) for k, v in shipped.items() if not _moving(k))


# -- training ------------------------------------------------------------------------------------------


def test_new_run_starts_from_the_shipped_base_translator(base_dir: Path, tmp_path: Path) -> None:
    messages: list[str] = []
    run = train(validate_translate_config(_values()), out_root=tmp_path, on_message=messages.append)
    assert json.loads((run / "config.json").read_text())["init"] == f"base:{NAME}"
    assert (
        f"starting from the shipped base translator base:{NAME} (--init none trains from scratch)" in messages
    )
    assert _same_as_base(run, base_dir)


def test_init_none_trains_from_scratch(base_dir: Path, tmp_path: Path) -> None:
    messages: list[str] = []
    run = train(
        validate_translate_config(_values(init="none")), out_root=tmp_path, on_message=messages.append
    )
    assert json.loads((run / "config.json").read_text())["init"] == "none"
    assert not any("base translator" in m for m in messages)
    assert not _same_as_base(run, base_dir)  # the guard: the test above would fail on a scratch run


def test_init_from_a_path_loads_its_weights(base_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(base_models, "base_models_dir", lambda: tmp_path / "nothing-shipped")
    run = train(validate_translate_config(_values(init=str(base_dir))), out_root=tmp_path)
    assert json.loads((run / "config.json").read_text())["init"] == str(base_dir)
    assert _same_as_base(run, base_dir)


def test_only_the_same_translator_size_and_shapes_match(base_dir: Path, tmp_path: Path) -> None:
    def match(values: dict) -> Path | None:
        return TranslationTrainer(validate_translate_config(values), tmp_path).matching_base_translator()

    assert match(_values()) == base_dir
    assert match(_values(size=32)) is None
    assert match(_values("spade")) is None
    wider = _values()
    wider["translator_options"] = wider["translator_options"] | {"ndf": 16}  # same name, other D shapes
    assert match(wider) is None
    # Options that shape no weight still match (the learning rates differ from the base's already).
    assert match(_values() | {"pseudo_prob": 0.9}) == base_dir


def test_init_errors_are_one_line(cli, base_dir: Path, tmp_path: Path) -> None:
    gan = tmp_path / "gan"
    gan.mkdir()
    save_file({"G.x": torch.zeros(1)}, str(gan / "model.safetensors"))
    (gan / "config.json").write_text(json.dumps({"kind": "gan"}), encoding="utf-8")
    cases = [
        (_values(), str(gan), ("gan checkpoint", "not a translation checkpoint")),
        (_values("spade"), f"base:{NAME}", ("'cocosnet' translator", "not 'spade'")),
        (_values(size=32), f"base:{NAME}", ("checkpoint is 16 px, config asks for 32 px",)),
        (_values(), "base:nope", ("no base model 'base:nope'", f"base:{NAME}")),
    ]
    for index, (values, init, fragments) in enumerate(cases):
        config = tmp_path / f"c{index}.json"
        config.write_text(json.dumps(values), encoding="utf-8")
        out = tmp_path / f"runs{index}"
        result = cli.invoke(
            app, ["translate", "train", "--config", str(config), "--init", init, "--out", str(out), "-q"]
        )
        assert_one_line_error(result, *fragments)
        assert not out.exists()  # failed before the run directory was made


# -- listing -------------------------------------------------------------------------------------------


def _fake_model(root: Path, name: str, config: dict) -> None:
    (root / name).mkdir(parents=True)
    save_file({"x": torch.zeros(1)}, str(root / name / "model.safetensors"))
    (root / name / "config.json").write_text(json.dumps(config), encoding="utf-8")


def test_listing_keeps_gan_models_apart_and_prefers_cocosnet(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(base_models, "base_models_dir", lambda: tmp_path)
    _fake_model(tmp_path, "a-spade", {"kind": "translation", "translator": "spade", "size": 64})
    _fake_model(tmp_path, "b-gan", {"kind": "gan", "train": {}})
    _fake_model(tmp_path, "c-cocosnet", {"kind": "translation", "translator": "cocosnet", "size": 64})
    assert [p.name for p in base_models.list_base_models()] == ["b-gan"]  # the default: GANs only
    assert [p.name for p in base_models.list_base_translators()] == ["a-spade", "c-cocosnet"]
    assert len(base_models.list_base_models(kind=None)) == 3
    assert default_translator() == "base:c-cocosnet"
    (tmp_path / "c-cocosnet" / "config.json").write_text("{broken", encoding="utf-8")
    assert default_translator() == "base:a-spade"  # a damaged asset is not offered
    _fake_model(tmp_path / "elsewhere", "d-other", {"kind": "other"})
    with pytest.raises(MaskgenError, match="a GAN, translation or upscaler checkpoint"):
        stage_base_model(tmp_path / "elsewhere" / "d-other", tmp_path / "staged", "x")
    assert not (tmp_path / "staged").exists()


# -- apply ---------------------------------------------------------------------------------------------


def _coloured_mask(size: int) -> np.ndarray:
    """A built-in mask that is clearly a colour image (most are; white and black ones are not), judged
    at the size the check uses; mask i has the same layout at every size."""
    judged, _ = render_masks(12, COLOUR_CHECK_SIZE, seed=5)
    index = next(i for i, image in enumerate(judged) if colour_area_fraction(image) >= 2 * COLOUR_FRACTION)
    return render_masks(index + 1, size, seed=5)[0][index]


def _line_drawing(size: int) -> np.ndarray:
    """The XDoG lines of a mask, as a uint8 [size, size] greyscale drawing."""
    mask = torch.from_numpy(_coloured_mask(size)).permute(2, 0, 1)[None]
    return (xdog(mask, XDoGParams())[0, 0] * 255).round().to(torch.uint8).numpy()


def _apply(cli, *args: str) -> object:
    return cli.invoke(app, ["translate", "apply", *args])


def _notes(result: object) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]  # type: ignore[attr-defined]


def test_apply_without_checkpoint_uses_the_shipped_translator(cli, base_dir: Path, tmp_path: Path) -> None:
    Image.fromarray(_line_drawing(16)).save(tmp_path / "s.png")
    Image.fromarray(_coloured_mask(16)).save(tmp_path / "r.png")
    inputs = ["--sketch", str(tmp_path / "s.png"), "--reference", str(tmp_path / "r.png")]
    default = _apply(cli, *inputs, "--out", str(tmp_path / "default.png"))
    assert default.exit_code == 0, default.output
    assert _notes(default) == [
        f"note: using the shipped base translator base:{NAME} (--checkpoint picks another)"
    ]  # and nothing about the inputs: a 16 px line drawing and an RGB reference are what it expects
    explicit = _apply(cli, *inputs, "--checkpoint", str(base_dir), "--out", str(tmp_path / "explicit.png"))
    assert explicit.exit_code == 0 and _notes(explicit) == []
    a, b = (np.asarray(Image.open(tmp_path / f"{n}.png")) for n in ("default", "explicit"))
    assert a.shape == (16, 16, 3) and np.array_equal(a, b)


def test_apply_without_checkpoint_and_nothing_shipped(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(base_models, "base_models_dir", lambda: tmp_path / "empty")
    Image.fromarray(_line_drawing(16)).save(tmp_path / "s.png")
    inputs = ["--sketch", str(tmp_path / "s.png"), "--reference", str(tmp_path / "s.png")]
    result = _apply(cli, *inputs, "--out", str(tmp_path / "o.png"))
    assert_one_line_error(result, "ships no base translator", "maskgen translate train", "--checkpoint")
    assert not (tmp_path / "o.png").exists()


def test_gan_checkpoint_as_translator_is_one_line(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(base_models, "base_models_dir", lambda: tmp_path / "base")
    _fake_model(tmp_path / "base", "gan-16px", {"kind": "gan", "train": {"resolution": 16}})
    Image.fromarray(_line_drawing(16)).save(tmp_path / "s.png")
    inputs = ["--sketch", str(tmp_path / "s.png"), "--reference", str(tmp_path / "s.png")]
    for checkpoint in (str(tmp_path / "base" / "gan-16px"), "base:gan-16px"):
        result = _apply(cli, *inputs, "--checkpoint", checkpoint, "--out", str(tmp_path / "o.png"))
        assert_one_line_error(result, "is a gan checkpoint, not a translation checkpoint")
    # A shipped GAN base model is not a base translator: without --checkpoint, none is shipped.
    assert_one_line_error(_apply(cli, *inputs, "--out", str(tmp_path / "o.png")), "ships no base translator")


def test_apply_notes_on_colour_sketches_sizes_grey_and_transparent_references(
    cli, base_dir: Path, tmp_path: Path
) -> None:
    mask = _coloured_mask(16)
    Image.fromarray(mask).save(tmp_path / "colour.png")
    Image.fromarray(_coloured_mask(40)).convert("L").save(tmp_path / "grey.png")
    Image.fromarray(_coloured_mask(40)).convert("RGBA").resize((30, 20)).save(tmp_path / "rgba.png")
    Image.fromarray(mask).save(tmp_path / "ref.png")

    def apply(sketch: Path, reference: Path, out: Path, *extra: str) -> object:
        paths = ["--sketch", str(sketch), "--reference", str(reference), "--out", str(out)]
        return _apply(cli, "--checkpoint", str(base_dir), *paths, *extra)

    colour = apply(tmp_path / "colour.png", tmp_path / "ref.png", tmp_path / "c.png")
    assert colour.exit_code == 0, colour.output
    assert _notes(colour) == [
        "note: sketch colour.png is a colour image, not a line drawing: "
        "using its XDoG lines, as --extract-sketch does"
    ]
    extracted = apply(tmp_path / "colour.png", tmp_path / "ref.png", tmp_path / "x.png", "--extract-sketch")
    assert extracted.exit_code == 0 and _notes(extracted) == []  # asked for: nothing to say
    c, x = (np.asarray(Image.open(tmp_path / f"{n}.png")) for n in ("c", "x"))
    assert np.array_equal(c, x)  # the colour sketch really went through XDoG

    line = tmp_path / "line.png"
    Image.fromarray(_line_drawing(16)).save(line)
    for reference, fragments in (
        (
            "grey.png",
            ["is 40x40, not the translator's 16x16: cropped to a square and resized", "is greyscale"],
        ),
        ("rgba.png", ["is 30x20, not the translator's 16x16", "has transparency: composited on white"]),
    ):
        out = tmp_path / f"out-{reference}"
        result = apply(line, tmp_path / reference, out)
        assert result.exit_code == 0, result.output
        notes = _notes(result)
        assert len(notes) == 2 and all(n.startswith(f"note: reference {reference} ") for n in notes), notes
        for fragment, note in zip(fragments, notes, strict=True):
            assert fragment in note, note
        image = Image.open(out)
        assert image.size == (16, 16) and image.mode == "RGB"

    # A folder: one note per kind of fix, not one per file; the sketch's own size is said too.
    folder = tmp_path / "sketches"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(_coloured_mask(32)).save(folder / name)
    many = apply(folder, tmp_path / "ref.png", tmp_path / "many")
    assert many.exit_code == 0, many.output
    assert _notes(many) == [
        "note: 2 sketches, e.g. a.png, are not the translator's 16x16 (a.png is 32x32): "
        "cropped to squares and resized",
        "note: 2 sketches, e.g. a.png, are colour images, not line drawings: "
        "using their XDoG lines, as --extract-sketch does",
    ]
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == ["a.png", "b.png"]


def test_line_drawings_in_coloured_ink_are_not_colour_images(tmp_path: Path) -> None:
    lines = _line_drawing(128)
    dark = lines < 128
    for width in (1, 3):  # pen and marker: widened lines, drawn in blue and in red
        thick = (
            torch.nn.functional.max_pool2d(
                torch.from_numpy(dark)[None, None].float(), width, stride=1, padding=width // 2
            )[0, 0]
            .bool()
            .numpy()
        )
        for ink in ((20, 40, 220), (200, 30, 30)):
            drawing = np.full((128, 128, 3), 255, np.uint8)
            drawing[thick] = ink
            Image.fromarray(drawing).save(tmp_path / "ink.png")
            assert not is_colour_image(tmp_path / "ink.png"), (width, ink)
    Image.fromarray(_coloured_mask(128)).save(tmp_path / "mask.png")
    assert is_colour_image(tmp_path / "mask.png")
