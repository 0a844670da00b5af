"""Exploring a generator: projection, style mixing, latent walks, truncation sweeps and the copy audit.

Known answers on a 16 px checkpoint trained for two iterations in the fixture: projecting a G output
recovers its own w; the mixing grid obeys its invariants; a walk's keyframes are the seeds' images;
an exact copy planted in the training folder is flagged and nothing else is.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from maskgen.apps import video as video_app
from maskgen.apps.latents import (
    load_projected,
    noise_buffers,
    parse_latent_sources,
    synthesize,
    ws_for_sources,
)
from maskgen.apps.mixing import layer_resolutions, mix_ws, parse_styles, style_mixing_grid
from maskgen.apps.projection import ProjectionSettings, load_target, project, write_projection
from maskgen.apps.truncation import truncation_sweep
from maskgen.apps.video import latent_walk, walk_ws
from maskgen.artifacts.generator import generate_images, load_generator
from maskgen.cli.main import app
from maskgen.config import validate_config
from maskgen.data.datasets import load_training_images
from maskgen.errors import MaskgenError
from maskgen.images import save_png, to_uint8
from maskgen.testing import assert_one_line_error, tiny_config_values
from maskgen.training.loop import train

CPU = torch.device("cpu")
pytestmark = pytest.mark.usefixtures("one_thread")  # tiny convolutions: far faster on one thread


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16 px run of two iterations (about 2 s on one thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # on a busy 2-core machine tiny convolutions are far faster on one thread
    try:
        torch.manual_seed(0)
        values = tiny_config_values(kimg=0.008, snapshot_kimg=0.008)
        run = train(validate_config(values), out_root=tmp_path_factory.mktemp("runs"))
    finally:
        torch.set_num_threads(threads)
    return run / "checkpoints" / "latest"


@pytest.fixture
def G(checkpoint: Path, one_thread: None) -> torch.nn.Module:
    return load_generator(checkpoint, CPU)[0]


def target_tensor(path: Path) -> torch.Tensor:
    return load_target(path, 16)


def close_u8(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to one grey level (batch composition may change the last float bit)."""
    return bool(np.abs(a.astype(np.int16) - b.astype(np.int16)).max() <= 1)


# -- projection ----------------------------------------------------------------------------------------


def test_projection_recovers_the_w_of_a_generated_mask(G: torch.nn.Module) -> None:
    ws = ws_for_sources(G, list(range(100, 116)))
    w_true = ws[0, 0]
    target = synthesize(G, ws[:1])
    before = {k: v.clone() for k, v in noise_buffers(G).items()}
    settings = ProjectionSettings(steps=200, distance="masknet", w_avg_samples=2000)
    result = project(G, target, settings)
    pairwise = torch.cdist(ws[:, 0], ws[:, 0])
    typical = float(pairwise[pairwise > 0].median())
    assert result.distance_name == "LPIPS[masknet]"
    assert result.final["psnr"] > 40, result.final
    assert float((result.w[0] - w_true).norm()) < 0.05 * typical
    assert result.w.shape == (1, G.w_dim)
    assert result.history[0]["distance"] > 10 * result.history[-1]["distance"]
    # The optimised noise ended renormalised, and G got its own noise maps back.
    for name, buf in noise_buffers(G).items():
        assert torch.equal(buf, before[name])
        assert abs(float(result.noise[name].mean())) < 1e-4
        assert float(result.noise[name].std(unbiased=False)) == pytest.approx(1.0, abs=1e-3)
    wplus = project(G, target, ProjectionSettings(steps=3, wplus=True, w_avg_samples=200, distance="masknet"))
    assert wplus.w.shape == (G.num_ws, G.w_dim)


