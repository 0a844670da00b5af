"""Perceptual path length: against the closed form of a linear generator, and through `maskgen eval`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from maskgen.cli.main import app
from maskgen.config import validate_config
from maskgen.data.procedural import render_masks
from maskgen.evaluation.features.perceptual import Lpips
from maskgen.evaluation.metrics.path_length import path_lengths, perceptual_path_length
from maskgen.testing import assert_one_line_error, tiny_config_values
from maskgen.training.loop import train


class SquaredDistance(Lpips):
    """A stand-in for LPIPS with a closed form: the sum of squared pixel differences."""

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return ((a.double() - b.double()) ** 2).flatten(1).sum(dim=1)


class LinearGenerator(torch.nn.Module):
    """w = z, image = A w (+ a bend ``bend * sin(w_0)``, not linear), reshaped to [3, 4, 4]."""

    z_dim = 8
    c_dim = 0

    def __init__(self, scale: float = 1.0, bend: float = 0.0) -> None:
        super().__init__()
        self.A = torch.nn.Parameter(scale * torch.randn(48, 8, generator=torch.Generator().manual_seed(3)))
        self.bend = bend

    def mapping(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return z.unsqueeze(1)  # one w per image, as [N, num_ws, w_dim]

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "const") -> torch.Tensor:
        w = ws[:, 0].double()
        x = w @ self.A.double().T + self.bend * torch.sin(3 * w[:, :1])
        return (x.view(-1, 3, 4, 4) * 2 - 1).float()  # path_lengths maps [-1, 1] back to [0, 1]


def test_a_linear_generator_gives_the_closed_form() -> None:
    # image(t) is linear in w, so each step is |A (w1 - w0)|^2 eps^2 / eps^2 whatever t is, and with
    # w1 - w0 ~ N(0, 2I) its expectation is 2 |A|_F^2.
    G = LinearGenerator()
    lengths = path_lengths(G, SquaredDistance(), num=4000, epsilon=1e-3, seed=0)
    expected = 2 * float((G.A.detach().double() ** 2).sum())
    assert lengths.mean() == pytest.approx(expected, rel=0.05)
    # The same walks, three times the image: nine times the length.
    tripled = path_lengths(LinearGenerator(scale=3.0), SquaredDistance(), num=256, epsilon=1e-3, seed=1)
    again = path_lengths(G, SquaredDistance(), num=256, epsilon=1e-3, seed=1)
    np.testing.assert_allclose(tripled, 9 * again, rtol=1e-3)


def test_a_bent_generator_has_a_longer_path_and_the_filter_drops_the_tails() -> None:
    straight = perceptual_path_length(path_lengths(LinearGenerator(), SquaredDistance(), 512, seed=2))
    bent = perceptual_path_length(path_lengths(LinearGenerator(bend=5.0), SquaredDistance(), 512, seed=2))
    assert bent > 1.2 * straight
    lengths = np.concatenate([np.ones(98), [1e6, -1e6]])  # one outlier each side of 98 ones
    assert perceptual_path_length(lengths) == pytest.approx(1.0)


def test_eval_reports_ppl_of_a_checkpoint_and_refuses_images(cli, tmp_path: Path) -> None:
    run = train(validate_config(tiny_config_values(kimg=0.008)), out_root=tmp_path / "runs")
    out = tmp_path / "ppl.json"
    args = ["eval", "--real", "builtin", "--fake", str(run), "--num", "24", "-m", "ppl", "--json", str(out)]
    result = cli.invoke(app, [*args, "-q"])
    assert result.exit_code == 0, result.output
    entry = json.loads(out.read_text())["metrics"]["ppl"]
    assert entry["label"] == "PPL[masknet]" and entry["walks"] == 24
    assert np.isfinite(entry["value"]) and entry["value"] > 0
    # Images have no latent space to walk.
    folder = tmp_path / "fakes"
    folder.mkdir()
    for i, image in enumerate(render_masks(4, 16, seed=1)[0]):
        Image.fromarray(image).save(folder / f"{i}.png")
    line = assert_one_line_error(
        cli.invoke(app, ["eval", "--real", "builtin", "--fake", str(folder), "-m", "ppl", "-q"])
    )
    assert "ppl measures a generator" in line
