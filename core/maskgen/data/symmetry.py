"""Is a collection of masks left-right symmetric? What ``-G symmetric=auto`` decides from.

Most lianpu are mirror images of themselves; crooked faces (歪脸) are not. A photographed or scanned
mask is never pixel-exact, though: it sits a little off-centre, tilted, unevenly lit, and hand-painted
halves differ in detail. So an image counts as symmetric when, after the best small re-alignment, it
matches its own mirror image far better than it matches the mirror image of another mask of the same
collection:

    ratio(x) = min_T e(x, T(flip(x))) / median over pairs (x, y) of min_T e(x, T(flip(y)))

on 32 px copies (coarse layout and fields, not single brush strokes), where T runs over rotations up to
+-6 degrees and sideways shifts up to +-2 px (+-6% of the width), and e is the share of the central three
quarters' pixels whose colours clearly differ (:data:`PIXEL_DIFFERENCE`). Counting clearly different
pixels, not averaging differences, is what tells a crooked face (a few regions of another colour) from
a re-aligned photograph (small differences along every edge). The ratio is 0 for an exact mirror
image and about 1 for an unrelated one.

The thresholds come from the detailed built-in masks, exact and "photographed" (rotated up to 4
degrees, shifted and scaled by up to 4-8%, lit unevenly, with sensor noise; ``tests/test_symmetry.py``
makes them). The photographed symmetric masks score a median ratio of 0.07 (95th percentile 0.23),
the photographed crooked faces 0.38 (5th percentile 0.30), the exact crooked faces 0.40 (5th
percentile 0.26). An image is symmetric below :data:`IMAGE_RATIO_LIMIT`; a collection is when at least
:data:`SET_SHARE_LIMIT` of its images are (98% of the photographed symmetric masks, 10% of the exact
crooked faces, 0% of the photographed ones).

``builtin-photographed`` frames its masks up to 5% off-centre: 79% of them are symmetric about the
image centre, so G is not mirrored, and rightly: a G mirrored on them drew pinched faces (a mask's
two halves pulled to the centre) and a worse FD (2.32 against 1.65 after 15 minutes). With shifts up
to +-4 px 98% are symmetric; the verdict then says they are symmetric but off-centre, and framed
(``--frame``) 96% of them are symmetric about the centre and G is mirrored. Framing must cut at
sub-pixel precision for this: cut at whole pixels, a folder of exact detailed masks fell from 94% to 78%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

# A pixel differs "clearly" from its mirror pixel above this mean absolute RGB difference (0-1 units):
# well above uneven lighting and sensor noise, well below a different paint colour.
PIXEL_DIFFERENCE = 0.25
IMAGE_RATIO_LIMIT = 0.27
SET_SHARE_LIMIT = 0.8
LOW_RESOLUTION = 32
MAX_ANGLE_DEGREES = 6.0
# At LOW_RESOLUTION; the affine grid scales it by the image size. A mask off-centre by d has its mirror
# image off by 2d. G mirrors about the image centre, so the decision allows +-2 px (+-6% of the width:
# masks up to 3% off-centre); +-4 px (masks up to 6% off) only tells a collection of symmetric masks
# that sit off-centre, which G could mirror once they are framed (maskgen.data.framing).
MAX_SHIFT_PIXELS = 2
OFF_CENTRE_SHIFT_PIXELS = 4
MAX_IMAGES = 256  # a seeded sample of larger collections: the share is a proportion
PAIRS = 256


@dataclass(frozen=True)
class SymmetryVerdict:
    """The decision and what it rests on."""

    symmetric: bool
    symmetric_images: int
    checked_images: int
    off_centre: bool = False  # not symmetric about the centre, but about an axis beside it

    @property
    def share(self) -> float:
        return self.symmetric_images / max(1, self.checked_images)

    def describe(self) -> str:
        return (
            f"{self.symmetric_images} of {self.checked_images} checked training images "
            f"({math.floor(self.share * 100)}%) are left-right symmetric"  # 79.7% is not 80%
        )


def _alignments(max_shift: int = MAX_SHIFT_PIXELS) -> list[tuple[float, float]]:
    """(angle in radians, shift in pixels) pairs the mirror image may be re-aligned by."""
    angles = np.linspace(-MAX_ANGLE_DEGREES, MAX_ANGLE_DEGREES, 7)
    shifts = range(-max_shift, max_shift + 1)
    return [(math.radians(float(a)), float(s)) for a in angles for s in shifts]


def _best_mirror_error(
    images: torch.Tensor, mirrors: torch.Tensor, alignments: list[tuple[float, float]]
) -> torch.Tensor:
    """Per row: min over alignments T of the share of central pixels where images and T(mirrors)
    clearly differ in colour."""
    import torch
    import torch.nn.functional as F

    n, _, size, _ = images.shape
    margin = size // 8
    best = torch.full((n,), float("inf"))
    for angle, shift in alignments:
        theta = torch.tensor(
            [[math.cos(angle), -math.sin(angle), 2 * shift / size], [math.sin(angle), math.cos(angle), 0.0]]
        )
        grid = F.affine_grid(theta.expand(n, 2, 3), list(mirrors.shape), align_corners=False)
        moved = F.grid_sample(mirrors, grid, padding_mode="border", align_corners=False)
        difference = (images - moved).abs().mean(dim=1)[:, margin:-margin, margin:-margin]
        error = (difference > PIXEL_DIFFERENCE).float().mean(dim=(1, 2))
        best = torch.minimum(best, error)
    return best


def mirror_ratios(images: np.ndarray, seed: int = 0, max_shift: int = MAX_SHIFT_PIXELS) -> np.ndarray:
    """:func:`ratio <maskgen.data.symmetry>` of each of (a seeded sample of at most :data:`MAX_IMAGES`
    of) the uint8 [N, H, W, 3] ``images``; N >= 2. ``max_shift``: the sideways re-alignment allowed,
    in pixels at :data:`LOW_RESOLUTION`."""
    import torch
    import torch.nn.functional as F

    if images.ndim != 4 or images.shape[-1] != 3 or len(images) < 2:
        raise ValueError(f"need at least two RGB images [N, H, W, 3], got shape {images.shape}")
    rng = np.random.default_rng(seed)
    if len(images) > MAX_IMAGES:
        images = images[np.sort(rng.choice(len(images), MAX_IMAGES, replace=False))]
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
        x = F.interpolate(x, size=(LOW_RESOLUTION, LOW_RESOLUTION), mode="area")
        mirrors = x.flip(3)
        alignments = _alignments(max_shift)
        own = _best_mirror_error(x, mirrors, alignments)
        first = torch.from_numpy(rng.integers(len(x), size=PAIRS))
        second = (first + torch.from_numpy(rng.integers(1, len(x), size=PAIRS))) % len(x)  # never itself
        between = _best_mirror_error(x[first], mirrors[second], alignments).median()
    return (own / between.clamp_min(1e-8)).numpy()


def judge_symmetry(images: np.ndarray, seed: int = 0) -> SymmetryVerdict:
    """Whether a collection is left-right symmetric about the image centre, enough for an exactly
    mirrored G (never for fewer than two images: nothing to compare with), and if not, whether it is
    about an axis off the centre."""
    if len(images) < 2:
        return SymmetryVerdict(False, 0, len(images))
    ratios = mirror_ratios(images, seed)
    symmetric = int((ratios < IMAGE_RATIO_LIMIT).sum())
    if symmetric / len(ratios) >= SET_SHARE_LIMIT:
        return SymmetryVerdict(True, symmetric, len(ratios))
    beside = mirror_ratios(images, seed, OFF_CENTRE_SHIFT_PIXELS)
    off_centre = bool((beside < IMAGE_RATIO_LIMIT).mean() >= SET_SHARE_LIMIT)
    return SymmetryVerdict(False, symmetric, len(ratios), off_centre)
