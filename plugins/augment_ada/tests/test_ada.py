"""Tests of the ADA plugin: the augmentation pipeline, the p controller and the plugin registration."""

from __future__ import annotations

import math
from pathlib import Path
from typing import get_args

import pytest
import torch
import torch.distributed as dist
from pydantic import ValidationError

from maskgen import AugmentContext
from maskgen.plugins import PluginRegistry
from maskgen_ada import plugin as ada_plugin
from maskgen_ada.augmenter import AdaAugmenter, AdaOptions
from maskgen_ada.pipeline import PRESETS, TRANSFORMS, AugmentPipe, PresetName, _band_kernels

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

pytestmark = pytest.mark.usefixtures("one_thread")  # maskgen.testing: the tensors here are tiny


def _images(n: int = 8, c: int = 3, size: int = 32, seed: int = 0, device: str = "cpu") -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, c, size, size, generator=g) * 2 - 1).to(device)


def _context(speed_kimg: float = 500.0, batch_size: int = 32) -> AugmentContext:
    return AugmentContext(
        resolution=32,
        batch_size=batch_size,
        total_kimg=1000,
        device=torch.device("cpu"),
        speed_kimg=speed_kimg,
    )


def _changed(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x != y).flatten(1).any(dim=1)


# -- pipeline --------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", list(PRESETS))
def test_p0_is_identity_bit_exact(preset: str) -> None:
    torch.manual_seed(0)
    x = _images()
    y = AugmentPipe(preset, p=0.0)(x)
    assert y is x
    assert torch.equal(AugmentPipe(preset, p=0.5)(x, p=0.0), x)


def test_p0_returns_input_even_with_grad() -> None:
    x = _images().requires_grad_()
    assert AugmentPipe("bgcfnc", p=0.0)(x) is x


