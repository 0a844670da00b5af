"""Tests of the SPADE plugin: network shapes, the style code's KL term."""

from __future__ import annotations

import pytest
import torch

from maskgen.testing import TINY_TRANSLATOR_OPTIONS
from maskgen_spade import SpadeOptions, SpadeTranslator
from maskgen_spade.losses import kl_divergence

TINY_SPADE = TINY_TRANSLATOR_OPTIONS["spade"]

pytestmark = pytest.mark.usefixtures("one_thread")  # maskgen.testing: the tensors here are tiny


@pytest.mark.parametrize("size", [16, 32])
def test_translator_shapes(size: int) -> None:
    sketch, reference = torch.rand(2, 1, size, size), torch.rand(2, 3, size, size) * 2 - 1
    spade = SpadeTranslator(SpadeOptions(**TINY_SPADE), size).eval()
    image, warp = spade.translate_with_warp(sketch, reference)
    assert image.shape == (2, 3, size, size) and warp is None
    mu, logvar = spade.encoder(reference)
    assert mu.shape == logvar.shape == (2, 8)


def test_kl_divergence_vanishes_only_at_the_standard_normal() -> None:
    zeros = torch.zeros(4, 8)
    assert float(kl_divergence(zeros, zeros)) == 0.0
    # One unit of mean in every dimension: 0.5 * 8 per sample.
    assert float(kl_divergence(torch.ones(4, 8), zeros)) == pytest.approx(4.0)
