"""What an uploaded file must be before the studio decodes it.

Every upload is checked, in this order, before any pixel is decoded:

1. it lies inside the studio's temp area (where the web server stores uploads), symlinks resolved:
   a request cannot point the studio at any other file;
2. it is at most ``max_bytes`` long;
3. its header names an image format maskgen reads (PNG, JPEG, WebP, BMP, GIF): a text file renamed
   ``.png`` is refused here;
4. the width x height in that header is at most ``max_pixels``: a decompression bomb (a tiny file that
   claims 50,000 x 50,000 px) is refused before it is decoded.

The refusals are worded for a person choosing files: "empty", "not a picture", or the largest size
accepted, in pixels.

Then the file goes to the library's one decoder (:func:`maskgen.data.folder.load_image` and friends),
which converts greyscale, palette, RGBA and 16-bit images and crops and resizes to the model's size.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from maskgen.errors import MaskgenError
from maskgen.images import save_png

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 4096 * 4096
FORMATS = {"PNG", "JPEG", "WEBP", "BMP", "GIF", "MPO"}  # MPO: the JPEG of many phone cameras
NPZ_MAX_BYTES = 4 * 1024 * 1024  # a projected latent is a few KB to a few hundred KB


@dataclass(frozen=True)
class ImageInfo:
    path: Path
    width: int
    height: int
    mode: str  # as stored: "L" for greyscale, "RGBA", ...
    format: str

    def describe(self) -> str:
        return f"{self.width}x{self.height} {self.mode} {self.format}"


def _name(path: Path) -> str:
    """The upload's own file name, never the temp folder it sits in."""
    return path.name


def in_area(path: str | Path, roots: Sequence[Path]) -> Path:
    """``path`` resolved, if inside one of ``roots``; else one line."""
    real = Path(path).resolve()
    if not any(real == root or root in real.parents for root in (r.resolve() for r in roots)):
        raise MaskgenError(f"refused {Path(path).name!r}: only files uploaded to this page can be used")
    if not real.is_file():
        raise MaskgenError(
            f"the upload {real.name!r} is no longer here (uploads are kept for an hour): upload it again"
        )
    return real


def largest_size(max_pixels: int) -> str:
    """The pixel limit as a person pictures it: '4096 x 4096 pixels' (a square of that many)."""
    side = math.isqrt(max_pixels)
    return f"{side} x {side} pixels"


def check_image(
    path: str | Path,
    roots: Sequence[Path],
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_BYTES,
    what: str = "image",
) -> ImageInfo:
    """Check one uploaded image (see the module doc) without decoding its pixels."""
    real = in_area(path, roots)
    size = real.stat().st_size
    if size == 0:
        raise MaskgenError(f"the {what} {_name(real)!r} is empty (0 bytes): choose the picture again")
    if size > max_bytes:
        raise MaskgenError(
            f"the {what} {_name(real)!r} is {size / 1e6:.1f} MB; "
            f"the studio takes pictures of at most {max_bytes / 1e6:.0f} MB"
        )
    largest = largest_size(max_pixels)
    try:
        # Image.open reads the header only; nothing is decoded until .load().
        with Image.open(real) as im:
            width, height = im.size
            mode, fmt = im.mode, im.format or "?"
    except Image.DecompressionBombError:  # PIL's own limit, far above ours, refused the header
        raise MaskgenError(
            f"the {what} {_name(real)!r} says it is larger than {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} "
            f"million pixels; the largest picture the studio takes is {largest}"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise MaskgenError(
            f"the {what} {_name(real)!r} is not a picture (the studio reads PNG, JPEG, WebP, BMP and GIF)"
        ) from None
    if fmt not in FORMATS:
        raise MaskgenError(
            f"the {what} {_name(real)!r} is a {fmt} file; upload a PNG, JPEG, WebP, BMP or GIF picture"
        )
    if width < 1 or height < 1:
        raise MaskgenError(f"the {what} {_name(real)!r} is empty ({width} x {height} pixels)")
    if width * height > max_pixels:
        raise MaskgenError(
            f"the {what} {_name(real)!r} is {width} x {height} pixels; the largest picture the studio "
            f"takes is {largest}: make it smaller first"
        )
    return ImageInfo(real, width, height, mode, fmt)


def check_latent(path: str | Path, roots: Sequence[Path]) -> Path:
    """An uploaded projected latent (``projected_w.npz``): in the temp area, small, a .npz file.
    Its contents are checked against the generator by :func:`maskgen.apps.latents.load_projected_w`."""
    real = in_area(path, roots)
    if real.suffix.lower() != ".npz":
        raise MaskgenError(
            f"{real.name!r} is not a found mask: upload the .npz file that 'Find your mask' gives "
            "(engineers: a projected latent, projected_w.npz)"
        )
    if real.stat().st_size > NPZ_MAX_BYTES:
        raise MaskgenError(f"{real.name!r} is too large to be a found mask (.npz)")
    return real


def save_drawing(array: np.ndarray, folder: Path) -> Path:
    """A sketch drawn in the page (uint8 [H, W, 3 or 4]) as a PNG in the temp area, so it is read by
    the same decoder as an uploaded one (transparent paper becomes white)."""
    arr = np.asarray(array)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.dtype != np.uint8 or min(arr.shape[:2]) < 1:
        raise MaskgenError("the drawing could not be read: draw again or upload a sketch instead")
    if arr.shape[0] * arr.shape[1] > MAX_PIXELS:
        raise MaskgenError("the drawing is too large")
    path = folder / f"drawing-{uuid.uuid4().hex[:12]}.png"
    save_png(arr, path)  # alpha kept: the decoder composites it on white
    return path
