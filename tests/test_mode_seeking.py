"""The mode-seeking term (Mao et al. 2019): hand-computed values, its pull, and a run that uses it."""

from __future__ import annotations

import json

import pytest
import torch

from maskgen.config import validate_config
from maskgen.testing import tiny_config_values
from maskgen.training.loop import train
from maskgen.training.mode_seeking import EPS, mode_seeking_term


def test_the_term_is_the_mean_inverse_ratio_of_the_pairs_distances() -> None:
    # Pair 0: images 0 and 2 differ by 0.5 everywhere, latents by 1 -> ratio 0.5, term 2.
    # Pair 1: images 1 and 3 differ by 0.25, latents by 2 -> ratio 0.125, term 8. Mean: 5.
    fakes = torch.zeros(4, 3, 16, 16)
    fakes[2] += 0.5
    fakes[3] += 0.25
    z = torch.zeros(4, 8)
    z[2] += 1
    z[3] += 2
    expected = (1 / (0.5 + EPS) + 1 / (0.125 + EPS)) / 2
    assert mode_seeking_term(fakes, z).item() == pytest.approx(expected, rel=1e-6)
    assert mode_seeking_term(fakes[:1], z[:1]).item() == 0  # no pair


def test_only_the_layout_counts_not_pixel_noise() -> None:
    # A checkerboard of +-1 averages away in 4x4 blocks (64 px -> 16 px): it adds no distance.
    fakes = torch.zeros(2, 3, 64, 64)
    fakes[1] = 0.5
    board = (torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2 * 2 - 1
    noisy = fakes.clone()
    noisy[1] = noisy[1] + board
    z = torch.tensor([[0.0], [1.0]])
    assert mode_seeking_term(noisy, z).item() == pytest.approx(mode_seeking_term(fakes, z).item(), rel=1e-6)


def test_a_gradient_step_on_the_term_pushes_the_pair_apart() -> None:
    torch.manual_seed(0)
    fakes = (0.1 * torch.randn(2, 3, 16, 16)).requires_grad_(True)
    z = torch.randn(2, 4)
    before = (fakes[0] - fakes[1]).abs().mean().item()
    mode_seeking_term(fakes, z).backward()
    with torch.no_grad():
        fakes -= 0.01 * fakes.grad  # type: ignore[operator]
    assert (fakes[0] - fakes[1]).abs().mean().item() > before


def test_a_run_with_the_term_logs_it(tmp_path) -> None:
    values = tiny_config_values(mode_seeking_weight=1.0, init="none")
    run = train(validate_config(values), out_root=tmp_path)
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(line["loss/ms"] > 0 for line in lines)
    plain = train(validate_config(tiny_config_values(init="none")), out_root=tmp_path)
    plain_lines = (plain / "metrics.jsonl").read_text().splitlines()
    assert all("loss/ms" not in json.loads(line) for line in plain_lines)
