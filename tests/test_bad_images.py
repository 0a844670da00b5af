"""Bad images: every file in a hostile corpus is loaded correctly or skipped and counted, never a crash."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from maskgen.data.folder import load_folder, load_image
from maskgen.errors import MaskgenError


def _png_bytes(size: int = 24, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_corpus(root: Path) -> tuple[int, int]:
    """Returns (number of good files, number of bad files) written to ``root``."""
    root.mkdir()
    red = Image.new("RGB", (40, 30), (200, 20, 20))
    red.save(root / "good.png")
    red.convert("CMYK").save(root / "cmyk.jpg", format="JPEG")
    Image.fromarray(np.arange(32 * 32, dtype=np.uint16).reshape(32, 32) * 60).save(root / "deep16.png")
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(root / "animated.gif", save_all=True, append_images=frames[1:])
    frames[0].save(root / "animated.webp", save_all=True, append_images=frames[1:])
    exif = Image.new("RGB", (30, 20), (0, 0, 255)).getexif()
    exif[0x0112] = 6  # rotated 90 degrees
    Image.new("RGB", (30, 20), (0, 0, 255)).save(root / "rotated.jpg", exif=exif)
    good = 6
    (root / "empty.png").write_bytes(b"")
    (root / "random.jpg").write_bytes(np.random.default_rng(1).bytes(500))
    (root / "truncated.png").write_bytes(_png_bytes()[:60])
    (root / "text.webp").write_bytes(b"this is not an image")
    return good, 4


def test_hostile_corpus_loads_or_skips_with_a_count(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good, bad = _write_corpus(tmp_path / "corpus")
    images, paths, skipped = load_folder(tmp_path / "corpus", 16)
    assert images.shape == (good, 16, 16, 3) and images.dtype == np.uint8
    assert skipped == bad
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1 and f"skipped {bad} unreadable" in warning[0]
    by_name = {p.name: image for p, image in zip(paths, images, strict=True)}
    # CMYK came back as the same red in RGB; the animated GIF gave its first (red) frame.
    assert abs(int(by_name["cmyk.jpg"][8, 8, 0]) - 200) < 20
    assert by_name["animated.gif"][8, 8].tolist() == [255, 0, 0]


def test_only_bad_files_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(MaskgenError):
        load_folder(tmp_path, 16)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_decoder_fuzz_never_crashes(tmp_path: Path, data: st.DataObject) -> None:
    """Random bytes, and valid PNG bytes with random damage: an image or a MaskgenError, nothing else."""
    if data.draw(st.booleans()):
        payload = data.draw(st.binary(max_size=2000))
    else:
        payload = bytearray(_png_bytes(seed=data.draw(st.integers(0, 5))))
        for _ in range(data.draw(st.integers(1, 8))):
            payload[data.draw(st.integers(0, len(payload) - 1))] = data.draw(st.integers(0, 255))
        payload = bytes(payload[: data.draw(st.integers(1, len(payload)))])
    path = tmp_path / f"fuzz.{data.draw(st.sampled_from(['png', 'jpg', 'webp', 'bmp']))}"
    path.write_bytes(payload)
    try:
        image = load_image(path, 8)
    except MaskgenError:
        return
    assert image.shape == (8, 8, 3) and image.dtype == np.uint8
