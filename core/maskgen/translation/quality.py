"""Weightless measures of a translator: does the output follow the sketch, take the reference's colours,
and does the warp find a correspondence whose answer is known.

* :func:`line_f1`: XDoG lines of the output against the sketch's lines, a line pixel counting as found
  when the other map has a line within ``tolerance`` pixels (a (2t+1)^2 neighbourhood). Precision: the
  output's lines that are in the sketch; recall: the sketch's lines that the output drew. The default
  tolerance is size // 128 px (0 at 64 px, 2 at 256 px): detailed masks at 64 px are 22% line pixels,
  so a 3x3 window finds a line almost anywhere (F1 0.91 for another mask's lines, 1.0 for the own;
  exact matching gives 0.44 and 1.0).
* :class:`ColourCharacter`: the seven-colour histogram (:func:`maskgen.evaluation.metrics.pixelstats.
  colour_histogram`) of one mask, classified by the nearest class centroid fitted on labelled masks. The
  dominant colour alone does not work on lianpu: the black linework outweighs the character colour on
  most detailed masks (37% agreement with the labels on 200 held-out masks), the nearest centroid of the
  whole histogram gets 99.3%.
* :func:`known_warp_scores`: a mask deformed by a known random warp is the reference, its own sketch is
  the sketch; a correspondence that works warps the reference back onto the original, so the warped
  reference must be much closer to the original than the unwarped one (the identity baseline).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from maskgen.data.sketch import XDoGParams, xdog
from maskgen.evaluation.metrics.pixelstats import BACKGROUND_DISTANCE, colour_histogram
from maskgen.translation.deform import DeformParams, deform

LINE_THRESHOLD = 0.5  # sketches are in [0, 1], 0 = ink: darker than this is a line pixel

# The known answer: moves of the pattern larger than the training pseudo exemplars' (DeformParams()),
# no flip (a mirrored symmetric mask is its own answer) and no crop (part of the face would be gone).
KNOWN_WARP = DeformParams(
    tps_prob=0.5,
    max_rotation_deg=10.0,
    scale_range=(0.88, 1.12),
    max_shift=0.08,
    tps_strength=0.05,
    crop_range=(1.0, 1.0),
    flip_prob=0.0,
)


def line_pixels(sketch: torch.Tensor) -> torch.Tensor:
    """[N, 1, H, W] sketch in [0, 1] -> bool [N, 1, H, W], True on ink."""
    return sketch < LINE_THRESHOLD


def _near(lines: torch.Tensor, tolerance: int) -> torch.Tensor:
    if tolerance <= 0:
        return lines
    k = 2 * tolerance + 1
    return F.max_pool2d(lines.float(), k, stride=1, padding=tolerance) > 0


def default_tolerance(size: int) -> int:
    return size // 128


def line_f1(
    outputs: torch.Tensor,
    sketches: torch.Tensor,
    params: XDoGParams | None = None,
    tolerance: int | None = None,
) -> dict[str, float]:
    """Mean per-image precision, recall and F1 of XDoG(output) lines against the sketch's lines.

    ``outputs`` [N, 3, H, W] in [-1, 1]; ``sketches`` [N, 1, H, W] in [0, 1]. An image without lines on
    one side scores 0 for that side (an output that draws nothing has recall 0).
    """
    if tolerance is None:
        tolerance = default_tolerance(outputs.shape[-1])
    u8 = ((outputs.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return line_agreement(line_pixels(xdog(u8, params)), line_pixels(sketches), tolerance)


def line_agreement(drawn: torch.Tensor, wanted: torch.Tensor, tolerance: int = 1) -> dict[str, float]:
    """Precision, recall and F1 (means over images) of bool line maps [N, 1, H, W] within ``tolerance``."""
    hit_drawn = (drawn & _near(wanted, tolerance)).flatten(1).sum(1).double()
    hit_wanted = (wanted & _near(drawn, tolerance)).flatten(1).sum(1).double()
    precision = hit_drawn / drawn.flatten(1).sum(1).clamp_min(1)
    recall = hit_wanted / wanted.flatten(1).sum(1).clamp_min(1)
    f1 = 2 * precision * recall / (precision + recall).clamp_min(1e-12)
    return {
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
        "tolerance_px": tolerance,
    }


def histograms(images: np.ndarray) -> np.ndarray:
    """The seven-colour histogram of each uint8 [N, H, W, 3] mask: [N, 7]."""
    return np.stack([colour_histogram(image[None])[0] for image in images])


@dataclass(frozen=True)
class ColourCharacter:
    """Nearest-centroid classifier of a mask's character colour from its seven-colour histogram."""

    centroids: np.ndarray  # [classes, 7]

    @classmethod
    def fit(cls, images: np.ndarray, labels: np.ndarray) -> ColourCharacter:
        hist = histograms(images)
        classes = int(labels.max()) + 1
        centroids = np.stack(
            [hist[labels == c].mean(0) if (labels == c).any() else np.full(7, np.inf) for c in range(classes)]
        )
        return cls(centroids)

    def predict(self, images: np.ndarray) -> np.ndarray:
        hist = histograms(images)
        return ((hist[:, None, :] - self.centroids[None]) ** 2).sum(-1).argmin(1)


def pairwise_colour_distance(outputs: np.ndarray, references: np.ndarray) -> float:
    """Mean total variation between each output's and its reference's seven-colour histograms."""
    return float(0.5 * np.abs(histograms(outputs) - histograms(references)).sum(1).mean())


def face_pixels(images: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] in [-1, 1] -> bool [N, 1, H, W]: pixels that are not the near-white background."""
    rgb = (images.clamp(-1, 1) + 1) * 127.5
    return ((255.0 - rgb) ** 2).sum(1, keepdim=True) >= BACKGROUND_DISTANCE**2


def known_warp_case(
    images: torch.Tensor, seed: int, params: DeformParams = KNOWN_WARP, xdog_params: XDoGParams | None = None
) -> dict[str, torch.Tensor]:
    """(sketch of the original, the original deformed by a seeded random warp, the original)."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        reference = deform(images, params)
    finally:
        torch.random.set_rng_state(state)
    u8 = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return {"sketch": xdog(u8, xdog_params), "reference": reference, "original": images}


def _ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    from maskgen.evaluation.metrics.similarity import ssim_batch

    return ssim_batch((a.clamp(-1, 1) + 1) / 2, (b.clamp(-1, 1) + 1) / 2)


def colour_error_in_face(candidate: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Mean absolute RGB error (0-1 units) over the original's face pixels, per image: [N]."""
    face = face_pixels(original).float()
    error = ((candidate - original).abs() / 2).mean(1, keepdim=True)
    return (error * face).flatten(1).sum(1) / face.flatten(1).sum(1).clamp_min(1)


def known_warp_scores(
    warped: torch.Tensor, reference: torch.Tensor, original: torch.Tensor
) -> dict[str, Any]:
    """SSIM to the original and colour error inside its face, for the warp and for the identity
    (the unwarped reference). ``gain`` > 1: the warp undoes the deformation better than doing nothing."""
    ssim_warp, ssim_id = _ssim(warped, original), _ssim(reference, original)
    err_warp, err_id = colour_error_in_face(warped, original), colour_error_in_face(reference, original)
    return {
        "images": len(original),
        "ssim_warp": float(ssim_warp.mean()),
        "ssim_identity": float(ssim_id.mean()),
        "colour_error_warp": float(err_warp.mean()),
        "colour_error_identity": float(err_id.mean()),
        "error_ratio": float(err_warp.mean() / err_id.mean().clamp_min(1e-12)),
        "wins": float((err_warp < err_id).float().mean()),
    }
