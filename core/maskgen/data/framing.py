"""Framing a photographed mask like the built-in ones: found on its backdrop, centred, scaled alike.

A collection gathered from catalogues, scans and photographs frames its masks in many ways: large or
small in the picture, off-centre, on white paper or grey card. A GAN trained on a few hundred of them
spends capacity on that framing, and a base model trained on the built-in masks (always centred, the
face about 88% of the frame high) meets them at another scale. Face datasets are aligned for the same
reason (FFHQ). :func:`find_mask` locates the mask on a plain backdrop; :func:`frame_mask` crops the
square that puts it where the built-in masks are. A picture without a plain backdrop is left alone.

How the mask is found: the backdrop is modelled as a colour plane (per channel a + b x + c y, which
absorbs light falling off across the picture) fitted to the picture's border; a pixel is ink when its
colour is clearly off that plane. The mask's ink is the largest connected piece of ink and every piece
that comes near it (a white face's eyes and brows, a beard, the ears): a caption under the mask, the
character's name beside it or a page number stays out, as catalogue pages and book scans have them.
The box is where rows and columns hold more than a few pixels of the mask's ink (a rule that ignores
noise and dust).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

# Where the built-in masks sit (200 detailed masks at 128 px, ink boxes): centred, 0.88 of the frame
# high and 0.74 wide.
TARGET_HEIGHT = 0.88
TARGET_WIDTH = 0.74
WORK_SIZE = 128  # masks are found on a copy this large
BORDER = 3  # pixels of the work copy's border that sample the backdrop
INK = 0.12  # colour distance from the backdrop plane (0-1 units, largest channel) that counts as mask
BUSY_BORDER = 0.2  # more than this share of border pixels off the plane: no plain backdrop
LINE_SHARE = 0.03  # a row or column is part of the box when more than this share of it is mask
REACH = 0.04  # ink this near the mask's pieces (share of the picture's longer side) is part of the mask
SPECK = 8  # pieces of ink smaller than this (work-copy pixels) neither seed the mask nor extend it
DOMINANT = 0.75  # the mask's pieces hold at least this share of the ink, or all of it is kept
# Raised whenever framing gives other pixels: folder caches of framed images are kept per version.
# 2: the square is cut at sub-pixel precision, the backdrop carried on past the edges; 3: ink far from
# the mask (captions, names, seals) is left out of its box.
VERSION = 3


@dataclass(frozen=True)
class MaskBox:
    """The mask's bounding box in the picture's pixels, and the backdrop's colour plane: per RGB
    channel (a, b, c), the colour (0-255) a + b u + c v at (u, v), the position in the picture as a
    share of its width and height."""

    left: float
    top: float
    right: float
    bottom: float
    light: tuple[tuple[float, float, float], ...]

    def corners_text(self) -> str:
        """'left top right bottom' in whole pixels (the manifest's box column)."""
        return " ".join(f"{v:.0f}" for v in (self.left, self.top, self.right, self.bottom))


def _border(x: np.ndarray) -> np.ndarray:
    keep = np.zeros(x.shape[:2], dtype=bool)
    keep[:BORDER], keep[-BORDER:], keep[:, :BORDER], keep[:, -BORDER:] = True, True, True, True
    return keep


def mask_ink(ink: np.ndarray) -> np.ndarray:
    """The part of ``ink`` (a boolean picture) that belongs to the mask: its largest connected piece,
    and every piece whose box comes within :data:`REACH` of the pieces taken so far. What lies further
    off (a caption, a name beside the mask, a seal or page number) is dropped, but only when the
    pieces taken hold most of the ink: a white face on white paper shows as brows, eyes and mouth of
    like size, far apart, and is then kept whole."""
    labels, count = ndimage.label(ink, structure=np.ones((3, 3), bool))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    pieces = [i for i in range(1, count + 1) if sizes[i] >= SPECK]
    if len(pieces) <= 1:
        return ink
    boxes = ndimage.find_objects(labels)
    reach = REACH * max(ink.shape)
    first = max(pieces, key=lambda i: sizes[i])
    top, bottom = boxes[first - 1][0].start, boxes[first - 1][0].stop
    left, right = boxes[first - 1][1].start, boxes[first - 1][1].stop
    taken, grew = {first}, True
    while grew:  # a piece taken widens the box, which can bring others within reach
        grew = False
        for i in pieces:
            rows, cols = boxes[i - 1]
            near = rows.start < bottom + reach and rows.stop > top - reach
            if i in taken or not (near and cols.start < right + reach and cols.stop > left - reach):
                continue
            taken.add(i)
            grew = True
            top, bottom = min(top, rows.start), max(bottom, rows.stop)
            left, right = min(left, cols.start), max(right, cols.stop)
    if sizes[sorted(taken)].sum() < DOMINANT * sizes[pieces].sum():
        return ink
    return np.isin(labels, sorted(taken))


def find_mask(image: Image.Image) -> MaskBox | None:
    """The mask's box on a plain backdrop, or None when the backdrop is not plain or the box would be
    implausible (almost the whole picture, or a speck)."""
    scale = max(image.size) / WORK_SIZE
    small = image.convert("RGB").resize(
        (max(8, round(image.width / scale)), max(8, round(image.height / scale))), Image.Resampling.BOX
    )
    small = small.filter(ImageFilter.MedianFilter(3))  # sensor noise and JPEG speckle are not ink
    x = np.asarray(small, np.float64) / 255
    h, w = x.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    design = np.stack([np.ones(h * w), (xx.ravel() + 0.5) / w, (yy.ravel() + 0.5) / h], axis=1)
    border = _border(x).ravel()
    pixels = x.reshape(-1, 3)
    plane, *_ = np.linalg.lstsq(design[border], pixels[border], rcond=None)
    distance = np.abs(pixels - design @ plane).max(axis=1).reshape(h, w)
    if (distance.ravel()[border] > INK).mean() > BUSY_BORDER:
        return None
    ink = mask_ink(distance > INK)
    rows = np.flatnonzero(ink.mean(axis=1) > LINE_SHARE)
    cols = np.flatnonzero(ink.mean(axis=0) > LINE_SHARE)
    if len(rows) == 0 or len(cols) == 0:
        return None
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    area = (bottom - top) * (right - left) / (h * w)
    if not 0.03 < area < 0.95:
        return None
    sx, sy = image.width / w, image.height / h
    return MaskBox(
        left * sx,
        top * sy,
        right * sx,
        bottom * sy,
        tuple(tuple(float(v) for v in channel) for channel in plane.T * 255),  # type: ignore[arg-type]
    )


def _backdrop_canvas(box: MaskBox, width: int, height: int, pad: int) -> Image.Image:
    """A picture ``width`` x ``height`` grown by ``pad`` on every side, filled with the backdrop: its
    colour plane carried on past the picture's edges, so that the filled part meets the photographed
    part without a seam (a flat fill left a step that framing the framed picture again took for part
    of the mask, and put the mask off-centre)."""
    size = (width + 2 * pad, height + 2 * pad)
    u = (np.arange(size[0], dtype=np.float32) - pad + 0.5) / width
    v = (np.arange(size[1], dtype=np.float32) - pad + 0.5) / height
    channels = [
        np.clip(a + b * u[None, :] + c * v[:, None], 0, 255).round().astype(np.uint8) for a, b, c in box.light
    ]
    return Image.fromarray(np.stack(channels, axis=-1))


def frame_mask(image: Image.Image, box: MaskBox, size: int | None = None) -> Image.Image:
    """The square of ``image`` in which ``box`` sits as the built-in masks do: centred, the mask
    :data:`TARGET_HEIGHT` of the side high (or :data:`TARGET_WIDTH` wide, whichever is larger),
    resampled to ``size`` pixels (default: the square's own size). Parts outside the picture are
    filled with the backdrop.

    The square is cut at sub-pixel precision: rounding its corner to whole pixels would put a
    symmetric mask up to half a pixel off-centre, and its mirror image a pixel off, which at 64 px is
    enough to blur what a mirrored G learns and to tip ``-G symmetric=auto``'s decision."""
    side = max((box.bottom - box.top) / TARGET_HEIGHT, (box.right - box.left) / TARGET_WIDTH)
    left = (box.left + box.right - side) / 2
    top = (box.top + box.bottom - side) / 2
    image = image.convert("RGB")
    side_x = side_y = side
    if size is not None and side > 4 * size:  # a large photograph: work at 4x the output size
        factor = 4 * size / side
        reduced = image.resize(
            (max(1, round(image.width * factor)), max(1, round(image.height * factor))),
            Image.Resampling.BOX,
        )
        fx, fy = reduced.width / image.width, reduced.height / image.height
        image, left, top, side_x, side_y = reduced, left * fx, top * fy, side * fx, side * fy
    # Pad so that the square, and the resampling filter's reach around it, lie inside the canvas.
    outside = max(0.0, -left, -top, left + side_x - image.width, top + side_y - image.height)
    pad = int(np.ceil(outside)) + 4
    canvas = _backdrop_canvas(box, image.width, image.height, pad)
    canvas.paste(image, (pad, pad))
    out = size if size is not None else max(1, round(side))
    square = (left + pad, top + pad, left + pad + side_x, top + pad + side_y)
    return canvas.resize((out, out), Image.Resampling.LANCZOS, box=square)


def frame_picture(picture: Image.Image, size: int | None = None) -> tuple[Image.Image, MaskBox | None]:
    """``picture`` framed around its mask (at ``size`` pixels when given) and the box it was framed
    by, or ``picture`` itself and None when no mask was found on a plain backdrop."""
    box = find_mask(picture)
    return (frame_mask(picture, box, size), box) if box is not None else (picture, None)
