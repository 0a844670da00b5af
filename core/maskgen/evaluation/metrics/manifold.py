"""Precision, recall, density and coverage of generated images, from k-nearest-neighbour balls in a
feature space (masknet's or Inception's, like FID).

Each feature vector gets a ball whose radius is the distance to its k-th nearest neighbour in its own
set (itself not counted). With reals R (radii r_i) and fakes F (radii f_j), and open balls (a point at
exactly the radius is outside, as in the ``prdc`` reference code):

* precision (Kynkäänniemi et al. 2019, k=3): share of fakes inside at least one real ball;
* recall (same paper, same k): share of reals inside at least one fake ball;
* density (Naeem et al. 2020, k=5): (1 / k M) * sum over fakes of the number of real balls holding
  it; 1 on average when fakes are distributed like the reals, above 1 where they crowd dense regions;
* coverage (same paper, same k): share of reals whose ball holds at least one fake.

Identical sets give precision = recall = coverage = 1 and density = 1 (up to rounding: a fake at
exactly a ball's radius may land on either side); far-apart sets give 0. Distances are Euclidean,
from the expansion |a|^2 + |b|^2 - 2 a.b in float64 (a matrix product: fast enough for Inception's
2048 dimensions), in blocks of rows, so 5000 x 5000 features need a few hundred MB at most.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from maskgen.errors import MaskgenError
from maskgen.evaluation.context import EvalContext, EvalSettings
from maskgen.evaluation.metrics.base import Entries, FeatureOptions, Metric, preflight_network

PR_K = 3  # Kynkäänniemi et al. 2019
DC_K = 5  # Naeem et al. 2020
BLOCK = 1024  # rows of a distance block


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances [len(a), len(b)] (float64, from the expansion |a|^2 + |b|^2 - 2 a.b)."""
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(squared, 0.0))


def knn_radii(feats: np.ndarray, k: int | tuple[int, ...]) -> np.ndarray:
    """Distance of every row to its k-th nearest other row (the row itself is not a neighbour);
    for several k at once, one column per k."""
    ks = (k,) if isinstance(k, int) else tuple(k)
    if not all(1 <= kk < len(feats) for kk in ks):
        raise MaskgenError(
            f"k-NN radii with k={max(ks)} need at least {max(ks) + 1} images per set, got {len(feats)}"
        )
    radii = np.empty((len(feats), len(ks)))
    for start in range(0, len(feats), BLOCK):
        block = _distances(feats[start : start + BLOCK], feats)
        rows = np.arange(len(block))
        block[rows, start + rows] = np.inf  # itself
        nearest = np.partition(block, [kk - 1 for kk in ks], axis=1)
        radii[start : start + BLOCK] = nearest[:, [kk - 1 for kk in ks]]
    return radii[:, 0] if isinstance(k, int) else radii


def _check(real: np.ndarray, fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    real, fake = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise MaskgenError(f"feature sets do not match: {real.shape} vs {fake.shape}")
    return real, fake


def prdc(real: np.ndarray, fake: np.ndarray, k_pr: int = PR_K, k_dc: int = DC_K) -> dict[str, float]:
    """``{"precision", "recall", "density", "coverage"}`` of fake features against real ones, with
    one pass over the real-fake distances."""
    real, fake = _check(real, fake)
    real_radii = knn_radii(real, (k_pr, k_dc))
    r_pr, r_dc = real_radii[:, 0], real_radii[:, 1]
    f_pr = knn_radii(fake, k_pr)
    fake_in_real = np.zeros(len(fake), dtype=bool)  # precision: in some real's k_pr ball
    real_in_fake = np.zeros(len(real), dtype=bool)  # recall: in some fake's k_pr ball
    holders = np.zeros(len(fake))  # density: how many real k_dc balls hold each fake
    covered = np.zeros(len(real), dtype=bool)  # coverage: the real k_dc ball holds a fake
    for start in range(0, len(real), BLOCK):
        rows = slice(start, start + BLOCK)
        d = _distances(real[rows], fake)  # [reals of the block, fakes]
        fake_in_real |= (d < r_pr[rows, None]).any(0)
        real_in_fake[rows] = (d < f_pr[None, :]).any(1)
        inside = d < r_dc[rows, None]
        holders += inside.sum(0)
        covered[rows] = inside.any(1)
    return {
        "precision": float(fake_in_real.mean()),
        "recall": float(real_in_fake.mean()),
        "density": float(holders.sum() / (k_dc * len(fake))),
        "coverage": float(covered.mean()),
    }


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = PR_K) -> dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of fake features against real ones."""
    values = prdc(real, fake, k_pr=k, k_dc=k)
    return {"precision": values["precision"], "recall": values["recall"]}


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = DC_K) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020) of fake features against real ones (real balls only)."""
    values = prdc(real, fake, k_pr=k, k_dc=k)
    return {"density": values["density"], "coverage": values["coverage"]}


