"""A decoded image folder packed into one uint8 array file, so images are decoded and resized only once.

The cache lives in ``ROOT/.maskgen-cache/`` (hidden, so the folder scan never mistakes it for data):
``{size}px.npy`` holds the images [N, size, size, 3] and ``{size}px.json`` the list of files it was
made from, each with its byte size and modification time (``{size}px-framed-v{N}.*``: the same for masks
framed by :mod:`maskgen.data.framing`). Any change to the folder (a file added, removed or rewritten)
makes the cache stale and it is rebuilt. Both files are written to a temporary
name and renamed, so a killed run never leaves a half-written cache; the arrays are read with
``allow_pickle=False``. A read-only dataset folder simply goes without a cache.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from maskgen.errors import MaskgenError
from maskgen.outputs import atomic_write

CACHE_DIR = ".maskgen-cache"
FORMAT = 1

Decoded = tuple[np.ndarray, list[Path], int]  # images, the files they came from, files skipped


def fingerprint(root: Path, paths: list[Path]) -> list[list[Any]]:
    """[relative path, size, mtime_ns] of every file: what the cached arrays depend on."""
    rows = []
    for path in paths:
        stat = path.stat()
        rows.append([path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns])
    return rows


def cache_paths(root: Path, size: int, variant: str = "") -> tuple[Path, Path]:
    folder = root / CACHE_DIR
    return folder / f"{size}px{variant}.npy", folder / f"{size}px{variant}.json"


def load_cached(root: Path, size: int, paths: list[Path], variant: str = "") -> Decoded | None:
    """The cached decode of ``paths`` at ``size``, or None when absent, stale or unreadable."""
    array_file, index_file = cache_paths(root, size, variant)
    try:
        index = json.loads(index_file.read_text(encoding="utf-8"))
        if index.get("format") != FORMAT or index.get("files") != fingerprint(root, paths):
            return None
        images = np.load(array_file, allow_pickle=False, mmap_mode=None)
    except (OSError, ValueError, json.JSONDecodeError):
        return None
    kept = [root / rel for rel in index["kept"]]
    if images.dtype != np.uint8 or images.shape != (len(kept), size, size, 3):
        return None
    return images, kept, int(index["skipped"])


def save_cache(root: Path, size: int, paths: list[Path], decoded: Decoded, variant: str = "") -> bool:
    """Write the cache atomically; False (and nothing left behind) when the folder is not writable."""
    images, kept, skipped = decoded
    array_file, index_file = cache_paths(root, size, variant)
    index = {
        "format": FORMAT,
        "size": size,
        "files": fingerprint(root, paths),
        "kept": [p.relative_to(root).as_posix() for p in kept],
        "skipped": skipped,
    }
    try:
        array_file.parent.mkdir(exist_ok=True)
        _atomic(array_file, lambda f: np.save(f, np.ascontiguousarray(images), allow_pickle=False))
        # The index goes last: it is what declares the array valid.
        _atomic(index_file, lambda f: f.write(json.dumps(index).encode("utf-8")))
    except (OSError, MaskgenError):
        return False
    return True


def cached_decode(
    root: Path, size: int, paths: list[Path], decode: Callable[[], Decoded], variant: str = ""
) -> Decoded:
    """``decode()``'s result, from the cache when it is fresh; a fresh decode is cached for next time.
    ``variant`` names another kind of decode of the same files (``-framed``)."""
    hit = load_cached(root, size, paths, variant)
    if hit is not None:
        return hit
    decoded = decode()
    save_cache(root, size, paths, decoded, variant)
    return decoded


def _atomic(path: Path, write: Callable[[Any], Any]) -> None:
    """``write(binary file)`` through the one atomic writer, :func:`maskgen.outputs.atomic_write`."""

    def to_file(tmp: str) -> None:
        with open(tmp, "wb") as f:
            write(f)

    atomic_write(path, to_file)
