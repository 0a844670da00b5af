"""Checkpoints on the Hugging Face Hub: references, the offline cache, push, model cards, strict loading.

No test uses the network: sockets are blocked, the Hub cache is filled by hand in the documented layout
(models--OWNER--REPO/{blobs,refs,snapshots}) and read with HF_HUB_OFFLINE=1, and pushes go to a fake
HfApi that records the commit operations our code builds. Pulling over HTTP, from a real
Hub-compatible server (olah) on loopback, is tested in test_hub_server.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from huggingface_hub import ModelCard, PyTorchModelHubMixin
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

import maskgen.cli.hub_cmd  # noqa: F401  (registers pull and push on the app)
from maskgen.artifacts import hub_pull as hub
from maskgen.artifacts.checkpoint import describe_mismatch, load_checkpoint, load_strict, split_weights
from maskgen.artifacts.modelcard import model_card
from maskgen.cli.main import app
from maskgen.config import validate_config
from maskgen.errors import MaskgenError
from maskgen.plugins import PluginRegistry
from maskgen.plugins.hookspecs import hookimpl
from maskgen.testing import tiny_config_values
from maskgen.training.loop import Trainer, train

REPO = "maskgen-test/tiny-masks"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
# What a push uploads: the inference weights, what fine-tuning adds, the config, card and samples.
UPLOAD = {"model.safetensors", "training_weights.safetensors", "config.json", "README.md", "samples.png"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 16 px run shared by the tests of this module (a few seconds on 2 cores)."""
    torch.manual_seed(0)
    values = tiny_config_values(kimg=0.008, snapshot_kimg=0.008)  # two iterations, one snapshot
    return train(validate_config(values), out_root=tmp_path_factory.mktemp("runs"))


@pytest.fixture
def checkpoint(tiny_run: Path, tmp_path: Path) -> Path:
    """A private copy of the run's latest checkpoint directory, safe to edit."""
    copy = tmp_path / "checkpoint"
    shutil.copytree((tiny_run / "checkpoints" / "latest").resolve(), copy)
    return copy


pytestmark = pytest.mark.usefixtures("loopback_only")  # nothing leaves this machine


