"""Tests of the Diffusion-GAN plugin: forward process, timesteps, conditioning, the T controller, training."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

from maskgen import AugmentContext
from maskgen.artifacts.checkpoint import load_checkpoint
from maskgen.augment import build_augmenter
from maskgen.config import validate_config
from maskgen.plugins import PluginRegistry, set_registry
from maskgen.testing import registry_of, require_installed, tiny_config_values
from maskgen_ada import plugin as ada_plugin
from maskgen_diffusion import plugin as diffusion_plugin
from maskgen_diffusion.augmenter import (
    DiffusionAugmenter,
    DiffusionOptions,
    linear_alphas_bar,
    sample_timesteps,
    timestep_embedding,
)

BATCH = 16


def _context(speed_kimg: float = 10.0) -> AugmentContext:
    return AugmentContext(
        resolution=16, batch_size=BATCH, total_kimg=1.0, device=torch.device("cpu"), speed_kimg=speed_kimg
    )


def _abar_reference(t: int, beta_start: float, beta_end: float, steps: int) -> float:
    """abar_t = prod_{i=1..t} (1 - beta_i), beta linear from beta_start (i=1) to beta_end (i=steps)."""
    product = 1.0
    for i in range(1, t + 1):
        product *= 1.0 - (beta_start + (i - 1) * (beta_end - beta_start) / (steps - 1))
    return product


# -- the forward process -----------------------------------------------------------------------------


def test_schedule_matches_the_closed_form() -> None:
    abar = linear_alphas_bar(1e-4, 2e-2, 1000, 1001)
    assert abar[0] == 1.0 and torch.all(abar[1:] < abar[:-1])
    for t in (1, 10, 300, 1000):
        assert abar[t].item() == pytest.approx(_abar_reference(t, 1e-4, 2e-2, 1000), rel=1e-5)
    short = linear_alphas_bar(1e-4, 2e-2, 10, 1001)  # spanning T = 10 steps: same bounds, faster decay
    assert short[10].item() == pytest.approx(_abar_reference(10, 1e-4, 2e-2, 10), rel=1e-5)
    assert torch.all(short[11:] == short[10])


def test_t0_is_the_identity() -> None:
    augmenter = DiffusionAugmenter(DiffusionOptions(initial_T=500), _context())
    x = torch.randn(8, 3, 8, 8)
    assert torch.equal(augmenter.diffuse(x, torch.zeros(8, dtype=torch.long)), x)
    clean = DiffusionAugmenter(DiffusionOptions(initial_T=500, clean_prob=1.0), _context())
    y, c = clean(x)
    assert torch.equal(y, x)
    assert torch.equal(c, timestep_embedding(torch.zeros(8, dtype=torch.long), 1000, 8))


@pytest.mark.parametrize("t", [1, 200, 1000])
def test_moments_at_fixed_t_match_the_formula(t: int) -> None:
    torch.manual_seed(0)
    options = DiffusionOptions(fixed_T=1000, schedule_span="t_max", sigma=0.5)
    augmenter = DiffusionAugmenter(options, _context())
    abar = _abar_reference(t, 1e-4, 2e-2, 1000)
    x = (torch.rand(1, 3, 4, 4) * 2 - 1).expand(20000, -1, -1, -1)
    y = augmenter.diffuse(x, torch.full([20000], t))
    mean, var = y.mean(dim=0), y.var(dim=0)
    expected_var = (1 - abar) * 0.5**2
    # 20000 samples: the mean is off by ~ sqrt(var / 20000), the variance by ~1 %.
    assert torch.allclose(mean, math.sqrt(abar) * x[0], atol=5 * math.sqrt(expected_var / 20000) + 1e-6)
    assert var.mean().item() == pytest.approx(expected_var, rel=0.02)


def test_gradient_flows_through_the_diffusion() -> None:
    augmenter = DiffusionAugmenter(DiffusionOptions(initial_T=400), _context())
    x = torch.randn(6, 3, 4, 4, requires_grad=True)
    t = torch.tensor([0, 1, 50, 100, 200, 400])
    augmenter.diffuse(x, t).sum().backward()
    expected = augmenter.alphas_bar[t].sqrt().view(-1, 1, 1, 1).expand_as(x)
    torch.testing.assert_close(x.grad, expected)
    x.grad = None
    y, _ = augmenter(x)  # the full forward too
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


# -- timesteps and conditioning ----------------------------------------------------------------------


def test_timesteps_stay_in_range_and_are_fresh_every_call() -> None:
    torch.manual_seed(0)
    augmenter = DiffusionAugmenter(DiffusionOptions(initial_T=37, ts_dist="uniform"), _context())
    t = augmenter.sample_t(20000, torch.device("cpu"))
    assert t.min() == 0 and t.max() == 37
    assert (t == 0).float().mean().item() == pytest.approx(0.5, abs=0.02)  # clean_prob
    x = torch.randn(4, 3, 8, 8)
    (y1, _), (y2, _) = augmenter(x), augmenter(x)
    assert not torch.equal(y1, y2)  # the same reals get new noise (and t) on every call


def test_priority_sampling_favours_large_t() -> None:
    torch.manual_seed(0)
    T, n = 10, 40000
    priority = sample_timesteps(n, torch.tensor(T), "priority", 0.0, torch.device("cpu"))
    uniform = sample_timesteps(n, torch.tensor(T), "uniform", 0.0, torch.device("cpu"))
    counts_p = torch.bincount(priority, minlength=T + 1).float() / n
    counts_u = torch.bincount(uniform, minlength=T + 1).float() / n
    assert counts_p[0] == 0 and counts_u[0] == 0  # clean_prob = 0: t in 1..T
    expected_p = torch.arange(T + 1) * 2.0 / (T * (T + 1))  # P(t) = t / sum(1..T)
    torch.testing.assert_close(counts_p, expected_p, atol=0.01, rtol=0)
    torch.testing.assert_close(counts_u[1:], torch.full([T], 1.0 / T), atol=0.01, rtol=0)
    assert priority.float().mean() > uniform.float().mean() + 1.0  # 7.0 vs 5.5


def test_condition_has_c_dim_columns_and_depends_on_t() -> None:
    augmenter = DiffusionAugmenter(DiffusionOptions(initial_T=1000, clean_prob=0.0), _context())
    assert augmenter.c_dim == 8
    t = torch.arange(0, 1001)
    c = timestep_embedding(t, 1000, 8)
    assert c.shape == (1001, 8)
    assert torch.cdist(c, c).add(torch.eye(1001)).min() > 1e-3  # every t has its own vector
    _, condition = augmenter(torch.zeros(32, 3, 8, 8))
    assert condition is not None and condition.shape == (32, 8)
    scalar = timestep_embedding(torch.tensor([0, 250, 1000]), 1000, 1)
    assert scalar.flatten().tolist() == [0.0, 0.25, 1.0]


# -- the T controller --------------------------------------------------------------------------------


def _adapt(augmenter: DiffusionAugmenter, logit: float, minibatches: int) -> None:
    for _ in range(minibatches):
        augmenter.observe(torch.full([BATCH, 1], logit))
        augmenter.end_step(BATCH)


def test_T_adapts_in_the_right_direction_within_bounds() -> None:
    speed = 1.0  # T travels t_min -> t_max in 1000 images
    augmenter = DiffusionAugmenter(DiffusionOptions(t_min=10, t_max=100), _context(speed_kimg=speed))
    assert int(augmenter.T) == 10
    abar_before = float(augmenter.alphas_bar[10])
    _adapt(augmenter, 1.0, 3)
    assert int(augmenter.T) == 10  # adjusted every 4 minibatches only
    _adapt(augmenter, 1.0, 1)
    step = BATCH * 4 / (speed * 1000)
    assert float(augmenter.p) == pytest.approx(step)
    assert int(augmenter.T) == 10 + round(step * 90)
    # The schedule spans the current T: rebuilt, the noisiest step has less signal than before.
    assert float(augmenter.alphas_bar[int(augmenter.T)]) < abar_before
    _adapt(augmenter, 1.0, 400)
    assert int(augmenter.T) == 100 and float(augmenter.p) == 1.0
    stats = augmenter.stats()
    assert stats["augment/T"] == 100 and stats["augment/heuristic"] == 1.0 and stats["augment/strength"] == 1
    _adapt(augmenter, -1.0, 4)
    assert int(augmenter.T) < 100
    _adapt(augmenter, -1.0, 400)
    assert int(augmenter.T) == 10 and float(augmenter.p) == 0.0


def test_fixed_T_and_fixed_schedule() -> None:
    augmenter = DiffusionAugmenter(DiffusionOptions(fixed_T=300, schedule_span="t_max"), _context())
    schedule = augmenter.alphas_bar.clone()
    _adapt(augmenter, 1.0, 40)
    assert int(augmenter.T) == 300 and float(augmenter.heuristic) == 1.0
    assert torch.equal(augmenter.alphas_bar, schedule)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValidationError):
        DiffusionOptions(t_min=100, t_max=10)
    with pytest.raises(ValidationError):
        DiffusionOptions(t_embed_dim=3)
    with pytest.raises(ValidationError):
        DiffusionOptions(fixed_T=5000)
    with pytest.raises(ValidationError):
        DiffusionOptions(ts_dist="gaussian")


def test_state_dict_round_trip() -> None:
    first = DiffusionAugmenter(DiffusionOptions(t_max=200, speed_kimg=1.0), _context())
    _adapt(first, 1.0, 22)
    second = DiffusionAugmenter(DiffusionOptions(t_max=200, speed_kimg=1.0), _context())
    second.load_state_dict(first.state_dict())
    assert int(second.T) == int(first.T) > 10
    assert torch.equal(second.alphas_bar, first.alphas_bar)
    x = torch.randn(4, 3, 8, 8)
    torch.manual_seed(5)
    y1, c1 = first(x)
    torch.manual_seed(5)
    y2, c2 = second(x)
    assert torch.equal(y1, y2) and torch.equal(c1, c2)


# -- training ----------------------------------------------------------------------------------------


def test_training_steps_condition_D_on_t_and_train_G_through_the_diffusion(tmp_path: Path) -> None:
    from maskgen.training.loop import Trainer

    set_registry(registry_of(diffusion_plugin))
    options = {"initial_T": 600, "t_embed_dim": 4, "clean_prob": 0.0, "speed_kimg": 1.0, "interval": 2}
    config = validate_config(tiny_config_values(augment="diffusion", augment_options=options, kimg=0.008))
    trainer = Trainer(config, tmp_path)
    assert trainer.D.c_dim == 4
    seen: list[torch.Tensor] = []
    trainer.D.register_forward_pre_hook(lambda _module, args: seen.append(args[1]))
    trainer.G.zero_grad(set_to_none=True)
    trainer.loss.generator_main(torch.randn(4, trainer.G.z_dim)).backward()
    assert seen[-1].shape == (4, 4) and len({tuple(row.tolist()) for row in seen[-1]}) > 1
    grads = [p.grad for p in trainer.G.parameters() if p.grad is not None]
    assert grads and sum(g.abs().sum() for g in grads) > 0  # G learns through the diffused fakes
    for _ in range(2):  # one adjustment of T (interval 2); r_t decides its direction
        assert torch.isfinite(trainer.step()["loss/D"])
    T = int(trainer.augmenter.T)
    assert T in (592, 608) and not math.isnan(float(trainer.augmenter.heuristic))  # 600 -/+ 0.008 * 990
    # T, its schedule and the controller travel with the checkpoint.
    tensors, _ = load_checkpoint(trainer.save_checkpoint()).training_state()
    assert {"augmenter.T", "augmenter.p", "augmenter.alphas_bar", "augmenter.heuristic"} <= tensors.keys()
    assert int(tensors["augmenter.T"]) == T
    assert torch.equal(tensors["augmenter.alphas_bar"], trainer.augmenter.alphas_bar)


def test_stack_ada_diffusion_hands_D_the_timestep() -> None:
    registry = registry_of(diffusion_plugin, ada_plugin)
    stack = build_augmenter("ada+diffusion", {"ada": {"p": 0.3}}, _context(), registry)
    assert stack.c_dim == 8
    y, c = stack(torch.rand(4, 3, 16, 16) * 2 - 1)
    assert y.shape == (4, 3, 16, 16) and c is not None and c.shape == (4, 8)


def test_installed_distribution_provides_diffusion() -> None:
    require_installed("maskgen-augment-diffusion")
    spec = PluginRegistry().get("augmenter", "diffusion")
    assert spec.distribution == "maskgen-augment-diffusion"
