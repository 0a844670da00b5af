"""Print size beyond ``generate``: ``mix``, ``video``, ``project`` and ``translate apply`` draw at --size
through the cascade's upscaler (a tiny 16 px GAN with a tiny 16 -> 64 px upscaler attached), and bad
sizes, a missing upscaler and a corrupt one end in one line with nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import maskgen.cli.translate_cmd  # noqa: F401  (registers the `translate` commands on the shared app)
from maskgen.apps.cascade import load_cascade
from maskgen.apps.latents import parse_latent_sources, swapped_noise, synthesize, ws_for_sources
from maskgen.apps.mixing import mix_ws, style_mixing_grid
from maskgen.apps.projection import ProjectionSettings, load_target, project
from maskgen.apps.video import latent_walk
from maskgen.artifacts.upscaler import attach_upscaler, load_upscaler, upscale
from maskgen.cli.main import app
from maskgen.config import validate_config
from maskgen.data.procedural import render_masks
from maskgen.images import from_uint8, save_png, to_uint8
from maskgen.testing import (
    assert_one_line_error,
    tiny_config_values,
    tiny_translate_values,
    tiny_upscale_values,
)
from maskgen.training.loop import train as train_gan
from maskgen.translation.config import validate_translate_config
from maskgen.translation.trainer import train as train_translator
from maskgen.upscaling.config import validate_upscale_config
from maskgen.upscaling.trainer import train as train_upscaler

CPU = torch.device("cpu")
pytestmark = pytest.mark.usefixtures("one_thread")  # tiny convolutions: far faster on one thread


def _one_thread(make):  # noqa: ANN001, ANN202
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        return make()
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def upscaler_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = validate_upscale_config(tiny_upscale_values())
    run = _one_thread(lambda: train_upscaler(config, out_root=tmp_path_factory.mktemp("upscale")))
    return (run / "checkpoints" / "latest").resolve()


@pytest.fixture(scope="module")
def gan_with_upscaler(upscaler_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = validate_config(tiny_config_values(kimg=0.008, snapshot_kimg=0.008))
    run = _one_thread(lambda: train_gan(config, out_root=tmp_path_factory.mktemp("gan")))
    checkpoint = (run / "checkpoints" / "latest").resolve()
    attach_upscaler(checkpoint, upscaler_run)
    return checkpoint


@pytest.fixture(scope="module")
def translator_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = validate_translate_config(tiny_translate_values(kimg=0.004, snapshot_kimg=0.004))
    return _one_thread(lambda: train_translator(config, out_root=tmp_path_factory.mktemp("translate")))


@pytest.fixture(scope="module")
def spoiled(gan_with_upscaler: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The GAN without its upscaler, and with a corrupt one."""
    root = tmp_path_factory.mktemp("spoiled")
    bare, broken = root / "bare", root / "broken"
    shutil.copytree(gan_with_upscaler, bare)
    shutil.rmtree(bare / "upscaler")
    shutil.copytree(gan_with_upscaler, broken)
    (broken / "upscaler" / "model.safetensors").write_bytes(b"not safetensors")
    return {"bare": bare, "broken": broken}


def _levels(a: np.ndarray, b: np.ndarray) -> int:
    """Largest difference in grey levels of two uint8 pictures of one shape."""
    assert a.shape == b.shape, (a.shape, b.shape)
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def _enlarged(network: torch.nn.Module, picture: np.ndarray) -> np.ndarray:
    """A uint8 [H, W, 3] picture through the upscaler, as uint8."""
    return to_uint8(upscale(network, from_uint8(np.array(picture)[None])))[0]


# -- mix ---------------------------------------------------------------------------------------------------


def test_mix_at_print_size_is_the_upscaler_on_the_gans_grid(gan_with_upscaler: Path) -> None:
    cascade = load_cascade(gan_with_upscaler, CPU)
    G = cascade.generator
    rows, cols = parse_latent_sources("0,1"), parse_latent_sources("2,3,4")
    small = style_mixing_grid(G, rows, cols, [0, 1])
    large = style_mixing_grid(G, rows, cols, [0, 1], enlarge=lambda x: cascade.enlarge(x, 64))
    assert small.cells.shape == (2, 3, 16, 16, 3) and large.cells.shape == (2, 3, 64, 64, 3)
    mixed = mix_ws(ws_for_sources(G, rows), ws_for_sources(G, cols), [0, 1]).reshape(-1, G.num_ws, G.w_dim)
    exact = to_uint8(upscale(cascade.upscaler, synthesize(G, mixed).clamp(-1, 1))).reshape(2, 3, 64, 64, 3)
    assert np.array_equal(large.cells, exact)
    assert np.array_equal(large.rows, to_uint8(cascade.draw([0, 1], size=64)))


