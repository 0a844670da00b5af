"""The cross-domain correspondence term (Ojha et al. 2021): a hand-computed case, what it preserves, and
runs that use it (new, resumed, refused from scratch)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from maskgen.artifacts.checkpoint import load_checkpoint, split_weights
from maskgen.config import validate_config
from maskgen.errors import MaskgenError
from maskgen.networks.stylegan2 import Generator
from maskgen.testing import TINY_GENERATOR, tiny_config_values
from maskgen.training.correspondence import (
    CrossDomainCorrespondence,
    block_features,
    correspondence_divergence,
)
from maskgen.training.loop import train


def _tiny_generator(seed: int) -> Generator:
    torch.manual_seed(seed)
    return Generator(img_resolution=16, **TINY_GENERATOR)


def _reference_divergence(source: list[list[float]], target: list[list[float]]) -> float:
    """KL(p_source || p_target) averaged over samples, written out from the paper's definition."""

    def distributions(vectors: list[list[float]]) -> list[list[float]]:
        def cosine(a: list[float], b: list[float]) -> float:
            dot = sum(x * y for x, y in zip(a, b, strict=True))
            return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

        rows = []
        for i, anchor in enumerate(vectors):
            sims = [cosine(anchor, other) for j, other in enumerate(vectors) if j != i]
            total = sum(math.exp(s) for s in sims)
            rows.append([math.exp(s) / total for s in sims])
        return rows

    p, q = distributions(source), distributions(target)
    per_sample = [
        sum(a * math.log(a / b) for a, b in zip(pr, qr, strict=True)) for pr, qr in zip(p, q, strict=True)
    ]
    return sum(per_sample) / len(per_sample)


def test_divergence_matches_a_hand_computed_case() -> None:
    source = [[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.0, 0.0, 2.0], [-1.0, 1.0, 1.0]]
    target = [[1.0, 0.2, 0.0], [0.1, 1.0, 0.0], [0.5, 0.0, 1.0], [0.3, 0.3, 0.3]]
    as_features = [torch.tensor(v).view(4, 3, 1, 1) for v in (source, target)]
    got = correspondence_divergence([as_features[0]], [as_features[1]])
    assert got.item() == pytest.approx(_reference_divergence(source, target), rel=1e-5)
    # Two blocks add up; identical features diverge by nothing; scale does not matter (cosine).
    doubled = correspondence_divergence([as_features[0]] * 2, [as_features[1]] * 2)
    assert doubled.item() == pytest.approx(2 * got.item(), rel=1e-6)
    same = correspondence_divergence([as_features[0]], [3 * as_features[0]])
    assert abs(same.item()) < 1e-6


def test_features_come_from_every_synthesis_block() -> None:
    G = _tiny_generator(0)
    with block_features(G) as features:
        G(torch.randn(5, G.z_dim), noise_mode="const")
    resolutions = G.synthesis_network.block_resolutions
    assert [f.shape[-1] for f in features] == resolutions
    assert all(f.shape[0] == 5 for f in features)
    with block_features(G) as after:  # the hooks are gone once the block ends
        pass
    G(torch.randn(2, G.z_dim))
    assert after == []


def test_the_term_keeps_samples_apart_while_g_is_pulled_to_one_image() -> None:
    """Fine-tuning towards a single image collapses G's samples onto it; with the term the samples
    stay about as different from each other as the source drew them."""
    target_image = torch.zeros(1, 3, 16, 16)
    target_image[:, 0] = 1.0

    def fine_tune(weight: float) -> float:
        G = _tiny_generator(1)
        correspondence = CrossDomainCorrespondence(G, weight) if weight > 0 else None
        source = _tiny_generator(1)
        optimizer = torch.optim.Adam(G.parameters(), lr=1e-2)
        torch.manual_seed(2)
        for _ in range(15):
            z = torch.randn(4, G.z_dim)
            loss = (G(z, noise_mode="const") - target_image).square().mean()
            if correspondence is not None:
                loss = loss + correspondence.loss(G, z)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        torch.manual_seed(3)
        z = torch.randn(8, G.z_dim)
        with torch.no_grad(), block_features(source) as before, block_features(G) as now:
            source(z, noise_mode="const")
            G(z, noise_mode="const")
        return correspondence_divergence(before, now).item()

    without, with_term = fine_tune(0.0), fine_tune(1000.0)  # measured: 0.0167 and 0.0052
    assert with_term < 0.5 * without, (without, with_term)


@pytest.mark.slow
def test_a_run_with_the_term_keeps_its_source_across_a_resume(tmp_path: Path) -> None:
    torch.manual_seed(0)
    start = train(
        validate_config(tiny_config_values(init="none", kimg=0.008, snapshot_kimg=0.008)), tmp_path / "a"
    )
    values = tiny_config_values(init=str(start), cdc_weight=10.0, kimg=0.008, snapshot_kimg=0.008)
    run = train(validate_config(values), out_root=tmp_path / "b")
    logged = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("loss/cdc" in entry for entry in logged)
    source_weights = split_weights(load_checkpoint(start).weights, "G_ema")

    def saved_source(path: Path) -> dict[str, torch.Tensor]:
        tensors, _ = load_checkpoint(path).training_state()
        return split_weights(tensors, "cdc_source")

    first = saved_source(run)
    assert first.keys() >= source_weights.keys()
    for key, value in source_weights.items():
        torch.testing.assert_close(first[key], value, rtol=0, atol=0)
    # Resumed for more kimg, the source is still the starting model, not the run's latest G.
    config = json.loads((run / "config.json").read_text()) | {"kimg": 0.016}
    (run / "config.json").write_text(json.dumps(config))
    train(validate_config(config), resume_dir=run)
    for key, value in source_weights.items():
        torch.testing.assert_close(saved_source(run)[key], value, rtol=0, atol=0)


def test_the_term_from_scratch_is_refused_in_one_line(tmp_path: Path) -> None:
    values = tiny_config_values(init="none", cdc_weight=1.0)
    with pytest.raises(MaskgenError, match="cdc_weight keeps the variety"):
        train(validate_config(values), out_root=tmp_path)
    assert not any(tmp_path.iterdir())  # refused before the run directory exists