@pytest.fixture
def offline_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def fill_cache(
    cache: Path,
    source: Path,
    repo_id: str = REPO,
    commit: str = COMMIT,
    refs: tuple[str, ...] = ("main", "v1.0"),
    files: tuple[str, ...] = (
        "model.safetensors",
        "training_weights.safetensors",
        "config.json",
        "README.md",
        "samples.png",
    ),
) -> Path:
    """Lay out a Hugging Face cache entry by hand, the way huggingface_hub writes one."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    for name in files:
        data = (source / name).read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snapshot / name).symlink_to(os.path.relpath(blob, snapshot))
    (repo / "refs").mkdir(exist_ok=True)
    for ref in refs:
        (repo / "refs" / ref).write_text(commit, encoding="utf-8")
    return snapshot


def one_error_line(result: Any) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


# --------------------------------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------------------------------


def test_references_parse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert hub.parse_reference("hf://a/b") == hub.HubReference("a/b", "main")
    assert hub.parse_reference("hf://a/b@v1.0") == hub.HubReference("a/b", "v1.0")
    assert hub.parse_reference("a/b@refs/pr/1") == hub.HubReference("a/b", "refs/pr/1")
    assert hub.parse_reference("a/b", allow_bare=True) == hub.HubReference("a/b", "main")
    assert hub.is_hub_reference("hf://a/b") and hub.is_hub_reference("a/b@main")
    assert not hub.is_hub_reference("runs/00001-ada") and not hub.is_hub_reference("/abs/a/b@main")
    # Commands whose --checkpoint is a Path get "hf:/a/b" from pathlib; it still means the Hub.
    assert hub.reference_text(Path("hf://a/b@v1")) == "hf://a/b@v1"
    for bad in ("hf://a/b@", "hf://a/b/c", "hf://-a/b"):
        with pytest.raises(MaskgenError):
            hub.parse_reference(bad)
    # A local folder that happens to look like OWNER/REPO@REV is a local path.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "x@1").mkdir(parents=True)
    assert not hub.is_hub_reference("runs/x@1")


# --------------------------------------------------------------------------------------------------
# Round trip and strict loading
# --------------------------------------------------------------------------------------------------


def test_round_trip_gives_identical_weights(tiny_run: Path, tmp_path: Path) -> None:
    saved = load_checkpoint(tiny_run)
    trainer = Trainer(validate_config(tiny_config_values()), tmp_path)
    trainer.load(tiny_run / "checkpoints" / "latest")
    for prefix, module in (("G", trainer.G), ("D", trainer.D), ("G_ema", trainer.G_ema)):
        state = module.state_dict()
        for key, tensor in split_weights(saved.weights, prefix).items():
            assert torch.equal(state[key], tensor), f"{prefix}.{key}"
    again = load_checkpoint(trainer.save_checkpoint()).weights
    assert again.keys() == saved.weights.keys()
    assert all(torch.equal(again[k], saved.weights[k]) for k in again)


def test_strict_loading_says_which_resolution(tiny_run: Path, tmp_path: Path) -> None:
    config = validate_config(tiny_config_values(resolution=32, init=str(tiny_run)))
    with pytest.raises(MaskgenError, match=r"checkpoint is 16 px, config asks for 32 px") as info:
        train(config, out_root=tmp_path / "runs")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "runs").exists()  # nothing is created for a run that cannot start
    saved = load_checkpoint(tiny_run).config
    assert describe_mismatch(saved, saved["train"]) is None
    changed = saved["train"] | {"generator_options": {**saved["train"]["generator_options"], "w_dim": 64}}
    assert describe_mismatch(saved, changed) == "checkpoint has w_dim=32, config asks for 64"
    # Without configs, the first differing tensor is named.
    with pytest.raises(MaskgenError, match=r"weight has shape \(2, 4\), expected \(2, 3\)"):
        load_strict(torch.nn.Linear(3, 2), {"weight": torch.zeros(2, 4), "bias": torch.zeros(2)}, "x")


def _mixin_generator(config: dict[str, Any]) -> type:
    """StyleGAN2's G with the Hub's PyTorchModelHubMixin, and the keyword arguments that build the
    architecture a checkpoint's config describes (as the built-in plugin builds it)."""
    from maskgen.networks import Generator
    from maskgen.plugins import get_registry
    from maskgen.plugins.factory import parse_options

    class HubGenerator(Generator, PyTorchModelHubMixin):
        pass

    train = config["train"]
    options = parse_options("generator", "stylegan2", train["generator_options"], get_registry())
    kwargs = {
        "z_dim": options.z_dim,
        "w_dim": options.w_dim,
        "img_resolution": train["resolution"],
        "mapping_layers": options.mapping_layers,
        "channel_base": options.channel_base,
        "channel_max": options.channel_max,
        "conv_clamp": options.conv_clamp,
        "noise_max_resolution": options.noise_max_resolution,
        "symmetric": options.symmetric,
    }
    return HubGenerator, kwargs


def test_model_safetensors_round_trips_through_pytorch_model_hub_mixin(
    checkpoint: Path, tmp_path: Path
) -> None:
    """model.safetensors is what the Hub's own mixin writes and reads: G_ema's state dict alone."""
    from maskgen.artifacts.generator import generate_images, load_generator

    ours, loaded = load_generator(checkpoint, torch.device("cpu"))
    hub_class, kwargs = _mixin_generator(loaded.config)
    # The Hub's loader (safetensors.torch.load_model, strict) reads maskgen's file as it stands.
    theirs = hub_class.from_pretrained(str(checkpoint), strict=True, **kwargs).eval()
    seeds = [0, 1, 2]
    assert torch.equal(generate_images(theirs, seeds), generate_images(ours, seeds))
    # And what the mixin writes, maskgen reads: the same tensors under the same names ...
    mixin_dir = tmp_path / "mixin"
    theirs.save_pretrained(mixin_dir)
    written, ours_file = (
        load_file(str(mixin_dir / "model.safetensors")),
        load_file(str(checkpoint / "model.safetensors")),
    )
    assert written.keys() == ours_file.keys()
    assert all(torch.equal(written[k], ours_file[k]) for k in written)
    # ... and a checkpoint folder holding the mixin's file draws the same pixels.
    shutil.copyfile(mixin_dir / "model.safetensors", checkpoint / "model.safetensors")
    again, _ = load_generator(checkpoint, torch.device("cpu"))
    assert torch.equal(generate_images(again, seeds), generate_images(ours, seeds))


