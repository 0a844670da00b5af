"""Writing datasets to disk: the paper's training-set construction and the procedural masks.

``build_dataset`` turns every source image into four training images, as in the paper: the square
centre crop resized to ``size`` (*original*), its mirror image (*mirror*), a colour-changed copy
(*colour*) and the mirrored colour-changed copy (*mirror+colour*).

The colour change is a hue rotation in HSV space by an angle between 60 and 300 degrees, drawn from
``numpy.random.default_rng([seed, source index])``: reproducible, and never so small that the copy
looks like the original. Saturation and value are kept, so the white background, black ink lines and
greys stay exactly as they are and only the painted colours move round the colour wheel (red -> green
-> blue ...). Rotations by 120 and 240 degrees are exactly the channel permutations RGB -> BRG / GBR;
the other angles are the continuous version of that.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

from maskgen.data.folder import (
    IMAGE_EXTENSIONS,
    find_images,
    load_image,
    open_rgb,
    square_resize,
    warn_skipped,
)
from maskgen.data.framing import frame_picture
from maskgen.data.photographed import render_photographed_mask
from maskgen.data.procedural import CATEGORIES, MAX_SIZE, MIN_SIZE, PATTERNS, mask_plan, render_mask
from maskgen.data.procedural_detailed import DETAILED_PATTERNS, render_detailed_mask
from maskgen.data.procedural_mix import RENDERERS, mix_sources, render_mix_masks_with_meta
from maskgen.data.procedural_varied import render_varied_mask
from maskgen.errors import MaskgenError

MANIFEST = "manifest.csv"
SYNTH_STYLES = ("simple", "detailed", "photographed", "varied", "varied-mix")
TRANSFORMS: tuple[tuple[str, str], ...] = (
    ("original", "orig"),
    ("mirror", "mirror"),
    ("colour", "colour"),
    ("mirror+colour", "mirror_colour"),
)


def rotate_hue(image: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate the hue of uint8 RGB pixels [..., 3] by ``degrees``; greys (incl. white, black) unchanged."""
    x = image.astype(np.float64) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v = x.max(axis=-1)
    c = v - x.min(axis=-1)
    safe = np.where(c > 0, c, 1.0)
    h = np.where(v == r, ((g - b) / safe) % 6.0, np.where(v == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0))
    h = (h + degrees / 60.0) % 6.0
    # HSV -> RGB with chroma c: the largest channel is v, the smallest v - c, the middle one follows h.
    k = lambda n: (n + h) % 6.0  # noqa: E731
    out = np.stack(
        [v - c * np.clip(np.minimum(k(n), 4.0 - k(n)), 0.0, 1.0) for n in (5.0, 3.0, 1.0)], axis=-1
    )
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


def colour_shift(index: int, seed: int = 0) -> float:
    """The hue rotation (degrees, 0.1 steps) applied to source ``index``."""
    return round(float(np.random.default_rng([int(seed), int(index)]).uniform(60.0, 300.0)), 1)


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not MIN_SIZE <= size <= MAX_SIZE:
        raise MaskgenError(f"size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}")
    return int(size)


def _prepare_out(out: Path, overwrite: bool) -> bool:
    """Check ``out`` is usable; returns whether it already existed."""
    if out.exists() and not out.is_dir():
        raise MaskgenError(f"output path exists and is not a folder: {out}")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise MaskgenError(f"output folder is not empty: {out} (choose a new folder)")
    existed = out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MaskgenError(f"cannot create output folder {out}: {exc.strerror or exc}") from exc
    return existed


def _source_images(src: Path, out: Path) -> list[Path]:
    """The images under ``src``, after checking that ``src`` is a folder and ``out`` is outside it."""
    if not src.exists():
        raise MaskgenError(f"dataset folder not found: {src}")
    if not src.is_dir():
        raise MaskgenError(f"dataset path is not a folder: {src}")
    src_r, out_r = src.resolve(), out.resolve()
    if out_r == src_r or out_r.is_relative_to(src_r):
        raise MaskgenError(f"refusing to write into the source folder: {out} is inside {src}")
    paths = find_images(src)
    if not paths:
        raise MaskgenError(f"no images ({'/'.join(e[1:] for e in IMAGE_EXTENSIONS)}) found in {src}")
    return paths