@pytest.mark.parametrize("preset", ["blit", "geom", "color", "bgc", "bgcfnc"])
def test_p1_changes_every_image(preset: str) -> None:
    torch.manual_seed(1)
    x = _images(n=16)
    y = AugmentPipe(preset, p=1.0)(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    # blit at p=1 can still draw "no flip, no turn, zero shift" for a sample; the rest can't.
    assert _changed(x, y).float().mean() >= (0.75 if preset == "blit" else 1.0)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_each_transform_alone_is_differentiable(transform: str) -> None:
    torch.manual_seed(2)
    x = _images(n=4).requires_grad_()
    y = AugmentPipe(None, p=1.0, **{transform: 1.0})(x)
    weight = torch.randn_like(y)  # a generic loss: a plain sum has zero gradient under some maps
    (y * weight).sum().backward()
    assert x.grad is not None
    assert torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0


def test_pipeline_has_correct_first_and_second_derivatives() -> None:
    # The trainer's R1 penalty differentiates D's gradient w.r.t. its input, so it back-propagates
    # twice through the pipeline. Same seed inside -> the same random transforms on every call.
    pipe = AugmentPipe("bgcfnc", p=0.8)
    x = torch.rand(2, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    x.requires_grad_()

    def augment(images: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(15)
        return pipe(images)

    assert torch.autograd.gradcheck(augment, (x,), eps=1e-6, atol=1e-5, fast_mode=True)
    assert torch.autograd.gradgradcheck(augment, (x,), eps=1e-6, atol=1e-5, fast_mode=True)


def test_xflip_alone_flips_exactly() -> None:
    # As in the paper, x-flip at p=1 *randomly* flips: each sample is itself or its mirror image.
    torch.manual_seed(3)
    x = _images(n=32)
    y = AugmentPipe(None, xflip=1.0, p=1.0)(x)
    flipped = torch.flip(x, dims=[3])
    is_flip = (y == flipped).flatten(1).all(dim=1)
    is_same = (y == x).flatten(1).all(dim=1)
    assert (is_flip | is_same).all()
    assert is_flip.sum() >= 8 and is_same.sum() >= 8


def test_rot90_alone_gives_a_quarter_turn() -> None:
    torch.manual_seed(5)
    x = _images(n=32)
    y = AugmentPipe(None, rotate90=1.0, p=1.0)(x)
    turns = torch.stack([torch.rot90(x, k, dims=(2, 3)) for k in range(4)])  # [4, N, C, H, W]
    err = (turns - y[None]).abs().flatten(2).amax(dim=2)  # [4, N]
    assert (err.min(dim=0).values <= 1e-5).all()
    assert len(set(err.argmin(dim=0).tolist())) == 4  # all four turns occur


def test_integer_translation_moves_pixels_exactly() -> None:
    torch.manual_seed(6)
    x = _images(n=16, size=32)
    y = AugmentPipe(None, xint=1.0, p=1.0)(x)
    for xi, yi in zip(x, y, strict=True):
        # Find the shift that reproduces the centre of the output from the input (|shift| <= 4 px).
        hits = [
            (dy, dx)
            for dy in range(-4, 5)
            for dx in range(-4, 5)
            if torch.equal(yi[:, 8:24, 8:24], xi[:, 8 - dy : 24 - dy, 8 - dx : 24 - dx])
        ]
        assert len(hits) == 1


def test_brightness_alone_adds_a_constant_per_sample() -> None:
    torch.manual_seed(7)
    x = _images(n=16)
    y = AugmentPipe(None, brightness=1.0, p=1.0)(x)
    diff = (y - x).flatten(1)
    offsets = diff.mean(dim=1)
    assert torch.allclose(diff, offsets[:, None].expand_as(diff), atol=1e-5)
    assert offsets.std() > 0.05  # different samples get different offsets (std 0.2)


def test_contrast_alone_scales_each_sample() -> None:
    torch.manual_seed(8)
    x = _images(n=16)
    y = AugmentPipe(None, contrast=1.0, p=1.0)(x)
    ratio = (y / x).flatten(1)
    assert torch.allclose(ratio, ratio.median(dim=1).values[:, None].expand_as(ratio), rtol=1e-4)


def test_saturation_keeps_grey_and_luma_flip_keeps_chroma() -> None:
    torch.manual_seed(9)
    grey = _images(n=8, c=1).expand(8, 3, 32, 32)
    y = AugmentPipe(None, saturation=1.0, p=1.0)(grey)
    assert torch.allclose(y, grey, atol=1e-5)  # grey has no chroma to scale
    x = _images(n=8)
    z = AugmentPipe(None, lumaflip=1.0, p=1.0)(x)
    chroma = x - x.mean(dim=1, keepdim=True)
    assert torch.allclose(z - z.mean(dim=1, keepdim=True), chroma, atol=1e-5)
    flipped = ~torch.isclose(z, x, atol=1e-5).flatten(1).all(dim=1)
    assert 0 < flipped.sum() < 8  # a random flip: some samples keep their luma, the others negate it
    assert torch.allclose(z[flipped].mean(dim=1), -x[flipped].mean(dim=1), atol=1e-5)


def test_filter_bank_splits_the_spectrum_into_octaves() -> None:
    kernels = _band_kernels(47).double()
    delta = torch.zeros(47, dtype=torch.float64)
    delta[23] = 1
    assert torch.allclose(kernels.sum(dim=0), delta, atol=1e-6)  # all gains 1 -> identity
    taps = torch.arange(47) - 23
    centres = torch.tensor([0.0, 3 / 16, 3 / 8, 3 / 4]) * math.pi  # one frequency inside each band
    response = (kernels[:, None, :] * torch.cos(centres[None, :, None] * taps)).sum(dim=-1)
    assert torch.allclose(response, torch.eye(4, dtype=torch.float64), atol=0.03)


def test_filter_keeps_the_energy_of_low_frequencies_bounded() -> None:
    # A constant image only has DC, which passes with the low band's gain g0 twice (rows, then
    # columns). Renormalising the random band gains by the expected power spectrum bounds g0 by
    # sqrt(13/10) * (13/12)^1.5, so the DC gain g0^2 stays below 1.66; unnormalised, it would not.
    torch.manual_seed(14)
    x = torch.full((64, 3, 32, 32), 0.5)
    y = AugmentPipe(None, imgfilter=1.0, p=1.0)(x)
    gain = y.flatten(1).mean(dim=1) / 0.5
    assert torch.allclose(y, (gain * 0.5)[:, None, None, None].expand_as(y), atol=1e-5)
    assert gain.max() < 1.66 and gain.std() > 0.01


def test_colour_on_single_channel_images() -> None:
    torch.manual_seed(10)
    x = _images(n=4, c=1)
    y = AugmentPipe("bgc", p=1.0)(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


@pytest.mark.parametrize(("transform", "p"), [("brightness", 0.5), ("rotate", 0.5), ("cutout", 0.3)])
def test_fraction_of_changed_samples_is_p(transform: str, p: float) -> None:
    torch.manual_seed(11)
    x = _images(n=4000, size=8)
    y = AugmentPipe(None, p=p, **{transform: 1.0})(x)
    fraction = _changed(x, y).float().mean().item()
    assert abs(fraction - p) < 0.04  # 4000 samples: std of the fraction is 0.008


def test_p_argument_overrides_buffer_and_multiplier_scales_it() -> None:
    torch.manual_seed(12)
    x = _images(n=4000, size=8)
    pipe = AugmentPipe(None, brightness=0.5, p=0.0)
    fraction = _changed(x, pipe(x, p=torch.tensor(0.8))).float().mean().item()
    assert abs(fraction - 0.4) < 0.04


def test_unknown_preset_and_setting_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown ADA pipeline"):
        AugmentPipe("bgcx")
    with pytest.raises(TypeError):
        AugmentPipe("bgc", shear=1.0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_output_follows_input_device_and_dtype(device: str, dtype: torch.dtype) -> None:
    torch.manual_seed(13)
    augmenter = AdaAugmenter(AdaOptions(pipeline="bgcfnc", p=0.7), _context())  # module stays on CPU
    x = _images(n=4, device=device).to(dtype).requires_grad_()
    y, c = augmenter(x)
    assert c is None
    assert y.device == x.device and y.dtype == dtype
    y.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


# -- controller ------------------------------------------------------------------------------------


def _run_steps(augmenter: AdaAugmenter, steps: int, sign: float, batch_size: int = 32) -> None:
    for _ in range(steps):
        augmenter.observe(torch.full((batch_size, 1), sign))
        augmenter.end_step(batch_size)


def test_positive_logits_raise_p_by_the_expected_step() -> None:
    augmenter = AdaAugmenter(AdaOptions(interval=4, speed_kimg=100.0), _context())
    _run_steps(augmenter, 3, +1.0)
    assert augmenter.p == 0.0  # no adjustment before `interval` minibatches
    _run_steps(augmenter, 1, +1.0)
    assert augmenter.p == pytest.approx(32 * 4 / 100_000, rel=1e-6)
    assert augmenter.stats() == pytest.approx(
        {"augment/strength": 32 * 4 / 100_000, "augment/heuristic": 1.0}
    )
    _run_steps(augmenter, 4, +1.0)
    assert augmenter.p == pytest.approx(2 * 32 * 4 / 100_000, rel=1e-6)


def test_negative_logits_lower_p_and_clamp_at_zero() -> None:
    augmenter = AdaAugmenter(AdaOptions(interval=2, speed_kimg=1.0, initial_p=0.2), _context())
    _run_steps(augmenter, 2, -1.0, batch_size=50)  # one adjustment of 50 * 2 / 1000 = 0.1
    assert augmenter.p == pytest.approx(0.1, abs=1e-6)
    assert augmenter.stats()["augment/heuristic"] == -1.0
    _run_steps(augmenter, 10, -1.0, batch_size=50)
    assert augmenter.p == 0.0


def test_p_clamps_at_one() -> None:
    augmenter = AdaAugmenter(AdaOptions(interval=1, speed_kimg=1.0, initial_p=0.95), _context())
    _run_steps(augmenter, 3, +1.0, batch_size=64)
    assert augmenter.p == 1.0


def test_heuristic_is_the_mean_sign_and_target_is_respected() -> None:
    augmenter = AdaAugmenter(AdaOptions(interval=1, speed_kimg=1.0, initial_p=0.5, target=0.6), _context())
    logits = torch.tensor([3.0, 2.0, 1.0, -1.0, 0.5, -0.2, 4.0, 1.0, 2.0, 1.0])  # mean sign 0.6
    augmenter.observe(logits)
    augmenter.end_step(10)
    assert augmenter.stats()["augment/heuristic"] == pytest.approx(0.6)
    assert augmenter.p == pytest.approx(0.5)  # r_t == target: no move


def test_no_observation_no_adjustment() -> None:
    augmenter = AdaAugmenter(AdaOptions(interval=1, speed_kimg=1.0, initial_p=0.5), _context())
    augmenter.end_step(32)
    assert augmenter.p == 0.5
    assert "augment/heuristic" not in augmenter.stats()


def test_fixed_p_never_changes() -> None:
    augmenter = AdaAugmenter(AdaOptions(p=0.3, interval=1, speed_kimg=1.0), _context())
    _run_steps(augmenter, 5, +1.0)
    assert augmenter.p == pytest.approx(0.3)
    _run_steps(augmenter, 2, -1.0)
    assert augmenter.p == pytest.approx(0.3)
    assert augmenter.stats()["augment/heuristic"] == -1.0  # still measured, for logging


def test_state_dict_round_trip_resumes_exactly() -> None:
    options = AdaOptions(interval=3, speed_kimg=2.0)
    first = AdaAugmenter(options, _context())
    _run_steps(first, 7, +1.0)  # two adjustments, one minibatch accumulated
    state = first.state_dict()
    assert {"pipe.p", "sign_sum", "sign_count", "minibatches", "heuristic"} <= set(state)

    second = AdaAugmenter(options, _context())
    second.load_state_dict(state)
    assert second.p == first.p > 0
    assert int(second.minibatches) == 7 and float(second.sign_count) == 32
    assert second.stats() == first.stats()
    for augmenter in (first, second):
        _run_steps(augmenter, 2, -1.0)  # completes the third interval: r_t = (32 - 64) / 96 < target
    assert second.p == first.p
    assert second.stats()["augment/heuristic"] == pytest.approx(-1 / 3)


def test_speed_kimg_defaults_to_context() -> None:
    assert AdaAugmenter(AdaOptions(), _context(speed_kimg=123.0)).speed_kimg == 123.0
    assert AdaAugmenter(AdaOptions(speed_kimg=50.0), _context(speed_kimg=123.0)).speed_kimg == 50.0
    augmenter = AdaAugmenter(AdaOptions(interval=1), _context(speed_kimg=10.0))
    _run_steps(augmenter, 1, +1.0, batch_size=20)
    assert augmenter.p == pytest.approx(20 / 10_000, rel=1e-6)


def test_controller_all_reduces_under_torch_distributed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if dist.is_initialized():
        pytest.fail("a process group is already initialised by another test")
    reduced: list[torch.Tensor] = []
    real_all_reduce = dist.all_reduce

    def spy(tensor: torch.Tensor, *args, **kwargs):  # a one-process group: record what is reduced
        reduced.append(tensor.clone())
        return real_all_reduce(tensor, *args, **kwargs)

    monkeypatch.setattr(dist, "all_reduce", spy)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        augmenter = AdaAugmenter(AdaOptions(interval=2, speed_kimg=1.0), _context())
        _run_steps(augmenter, 2, +1.0, batch_size=10)
        assert augmenter.p == pytest.approx(0.02, rel=1e-6)
    finally:
        dist.destroy_process_group()
    assert len(reduced) == 1  # once per adjustment, with the sign sum and the count together
    assert reduced[0].tolist() == [20.0, 20.0]


# -- options and plugin ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"target": 1.5},
        {"interval": 0},
        {"speed_kimg": 0.0},
        {"p": -0.1},
        {"initial_p": 2.0},
        {"pipeline": "bgcx"},
        {"strength": 0.5},
    ],
)
def test_options_are_validated(bad: dict) -> None:
    with pytest.raises(ValidationError):
        AdaOptions(**bad)


def test_option_presets_match_pipeline_presets() -> None:
    assert set(get_args(PresetName)) == set(PRESETS)
    assert AdaOptions().pipeline == "bgc"


def test_plugin_registers_ada_augmenter() -> None:
    registry = PluginRegistry(entry_points=False)
    registry.register(ada_plugin, distribution="maskgen-augment-ada")
    spec = registry.get("augmenter", "ada")
    assert spec.options is AdaOptions
    augmenter = spec.factory(spec.options(p=0.2), _context())
    assert isinstance(augmenter, AdaAugmenter)
    out, c = augmenter(_images(n=2))
    assert out.shape == (2, 3, 32, 32) and c is None
    assert augmenter.stats()["augment/strength"] == pytest.approx(0.2)
    assert math.isclose(augmenter.speed_kimg, 500.0)
