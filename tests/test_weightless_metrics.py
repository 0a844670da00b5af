"""Metrics without network weights (C2ST, asymmetry ratio, seven-colour distance) on controls that can
fail: two disjoint halves of the built-in masks must look alike, blurred, colour-swapped, noise and
shifted images must not. Thresholds are a little looser than the numbers measured (docs/evaluation.md).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from maskgen.data.datasets import load_training_images
from maskgen.evaluation.evaluate import EvalSettings, evaluate, summary_rows
from maskgen.evaluation.imagesets import ImageSet
from maskgen.evaluation.metrics.pixelstats import (
    asymmetry,
    asymmetry_ratio,
    colour_distance,
    colour_histogram,
)
from maskgen.evaluation.metrics.twosample import binomial_p_value, c2st, wilson_interval

PER_SIDE = 250


@pytest.fixture(scope="module")
def controls() -> dict[str, np.ndarray]:
    images, _, _ = load_training_images("builtin", 32, count=2 * PER_SIDE)
    real, other = images[:PER_SIDE], images[PER_SIDE:]
    shifted = np.roll(other, 2, axis=2)
    shifted[:, :, :2] = 255
    return {
        "real": real,
        "real (other half)": other,
        "blurred": np.stack(
            [np.array(Image.fromarray(x).filter(ImageFilter.GaussianBlur(1))) for x in other]
        ),
        "colour-swapped": other[..., [2, 0, 1]].copy(),  # RGB -> BRG: red faces turn green, ...
        "noise": np.random.default_rng(1).integers(0, 256, other.shape, dtype=np.uint8),
        "shifted": shifted,  # 2 px to the right: no longer mirror-symmetric
    }


def test_c2st_tells_real_halves_apart_no_better_than_chance(controls) -> None:
    result = c2st(controls["real"], controls["real (other half)"])
    assert 0.38 <= result["value"] <= 0.65  # measured 0.525 +- 0.035
    assert result["test_images"] == 2 * round(0.4 * PER_SIDE) and result["p_value"] > 0.01
    low, high = result["ci95"]
    assert low < 0.5 < high


@pytest.mark.parametrize("control", ["blurred", "colour-swapped", "noise"])
def test_c2st_separates_perturbed_images(controls, control: str) -> None:
    result = c2st(controls["real"], controls[control])
    assert result["value"] >= 0.9, control  # measured 1.000, 0.990, 1.000
    assert result["p_value"] < 1e-6 and result["ci95"][0] > 0.85


def test_c2st_is_deterministic_balanced_and_leaves_the_global_rng_alone(controls) -> None:
    real, fake = controls["real"][:60], controls["real (other half)"]  # 60 vs 250: subsampled to 60
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    first = c2st(real, fake, steps=40)
    assert torch.equal(torch.rand(3), before) and torch.get_num_threads() == threads
    assert c2st(real, fake, steps=40) == first
    assert first["per_side"] == 60 and first["train_images"] + first["test_images"] == 120
    assert c2st(real, fake, steps=40, seed=1) != first
    with torch.no_grad():  # a caller measuring inside no_grad (as the translation benchmark does)
        assert c2st(real, fake, steps=40) == first


def test_binomial_helpers() -> None:
    assert binomial_p_value(0, 10) == 1.0 and binomial_p_value(10, 10) == 2.0**-10
    assert binomial_p_value(5, 10) == pytest.approx(0.623046875)
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)


def test_asymmetry_ratio_controls(controls) -> None:
    real = controls["real"]
    assert asymmetry(real) == 0.0  # the built-in masks are mirror-symmetric to the pixel
    ratio = {name: asymmetry_ratio(real, images)["value"] for name, images in controls.items()}
    assert ratio["real (other half)"] == pytest.approx(1.0)
    # Symmetric changes keep it at 1; asymmetric ones push it far up (measured 86.4 and 53.2).
    assert abs(ratio["blurred"] - 1) < 0.05 and abs(ratio["colour-swapped"] - 1) < 0.05
    assert ratio["noise"] > 40 and ratio["shifted"] > 25
    flipped = asymmetry_ratio(controls["shifted"], controls["shifted"][:, :, ::-1])
    assert flipped["value"] == pytest.approx(1.0)  # a mirrored set is exactly as asymmetric


def test_colour_distance_controls(controls) -> None:
    real = controls["real"]
    tv = {name: colour_distance(real, images)["value"] for name, images in controls.items()}
    assert tv["real"] == 0.0 and tv["real (other half)"] < 0.03  # measured 0.010
    assert tv["colour-swapped"] > 0.12 and tv["noise"] > 0.18  # measured 0.184 and 0.271
    assert tv["shifted"] < 0.03  # moving pixels does not change their colours
    histogram, pixels = colour_histogram(real)
    assert histogram.shape == (7,) and histogram.sum() == pytest.approx(1.0) and pixels > 0
    assert histogram.min() > 0.05  # every primary colour is painted on the balanced built-in masks
    swapped = colour_distance(real, controls["colour-swapped"])
    assert 0 < swapped["js"] <= 1 and set(swapped["real_histogram"]) >= {"red", "white", "yellow"}


def test_evaluate_reports_labelled_weightless_metrics(controls) -> None:
    sets = [ImageSet(controls[name][:40], name, "tensor") for name in ("real", "noise")]
    settings = EvalSettings(metrics=["c2st", "asymmetry", "colour"])
    result = evaluate(sets[0], sets[1], settings, torch.device("cpu"))
    assert set(result["metrics"]) == {"c2st", "asymmetry", "colour"}
    labels = [row[0] for row in summary_rows(result)]
    assert labels == ["C2ST acc[cnn]", "asymmetry ratio", "colour TV[7]"]
    assert result["metrics"]["c2st"]["value"] > 0.9 and result["metrics"]["asymmetry"]["value"] > 40
    assert "held-out" in summary_rows(result)[0][2]
