"""The cascade on the Hub: a GAN checkpoint's ``upscaler/`` travels with it through push and pull and
draws the same pixels at print size; an upscaler checkpoint is pushed and pulled by itself; the model
card says what the checkpoint draws. No network: a fake HfApi records the commit, the Hugging Face cache
is filled by hand (pulling over HTTP is in test_hub_server.py)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from huggingface_hub import ModelCard
from PIL import Image
from safetensors.torch import load_file
from typer.testing import CliRunner

import maskgen.cli.hub_cmd  # noqa: F401  (registers pull and push on the app)
from maskgen.artifacts import hub_pull
from maskgen.artifacts.modelcard import model_card
from maskgen.artifacts.upscaler import attach_upscaler
from maskgen.cli.main import app
from maskgen.config import validate_config
from maskgen.testing import assert_one_line_error, tiny_config_values, tiny_upscale_values
from maskgen.training.loop import train as train_gan
from maskgen.upscaling.config import validate_upscale_config
from maskgen.upscaling.trainer import train as train_upscaler

REPO = "maskgen-test/print-masks"
COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
UPSCALER_FILES = {f"upscaler/{n}" for n in ("model.safetensors", "config.json", "README.md", "samples.png")}
UPLOAD = {"model.safetensors", "config.json", "README.md", "samples.png"}
# A push also uploads what fine-tuning adds to the inference weights (a pull to draw leaves it).
PUSHED = UPLOAD | {"training_weights.safetensors"}

pytestmark = pytest.mark.usefixtures("loopback_only")


@pytest.fixture(scope="module")
def upscaler_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = validate_upscale_config(tiny_upscale_values())
    return train_upscaler(config, out_root=tmp_path_factory.mktemp("upscale"))


@pytest.fixture(scope="module")
def gan_with_upscaler(upscaler_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = train_gan(
        validate_config(tiny_config_values(kimg=0.008, snapshot_kimg=0.008)),
        out_root=tmp_path_factory.mktemp("gan"),
    )
    checkpoint = (run / "checkpoints" / "latest").resolve()
    attach_upscaler(checkpoint, upscaler_run / "checkpoints" / "latest")
    return checkpoint


@pytest.fixture
def offline_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def fill_cache(cache: Path, source: Path, files: set[str], commit: str = COMMIT, ref: str = "main") -> Path:
    """A Hugging Face cache entry laid out by hand, sub-folders included, as huggingface_hub writes one."""
    repo = cache / ("models--" + REPO.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    for name in files:
        data = (source / name).read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / ref).write_text(commit, encoding="utf-8")
    return snapshot


def dry_run(checkpoint: Path, out: Path, *extra: str) -> Any:
    result = CliRunner().invoke(app, ["push", str(checkpoint), REPO, "--dry-run-dir", str(out), *extra])
    assert result.exit_code == 0, result.output
    return result


def test_push_carries_the_upscaler_and_the_card_says_so(gan_with_upscaler: Path, tmp_path: Path) -> None:
    out = tmp_path / "upload"
    result = dry_run(gan_with_upscaler, out, "--tag", "v1.0")
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert files == PUSHED | UPSCALER_FILES
    assert {line.split()[0] for line in result.stdout.splitlines()[1:]} == files
    for name in UPSCALER_FILES:
        assert (out / name).read_bytes() == (gan_with_upscaler / name).read_bytes(), name
    card = (out / "README.md").read_text()
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["pipeline_tag"] == "unconditional-image-generation" and "super-resolution" in meta["tags"]
    parsed = ModelCard.load(out / "README.md")  # the Hub's own parser, the upscaler's card too
    assert parsed.data.library_name == "maskgen" and "cascade" in parsed.data.tags
    assert ModelCard.load(out / "upscaler" / "README.md").data.pipeline_tag == "image-to-image"
    title = next(line for line in card.splitlines() if line.startswith("# "))
    assert title.endswith("Peking opera facial masks, 16 px and 64 px")
    assert "It draws 16 and 64 px masks (64 px by default)." in card
    assert f"maskgen generate --checkpoint hf://{REPO}@v1.0 --seeds 0-15 --size 64 --out masks.png" in card
    assert "| sizes | 16 px (the generator), 64 px (through its upscaler) |" in card
    assert "| upscaler | `rrdb` 4x, 16 -> 64 px (maskgen==" in card
    assert (
        "| upscaler trained on | builtin detailed procedural masks (6 at 64 px, seed 7), 6 images |" in card
    )
    assert "| upscaler fine-tuned from | nothing: trained from scratch |" in card
    assert "- `upscaler/`: the upscaler" in card
    # The card's existing sections stay, in order.
    heads = [line for line in card.splitlines() if line.startswith("## ")]
    assert heads == [
        "## Use",
        "## Training",
        "## Training data",
        "## Metrics",
        "## Files",
        "## Versions and license",
        "## Citation",
    ]


def test_the_card_names_where_the_upscaler_was_fine_tuned_from() -> None:
    gan = {"kind": "gan", "train": {"resolution": 64, "data": "/data/masks"}, "kimg": 100.0}
    upscaler = {
        "kind": "upscaler",
        "upscaler": "rrdb",
        "scale": 4,
        "small_size": 64,
        "size": 256,
        "plugin": "maskgen==9.9",
        "kimg": 12.5,
        "dataset": {"name": "masks", "images": 300},
        "train": {"init": "base:upscaler-rrdb-256px"},
    }
    card = model_card(gan, upscaler=upscaler)
    assert "--seeds 0-15 --size 256 --out masks.png" in card and "--size 64 --out small.png" in card
    assert "| upscaler training length | 12.500 kimg of crops |" in card
    assert "| upscaler trained on | masks, 300 images |" in card
    assert "| upscaler fine-tuned from | `base:upscaler-rrdb-256px` |" in card
    assert "`maskgen==9.9`" in card  # the upscaler's plugin among the versions
    plain = model_card(gan)
    assert "--size" not in plain and "upscaler" not in plain


def test_pull_from_the_cache_draws_the_same_print_size_pixels(
    gan_with_upscaler: Path, offline_cache: Path, tmp_path: Path
) -> None:
    snapshot = fill_cache(offline_cache, gan_with_upscaler, UPLOAD | UPSCALER_FILES)
    cli = CliRunner()
    pulled = cli.invoke(app, ["pull", REPO])
    assert pulled.exit_code == 0, pulled.output
    assert pulled.stdout.strip() == str(snapshot) and "with its upscaler" in pulled.stderr
    args = ["generate", "--seeds", "0-3", "--device", "cpu", "--out"]
    local, hub = tmp_path / "local.png", tmp_path / "hub.png"
    assert cli.invoke(app, [*args, str(local), "--checkpoint", str(gan_with_upscaler)]).exit_code == 0
    result = cli.invoke(app, [*args, str(hub), "--checkpoint", f"hf://{REPO}", "--size", "64"])
    assert result.exit_code == 0, result.output
    assert Image.open(hub).size == (128, 128)  # 2 x 2 masks at 64 px: the upscaler came along
    assert hub.read_bytes() == local.read_bytes()


def test_an_incomplete_upscaler_in_the_cache_is_one_line(
    gan_with_upscaler: Path, offline_cache: Path, tmp_path: Path
) -> None:
    fill_cache(offline_cache, gan_with_upscaler, UPLOAD | {"upscaler/config.json"})
    line = assert_one_line_error(CliRunner().invoke(app, ["pull", REPO]), "upscaler/model.safetensors", REPO)
    assert "HF_HUB_OFFLINE" in line


def test_push_commits_the_upscaler_and_removes_a_stale_one(
    gan_with_upscaler: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import huggingface_hub

    commits: list[dict[str, Any]] = []
    existing = [".gitattributes", "model.safetensors", *sorted(UPSCALER_FILES)]

    class FakeApi:
        def create_repo(self, repo_id: str, **kwargs: Any) -> None:
            pass

        def list_repo_files(self, repo_id: str, **kwargs: Any) -> list[str]:
            return existing

        def create_commit(self, repo_id: str, operations: Any, **kwargs: Any) -> Any:
            adds = {
                op.path_in_repo: Path(op.path_or_fileobj).read_bytes()
                for op in operations
                if isinstance(op, huggingface_hub.CommitOperationAdd)
            }
            deletes = [
                op.path_in_repo for op in operations if isinstance(op, huggingface_hub.CommitOperationDelete)
            ]
            commits.append({"adds": adds, "deletes": deletes, **kwargs})
            return type("Info", (), {"oid": "c" * 40, "commit_url": "https://hub.test/commit/c"})()

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda **kwargs: FakeApi())
    cli = CliRunner()
    result = cli.invoke(app, ["push", str(gan_with_upscaler), REPO])
    assert result.exit_code == 0, result.output
    assert set(commits[0]["adds"]) == PUSHED | UPSCALER_FILES and commits[0]["deletes"] == []
    weights = gan_with_upscaler / "upscaler" / "model.safetensors"
    assert commits[0]["adds"]["upscaler/model.safetensors"] == weights.read_bytes()
    assert "with its upscaler to 64 px" in commits[0]["commit_message"]
    assert f"--checkpoint hf://{REPO}@{'c' * 40} --size 64 --out masks.png" in result.stdout
    # A checkpoint without an upscaler, pushed over one with: the old upscaler goes.
    bare = tmp_path / "bare"
    shutil.copytree(gan_with_upscaler, bare)
    shutil.rmtree(bare / "upscaler")
    assert cli.invoke(app, ["push", str(bare), REPO]).exit_code == 0
    assert sorted(commits[1]["deletes"]) == sorted(UPSCALER_FILES)
    # A corrupt upscaler is refused before anything is uploaded.
    (bare / "upscaler").mkdir()
    shutil.copyfile(gan_with_upscaler / "upscaler" / "config.json", bare / "upscaler" / "config.json")
    (bare / "upscaler" / "model.safetensors").write_bytes(b"not safetensors")
    assert_one_line_error(
        cli.invoke(app, ["push", str(bare), REPO]), "unreadable checkpoint file", "upscaler"
    )
    assert len(commits) == 2


def test_an_upscaler_checkpoint_is_pushed_and_pulled_by_itself(
    upscaler_run: Path,
    gan_with_upscaler: Path,
    offline_cache: Path,
    tmp_path: Path,
    cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = (upscaler_run / "checkpoints" / "latest").resolve()
    out = tmp_path / "upload"
    dry_run(source, out)
    assert {p.name for p in out.iterdir()} == PUSHED  # U_ema alone in model.safetensors; U and D beside
    assert set(load_file(str(out / "training_weights.safetensors"))) == set(
        load_file(str(source / "training_weights.safetensors"))
    )
    assert {key.split(".")[0] for key in load_file(str(out / "training_weights.safetensors"))} == {"U", "D"}
    card = (out / "README.md").read_text()
    assert ModelCard.load(out / "README.md").data.datasets == ["maskgen-builtin-detailed"]
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["pipeline_tag"] == "image-to-image" and "super-resolution" in meta["tags"]
    assert meta["license"] == "apache-2.0"  # trained on built-in masks
    assert "16 -> 64 px" in card and f"maskgen upscale apply --checkpoint hf://{REPO}" in card
    assert "U_ema" in card and "StyleGAN2" not in card
    assert (
        load_file(str(out / "model.safetensors")).keys()
        == load_file(str(source / "model.safetensors")).keys()
    )
    # Pulled (inference weights only), it enlarges pictures and serves as a GAN's upscaler.
    fill_cache(offline_cache, out, UPLOAD)
    fetched: list[str] = []
    resolve = hub_pull.resolve

    def recording_resolve(reference: Any, *args: Any, purpose: str = hub_pull.DRAW, **kwargs: Any) -> Any:
        fetched.append(purpose)
        return resolve(reference, *args, purpose=purpose, **kwargs)

    monkeypatch.setattr(hub_pull, "resolve", recording_resolve)
    small = tmp_path / "small.png"
    Image.new("RGB", (16, 16), (200, 30, 30)).save(small)
    result = cli.invoke(
        app, ["upscale", "apply", "--checkpoint", f"hf://{REPO}", str(small), "-o", str(tmp_path / "big")]
    )
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "big" / "small.png").size == (64, 64)
    assert fetched == [hub_pull.DRAW]  # enlarging asks for the inference weights alone
    bare = tmp_path / "bare"
    shutil.copytree(gan_with_upscaler, bare)
    shutil.rmtree(bare / "upscaler")
    args = ["generate", "--seeds", "0-3", "--device", "cpu", "--out"]
    local, hub = tmp_path / "local.png", tmp_path / "hub.png"
    assert cli.invoke(app, [*args, str(local), "--checkpoint", str(gan_with_upscaler)]).exit_code == 0
    result = cli.invoke(app, [*args, str(hub), "--checkpoint", str(bare), "--upscaler", f"hf://{REPO}"])
    assert result.exit_code == 0, result.output
    assert hub.read_bytes() == local.read_bytes()  # the same U_ema weights, pulled
