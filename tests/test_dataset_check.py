"""``maskgen dataset check``: what a folder will give a run, found before the run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from maskgen.cli.main import app
from maskgen.data.check import DUPLICATE_SIZE, check_collection, duplicate_pairs, has_no_colour
from maskgen.data.datasets import load_training_images
from maskgen.data.folder import square_resize
from maskgen.data.framing import find_mask, frame_mask, frame_picture


def _masks(count: int, seed: int) -> np.ndarray:
    return load_training_images("builtin-detailed", 128, seed=seed, count=count)[0]


def _collection(root: Path) -> dict[str, str]:
    """A folder with one of each problem; returns what each file stands for."""
    root.mkdir()
    masks = _masks(7, seed=21)
    for k in range(4):
        Image.fromarray(masks[k]).save(root / f"mask{k}.png")
    Image.fromarray(masks[0]).save(root / "mask0_again.jpg", quality=75)  # the same mask, re-saved
    crooked = masks[1].copy()
    crooked[30:60, 20:50] = (20, 160, 40)  # a green patch on one side only
    Image.fromarray(crooked).save(root / "mask1.png")
    Image.fromarray(crooked[:, ::-1]).save(root / "mask1_mirrored.png")
    Image.fromarray(masks[4]).resize((20, 20), Image.Resampling.LANCZOS).save(root / "tiny.png")
    Image.fromarray(masks[6]).convert("L").save(root / "grey.png")
    page = Image.new("RGB", (300, 170), (250, 250, 248))
    page.paste(Image.fromarray(masks[3]), (15, 20))
    page.paste(Image.fromarray(masks[5]), (157, 20))
    page.save(root / "page.png")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    return {"duplicate": "mask0.png = mask0_again.jpg", "mirrored": "mask1.png = mask1_mirrored.png"}


def test_check_finds_each_problem_and_nothing_else(tmp_path: Path) -> None:
    _collection(tmp_path / "masks")
    report = check_collection(tmp_path / "masks", resolution=32)
    assert report.images == 9 and report.unreadable == ["broken.jpg"]
    assert report.smaller_than_resolution == ["tiny.png"]
    assert report.pages_of_several_masks == ["page.png"]
    assert report.without_colour == ["grey.png"]
    pairs = {(d["a"], d["b"]): d["mirrored"] for d in report.duplicates}
    assert pairs == {("mask0.png", "mask0_again.jpg"): False, ("mask1.png", "mask1_mirrored.png"): True}
    assert report.on_plain_backdrop == 9  # the tiny one too: framing works at any size
    warnings = "\n".join(report.warnings())
    assert "1 cannot be read" in warnings and "(page.png)" in warnings and "only 9 readable" in warnings
    assert "mask1.png = mask1_mirrored.png mirrored" in warnings


def test_different_masks_are_not_duplicates_and_the_distance_is_the_rms() -> None:
    # False alarms would teach users to ignore the warning: 60 different detailed masks, none paired.
    masks = _masks(60, seed=22)
    names = [f"{k}.png" for k in range(60)]
    assert duplicate_pairs(masks, names) == []
    page = Image.new("RGB", (150, 150), (250, 250, 248))  # the same mask printed at 90%, off-centre
    page.paste(Image.fromarray(masks[1]).resize((115, 115), Image.Resampling.LANCZOS), (8, 20))
    pictures = (Image.fromarray(masks[1]), page)
    framed = [square_resize(frame_picture(picture, 64)[0], 64) for picture in pictures]
    assert len(duplicate_pairs(np.stack(framed), names[:2])) == 1
    near = np.clip(masks[0].astype(int) + np.random.default_rng(0).integers(-8, 9, masks[0].shape), 0, 255)
    pair = duplicate_pairs(np.stack([masks[0], near.astype(np.uint8)]), names[:2], threshold=1.0)
    assert len(pair) == 1 and not pair[0]["mirrored"]

    def small(x: np.ndarray) -> np.ndarray:  # compared at one size: each mask framed strictly
        picture = Image.fromarray(x)
        framed = frame_mask(picture, find_mask(picture), x.shape[0])  # type: ignore[arg-type]
        resized = framed.resize((DUPLICATE_SIZE,) * 2, Image.Resampling.BOX)
        return np.asarray(resized, np.float64) / 255

    expected = np.sqrt(((small(masks[0]) - small(near.astype(np.uint8))) ** 2).mean())
    assert abs(pair[0]["rms"] - expected) < 1e-4


def test_a_white_face_with_black_lines_has_colour_only_if_painted_so() -> None:
    grey = np.full((64, 64, 3), 240, np.uint8)
    grey[20:24, 10:54] = 20
    assert has_no_colour(grey)
    lips = grey.copy()
    lips[44:48, 26:38] = (200, 30, 40)  # red lips: 48 of 4096 pixels
    assert not has_no_colour(lips)


def test_the_check_command_reports_and_a_missing_folder_is_one_line(cli, tmp_path: Path) -> None:
    _collection(tmp_path / "masks")
    out = tmp_path / "report.json"
    result = cli.invoke(app, ["dataset", "check", str(tmp_path / "masks"), "-r", "32", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("9 images at 32 px: 9 of 9 found on a plain backdrop and framed;")
    assert "warning: 2 pairs look like the same mask" in result.stderr
    saved = json.loads(out.read_text())
    assert saved["pages_of_several_masks"] == ["page.png"] and len(saved["warnings"]) == 6
    bad = cli.invoke(app, ["dataset", "check", str(tmp_path / "nope")])
    assert bad.exit_code == 1 and bad.stderr.startswith("error: ") and len(bad.stderr.splitlines()) == 1
    odd = cli.invoke(app, ["dataset", "check", str(tmp_path / "masks"), "-r", "48"])
    assert odd.exit_code == 1 and "power of two" in odd.stderr


def test_a_run_on_a_folder_counts_its_duplicates() -> None:
    from maskgen.data.prepare import duplicates_note

    masks = load_training_images("builtin-detailed", 64, seed=23, count=5)[0]
    assert duplicates_note(masks, "my_masks") is None
    twice = np.concatenate([masks, masks[2:3, :, ::-1]])  # one mask again, mirrored
    note = duplicates_note(twice, "my_masks")
    assert note is not None and note.startswith("1 pair(s)") and "maskgen dataset check my_masks" in note
    assert duplicates_note(twice, "builtin-detailed") is None  # the built-in sets are not checked


def test_blocks_of_rows_find_the_same_pairs(monkeypatch) -> None:
    # Large folders are compared a block of rows at a time; the blocks must not lose or repeat a pair.
    import maskgen.data.check as check

    masks = _masks(12, seed=24)
    images = np.concatenate([masks, masks[3:4], masks[7:8, :, ::-1], masks[3:4]])
    names = [str(k) for k in range(len(images))]
    whole = duplicate_pairs(images, names)
    monkeypatch.setattr(check, "ROWS_AT_ONCE", 5)
    assert duplicate_pairs(images, names) == whole
    assert {(d["a"], d["b"]) for d in whole} >= {("3", "12"), ("3", "14"), ("12", "14"), ("7", "13")}
