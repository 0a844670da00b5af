"""One image decoder: a file gives the same pixels to GAN training, translation training and
``translate apply`` (16-bit, transparent, greyscale, palette, large JPEG, EXIF-rotated, sketches)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from maskgen.data.datasets import load_training_images
from maskgen.data.folder import find_images, load_image, load_line_drawing
from maskgen.translation.apply import load_reference, load_sketch
from maskgen.translation.data import load_images, load_sketch_folder

SIZE = 32


def _odd_files(folder: Path) -> list[str]:
    """Files whose decoding has pitfalls, each non-square so that the centre crop matters too."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    # 16-bit greyscale PNG with values over 255 (PIL's own conversion would clip them at 255).
    deep = (np.linspace(0, 65535, 48 * 40).reshape(40, 48)).astype(np.uint16)
    Image.fromarray(deep).save(folder / "a_deep16.png")
    # RGBA with partial transparency: composited on white.
    rgba = rng.integers(0, 256, (40, 52, 4), dtype=np.uint8)
    rgba[:, :10, 3] = 0
    Image.fromarray(rgba, "RGBA").save(folder / "b_rgba.png")
    # Greyscale and greyscale with alpha.
    Image.fromarray(rng.integers(0, 256, (44, 36), dtype=np.uint8), "L").save(folder / "c_grey.png")
    la = np.stack([rng.integers(0, 256, (36, 36)), rng.integers(0, 256, (36, 36))], -1).astype(np.uint8)
    Image.fromarray(la, "LA").save(folder / "d_grey_alpha.png")
    # Palette image with a transparent index.
    pal = Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).convert(
        "P", palette=Image.Palette.ADAPTIVE, colors=16
    )
    pal.save(folder / "e_palette.png", transparency=0)
    # A large JPEG (decoded at a reduced scale) and an EXIF-rotated one.
    big = np.kron(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8), np.ones((8, 8, 1), np.uint8))
    Image.fromarray(big).save(folder / "f_big.jpg", quality=90)
    rotated = Image.fromarray(rng.integers(0, 256, (30, 50, 3), dtype=np.uint8))
    exif = rotated.getexif()
    exif[0x0112] = 6
    rotated.save(folder / "g_rotated.jpg", exif=exif)
    return sorted(p.name for p in folder.iterdir())


def _reference_pixels(path: Path) -> np.ndarray:
    x = load_reference(path, SIZE)[0].permute(1, 2, 0)
    return ((x + 1) * 127.5).round().to(torch.uint8).numpy()


def test_training_and_translation_loaders_give_identical_pixels(tmp_path: Path) -> None:
    folder = tmp_path / "masks"
    names = _odd_files(folder)
    paths = find_images(folder)
    assert [p.name for p in paths] == names
    gan, _, _ = load_training_images(str(folder), SIZE, cache=False)
    translation, _, _, translation_paths = load_images(str(folder), SIZE, count=0, seed=0)
    assert translation_paths == paths
    for index, path in enumerate(paths):
        expected = load_image(path, SIZE)
        assert expected.shape == (SIZE, SIZE, 3) and expected.dtype == np.uint8
        np.testing.assert_array_equal(gan[index], expected, err_msg=path.name)
        np.testing.assert_array_equal(translation[index], expected, err_msg=path.name)
        np.testing.assert_array_equal(_reference_pixels(path), expected, err_msg=path.name)
    # The 16-bit file is rescaled from its own range, not clipped at 255; transparency is white.
    deep = gan[names.index("a_deep16.png")]
    assert deep.min() < 60 and deep.max() > 200 and len(np.unique(deep)) > 20
    assert (gan[names.index("b_rgba.png")][:, 0] >= 250).all()
    assert (gan[names.index("c_grey.png")] == gan[names.index("c_grey.png")][..., :1]).all()


@pytest.mark.parametrize("side", [SIZE, 3 * SIZE])  # as large as the model, and shrunk with widened lines
def test_sketch_folders_and_apply_read_a_sketch_alike(tmp_path: Path, side: int) -> None:
    images, sketches = tmp_path / "img", tmp_path / "sk"
    images.mkdir()
    sketches.mkdir()
    lines = np.full((side, side, 3), 255, np.uint8)
    lines[side // 3, :] = 0  # a one-pixel black line
    lines[:, side // 2] = [200, 30, 30]  # a red line: the darkest channel makes it a line
    Image.fromarray(lines).save(sketches / "m.png")
    Image.fromarray(np.full((SIZE, SIZE), 128, np.uint16)).save(images / "m.png")  # 16-bit, too
    trained = load_sketch_folder(sketches, [images / "m.png"], images, SIZE)[0]
    applied = (load_sketch(sketches / "m.png", SIZE)[0, 0] * 255).round().to(torch.uint8).numpy()
    np.testing.assert_array_equal(trained, applied)
    np.testing.assert_array_equal(trained, load_line_drawing(sketches / "m.png", SIZE))
    assert trained.min() < 80  # the lines survive the shrink instead of fading to grey
