"""Loading a folder of the user's mask images: every readable image becomes a square RGB array."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from maskgen.data.cache import cached_decode
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


def load_image(path: str | Path, size: int) -> np.ndarray:
    """Decode one image to uint8 [size, size, 3]: first frame, EXIF orientation applied, transparency on
    white, centre-cropped to a square and resized with LANCZOS.

    Raises :class:`MaskgenError` when the file cannot be decoded (corrupt, truncated, empty, not an
    image, or over PIL's decompression-bomb limit).
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    path = Path(path)
    try:
        with Image.open(path) as im:
            # Let JPEG decode at a reduced scale when the file is much larger than needed.
            im.draft(None, (size, size))
            im = ImageOps.exif_transpose(im)  # also loads the first frame of animated files
            im = _to_rgb(im)
            w, h = im.size
            side = min(w, h)
            left, top = (w - side) // 2, (h - side) // 2
            # Crop before resizing: resize(box=...) would let pixels outside the square bleed in.
            im = im.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
            arr = np.asarray(im, dtype=np.uint8)
    except Image.DecompressionBombError as exc:
        raise MaskgenError(f"image too large to decode safely: {path} ({exc})") from exc
    except Exception as exc:  # decoders of broken files raise many types (OSError, ValueError, EOFError...)
        raise MaskgenError(f"cannot read image {path}: {exc}") from exc
    return np.ascontiguousarray(arr)


def load_folder(root: str | Path, size: int, cache: bool = True) -> tuple[np.ndarray, list[Path], int]:
    """Decode every image under ``root``: (uint8 [N, size, size, 3], their paths, number skipped).

    Unreadable files are skipped and counted, with one warning line on stderr. With ``cache`` the
    decoded arrays are kept in ``root/.maskgen-cache/`` and reused while the folder is unchanged.
    """
    root = Path(root)
    if not root.exists():
        raise MaskgenError(f"dataset folder not found: {root}")
    if not root.is_dir():
        raise MaskgenError(f"dataset path is not a folder: {root}")
    paths = find_images(root)
    if not paths:
        raise MaskgenError(f"no images (png/jpg/jpeg/webp/bmp/gif) found in {root}")
    if cache:
        images, kept, skipped_count = cached_decode(root, size, paths, lambda: _decode_all(root, paths, size))
    else:
        images, kept, skipped_count = _decode_all(root, paths, size)
    if skipped_count:
        kept_set = set(kept)
        warn_skipped(root, [p for p in paths if p not in kept_set])
    if not kept:
        raise MaskgenError(f"none of the {len(paths)} image file(s) in {root} could be read")
    return images, kept, skipped_count


def _decode_all(root: Path, paths: list[Path], size: int) -> tuple[np.ndarray, list[Path], int]:
    images = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    kept: list[Path] = []
    skipped: list[Path] = []
    for path in paths:
        try:
            images[len(kept)] = load_image(path, size)
        except MaskgenError:
            skipped.append(path)
            continue
        kept.append(path)
    return images[: len(kept)], kept, len(skipped)


def warn_skipped(root: Path, skipped: list[Path]) -> None:
    """The one stderr line about unreadable files in a folder."""
    first = skipped[0].relative_to(root).as_posix()
    print(f"warning: skipped {len(skipped)} unreadable image(s) in {root} (first: {first})", file=sys.stderr)
