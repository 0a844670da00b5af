"""The projected discriminator (Sauer et al. 2021) and its eye, trained on the built-in masks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from maskgen.config import validate_config
from maskgen.errors import MaskgenError
from maskgen.networks.projected import MaskEye, ProjectedDiscriminator, load_eye, shipped_eye_info
from maskgen.testing import tiny_config_values
from maskgen.training.eye import EyeTrainConfig, nt_xent, random_view, train_eye
from maskgen.training.loop import Trainer, train


def _discriminator(c_dim: int = 0, resolution: int = 32) -> ProjectedDiscriminator:
    torch.manual_seed(0)
    return ProjectedDiscriminator(resolution, load_eye(), c_dim=c_dim, mbstd_group_size=2)


def test_only_the_heads_learn_and_the_eye_keeps_its_statistics() -> None:
    D = _discriminator()
    eye_before = {k: v.clone() for k, v in D.eye.state_dict().items()}
    mixing_before = {k: v.clone() for k, v in D.projection.state_dict().items()}
    trained = {name.split(".")[0] for name, _ in D.named_parameters()}
    assert trained == {"heads"}
    D.train()
    assert not D.eye.training  # batch norm must not take the GAN's batches' statistics
    opt = torch.optim.Adam(D.parameters(), lr=0.1)
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    for _ in range(2):
        opt.zero_grad()
        D(images).square().mean().backward()
        opt.step()
    for key, value in D.eye.state_dict().items():
        assert torch.equal(value, eye_before[key]), key
    for key, value in D.projection.state_dict().items():
        assert torch.equal(value, mixing_before[key]), key
    # The saved D holds the eye, so a checkpoint is whole without the shipped file.
    assert any(key.startswith("eye.stages.0.0.weight") for key in D.state_dict())


def test_the_logit_is_the_mean_of_one_head_per_eye_scale() -> None:
    D = _discriminator().eval()
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    # By hand: the eye sees the picture at 64 px; mixing; each head on its scale.
    upscaled = torch.nn.functional.interpolate(images, size=(64, 64), mode="bilinear", antialias=True)
    maps = D.projection(D.eye.feature_maps(upscaled))
    assert [m.shape[-1] for m in maps] == [32, 16, 8, 4]
    expected = sum(head(m) for head, m in zip(D.heads, maps, strict=True)) / 4
    assert torch.allclose(D(images), expected, atol=1e-5)


def test_a_conditional_projected_d_compares_each_head_with_the_class_embedding() -> None:
    D = _discriminator(c_dim=3).eval()
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    c = torch.eye(3)[[0, 1, 2, 0]]
    out = D(images, c)
    assert out.shape == (4, 1)
    assert not torch.allclose(D(images, torch.eye(3)[[1, 2, 0, 1]]), out)
    with pytest.raises(ValueError, match="conditional"):
        D(images)


def test_r1_reaches_through_the_frozen_eye() -> None:
    D = _discriminator()
    images = (torch.rand(4, 3, 32, 32) * 2 - 1).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(images).sum(), images, create_graph=True)
    assert grad.abs().sum() > 0
    grad.square().sum().backward()  # the penalty's gradient reaches the heads' weights (not biases:
    # a bias does not change dD/dx)
    weights = [p for p in D.heads[0].parameters() if p.ndim > 1]
    assert weights and all(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)


def test_a_missing_or_foreign_eye_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(MaskgenError, match=r"feature network is missing: .*nowhere\.safetensors"):
        load_eye(tmp_path / "nowhere.safetensors")
    save_file({"x": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(MaskgenError, match="is not a maskgen eye"):
        load_eye(tmp_path / "other.safetensors")


def test_the_contrastive_loss_by_hand() -> None:
    # Two masks whose views agree exactly and are orthogonal to each other: each view's partner has
    # similarity 1 / T, the two others 0, so the loss is -log(e^(1/T) / (e^(1/T) + 2)).
    a = torch.eye(4)[:2]
    t = 0.5
    expected = -math.log(math.exp(1 / t) / (math.exp(1 / t) + 2))
    assert nt_xent(a, a.clone(), t).item() == pytest.approx(expected, rel=1e-6)
    # Swapped partners are worse than matched ones.
    assert nt_xent(a, a.flip(0), t).item() > expected


def test_random_views_keep_the_range_and_change_the_picture() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(8, 3, 32, 32) * 2 - 1
    view = random_view(x, gen)
    assert view.shape == x.shape and view.min() >= -1 and view.max() <= 1
    assert (view - x).abs().mean() > 0.05
    # Without recolouring the hue is kept: a pure red picture stays red ...
    red = torch.tensor([1.0, -1.0, -1.0])[None, :, None, None].expand(64, 3, 32, 32)
    seen = random_view(red, gen).mean(dim=(2, 3))
    assert (seen[:, 0] > seen[:, 1] + 0.5).all() and (seen[:, 0] > seen[:, 2] + 0.5).all()
    # ... with it, about the asked share of views is green or blue (a shuffle may keep red: 1 in 3),
    # and grey views have three equal channels.
    seen = random_view(red, gen, recolour=1.0).mean(dim=(2, 3))
    moved = (seen.argmax(dim=1) != 0).float().mean().item()
    assert 0.45 < moved < 0.9  # 2/3 expected
    grey = random_view(red, gen, grey=1.0).mean(dim=(2, 3))  # the noise is per channel: compare means
    assert (grey.max(dim=1).values - grey.min(dim=1).values < 0.05).all()


@pytest.mark.slow
def test_the_eye_learns_to_find_a_masks_other_view(tmp_path: Path) -> None:
    out = tmp_path / "eye.safetensors"
    # Without recolouring, which slows the learning down (a test-sized run would not show it).
    config = EyeTrainConfig(
        count=256, epochs=4, batch=64, holdout_count=250, seed=7, holdout_seed=8, recolour=0.0, grey=0.0
    )
    info = train_eye(config, out)
    assert json.loads(out.with_suffix(".json").read_text())["heldout_retrieval"] == info["heldout_retrieval"]
    # Chance is 1 in 250; an untrained eye is measured the same way for the floor.
    gen = torch.Generator().manual_seed(0)
    from maskgen.data.procedural_mix import render_mix_masks_with_meta
    from maskgen.training.eye import _to_signed, retrieval_accuracy

    held, _, _ = render_mix_masks_with_meta(250, 64, seed=8)
    torch.manual_seed(0)
    untrained = retrieval_accuracy(MaskEye().eval(), _to_signed(held), gen)
    assert info["heldout_retrieval"] > max(3 * untrained, 0.05)
    assert isinstance(load_eye(out), MaskEye)


def test_the_shipped_eye_says_how_it_was_made() -> None:
    info = shipped_eye_info()
    assert info["data"] == "builtin-varied-mix" and "maskgen features train-eye" in info["reproduce"]
    assert info["heldout_retrieval"] > 20 * info["retrieval_chance"]
    # It sees layouts, not only colours: a mask with its colours shuffled still finds itself.
    assert info["layout_retrieval"] > 100 * info["retrieval_chance"]


def test_a_projected_run_takes_g_from_its_start_and_resumes_only_as_projected(tmp_path: Path) -> None:
    values = tiny_config_values(init="none", kimg=0.004, snapshot_kimg=0.004)
    start = train(validate_config(values), out_root=tmp_path / "a")
    projected = tiny_config_values(
        init=str(start), kimg=0.004, snapshot_kimg=0.004, lr_g=1e-12, lr_d=1e-12, ema_kimg=1e6
    )
    projected["generator_options"]["discriminator"] = "projected"
    messages: list[str] = []
    run = train(validate_config(projected), out_root=tmp_path / "b", on_message=messages.append)
    assert any(
        m.startswith("initialized G and G_ema (D starts new: the checkpoint's D is residual)")
        for m in messages
    )
    from maskgen.artifacts.checkpoint import load_checkpoint, split_weights

    before, after = load_checkpoint(start).weights, load_checkpoint(run).weights
    for key, value in split_weights(before, "G_ema").items():
        if key != "w_avg":
            assert torch.allclose(after[f"G_ema.{key}"], value, atol=1e-6), key
    assert any(key.startswith("D.heads.") for key in after)
    from maskgen.artifacts.modelcard import model_card

    card = model_card(load_checkpoint(run).config)
    assert "| discriminator | projected (Sauer et al. 2021)" in card
    # Resuming as the other kind of D, and FreezeD on the projected one, are one line each.
    values["generator_options"]["discriminator"] = "projected"
    with pytest.raises(MaskgenError, match="was trained with -G discriminator=residual"):
        Trainer(validate_config(values), tmp_path / "c").load(start)
    projected["freeze_d"] = 1
    with pytest.raises(MaskgenError, match="eye is always frozen"):
        Trainer(validate_config(projected), tmp_path / "d")


def test_a_pair_adds_the_two_judgements_and_takes_either_half_from_a_single_d() -> None:
    from maskgen.networks import Discriminator
    from maskgen.networks.projected import DiscriminatorPair, discriminator_state

    torch.manual_seed(0)
    residual = Discriminator(img_resolution=32, channel_base=256, channel_max=32, mbstd_group_size=2)
    pair = DiscriminatorPair(residual, _discriminator()).eval()
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    assert torch.allclose(pair(images), pair.residual(images) + pair.projected(images), atol=1e-6)
    assert pair.blocks is residual.blocks  # FreezeD acts on the residual half
    # A residual checkpoint fills the residual half and leaves the projected half as it is.
    other = Discriminator(img_resolution=32, channel_base=256, channel_max=32, mbstd_group_size=2)
    state = discriminator_state(pair, other.state_dict(), "residual", "both")
    assert state is not None
    pair.load_state_dict(state, strict=True)
    assert torch.equal(pair.residual.from_rgb.weight, other.from_rgb.weight)
    # ... and a pair's checkpoint gives a single D its half; residual and projected share nothing.
    half = discriminator_state(other, pair.state_dict(), "both", "residual")
    assert half is not None and half.keys() == other.state_dict().keys()
    assert discriminator_state(other, pair.projected.state_dict(), "projected", "residual") is None


def test_a_both_run_starts_today_s_half_from_the_base_model(tmp_path: Path) -> None:
    from maskgen.artifacts.checkpoint import load_checkpoint, split_weights

    start = train(
        validate_config(tiny_config_values(init="none", kimg=0.004, snapshot_kimg=0.004)), tmp_path / "a"
    )
    values = tiny_config_values(
        init=str(start), kimg=0.004, snapshot_kimg=0.004, lr_g=1e-12, lr_d=1e-12, ema_kimg=1e6, freeze_d=1
    )
    values["generator_options"]["discriminator"] = "both"
    messages: list[str] = []
    run = train(validate_config(values), out_root=tmp_path / "b", on_message=messages.append)
    assert any(m.startswith("initialized G, G_ema and the residual part of D") for m in messages)
    before, after = load_checkpoint(start).weights, load_checkpoint(run).weights
    for key, value in split_weights(before, "D").items():
        assert torch.allclose(after[f"D.residual.{key}"], value, atol=1e-6), key
    assert any(key.startswith("D.projected.heads.") for key in after)
    from maskgen.artifacts.modelcard import model_card

    card = model_card(load_checkpoint(run).config)
    assert "| discriminator | StyleGAN2's D and a projected (Sauer et al. 2021)" in card
