"""builtin-photographed: the detailed masks as photographs, a domain the base models never saw."""

from __future__ import annotations

import numpy as np
from PIL import Image

from maskgen.data.build import synth_dataset
from maskgen.data.datasets import load_training_images
from maskgen.data.photographed import foreground, render_photographed_mask
from maskgen.data.procedural import CATEGORY_NAMES
from maskgen.data.procedural_detailed import render_detailed_mask
from maskgen.data.symmetry import judge_symmetry


def test_the_same_seed_gives_the_same_picture_and_synth_writes_what_training_loads(tmp_path) -> None:
    first, meta = render_photographed_mask(5, 32)
    again, _ = render_photographed_mask(5, 32)
    assert np.array_equal(np.asarray(first), np.asarray(again))
    assert meta["camera"] == render_photographed_mask(5, 32)[1]["camera"]
    assert not np.array_equal(np.asarray(first), np.asarray(render_photographed_mask(6, 32)[0]))

    images, labels, description = load_training_images("builtin-photographed", 32, seed=3, count=9)
    assert "photographed" in description and images.shape == (9, 32, 32, 3)
    summary = synth_dataset(tmp_path / "photos", count=9, size=32, seed=3, style="photographed")
    assert summary["style"] == "photographed"
    written = np.stack([np.asarray(Image.open(p)) for p in sorted((tmp_path / "photos").glob("*.png"))])
    assert np.array_equal(written, images)
    assert labels is not None and sorted(set(labels.tolist())) == list(range(7))  # seven classes in 9


def test_foreground_keeps_white_fields_inside_the_face() -> None:
    # A black ring on white, white inside: the ring and what it encloses are the mask.
    yy, xx = np.mgrid[:40, :40]
    radius = np.hypot(yy - 20, xx - 20)
    image = np.full((40, 40, 3), 255, np.uint8)
    image[(radius > 10) & (radius < 13)] = 0
    inside = foreground(Image.fromarray(image))
    np.testing.assert_array_equal(inside, radius < 13)
    # A rendered white face: background around it, the face (white paint included) kept.
    mask, _ = render_detailed_mask(11, 64, CATEGORY_NAMES.index("white"))
    inside = foreground(mask)
    assert not inside[0, 0] and not inside[-1, -1] and inside[32, 32]
    assert 0.3 < inside.mean() < 0.95


def test_the_pictures_carry_a_camera_but_the_collection_stays_symmetric() -> None:
    images, _, _ = load_training_images("builtin-photographed", 64, seed=0, count=120)
    exact, _, _ = load_training_images("builtin-detailed", 64, seed=0, count=120)
    corners = images[:, [0, 0, -1, -1], [0, -1, 0, -1]].astype(float)
    assert np.mean(np.abs(corners - 255).mean(axis=(1, 2)) > 4) > 0.5  # backdrops, light: not pure white
    flipped = np.abs(images.astype(float) - images[:, :, ::-1].astype(float)).mean()
    exact_flipped = np.abs(exact.astype(float) - exact[:, :, ::-1].astype(float)).mean()
    assert flipped > 3 * max(exact_flipped, 1.0)  # framing and light break the exact mirror
    # ... yet the painted masks are symmetric, and -G symmetric=auto must see it (it did not when it
    # searched mirror shifts up to +-6% of the width: 79% of these masks, under the 80% needed).
    verdict = judge_symmetry(images)
    assert verdict.symmetric and verdict.share > 0.9, verdict.describe()
