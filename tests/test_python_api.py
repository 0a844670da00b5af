"""The Python API (docs/python.md): ``maskgen.load(...).generate(...)`` draws the pixels ``maskgen generate``
draws, ``save_pretrained`` -> ``from_pretrained`` draws them again (with the upscaler too), bad references
are one line, ``push_to_hub`` is ``maskgen push``, examples/quickstart.ipynb runs, and ``maskgen --version``
and ``maskgen models`` say what they should.

The notebook is executed in-process, each code cell's source run in order in one namespace (nbformat
and nbclient are not dependencies of maskgen); its JSON is checked to be an nbformat 4 notebook.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import ModelCard
from PIL import Image
from typer.testing import CliRunner

import maskgen
from maskgen.artifacts.base_models import list_base_models
from maskgen.artifacts.upscaler import attach_upscaler
from maskgen.cli.main import app
from maskgen.config import validate_config
from maskgen.errors import MaskgenError
from maskgen.testing import tiny_config_values, tiny_upscale_values
from maskgen.training.loop import train as train_gan
from maskgen.upscaling.config import validate_upscale_config
from maskgen.upscaling.trainer import train as train_upscaler

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"
BASE = "base:builtin-64px-mirrored"
pytestmark = pytest.mark.usefixtures("one_thread")


def _arrays(images: list[Image.Image]) -> list[np.ndarray]:
    return [np.asarray(image.convert("RGB")) for image in images]


def _cli_masks(checkpoint: str, seeds: str, out: Path, *extra: str) -> list[np.ndarray]:
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--checkpoint",
            checkpoint,
            "--seeds",
            seeds,
            "--out",
            str(out),
            "--device",
            "cpu",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(out.glob("seed*.png"))]


@pytest.fixture(scope="module")
def cascade_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny 16 px GAN carrying a tiny 16 -> 64 px upscaler (as tests/test_print_size_explore.py)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        up_config = validate_upscale_config(tiny_upscale_values())
        upscaler = train_upscaler(up_config, out_root=tmp_path_factory.mktemp("upscale"))
        config = validate_config(tiny_config_values(kimg=0.008, snapshot_kimg=0.008))
        run = train_gan(config, out_root=tmp_path_factory.mktemp("gan"))
    finally:
        torch.set_num_threads(threads)
    checkpoint = (run / "checkpoints" / "latest").resolve()
    attach_upscaler(checkpoint, (upscaler / "checkpoints" / "latest").resolve())
    return checkpoint


def test_import_maskgen_stays_cheap() -> None:
    code = "import sys, maskgen; maskgen.load; print('torch' in sys.modules, 'maskgen.apps' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]  # the API is in the namespace, nothing loaded yet


def test_generate_draws_the_pixels_of_maskgen_generate(tmp_path: Path) -> None:
    g = maskgen.load(BASE, device="cpu")
    assert g.sizes == [64, 256]  # the shipped base GANs draw through the shipped base upscaler
    images = g.generate(seeds=[0, 1])
    assert all(isinstance(im, Image.Image) and im.size == (256, 256) and im.mode == "RGB" for im in images)
    cli = _cli_masks(BASE, "0-1", tmp_path / "masks")
    assert len(cli) == 2
    for ours, theirs in zip(_arrays(images), cli, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    # truncation and a range too, and the same seed always gives the same mask
    again = g.generate(seeds=range(3), truncation=0.7)
    truncated = _cli_masks(BASE, "0-2", tmp_path / "truncated", "--truncation", "0.7")
    for ours, theirs in zip(_arrays(again), truncated, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert not np.array_equal(_arrays(again)[0], _arrays(images)[0])


def test_save_pretrained_then_from_pretrained_draws_the_same_pixels(tmp_path: Path) -> None:
    g = maskgen.load(BASE, device="cpu")
    saved = g.save_pretrained(tmp_path / "my-masks")
    assert {p.name for p in saved.iterdir()} >= {"model.safetensors", "config.json", "README.md"}
    # The same files as the shipped model: G_ema alone to draw, D beside it to fine-tune from.
    for name in ("model.safetensors", "training_weights.safetensors", "config.json"):
        assert (saved / name).read_bytes() == (g.path / name).read_bytes(), name
    card = ModelCard.load(saved / "README.md")  # written for the folder, read by the Hub's parser
    assert card.data.license == "apache-2.0" and card.data.datasets == [
        "maskgen-builtin-detailed",
        "maskgen-builtin",
    ]
    assert "(G starts as G_ema)" in card.text
    again = maskgen.MaskGenerator.from_pretrained(saved, device="cpu")
    assert again.path == saved.resolve() or again.path == saved
    for a, b in zip(_arrays(g.generate([4, 9])), _arrays(again.generate([4, 9])), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(MaskgenError, match="loaded from"):
        again.save_pretrained(saved)


def test_a_cascade_round_trips_with_its_upscaler(cascade_checkpoint: Path, tmp_path: Path) -> None:
    g = maskgen.load(cascade_checkpoint, device="cpu")
    assert g.sizes == [16, 64]
    large = g.generate(seeds=[0, 1])
    assert large[0].size == (64, 64)
    assert g.generate(seeds=[0], size=16)[0].size == (16, 16)
    cli = _cli_masks(str(cascade_checkpoint), "0-1", tmp_path / "cli")
    for a, b in zip(_arrays(large), cli, strict=True):
        np.testing.assert_array_equal(a, b)
    saved = g.save_pretrained(tmp_path / "saved")
    assert (saved / "upscaler" / "model.safetensors").is_file()
    card = ModelCard.load(saved / "README.md")
    assert "cascade" in card.data.tags and "It draws 16 and 64 px masks" in card.text
    again = maskgen.load(saved, device="cpu")
    assert again.sizes == [16, 64]
    for a, b in zip(_arrays(large), _arrays(again.generate(seeds=[0, 1])), strict=True):
        np.testing.assert_array_equal(a, b)
    # mix, walk and project draw at the largest size by default, at the GAN's on request
    assert g.mix([0, 1], [2]).size == (2 * 64, 3 * 64)
    frames = g.walk([0, 1], frames_per_seed=2)
    assert len(frames) == 3 and frames[0].size == (64, 64)
    np.testing.assert_array_equal(np.asarray(frames[0]), _arrays(large)[0])  # keyframe 0 is seed 0's mask
    assert g.walk([0, 1], frames_per_seed=2, size=16)[0].size == (16, 16)
    projection = g.project(large[1], steps=3, distance="masknet")
    assert projection.image.size == (64, 64) and projection.target.size == (16, 16)
    assert np.isfinite(projection.psnr)
    paths = projection.save(tmp_path / "proj")
    assert paths["w"].is_file() and Image.open(paths["proj"]).size == (64, 64)
    assert len(g.walk([0, projection], frames_per_seed=2, size=16)) == 3
    with pytest.raises(MaskgenError, match="cannot draw 32 px"):
        g.generate(seeds=[0], size=32)


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ("base:no-such-model", "no base model 'base:no-such-model'"),
        ("/no/such/checkpoint", "checkpoint not found"),
        ("base:cocosnet-64px", "is not a GAN checkpoint"),
    ],
)
def test_bad_references_are_one_line(ref: str, fragment: str) -> None:
    with pytest.raises(MaskgenError) as caught:
        maskgen.load(ref, device="cpu")
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_bad_arguments_are_one_line() -> None:
    g = maskgen.load(BASE, device="cpu")
    for call in (
        lambda: g.generate(seeds=["x"]),
        lambda: g.generate(seeds=[-1]),
        lambda: g.generate(truncation=float("nan")),
        lambda: g.generate(noise="loud"),
        lambda: g.generate(colour="red"),  # an unconditional model
        lambda: g.mix(0, 1, crossover="99"),
        lambda: g.walk([0], frames_per_seed=2),
        lambda: g.project(Path("/no/such.png"), steps=1),
        lambda: maskgen.load(BASE, device="quantum"),
    ):
        with pytest.raises(MaskgenError) as caught:
            call()
        assert "\n" not in str(caught.value)


def test_translator_colours_pil_images_and_files(tmp_path: Path) -> None:
    t = maskgen.load_translator(device="cpu")
    assert t.size == 64
    g = maskgen.load(BASE, device="cpu")
    sketch, reference = g.generate(seeds=[0, 1])
    coloured = t.colour(sketch, reference)
    assert isinstance(coloured, Image.Image) and coloured.size == (64, 64)
    sketch.save(tmp_path / "s.png")
    reference.save(tmp_path / "r.png")
    np.testing.assert_array_equal(
        np.asarray(t.colour(tmp_path / "s.png", str(tmp_path / "r.png"))), np.asarray(coloured)
    )
    with pytest.raises(MaskgenError, match="sketch not found"):
        t.colour(tmp_path / "missing.png", reference)
    with pytest.raises(MaskgenError, match="is not a translation checkpoint|translation"):
        maskgen.load_translator(BASE, device="cpu")


class _Hub:
    """Stands in for huggingface_hub.HfApi: records the one commit a push makes."""

    def __init__(self) -> None:
        self.contents: dict[str, bytes] = {}

    def create_repo(self, repo_id: str, **kwargs: object) -> None: ...

    def list_repo_files(self, repo_id: str, **kwargs: object) -> list[str]:
        return []

    def create_commit(self, repo_id: str, operations: list, **kwargs: object) -> object:
        self.contents = {op.path_in_repo: Path(op.path_or_fileobj).read_bytes() for op in operations}
        return type("Info", (), {"oid": "c" * 40, "commit_url": f"https://hub.test/{repo_id}/commit/c"})()


def test_push_to_hub_is_maskgen_push(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    g = maskgen.load(BASE, device="cpu")
    hub = _Hub()
    result = g.push_to_hub("me/opera-masks", api=hub)
    assert result.commit == "c" * 40
    assert hub.contents["model.safetensors"] == (g.path / "model.safetensors").read_bytes()
    assert hub.contents["README.md"].startswith(b"---\n")
    assert {"config.json", "README.md", "model.safetensors", "training_weights.safetensors"} <= set(
        hub.contents
    )
    card = ModelCard(hub.contents["README.md"].decode("utf-8"))
    assert card.data.license == "apache-2.0" and "hf://me/opera-masks" in card.text
    with pytest.raises(MaskgenError, match="not a Hub repo id"):
        g.push_to_hub("no-owner", api=hub)


def test_the_quickstart_notebook_runs() -> None:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4 and notebook["cells"]
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert all(not cell["outputs"] and cell["execution_count"] is None for cell in code)  # stored clean
    namespace: dict[str, object] = {"__name__": "__main__"}
    for index, cell in enumerate(code):
        source = "".join(cell["source"])
        exec(compile(source, f"{NOTEBOOK.name}[code cell {index}]", "exec"), namespace)  # noqa: S102
    images = namespace["images"]
    assert isinstance(images, list) and len(images) == 4
    assert all(isinstance(im, Image.Image) and im.size == (256, 256) for im in images)
    assert namespace["row"].size == (4 * 256, 256)


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"maskgen {maskgen.__version__}"


def test_models_lists_every_shipped_model() -> None:
    shipped = list_base_models(kind=None)
    assert shipped
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    for directory in shipped:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        header = next(
            line for line in result.stdout.splitlines() if line.startswith(f"base:{directory.name} ")
        )
        kind = {"gan": "GAN", "translation": "translator", "upscaler": "upscaler"}[config["kind"]]
        assert kind in header and " px" in header
        assert config["dataset"]["name"] in result.stdout
    assert f"maskgen generate --checkpoint {BASE}" in result.stdout
    listed = json.loads(CliRunner().invoke(app, ["models", "--json"]).stdout)
    assert [m["name"] for m in listed] == [d.name for d in shipped]
    assert all(m["use"] and m["size"] for m in listed)
