"""XDoG line drawings: white paper, closed outlines where the edges are, deterministic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

import maskgen.cli.translate_cmd  # noqa: F401  (registers `dataset sketch` and `translate`)
from maskgen.cli.main import app
from maskgen.data.procedural import render_masks
from maskgen.data.sketch import XDoGParams, xdog, xdog_numpy


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: thread start-up costs more than it saves, and badly so on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _disc(size: int = 64, radius: float = 18, colour=(200, 30, 40)) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    inside = (yy - size / 2 + 0.5) ** 2 + (xx - size / 2 + 0.5) ** 2 < radius**2
    img = np.full((size, size, 3), 255, np.uint8)
    img[inside] = colour
    return img


@pytest.mark.parametrize("colour", [(255, 255, 255), (200, 30, 40), (20, 20, 20)])
def test_flat_image_has_no_lines(colour) -> None:
    img = np.full((32, 32, 3), colour, np.uint8)
    out = xdog_numpy(img)
    assert out.shape == (32, 32) and out.dtype == np.float32
    assert out.min() == 1.0  # flat regions of any brightness are paper, not ink


@pytest.mark.parametrize("size", [64, 256])
def test_disc_gives_one_closed_ring(size: int) -> None:
    out = xdog_numpy(_disc(size, radius=size * 0.3), binary=True)
    assert set(np.unique(out)) <= {0.0, 1.0}
    lines = out < 0.5
    _, ring_parts = ndimage.label(lines, structure=np.ones((3, 3)))
    _, paper_parts = ndimage.label(~lines)  # 4-connected: a closed 8-connected ring separates in from out
    assert ring_parts == 1
    assert paper_parts == 2
    # The ring lies on the disc's edge.
    ys, xs = np.nonzero(lines)
    r = np.hypot(ys - size / 2 + 0.5, xs - size / 2 + 0.5)
    assert np.all(np.abs(r - size * 0.3) < max(2.5, size * 0.02))


def test_output_range_and_soft_lines() -> None:
    out = xdog(torch.from_numpy(_disc()).permute(2, 0, 1)[None])
    assert out.shape == (1, 1, 64, 64)
    assert out.min() >= 0 and out.max() <= 1 and out.min() < 0.2


def test_procedural_masks_give_white_paper_with_lines_on_the_edges() -> None:
    images, _ = render_masks(8, 64, seed=3)
    out = xdog_numpy(images)
    assert out.shape == (8, 64, 64)
    lines = out < 0.5
    assert 0.6 < (out > 0.95).mean() < 0.97  # mostly paper
    assert lines.mean() > 0.03  # but real line work
    # Lines are where the colours change: within 2 px of a colour edge of the mask.
    rgb = images.astype(np.float32)
    grad = sum(
        np.abs(np.diff(rgb[..., c], axis=a, prepend=rgb[..., c].take([0], axis=a)))
        for c in range(3)
        for a in (1, 2)
    )
    edges = ndimage.binary_dilation(grad > 60, structure=np.ones((1, 5, 5)))
    assert (lines & edges).sum() / lines.sum() > 0.95
    # ... and most strong edges got a line nearby.
    near_line = ndimage.binary_dilation(lines, structure=np.ones((1, 5, 5)))
    assert (near_line & (grad > 150)).sum() / (grad > 150).sum() > 0.9


def test_deterministic_and_batch_independent() -> None:
    images, _ = render_masks(4, 32, seed=1)
    batch = xdog_numpy(images)
    again = xdog_numpy(images)
    assert np.array_equal(batch, again)
    single = xdog_numpy(images[2])
    np.testing.assert_allclose(single, batch[2], atol=1e-6)
    floats = xdog(torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255)
    np.testing.assert_allclose(floats[:, 0].numpy(), batch, atol=1e-5)


def test_parameters_change_the_result() -> None:
    img = render_masks(1, 64, seed=2)[0][0]
    default = xdog_numpy(img)
    assert not np.array_equal(default, xdog_numpy(img, XDoGParams(sigma=3.0)))
    assert not np.array_equal(default, xdog_numpy(img, XDoGParams(channels="luma")))
    assert XDoGParams().sigma_for(256) == 1.0 and XDoGParams().sigma_for(64) == 0.5


def test_dataset_sketch_cli(cli, tmp_path: Path) -> None:
    src = tmp_path / "masks"
    (src / "sub").mkdir(parents=True)
    images, _ = render_masks(2, 48, seed=0)
    Image.fromarray(images[0]).save(src / "a.png")
    Image.fromarray(images[1]).convert("RGBA").save(src / "sub" / "b.png")
    out = tmp_path / "sketches"
    result = cli.invoke(
        app, ["dataset", "sketch", str(src), "--out", str(out), "--size", "32", "--phi", "80"]
    )
    assert result.exit_code == 0, result.output
    a = np.asarray(Image.open(out / "a.png"))
    assert a.shape == (32, 32) and a.dtype == np.uint8 and a.max() == 255 and a.min() < 100
    assert (out / "sub" / "b.png").is_file()
    bad = cli.invoke(app, ["dataset", "sketch", str(tmp_path / "nope"), "--out", str(out)])
    assert bad.exit_code == 1 and bad.stderr.startswith("error: ")
