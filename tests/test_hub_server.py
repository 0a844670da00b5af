"""Pull from a real Hub-compatible server: olah serving a local git repo as a model repo on loopback.

A tiny run's checkpoint folder is committed to a git repository on branch ``main`` and tagged ``v1.0``
(a second commit on ``main`` then edits the card, so the branch and the tag name different commits).
olah (https://github.com/vtuber-plan/olah), in offline mirror mode, serves that repository as
``maskgen-test/tiny-masks``; maskgen's own CLI pulls and generates from it with ``HF_ENDPOINT`` pointing
at the server, through huggingface_hub's normal client, into a Hugging Face cache under ``tmp_path``.

Everything stays on loopback: this process may not connect anywhere else (``no_network``), and olah
runs offline with its upstream "huggingface.co" and any proxy set to a closed port on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from maskgen.cli.main import app
from maskgen.config import validate_config
from maskgen.errors import MaskgenError
from maskgen.testing import tiny_config_values
from maskgen.training.loop import train

pytest.importorskip(
    "olah", reason="olah, the loopback Hub server, is a dev dependency: pip install -e '.[dev]'"
)
if shutil.which("git") is None:
    pytest.skip("git is needed to build the repository olah serves", allow_module_level=True)

REPO = "maskgen-test/tiny-masks"
TAG = "v1.0"
START_TIMEOUT_S = 30.0
# What a pull to draw fetches of a run's checkpoint (which also holds training_weights.safetensors,
# training_state.* and samples.png): the inference weights, the config and the card.
DRAWN = {"model.safetensors", "config.json", "README.md"}


@dataclass(frozen=True)
class Mirror:
    """The git repository olah serves: the checkpoint at ``tagged`` (v1.0), ``main`` one commit later."""

    root: Path  # holds mirrors/models/OWNER/REPO (olah's mirrors-path); config, cache and logs go here too
    checkpoint: Path  # the run's checkpoint folder, whose files commit ``tagged`` holds unchanged
    tagged: str
    main: str


@dataclass(frozen=True)
class Server:
    endpoint: str
    mirror: Mirror
    log: Path

    def output(self) -> str:
        return _tail(self.log)


def _tail(log: Path) -> str:
    """The end of olah's output, for failure messages."""
    return "--- olah output ---\n" + log.read_text(encoding="utf-8", errors="replace")[-4000:]


pytestmark = pytest.mark.usefixtures("loopback_only")  # nothing leaves this machine


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections for the whole module (bound, never listening)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,  # no user or system config: no signing, hooks or templates
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "maskgen tests",
        "GIT_AUTHOR_EMAIL": "tests@maskgen.invalid",
        "GIT_COMMITTER_NAME": "maskgen tests",
        "GIT_COMMITTER_EMAIL": "tests@maskgen.invalid",
    }
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"git {' '.join(args)} failed: {done.stderr}"
    return done.stdout.strip()


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Mirror:
    """Train a 16 px run (a few seconds on 2 cores) and commit its latest checkpoint to a git repo."""
    torch.manual_seed(0)
    values = tiny_config_values(kimg=0.008, snapshot_kimg=0.008)  # two iterations, one snapshot
    run = train(validate_config(values), out_root=tmp_path_factory.mktemp("runs"))
    checkpoint = (run / "checkpoints" / "latest").resolve()
    root = tmp_path_factory.mktemp("olah")
    repo = root / "mirrors" / "models" / REPO
    shutil.copytree(checkpoint, repo)
    _git(repo, "init", "-q")
    _git(repo, "symbolic-ref", "HEAD", "refs/heads/main")  # `git init -b main` needs git 2.28
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "tiny 16 px checkpoint")
    _git(repo, "tag", TAG)
    tagged = _git(repo, "rev-parse", "HEAD")
    with open(repo / "README.md", "a", encoding="utf-8") as card:
        card.write("\nEdited after v1.0.\n")
    _git(repo, "commit", "-q", "-a", "-m", "edit the card")
    return Mirror(root, checkpoint, tagged, _git(repo, "rev-parse", "HEAD"))


def _olah_config(root: Path, port: int, dead: str) -> Path:
    config = root / "olah.toml"
    lines = [
        "[basic]",
        'host = "127.0.0.1"',
        f"port = {port}",
        f'repos-path = "{(root / "cache").as_posix()}"',
        f'mirrors-path = ["{(root / "mirrors").as_posix()}"]',
        # Were olah to ask its upstream anyway, it would meet a closed loopback port, not huggingface.co.
        'hf-scheme = "http"',
        f'hf-netloc = "{dead}"',
        f'hf-lfs-netloc = "{dead}"',
        "",
        "[accessibility]",
        "offline = true",
        "",
    ]
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # straight to loopback
    deadline = time.monotonic() + START_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            last = f"olah exited with code {process.returncode}"
            break
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code} {exc.read()[:200]!r}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)
    pytest.fail(f"olah did not serve {url} within {START_TIMEOUT_S:.0f} s (last: {last})\n{_tail(log)}")


