"""``maskgen dataset check``: what a folder of masks will give a run, found before the run.

A collection gathered by hand holds things that cost a training run to discover: files that do not
decode, pictures smaller than the training resolution (upscaled, so blurred), catalogue pages with
several masks, the same mask twice (a GAN trained on a few hundred images learns a duplicate twice as
hard, and with x-flips a mirror-image copy is a duplicate too), pictures without colour in a colour
collection. Every image is read as ``maskgen run`` reads it (framed unless ``frame`` is off, at the
run's resolution), and the exact mirror that ``-G symmetric=auto`` would choose is decided the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from maskgen.data.datasets import check_resolution
from maskgen.data.folder import find_images, read_picture, square_resize
from maskgen.data.framing import MaskBox, find_mask, frame_mask
from maskgen.data.symmetry import judge_symmetry
from maskgen.errors import MaskgenError

# Two pictures are one mask when their framed copies differ by less than this RMS (RGB in [0, 1]) at
# DUPLICATE_SIZE px, as they are or one mirrored. Measured on 40 detailed masks: saved again as JPEG
# (quality 75) at most 0.042, printed at 90% on a page and framed again 39 of 40 below 0.06 (at most
# 0.078); the closest different masks of 300 are 0.089 (simple), 0.104 (detailed), 0.110 (photographed).
DUPLICATE_RMS = 0.06
DUPLICATE_SIZE = 32
ROWS_AT_ONCE = 1024  # distances computed per block of rows: 1024 x N floats, not N x N
# A picture has no colour when 99.9% of its pixels have channels within this much of each other (0-1).
GREY_SPREAD = 0.06
FEW_IMAGES = 100  # below this, warn: ADA's and the base model's help is measured on 300


@dataclass
class CollectionReport:
    """What :func:`check_collection` found; names are paths relative to the folder."""

    folder: str
    resolution: int
    framed_on_load: bool
    images: int
    unreadable: list[str] = field(default_factory=list)
    smaller_than_resolution: list[str] = field(default_factory=list)
    on_plain_backdrop: int = 0
    pages_of_several_masks: list[str] = field(default_factory=list)
    without_colour: list[str] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # {a, b, rms, mirrored}
    mirror: bool = False
    symmetric_images: int = 0
    checked_for_symmetry: int = 0

    def warnings(self) -> list[str]:
        """One line per kind of problem, naming up to three files; empty when nothing was found."""
        lines = []
        if self.images < FEW_IMAGES:
            lines.append(
                f"only {self.images} readable images: the recipe is measured on 300; expect a G that "
                "repeats its training masks (check with maskgen audit)"
            )
        for names, what in (
            (self.unreadable, "cannot be read and will be skipped"),
            (
                self.smaller_than_resolution,
                f"are smaller than {self.resolution} px on their shorter side: upscaled, so blurred",
            ),
            (self.pages_of_several_masks, "look like pages of several masks: cut them apart"),
            (self.without_colour, "have no colour (line drawings or black-and-white photographs?)"),
        ):
            if names:
                lines.append(f"{len(names)} {what} ({_some(names)})")
        if self.duplicates:
            pairs = [f"{d['a']} = {d['b']}" + (" mirrored" if d["mirrored"] else "") for d in self.duplicates]
            lines.append(
                f"{len(self.duplicates)} pairs look like the same mask ({_some(pairs)}): keep one of each"
            )
        return lines

    def summary(self) -> str:
        """The report's first line: what a run on this folder will train on."""
        framing = "not framed (--no-frame)"
        if self.framed_on_load:
            framing = f"{self.on_plain_backdrop} of {self.images} found on a plain backdrop and framed"
            framing += ", the others centre-cropped" if self.on_plain_backdrop < self.images else ""
        mirror = "mirrored" if self.mirror else "not mirrored"
        return (
            f"{self.images} images at {self.resolution} px: {framing}; G {mirror} by -G symmetric=auto "
            f"({self.symmetric_images} of {self.checked_for_symmetry} checked are left-right symmetric)"
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "warnings": self.warnings()}


def _some(names: list[str], shown: int = 3) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def has_no_colour(picture: np.ndarray) -> bool:
    """Whether uint8 RGB ``picture`` is grey all over (a few coloured pixels of JPEG noise allowed)."""
    spread = (picture.max(axis=-1).astype(np.int16) - picture.min(axis=-1)) / 255
    return bool(np.quantile(spread, 0.999) < GREY_SPREAD)


