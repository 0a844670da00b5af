"""The correspondence's known-answer test on a tiny case: a mask moved by a known random warp is the
reference and its own sketch the sketch; a correspondence that works warps it back.

The tiny case also shows why CoCosNet's warp collapsed to the identity on aligned frontal masks:
trained on references that sit where the sketch's mask sits, the identity is the right answer on every
pair, and the learned warp is no better than the identity; trained on moved references
(``reference_motion``), it learns to match content and undoes an unseen warp.
"""

from __future__ import annotations

import pytest
import torch

from maskgen.data.datasets import load_training_images
from maskgen.data.sketch import xdog
from maskgen.translation.deform import deform
from maskgen.translation.quality import known_warp_case, known_warp_scores
from maskgen_cocosnet.correspondence import CorrespondenceNet
from maskgen_cocosnet.model import motion_params

SIZE, STEPS, BATCH = 32, 150, 8


def _masks(seed: int, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, _, _ = load_training_images("builtin-detailed", SIZE, seed, count)
    raw = torch.from_numpy(images).permute(0, 3, 1, 2)
    return raw.float() / 127.5 - 1, xdog(raw)


def _train(motion: float) -> CorrespondenceNet:
    """The correspondence alone, supervised by the warp's L1 to the target (CoCosNet's warp_self)."""
    torch.manual_seed(0)
    images, sketches = _masks(seed=0, count=64)
    net = CorrespondenceNet(SIZE, corr_size=8, nf=16, channels=32, temperature=0.01, coord=False)
    opt = torch.optim.Adam(net.parameters(), 1e-3, betas=(0.5, 0.99))
    for _ in range(STEPS):
        index = torch.randint(len(images), (BATCH,))
        target = images[index]
        reference = deform(target, motion_params(motion)) if motion > 0 else target
        loss = (net(sketches[index], reference).warp - target).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


@torch.no_grad()
def _score(net: CorrespondenceNet) -> dict:
    case = known_warp_case(_masks(seed=1, count=32)[0], seed=2)
    warp = net(case["sketch"], case["reference"]).warp
    return known_warp_scores(warp, case["reference"], case["original"])


@pytest.mark.slow
def test_moved_references_teach_a_warp_the_aligned_ones_do_not() -> None:
    torch.manual_seed(0)
    untrained = _score(CorrespondenceNet(SIZE, 8, 16, 32, 0.01, False))
    moved, aligned = _score(_train(motion=1.5)), _score(_train(motion=0.0))
    assert untrained["error_ratio"] > 1.2  # a random correspondence scrambles the reference
    assert moved["error_ratio"] < 0.9 and moved["wins"] > 0.65
    assert aligned["error_ratio"] > moved["error_ratio"] + 0.05
