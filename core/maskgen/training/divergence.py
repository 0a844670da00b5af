"""Stopping a run whose losses or weights stopped being finite, before a bad checkpoint is written.

Shared by the GAN trainer and the translation trainer.
"""

from __future__ import annotations

import math

import torch

from maskgen.errors import MaskgenError


class TrainingDiverged(MaskgenError):
    """A loss or a weight became NaN/inf; the last good checkpoint is kept as it is."""


def check_finite_losses(scalars: dict[str, float], iteration: int, nimg: int) -> None:
    """Raise TrainingDiverged naming the first non-finite loss."""
    for name, value in scalars.items():
        if not math.isfinite(value):
            raise TrainingDiverged(
                f"training diverged by iteration {iteration} (kimg {nimg / 1000:.3f}): "
                f"{name} = {value}; the last good checkpoint was kept"
            )


def check_finite_weights(modules: dict[str, torch.nn.Module], nimg: int) -> None:
    """Raise TrainingDiverged naming the first parameter with a NaN or inf (keyed by module label)."""
    for prefix, module in modules.items():
        for name, param in module.named_parameters():
            if not torch.isfinite(param).all():
                raise TrainingDiverged(
                    f"training diverged at kimg {nimg / 1000:.3f}: {prefix}.{name} is not "
                    "finite; the last good checkpoint was kept"
                )