def mask_boxes(images: np.ndarray) -> list[MaskBox | None]:
    """Each image's mask box (:func:`maskgen.data.framing.find_mask`), found once for every check."""
    return [find_mask(Image.fromarray(image)) for image in images]


def _one_size(image: np.ndarray, box: MaskBox | None) -> Image.Image:
    """``image`` with its mask cut out and brought to the built-in size, for comparison only: framing
    keeps a picture that is framed already as it is, so one mask may arrive at two sizes."""
    picture = Image.fromarray(image)
    return picture if box is None else frame_mask(picture, box, max(picture.size))


def duplicate_pairs(
    images: np.ndarray,
    names: list[str],
    threshold: float = DUPLICATE_RMS,
    boxes: Sequence[MaskBox | None] | None = None,
) -> list[dict]:
    """Pairs of ``images`` (uint8 [N, H, W, 3]) within ``threshold`` RMS of each other at
    :data:`DUPLICATE_SIZE` px, as they are or one mirrored left-right; closest first. ``boxes``: the
    images' :func:`mask_boxes`, when the caller has them already."""
    side = (DUPLICATE_SIZE, DUPLICATE_SIZE)
    boxes = mask_boxes(images) if boxes is None else boxes
    shrunk = np.stack(
        [
            np.asarray(_one_size(x, box).resize(side, Image.Resampling.BOX), np.float32)
            for x, box in zip(images, boxes, strict=True)
        ]
    )
    shrunk /= 255
    small = shrunk.reshape(len(images), -1)
    mirrored = shrunk[:, :, ::-1].reshape(len(images), -1)
    squares = (small**2).sum(axis=1)
    dims = small.shape[1]
    found: dict[tuple[int, int], tuple[float, bool]] = {}
    for start in range(0, len(small), ROWS_AT_ONCE):  # a block of rows at a time: memory stays small
        rows = slice(start, start + ROWS_AT_ONCE)
        for flip, other in ((False, small), (True, mirrored)):
            # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b (mirroring keeps |b|); mirrored or not, the distance of
            # i to j is that of j to i, so pairs with j > i hold every pair once
            product = small[rows] @ other.T
            rms = np.sqrt(np.maximum(squares[rows, None] + squares[None, :] - 2 * product, 0) / dims)
            for i, j in zip(*np.nonzero(rms < threshold), strict=True):
                key, value = (start + int(i), int(j)), float(rms[i, j])
                if key[1] > key[0] and (key not in found or value < found[key][0]):
                    found[key] = (value, flip)
    ordered = sorted(found.items(), key=lambda item: item[1][0])
    return [
        {"a": names[i], "b": names[j], "rms": round(rms, 4), "mirrored": flip}
        for (i, j), (rms, flip) in ordered
    ]


def check_collection(folder: str | Path, resolution: int = 64, frame: bool = True) -> CollectionReport:
    """Read every image under ``folder`` as a run at ``resolution`` would and report what it found."""
    root = Path(folder)
    if not root.is_dir():
        raise MaskgenError(f"no folder {root}")
    check_resolution(resolution)
    paths = find_images(root)
    if not paths:
        raise MaskgenError(f"no images in {root} (looked for .png, .jpg, .jpeg, .webp, .bmp, .gif)")
    report = CollectionReport(str(root), resolution, frame, 0)
    images: list[np.ndarray] = []
    names: list[str] = []
    for path in paths:
        name = path.relative_to(root).as_posix()
        try:
            picture, box = read_picture(path, resolution, frame)  # as a run reads it
            with Image.open(path) as header:  # the stored size: a JPEG's draft is decoded smaller
                shorter = min(header.size)
        except (MaskgenError, OSError):
            report.unreadable.append(name)
            continue
        if shorter < resolution:
            report.smaller_than_resolution.append(name)
        if has_no_colour(np.asarray(picture)):
            report.without_colour.append(name)
        if box is not None:
            report.on_plain_backdrop += 1
            if box.masks > 1:
                report.pages_of_several_masks.append(name)
        images.append(square_resize(picture, resolution))
        names.append(name)
    report.images = len(images)
    if not images:
        raise MaskgenError(f"none of the {len(paths)} image file(s) in {root} could be read")
    stacked = np.stack(images)
    report.duplicates = duplicate_pairs(stacked, names)
    verdict = judge_symmetry(stacked)
    report.mirror = verdict.symmetric
    report.symmetric_images, report.checked_for_symmetry = verdict.symmetric_images, verdict.checked_images
    return report
