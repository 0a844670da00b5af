"""Loading a folder of the user's mask images: every readable image becomes a square RGB array."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from maskgen.data.cache import cached_decode
from maskgen.data.framing import VERSION as FRAMING_VERSION
from maskgen.data.framing import MaskBox, frame_picture
from maskgen.errors import MaskgenError

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
WHITE = (255, 255, 255)


def find_images(root: str | Path) -> list[Path]:
    """Image files under ``root`` (recursive), sorted by their path relative to ``root``.

    Extensions are matched case-insensitively. Hidden files and folders (name starting with ".") are
    left out: they are editor or OS debris such as macOS "._name.jpg" files, which are not images.
    """
    root = Path(root)
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.suffix.lower() not in IMAGE_EXTENSIONS or any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any PIL mode -> RGB; transparency is composited on white, 16/32-bit and float are rescaled."""
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        # PIL's own conversion clips these at 255; rescale from the format's range instead.
        arr = np.asarray(im).astype(np.float64)
        peak = arr.max(initial=0.0)
        top = 1.0 if im.mode == "F" and peak <= 1.0 else (255.0 if peak <= 255 else 65535.0)
        grey = np.clip(np.rint(arr / top * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(np.repeat(grey[:, :, None], 3, axis=2))
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        im.mode in ("L", "RGB") and "transparency" in im.info
    ):
        rgba = im.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, WHITE + (255,))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


def open_rgb(path: str | Path, draft_size: int | None = None) -> Image.Image:
    """Decode one image file to an RGB PIL image: the one decoder of every image maskgen reads.

    First frame, EXIF orientation applied, transparency composited on white, 16/32-bit and float
    rescaled (see :func:`_to_rgb`). ``draft_size``: let JPEG decode at a reduced scale while it stays
    at least that large (what :func:`load_image` asks for). Raises :class:`MaskgenError` when the file
    is missing or cannot be decoded (corrupt, truncated, empty, not an image, or over PIL's
    decompression-bomb limit).
    """
    path = Path(path)
    if not path.is_file():
        raise MaskgenError(f"image not found: {path}")
    try:
        with Image.open(path) as im:
            if draft_size is not None:
                im.draft(None, (draft_size, draft_size))
            im = ImageOps.exif_transpose(im)  # also loads the first frame of animated files
            rgb = _to_rgb(im)  # exif_transpose returned a copy: nothing refers to the open file
            rgb.load()
            return rgb
    except Image.DecompressionBombError as exc:
        raise MaskgenError(f"image too large to decode safely: {path} ({exc})") from exc
    except Exception as exc:  # decoders of broken files raise many types (OSError, ValueError, EOFError...)
        raise MaskgenError(f"cannot read image {path}: {exc}") from exc


def square_resize(im: Image.Image, size: int) -> np.ndarray:
    """Centre-crop a PIL image to a square, then resize with LANCZOS: uint8 [size, size, C]."""
    w, h = im.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    # Crop before resizing: resize(box=...) would let pixels outside the square bleed in.
    im = im.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
    return np.array(im, dtype=np.uint8)  # a writable copy


def load_image(path: str | Path, size: int, frame: bool = False) -> np.ndarray:
    """Decode one image to uint8 [size, size, 3]: :func:`open_rgb`, then :func:`square_resize`.

    Training folders, evaluation folders, dataset builds and translation references all read images
    through this function, so one file gives the same pixels everywhere. With ``frame`` the mask is
    first found on its backdrop and framed as the built-in masks are (:mod:`maskgen.data.framing`;
    a picture without a plain backdrop is centre-cropped as without it). Raises
    :class:`MaskgenError` when the file cannot be decoded.
    """
    _check_size(size)
    return square_resize(read_picture(path, size, frame)[0], size)