def test_a_checkpoint_in_the_old_single_file_layout_still_loads_and_pushes_split(
    checkpoint: Path, tmp_path: Path
) -> None:
    """0.1 wrote G, D and G_ema, prefixed, into one model.safetensors without metadata; it still reads,
    draws the same pixels, fine-tunes, and a push uploads it in the new layout."""
    new = load_checkpoint(checkpoint).weights
    assert {key.split(".")[0] for key in new} == {"G", "D", "G_ema"}
    old = tmp_path / "old"
    shutil.copytree(checkpoint, old)
    (old / "training_weights.safetensors").unlink()
    save_file({k: v.contiguous() for k, v in new.items()}, str(old / "model.safetensors"))
    read = load_checkpoint(old).weights
    assert read.keys() == new.keys() and all(torch.equal(read[k], new[k]) for k in new)
    drawn = load_checkpoint(old, inference_only=True).weights
    assert set(drawn) == {k for k in new if k.startswith("G_ema.")}
    cli = CliRunner()
    args = ["generate", "--seeds", "0-3", "--device", "cpu", "--out"]
    for name, source in (("new.png", checkpoint), ("old.png", old)):
        assert cli.invoke(app, [*args, str(tmp_path / name), "--checkpoint", str(source)]).exit_code == 0
    assert (tmp_path / "new.png").read_bytes() == (tmp_path / "old.png").read_bytes()
    trainer = Trainer(validate_config(tiny_config_values()), tmp_path / "run")
    trainer.load(old, with_training_state=False)  # what --init does with it
    assert all(torch.equal(v, new[f"D.{k}"]) for k, v in trainer.D.state_dict().items())
    out = tmp_path / "upload"
    assert cli.invoke(app, ["push", str(old), REPO, "--dry-run-dir", str(out)]).exit_code == 0
    for name, expected in (("model.safetensors", {"G_ema"}), ("training_weights.safetensors", {"G", "D"})):
        with safe_open(str(out / name), framework="pt") as handle:
            assert handle.metadata() == {"format": "pt"}, name
        assert load_file(str(out / name)).keys() == load_file(str(checkpoint / name)).keys(), expected
    uploaded = load_checkpoint(out).weights
    assert uploaded.keys() == new.keys() and all(torch.equal(uploaded[k], new[k]) for k in new)


def test_a_card_the_hubs_parser_refuses_never_gets_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from maskgen.artifacts import modelcard

    # The parser the tests read every card with refuses a broken model-index ...
    broken = tmp_path / "README.md"
    broken.write_text("---\nmodel-index:\n- name: x\n  results:\n  - task: {}\n---\n", encoding="utf-8")
    with pytest.raises(ValueError, match="model_index"):
        ModelCard.load(broken)
    # ... and maskgen's card writer goes through it: such metadata fails before any file is written.
    monkeypatch.setattr(
        modelcard,
        "front_matter",
        lambda *a, **k: {
            "library_name": "maskgen",
            "license": "other",
            "model-index": [{"name": "x", "results": [{"task": {}}]}],
        },
    )
    with pytest.raises(ValueError, match="model_index"):
        model_card({"kind": "gan", "train": {"resolution": 16}})


# --------------------------------------------------------------------------------------------------
# The offline cache
# --------------------------------------------------------------------------------------------------


