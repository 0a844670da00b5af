"""The line-sharpness measures and crops of benchmarks/print_size.py (fast; no training)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "print_size.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("print_size_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def lines(width: int, side: int = 64) -> np.ndarray:
    """White image with horizontal black lines ``width`` px thick, far from the edges."""
    image = np.full((side, side, 3), 255, np.uint8)
    for top in range(8, side - 8, 16):
        image[top : top + width, 4:-4] = 0
    return image


@pytest.mark.parametrize("width", [2, 3, 5])
def test_line_width_measures_the_stroke(bench, width):
    assert bench.line_width(lines(width)) == pytest.approx(width, rel=0.15)


def test_line_width_floor_is_two_pixels(bench):
    # Every pixel of a 1 px line is a boundary pixel: 2 |D| / |D| = 2.
    assert bench.line_width(lines(1)) == pytest.approx(2.0, rel=0.15)


def test_line_width_without_dark_pixels_is_nan(bench):
    assert np.isnan(bench.line_width(np.full((16, 16, 3), 200, np.uint8)))


def test_blur_lowers_high_frequency_energy(bench):
    from PIL import Image

    sharp = lines(1, 256)[None]
    soft = np.asarray(
        Image.fromarray(sharp[0])
        .resize((64, 64), Image.Resampling.BOX)
        .resize((256, 256), Image.Resampling.BICUBIC)
    )[None]
    assert bench.high_frequency_energy(soft) < 0.5 * bench.high_frequency_energy(sharp)


def test_crops_are_in_bounds_and_shared(bench):
    positions = bench.crop_positions(50, 256, 64)
    assert positions.min() >= 0 and positions.max() <= 192
    assert np.array_equal(positions, bench.crop_positions(50, 256, 64))  # the same for real and fake
    crops = bench.random_crops(np.zeros((50, 256, 256, 3), np.uint8), 64, positions)
    assert crops.shape == (50, 64, 64, 3)
