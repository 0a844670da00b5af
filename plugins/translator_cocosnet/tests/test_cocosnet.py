"""Tests of the CoCosNet plugin: correspondence maths, the contextual loss, gradients, network shapes."""

from __future__ import annotations

import pytest
import torch

from maskgen.data.procedural import render_masks
from maskgen.data.sketch import xdog
from maskgen.testing import TINY_TRANSLATOR_OPTIONS
from maskgen.translation.deform import deform
from maskgen.translation.features import random_features
from maskgen.translation.model import TranslationContext, TripletBatch
from maskgen_cocosnet import CocosNetModel, CocosNetOptions, CocosTranslator
from maskgen_cocosnet.correspondence import attention, correlation, warp_back, warp_low, warp_patches
from maskgen_cocosnet.losses import contextual_similarity

TINY_COCOS = TINY_TRANSLATOR_OPTIONS["cocosnet"]

pytestmark = pytest.mark.usefixtures("one_thread")  # maskgen.testing: the tensors here are tiny


def _context(size: int = 16) -> TranslationContext:
    return TranslationContext(size, 4, torch.device("cpu"), random_features())


# -- correspondence -----------------------------------------------------------------------------------


def test_identical_features_warp_reproduces_the_reference() -> None:
    feats = torch.randn(2, 32, 4, 4)
    m = correlation(feats, feats)
    assert torch.allclose(torch.diagonal(m, dim1=1, dim2=2), torch.ones(2, 16), atol=1e-5)
    attn = attention(m, 0.01)
    reference = torch.rand(2, 3, 16, 16) * 2 - 1
    torch.testing.assert_close(warp_patches(reference, attn, 4), reference, atol=1e-4, rtol=0)
    # Cycle loss ~0 for an identity correspondence: there and back gives the pooled reference.
    low = torch.nn.functional.adaptive_avg_pool2d(reference, 4)
    back = warp_back(warp_low(low, attn), m, 0.01)
    assert (back - low).abs().mean() < 1e-4


def test_warp_of_a_permuted_reference_recovers_the_permutation() -> None:
    torch.manual_seed(1)
    x_w = torch.randn(1, 32, 4, 4)
    perm = torch.randperm(16)
    y_w = x_w.flatten(2)[:, :, perm].view(1, 32, 4, 4)  # reference position v holds sketch position perm[v]
    original = torch.rand(1, 3, 16, 16)
    patches = torch.nn.functional.unfold(original, 4, stride=4)[:, :, perm]
    permuted = torch.nn.functional.fold(patches, (16, 16), 4, stride=4)
    assert not torch.allclose(permuted, original)
    warped = warp_patches(permuted, attention(correlation(x_w, y_w), 0.01), 4)
    torch.testing.assert_close(warped, original, atol=1e-4, rtol=0)
    # A high temperature blurs instead: the softmax no longer picks single positions.
    blurred = warp_patches(permuted, attention(correlation(x_w, y_w), 10.0), 4)
    assert (blurred - original).abs().mean() > 0.1


def test_contextual_similarity_is_one_for_identical_features() -> None:
    x = torch.randn(2, 8, 4, 4)
    assert torch.allclose(contextual_similarity(x, x), torch.ones(2), atol=1e-3)
    assert (contextual_similarity(torch.randn(2, 8, 4, 4), x) < 0.9).all()


def test_gradients_reach_both_adaptors() -> None:
    model = CocosNetModel(CocosNetOptions(**TINY_COCOS), _context())
    images, _ = render_masks(4, 16, seed=0)
    target = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    sketch = xdog(torch.from_numpy(images).permute(0, 3, 1, 2))
    batch = TripletBatch(sketch, deform(target), target, torch.tensor([True, False, True, False]))
    losses, _ = model.generator_losses(batch)
    assert {"adv", "fm", "feat", "perc", "context", "domain", "cycle"} <= losses.keys()
    sum(losses.values()).backward()
    corr = model.translator.correspondence
    for part in (corr.adaptor_a, corr.adaptor_b, corr.shared):
        grads = [p.grad for p in part.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
        assert sum(float(g.abs().sum()) for g in grads) > 0


# -- shapes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [16, 32])
def test_translator_shapes(size: int) -> None:
    sketch, reference = torch.rand(2, 1, size, size), torch.rand(2, 3, size, size) * 2 - 1
    cocos = CocosTranslator(CocosNetOptions(**TINY_COCOS), size).eval()
    image, warp = cocos.translate_with_warp(sketch, reference)
    assert image.shape == warp.shape == (2, 3, size, size)
    assert image.abs().max() <= 1
    corr = cocos.correspondence(sketch, reference)
    side = size // 4
    assert corr.x_w.shape == corr.y_w.shape == (2, 8, side, side)
    assert corr.m.shape == corr.attn.shape == (2, side * side, side * side)
    assert torch.allclose(corr.attn.sum(-1), torch.ones(2, side * side), atol=1e-5)