@pytest.fixture(scope="module")
def server(mirror: Mirror, closed_port: int) -> Iterator[Server]:
    """olah on 127.0.0.1:<free port>, serving the mirror offline; stopped when the module is done."""
    root, port, dead = mirror.root, _free_port(), f"127.0.0.1:{closed_port}"
    config = _olah_config(root, port, dead)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy") and k != "HF_TOKEN"}
    env.update(HTTP_PROXY=f"http://{dead}", HTTPS_PROXY=f"http://{dead}", ALL_PROXY=f"http://{dead}")
    log = root / "olah.out"
    command = [sys.executable, "-c", "from olah.server import cli; cli()"]  # what olah-cli runs
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, "-c", str(config), "--log-path", str(root / "logs")],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(process, f"{endpoint}/api/models/{REPO}/revision/main", log)
        yield Server(endpoint, mirror, log)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def hub_env(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Online against olah, with a fresh Hugging Face home and cache; returns the cache."""
    import huggingface_hub.constants

    home = tmp_path / "hf-home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name in [k for k in os.environ if k.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    # huggingface_hub keeps the HF_HUB_OFFLINE it saw at import, perhaps set by another test.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    return home / "hub"


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _pull(cli: CliRunner, server: Server, reference: str, commit: str, *extra: str) -> Path:
    result = cli.invoke(app, ["pull", reference, *extra])
    assert result.exit_code == 0, f"{result.output}\n{server.output()}"
    path = Path(result.stdout.strip())
    assert path.name == commit and path.parent.name == "snapshots", path
    assert commit in result.stderr
    checkpoint = server.mirror.checkpoint
    if not extra:  # to draw: the inference weights, config and card; nothing of training
        assert {p.name for p in path.iterdir()} == DRAWN
    assert (path / "model.safetensors").read_bytes() == (checkpoint / "model.safetensors").read_bytes()
    assert (path / "config.json").read_bytes() == (checkpoint / "config.json").read_bytes()
    return path


def _downloaded(cache: Path) -> dict[str, int]:
    """Every file of the repo's cached snapshots and the bytes behind it (blobs are what came over HTTP)."""
    repo = cache / ("models--" + REPO.replace("/", "--"))
    blobs = sum(blob.stat().st_size for blob in (repo / "blobs").iterdir())
    files = {
        p.relative_to(repo / "snapshots").as_posix(): p.stat().st_size
        for p in (repo / "snapshots").rglob("*")
        if p.is_file()
    }
    return {"blobs": blobs, **files}


def test_pull_by_branch_and_tag_then_generate_online_and_offline(
    server: Server, hub_env: Path, closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    cli, mirror = CliRunner(), server.mirror
    main = _pull(cli, server, REPO, mirror.main)  # a bare OWNER/REPO means main
    tagged = _pull(cli, server, f"{REPO}@{TAG}", mirror.tagged)
    assert main.parent == tagged.parent and main.is_relative_to(hub_env)
    refs = hub_env / ("models--" + REPO.replace("/", "--")) / "refs"  # what each name resolved to
    assert (refs / "main").read_text() == mirror.main and (refs / TAG).read_text() == mirror.tagged
    original = (mirror.checkpoint / "README.md").read_text(encoding="utf-8")
    assert (tagged / "README.md").read_text(encoding="utf-8") == original  # the tag is the checkpoint
    assert (main / "README.md").read_text(encoding="utf-8").endswith("Edited after v1.0.\n")

    args = ["generate", "--seeds", "0-3", "--device", "cpu", "--out"]
    local = tmp_path / "local.png"
    result = cli.invoke(app, [*args, str(local), "--checkpoint", str(mirror.checkpoint)])
    assert result.exit_code == 0, result.output
    expected = _pixels(local)

    def generate(reference: str, name: str) -> None:
        out = tmp_path / name
        result = cli.invoke(app, [*args, str(out), "--checkpoint", reference])
        assert result.exit_code == 0, f"{reference}: {result.output}\n{server.output()}"
        assert np.array_equal(_pixels(out), expected), reference

    generate(f"hf://{REPO}", "main.png")
    generate(f"hf://{REPO}@{TAG}", "tagged.png")
    # The server gone (a closed port): what was pulled still works, from the cache.
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port}")
    generate(f"hf://{REPO}@{TAG}", "unreachable.png")
    # And with the network switched off.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    generate(f"hf://{REPO}", "offline.png")


def test_unknown_repo_and_revision_fail_with_one_line(server: Server, hub_env: Path) -> None:
    cli = CliRunner()
    for reference, named in (("maskgen-test/nope", "maskgen-test/nope"), (f"{REPO}@v9", "v9")):
        result = cli.invoke(app, ["pull", reference])
        assert result.exit_code != 0, result.output
        assert isinstance(result.exception, SystemExit), result.exception  # handled, not a crash
        assert "Traceback" not in result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], result.stderr
        assert not result.stdout.strip()  # no path printed
    assert not (hub_env / "models--maskgen-test--nope" / "snapshots").exists()


