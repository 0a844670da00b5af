"""Widening a trained network (channel_min) without changing what it draws or judges."""

from __future__ import annotations

import pytest
import torch

from maskgen.artifacts.checkpoint import load_strict
from maskgen.errors import MaskgenError
from maskgen.networks import Discriminator, Generator
from maskgen.networks.stylegan2 import channels_per_resolution
from maskgen.networks.widen import widen_state, widening

WIDTHS = {"img_resolution": 32, "channel_base": 256, "channel_max": 32}  # 4-8 px: 32, 16 px: 16, 32 px: 8


def _perturbed(module: torch.nn.Module) -> torch.nn.Module:
    """Weights away from their initial values (non-zero biases, noise strengths, skewed styles)."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return module


def test_channel_min_raises_the_narrow_top_blocks_only() -> None:
    # min(1024 // r, 128) by hand: 128, 128, 64, 32, 16; channel_min 32 lifts only the 64 px block.
    assert channels_per_resolution(64, 1024, 128) == {4: 128, 8: 128, 16: 64, 32: 32, 64: 16}
    assert channels_per_resolution(64, 1024, 128, channel_min=32) == {4: 128, 8: 128, 16: 64, 32: 32, 64: 32}
    with pytest.raises(ValueError, match="channel_min=256 is more than the 128 channels at 4x4"):
        channels_per_resolution(64, 1024, 128, channel_min=256)


@pytest.mark.parametrize("fused", [True, False])
def test_a_widened_generator_draws_what_the_narrow_one_drew(fused: bool) -> None:
    options = {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "fused_modconv": fused, **WIDTHS}
    narrow = _perturbed(Generator(**options))
    wide = Generator(**options, channel_min=32)
    state, count = widen_state(wide, narrow.state_dict())
    assert count > 0
    wide.load_state_dict(state)
    assert wide.synthesis_network.blocks[-1].conv1.weight.shape[0] == 32
    z = torch.randn(6, 16)
    for noise_mode in ("const", "none"):
        expected = narrow(z, noise_mode=noise_mode)
        assert torch.allclose(wide(z, noise_mode=noise_mode), expected, atol=1e-5)
    # Random noise is one map per layer, shared by all channels: the same draws give the same images.
    torch.manual_seed(3)
    expected = narrow(z, noise_mode="random")
    torch.manual_seed(3)
    assert torch.allclose(wide(z, noise_mode="random"), expected, atol=1e-5)


def test_a_widened_discriminator_judges_as_the_narrow_one_and_its_new_weights_learn() -> None:
    narrow = _perturbed(Discriminator(**WIDTHS))
    wide = Discriminator(**WIDTHS, channel_min=32)
    state, _ = widen_state(wide, narrow.state_dict())
    wide.load_state_dict(state)
    images = torch.randn(8, 3, 32, 32)
    assert torch.allclose(wide(images), narrow(images), atol=1e-5)
    # The old filters' weights on the new channels start at zero, yet receive gradient at once.
    conv = wide.blocks[0].conv0
    old = narrow.blocks[0].conv0.weight.shape[0]
    assert torch.count_nonzero(conv.weight[:old, old:]) == 0
    wide(images).sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad[:old, old:].abs().sum() > 0


def test_what_is_not_a_widening_still_fails_the_strict_load() -> None:
    assert widening((16, 8, 3, 3), (32, 32, 3, 3))
    assert not widening((32, 32, 3, 3), (16, 16, 3, 3))  # narrower
    assert not widening((16, 16, 3, 3), (16, 16, 1, 1))  # another kernel
    assert not widening((16, 16), (16, 16))  # the same
    # Another resolution (its blocks' tensors may look widened one by one) and a wider checkpoint
    # than the model asked for both still end in the strict load's one-line error.
    wide = Discriminator(**WIDTHS, channel_min=32)
    narrow = Discriminator(**WIDTHS)
    other_resolution = Discriminator(img_resolution=16, channel_base=256, channel_max=32)
    for model, checkpoint in ((wide, other_resolution), (narrow, wide)):
        state, _ = widen_state(model, checkpoint.state_dict())
        with pytest.raises(MaskgenError, match="does not match the D"):
            load_strict(model, state, "D")