def test_mix_cli_draws_the_largest_size_by_default(cli, gan_with_upscaler: Path, tmp_path: Path) -> None:
    args = [
        "mix",
        "--checkpoint",
        str(gan_with_upscaler),
        "--rows",
        "0,1",
        "--cols",
        "2,3",
        "--device",
        "cpu",
    ]
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    result = cli.invoke(app, [*args, "--size", "16", "-o", str(small)])
    assert result.exit_code == 0, result.output
    result = cli.invoke(app, [*args, "-o", str(large)])
    assert result.exit_code == 0, result.output
    assert "64 px masks" in result.stdout
    assert Image.open(small).size == (3 * 16, 3 * 16) and Image.open(large).size == (3 * 64, 3 * 64)
    # The large grid is the GAN's grid through the checkpoint's upscaler.
    cascade = load_cascade(gan_with_upscaler, CPU)
    rows, cols = parse_latent_sources("0,1"), parse_latent_sources("2,3")
    expected = style_mixing_grid(
        cascade.generator, rows, cols, [0, 1, 2, 3], enlarge=lambda x: cascade.enlarge(x, 64)
    )
    assert np.array_equal(np.asarray(Image.open(large)), expected.image())


# -- video -------------------------------------------------------------------------------------------------


def test_video_frames_at_print_size(cli, gan_with_upscaler: Path, tmp_path: Path) -> None:
    cascade = load_cascade(gan_with_upscaler, CPU)
    frames = latent_walk(
        cascade.generator,
        [0, 1],
        frames=3,
        grid=(1, 1),
        enlarge=lambda x: cascade.enlarge(x, 64),
        batch_size=2,
    )
    assert frames.shape == (4, 64, 64, 3)
    keys = to_uint8(cascade.draw([0, 1], size=64))
    assert _levels(frames[0], keys[0]) <= 1 and _levels(frames[3], keys[1]) <= 1
    out = tmp_path / "walk.gif"
    args = [
        "video",
        "--checkpoint",
        str(gan_with_upscaler),
        "--seeds",
        "0-3",
        "--frames",
        "2",
        "--grid",
        "2x1",
    ]
    result = cli.invoke(app, [*args, "-o", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (128, 64) and "128x64 px" in result.stdout
    result = cli.invoke(app, [*args, "-o", str(out), "--size", "16"])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (32, 16)


# -- project -----------------------------------------------------------------------------------------------


def test_project_searches_at_the_gans_size_and_draws_at_print_size(
    cli, gan_with_upscaler: Path, tmp_path: Path
) -> None:
    cascade = load_cascade(gan_with_upscaler, CPU)
    target = tmp_path / "mask256.png"
    save_png(to_uint8(cascade.draw([5], size=64))[0], target)  # a print-size target
    settings = ProjectionSettings(steps=3, distance="masknet", w_avg_samples=200)
    result = project(
        cascade.generator, load_target(target, 16), settings, enlarge=lambda x: cascade.enlarge(x, 64)
    )
    assert (
        result.image.shape == (16, 16, 3) and result.large is not None and result.large.shape == (64, 64, 3)
    )
    # The print-size projection is the searched one (its w and noise maps) through the upscaler.
    G = cascade.generator
    with torch.no_grad(), swapped_noise(G, result.noise):
        final = G.synthesis(result.ws(G.num_ws)[None], noise_mode="const")
    assert np.array_equal(to_uint8(final)[0], result.image)
    assert _levels(result.large, to_uint8(upscale(cascade.upscaler, final.clamp(-1, 1)))[0]) <= 1

    out = tmp_path / "proj"
    args = ["project", "--checkpoint", str(gan_with_upscaler), "--target", str(target), "--steps", "3"]
    args += ["--distance", "masknet", "--quiet", "--device", "cpu"]
    done = cli.invoke(app, [*args, "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert Image.open(out / "proj.png").size == (64, 64)
    assert Image.open(out / "target_vs_proj.png").size == (128, 64)
    side = np.asarray(Image.open(out / "target_vs_proj.png"))
    assert np.array_equal(side[:, :64], np.asarray(Image.open(target)))  # the target at print size
    done = cli.invoke(app, [*args, "--out", str(tmp_path / "small"), "--size", "16"])
    assert done.exit_code == 0, done.output
    assert Image.open(tmp_path / "small" / "proj.png").size == (16, 16)


# -- bad sizes and upscalers: one line, nothing written ------------------------------------------------------


def _command(name: str, checkpoint: Path, tmp_path: Path) -> tuple[list[str], Path]:
    if name == "mix":
        out = tmp_path / "mix.png"
        return ["mix", "--checkpoint", str(checkpoint), "--rows", "0", "--cols", "1", "-o", str(out)], out
    if name == "video":
        out = tmp_path / "walk.gif"
        return [
            "video",
            "--checkpoint",
            str(checkpoint),
            "--seeds",
            "0,1",
            "--frames",
            "1",
            "-o",
            str(out),
        ], out
    target = tmp_path / "target.png"
    Image.fromarray(render_masks(1, 64, seed=3)[0][0]).save(target)
    out = tmp_path / "proj"
    args = ["project", "--checkpoint", str(checkpoint), "--target", str(target), "--steps", "1", "--quiet"]
    return [*args, "--distance", "masknet", "--out", str(out)], out


@pytest.mark.parametrize("name", ["mix", "video", "project"])
def test_bad_sizes_and_upscalers_are_one_line(
    cli, name: str, gan_with_upscaler: Path, spoiled: dict[str, Path], tmp_path: Path
) -> None:
    args, out = _command(name, gan_with_upscaler, tmp_path)
    assert_one_line_error(
        cli.invoke(app, [*args, "--size", "32"]), "cannot draw 32 px masks", "16 px or 64 px"
    )
    args, out = _command(name, spoiled["bare"], tmp_path)
    assert_one_line_error(cli.invoke(app, [*args, "--size", "64"]), "has no upscaler for 64 px")
    args, out = _command(name, spoiled["broken"], tmp_path)
    assert_one_line_error(cli.invoke(app, args), "unreadable checkpoint file")
    assert_one_line_error(cli.invoke(app, [*args, "--upscaler", str(tmp_path / "nowhere")]), "not found")
    assert_one_line_error(cli.invoke(app, [*args, "--size", "0"]), "--size", exit_code=2)
    assert not out.exists()


# -- translate apply ---------------------------------------------------------------------------------------


def _translate_inputs(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    images, _ = render_masks(2, 64, seed=5)
    Image.fromarray(images[0]).convert("L").save(folder / "sketch.png")
    Image.fromarray(images[1]).save(folder / "ref.png")
    return folder / "sketch.png", folder / "ref.png"


def test_translate_apply_at_print_size(
    cli, translator_run: Path, upscaler_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    sketch, ref = _translate_inputs(tmp_path / "in")
    args = ["translate", "apply", "--checkpoint", str(translator_run), "--sketch", str(sketch)]
    args += ["--reference", str(ref), "--device", "cpu"]
    small, large = tmp_path / "small.png", tmp_path / "large.png"
    result = cli.invoke(app, [*args, "--out", str(small)])  # the translator's size unless asked
    assert result.exit_code == 0, result.output
    assert Image.open(small).size == (16, 16)
    result = cli.invoke(app, [*args, "--out", str(large), "--size", "64", "--upscaler", str(upscaler_run)])
    assert result.exit_code == 0, result.output
    assert Image.open(large).size == (64, 64) and "64 px" in result.stdout
    network, _ = load_upscaler(upscaler_run, CPU)
    assert _levels(_enlarged(network, np.asarray(Image.open(small))), np.asarray(Image.open(large))) <= 2
    # --upscaler alone: its output size; --show-warp: the warp at that size too.
    alone = tmp_path / "alone.png"
    result = cli.invoke(app, [*args, "--out", str(alone), "--upscaler", str(upscaler_run), "--show-warp"])
    assert result.exit_code == 0, result.output
    assert np.array_equal(np.asarray(Image.open(alone)), np.asarray(Image.open(large)))
    assert Image.open(tmp_path / "alone_warp.png").size == (64, 64)
    # Without --upscaler, a larger --size takes the shipped base upscaler for the translator's size.
    monkeypatch.setattr("maskgen.artifacts.upscaler.base_upscalers", lambda: [upscaler_run])
    shipped = tmp_path / "shipped.png"
    result = cli.invoke(app, [*args, "--out", str(shipped), "--size", "64"])
    assert result.exit_code == 0, result.output
    assert np.array_equal(np.asarray(Image.open(shipped)), np.asarray(Image.open(large)))


def test_translate_apply_bad_sizes_and_upscalers_are_one_line(
    cli,
    translator_run: Path,
    upscaler_run: Path,
    spoiled: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    monkeypatch.setattr("maskgen.artifacts.upscaler.base_upscalers", lambda: [])
    sketch, ref = _translate_inputs(tmp_path / "in")
    out = tmp_path / "o.png"
    args = ["translate", "apply", "--checkpoint", str(translator_run), "--sketch", str(sketch)]
    args += ["--reference", str(ref), "--out", str(out)]
    line = assert_one_line_error(cli.invoke(app, [*args, "--size", "64"]), "cannot colour at 64 px", "16 px")
    assert "--upscaler" in line
    with_upscaler = [*args, "--upscaler", str(upscaler_run)]
    assert_one_line_error(
        cli.invoke(app, [*with_upscaler, "--size", "32"]), "cannot colour at 32 px", "64 px"
    )
    broken = [*args, "--upscaler", str(spoiled["broken"] / "upscaler")]
    assert_one_line_error(cli.invoke(app, broken), "unreadable checkpoint file")
    gan = [*args, "--upscaler", str(spoiled["bare"]), "--size", "64"]
    assert_one_line_error(cli.invoke(app, gan), "not an upscaler")
    assert_one_line_error(cli.invoke(app, [*args, "--size", "8"]), "cannot colour at 8 px", "16 px")
    assert_one_line_error(cli.invoke(app, [*args, "--size", "-3"]), "--size", exit_code=2)
    assert not out.exists()