def _write_manifest(
    src: Path, out: Path, existed: bool, found: int, skipped: list[Path], rows: list[dict]
) -> Path:
    """The end of a folder-to-folder command: the skipped-files warning, an error (and no new empty
    ``out``) when nothing was written, else ``out/manifest.csv`` with one row per written file."""
    if skipped:
        warn_skipped(src, skipped)
    if not rows:
        if not existed:
            out.rmdir()
        raise MaskgenError(f"none of the {found} image file(s) in {src} could be read")
    manifest = out / MANIFEST
    with manifest.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def build_dataset(
    src: str | Path, out: str | Path, size: int, seed: int = 0, overwrite: bool = False
) -> dict:
    """Build a training set from the images under ``src``: four PNGs per readable source in ``out``
    plus ``manifest.csv`` (file, source, transform, hue_shift). Returns a summary: found, sources
    (readable ones), skipped, written, size, out, manifest."""
    src, out = Path(src), Path(out)
    size = _check_size(size)
    paths = _source_images(src, out)
    existed = _prepare_out(out, overwrite)

    rows: list[dict] = []
    skipped: list[Path] = []
    used = 0
    for index, path in enumerate(paths):
        try:
            image = load_image(path, size)
        except MaskgenError:
            skipped.append(path)
            continue
        used += 1
        shift = colour_shift(index, seed)
        coloured = rotate_hue(image, shift)
        variants = (image, image[:, ::-1], coloured, coloured[:, ::-1])
        for (transform, suffix), arr in zip(TRANSFORMS, variants, strict=True):
            name = f"{index:05d}_{suffix}.png"
            Image.fromarray(np.ascontiguousarray(arr)).save(out / name)
            rows.append(
                {
                    "file": name,
                    "source": path.relative_to(src).as_posix(),
                    "transform": transform,
                    "hue_shift": shift if "colour" in transform else 0.0,
                }
            )
    manifest = _write_manifest(src, out, existed, len(paths), skipped, rows)
    return {
        "found": len(paths),
        "sources": used,
        "skipped": len(skipped),
        "written": len(rows),
        "size": size,
        "seed": int(seed),
        "out": str(out),
        "manifest": str(manifest),
    }


def frame_dataset(src: str | Path, out: str | Path, size: int, overwrite: bool = False) -> dict:
    """Write every readable image under ``src`` to ``out`` framed as the built-in masks are
    (:mod:`maskgen.data.framing`), as a ``size`` px PNG at the same relative path. Pictures without a
    plain backdrop are centre-cropped as training would. ``manifest.csv`` says which were framed and
    where the mask was found (and how many masks the box holds: a page of several is framed as one); a
    ``labels.csv`` in ``src`` is copied with the new file names. Returns a summary: found, written,
    framed, pages (the sources that look like pages of several masks), skipped, size, out."""
    src, out = Path(src), Path(out)
    size = _check_size(size)
    paths = _source_images(src, out)
    existed = _prepare_out(out, overwrite)
    rows: list[dict] = []
    skipped: list[Path] = []
    renamed: dict[str, str] = {}
    for path in paths:
        try:
            picture = open_rgb(path)
        except MaskgenError:
            skipped.append(path)
            continue
        framed, box = frame_picture(picture, size)
        rel = path.relative_to(src)
        name = rel.with_suffix(".png").as_posix()
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(square_resize(framed, size)).save(target)
        renamed[rel.as_posix()] = name
        rows.append(
            {
                "file": name,
                "source": rel.as_posix(),
                "framed": int(box is not None),
                "box": "" if box is None else box.corners_text(),
                "masks": "" if box is None else box.masks,
            }
        )
    _write_manifest(src, out, existed, len(paths), skipped, rows)
    _copy_labels(src / "labels.csv", out / "labels.csv", renamed)
    return {
        "found": len(paths),
        "written": len(rows),
        "framed": sum(r["framed"] for r in rows),
        "pages": [r["source"] for r in rows if r["masks"] not in ("", 1)],
        "skipped": len(skipped),
        "size": size,
        "out": str(out),
    }


