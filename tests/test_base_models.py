"""Starting new runs from a shipped base model (transfer), ``--init none``, and FreezeD."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from safetensors import safe_open
from safetensors.torch import load_file
from typer.testing import CliRunner

from maskgen.artifacts import base_models
from maskgen.artifacts.checkpoint import load_checkpoint, resolve_checkpoint_dir, split_weights
from maskgen.artifacts.hub_push import stage_base_model
from maskgen.cli.main import app
from maskgen.config import validate_config
from maskgen.errors import MaskgenError
from maskgen.testing import assert_one_line_error, tiny_config_values
from maskgen.training.loop import Trainer, train


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A base-model folder holding one tiny 16 px model (G_ema and D only, as shipped)."""
    torch.manual_seed(0)
    run = train(
        validate_config(tiny_config_values(kimg=0.008, snapshot_kimg=0.008)), tmp_path_factory.mktemp("r")
    )
    root = tmp_path_factory.mktemp("base")
    plan = stage_base_model(run, root / "tiny-16px", "tiny-16px")  # as scripts/make_base_model.py does
    assert plan.files == [
        "README.md",
        "config.json",
        "model.safetensors",
        "samples.png",
        "training_weights.safetensors",
    ]
    # G_ema alone, under its own names, draws; D alone is kept for fine-tuning (G starts as G_ema).
    trained = load_checkpoint(run).weights
    assert (
        load_file(str(root / "tiny-16px" / "model.safetensors")).keys()
        == split_weights(trained, "G_ema").keys()
    )
    assert {
        key.split(".")[0] for key in load_file(str(root / "tiny-16px" / "training_weights.safetensors"))
    } == {"D"}
    card = (root / "tiny-16px" / "README.md").read_text()
    assert "maskgen generate --checkpoint base:tiny-16px" in card and "hf://" not in card
    assert "`training_weights.safetensors`: D (the discriminator)" in card and "(G starts as G_ema)" in card
    assert ModelCard.load(root / "tiny-16px" / "README.md").data.license == "apache-2.0"  # built-in masks
    return root


