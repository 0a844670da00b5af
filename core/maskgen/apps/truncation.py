"""``maskgen generate --truncation-sweep 0.3,0.5,0.7,1.0``: the same seeds at several truncation psi.

One row per psi (in the order given), one column per seed: a row is exactly what ``maskgen generate
--truncation PSI`` draws for those seeds. Truncation pulls every w towards the tracked average w_avg
(``w_avg + psi * (w - w_avg)``): psi 0 gives the "average mask" in every cell, 1 the untruncated
samples; lower psi trades variety for typicality.
"""

from __future__ import annotations

import math

import torch

from maskgen.artifacts.generator import generate_images
from maskgen.errors import MaskgenError


def parse_psis(text: str) -> list[float]:
    """'0.3,0.5,1' -> [0.3, 0.5, 1.0]; anything else, or a non-finite value, is one line."""
    psis: list[float] = []
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        try:
            value = float(part)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise MaskgenError(f"bad --truncation-sweep {text!r}; use numbers, e.g. 0.3,0.5,0.7,1.0")
        psis.append(value)
    if not psis:
        raise MaskgenError(f"bad --truncation-sweep {text!r}; use numbers, e.g. 0.3,0.5,0.7,1.0")
    return psis


@torch.no_grad()
def truncation_sweep(
    G: torch.nn.Module,
    seeds: list[int],
    psis: list[float],
    noise_mode: str = "const",
    class_index: int | None = None,
) -> torch.Tensor:
    """[len(psis) * len(seeds), 3, H, W] in [-1, 1], psi-major: row p is ``psis[p]`` for every seed.
    ``class_index``: the class of a class-conditional G, as ``generate --class`` (None: its default)."""
    return torch.cat(
        [
            generate_images(G, seeds, truncation=psi, noise_mode=noise_mode, class_index=class_index)
            for psi in psis
        ]
    )