def test_project_command_writes_its_files_and_they_feed_mix(
    cli, checkpoint: Path, G: torch.nn.Module, tmp_path: Path
) -> None:
    target = tmp_path / "mask.png"
    save_png(to_uint8(generate_images(G, [5]))[0], target)
    out = tmp_path / "proj"
    args = ["project", "--checkpoint", str(checkpoint), "--target", str(target), "--out", str(out)]
    result = cli.invoke(
        app,
        [*args, "--steps", "12", "--distance", "masknet", "--noise", "random", "--quiet", "--device", "cpu"],
    )
    assert result.exit_code == 0, result.output
    assert "distance: LPIPS[masknet]" in result.stdout and "psnr" in result.stdout
    w, noise, meta = load_projected(out / "projected_w.npz")
    assert w.shape == (1, G.w_dim) and set(noise) == set(noise_buffers(G))
    assert meta["distance_name"] == "LPIPS[masknet]" and meta["settings"]["steps"] == 12
    with (out / "loss.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12 and {"distance", "mse", "noise_reg", "lr"} <= set(rows[0])
    assert Image.open(out / "target_vs_proj.png").size == (32, 16)
    assert Image.open(out / "proj.png").size == (16, 16)
    assert not list(out.glob(".tmp-*"))
    # A projected file is a latent like a seed; projected with the checkpoint's own noise maps kept
    # ("fixed"), its w alone renders the projection, so mix shows exactly proj.png.
    fixed = project(G, target_tensor(target), ProjectionSettings(steps=5, noise="fixed", distance="masknet"))
    assert fixed.noise == {}
    write_projection(fixed, tmp_path / "fixed")
    npz = str(tmp_path / "fixed" / "projected_w.npz")
    grid = style_mixing_grid(G, parse_latent_sources(f"0,{npz}"), [1, 2], [])
    assert close_u8(grid.rows[1], fixed.image) and close_u8(grid.cells[1, 0], fixed.image)
    assert close_u8(np.asarray(Image.open(tmp_path / "fixed" / "proj.png")), fixed.image)


# -- style mixing --------------------------------------------------------------------------------------


def test_mixing_grid_invariants(G: torch.nn.Module) -> None:
    seeds = [0, 1, 2]
    plain = to_uint8(generate_images(G, seeds))
    every = style_mixing_grid(G, seeds, [3, 4, 2], list(range(G.num_ws)))
    none = style_mixing_grid(G, seeds, [3, 4, 2], [])
    coarse = style_mixing_grid(G, seeds, seeds, parse_styles("0-3", G.num_ws))
    for i in range(3):
        assert close_u8(every.rows[i], plain[i]) and close_u8(coarse.cols[i], plain[i])
        assert close_u8(coarse.cells[i, i], plain[i])  # same latent in row and column: unchanged
        for j in range(3):
            assert close_u8(every.cells[i, j], every.cols[j])  # every layer from the column
            assert close_u8(none.cells[i, j], none.rows[i])  # no layer from the column
    # Mixing does mix: an off-diagonal cell is neither of its sources.
    assert not close_u8(coarse.cells[0, 1], plain[0]) and not close_u8(coarse.cells[0, 1], plain[1])
    image = coarse.image()
    assert image.shape == (4 * 16, 4 * 16, 3) and (image[:16, :16] == 255).all()
    assert layer_resolutions(10, 64) == [4, 8, 8, 16, 16, 32, 32, 64, 64, 64]
    row = torch.zeros(2, 4, 3)
    col = torch.ones(1, 4, 3)
    assert mix_ws(row, col, [1, 3])[:, 0, :, 0].tolist() == [[0, 1, 0, 1]] * 2


def test_mix_command(cli, checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    args = ["mix", "--checkpoint", str(checkpoint), "--rows", "0-2", "--cols", "3,4", "--out", str(out)]
    result = cli.invoke(app, [*args, "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (3 * 16, 4 * 16)


# -- video and truncation sweep ------------------------------------------------------------------------


def test_walk_frames_and_keyframes(G: torch.nn.Module) -> None:
    plain = to_uint8(generate_images(G, [0, 1, 2, 3]))
    frames = latent_walk(G, [0, 1, 2], frames=4)
    assert frames.shape == (9, 16, 16, 3)
    for k, index in enumerate([0, 4, 8]):
        assert close_u8(frames[index], plain[k])
    assert not close_u8(frames[2], plain[0]) and not close_u8(frames[2], plain[1])
    assert latent_walk(G, [0, 1, 2], frames=4, loop=True).shape[0] == 12
    tiled = latent_walk(G, [0, 1, 2, 3], frames=3, grid=(2, 1))
    assert tiled.shape == (4, 16, 32, 3)
    assert close_u8(tiled[0][:, :16], plain[0]) and close_u8(tiled[0][:, 16:], plain[2])
    assert close_u8(tiled[-1][:, :16], plain[1]) and close_u8(tiled[-1][:, 16:], plain[3])
    keys = torch.randn(3, 2, 4)
    walk = walk_ws(keys, 5)
    assert torch.equal(walk[5], keys[1]) and torch.allclose(walk[2], keys[0] + 0.4 * (keys[1] - keys[0]))


def test_video_command_gif_and_mp4(cli, checkpoint: Path, tmp_path: Path) -> None:
    base = ["video", "--checkpoint", str(checkpoint), "--seeds", "0-3", "--frames", "5", "--device", "cpu"]
    gif = tmp_path / "walk.gif"
    result = cli.invoke(app, [*base, "--out", str(gif)])
    assert result.exit_code == 0, result.output
    with Image.open(gif) as im:
        assert im.n_frames == 16 and im.size == (16, 16)
    mp4 = tmp_path / "walk.mp4"
    if video_app.importlib.util.find_spec("imageio_ffmpeg") is None:
        pytest.skip("imageio-ffmpeg is not installed (the video extra)")
    result = cli.invoke(app, [*base, "--loop", "--grid", "2x1", "--frames", "6", "--out", str(mp4)])
    assert result.exit_code == 0, result.output
    import imageio.v2 as imageio

    with imageio.get_reader(mp4) as reader:
        assert reader.count_frames() == 12
        assert reader.get_data(0).shape == (16, 32, 3)
    assert not list(tmp_path.glob(".tmp-*"))


def test_missing_mp4_encoder_is_one_line(cli, checkpoint: Path, tmp_path: Path, monkeypatch) -> None:
    real = video_app.importlib.util.find_spec
    monkeypatch.setattr(
        video_app.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "imageio_ffmpeg" else real(name, *a),
    )
    args = ["video", "--checkpoint", str(checkpoint), "--seeds", "0-1", "--out", str(tmp_path / "w.mp4")]
    assert_one_line_error(cli.invoke(app, args), "imageio-ffmpeg", "maskgen[video]")


def test_truncation_sweep(cli, checkpoint: Path, G: torch.nn.Module, tmp_path: Path) -> None:
    images = to_uint8(truncation_sweep(G, [0, 1, 2], [0.0, 1.0]))
    assert close_u8(images[3], to_uint8(generate_images(G, [0]))[0])
    assert close_u8(images[0], images[1]) and close_u8(images[1], images[2])  # psi 0: w_avg for all
    out = tmp_path / "sweep.png"
    args = ["generate", "--checkpoint", str(checkpoint), "--seeds", "0-4", "--out", str(out)]
    result = cli.invoke(app, [*args, "--truncation-sweep", "0.3,0.5,0.7,1.0", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (5 * 16, 4 * 16)


# -- copy audit ----------------------------------------------------------------------------------------


def test_audit_flags_a_planted_copy_and_nothing_else(
    cli, checkpoint: Path, G: torch.nn.Module, tmp_path: Path
) -> None:
    data = tmp_path / "train"
    reals, _, _ = load_training_images("builtin", 16, seed=3, count=24)
    for i, image in enumerate(reals):
        save_png(image, data / f"real{i:02d}.png")
    save_png(to_uint8(generate_images(G, [3]))[0], data / "planted.png")
    out = tmp_path / "audit"
    args = ["audit", "--checkpoint", str(checkpoint), "--data", str(data), "--num", "8", "--out", str(out)]
    result = cli.invoke(app, [*args, "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "1 of 8 fakes flagged" in result.stdout and "seeds 3" in result.stdout
    report = json.loads((out / "audit.json").read_text())
    assert report["flagged_seeds"] == [3] and report["features"] == "masknet"
    assert report["num_train"] == 25 and "percentile" in report["rule"]
    planted = report["fakes"][3]
    assert planted["flagged"] and planted["nearest[masknet]"][0]["train"] == "planted.png"
    assert planted["nearest[masknet]"][0]["distance"] < 1e-3 < report["threshold[masknet]"]
    assert planted["nearest[pixels]"]["train"] == "planted.png"
    assert all(not fake["flagged"] for i, fake in enumerate(report["fakes"]) if i != 3)
    assert len(report["fakes"][0]["nearest[masknet]"]) == 3
    sheet = Image.open(out / "audit_contact.png")
    assert sheet.size == (5 * 16 + 2 * 4, 8 * 16 + 7) and Image.open(out / "audit_hist.png").size[0] > 400


# -- bad input: one line -------------------------------------------------------------------------------


def test_bad_inputs_are_one_line(cli, checkpoint: Path, G: torch.nn.Module, tmp_path: Path) -> None:
    ck = ["--checkpoint", str(checkpoint), "--device", "cpu"]
    text = tmp_path / "notes.png"
    text.write_text("not an image", encoding="utf-8")
    out = str(tmp_path / "o")
    assert_one_line_error(
        cli.invoke(app, ["project", *ck, "--target", str(text), "--out", out, "--quiet"]), "cannot read image"
    )
    assert_one_line_error(
        cli.invoke(app, ["project", *ck, "--target", str(text), "--out", out, "--steps", "0"]),
        "--steps",
        exit_code=2,
    )
    mix = ["mix", *ck, "--out", str(tmp_path / "g.png")]
    assert_one_line_error(cli.invoke(app, [*mix, "--rows", "0,x", "--cols", "1"]), "bad --rows", "'x'")
    assert_one_line_error(cli.invoke(app, [*mix, "--rows", "0", "--cols", "a.npz"]), "not found")
    assert_one_line_error(
        cli.invoke(app, [*mix, "--rows", "0", "--cols", "1", "--styles", "0-99"]), "layer 99"
    )
    assert_one_line_error(
        cli.invoke(app, [*mix, "--rows", "0", "--cols", "1", "--styles", "3-1"]), "--styles"
    )
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, w=np.zeros((3, 7), dtype=np.float32))
    assert_one_line_error(cli.invoke(app, [*mix, "--rows", str(wrong), "--cols", "1"]), "another checkpoint")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"no zip")
    assert_one_line_error(cli.invoke(app, [*mix, "--rows", str(junk), "--cols", "1"]), "cannot read")
    video = ["video", *ck, "--seeds", "0-3"]
    assert_one_line_error(cli.invoke(app, [*video, "--out", str(tmp_path / "w.avi")]), ".gif or .mp4")
    gif = str(tmp_path / "w.gif")
    assert_one_line_error(cli.invoke(app, [*video, "--out", gif, "--grid", "3x1"]), "multiple of 3")
    assert_one_line_error(cli.invoke(app, [*video, "--out", gif, "--grid", "two"]), "--grid")
    assert_one_line_error(cli.invoke(app, [*video, "--out", gif, "--grid", "4x1"]), "at least 2 keyframes")
    sweep = ["generate", *ck, "--seeds", "0-1", "--out", str(tmp_path / "s.png")]
    assert_one_line_error(cli.invoke(app, [*sweep, "--truncation-sweep", "0.5,x"]), "--truncation-sweep")
    audit = ["audit", *ck, "--num", "2", "--out", out]
    assert_one_line_error(cli.invoke(app, [*audit, "--percentile", "0"]), "--percentile")
    assert_one_line_error(cli.invoke(app, [*audit, "--sheet-rows", "-1"]), "--sheet-rows", exit_code=2)
    noise = ["project", *ck, "--target", str(text), "--out", out, "--noise", "nope"]
    assert_one_line_error(cli.invoke(app, noise), "--noise", "fixed")
    assert_one_line_error(cli.invoke(app, [*audit, "--data", str(tmp_path / "none")]), "not found")
    with pytest.raises(MaskgenError, match="one 16x16 image"):
        project(G, torch.zeros(1, 3, 8, 8), ProjectionSettings(steps=1, distance="masknet"))
