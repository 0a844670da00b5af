"""Fréchet and kernel distances between two feature sets, computed by clean-fid's own functions.

FD = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 sqrt(S1 S2)) with numpy means and (N-1)-normalized covariances,
as ``cleanfid.fid.fid_from_feats``; KD is ``cleanfid.fid.kernel_distance`` (unbiased squared MMD with
the cubic polynomial kernel, averaged over 100 random subsets of up to 1000 features), run under a
fixed numpy seed because clean-fid draws the subsets from numpy's global generator.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any

import numpy as np
from cleanfid.fid import frechet_distance, kernel_distance

from maskgen.errors import MaskgenError
from maskgen.evaluation.context import EvalContext, EvalSettings
from maskgen.evaluation.metrics.base import Entries, FeatureOptions, Metric, preflight_network


def _check(feats1: np.ndarray, feats2: np.ndarray) -> None:
    if feats1.ndim != 2 or feats2.ndim != 2 or feats1.shape[1] != feats2.shape[1]:
        raise MaskgenError(f"feature sets do not match: {feats1.shape} vs {feats2.shape}")
    if min(len(feats1), len(feats2)) < 2:
        raise MaskgenError("each image set needs at least 2 images for FID/KID")


def feature_stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance exactly as clean-fid computes them."""
    return np.mean(feats, axis=0), np.cov(feats, rowvar=False)


def frechet(feats1: np.ndarray, feats2: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets (clean-fid's formula)."""
    _check(feats1, feats2)
    mu1, sigma1 = feature_stats(feats1)
    mu2, sigma2 = feature_stats(feats2)
    # clean-fid prints a note when it regularizes a singular product; the result is what matters here.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's "matrix is singular" warning, handled by clean-fid
        try:
            value = frechet_distance(mu1, sigma1, mu2, sigma2)
        except ValueError as exc:  # "Imaginary component": the covariances are too degenerate
            raise MaskgenError(f"Fréchet distance failed ({exc}); use more images") from None
    return float(value)


def kernel(feats1: np.ndarray, feats2: np.ndarray, seed: int = 0, num_subsets: int = 100) -> float:
    """Kernel distance (KID, not scaled) with a fixed subset draw; the global numpy state is restored."""
    _check(feats1, feats2)
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        return float(kernel_distance(feats1, feats2, num_subsets=num_subsets))
    finally:
        np.random.set_state(state)


# --------------------------------------------------------------------------------------------------
# The evaluators: FID/KID on Inception (the paper's), FD/KD on masknet
# --------------------------------------------------------------------------------------------------

KID_SCALE = 1e3


class _FeatureDistance(Metric):
    table = "quality"

    def __init__(self, options: FeatureOptions) -> None:
        super().__init__(options)
        self.feature_network = options.features

    def preflight(self, settings: EvalSettings) -> None:
        preflight_network(self.options.features, self.options.weights, settings)

    def _features(self, context: EvalContext) -> tuple[np.ndarray, np.ndarray]:
        net, weights = self.options.features, self.options.weights
        return context.features(net, "real", weights), context.features(net, "fake", weights)

    def _common(self) -> dict[str, Any]:
        return {"feature_network": self.options.features, "higher_is_better": False}


class FrechetDistance(_FeatureDistance):
    """FID[inception] (the paper's) or FD[masknet]: Fréchet distance of the features (lower is better)."""

    name, keys, paper_column = "fid", ("fid",), (1, "FID")

    def measure(self, context: EvalContext) -> Entries:
        real, fake = self._features(context)
        prefix = "FID" if self.options.features == "inception" else "FD"
        label = f"{prefix}[{self.options.features}]"
        return {"fid": {"label": label, "value": frechet(real, fake)} | self._common()}

    def summary(self, key: str, entry: dict[str, Any]) -> tuple[str, str]:
        return f"{entry['value']:.3f}", ""


class KernelDistance(_FeatureDistance):
    """KID[inception] or KD[masknet], x10^3: the unbiased squared MMD of the features (lower is better)."""

    name, keys, paper_column, shown_scale = "kid", ("kid",), (2, "KID (×10³)"), KID_SCALE

    def measure(self, context: EvalContext) -> Entries:
        real, fake = self._features(context)
        raw = kernel(real, fake, seed=self.options.seed)
        prefix = "KID" if self.options.features == "inception" else "KD"
        entry = {
            "label": f"{prefix}[{self.options.features}] x10^3",
            "value": raw * KID_SCALE,
            "raw": raw,
            "subsets": 100,
            "subset_size": min(len(real), len(fake), 1000),
        }
        return {"kid": entry | self._common()}

    def summary(self, key: str, entry: dict[str, Any]) -> tuple[str, str]:
        return f"{entry['value']:.3f}", f"{entry['subsets']} subsets of {entry['subset_size']}"
