"""The evaluators as plugins: registered names, options, labels naming their network."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from maskgen.data.procedural import render_masks
from maskgen.evaluation import plugin
from maskgen.evaluation.imagesets import as_float
from maskgen.plugins import PluginRegistry


@pytest.fixture(scope="module")
def images() -> tuple[torch.Tensor, torch.Tensor]:
    return as_float(render_masks(12, 32, seed=0)[0]), as_float(render_masks(12, 32, seed=1)[0])


def _registry() -> PluginRegistry:
    registry = PluginRegistry(entry_points=False)
    registry.register(plugin, distribution="maskgen", version="test")
    return registry


def test_evaluators_are_registered() -> None:
    assert _registry().names("evaluator") == [
        "asymmetry", "c2st", "classify", "colour", "fid", "kid", "lpips", "msssim", "ppl", "prdc", "ssim",
    ]  # fmt: skip


def test_evaluators_compute_labelled_numbers(images) -> None:
    registry = _registry()
    real, fake = images
    expected = {
        "fid": ["FD[masknet]"],
        "kid": ["KD[masknet] x10^3"],
        "ssim": ["SSIM"],
        "msssim": ["MS-SSIM (window 7, 3 scales)"],
        "lpips": ["LPIPS[masknet] fake-real", "LPIPS[masknet] fake-fake"],
        "classify": ["Acc[masknet] fake"],
        "c2st": ["C2ST acc[cnn]"],
        "asymmetry": ["asymmetry ratio"],
        "colour": ["colour TV[7]"],
        "prdc": ["precision[masknet]", "recall[masknet]", "density[masknet]", "coverage[masknet]"],
    }
    for name, labels in expected.items():
        spec = registry.get("evaluator", name)
        evaluator = spec.factory(spec.options(device="cpu"))
        values = evaluator.compute(real, fake)
        assert sorted(values) == sorted(labels), name
        assert all(isinstance(v, float) for v in values.values())
    fid = registry.get("evaluator", "fid")
    assert fid.factory(fid.options()).feature_network == "masknet"
    assert fid.factory(fid.options(features="inception")).feature_network == "inception"
    with pytest.raises(ValidationError):
        fid.options(bogus=1)


def test_prdc_evaluator_follows_the_feature_switch_and_checks_k() -> None:
    spec = _registry().get("evaluator", "prdc")
    assert spec.factory(spec.options()).feature_network == "masknet"
    assert spec.factory(spec.options(features="inception")).feature_network == "inception"
    assert spec.factory(spec.options(k_pr=2, k_dc=4)).options.k_dc == 4
    with pytest.raises(ValidationError):
        spec.options(k_pr=0)