def test_generate_from_offline_cache_by_branch_tag_and_commit(
    checkpoint: Path, offline_cache: Path, tmp_path: Path
) -> None:
    snapshot = fill_cache(offline_cache, checkpoint)
    cli = CliRunner()
    local = tmp_path / "local.png"
    args = ["generate", "--seeds", "0-3", "--device", "cpu"]
    assert cli.invoke(app, [*args, "--checkpoint", str(checkpoint), "--out", str(local)]).exit_code == 0
    for index, ref in enumerate((f"hf://{REPO}", f"hf://{REPO}@v1.0", f"{REPO}@{COMMIT}")):
        out = tmp_path / f"hub{index}.png"
        result = cli.invoke(app, [*args, "--checkpoint", ref, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == local.read_bytes(), ref
    resolved = hub.resolve(f"hf://{REPO}@v1.0")
    assert resolved.commit == COMMIT and resolved.path == snapshot
    assert resolved.pinned == f"hf://{REPO}@{COMMIT}"
    pulled = cli.invoke(app, ["pull", f"{REPO}@v1.0"])
    assert pulled.exit_code == 0, pulled.output
    assert pulled.stdout.strip() == str(snapshot) and COMMIT in pulled.stderr


def test_run_init_from_hub_records_the_commit(checkpoint: Path, offline_cache: Path, tmp_path: Path) -> None:
    fill_cache(offline_cache, checkpoint)
    values = tiny_config_values(init=f"hf://{REPO}@v1.0", kimg=0.004, snapshot_kimg=0.004)
    run = train(validate_config(values), out_root=tmp_path / "runs")
    run_config = json.loads((run / "config.json").read_text())
    assert run_config["init"] == f"hf://{REPO}@{COMMIT}"  # pinned: the tag may move, the run may not
    saved = load_checkpoint(run).config
    assert saved["train"]["init"] == f"hf://{REPO}@{COMMIT}"
    assert saved["init_source"] == {
        "reference": f"hf://{REPO}@v1.0",
        "repo": REPO,
        "revision": "v1.0",
        "commit": COMMIT,
    }
    card = (run / "checkpoints" / "latest" / "README.md").read_text()
    assert yaml.safe_load(card.split("---\n")[1])["base_model"] == REPO


def test_missing_from_offline_cache_fails_with_one_line(
    checkpoint: Path, offline_cache: Path, tmp_path: Path
) -> None:
    cli = CliRunner()
    out = ["--out", str(tmp_path / "x.png")]
    # The repo is not in the cache at all.
    line = one_error_line(cli.invoke(app, ["generate", "--checkpoint", "hf://nobody/nothing@v2", *out]))
    assert "nobody/nothing" in line and "v2" in line and "model.safetensors" in line and "OFFLINE" in line
    # The repo is cached but the revision is not.
    fill_cache(offline_cache, checkpoint)
    line = one_error_line(cli.invoke(app, ["generate", "--checkpoint", f"hf://{REPO}@v9", *out]))
    assert REPO in line and "@v9" in line and "model.safetensors" in line
    # The revision is cached but a file of it is not.
    fill_cache(offline_cache, checkpoint, commit="f" * 40, refs=("partial",), files=("model.safetensors",))
    line = one_error_line(cli.invoke(app, ["pull", f"{REPO}@partial"]))
    assert REPO in line and "partial" in line and "config.json" in line


def test_uninstalled_plugin_names_the_distribution(checkpoint: Path, tmp_path: Path) -> None:
    config = json.loads((checkpoint / "config.json").read_text())
    config["train"]["generator"] = "stylegan9"
    config["plugins"]["generator"] = "maskgen-stylegan9==2.1.0"
    (checkpoint / "config.json").write_text(json.dumps(config))
    result = CliRunner().invoke(
        app, ["generate", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "x.png")]
    )
    line = one_error_line(result)
    assert "'stylegan9'" in line and "pip install 'maskgen-stylegan9==2.1.0'" in line


class _NamesACheckpoint:
    @hookimpl
    def maskgen_pretrained_checkpoints(self) -> dict[str, str]:
        return {"tiny-16": f"{REPO}@v1.0"}


def test_plugin_named_checkpoint_resolves(
    checkpoint: Path, offline_cache: Path, registry: PluginRegistry
) -> None:
    registry.register(_NamesACheckpoint(), distribution="maskgen-zoo", version="1.0")
    snapshot = fill_cache(offline_cache, checkpoint)
    cli = CliRunner()
    listed = cli.invoke(app, ["list-plugins", "--checkpoints", "--json"])
    assert {"name": "tiny-16", "target": f"{REPO}@v1.0", "distribution": "maskgen-zoo"} in json.loads(
        listed.stdout
    )["checkpoints"]
    assert cli.invoke(app, ["pull", "tiny-16"]).stdout.strip() == str(snapshot)
    assert hub.resolve("hf://tiny-16").commit == COMMIT
    assert "unknown pretrained checkpoint" in one_error_line(cli.invoke(app, ["pull", "nope"]))


# --------------------------------------------------------------------------------------------------
# Push and model cards
# --------------------------------------------------------------------------------------------------


def test_push_dry_run_writes_the_upload_folder(checkpoint: Path, tmp_path: Path) -> None:
    (checkpoint / "metrics.json").write_text(
        json.dumps(
            {
                "features": "inception",
                "metrics": {
                    "fid": {"label": "FID[inception]", "value": 123.4, "feature_network": "inception"},
                    "ssim": {"label": "SSIM", "value": 0.25},
                },
            }
        )
    )
    out = tmp_path / "upload"
    cli = CliRunner()
    result = cli.invoke(app, ["push", str(checkpoint), REPO, "--dry-run-dir", str(out), "--tag", "v1.0"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == UPLOAD | {"metrics.json"}
    listed = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert set(listed) == UPLOAD | {"metrics.json"}
    for name in ("model.safetensors", "training_weights.safetensors", "config.json", "samples.png"):
        assert (out / name).read_bytes() == (checkpoint / name).read_bytes(), name
    card = (out / "README.md").read_text()
    assert card.startswith("---\n")
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["library_name"] == "maskgen"
    assert meta["pipeline_tag"] == "unconditional-image-generation"
    assert meta["license"] == "apache-2.0" and "maskgen" in meta["tags"] and "stylegan2" in meta["tags"]
    # The Hub's own parser reads the card, its model-index included: the measured values, as measured.
    parsed = ModelCard.load(out / "README.md")
    assert parsed.data.datasets == ["maskgen-builtin"]  # the run's built-in simple masks
    assert parsed.data.model_name == "tiny-masks"
    measured = {
        r.metric_type: (r.metric_value, r.metric_name, r.metric_config) for r in parsed.data.eval_results
    }
    assert measured == {"fid": (123.4, "FID[inception]", "inception"), "ssim": (0.25, "SSIM", None)}
    assert {r.task_type for r in parsed.data.eval_results} == {"unconditional-image-generation"}
    assert "| FID[inception] | 123.4 | inception |" in card and "| SSIM | 0.25 |" in card
    assert "![" in card and "(samples.png)" in card
    assert f"hf://{REPO}@v1.0" in card and "10.1186/s40494-023-00865-z" in card
    assert "16 px" in card and "0.008 kimg" in card and "32 images" in card
    # The training state travels only when asked for, and --dry-run alone picks a fresh folder.
    result = cli.invoke(app, ["push", str(checkpoint), REPO, "--dry-run", "--with-training-state"])
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.splitlines()[0].rsplit("they are in ", 1)[1])
    assert {p.name for p in folder.iterdir()} == UPLOAD | {
        "metrics.json",
        "training_state.safetensors",
        "training_state.json",
    }
    shutil.rmtree(folder)
    # Without metrics there is no model-index: nothing is made up.
    (checkpoint / "metrics.json").unlink()
    plain = tmp_path / "plain"
    assert cli.invoke(app, ["push", str(checkpoint), REPO, "--dry-run-dir", str(plain)]).exit_code == 0
    assert "model-index" not in (plain / "README.md").read_text()
    assert ModelCard.load(plain / "README.md").data.eval_results is None


def test_card_for_translators_and_plain_runs() -> None:
    card = model_card(
        {
            "kind": "translation",
            "translator": "cocosnet",
            "size": 64,
            "plugin": "maskgen-translator-cocosnet==0.1.0",
            "dataset": {"name": "image folder masks", "images": 40},
            "kimg": 2.0,
            "train": {"data": "/data/masks"},
        }
    )
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["pipeline_tag"] == "image-to-image" and meta["license"] == "other"
    assert "Cross-domain Correspondence Learning" in card and "maskgen-translator-cocosnet" in card
    assert "No metrics were recorded" in card
    # Trained on a user's folder: no datasets entry (its path is theirs), and the card says whose it is.
    parsed = ModelCard(card)
    assert parsed.data.datasets is None and parsed.data.eval_results is None
    assert "Images supplied by whoever trained it: image folder masks, 40 images" in card


class FakeApi:
    """Records what push asks of the Hub; holds one existing repo with a stale training state."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.commits: list[dict[str, Any]] = []

    def create_repo(self, repo_id: str, **kwargs: Any) -> str:
        self.calls.append(("create_repo", repo_id, kwargs))
        return f"https://hub.test/{repo_id}"

    def list_repo_refs(self, repo_id: str, **kwargs: Any) -> Any:
        return type("Refs", (), {"tags": [], "branches": []})()

    def create_branch(self, repo_id: str, **kwargs: Any) -> None:
        self.calls.append(("create_branch", repo_id, kwargs))

    def list_repo_files(self, repo_id: str, **kwargs: Any) -> list[str]:
        return [".gitattributes", "README.md", "model.safetensors", "training_state.json"]

    def create_commit(self, repo_id: str, operations: Any, **kwargs: Any) -> Any:
        operations = list(operations)
        self.commits.append({"repo_id": repo_id, "operations": operations, **kwargs})
        # Read the files now: the staging folder is gone once push returns.
        contents = {
            op.path_in_repo: Path(op.path_or_fileobj).read_bytes()
            for op in operations
            if hasattr(op, "path_or_fileobj")
        }
        self.commits[-1]["contents"] = contents
        return type("Info", (), {"oid": "c" * 40, "commit_url": f"https://hub.test/{repo_id}/commit/c"})()

    def create_tag(self, repo_id: str, **kwargs: Any) -> None:
        self.calls.append(("create_tag", repo_id, kwargs))


def test_push_makes_exactly_one_commit(
    checkpoint: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import huggingface_hub

    # Explicitly online: huggingface_hub keeps the HF_HUB_OFFLINE it saw at import (maybe from a test).
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    api = FakeApi()
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda **kwargs: api)
    result = CliRunner().invoke(
        app, ["push", str(checkpoint), REPO, "--private", "--revision", "dev", "--tag", "v1.0"]
    )
    assert result.exit_code == 0, result.output
    assert len(api.commits) == 1
    commit = api.commits[0]
    assert commit["repo_id"] == REPO and commit["revision"] == "dev"
    adds = [op for op in commit["operations"] if isinstance(op, huggingface_hub.CommitOperationAdd)]
    deletes = [op for op in commit["operations"] if isinstance(op, huggingface_hub.CommitOperationDelete)]
    assert {op.path_in_repo for op in adds} == UPLOAD
    assert [op.path_in_repo for op in deletes] == ["training_state.json"]  # stale from an earlier push
    for name in ("model.safetensors", "config.json"):
        assert commit["contents"][name] == (checkpoint / name).read_bytes()
    assert commit["contents"]["README.md"].startswith(b"---\nlibrary_name: maskgen\n")
    assert ("create_repo", REPO, {"private": True, "exist_ok": True}) in api.calls
    assert ("create_branch", REPO, {"branch": "dev", "exist_ok": True}) in api.calls
    assert ("create_tag", REPO, {"tag": "v1.0", "revision": "c" * 40}) in api.calls
    assert f"hf://{REPO}@v1.0" in result.stdout


def test_push_refuses_offline_and_bad_repo_ids(checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cli = CliRunner()
    line = one_error_line(cli.invoke(app, ["push", str(checkpoint), REPO]))
    assert "HF_HUB_OFFLINE" in line and REPO in line
    assert "--revision" in one_error_line(cli.invoke(app, ["push", str(checkpoint), f"{REPO}@v1"]))


def test_the_card_says_what_a_fine_tune_kept_of_its_start() -> None:
    train = {"resolution": 64, "init": "base:builtin-64px-mirrored"}
    kept = {"freeze_g": 3, "freeze_d": 2, "cdc_weight": 100.0}
    row = [
        line
        for line in model_card({"kind": "gan", "train": train | kept}).splitlines()
        if "| fine-tuning |" in line
    ]
    assert row == [
        "| fine-tuning | G's mapping network and its 4 and 8 px synthesis blocks kept as they were "
        "(freeze_g 3); D's 64 and 32 px blocks kept as they were (FreezeD, freeze_d 2); "
        "cross-domain correspondence term at weight 100 (cdc_weight) |"
    ]
    mapping_only = model_card({"kind": "gan", "train": train | {"freeze_g": 1}})
    assert "| fine-tuning | G's mapping network kept as it was (freeze_g 1) |" in mapping_only
    colours_learn = model_card({"kind": "gan", "train": train | {"freeze_g": 2, "freeze_g_to_rgb": False}})
    assert (
        "| fine-tuning | G's mapping network and its 4 px synthesis block kept as they were (freeze_g 2), "
        "the blocks' toRGB layers learning (freeze_g_to_rgb false) |"
    ) in colours_learn
    assert "| fine-tuning |" not in model_card({"kind": "gan", "train": train})
