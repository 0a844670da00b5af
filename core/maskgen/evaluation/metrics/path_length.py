"""Perceptual path length (Karras et al. 2019): how smoothly the masks change along a latent walk.

For random pairs of latents, w0 = map(z0) and w1 = map(z1), a point t ~ U(0, 1) on the line between
them and a step of epsilon along it, the path length is

    LPIPS(G(lerp(w0, w1, t)), G(lerp(w0, w1, t + epsilon))) / epsilon^2

and PPL is its mean after dropping the pairs below the 1st and above the 99th percentile (a few
pairs sit on a sharp change and would dominate the mean). That is the W-space, full-path variant
("ppl_wfull" in the StyleGAN2-ADA reference), with epsilon 1e-4. Noise inputs are held constant, so only
w moves. Lower means smoother walks: what path-length regularization during training is for. The value
depends on the LPIPS network (labelled, ``PPL[masknet]`` or ``PPL[alex]``), so compare like with like.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch

from maskgen.errors import MaskgenError
from maskgen.evaluation.context import EvalContext, EvalSettings
from maskgen.evaluation.features.perceptual import Lpips
from maskgen.evaluation.metrics.base import CommonOptions, Entries, Metric, preflight_network

EPSILON = 1e-4
PERCENTILES = (1, 99)


@torch.no_grad()
def path_lengths(
    G: torch.nn.Module,
    lpips: Lpips,
    num: int,
    epsilon: float = EPSILON,
    seed: int = 0,
    batch_size: int = 32,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """The scaled LPIPS step of ``num`` random walk points: float64 [num] (unfiltered)."""
    device = next(G.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    steps = []
    for start in range(0, num, batch_size):
        n = min(batch_size, num - start)
        z = torch.randn([2 * n, G.z_dim], generator=generator).to(device)
        t = torch.rand([n, 1, 1], generator=generator).to(device)
        c = None
        if getattr(G, "c_dim", 0):  # both ends of a walk share one class
            classes = torch.randint(G.c_dim, (n,), generator=generator).repeat(2)
            c = torch.nn.functional.one_hot(classes, G.c_dim).float().to(device)
        ws = G.mapping(z, c)
        w0, w1 = ws[:n], ws[n:]
        pair = torch.cat([torch.lerp(w0, w1, t), torch.lerp(w0, w1, t + epsilon)])
        images = (G.synthesis(pair, noise_mode="const").float() + 1) / 2  # LPIPS takes [0, 1]
        steps.append((lpips(images[:n], images[n:]) / epsilon**2).double().cpu())
        if progress is not None:
            progress(n)
    return torch.cat(steps).numpy()


def perceptual_path_length(lengths: np.ndarray) -> float:
    """The mean of the path lengths between the 1st and 99th percentiles."""
    low, high = np.percentile(lengths, PERCENTILES)
    kept = lengths[(lengths >= low) & (lengths <= high)]
    return float(kept.mean())


# --------------------------------------------------------------------------------------------------
# The evaluator
# --------------------------------------------------------------------------------------------------


class PathLengthOptions(CommonOptions):
    net: Literal["masknet", "alex"] = "masknet"
    weights: str | None = None  # the AlexNet file, or masknet weights other than the shipped ones


class PerceptualPathLength(Metric):
    """PPL of the generator the fakes are drawn from (one walk step per fake), on the LPIPS network;
    the reals play no part. Needs the fakes to come from a checkpoint."""

    name, keys, table = "ppl", ("ppl",), None

    def __init__(self, options: PathLengthOptions) -> None:
        super().__init__(options)
        self.feature_network = options.net

    def preflight(self, settings: EvalSettings) -> None:
        preflight_network(self.options.net, self.options.weights, settings)

    def measure(self, context: EvalContext) -> Entries:
        from maskgen.artifacts.generator import load_generator

        fake = context.fake
        checkpoint = fake.info.get("checkpoint")
        if fake.kind != "checkpoint" or not checkpoint:
            raise MaskgenError(
                "ppl measures a generator: give --fake a checkpoint or run directory, not images"
            )
        G, _ = load_generator(checkpoint, context.device)
        name = self.options.net
        net = context.lpips(name, self.options.weights)
        walks = len(fake.images)
        progress = context.tracker.task("path length", walks)
        lengths = path_lengths(G, net, walks, seed=self.options.seed, progress=progress)
        entry = {
            "label": f"PPL[{name}]",
            "value": perceptual_path_length(lengths),
            "walks": walks,
            "epsilon": EPSILON,
            "median": float(np.median(lengths)),
            "feature_network": name,
            "higher_is_better": False,
        }
        return {"ppl": entry}

    def summary(self, key: str, entry: dict[str, Any]) -> tuple[str, str]:
        detail = f"{entry['walks']} walk steps in W, epsilon {entry['epsilon']:g}; lower = smoother walks"
        return f"{entry['value']:.4f}", detail
