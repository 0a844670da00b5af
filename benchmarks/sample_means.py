#!/usr/bin/env python
"""Per-pixel mean and standard deviation of reals and of a checkpoint's samples, side by side.

    python benchmarks/sample_means.py CHECKPOINT HELDOUT_DIR OUT.png [--num 500]

A generator that draws few layouts shows them in its mean image as a sharp pattern, where the mean of
varied reals is a soft blur (docs/performance.md, "what the two-sample test sees"). Reals are read as
the run's training images were (framed when it was trained with ``--frame``); samples use seeds
0..num-1 and ``--noise-mode const``. Panels: real mean, sample mean, real std, sample std (the std
scaled by 2 to show). It also prints two numbers on the grey images: how sharp each mean image is
(mean absolute Laplacian, in grey levels: the higher, the fewer layouts) and how far the samples' mean
is from the reals' (mean absolute difference, grey levels): a run that took on the collection's
layouts has its mean near the collection's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image


def panels(reals: np.ndarray, fakes: np.ndarray) -> np.ndarray:
    """uint8 [H, 4 W, 3]: the mean and the (doubled) standard deviation of each set."""

    def stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = x.astype(np.float64)
        return x.mean(axis=0), np.repeat(x.std(axis=0).mean(axis=-1, keepdims=True) * 2, 3, axis=-1)

    real_mean, real_std = stats(reals)
    fake_mean, fake_std = stats(fakes)
    row = np.concatenate([real_mean, fake_mean, real_std, fake_std], axis=1)
    return np.clip(row, 0, 255).round().astype(np.uint8)


def _grey_mean(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float64).mean(axis=(0, -1))


def mean_sharpness(images: np.ndarray) -> float:
    """Mean absolute 4-neighbour Laplacian of the grey mean image (edges replicated), grey levels."""
    mean = np.pad(_grey_mean(images), 1, mode="edge")
    laplacian = mean[:-2, 1:-1] + mean[2:, 1:-1] + mean[1:-1, :-2] + mean[1:-1, 2:] - 4 * mean[1:-1, 1:-1]
    return float(np.abs(laplacian).mean())


def mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of the two sets' grey mean images, grey levels."""
    return float(np.abs(_grey_mean(a) - _grey_mean(b)).mean())


def main() -> None:
    from c2st_cues import reals_and_samples  # this folder: the same reals and samples as the cues

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint")
    parser.add_argument("heldout", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--num", type=int, default=500)
    args = parser.parse_args()
    reals, fakes, _ = reals_and_samples(args.checkpoint, args.heldout, args.num)
    picture = Image.fromarray(panels(reals, fakes))
    picture.resize((picture.width * 2, picture.height * 2), Image.Resampling.NEAREST).save(args.out)
    print(f"mean-image sharpness: reals {mean_sharpness(reals):.2f}, samples {mean_sharpness(fakes):.2f}")
    print(f"samples' mean from the reals' mean: {mean_distance(reals, fakes):.2f} grey levels")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    from maskgen.errors import MaskgenError

    try:
        main()
    except MaskgenError as exc:
        raise SystemExit(f"error: {exc}") from None
