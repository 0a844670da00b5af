"""StyleGAN2 options for small sets of intricate masks: exact left-right symmetry, noise inputs only up
to a resolution. Both change the network, so each is checked against what it promises."""

from __future__ import annotations

import pytest
import torch

from maskgen.networks import Generator
from maskgen.networks.stylegan2 import SynthesisLayer, mirror_left_half
from maskgen.plugins.builtin import StyleGAN2Options, build_stylegan2

SMALL = {"z_dim": 16, "w_dim": 16, "mapping_layers": 2, "channel_base": 128, "channel_max": 16}


def _set_noise(g: Generator, value: float) -> None:
    with torch.no_grad():
        for name, p in g.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(value)


def test_mirror_left_half_even_and_odd_widths() -> None:
    x = torch.arange(2 * 3 * 2 * 5, dtype=torch.float32).reshape(2, 3, 2, 5)
    y = mirror_left_half(x)
    assert torch.equal(y, y.flip(-1)) and torch.equal(y[..., :3], x[..., :3])
    x = torch.randn(1, 1, 4, 6)
    y = mirror_left_half(x)
    assert torch.equal(y[..., :3], x[..., :3]) and torch.equal(y[..., 3:], x[..., :3].flip(-1))


def test_symmetric_generator_is_exactly_symmetric_and_trains_both_halves() -> None:
    g = Generator(img_resolution=16, symmetric=True, **SMALL)
    _set_noise(g, 0.5)  # random noise is not symmetric: the mirror must still be exact
    img = g(torch.randn(3, 16), noise_mode="random")
    assert torch.equal(img, img.flip(-1))
    plain = Generator(img_resolution=16, **SMALL)
    plain.load_state_dict(g.state_dict())  # same weights, no mirror: asymmetric
    unmirrored = plain(torch.randn(3, 16))
    assert (unmirrored - unmirrored.flip(-1)).abs().max() > 1e-3
    # A loss on the right half alone reaches the weights (through the mirror).
    img = g(torch.randn(2, 16))
    img[..., 8:].square().mean().backward()
    grads = [p.grad for p in g.synthesis_network.parameters() if p.grad is not None]
    assert grads and any(grad.abs().sum() > 0 for grad in grads)


def test_noise_only_up_to_the_given_resolution() -> None:
    g = Generator(img_resolution=32, noise_max_resolution=8, **SMALL)
    layers = [m for m in g.modules() if isinstance(m, SynthesisLayer)]
    assert {m.resolution for m in layers if m.use_noise} == {4, 8}
    assert all(not hasattr(m, "noise_strength") for m in layers if m.resolution > 8)
    # A layer without noise gives the same output whatever the noise mode.
    layer = next(m for m in layers if m.resolution == 32)
    x, w = torch.randn(2, layer.in_channels, 16, 16), torch.randn(2, 16)
    assert torch.equal(layer(x, w, "random"), layer(x, w, "none"))
    # Layers that keep noise still use it.
    _set_noise(g, 0.5)
    z = torch.randn(2, 16)
    assert not torch.equal(g(z, noise_mode="random"), g(z, noise_mode="none"))


def test_options_reach_the_network_and_are_validated() -> None:
    options = StyleGAN2Options(**SMALL, noise_max_resolution=16, symmetric=True)
    G, _ = build_stylegan2(options, 32)
    assert G.synthesis_network.symmetric
    assert {m.resolution for m in G.modules() if isinstance(m, SynthesisLayer) and m.use_noise} == {4, 8, 16}
    with pytest.raises(ValueError):
        StyleGAN2Options(noise_max_resolution=2)
    with pytest.raises(ValueError):
        StyleGAN2Options(symmetric="sometimes")


def test_symmetric_auto_is_the_presets_choice_and_only_training_resolves_it() -> None:
    from maskgen.config import resolve_config
    from maskgen.errors import MaskgenError
    from maskgen.plugins.factory import build_gan

    for preset in ("cpu", "paper256"):
        assert resolve_config(preset=preset).generator_options["symmetric"] == "auto"
    assert resolve_config(generator_options={"symmetric": False}).generator_options["symmetric"] is False
    options = {**SMALL, "symmetric": "auto"}
    with pytest.raises(MaskgenError, match="decided from the training data"):
        build_gan("stylegan2", options, 16, 0)  # e.g. a hand-edited checkpoint config
