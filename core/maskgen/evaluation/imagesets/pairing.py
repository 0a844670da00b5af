"""Which images are compared with which in the pairwise metrics (SSIM, MS-SSIM, LPIPS).

* real vs fake: the reals and the fakes are each shuffled (numpy ``default_rng(seed)``) and paired in
  that order, so each image is used at most once; there are min(#real, #fake, max_pairs) pairs.
* fake vs fake (diversity): the fakes are shuffled and paired two by two (1st with 2nd, 3rd with 4th,
  ...), so no image is compared with itself; there are min(#fake // 2, max_pairs) pairs.
"""

from __future__ import annotations

import numpy as np

from maskgen.errors import MaskgenError


def cross_pairs(
    n_a: int, n_b: int, seed: int = 0, max_pairs: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    count = min(n_a, n_b, max_pairs or n_a)
    if count < 1:
        raise MaskgenError("both image sets need at least one image to be paired")
    rng = np.random.default_rng(seed)
    return rng.permutation(n_a)[:count], rng.permutation(n_b)[:count]


def within_pairs(n: int, seed: int = 0, max_pairs: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    count = min(n // 2, max_pairs or n)
    if count < 1:
        raise MaskgenError("at least 2 generated images are needed to measure their diversity")
    order = np.random.default_rng(seed).permutation(n)
    return order[0 : 2 * count : 2], order[1 : 2 * count : 2]