PRINT_REPO = "maskgen-test/print-masks"


@pytest.fixture(scope="module")
def print_repo(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16 px GAN checkpoint carrying a 4x upscaler (upscaler/), committed as a second repo olah serves."""
    from maskgen.artifacts.upscaler import attach_upscaler
    from maskgen.testing import tiny_upscale_values
    from maskgen.upscaling.config import validate_upscale_config
    from maskgen.upscaling.trainer import train as train_upscaler

    upscaler = train_upscaler(
        validate_upscale_config(tiny_upscale_values()), out_root=tmp_path_factory.mktemp("upscale")
    )
    checkpoint = tmp_path_factory.mktemp("print") / "checkpoint"
    shutil.copytree(server.mirror.checkpoint, checkpoint)
    attach_upscaler(checkpoint, upscaler / "checkpoints" / "latest")
    repo = server.mirror.root / "mirrors" / "models" / PRINT_REPO
    shutil.copytree(checkpoint, repo)
    _git(repo, "init", "-q")
    _git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "16 px checkpoint with its 64 px upscaler")
    return checkpoint


def test_a_checkpoint_with_an_upscaler_pulls_whole_and_draws_at_print_size(
    server: Server, print_repo: Path, hub_env: Path, tmp_path: Path
) -> None:
    cli = CliRunner()
    result = cli.invoke(app, ["pull", PRINT_REPO])
    assert result.exit_code == 0, f"{result.output}\n{server.output()}"
    assert "with its upscaler" in result.stderr
    path = Path(result.stdout.strip())
    for name in ("model.safetensors", "config.json", "README.md"):
        pulled, local = path / "upscaler" / name, print_repo / "upscaler" / name
        assert pulled.read_bytes() == local.read_bytes(), name
    assert not (path / "upscaler" / "samples.png").exists()  # a contact sheet: drawing does not need it
    args = ["generate", "--seeds", "0-3", "--device", "cpu", "--size", "64", "--out"]
    local, hub = tmp_path / "local.png", tmp_path / "hub.png"
    assert cli.invoke(app, [*args, str(local), "--checkpoint", str(print_repo)]).exit_code == 0
    result = cli.invoke(app, [*args, str(hub), "--checkpoint", f"hf://{PRINT_REPO}"])
    assert result.exit_code == 0, f"{result.output}\n{server.output()}"
    assert _pixels(hub).shape == (128, 128, 3) and np.array_equal(_pixels(hub), _pixels(local))


def test_a_pull_fetches_what_its_purpose_needs_and_run_init_fetches_the_training_weights(
    server: Server, hub_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    from maskgen.artifacts.checkpoint import load_checkpoint

    cli, mirror = CliRunner(), server.mirror
    checkpoint = mirror.checkpoint
    everything = {p.name for p in checkpoint.iterdir()}
    assert {"training_weights.safetensors", "training_state.safetensors", "samples.png"} <= everything
    drawn = _pull(cli, server, f"{REPO}@{TAG}", mirror.tagged)
    # Only the drawing files crossed the wire: the blobs hold their bytes and nothing else.
    fetched = _downloaded(hub_env)
    assert fetched["blobs"] == sum((checkpoint / name).stat().st_size for name in DRAWN)
    weights = (checkpoint / "model.safetensors").stat().st_size
    assert weights < (checkpoint / "training_weights.safetensors").stat().st_size  # G_ema < G + D
    # Offline, fine-tuning from a snapshot pulled to draw is one line saying how to get the rest.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    values = tiny_config_values(init=f"hf://{REPO}@{TAG}", kimg=0.004, snapshot_kimg=0.004)
    with pytest.raises(MaskgenError, match=r"training_weights\.safetensors.*--for fine-tune"):
        train(validate_config(values), out_root=tmp_path / "offline")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    # run --init fetches what fine-tuning needs (D and G besides G_ema), still no training state.
    run = train(validate_config(values), out_root=tmp_path / "runs")
    assert {p.name for p in drawn.iterdir()} == DRAWN | {"training_weights.safetensors"}
    assert json.loads((run / "config.json").read_text())["init"] == f"hf://{REPO}@{mirror.tagged}"
    started = load_checkpoint(drawn).weights
    assert {key.split(".")[0] for key in started} == {"G", "D", "G_ema"}
    # --for all: the whole commit, training state and samples too.
    whole = _pull(cli, server, f"{REPO}@{TAG}", mirror.tagged, "--for", "all")
    assert {p.name for p in whole.iterdir()} == everything
    assert (whole / "training_state.safetensors").read_bytes() == (
        checkpoint / "training_state.safetensors"
    ).read_bytes()
    line = cli.invoke(app, ["pull", REPO, "--for", "everything"])
    assert line.exit_code == 1 and "unknown purpose 'everything'" in line.stderr
