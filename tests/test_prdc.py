"""Precision, recall, density and coverage (evaluation/manifold.py) against a plain brute force."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from maskgen.data.procedural import render_masks
from maskgen.errors import MaskgenError
from maskgen.evaluation.evaluate import EvalSettings, evaluate, summary_rows
from maskgen.evaluation.imagesets import ImageSet
from maskgen.evaluation.metrics import manifold
from maskgen.evaluation.metrics.manifold import density_coverage, knn_radii, prdc, precision_recall
from maskgen.evaluation.reports.report import render_markdown


def brute_force(real: np.ndarray, fake: np.ndarray, k_pr: int, k_dc: int) -> dict[str, float]:
    """The four definitions, one point at a time, with scipy's distances (open balls)."""
    d_rr, d_ff, d_rf = cdist(real, real), cdist(fake, fake), cdist(real, fake)

    def radius(d_self: np.ndarray, i: int, k: int) -> float:
        others = [d_self[i, j] for j in range(len(d_self)) if j != i]
        return sorted(others)[k - 1]

    r_pr = [radius(d_rr, i, k_pr) for i in range(len(real))]
    f_pr = [radius(d_ff, j, k_pr) for j in range(len(fake))]
    r_dc = [radius(d_rr, i, k_dc) for i in range(len(real))]
    precision = np.mean([any(d_rf[i, j] < r_pr[i] for i in range(len(real))) for j in range(len(fake))])
    recall = np.mean([any(d_rf[i, j] < f_pr[j] for j in range(len(fake))) for i in range(len(real))])
    holders = [sum(d_rf[i, j] < r_dc[i] for i in range(len(real))) for j in range(len(fake))]
    density = sum(holders) / (k_dc * len(fake))
    coverage = np.mean([min(d_rf[i, j] for j in range(len(fake))) < r_dc[i] for i in range(len(real))])
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


def test_identical_sets_are_perfect() -> None:
    points = np.random.default_rng(0).normal(size=(60, 8))
    values = prdc(points, points.copy())
    assert values["precision"] == 1.0 and values["recall"] == 1.0 and values["coverage"] == 1.0
    # Each point's ball (radius: its 5th neighbour, open) holds itself and its 4 nearest: density 1
    # (the 5th neighbour sits exactly on the radius, so rounding may let a few in).
    assert values["density"] == pytest.approx(1.0, abs=0.02)


def test_far_apart_sets_score_zero() -> None:
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(40, 6)), rng.normal(size=(50, 6)) + 100.0
    assert prdc(real, fake) == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_points_match_the_brute_force(seed: int, monkeypatch) -> None:
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(70, 5))
    fake = rng.normal(size=(55, 5)) * 1.3 + 0.4  # overlapping but shifted and wider
    monkeypatch.setattr(manifold, "BLOCK", 16)  # several distance blocks, uneven last one
    for k_pr, k_dc in ((3, 5), (1, 2), (4, 7)):
        expected = brute_force(real, fake, k_pr, k_dc)
        got = prdc(real, fake, k_pr, k_dc)
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, abs=1e-12), (key, k_pr, k_dc)
        assert 0 < got["precision"] < 1  # the wider fakes stick out of the reals: not a trivial case
    # Swapping the sets swaps precision and recall.
    swapped = precision_recall(fake, real)
    forward = precision_recall(real, fake)
    assert swapped == {"precision": forward["recall"], "recall": forward["precision"]}


def test_radii_exclude_the_point_itself_and_need_enough_points() -> None:
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    assert knn_radii(points, 1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert knn_radii(points, 3).tolist() == [7.0, 6.0, 4.0, 7.0]
    with pytest.raises(MaskgenError, match="at least 6 images"):
        density_coverage(points, points, k=5)
    with pytest.raises(MaskgenError, match="do not match"):
        prdc(points, np.zeros((4, 2)))


def test_eval_reports_the_four_numbers_on_the_feature_network() -> None:
    real_images, labels = render_masks(24, 32, seed=0)
    fake_images, _ = render_masks(24, 32, seed=1)
    real = ImageSet(real_images, "real", "builtin", labels)
    fake = ImageSet(fake_images, "fake", "folder")
    result = evaluate(real, fake, EvalSettings(metrics=["prdc"]), torch.device("cpu"))
    labels_seen = {key: entry["label"] for key, entry in result["metrics"].items()}
    assert labels_seen == {
        "precision": "precision[masknet]",
        "recall": "recall[masknet]",
        "density": "density[masknet]",
        "coverage": "coverage[masknet]",
    }
    assert result["metrics"]["precision"]["k"] == 3 and result["metrics"]["coverage"]["k"] == 5
    assert all(0 <= result["metrics"][k]["value"] <= 1 for k in ("precision", "recall", "coverage"))
    rows = summary_rows(result)
    assert [r[0] for r in rows] == list(labels_seen.values())
    # The same masks as both sets: perfect scores.
    same = evaluate(real, real, EvalSettings(metrics=["prdc"]), torch.device("cpu"))
    assert same["metrics"]["precision"]["value"] == same["metrics"]["recall"]["value"] == 1.0
    # The report shows them in their own table.
    result["model"] = {"label": "ADA", "kind": "generation"}
    text = render_markdown([result], None)
    assert "**Precision, recall, density, coverage**" in text and "precision[masknet]" in text