def _copy_labels(table: Path, target: Path, renamed: dict[str, str]) -> None:
    """``labels.csv`` with its file column following the written files (rows of unwritten ones dropped)."""
    if not table.is_file():
        return
    try:
        with table.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            fields = list(reader.fieldnames or [])
            rows = [row for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise MaskgenError(f"cannot read {table}: {exc}") from None
    if "file" not in fields:
        raise MaskgenError(f"{table} needs a file column")
    kept = [{**row, "file": renamed[row["file"]]} for row in rows if row.get("file") in renamed]
    with target.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)


def synth_dataset(
    out: str | Path, count: int, size: int, seed: int, overwrite: bool = False, style: str = "simple"
) -> dict:
    """Write ``count`` procedural masks as PNG to ``out`` with ``labels.csv`` and ``dataset.json``.

    The images are exactly those of ``render_masks(count, size, seed)``, or with ``style="detailed"``
    of ``render_detailed_masks`` (the ``builtin-detailed`` training set), with ``"photographed"`` their
    photographs (``builtin-photographed``, :mod:`maskgen.data.photographed`), with ``"varied"`` the
    ``builtin-varied`` masks (:mod:`maskgen.data.procedural_varied`), with ``"varied-mix"`` the base
    models' mix (``builtin-varied-mix``, :mod:`maskgen.data.procedural_mix`; its labels.csv says each
    mask's source). Returns a summary: count, size, seed, style, out, label_counts.
    """
    out = Path(out)
    size = _check_size(size)
    if style not in SYNTH_STYLES:
        raise MaskgenError(f"style must be one of {', '.join(SYNTH_STYLES)}, got {style!r}")
    detailed = style != "simple"
    render = {
        "simple": render_mask,
        "detailed": render_detailed_mask,
        "photographed": render_photographed_mask,
        "varied": render_varied_mask,
    }.get(style)  # None for the mix, whose masks each have a source set (below)
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise MaskgenError(f"count must be at least 1, got {count}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise MaskgenError(f"seed must be a non-negative integer, got {seed}")
    _prepare_out(out, overwrite)

    seeds, labels = mask_plan(int(count), int(seed))
    # The mix: mask i's source (varied, its photograph, simple) is fixed by the seed and i, as in training.
    sources = mix_sources(int(count), int(seed)) if render is None else None
    fields = ["file", "label", "category", "pattern", "seed"] + (["source"] if sources is not None else [])
    width = max(5, len(str(count - 1)))
    rows = []
    for i, (mask_seed, label) in enumerate(zip(seeds.tolist(), labels.tolist(), strict=True)):
        draw = render if sources is None else RENDERERS[sources[i]]
        image, meta = draw(mask_seed, size, label)
        name = f"mask_{i:0{width}d}.png"
        image.save(out / name)
        row = {
            "file": name,
            "label": label,
            "category": meta["name"],
            "pattern": meta["pattern"],
            "seed": mask_seed,
        }
        if sources is not None:
            row["source"] = sources[i]
        rows.append(row)
    with (out / "labels.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)

    counts = {c.name: int((labels == c.index).sum()) for c in CATEGORIES}
    info = {
        "name": f"maskgen {style} procedural masks",
        "generator": (render or render_mix_masks_with_meta).__module__,
        "style": style,
        "count": int(count),
        "size": size,
        "seed": int(seed),
        "labels": "labels.csv",
        "categories": [
            {
                "label": c.index,
                "name": c.name,
                "chinese": c.chinese,
                "meaning": c.meaning,
                "roles": list(c.roles),
                "colours": {name: "#{:02x}{:02x}{:02x}".format(*rgb) for name, rgb in c.variants},
            }
            for c in CATEGORIES
        ],
        "patterns": DETAILED_PATTERNS if detailed else PATTERNS,
        "label_counts": counts,
    }
    (out / "dataset.json").write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return {
        "count": int(count),
        "size": size,
        "seed": int(seed),
        "style": style,
        "out": str(out),
        "label_counts": counts,
    }
