"""Classifier two-sample test (C2ST, Lopez-Paz & Oquab 2017): can a small CNN tell real from fake?

Both sets are brought to the same number of images (the larger one is subsampled), resized to
:data:`C2ST_SIZE` px, and split per class into a training part and a held-out part
(:data:`TEST_FRACTION` of each). A three-layer CNN is trained from scratch on the training part
(:data:`STEPS` Adam steps of :data:`BATCH`, no augmentation), always on the CPU with a fixed seed, so
the same images give the same number on every machine. Its accuracy on the held-out part is the
result: 0.5 = the sets cannot be told apart, 1 = they are perfectly separable. With n held-out images
the standard error is sqrt(acc (1 - acc) / n); the 95% interval is Wilson's, and ``p_value`` is the
one-sided exact binomial probability of at least that many correct answers by chance.

It needs no pretrained weights, only a few seconds of CPU for ~500 images per side.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from maskgen.errors import MaskgenError
from maskgen.evaluation.context import EvalContext
from maskgen.evaluation.metrics.base import Entries, Metric

C2ST_SIZE = 32
TEST_FRACTION = 0.4
STEPS = 300
BATCH = 64
LR = 2e-3
MIN_PER_SIDE = 10


def _small_cnn(size: int) -> nn.Module:
    cells = (size // 8) ** 2
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(16, 32, 3, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(32, 64, 3, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(64 * cells, 1),
    )


def _prepare(images: np.ndarray, size: int) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float [N, 3, size, size] in [-1, 1] (area-averaged when shrinking)."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x


def wilson_interval(correct: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def binomial_p_value(correct: int, n: int) -> float:
    """P(X >= correct) for X ~ Binomial(n, 1/2): exact, in integer arithmetic."""
    return sum(math.comb(n, k) for k in range(correct, n + 1)) / 2**n


def _train_and_score(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    size: int,
    steps: int,
    batch: int,
    seed: int,
) -> torch.Tensor:
    """Train the CNN on the CPU from seed ``seed``; its logits on ``x_test`` (> 0: real)."""
    # fork_rng leaves the caller's random stream alone; enable_grad trains even inside a no_grad caller.
    with torch.random.fork_rng(devices=[]), torch.enable_grad():
        torch.manual_seed(seed)
        model = _small_cnn(size)
        optimizer = torch.optim.Adam(model.parameters(), lr=LR)
        draws = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(steps):
            index = torch.randint(len(x_train), (min(batch, len(x_train)),), generator=draws)
            loss = F.binary_cross_entropy_with_logits(model(x_train[index])[:, 0], y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            return torch.cat([model(x_test[i : i + 256])[:, 0] for i in range(0, len(x_test), 256)])


def c2st(
    real: np.ndarray,
    fake: np.ndarray,
    seed: int = 0,
    size: int = C2ST_SIZE,
    steps: int = STEPS,
    batch: int = BATCH,
    test_fraction: float = TEST_FRACTION,
) -> dict[str, Any]:
    """Held-out accuracy of a CNN trained to tell uint8 ``real`` from ``fake`` images [N, H, W, 3]."""
    if size % 8 or size < 8:
        raise ValueError(f"the C2ST input size must be a multiple of 8, got {size}")
    per_side = min(len(real), len(fake))
    n_test = int(round(per_side * test_fraction))
    if per_side < MIN_PER_SIDE or n_test < 1 or per_side - n_test < 1:
        raise MaskgenError(
            f"the classifier two-sample test needs at least {MIN_PER_SIDE} images per set, "
            f"got {len(real)} real and {len(fake)} fake"
        )
    rng = np.random.default_rng(seed)
    pick_real = np.sort(rng.permutation(len(real))[:per_side])
    pick_fake = np.sort(rng.permutation(len(fake))[:per_side])
    order_real, order_fake = rng.permutation(per_side), rng.permutation(per_side)
    x_real = _prepare(real[pick_real[order_real]], size)
    x_fake = _prepare(fake[pick_fake[order_fake]], size)
    x_train = torch.cat([x_real[n_test:], x_fake[n_test:]])
    y_train = torch.cat([torch.ones(per_side - n_test), torch.zeros(per_side - n_test)])
    x_test = torch.cat([x_real[:n_test], x_fake[:n_test]])
    y_test = torch.cat([torch.ones(n_test), torch.zeros(n_test)])

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one fixed reduction order; a model this small is no faster on more
    try:
        logits = _train_and_score(x_train, y_train, x_test, size, steps, batch, seed)
    finally:
        torch.set_num_threads(threads)
    correct = int(((logits > 0).float() == y_test).sum())
    n = len(y_test)
    accuracy = correct / n
    low, high = wilson_interval(correct, n)
    return {
        "value": accuracy,
        "stderr": math.sqrt(accuracy * (1 - accuracy) / n),
        "ci95": [low, high],
        "p_value": binomial_p_value(correct, n),
        "test_images": n,
        "train_images": len(y_train),
        "per_side": per_side,
        "input_size": size,
        "steps": steps,
        "batch": batch,
        "seed": seed,
    }


# --------------------------------------------------------------------------------------------------
# The evaluator
# --------------------------------------------------------------------------------------------------


class C2ST(Metric):
    """Classifier two-sample test: held-out accuracy of a small CNN, real vs fake (0.5 best)."""

    name, keys, table = "c2st", ("c2st",), "weightless"
    note = (
        "C2ST acc[cnn]: held-out accuracy ± standard error of a small CNN trained to tell the model's "
        "images from the real ones (0.5: indistinguishable, 1: perfectly separable)."
    )

    def measure(self, context: EvalContext) -> Entries:
        result = c2st(context.real.images, context.fake.images, seed=self.options.seed)
        context.tracker.task("C2ST (train a small CNN)", 1)(1)
        # 0.5: real and fake cannot be told apart; closer to 0.5 is better.
        return {"c2st": {"label": "C2ST acc[cnn]", "higher_is_better": False, "best": 0.5} | result}

    def summary(self, key: str, entry: dict[str, Any]) -> tuple[str, str]:
        low, high = entry["ci95"]
        detail = (
            f"± {entry['stderr']:.3f} (95% CI {low:.3f}-{high:.3f}), {entry['test_images']} held-out "
            "images; 0.5 = indistinguishable, 1 = separable"
        )
        return f"{entry['value']:.4f}", detail
