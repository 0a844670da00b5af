"""Tests of the DiffAugment plugin: each transform against a hand-written reference, gradients, options,
and a short training run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from maskgen_diffaugment.augmenter import (
    DiffAugmenter,
    DiffAugmentOptions,
    brightness,
    contrast,
    cutout,
    random_cutout,
    random_translation,
    saturation,
    translate,
)
from pydantic import ValidationError

from maskgen import AugmentContext
from maskgen.artifacts.checkpoint import load_checkpoint
from maskgen.config import validate_config
from maskgen.testing import tiny_config_values


def _context() -> AugmentContext:
    return AugmentContext(
        resolution=16, batch_size=4, total_kimg=1.0, device=torch.device("cpu"), speed_kimg=10
    )


def _images(n: int = 4, size: int = 8) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1


def _shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """out[:, y, x] = image[:, y - dy, x - dx] where it exists, else 0: by loops, as the definition says."""
    out = np.zeros_like(image)
    _, h, w = image.shape
    for y in range(h):
        for x in range(w):
            if 0 <= y - dy < h and 0 <= x - dx < w:
                out[:, y, x] = image[:, y - dy, x - dx]
    return out


def test_translate_matches_the_definition() -> None:
    x = _images()
    dy, dx = torch.tensor([0, 3, -2, 7]), torch.tensor([0, -1, 5, 0])
    out = translate(x, dy, dx, 7, 5)
    for i in range(4):
        expected = _shifted(x[i].numpy(), int(dy[i]), int(dx[i]))
        np.testing.assert_array_equal(out[i].numpy(), expected)


def test_cutout_zeroes_exactly_the_square_inside_the_image() -> None:
    x = torch.ones(3, 1, 8, 8)
    out = cutout(x, torch.tensor([2, -2, 6]), torch.tensor([1, -1, 5]), 4, 4)
    assert out[0, 0, 2:6, 1:5].abs().sum() == 0 and out[0].sum() == 64 - 16
    assert out[1, 0, 0:2, 0:3].abs().sum() == 0 and out[1].sum() == 64 - 2 * 3  # corner: 2 x 3 inside
    assert out[2, 0, 6:8, 5:8].abs().sum() == 0 and out[2].sum() == 64 - 2 * 3


def test_colour_transforms_keep_what_they_should() -> None:
    x = _images()
    factor = torch.tensor([0.0, 0.5, 1.0, 2.0])
    # Saturation keeps each pixel's grey and scales its chroma; factor 0 is the grey image.
    s = saturation(x, factor)
    torch.testing.assert_close(s.mean(1), x.mean(1))
    torch.testing.assert_close(s[0], x[0].mean(0, keepdim=True).expand(3, -1, -1))
    torch.testing.assert_close(s[3] - s[3].mean(0), 2 * (x[3] - x[3].mean(0)))
    # Contrast keeps each image's mean and scales its spread.
    c = contrast(x, factor)
    torch.testing.assert_close(c.mean((1, 2, 3)), x.mean((1, 2, 3)))
    torch.testing.assert_close(c[1].std(), 0.5 * x[1].std())
    torch.testing.assert_close(brightness(x, factor) - x, factor.view(-1, 1, 1, 1).expand_as(x))


def test_random_ranges_follow_the_options() -> None:
    torch.manual_seed(0)
    x = torch.ones(256, 1, 16, 16)
    # Translation by at most 1/8 of 16 px = 2 px: at most 2 rows and 2 columns become empty.
    moved = random_translation(x, 0.125)
    empty_rows = (moved.sum(dim=3) == 0).sum(dim=(1, 2))
    empty_cols = (moved.sum(dim=2) == 0).sum(dim=(1, 2))
    assert empty_rows.max() == 2 and empty_cols.max() == 2 and (empty_rows == 0).any()
    # Cutout of half the side: at most 8 x 8 = 64 pixels, fewer at the edges, never none.
    cut = (random_cutout(x, 0.5) == 0).sum(dim=(1, 2, 3))
    assert cut.max() == 64 and cut.min() >= 4 * 4 and (cut < 64).any()


def test_gradients_reach_every_pixel_that_is_not_cut() -> None:
    torch.manual_seed(1)
    augmenter = DiffAugmenter(DiffAugmentOptions(), _context())
    x = _images().requires_grad_(True)
    y, c = augmenter(x)
    assert c is None and y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # A policy without colour and cutout is a pure shift: every gradient is 0 or 1.
    shift = DiffAugmenter(DiffAugmentOptions(policy="translation"), _context())
    x2 = _images().requires_grad_(True)
    shift(x2)[0].sum().backward()
    assert set(x2.grad.unique().tolist()) <= {0.0, 1.0}


def test_options_are_checked() -> None:
    assert DiffAugmentOptions(policy=" cutout , color ").policy == "cutout,color"
    for bad in ("", "colour", "color,color"):
        with pytest.raises(ValidationError, match="policy"):
            DiffAugmentOptions(policy=bad)
    with pytest.raises(ValidationError):
        DiffAugmentOptions(translation=0.9)


def test_a_run_trains_and_logs_the_heuristic(tmp_path: Path) -> None:
    from maskgen.training.loop import train

    torch.manual_seed(0)
    values = tiny_config_values(augment="diffaugment", kimg=0.032, snapshot_kimg=0.032)
    run = train(validate_config(values), tmp_path)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert lines and '"augment/strength": 1.0' in lines[-1] and "augment/heuristic" in lines[-1]
    checkpoint = load_checkpoint(run)
    assert checkpoint.config["plugins"]["augment"]["diffaugment"].startswith("maskgen-augment-diffaugment")
