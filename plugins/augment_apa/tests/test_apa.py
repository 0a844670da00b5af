"""Tests of the APA plugin: pseudo reals, the p controller, state, stacking with ADA, registration."""

from __future__ import annotations

import importlib.metadata as md
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

from maskgen import AugmentContext, MaskgenError
from maskgen.artifacts.checkpoint import load_checkpoint, load_strict, split_weights
from maskgen.augment import build_augmenter
from maskgen.config import validate_config
from maskgen.plugins import PluginRegistry, set_registry
from maskgen.testing import registry_of, require_installed, tiny_config_values
from maskgen_ada import plugin as ada_plugin
from maskgen_apa import plugin as apa_plugin
from maskgen_apa.augmenter import APAAugmenter, APAOptions

BATCH = 16


def _context(speed_kimg: float = 10.0) -> AugmentContext:
    return AugmentContext(
        resolution=16, batch_size=BATCH, total_kimg=1.0, device=torch.device("cpu"), speed_kimg=speed_kimg
    )


def _reals(n: int = BATCH, size: int = 8) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


class _Fakes:
    """A ``make_fakes`` that records its calls and returns constant images of value 5 (never a real)."""

    def __init__(self, size: int = 8, requires_grad: bool = False) -> None:
        self.calls: list[tuple[int, bool]] = []
        self.size = size
        self.source = torch.full([1], 5.0, requires_grad=requires_grad)

    def __call__(self, count: int, use_ema: bool = False, rows: torch.Tensor | None = None) -> torch.Tensor:
        self.calls.append((count, use_ema))
        return self.source.expand(count, 3, self.size, self.size) * 1.0


# -- pseudo reals ------------------------------------------------------------------------------------


def test_p0_leaves_reals_untouched_and_generates_nothing() -> None:
    augmenter = APAAugmenter(APAOptions(), _context())
    reals, fakes = _reals(), _Fakes()
    out = augmenter.prepare_reals(reals, fakes)
    assert torch.equal(out, reals)
    assert fakes.calls == []
    images, condition = augmenter(out)
    assert images is out and condition is None  # forward is the identity


def test_p1_replaces_every_real_with_detached_fakes() -> None:
    augmenter = APAAugmenter(APAOptions(p=1.0, use_ema=True), _context())
    fakes = _Fakes(requires_grad=True)
    out = augmenter.prepare_reals(_reals(), fakes)
    assert torch.all(out == 5.0)
    assert fakes.calls == [(BATCH, True)]  # one call, for all positions, from G_ema as configured
    assert not out.requires_grad  # no gradient reaches G through the real branch


def test_fraction_replaced_follows_p_and_only_replaced_positions_are_generated() -> None:
    torch.manual_seed(0)
    p, n = 0.3, 4000
    augmenter = APAAugmenter(APAOptions(p=p), _context())
    reals, fakes = _reals(n, size=2), _Fakes(size=2)
    out = augmenter.prepare_reals(reals, fakes)
    replaced = (out == 5.0).flatten(1).all(dim=1)
    kept = (out == reals).flatten(1).all(dim=1)
    assert torch.all(replaced ^ kept)  # every image is either untouched or a whole fake
    assert abs(replaced.float().mean().item() - p) < 0.03  # 4 standard deviations
    assert fakes.calls == [(int(replaced.sum()), False)]  # default: the generator being trained


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_on_gpus_a_whole_batch_is_generated_and_p_still_sets_the_fraction(
    p: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    import maskgen_apa.augmenter as apa_module

    monkeypatch.setattr(apa_module, "host_reads_are_free", lambda device: False)
    torch.manual_seed(0)
    augmenter = APAAugmenter(APAOptions(p=p), _context())
    reals, fakes = _reals(4000, size=2), _Fakes(size=2, requires_grad=True)
    out = augmenter.prepare_reals(reals, fakes)
    replaced = (out == 5.0).flatten(1).all(dim=1)
    kept = (out == reals).flatten(1).all(dim=1)
    assert torch.all(replaced ^ kept)
    assert abs(replaced.float().mean().item() - p) < 0.03
    assert fakes.calls == [(4000, False)]  # always the whole batch: no count is read from the device
    assert not out.requires_grad


def test_wrong_fake_shape_is_a_clear_error() -> None:
    augmenter = APAAugmenter(APAOptions(p=1.0), _context())
    with pytest.raises(ValueError, match="make_fakes"):
        augmenter.prepare_reals(_reals(size=8), _Fakes(size=4))


# -- the controller ----------------------------------------------------------------------------------


def _adapt(augmenter: APAAugmenter, logit: float, minibatches: int) -> None:
    for _ in range(minibatches):
        augmenter.observe(torch.full([BATCH, 1], logit))
        augmenter.end_step(BATCH)


def test_controller_moves_p_up_for_overfitting_and_down_otherwise() -> None:
    speed = 10.0
    augmenter = APAAugmenter(APAOptions(interval=4), _context(speed_kimg=speed))
    step = BATCH * 4 / (speed * 1000)
    _adapt(augmenter, 1.0, 3)
    assert float(augmenter.p) == 0.0  # not yet: p moves every 4 minibatches
    _adapt(augmenter, 1.0, 1)
    assert float(augmenter.p) == pytest.approx(step)
    assert augmenter.stats() == pytest.approx({"augment/strength": step, "augment/heuristic": 1.0})
    _adapt(augmenter, 1.0, 8)
    assert float(augmenter.p) == pytest.approx(3 * step)
    _adapt(augmenter, -1.0, 4)
    assert float(augmenter.p) == pytest.approx(2 * step)
    assert augmenter.stats()["augment/heuristic"] == -1.0
    _adapt(augmenter, -1.0, 40)
    assert float(augmenter.p) == 0.0  # clamped from below


def test_controller_clamps_below_one_and_respects_target() -> None:
    augmenter = APAAugmenter(APAOptions(initial_p=0.95, max_p=0.97, speed_kimg=1.0), _context())
    _adapt(augmenter, 1.0, 4 * 20)
    assert float(augmenter.p) == pytest.approx(0.97)
    # lambda_t = 0.5 (three logits of four positive) is below a target of 0.6: p goes down.
    augmenter = APAAugmenter(APAOptions(initial_p=0.5, speed_kimg=1.0), _context())
    for _ in range(4):
        augmenter.observe(torch.tensor([1.0, 1.0, 1.0, -1.0]))
        augmenter.end_step(BATCH)
    assert float(augmenter.p) < 0.5 and float(augmenter.heuristic) == 0.5


def test_fixed_p_measures_but_never_moves() -> None:
    augmenter = APAAugmenter(APAOptions(p=0.25), _context())
    _adapt(augmenter, 1.0, 16)
    assert float(augmenter.p) == 0.25 and float(augmenter.heuristic) == 1.0


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValidationError):
        APAOptions(colour="red")
    with pytest.raises(ValidationError, match="initial_p"):
        APAOptions(initial_p=0.9, max_p=0.5)
    with pytest.raises(ValidationError):
        APAOptions(max_p=1.0)  # p must stay below 1 while adapting