# --------------------------------------------------------------------------------------------------
# The evaluator
# --------------------------------------------------------------------------------------------------

PRDC_KEYS = ("precision", "recall", "density", "coverage")
_DETAIL = {
    "precision": "share of fakes inside a real's ball (1 best)",
    "recall": "share of reals inside a fake's ball (1 best)",
    "density": "real balls holding each fake, / k (1 = as the reals)",
    "coverage": "share of real balls holding a fake (1 best)",
}


class PRDCOptions(FeatureOptions):
    k_pr: int = Field(PR_K, ge=1)  # precision/recall: k-th neighbour radii (Kynkäänniemi et al. 2019)
    k_dc: int = Field(DC_K, ge=1)  # density/coverage (Naeem et al. 2020)


class PRDC(Metric):
    """Four numbers on the features FD/KD use (shared with them in a call): precision, recall, coverage
    (1 best) and density (1: as the reals), each labelled with its network, e.g. ``precision[masknet]``."""

    name, keys, table = "prdc", PRDC_KEYS, "manifold"
    higher_is_better = True
    note = (
        "Precision, recall, density, coverage: k-nearest-neighbour balls in feature space. Precision: "
        "share of fakes inside some real's ball (fidelity); recall: share of reals inside some fake's "
        "ball (diversity); k={k_pr} (Kynkäänniemi et al. 2019). Density: real balls holding a fake, per "
        "fake and k (1: as the reals; above 1: fakes crowd where the reals are dense); coverage: share of "
        "real balls holding at least one fake; k={k_dc} (Naeem et al. 2020)."
    )

    def report_note(self, entries: list[dict[str, Any]]) -> str:
        k_pr = next((e["k"] for e in entries if e["label"].startswith("precision")), PR_K)
        k_dc = next((e["k"] for e in entries if e["label"].startswith("density")), DC_K)
        return self.note.format(k_pr=k_pr, k_dc=k_dc)

    def __init__(self, options: PRDCOptions) -> None:
        super().__init__(options)
        self.feature_network = options.features

    def preflight(self, settings: EvalSettings) -> None:
        preflight_network(self.options.features, self.options.weights, settings)

    def measure(self, context: EvalContext) -> Entries:
        net, weights = self.options.features, self.options.weights
        k_pr, k_dc = self.options.k_pr, self.options.k_dc
        values = prdc(
            context.features(net, "real", weights), context.features(net, "fake", weights), k_pr, k_dc
        )
        out: Entries = {}
        for key in PRDC_KEYS:
            out[key] = {
                "label": f"{key}[{net}]",
                "value": values[key],
                "k": k_pr if key in ("precision", "recall") else k_dc,
                "feature_network": net,
                "higher_is_better": key != "density",
                "best": 1.0,
            }
        return out

    def summary(self, key: str, entry: dict[str, Any]) -> tuple[str, str]:
        return f"{entry['value']:.4f}", f"k={entry['k']} nearest neighbours; {_DETAIL[key]}"
