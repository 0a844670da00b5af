"""Tests of maskgen.data: procedural masks, image folders, training images, dataset writers."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from maskgen.data import (
    BROWS,
    CATEGORIES,
    EMBLEMS,
    EYES,
    MOUTHS,
    NOSES,
    PATTERNS,
    build_dataset,
    find_images,
    load_folder,
    load_image,
    load_training_images,
    mask_plan,
    render_mask,
    render_masks,
    render_masks_with_meta,
    rotate_hue,
    synth_dataset,
)
from maskgen.errors import MaskgenError

# --------------------------------------------------------------------------------------------------
# Procedural masks
# --------------------------------------------------------------------------------------------------


def test_categories_are_the_seven_traditional_colours():
    assert [c.name for c in CATEGORIES] == ["red", "purple", "black", "white", "blue", "green", "yellow"]
    assert [c.chinese for c in CATEGORIES] == ["红", "紫", "黑", "白", "蓝", "绿", "黄"]
    assert all(c.meaning and c.index == i for i, c in enumerate(CATEGORIES))
    assert "crooked" not in " ".join(PATTERNS)  # asymmetric faces are left out on purpose


def test_same_seed_same_pixels_and_different_seeds_differ():
    a, meta_a = render_mask(1234, 64)
    b, meta_b = render_mask(1234, 64)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert meta_a == meta_b
    others = [np.asarray(render_mask(s, 64)[0]) for s in range(20)]
    for i in range(len(others)):
        for j in range(i):
            assert not np.array_equal(others[i], others[j])
    # Forcing the category changes the colour, not the rest of the random stream's determinism.
    c1 = np.asarray(render_mask(7, 64, category=4)[0])
    assert np.array_equal(c1, np.asarray(render_mask(7, 64, category=4)[0]))


def test_render_mask_metadata():
    img, meta = render_mask(99, 32, category=2)
    assert img.mode == "RGB" and img.size == (32, 32)
    assert meta["seed"] == 99 and meta["category"] == 2 and meta["name"] == "black"
    assert meta["chinese"] == "黑" and "integrity" in meta["meaning"]
    assert meta["pattern"] in PATTERNS
    for key in ("brow", "eye", "nose", "emblem", "cheek", "mouth"):
        assert isinstance(meta[key], str)


@pytest.mark.parametrize("size", [16, 17, 33, 64, 256])
def test_pixels_exactly_left_right_symmetric(size):
    for seed in (0, 1, 2):
        arr = np.asarray(render_mask(seed, size)[0])
        assert arr.shape == (size, size, 3) and arr.dtype == np.uint8
        assert np.array_equal(arr, np.flip(arr, axis=1))


def test_background_is_white_and_face_is_painted():
    arr = np.asarray(render_mask(5, 64)[0]).astype(int)
    assert (arr[0, 0] == 255).all() and (arr[-1, -1] == 255).all()
    assert (arr[32, 32] != 255).any()  # the centre of the face is painted
    fg = (255 - arr).max(axis=-1) > 12
    assert 0.35 < fg.mean() < 0.9


@pytest.mark.parametrize("size", [15, 1025, 0, -64])
def test_sizes_outside_range_raise(size):
    with pytest.raises(ValueError):
        render_mask(0, size)
    with pytest.raises(ValueError):
        render_masks(2, size)


def test_bad_category_and_seed_raise():
    with pytest.raises(ValueError):
        render_mask(0, 32, category=7)
    with pytest.raises(ValueError):
        render_mask(-1, 32)


def test_render_masks_balanced_all_categories_and_deterministic():
    images, labels = render_masks(70, 32, seed=3)
    assert images.shape == (70, 32, 32, 3) and images.dtype == np.uint8
    assert labels.dtype == np.int64
    assert np.bincount(labels, minlength=7).tolist() == [10] * 7
    again, labels2 = render_masks(70, 32, seed=3)
    assert np.array_equal(images, again) and np.array_equal(labels, labels2)
    # Mask i does not depend on how many masks are asked for.
    first, first_labels = render_masks(9, 32, seed=3)
    assert np.array_equal(first, images[:9]) and np.array_equal(first_labels, labels[:9])
    other, _ = render_masks(9, 32, seed=4)
    assert not np.array_equal(other, first)
    # Every prefix is balanced within one.
    for n in range(1, 70):
        counts = np.bincount(labels[:n], minlength=7)
        assert counts.max() - counts.min() <= 1
    # Random categories also cover all seven.
    assert {render_mask(s, 16)[1]["category"] for s in range(60)} == set(range(7))


# Hue centres of the chromatic classes, degrees.
_HUES = {0: 0.0, 6: 45.0, 5: 135.0, 4: 220.0, 1: 290.0}


def _dominant_class(arr: np.ndarray) -> int:
    """The class most non-background pixels belong to: dark -> black, unsaturated -> white, else the
    nearest hue centre."""
    a = arr.reshape(-1, 3).astype(np.float64)
    a = a[(255 - a).max(axis=1) > 12] / 255.0
    mx, mn = a.max(axis=1), a.min(axis=1)
    sat = (mx - mn) / np.maximum(mx, 1e-9)
    r, g, b = a.T
    d = np.maximum(mx - mn, 1e-9)
    hue = np.where(mx == r, ((g - b) / d) % 6, np.where(mx == g, (b - r) / d + 2, (r - g) / d + 4)) * 60
    cls = np.where(mx < 0.3, 2, 3)
    chrom = (mx >= 0.3) & (sat >= 0.25)
    keys, centres = np.array(list(_HUES)), np.array(list(_HUES.values()))
    dist = np.abs((hue[chrom, None] - centres[None] + 180) % 360 - 180)
    cls[chrom] = keys[dist.argmin(axis=1)]
    return int(np.bincount(cls, minlength=7).argmax())


def test_dominant_face_colour_matches_category():
    images, labels = render_masks(70, 64, seed=11)
    correct = np.array([_dominant_class(img) == label for img, label in zip(images, labels, strict=True)])
    assert correct.mean() >= 0.9, f"only {correct.sum()}/70 masks have their own colour dominant"
    per_class = np.bincount(labels[correct], minlength=7)  # 10 masks per class
    assert per_class.min() >= 8, f"correct per class: {per_class.tolist()}"


def test_patterns_vary():
    patterns = {render_mask(s, 16)[1]["pattern"] for s in range(80)}
    assert len(patterns) >= 6


def test_mask_plan_matches_render_masks():
    seeds, labels = mask_plan(10, seed=5)
    images, labels2 = render_masks(10, 16, seed=5)
    assert np.array_equal(labels, labels2)
    assert np.array_equal(images[3], np.asarray(render_mask(int(seeds[3]), 16, int(labels[3]))[0]))
    same, labels3, metas = render_masks_with_meta(10, 16, seed=5)
    assert np.array_equal(same, images) and np.array_equal(labels3, labels)
    assert [m["category"] for m in metas] == labels.tolist() and metas[3]["seed"] == seeds[3]
    for meta in metas:  # choices are names from the published tuples (classifier heads rely on them)
        assert meta["pattern"] in PATTERNS and meta["brow"] in BROWS and meta["eye"] in EYES
        assert meta["nose"] in NOSES and meta["emblem"] in EMBLEMS and meta["mouth"] in MOUTHS


# --------------------------------------------------------------------------------------------------
# Image folders
# --------------------------------------------------------------------------------------------------


def _save(path, arr, mode=None, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(arr) if mode is None else Image.fromarray(arr, mode)
    img.save(path, **kwargs)
    return path


def test_find_images_recursive_case_insensitive_sorted(tmp_path):
    arr = np.zeros((4, 4, 3), np.uint8)
    for name in ["b.PNG", "a.jpg", "sub/c.JpEg", "sub/d.webp", "e.bmp", "z/.hidden.png"]:
        _save(tmp_path / name, arr)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "dir.png").mkdir()
    found = [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)]
    assert found == ["a.jpg", "b.PNG", "e.bmp", "sub/c.JpEg", "sub/d.webp"]


def test_load_image_rgba_composited_on_white(tmp_path):
    arr = np.zeros((8, 8, 4), np.uint8)
    arr[..., 0] = 255  # red...
    arr[:, :4, 3] = 0  # ...left half fully transparent
    arr[:, 4:, 3] = 255
    out = load_image(_save(tmp_path / "a.png", arr), 8)
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert (out[:, :3] == 255).all()  # transparent -> white
    assert (out[:, 5:] == [255, 0, 0]).all()


def test_load_image_grey_palette_and_16bit_to_rgb(tmp_path):
    grey = np.full((10, 10), 100, np.uint8)
    out = load_image(_save(tmp_path / "g.png", grey), 10)
    assert out.shape == (10, 10, 3) and (out == 100).all()
    pal = Image.fromarray(np.full((10, 10, 3), [10, 200, 30], np.uint8)).convert(
        "P", palette=Image.Palette.ADAPTIVE
    )
    pal.save(tmp_path / "p.png")
    assert (load_image(tmp_path / "p.png", 10) == [10, 200, 30]).all()
    deep = Image.fromarray(np.full((10, 10), 65535, np.uint16))
    deep.save(tmp_path / "d16.png")
    assert (load_image(tmp_path / "d16.png", 10) == 255).all()
    Image.new("CMYK", (10, 10), (0, 0, 0, 0)).save(tmp_path / "c.jpg")
    assert load_image(tmp_path / "c.jpg", 10).min() > 240  # CMYK white


def test_load_image_centre_crops_non_square(tmp_path):
    arr = np.zeros((20, 60, 3), np.uint8)  # wide: 20 high, 60 wide
    arr[:, :20] = [255, 0, 0]
    arr[:, 20:40] = [0, 255, 0]
    arr[:, 40:] = [0, 0, 255]
    out = load_image(_save(tmp_path / "wide.png", arr), 20)
    assert (out == [0, 255, 0]).all()  # only the middle square is kept
    tall = load_image(_save(tmp_path / "tall.png", arr.transpose(1, 0, 2).copy()), 10)
    assert (tall == [0, 255, 0]).all()


def test_load_image_applies_exif_orientation(tmp_path):
    arr = np.zeros((16, 16, 3), np.uint8)
    arr[:8] = [255, 0, 0]  # red on top as stored
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 3  # rotate 180 when displayed
    img.save(tmp_path / "rot.png", exif=exif)
    out = load_image(tmp_path / "rot.png", 16)
    assert (out[8:] == [255, 0, 0]).all() and (out[:8] == 0).all()


def test_load_image_first_frame_of_animation(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(tmp_path / "anim.webp", save_all=True, append_images=frames[1:], lossless=True)
    out = load_image(tmp_path / "anim.webp", 8)
    assert out[..., 0].mean() > 200 and out[..., 2].mean() < 50


def test_load_folder_skips_unreadable_with_one_warning(tmp_path, capsys):
    for i in range(3):
        _save(tmp_path / f"ok{i}.png", np.full((12, 16, 3), 40 * i, np.uint8))
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    good = tmp_path / "trunc.jpg"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(good)
    good.write_bytes(good.read_bytes()[:100])
    images, paths, skipped = load_folder(tmp_path, 8)
    assert images.shape == (3, 8, 8, 3) and images.dtype == np.uint8
    assert [p.name for p in paths] == ["ok0.png", "ok1.png", "ok2.png"]
    assert skipped == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "skipped 3 unreadable image(s)" in err[0] and str(tmp_path) in err[0]


def test_load_folder_decompression_bomb_is_skipped(tmp_path, monkeypatch, capsys):
    _save(tmp_path / "small.png", np.zeros((4, 4, 3), np.uint8))
    _save(tmp_path / "huge.png", np.zeros((64, 64, 3), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64*64 > 2 * 1000 -> DecompressionBombError
    images, paths, skipped = load_folder(tmp_path, 4)
    assert len(images) == 1 and skipped == 1 and "huge.png" in capsys.readouterr().err


def test_load_folder_errors(tmp_path):
    with pytest.raises(MaskgenError, match="dataset folder not found"):
        load_folder(tmp_path / "missing", 8)
    with pytest.raises(MaskgenError, match=r"no images \(png/jpg/jpeg/webp/bmp/gif\) found in"):
        load_folder(tmp_path, 8)
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(MaskgenError, match="not a folder"):
        load_folder(tmp_path / "file.png", 8)
    with pytest.raises(MaskgenError):  # only unreadable files
        load_folder(tmp_path, 8)


# --------------------------------------------------------------------------------------------------
# Training images
# --------------------------------------------------------------------------------------------------


def test_load_training_images_builtin_and_resolution_checks():
    images, labels, desc = load_training_images("builtin", 32, seed=1, count=14)
    assert images.shape == (14, 32, 32, 3) and labels.tolist().count(0) == 2 and "procedural" in desc
    none_images, _, _ = load_training_images(None, 32, seed=1, count=14)
    assert np.array_equal(images, none_images)
    tiny, _, _ = load_training_images(None, 8, count=7)
    assert tiny.shape == (7, 8, 8, 3) and np.array_equal(tiny, tiny[:, :, ::-1])
    for bad in (48, 2, 2048, 0):
        with pytest.raises(
            MaskgenError, match=f"resolution must be a power of two between 4 and 1024, got {bad}"
        ):
            load_training_images(None, bad, count=1)


def test_load_training_images_folder_with_labels(tmp_path):
    for i in range(3):
        _save(tmp_path / f"m{i}.png", np.full((8, 8, 3), 50 * i, np.uint8))
    images, labels, desc = load_training_images(str(tmp_path), 4)
    assert images.shape == (3, 4, 4, 3) and labels is None and tmp_path.name in desc
    (tmp_path / "labels.csv").write_text("file,label\nm0.png,2\nm1.png,0\nm2.png,6\n")
    _, labels, _ = load_training_images(str(tmp_path), 4)
    assert labels.tolist() == [2, 0, 6]


# --------------------------------------------------------------------------------------------------
# Dataset writers
# --------------------------------------------------------------------------------------------------


def test_rotate_hue_keeps_greys_and_permutes_channels():
    rng = np.random.default_rng(0)
    px = rng.integers(0, 256, (50, 3), dtype=np.uint8)
    assert np.array_equal(rotate_hue(px, 120.0), px[:, [2, 0, 1]])
    greys = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    assert np.array_equal(rotate_hue(greys, 77.0), greys)


def test_build_dataset_four_per_source_with_manifest(tmp_path, capsys):
    src, out = tmp_path / "src", tmp_path / "out"
    arr = np.full((30, 40, 3), 255, np.uint8)
    arr[5:25, 12:22] = [200, 30, 40]  # asymmetric red patch
    _save(src / "a.png", arr)
    _save(src / "sub" / "b.jpg", arr[:, ::-1].copy(), quality=95)
    (src / "broken.png").write_bytes(b"nope")
    summary = build_dataset(src, out, 32)
    assert summary["sources"] == 2 and summary["skipped"] == 1 and summary["written"] == 8
    assert "skipped 1 unreadable" in capsys.readouterr().err
    with open(out / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and {r["source"] for r in rows} == {"a.png", "sub/b.jpg"}
    assert [r["transform"] for r in rows[:4]] == ["original", "mirror", "colour", "mirror+colour"]
    assert all((out / r["file"]).is_file() for r in rows)
    load = {r["transform"]: np.asarray(Image.open(out / r["file"])) for r in rows if r["source"] == "a.png"}
    assert all(v.shape == (32, 32, 3) for v in load.values())
    assert np.array_equal(load["original"], load_image(src / "a.png", 32))
    assert np.array_equal(load["mirror"], load["original"][:, ::-1])
    assert np.array_equal(load["mirror+colour"], load["colour"][:, ::-1])
    assert not np.array_equal(load["colour"], load["original"])
    assert (load["colour"][0, 0] == 255).all()  # white background stays white
    # Reproducible: the same sources give the same colour change.
    again = build_dataset(src, tmp_path / "out2", 32)
    assert again["written"] == 8
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out2" / rows[2]["file"])), load["colour"])


def test_build_dataset_refuses_bad_folders(tmp_path):
    src = tmp_path / "src"
    _save(src / "a.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(MaskgenError, match="source folder"):
        build_dataset(src, src, 16)
    with pytest.raises(MaskgenError, match="source folder"):
        build_dataset(src, src / "out", 16)
    with pytest.raises(MaskgenError, match="not found"):
        build_dataset(tmp_path / "missing", tmp_path / "o", 16)
    with pytest.raises(MaskgenError, match="not empty"):
        build_dataset(src, tmp_path, 16)
    assert not (src / "out").exists()


def test_synth_dataset_writes_pngs_labels_and_json(tmp_path):
    out = tmp_path / "synth"
    summary = synth_dataset(out, count=14, size=32, seed=2)
    assert summary["count"] == 14
    with open(out / "labels.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["file", "label", "category", "pattern", "seed"]
    assert len(rows) == 14 and sorted(int(r["label"]) for r in rows) == sorted(list(range(7)) * 2)
    assert all(r["category"] == CATEGORIES[int(r["label"])].name and r["pattern"] in PATTERNS for r in rows)
    images, labels = render_masks(14, 32, seed=2)
    for i, row in enumerate(rows):
        assert np.array_equal(np.asarray(Image.open(out / row["file"])), images[i])
        assert int(row["label"]) == labels[i]
    info = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    assert info["count"] == 14 and info["size"] == 32 and info["seed"] == 2
    assert [c["name"] for c in info["categories"]] == [c.name for c in CATEGORIES]
    assert info["categories"][0]["meaning"] == CATEGORIES[0].meaning
    # The folder reads back with its labels.
    loaded, loaded_labels, _ = load_training_images(str(out), 32)
    assert np.array_equal(loaded, images) and np.array_equal(loaded_labels, labels)
    with pytest.raises(MaskgenError):
        synth_dataset(out, count=1, size=32, seed=0)  # not empty
    with pytest.raises(MaskgenError):
        synth_dataset(tmp_path / "x", count=1, size=8, seed=0)
