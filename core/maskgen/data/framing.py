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
MASK_SIDE = 0.15  # a group of ink this high (share of the picture's longer side) may be a whole mask
# A picture whose mask already sits as the built-in masks do is kept as it is: cutting and resampling
# it again blurred every line (at 64 px, 300 detailed masks lost 15% of their edge contrast, and a
# classifier told them from unframed ones 85% of the time) and forced every face to one size, where
# the built-in masks' own sizes vary. The band is the built-in masks' own spread (300 detailed masks at
# 64 px, 1st-99th percentile: the framing square 0.97-1.14 of the picture, the box's middle 2.3% above
# to 3.9% below the picture's); they are exactly centred left to right, which a mirrored G needs.
KEEP_SIDE = (0.95, 1.15)  # the framing square's side, as a share of the picture's
KEEP_SHIFT_Y = 0.045  # the mask's middle above or below the picture's, as a share of its height
KEEP_SHIFT_X = 0.25  # ... left or right, in pixels of the framed picture
# Raised whenever framing gives other pixels: folder caches of framed images are kept per version.
# 2: the square is cut at sub-pixel precision, the backdrop carried on past the edges; 3: ink far from
# the mask (captions, names, seals) is left out of its box; 4: a picture framed already is kept.
VERSION = 4


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
    masks: int = 1  # more than 1: the picture looks like a page of several masks, all in this box

    def corners_text(self) -> str:
        """'left top right bottom' in whole pixels (the manifest's box column)."""
        return " ".join(f"{v:.0f}" for v in (self.left, self.top, self.right, self.bottom))


def _border(x: np.ndarray) -> np.ndarray:
    keep = np.zeros(x.shape[:2], dtype=bool)
    keep[:BORDER], keep[-BORDER:], keep[:, :BORDER], keep[:, -BORDER:] = True, True, True, True
    return keep


Box = tuple[int, int, int, int]  # top, bottom, left, right (bottom and right exclusive)


def _ink_groups(ink: np.ndarray) -> tuple[np.ndarray, list[tuple[list[int], int, Box]]]:
    """Connected pieces of ``ink`` (8-neighbour labels) gathered into groups, largest group first: a
    group grows from the largest piece not yet taken by every piece whose box comes within
    :data:`REACH` of the group's box. Each group: its labels, its ink in pixels, its box."""
    labels, count = ndimage.label(ink, structure=np.ones((3, 3), bool))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    boxes = ndimage.find_objects(labels)
    reach = REACH * max(ink.shape)
    left_over = sorted((i for i in range(1, count + 1) if sizes[i] >= SPECK), key=lambda i: -sizes[i])
    groups: list[tuple[list[int], int, Box]] = []
    while left_over:
        first = left_over.pop(0)
        rows, cols = boxes[first - 1]
        top, bottom, left, right = rows.start, rows.stop, cols.start, cols.stop
        taken, grew = [first], True
        while grew:  # a piece taken widens the box, which can bring others within reach
            grew = False
            for i in list(left_over):
                rows, cols = boxes[i - 1]
                near = rows.start < bottom + reach and rows.stop > top - reach
                if not (near and cols.start < right + reach and cols.stop > left - reach):
                    continue
                left_over.remove(i)
                taken.append(i)
                grew = True
                top, bottom = min(top, rows.start), max(bottom, rows.stop)
                left, right = min(left, cols.start), max(right, cols.stop)
        groups.append((taken, int(sizes[taken].sum()), (top, bottom, left, right)))
    groups.sort(key=lambda group: -group[1])
    return labels, groups


def _looks_like_a_mask(group: tuple[list[int], int, Box], largest: int, side: int) -> bool:
    """A group of ink that could be a whole mask of a page of several: tall enough, shaped like a face
    (not a brow's or a mouth's strip) and holding ink like the largest group's."""
    _, ink, (top, bottom, left, right) = group
    height, width = bottom - top, right - left
    return height >= MASK_SIDE * side and 0.7 <= height / width <= 2.2 and ink >= 0.3 * largest


def mask_ink(ink: np.ndarray) -> tuple[np.ndarray, int]:
    """The part of ``ink`` (a boolean picture) that belongs to the mask, and how many masks it holds.

    The mask is the largest group of ink (:func:`_ink_groups`): a connected piece and every piece
    near it, specks left out. What lies further off (a caption, a name beside the mask, a seal or a
    page number) is dropped, but only when the group holds most of the ink. Otherwise all of it is
    kept: a white face on white paper shows as brows, eyes and mouth of like size, far apart, and is
    one mask; a page of several masks side by side is framed as one too, and the count (more than 1)
    says so."""
    labels, groups = _ink_groups(ink)
    if sum(len(group[0]) for group in groups) <= 1:
        return ink, 1
    total = sum(group[1] for group in groups)
    if groups[0][1] >= DOMINANT * total:
        return np.isin(labels, groups[0][0]), 1
    masks = sum(_looks_like_a_mask(group, groups[0][1], max(ink.shape)) for group in groups)
    return ink, max(1, masks)


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
    ink, masks = mask_ink(distance > INK)
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
        masks,
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


def square_side(box: MaskBox) -> float:
    """The side of the square in which ``box`` sits as the built-in masks do (in the picture's pixels):
    the mask :data:`TARGET_HEIGHT` of it high or :data:`TARGET_WIDTH` wide, whichever is larger."""
    return max((box.bottom - box.top) / TARGET_HEIGHT, (box.right - box.left) / TARGET_WIDTH)


def frame_mask(image: Image.Image, box: MaskBox, size: int | None = None) -> Image.Image:
    """The square of ``image`` in which ``box`` sits as the built-in masks do: centred, the mask
    :data:`TARGET_HEIGHT` of the side high (or :data:`TARGET_WIDTH` wide, whichever is larger),
    resampled to ``size`` pixels (default: the square's own size). Parts outside the picture are
    filled with the backdrop.

    The square is cut at sub-pixel precision: rounding its corner to whole pixels would put a
    symmetric mask up to half a pixel off-centre, and its mirror image a pixel off, which at 64 px is
    enough to blur what a mirrored G learns and to tip ``-G symmetric=auto``'s decision."""
    side = square_side(box)
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


def framed_already(picture: Image.Image, box: MaskBox, size: int | None = None) -> bool:
    """Whether ``box`` already sits in the square ``picture`` as the built-in masks do (within their
    own spread: :data:`KEEP_SIDE`, :data:`KEEP_SHIFT_Y`, :data:`KEEP_SHIFT_X`), so that framing it
    would only resample it."""
    width, height = picture.size
    if width != height:
        return False
    side = square_side(box) / width
    shift_x = abs((box.left + box.right) / 2 - width / 2) * (size or width) / width
    shift_y = abs((box.top + box.bottom) / 2 - height / 2) / height
    return KEEP_SIDE[0] <= side <= KEEP_SIDE[1] and shift_x <= KEEP_SHIFT_X and shift_y <= KEEP_SHIFT_Y


def frame_picture(picture: Image.Image, size: int | None = None) -> tuple[Image.Image, MaskBox | None]:
    """``picture`` framed around its mask (at ``size`` pixels when given) and the box it was framed
    by, or ``picture`` itself and None when no mask was found on a plain backdrop. A picture framed
    already (:func:`framed_already`) comes back as it is, with its box: the caller resizes it."""
    box = find_mask(picture)
    if box is None or framed_already(picture, box, size):
        return picture, box
    return frame_mask(picture, box, size), box
