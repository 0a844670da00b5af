"""The translator's weightless measures (maskgen.translation.quality) on hand-computed cases and controls."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from maskgen.data.datasets import load_training_images
from maskgen.translation.quality import (
    ColourCharacter,
    known_warp_case,
    known_warp_scores,
    line_agreement,
    line_f1,
    pairwise_colour_distance,
)


def _vertical_line(column: int, rows: slice = slice(2, 14), size: int = 16) -> torch.Tensor:
    lines = torch.zeros(1, 1, size, size, dtype=torch.bool)
    lines[0, 0, rows, column] = True
    return lines


def test_line_agreement_hand_computed() -> None:
    # One pixel apart: every line pixel has a partner within the 1 px tolerance.
    assert line_agreement(_vertical_line(5), _vertical_line(6))["f1"] == pytest.approx(1.0)
    # Three pixels apart: none has.
    far = line_agreement(_vertical_line(5), _vertical_line(8))
    assert far["precision"] == 0 and far["recall"] == 0 and far["f1"] == 0
    # Half the wanted line drawn, in place: precision 1, recall 1/2 (6 of 12, but the tolerance also
    # finds the wanted pixel just past the drawn end), F1 = 2PR / (P + R).
    half = line_agreement(_vertical_line(5, slice(2, 8)), _vertical_line(5))
    assert half["precision"] == pytest.approx(1.0)
    assert half["recall"] == pytest.approx(7 / 12)
    assert half["f1"] == pytest.approx(2 * (7 / 12) / (1 + 7 / 12))
    # Tolerance 0 is exact matching.
    assert line_agreement(_vertical_line(5), _vertical_line(6), tolerance=0)["f1"] == 0


@pytest.fixture(scope="module")
def detailed() -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    images, labels, _ = load_training_images("builtin-detailed", 64, seed=5, count=48, need_labels=True)
    assert labels is not None
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1, images, labels


def test_line_f1_controls(detailed: tuple[torch.Tensor, np.ndarray, np.ndarray]) -> None:
    from maskgen.data.sketch import xdog

    tensors, images, _ = detailed
    sketches = xdog(torch.from_numpy(images).permute(0, 3, 1, 2))
    own = line_f1(tensors, sketches)["f1"]
    shifted = line_f1(torch.roll(tensors, shifts=2, dims=3), sketches)["f1"]
    other = line_f1(tensors.roll(1, dims=0), sketches)["f1"]
    blank = line_f1(torch.ones_like(tensors), sketches)
    assert own > 0.99  # the mask's own lines are its sketch
    assert shifted < own - 0.3 and other < own - 0.3
    assert blank["recall"] == 0 and blank["f1"] == 0
    # Why 64 px is scored exactly: with a 1 px tolerance the dense linework of another mask is "found".
    assert line_f1(tensors.roll(1, dims=0), sketches, tolerance=1)["f1"] > 0.8


def test_colour_character_controls(detailed: tuple[torch.Tensor, np.ndarray, np.ndarray]) -> None:
    _, images, labels = detailed
    fit_images, fit_labels, _ = load_training_images("builtin-detailed", 64, 6, 210, need_labels=True)
    assert fit_labels is not None
    character = ColourCharacter.fit(fit_images, fit_labels)
    assert (character.predict(images) == labels).mean() > 0.9
    swapped = images[..., [2, 0, 1]]  # red faces become blue-ish, green become red: other characters
    assert (character.predict(swapped) == labels).mean() < 0.6
    assert pairwise_colour_distance(images, images) == 0
    assert pairwise_colour_distance(images, swapped) > 0.2


def test_known_warp_scores_bounds(detailed: tuple[torch.Tensor, np.ndarray, np.ndarray]) -> None:
    tensors = detailed[0][:16]
    case = known_warp_case(tensors, seed=3)
    assert torch.equal(case["sketch"], known_warp_case(tensors, seed=3)["sketch"])
    assert not torch.allclose(case["reference"], tensors)  # the warp moved the pattern
    perfect = known_warp_scores(case["original"], case["reference"], case["original"])
    assert perfect["colour_error_warp"] == 0 and perfect["wins"] == 1 and perfect["error_ratio"] == 0
    assert perfect["ssim_warp"] == pytest.approx(1.0, abs=1e-5)
    nothing = known_warp_scores(case["reference"], case["reference"], case["original"])
    assert nothing["error_ratio"] == pytest.approx(1.0) and nothing["wins"] == 0
    assert nothing["ssim_identity"] < 0.9
