"""The layout numbers of benchmarks/sample_means.py, against hand-computed cases."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import laplace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from sample_means import mean_distance, mean_sharpness  # noqa: E402


def _stripes(shift: int) -> np.ndarray:
    image = np.zeros((16, 16, 3), np.uint8)
    image[:, (np.arange(16) + shift) % 4 == 0] = 255
    return image


def test_one_layout_is_sharper_than_many() -> None:
    one = np.stack([_stripes(0)] * 4)
    many = np.stack([_stripes(s) for s in range(4)])  # the four shifts average to a flat grey
    assert mean_sharpness(many) == pytest.approx(0.0, abs=1e-9)
    assert mean_sharpness(one) > 50


def test_sharpness_matches_scipy_laplacian() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 12, 12, 3)).astype(np.uint8)
    grey_mean = images.astype(np.float64).mean(axis=(0, -1))
    assert mean_sharpness(images) == pytest.approx(np.abs(laplace(grey_mean, mode="nearest")).mean())


def test_distance_of_the_means() -> None:
    black, white = np.zeros((2, 8, 8, 3), np.uint8), np.full((2, 8, 8, 3), 255, np.uint8)
    assert mean_distance(black, black) == 0
    assert mean_distance(black, white) == pytest.approx(255.0)
    assert mean_distance(np.concatenate([black, white]), white) == pytest.approx(127.5)