def read_picture(path: str | Path, size: int, frame: bool = False) -> tuple[Image.Image, MaskBox | None]:
    """The picture :func:`load_image` crops and resizes, and the mask's box when ``frame`` found one:
    decoded at least ``size`` px (twice that when framing: the mask's square is a part of the picture)
    and, with ``frame``, framed. Raises :class:`MaskgenError` when the file cannot be decoded."""
    if not frame:
        return open_rgb(path, draft_size=size), None
    return frame_picture(open_rgb(path, draft_size=2 * size), size)


def load_line_drawing(path: str | Path, size: int) -> np.ndarray:
    """A sketch file as uint8 [size, size] (255 paper, 0 line): the darkest channel of
    :func:`load_image`'s pixels, so coloured lines count as lines.

    A file at least twice as large as ``size`` has its lines widened first by about the shrink factor
    (a minimum filter, which commutes with taking the darkest channel), so that they arrive about
    one pixel wide instead of fading to grey. Translation training and ``translate apply`` both read
    sketches through this function.
    """
    _check_size(size)
    image = open_rgb(path, draft_size=size)
    scale = min(image.size) / size
    if scale >= 2:
        image = image.filter(ImageFilter.MinFilter(int(scale) // 2 * 2 + 1))
    return np.ascontiguousarray(square_resize(image, size).min(axis=2))


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")


def load_folder(
    root: str | Path, size: int, cache: bool = True, frame: bool = False
) -> tuple[np.ndarray, list[Path], int]:
    """Decode every image under ``root``: (uint8 [N, size, size, 3], their paths, number skipped).

    Unreadable files are skipped and counted, with one warning line on stderr. With ``cache`` the
    decoded arrays are kept in ``root/.maskgen-cache/`` and reused while the folder is unchanged.
    ``frame``: see :func:`load_image`.
    """
    root = Path(root)
    if not root.exists():
        raise MaskgenError(f"dataset folder not found: {root}")
    if not root.is_dir():
        raise MaskgenError(f"dataset path is not a folder: {root}")
    paths = find_images(root)
    if not paths:
        raise MaskgenError(f"no images (png/jpg/jpeg/webp/bmp/gif) found in {root}")
    decode = lambda: _decode_all(paths, size, frame)  # noqa: E731
    if cache:
        images, kept, skipped_count = cached_decode(
            root, size, paths, decode, f"-framed-v{FRAMING_VERSION}" if frame else ""
        )
    else:
        images, kept, skipped_count = decode()
    if skipped_count:
        kept_set = set(kept)
        warn_skipped(root, [p for p in paths if p not in kept_set])
    if not kept:
        raise MaskgenError(f"none of the {len(paths)} image file(s) in {root} could be read")
    return images, kept, skipped_count


def _decode_all(paths: list[Path], size: int, frame: bool) -> tuple[np.ndarray, list[Path], int]:
    images, kept, skipped = decode_images(paths, size, frame=frame)
    return images, kept, len(skipped)


def decode_images(
    paths: list[Path], size: int, on_image: Callable[[int], None] | None = None, frame: bool = False
) -> tuple[np.ndarray, list[Path], list[Path]]:
    """Decode every path at ``size`` px: (uint8 [N, size, size, 3] of the readable ones, their paths,
    the unreadable paths). ``on_image(1)`` is called after each file (progress bars); ``frame``: see
    :func:`load_image`."""
    images = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    kept: list[Path] = []
    skipped: list[Path] = []
    for path in paths:
        try:
            images[len(kept)] = load_image(path, size, frame)
            kept.append(path)
        except MaskgenError:
            skipped.append(path)
        if on_image is not None:
            on_image(1)
    return images[: len(kept)], kept, skipped


def warn_skipped(root: Path, skipped: list[Path]) -> None:
    """The one stderr line about unreadable files in a folder."""
    first = skipped[0].relative_to(root).as_posix()
    print(f"warning: skipped {len(skipped)} unreadable image(s) in {root} (first: {first})", file=sys.stderr)
