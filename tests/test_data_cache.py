"""The packed uint8 cache of a decoded image folder: reused while fresh, rebuilt when the folder changes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskgen.data import folder as folder_module
from maskgen.data.cache import CACHE_DIR, cache_paths
from maskgen.data.folder import load_folder


def _write_images(root: Path, count: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)).save(root / f"img{i:02d}.png")


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    original = folder_module.load_image

    def counting(path: Path, size: int, frame: bool = False) -> np.ndarray:
        calls.append(path)
        return original(path, size, frame)

    monkeypatch.setattr(folder_module, "load_image", counting)
    return calls


def test_second_load_comes_from_the_cache_and_equals_a_fresh_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_images(tmp_path, 5)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    calls = _count_decodes(monkeypatch)
    first, kept, skipped = load_folder(tmp_path, 16)
    assert len(calls) == 6 and skipped == 1
    assert cache_paths(tmp_path, 16)[0].is_file()

    calls.clear()
    again, kept_again, skipped_again = load_folder(tmp_path, 16)
    assert calls == []  # nothing decoded
    assert np.array_equal(again, first) and kept_again == kept and skipped_again == 1
    uncached, _, _ = load_folder(tmp_path, 16, cache=False)
    assert np.array_equal(uncached, first)


def test_a_changed_folder_rebuilds_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_images(tmp_path, 3)
    load_folder(tmp_path, 16)
    calls = _count_decodes(monkeypatch)
    _write_images(tmp_path / "more", 1, seed=1)  # a file added
    images, kept, _ = load_folder(tmp_path, 16)
    assert len(images) == 4 and len(calls) == 4

    calls.clear()
    target = tmp_path / "img00.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(target)  # a file rewritten
    os.utime(target, ns=(1, 1))
    images, kept, _ = load_folder(tmp_path, 16)
    assert len(calls) == 4 and images[0].max() == 0


def test_each_size_has_its_own_cache_and_a_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    _write_images(tmp_path, 2)
    small, _, _ = load_folder(tmp_path, 8)
    large, _, _ = load_folder(tmp_path, 16)
    assert small.shape[1:3] == (8, 8) and large.shape[1:3] == (16, 16)
    cache_paths(tmp_path, 16)[0].write_bytes(b"garbage")
    again, _, _ = load_folder(tmp_path, 16)
    assert np.array_equal(again, large)
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / CACHE_DIR).iterdir())


def test_a_folder_that_cannot_hold_a_cache_still_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_images(tmp_path, 2)

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)  # as in a read-only dataset folder
    images, _, _ = load_folder(tmp_path, 16)
    assert len(images) == 2 and not (tmp_path / CACHE_DIR).exists()