def test_state_dict_round_trip_continues_identically() -> None:
    first = APAAugmenter(APAOptions(speed_kimg=1.0), _context())
    _adapt(first, 1.0, 10)  # p moved twice, two minibatches accumulated
    state = {k: v.clone() for k, v in first.state_dict().items()}
    assert {"p", "sign_sum", "sign_count", "minibatches", "heuristic"} <= state.keys()
    second = APAAugmenter(APAOptions(speed_kimg=1.0), _context())
    second.load_state_dict(state)
    for augmenter in (first, second):
        _adapt(augmenter, 1.0, 2)
    assert float(first.p) == float(second.p) > 0.0
    assert int(second.minibatches) == 12
    torch.manual_seed(3)
    a = first.prepare_reals(_reals(), _Fakes())
    torch.manual_seed(3)
    b = second.prepare_reals(_reals(), _Fakes())
    assert torch.equal(a, b)


# -- registration, stacking, training ----------------------------------------------------------------


def test_stack_apa_ada_builds_and_trains_one_step(tmp_path: Path) -> None:
    from maskgen.training.loop import Trainer

    registry = registry_of(apa_plugin, ada_plugin)
    stack = build_augmenter("apa+ada", {"apa": {"p": 0.5}, "ada": {"p": 0.2}}, _context(), registry)
    assert [type(part).__name__ for part in stack.parts] == ["APAAugmenter", "AdaAugmenter"]
    set_registry(registry)
    config = validate_config(
        tiny_config_values(augment="apa+ada", augment_options={"apa": {"p": 1.0}, "ada": {"p": 0.5}})
    )
    trainer = Trainer(config, tmp_path)
    calls: list[int] = []
    make_fakes = trainer.make_fakes
    trainer.make_fakes = lambda count, use_ema=False, rows=None: (
        calls.append(count) or make_fakes(count, use_ema, rows)
    )
    out = trainer.step()
    assert calls == [config.batch]  # p = 1: every real of the minibatch became a pseudo real
    assert torch.isfinite(out["loss/D"])
    stats = trainer.augmenter.stats()
    assert stats["augment/apa/strength"] == 1.0 and stats["augment/ada/strength"] == 0.5
    # The augmenters' state travels with the checkpoint, the way Trainer.load restores it.
    trainer.augmenter.parts[0].p.fill_(0.75)
    tensors, _ = load_checkpoint(trainer.save_checkpoint()).training_state()
    resumed = build_augmenter("apa+ada", config.augment_options, _context(), registry)
    load_strict(resumed, split_weights(tensors, "augmenter"), "augmenter")
    assert float(resumed.parts[0].p) == 0.75 and int(resumed.parts[0].minibatches) == 1
    assert float(resumed.parts[1].pipe.p) == 0.5


def test_unknown_option_of_apa_is_one_line_error() -> None:
    with pytest.raises(MaskgenError, match="bad options for augmenter 'apa'"):
        build_augmenter("apa", {"speed": 3}, _context(), registry_of(apa_plugin))


def test_installed_distribution_provides_apa() -> None:
    require_installed("maskgen-augment-apa")
    spec = PluginRegistry().get("augmenter", "apa")
    assert (spec.distribution, spec.version) == ("maskgen-augment-apa", md.version("maskgen-augment-apa"))