@pytest.fixture
def base_dir(shipped: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(base_models, "base_models_dir", lambda: shipped)
    return shipped / "tiny-16px"


def _first_weights(run: Path) -> dict[str, torch.Tensor]:
    """The run's weights at its first snapshot (one iteration: close to where it started)."""
    return load_checkpoint(run).weights


def test_new_run_starts_from_the_matching_base_model(base_dir: Path, tmp_path: Path) -> None:
    values = tiny_config_values(kimg=0.004, snapshot_kimg=0.004, lr_g=1e-12, lr_d=1e-12, ema_kimg=1e6)
    values["generator_options"]["symmetric"] = "auto"  # what the presets set
    messages: list[str] = []
    run = train(validate_config(values), out_root=tmp_path, on_message=messages.append)
    assert json.loads((run / "config.json").read_text())["init"] == "base:tiny-16px"
    # The built-in masks are exact mirror images: -G symmetric=auto mirrors G, says so once, records it.
    assert sum(m.startswith("G mirrored left-right (-G symmetric=auto)") for m in messages) == 1
    assert json.loads((run / "config.json").read_text())["generator_options"]["symmetric"] is True
    base = load_checkpoint(base_dir).weights
    after = _first_weights(run)
    # With a vanishing learning rate the weights are still the base model's; G started as G_ema.
    # (w_avg, a running mean of w, moves whatever the learning rate.)
    for prefix in ("G_ema", "D"):
        for key, value in split_weights(base, prefix).items():
            if key == "w_avg":
                continue
            assert torch.allclose(after[f"{prefix}.{key}"], value, atol=1e-6), key
    for key, value in split_weights(base, "G_ema").items():
        if key != "w_avg":
            assert torch.allclose(after[f"G.{key}"], value, atol=1e-6), key


def test_init_none_and_other_architectures_train_from_scratch(base_dir: Path, tmp_path: Path) -> None:
    base = load_checkpoint(base_dir).weights
    for values in (
        tiny_config_values(init="none", kimg=0.004, snapshot_kimg=0.004),
        tiny_config_values(resolution=32, kimg=0.004, snapshot_kimg=0.004),  # no 32 px base model
    ):
        run = train(validate_config(values), out_root=tmp_path)
        assert json.loads((run / "config.json").read_text())["init"] == "none"
        if values["resolution"] == 16:
            after = _first_weights(run)
            key = next(k for k in base if k.startswith("D.") and k.endswith("weight"))
            assert not torch.allclose(after[key], base[key])


def test_a_folder_run_without_a_base_model_says_which_resolutions_have_one(
    base_dir: Path, tmp_path: Path
) -> None:
    from maskgen.data.build import synth_dataset

    folder = tmp_path / "masks"
    synth_dataset(folder, count=8, size=32, seed=0)
    said = []
    for values in (
        tiny_config_values(data=str(folder), resolution=32, kimg=0.004, snapshot_kimg=0.004),
        tiny_config_values(data=str(folder), resolution=32, init="none", kimg=0.004, snapshot_kimg=0.004),
        tiny_config_values(resolution=32, kimg=0.004, snapshot_kimg=0.004),  # the built-in masks
        tiny_config_values(data=str(folder), kimg=0.004, snapshot_kimg=0.004),  # 16 px: matches
    ):
        messages: list[str] = []
        train(validate_config(values), out_root=tmp_path / "runs", on_message=messages.append)
        said.append([m for m in messages if m.startswith("no shipped base model")])
    assert said[0] == [
        "no shipped base model matches this run (32 px with these widths and options), so it trains "
        "from scratch; shipped base models: 16 px (docs/training.md)"
    ]
    assert said[1:] == [[], [], []]  # asked for scratch; built-in masks; a base model was found


def test_mirror_and_mbstd_groups_still_match_but_other_widths_do_not(base_dir: Path, tmp_path: Path) -> None:
    symmetric = tiny_config_values(kimg=0.004)
    symmetric["generator_options"] = {**symmetric["generator_options"], "symmetric": True}
    assert Trainer(validate_config(symmetric), tmp_path / "a").matching_base_model() == base_dir
    # D's minibatch-std groups pool more or fewer images but hold no weights
    grouped = tiny_config_values(kimg=0.004)
    grouped["generator_options"] = {**grouped["generator_options"], "mbstd_group_size": 16}
    assert Trainer(validate_config(grouped), tmp_path / "g").matching_base_model() == base_dir
    wider = tiny_config_values(kimg=0.004)
    wider["generator_options"] = {**wider["generator_options"], "channel_max": 64}
    assert Trainer(validate_config(wider), tmp_path / "b").matching_base_model() is None


def test_a_mirrored_run_prefers_a_mirrored_base_model(
    shipped: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = tmp_path / "base"
    shutil.copytree(shipped / "tiny-16px", root / "tiny-16px")
    mirrored = root / "tiny-16px-mirrored"
    shutil.copytree(shipped / "tiny-16px", mirrored)
    config = json.loads((mirrored / "config.json").read_text())
    config["train"]["generator_options"]["symmetric"] = True
    (mirrored / "config.json").write_text(json.dumps(config))
    monkeypatch.setattr(base_models, "base_models_dir", lambda: root)

    def base_for(symmetric: bool, name: str) -> Path | None:
        values = tiny_config_values()
        values["generator_options"] = {**values["generator_options"], "symmetric": symmetric}
        return Trainer(validate_config(values), tmp_path / name).matching_base_model()

    assert base_for(True, "a") == mirrored
    assert base_for(False, "b") == root / "tiny-16px"
    shutil.rmtree(root / "tiny-16px")  # only the mirrored one left: still better than from scratch
    assert base_for(False, "c") == mirrored


def test_of_two_matching_base_models_the_one_that_has_seen_more_starts_a_run(
    shipped: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = tmp_path / "base"
    shutil.copytree(shipped / "tiny-16px", root / "tiny-16px")
    newer = root / "a-newer"  # first by name too: the order must come from the kimg
    shutil.copytree(shipped / "tiny-16px", newer)
    config = json.loads((newer / "config.json").read_text())
    step = {"init": "base:tiny-16px", "kimg": config["kimg"], "dataset": "x"}
    (newer / "config.json").write_text(json.dumps(config | {"lineage": [step]}))
    monkeypatch.setattr(base_models, "base_models_dir", lambda: root)
    assert Trainer(validate_config(tiny_config_values()), tmp_path / "a").matching_base_model() == newer
    (newer / "config.json").write_text(json.dumps(config | {"kimg": config["kimg"] / 2}))
    assert Trainer(validate_config(tiny_config_values()), tmp_path / "b").matching_base_model() == (
        root / "tiny-16px"
    )


RECIPE = {"freeze_g": 2, "freeze_g_to_rgb": False}


@pytest.fixture
def tuned_base(shipped: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The tiny base model re-staged (as scripts/make_base_model.py --fine-tuning does) with a recipe."""
    root = tmp_path / "base"
    stage_base_model(shipped / "tiny-16px", root / "tuned", "tuned", fine_tuning=RECIPE)
    monkeypatch.setattr(base_models, "base_models_dir", lambda: root)
    return root / "tuned"


def test_a_base_model_records_how_it_fine_tunes_best_and_its_card_says_so(tuned_base: Path) -> None:
    assert json.loads((tuned_base / "config.json").read_text())["fine_tuning"] == RECIPE
    card = (tuned_base / "README.md").read_text()
    assert (
        "| fine-tuning from it | freeze_g 2, freeze_g_to_rgb false: what a new run starting from it "
        "takes, unless its own config sets them |"
    ) in card
    for bad, line in (({"lr_g": 0.1}, "unknown fine-tuning option 'lr_g'"), ({"freeze_g": -1}, "freeze_g")):
        with pytest.raises(MaskgenError, match=line):
            stage_base_model(tuned_base, tuned_base.parent / "bad", "bad", fine_tuning=bad)


def test_a_run_from_a_base_model_takes_its_recipe_unless_it_sets_its_own(
    tuned_base: Path, tmp_path: Path
) -> None:
    messages: list[str] = []
    values = tiny_config_values(kimg=0.008, snapshot_kimg=0.008)
    run = train(validate_config(values), out_root=tmp_path / "runs", on_message=messages.append)
    saved = json.loads((run / "config.json").read_text())
    assert (saved["init"], saved["freeze_g"], saved["freeze_g_to_rgb"]) == ("base:tuned", 2, False)
    assert (
        "fine-tuning as base:tuned recommends: freeze_g 2, freeze_g_to_rgb false (options you set win)"
        in (messages)
    )
    # The recipe took hold: G's mapping network and 4 px convolutions are the base model's, the 4 px
    # toRGB layer learned.
    base, after = load_checkpoint(tuned_base).weights, load_checkpoint(run).weights
    kept = [
        k for k in split_weights(base, "G_ema") if k.startswith(("mapping_network.", "synthesis_network.b"))
    ]
    fixed = [k for k in kept if k.startswith(("mapping_network.", "synthesis_network.blocks.0.conv"))]
    learned = [k for k in kept if k.startswith("synthesis_network.blocks.0.torgb.")]
    assert fixed and all(torch.equal(after[f"G.{k}"], base[f"G_ema.{k}"]) for k in fixed)
    assert learned and any(not torch.equal(after[f"G.{k}"], base[f"G_ema.{k}"]) for k in learned)
    # Resumed with the first config (no freeze_g of its own), it fine-tunes as it did; a different
    # freeze_g of its own is refused in one line (the optimizers' saved state has the first shape).
    more = validate_config(values | {"kimg": 0.016})
    assert train(more, resume_dir=run) == run
    assert json.loads((run / "config.json").read_text())["freeze_g"] == 2
    with pytest.raises(MaskgenError, match="was trained with freeze_g 2; resume it with that"):
        train(validate_config(values | {"kimg": 0.024, "freeze_g": 0}), resume_dir=run)
    # A freeze_g of the run's own wins; the run says what it took.
    messages.clear()
    values = tiny_config_values(kimg=0.004, snapshot_kimg=0.004, freeze_g=0)
    run = train(validate_config(values), out_root=tmp_path / "own", on_message=messages.append)
    saved = json.loads((run / "config.json").read_text())
    assert (saved["init"], saved["freeze_g"], saved["freeze_g_to_rgb"]) == ("base:tuned", 0, False)
    assert [m for m in messages if "recommends" in m] == [
        "fine-tuning as base:tuned recommends: freeze_g_to_rgb false (options you set win)"
    ]


def test_run_freeze_g_flag_reaches_the_config(cli: CliRunner, tiny_config_file: Path) -> None:
    args = [
        "run",
        "--config",
        str(tiny_config_file),
        "-G",
        "symmetric=false",
        "--init",
        "none",
        "--freeze-g",
        "99",
    ]
    assert_one_line_error(cli.invoke(app, args), "freeze_g 99", "at most freeze_g")


def test_base_references(base_dir: Path) -> None:
    assert resolve_checkpoint_dir("base:tiny-16px") == base_dir
    with pytest.raises(MaskgenError, match="shipped: base:tiny-16px"):
        resolve_checkpoint_dir("base:nope")


def _frozen_after_steps(
    trainer: Trainer, module: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> set[str]:
    """Four training steps: the parameters ``optimizer`` leaves out stay as they were and get no
    gradients (they would pile up, never cleared), the rest learn. Returns the frozen ones' names."""
    before = {k: v.clone() for k, v in module.state_dict().items()}
    optimized = {id(p) for group in optimizer.param_groups for p in group["params"]}
    frozen = {n for n, p in module.named_parameters() if id(p) not in optimized}
    for _ in range(4):
        trainer.step()
    after = module.state_dict()
    assert frozen and all(torch.equal(after[n], before[n]) for n in frozen)
    assert any(not torch.equal(after[n], before[n]) for n, _ in module.named_parameters() if n not in frozen)
    assert all(p.grad is None for n, p in module.named_parameters() if n in frozen)
    return frozen


def test_freeze_d_keeps_the_first_blocks_fixed(tmp_path: Path) -> None:
    values = tiny_config_values(init="none", freeze_d=1, kimg=0.016, snapshot_kimg=0.016)
    trainer = Trainer(validate_config(values), tmp_path / "run")
    frozen = _frozen_after_steps(trainer, trainer.D, trainer.opt_D)
    assert all(n.startswith(("from_rgb.", "blocks.0.")) for n in frozen)
    with pytest.raises(MaskgenError, match="blocks"):
        Trainer(validate_config(tiny_config_values(freeze_d=99)), tmp_path / "bad")


def test_freeze_g_keeps_the_mapping_and_coarse_blocks_fixed(tmp_path: Path) -> None:
    # Four steps include a path-length step, which differentiates by ws the frozen mapping network gives.
    values = tiny_config_values(init="none", freeze_g=2, kimg=0.016, snapshot_kimg=0.016)
    trainer = Trainer(validate_config(values), tmp_path / "run")
    frozen = _frozen_after_steps(trainer, trainer.G, trainer.opt_G)
    assert any(n.startswith("mapping_network.") for n in frozen)
    assert any(n.startswith("synthesis_network.blocks.0.") for n in frozen)
    assert all(n.startswith(("mapping_network.", "synthesis_network.blocks.0.")) for n in frozen)
    blocks = len(trainer.G.synthesis_network.blocks)
    with pytest.raises(MaskgenError, match=f"at most freeze_g {blocks + 1}"):
        Trainer(validate_config(tiny_config_values(freeze_g=blocks + 2)), tmp_path / "bad")


def test_freeze_g_without_to_rgb_lets_the_fixed_blocks_colours_learn(tmp_path: Path) -> None:
    values = tiny_config_values(
        init="none", freeze_g=2, freeze_g_to_rgb=False, kimg=0.016, snapshot_kimg=0.016
    )
    trainer = Trainer(validate_config(values), tmp_path / "run")
    before = {k: v.clone() for k, v in trainer.G.state_dict().items()}
    frozen = _frozen_after_steps(trainer, trainer.G, trainer.opt_G)
    coarse = "synthesis_network.blocks.0."
    assert any(n.startswith(coarse + "conv1.") for n in frozen)
    assert not any(n.startswith(coarse + "torgb.") for n in frozen)
    to_rgb = [n for n, _ in trainer.G.named_parameters() if n.startswith(coarse + "torgb.")]
    assert to_rgb and any(not torch.equal(trainer.G.state_dict()[n], before[n]) for n in to_rgb)


# -- the base models shipped in the package ---------------------------------------------------------------

SHIPPED = {"gan": "G_ema", "translation": "T", "upscaler": "U_ema"}


@pytest.mark.parametrize("directory", base_models.list_base_models(kind=None), ids=lambda p: p.name)
def test_a_shipped_base_model_has_a_true_card_and_its_inference_weights_alone_in_model_safetensors(
    directory: Path, tmp_path: Path
) -> None:
    config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    card = ModelCard.load(directory / "README.md")  # the Hub's own parser
    text = (directory / "README.md").read_text(encoding="utf-8")
    # Trained on maskgen's own procedural masks: Apache-2.0, the built-in sets named, no unpublished repo.
    assert card.data.library_name == "maskgen" and card.data.license == "apache-2.0"
    assert card.data.datasets and all(name.startswith("maskgen-builtin") for name in card.data.datasets)
    assert "hf://" not in text and f"base:{directory.name}" in text and "not published" in text
    assert card.data.eval_results is None  # nothing measured is stored with them: no made-up numbers
    # model.safetensors: the inference network under its own names; D beside it, for fine-tuning.
    network = SHIPPED[config["kind"]]
    for name in ("model.safetensors", "training_weights.safetensors"):
        with safe_open(str(directory / name), framework="pt") as handle:
            assert handle.metadata() == {"format": "pt"}, name
    inference = load_file(str(directory / "model.safetensors"))
    assert not any(key.startswith(f"{network}.") or key.startswith("D.") for key in inference)
    training = load_file(str(directory / "training_weights.safetensors"))
    assert {key.split(".")[0] for key in training} == {"D"}
    # Drawing needs model.safetensors alone: without the training weights it draws the same.
    bare = tmp_path / directory.name
    shutil.copytree(directory, bare, ignore=shutil.ignore_patterns("training_weights.safetensors"))
    assert load_checkpoint(bare, inference_only=True).weights.keys() == {f"{network}.{k}" for k in inference}
    if config["kind"] == "gan":
        from maskgen.artifacts.generator import generate_images, load_generator

        shipped, _ = load_generator(directory, torch.device("cpu"))
        alone, _ = load_generator(bare, torch.device("cpu"))
        assert torch.equal(generate_images(alone, [0, 1]), generate_images(shipped, [0, 1]))


def test_the_base_gans_cards_say_what_they_were_trained_on() -> None:
    """The folder the base GANs were trained on: maskgen dataset synth output, as docs/experiments.md
    says; the counts agree with the trainer's own record of the folder (4000 images)."""
    for name in ("builtin-64px", "builtin-64px-mirrored"):
        directory = base_models.base_models_dir() / name
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        sets = config["data_source"]["sets"]
        assert [(s["data"], s["count"], s["size"], s["seed"]) for s in sets] == [
            ("builtin-detailed", 3000, 64, 100),
            ("builtin", 1000, 64, 100),
        ]
        assert f"{sum(s['count'] for s in sets)} images at 64 px" in config["dataset"]["name"]
        text = (directory / "README.md").read_text(encoding="utf-8")
        assert "`maskgen-builtin-detailed`: `detailed` style, 3000 masks, 64 px, seed 100" in text
        assert "`maskgen-builtin`: `simple` style, 1000 masks, 64 px, seed 100" in text
        assert ModelCard.load(directory / "README.md").data.datasets == [
            "maskgen-builtin-detailed",
            "maskgen-builtin",
        ]


def test_a_mirrored_64px_run_starts_from_the_varied_base_model_and_its_recipe(tmp_path: Path) -> None:
    """The shipped choice (docs/experiments.md, issue 34): the base model trained on the broader mix,
    fine-tuned with its coarse layouts kept and its colours free; unmirrored runs keep theirs."""
    from maskgen.config import resolve_config

    def base_for(symmetric: bool) -> str:
        config = resolve_config(resolution=64, dataset_count=8, generator_options={"symmetric": symmetric})
        found = Trainer(config, tmp_path / str(symmetric)).matching_base_model()
        assert found is not None
        return found.name

    assert (base_for(True), base_for(False)) == ("builtin-64px-varied", "builtin-64px")
    config = json.loads((base_models.base_models_dir() / "builtin-64px-varied" / "config.json").read_text())
    assert config["fine_tuning"] == {"freeze_g": 3, "freeze_g_to_rgb": False}
    assert config["train"]["data"] == "builtin-varied-mix"
    card = (base_models.base_models_dir() / "builtin-64px-varied" / "README.md").read_text()
    assert "license: apache-2.0" in card and "`maskgen-builtin-varied-mix`: `varied-mix` style" in card


def test_a_wider_run_starts_from_a_narrower_base_model_drawing_what_it_drew(
    base_dir: Path, tmp_path: Path
) -> None:
    from maskgen.artifacts.generator import generate_images, load_generator

    values = tiny_config_values(
        init="base:tiny-16px", kimg=0.004, snapshot_kimg=0.004, lr_g=1e-12, lr_d=1e-12, ema_kimg=1e6
    )
    values["generator_options"]["channel_min"] = 32  # the 16 px block: 16 -> 32 channels
    messages: list[str] = []
    run = train(validate_config(values), out_root=tmp_path, on_message=messages.append)
    said = "initialized G, D and G_ema, widened to -G channel_min=32 from base:tiny-16px"
    assert said in messages, messages
    wide, _ = load_generator(run, torch.device("cpu"))
    narrow, _ = load_generator(base_dir, torch.device("cpu"))
    assert wide.synthesis_network.blocks[-1].conv1.weight.shape[0] == 32
    assert narrow.synthesis_network.blocks[-1].conv1.weight.shape[0] == 16
    # w_avg moved during the step (it ignores the learning rate): compare without truncation.
    drawn = [generate_images(g, [0, 1, 2, 3], noise_mode="const") for g in (wide, narrow)]
    assert torch.allclose(drawn[0], drawn[1], atol=1e-4)
