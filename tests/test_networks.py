"""Tests of the StyleGAN2 networks (small nets, CPU, fixed seeds)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from maskgen.networks import Discriminator, Generator, layers
from maskgen.networks.layers import (
    Conv2dLayer,
    FullyConnectedLayer,
    MinibatchStdLayer,
    bias_act,
    downsample2d,
    fir_filter2d,
    make_fir_filter,
    reduced_precision_dtype,
    upsample2d,
)
from maskgen.networks.stylegan2 import mixed_precision_resolutions, modulate_weights, modulated_conv2d

SMALL = {"channel_base": 512, "channel_max": 64}
Z = 32


def small_g(res: int = 16, **kw) -> Generator:
    torch.manual_seed(0)
    return Generator(z_dim=Z, w_dim=Z, img_resolution=res, mapping_layers=2, **SMALL, **kw)


def small_d(res: int = 16, **kw) -> Discriminator:
    torch.manual_seed(1)
    return Discriminator(img_resolution=res, **SMALL, **kw)


def set_noise_strength(g: Generator, value: float) -> None:
    # Noise strengths start at 0 (as in the paper); make noise visible for the tests.
    with torch.no_grad():
        for name, p in g.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(value)


# --------------------------------------------------------------------------------------------------
# Shapes and validation
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("res", [8, 16, 32])
def test_generator_shapes_and_num_ws(res: int) -> None:
    g = small_g(res)
    assert g.num_ws == 2 * int(math.log2(res)) - 2
    z = torch.randn(3, Z)
    ws = g.mapping(z)
    assert ws.shape == (3, g.num_ws, Z)
    img = g.synthesis(ws)
    assert img.shape == (3, 3, res, res)
    assert torch.isfinite(img).all()
    assert g(z).shape == (3, 3, res, res)
    assert g.w_avg.shape == (Z,)
    assert "w_avg" in dict(g.named_buffers())


def test_generator_conditional_and_grayscale() -> None:
    g = small_g(8, c_dim=5, img_channels=1)
    c = F.one_hot(torch.tensor([0, 3]), 5).float()
    assert g(torch.randn(2, Z), c).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError):
        g(torch.randn(2, Z))  # c is required


def test_unconditional_nets_reject_labels_but_accept_empty_c() -> None:
    g, d = small_g(8), small_d(8)
    z = torch.randn(2, Z)
    assert g(z, torch.zeros(2, 0)).shape == (2, 3, 8, 8)
    assert d(torch.randn(2, 3, 8, 8), torch.zeros(2, 0)).shape == (2, 1)
    with pytest.raises(ValueError):
        g(z, torch.ones(2, 3))
    with pytest.raises(ValueError):
        d(torch.randn(2, 3, 8, 8), torch.ones(2, 3))


@pytest.mark.parametrize("res", [16, 32])
@pytest.mark.parametrize("c_dim", [0, 4])
def test_discriminator_shapes(res: int, c_dim: int) -> None:
    d = small_d(res, c_dim=c_dim)
    c = torch.randn(5, c_dim) if c_dim else None
    out = d(torch.randn(5, 3, res, res), c)
    assert out.shape == (5, 1)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("bad", [0, 2, 3, 12, 48, 100])
def test_bad_resolution_raises_value_error(bad: int) -> None:
    with pytest.raises(ValueError):
        Generator(z_dim=8, w_dim=8, img_resolution=bad, **SMALL)
    with pytest.raises(ValueError):
        Discriminator(img_resolution=bad, **SMALL)


def test_channels_per_resolution() -> None:
    g = Generator(z_dim=8, w_dim=8, img_resolution=32, mapping_layers=1, channel_base=512, channel_max=64)
    # min(512 // r, 64): 4 -> 64, 8 -> 64, 16 -> 32, 32 -> 16
    outs = [b.conv1.out_channels for b in g.synthesis_network.blocks]
    assert outs == [64, 64, 32, 16]


# --------------------------------------------------------------------------------------------------
# Equalized learning rate
# --------------------------------------------------------------------------------------------------


def test_fully_connected_equalized_lr() -> None:
    torch.manual_seed(0)
    layer = FullyConnectedLayer(64, 16, lr_multiplier=0.01, bias_init=0.5)
    expected = layer.weight.detach() * 0.01 / 8.0  # lr_mult / sqrt(fan_in=64)
    torch.testing.assert_close(layer.runtime_weight().detach(), expected)
    # Stored weights carry the 1/lr_multiplier scale, runtime bias starts at bias_init.
    assert 80 < layer.weight.std().item() < 120
    torch.testing.assert_close(layer.runtime_bias().detach(), torch.full([16], 0.5))
    x = torch.randn(4, 64)
    torch.testing.assert_close(layer(x), x @ expected.t() + 0.5)


def test_equalized_lr_preserves_unit_variance() -> None:
    torch.manual_seed(0)
    fc = FullyConnectedLayer(512, 512)
    y = fc(torch.randn(2048, 512))
    assert 0.95 < y.std().item() < 1.05
    conv = Conv2dLayer(64, 64, 3)
    torch.testing.assert_close(conv.runtime_weight(), conv.weight / math.sqrt(64 * 9))
    y = conv(torch.randn(8, 64, 16, 16))[:, :, 1:-1, 1:-1]  # interior: no zero padding in the window
    assert 0.95 < y.std().item() < 1.05


def test_bias_act_gain_and_clamp() -> None:
    x = torch.tensor([[-1.0, 2.0]])
    torch.testing.assert_close(bias_act(x, activation="lrelu"), torch.tensor([[-0.2, 2.0]]) * math.sqrt(2))
    torch.testing.assert_close(
        bias_act(x * 10, torch.tensor([0.0, 1.0]), clamp=3.0), torch.tensor([[-3.0, 3.0]])
    )
    assert bias_act(x * 10, clamp=None).abs().max() == 20


def _composite_bias_act(
    x: torch.Tensor, bias: torch.Tensor, activation: str, gain: float, clamp: float | None
) -> torch.Tensor:
    # The plain autograd composite that bias_act's hand-written gradient must reproduce.
    x = x + bias.reshape(1, -1, 1, 1)
    if activation == "lrelu":
        x, gain = F.leaky_relu(x, 0.2), gain * math.sqrt(2)
    x = x * gain
    return x if clamp is None else x.clamp(-clamp, clamp)


@pytest.mark.parametrize(
    ("activation", "gain", "clamp"),
    [("lrelu", 1.0, None), ("lrelu", math.sqrt(0.5), 1.5), ("linear", 2.0, 1.0), ("linear", 1.0, 0.8)],
)
def test_bias_act_gradients_match_autograd_to_second_order(
    activation: str, gain: float, clamp: float | None
) -> None:
    torch.manual_seed(0)
    x = (torch.randn(2, 3, 4, 5, dtype=torch.float64) * 2).requires_grad_(True)
    bias = torch.randn(3, dtype=torch.float64, requires_grad=True)
    out = bias_act(x, bias, activation, gain, clamp)
    if clamp is not None:
        assert (out.detach().abs() == clamp).any()  # the clamp's zero gradient is exercised
    torch.testing.assert_close(out, _composite_bias_act(x, bias, activation, gain, clamp))
    # Second order, as R1 and path length need: differentiate a function of the input gradient,
    # with respect to the upstream gradient (always connected) and the bias (zero for linear).
    upstream = torch.randn_like(out).requires_grad_(True)

    def second_order(fn: Callable[..., torch.Tensor]) -> tuple[torch.Tensor, ...]:
        out = fn(x, bias, activation, gain, clamp)
        (gx,) = torch.autograd.grad((out * upstream).sum(), x, create_graph=True)
        penalty = (gx.square() * torch.linspace(0, 1, gx.numel(), dtype=gx.dtype).view_as(gx)).sum()
        grads = torch.autograd.grad(penalty, [upstream, bias], allow_unused=True, materialize_grads=True)
        return (gx, *grads)

    for got, want in zip(second_order(bias_act), second_order(_composite_bias_act), strict=True):
        torch.testing.assert_close(got, want)
    assert torch.autograd.gradgradcheck(lambda a, b: bias_act(a, b, activation, gain, clamp), (x, bias))


@pytest.mark.parametrize("padding", [1, 2, (2, 1, 0, 3), (1, -1, 2, 0)])
def test_fir_filter_matches_grouped_conv_and_its_gradients_check(
    padding: int | tuple[int, int, int, int],
) -> None:
    torch.manual_seed(0)
    f = make_fir_filter((1.0, 2.0, 5.0, 1.0))  # asymmetric, so a wrong flip or padding shows
    x = torch.randn(2, 3, 9, 7, dtype=torch.float64, requires_grad=True)
    pad = (padding,) * 4 if isinstance(padding, int) else padding
    want = F.conv2d(F.pad(x, pad), (f.double().flip([0, 1]) * 2).expand(3, 1, 4, 4), groups=3)
    torch.testing.assert_close(fir_filter2d(x, f, padding, gain=2.0), want)
    assert torch.autograd.gradcheck(lambda a: fir_filter2d(a, f, padding, 2.0), (x,))
    assert torch.autograd.gradgradcheck(lambda a: fir_filter2d(a, f, padding, 2.0), (x,))


# --------------------------------------------------------------------------------------------------
# Modulated convolution
# --------------------------------------------------------------------------------------------------


def test_modulate_weights_matches_loop_and_demod_gives_unit_norm() -> None:
    torch.manual_seed(0)
    weight = torch.randn(6, 4, 3, 3)
    styles = torch.randn(5, 4)
    for demod in (False, True):
        got = modulate_weights(weight, styles, demodulate=demod)
        assert got.shape == (5, 6, 4, 3, 3)
        for n in range(5):
            w = weight * styles[n].reshape(1, 4, 1, 1)
            if demod:
                w = w / w.flatten(1).norm(dim=1).reshape(6, 1, 1, 1)
            torch.testing.assert_close(got[n], w)
    norms = modulate_weights(weight, styles, demodulate=True).flatten(2).norm(dim=2)
    torch.testing.assert_close(norms, torch.ones(5, 6))
    # Numerically safe for an all-zero style.
    assert torch.isfinite(modulate_weights(weight, torch.zeros(1, 4))).all()


def naive_modulated_conv(x, weight, styles, demodulate, up, fir):
    """Per-sample reference: explicit zero-stuffing and a depthwise blur, no grouped conv."""
    outs = []
    for n in range(x.shape[0]):
        w = weight * styles[n].reshape(1, -1, 1, 1)
        if demodulate:
            w = w / w.flatten(1).norm(dim=1).reshape(-1, 1, 1, 1)
        xi = x[n : n + 1]
        if not up:
            outs.append(F.conv2d(xi, w, padding=1))
            continue
        _, c, h, ww = xi.shape
        z = torch.zeros(1, c, 2 * h - 1, 2 * ww - 1)
        z[:, :, ::2, ::2] = xi
        y = F.conv2d(F.pad(z, (2, 2, 2, 2)), w)  # full correlation, [1, O, 2H+1, 2W+1]
        o = y.shape[1]
        blur = (fir * 4).expand(o, 1, *fir.shape)
        outs.append(F.conv2d(F.pad(y, (1, 1, 1, 1)), blur, groups=o))
    return torch.cat(outs)


@pytest.mark.parametrize("up", [False, True])
@pytest.mark.parametrize("demodulate", [False, True])
@pytest.mark.parametrize("fused", [True, False])
def test_modulated_conv_matches_per_sample_loop(up: bool, demodulate: bool, fused: bool) -> None:
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5, 5)
    weight = torch.randn(6, 4, 3, 3)
    styles = torch.randn(3, 4)
    fir = make_fir_filter()
    got = modulated_conv2d(x, weight, styles, demodulate=demodulate, up=up, fir=fir, fused=fused)
    want = naive_modulated_conv(x, weight, styles, demodulate, up, fir)
    assert got.shape == (3, 6, 10, 10) if up else (3, 6, 5, 5)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_fused_and_unfused_generator_agree() -> None:
    g = small_g(16)
    set_noise_strength(g, 0.3)
    z = torch.randn(4, Z)
    a = g(z, noise_mode="const")
    g.fused_modconv = False
    assert all(m.fused_modconv is False for m in g.modules() if hasattr(m, "affine"))
    b = g(z, noise_mode="const")
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------------------------------
# Mapping: truncation and w_avg
# --------------------------------------------------------------------------------------------------


def test_truncation() -> None:
    g = small_g(16)
    with torch.no_grad():
        g.w_avg.copy_(torch.randn(Z))
    z = torch.randn(4, Z)
    ws = g.mapping(z)
    torch.testing.assert_close(g.mapping(z, truncation_psi=1.0), ws)
    torch.testing.assert_close(g.mapping(z, truncation_psi=0.0), g.w_avg.expand_as(ws))
    torch.testing.assert_close(g.mapping(z, truncation_psi=0.5), (ws + g.w_avg) / 2)
    cut = g.mapping(z, truncation_psi=0.0, truncation_cutoff=2)
    torch.testing.assert_close(cut[:, :2], g.w_avg.expand(4, 2, Z))
    torch.testing.assert_close(cut[:, 2:], ws[:, 2:])


def test_w_avg_tracks_batch_mean_only_when_asked() -> None:
    g = small_g(8)
    z = torch.randn(16, Z)
    target = g.mapping(z)[:, 0].mean(0).detach()
    g.mapping(z)
    assert g.w_avg.abs().max() == 0  # untouched without update_w_avg
    g.mapping(z, update_w_avg=True)
    torch.testing.assert_close(g.w_avg, (1 - 0.995) * target)  # one EMA step from 0
    before = (g.w_avg - target).norm()
    for _ in range(200):
        g.mapping(z, update_w_avg=True)
    # Exponential approach: the distance shrinks by beta per step (0.995**200 ~ 0.37).
    assert (g.w_avg - target).norm() < 0.5 * before


# --------------------------------------------------------------------------------------------------
# Noise
# --------------------------------------------------------------------------------------------------


def test_noise_modes() -> None:
    g = small_g(16)
    set_noise_strength(g, 0.5)
    ws = g.mapping(torch.randn(2, Z))
    torch.testing.assert_close(g.synthesis(ws, "const"), g.synthesis(ws, "const"))
    torch.testing.assert_close(g.synthesis(ws, "none"), g.synthesis(ws, "none"))
    assert not torch.allclose(g.synthesis(ws, "random"), g.synthesis(ws, "random"))
    assert not torch.allclose(g.synthesis(ws, "const"), g.synthesis(ws, "none"))
    with pytest.raises(ValueError):
        g.synthesis(ws, "bogus")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Discriminator
# --------------------------------------------------------------------------------------------------


def test_conditional_discriminator_depends_on_c() -> None:
    d = small_d(16, c_dim=3)
    img = torch.randn(4, 3, 16, 16)
    eye = torch.eye(3)
    a = d(img, eye[[0, 0, 0, 0]])
    b = d(img, eye[[1, 1, 1, 1]])
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError):
        d(img)


def test_gradients_flow_from_d_to_every_generator_parameter() -> None:
    g, d = small_g(16), small_d(16)
    d(g(torch.randn(4, Z))).mean().backward()
    for name, p in g.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_minibatch_std_handles_batch_not_divisible_by_group() -> None:
    torch.manual_seed(0)
    layer = MinibatchStdLayer(group_size=4, num_channels=1)
    assert layer.effective_group_size(6, 4) == 3
    assert layer.effective_group_size(5, 4) == 1
    assert layer.effective_group_size(2, 4) == 2
    x = torch.randn(6, 8, 4, 4)
    y = layer(x)
    assert y.shape == (6, 9, 4, 4)
    torch.testing.assert_close(y[:, :8], x)
    # Groups of 3 with members i, i+2, i+4.
    for i in range(6):
        members = x[[i % 2, i % 2 + 2, i % 2 + 4]]
        want = (members.var(0, unbiased=False) + 1e-8).sqrt().mean()
        torch.testing.assert_close(y[i, 8], torch.full((4, 4), want.item()))
    d = small_d(16)
    assert d(torch.randn(6, 3, 16, 16)).shape == (6, 1)
    assert d(torch.randn(5, 3, 16, 16)).shape == (5, 1)


# --------------------------------------------------------------------------------------------------
# FIR resampling
# --------------------------------------------------------------------------------------------------


def test_fir_filter_is_normalized_outer_product() -> None:
    f = make_fir_filter()
    torch.testing.assert_close(
        f, torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 64
    )


def test_fir_upsample_and_downsample_keep_constants() -> None:
    f = make_fir_filter()
    x = torch.full((2, 3, 8, 8), 2.5)
    up = upsample2d(x, f)
    assert up.shape == (2, 3, 16, 16)
    torch.testing.assert_close(up[:, :, 1:-1, 1:-1], torch.full((2, 3, 14, 14), 2.5))
    down = downsample2d(x, f)
    assert down.shape == (2, 3, 4, 4)
    torch.testing.assert_close(down[:, :, 1:-1, 1:-1], torch.full((2, 3, 2, 2), 2.5))


def test_fir_upsample_matches_zero_stuffing_reference() -> None:
    torch.manual_seed(0)
    f = make_fir_filter()
    x = torch.randn(1, 2, 5, 5)
    z = torch.zeros(1, 2, 10, 10)
    z[:, :, ::2, ::2] = x
    # Zero-stuff then filter (gain 4); the reference pads 2 before and 1 after.
    want = F.conv2d(F.pad(z, (2, 1, 2, 1)), (f * 4).expand(2, 1, 4, 4), groups=2)
    torch.testing.assert_close(upsample2d(x, f), want)


def test_runs_in_float64() -> None:
    g = small_g(8).double()
    d = small_d(8).double()
    out = d(g(torch.randn(2, Z, dtype=torch.float64)))
    assert out.dtype == torch.float64


def test_state_dict_keeps_noise_and_w_avg_but_not_fir() -> None:
    keys = small_g(8).state_dict().keys()
    assert "w_avg" in keys
    assert any(k.endswith("noise_const") for k in keys)
    assert not any(k.endswith("fir") for k in keys)


# --------------------------------------------------------------------------------------------------
# Mixed precision
# --------------------------------------------------------------------------------------------------

needs_bf16 = pytest.mark.skipif(
    reduced_precision_dtype(torch.device("cpu")) is None, reason="this CPU has no native bf16"
)


@pytest.mark.parametrize(
    ("res", "count", "want"),
    [(64, 4, {8, 16, 32, 64}), (256, 4, {32, 64, 128, 256}), (16, 4, {8, 16}), (64, 1, {64}), (64, 0, set())],
)
def test_mixed_precision_resolutions_follow_the_reference_rule(res: int, count: int, want: set[int]) -> None:
    # The reference: fp16 from max(2 ** (log2(res) + 1 - num_fp16_res), 8) px upwards.
    assert mixed_precision_resolutions(res, count) == want


def test_cpu_without_bf16_keeps_mixed_blocks_in_full_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layers, "cpu_computes_bf16", lambda: False)
    assert reduced_precision_dtype(torch.device("cpu")) is None
    g = small_g(16, num_mixed_res=2)
    dtypes = _feature_dtypes(g.synthesis_network.blocks, lambda: g(torch.randn(2, Z)))
    assert dtypes == [torch.float32] * 3


def _feature_dtypes(blocks: torch.nn.ModuleList, run: Callable[[], object]) -> list[torch.dtype]:
    """The type of the features each block computes (its last conv's output) during ``run()``."""
    seen: list[torch.dtype] = []
    hooks = [b.conv1.register_forward_hook(lambda m, i, o: seen.append(o.dtype)) for b in blocks]
    run()
    for hook in hooks:
        hook.remove()
    return seen


@needs_bf16
def test_mixed_precision_networks_compute_top_blocks_in_bf16_and_match_fp32() -> None:
    g32, d32 = small_g(16), small_d(16)
    g16, d16 = small_g(16, num_mixed_res=2), small_d(16, num_mixed_res=2)
    g16.load_state_dict(g32.state_dict())
    d16.load_state_dict(d32.state_dict())
    z = torch.randn(4, Z)

    g_types = _feature_dtypes(g16.synthesis_network.blocks, lambda: g16(z, noise_mode="const"))
    assert g_types == [torch.float32, torch.bfloat16, torch.bfloat16]  # 4, 8, 16 px
    img16, img32 = g16(z, noise_mode="const"), g32(z, noise_mode="const")
    assert img16.dtype == torch.float32
    # bf16 keeps 8 significant bits: agreement to a few percent of the signal, not to fp32 rounding.
    assert (img16 - img32).abs().mean() < 0.03 * img32.abs().mean()

    d_types = _feature_dtypes(d16.blocks, lambda: d16(img32))
    assert d_types == [torch.bfloat16, torch.bfloat16]  # 16 -> 8 and 8 -> 4 px
    logits16, logits32 = d16(img32), d32(img32)
    assert logits16.dtype == torch.float32
    torch.testing.assert_close(logits16, logits32, rtol=0.05, atol=0.02)


@needs_bf16
def test_mixed_precision_r1_gradient_agrees_with_fp32() -> None:
    # R1 differentiates D's input gradient again: the double backward must run through bf16 blocks.
    d32, d16 = small_d(16), small_d(16, num_mixed_res=2)
    d16.load_state_dict(d32.state_dict())
    x = torch.randn(4, 3, 16, 16)

    def r1_weight_grad(d: Discriminator) -> torch.Tensor:
        reals = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(d(reals).sum(), reals, create_graph=True)
        grad.square().sum().backward()
        assert d.from_rgb.weight.grad is not None and d.from_rgb.weight.grad.dtype == torch.float32
        return torch.cat([p.grad.flatten() for p in d.parameters() if p.grad is not None])

    a, b = r1_weight_grad(d16), r1_weight_grad(d32)
    # Second derivatives through 8-bit mantissas: cosine 0.970 on an AVX512-BF16 CPU (seed 0); the
    # bound still fails for gradients more than 18 degrees apart.
    assert F.cosine_similarity(a, b, dim=0) > 0.95


@pytest.mark.parametrize("up", [False, True])
def test_fp16_modulated_conv_stays_finite_where_unscaled_weights_overflow(up: bool) -> None:
    # Older GPUs compute mixed-precision blocks in fp16; large styles and weights must not overflow.
    torch.manual_seed(0)
    x = torch.randn(2, 16, 6, 6)
    weight, styles = torch.randn(8, 16, 3, 3) * 300, torch.randn(2, 16) * 300
    fir = make_fir_filter()
    assert not torch.isfinite(F.conv2d((x * styles[:, :, None, None]).half(), weight.half(), padding=1)).all()
    want = modulated_conv2d(x, weight, styles, up=up, fir=fir, fused=False)
    for fused in (False, True):
        got = modulated_conv2d(x.half(), weight, styles, up=up, fir=fir, fused=fused)
        assert got.dtype == torch.float16 and torch.isfinite(got).all()
        torch.testing.assert_close(got.float(), want, rtol=0.02, atol=0.02)
