"""Class labels of an image folder: a CSV or JSON manifest, or sub-folder names.

* CSV with a ``file`` column (path relative to the folder) and a ``label`` column (a class index or a
  class name); an optional ``category`` column names the index (``labels.csv`` of ``maskgen dataset
  synth`` and of ``maskgen dataset label-colors`` has both).
* JSON: ``{"file": label, ...}`` or ``[{"file": ..., "label": ...}, ...]``.
* No manifest: ``labels.csv`` in the folder if there is one, else the first sub-folder of each image
  (``DIR/red/a.png`` is class ``red``).

Class names that are all primary colours (red, purple, black, white, blue, green, yellow) are put in
the order of :data:`maskgen.data.procedural.CATEGORIES`; other names are sorted.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from maskgen.errors import MaskgenError

MANIFEST = "labels.csv"


def _colour_names() -> list[str]:
    from maskgen.data.procedural import CATEGORY_NAMES

    return list(CATEGORY_NAMES)


def order_names(names: set[str]) -> list[str]:
    colours = _colour_names()
    if names <= set(colours):
        return [c for c in colours if c in names]  # the colours present, in their canonical order
    return sorted(names)


def read_manifest(path: Path) -> tuple[dict[str, str | int], dict[int, str]]:
    """{relative file: label (index or name)} and the index -> name table it declares (may be empty)."""
    if not path.is_file():
        raise MaskgenError(f"labels file not found: {path}")
    try:
        if path.suffix.lower() == ".json":
            return _read_json(path), {}
        return _read_csv(path)
    except (ValueError, TypeError, UnicodeDecodeError, csv.Error, json.JSONDecodeError) as exc:
        raise MaskgenError(f"cannot read labels file {path}: {' '.join(str(exc).split())}") from None


def _parse_label(value: object) -> str | int:
    text = str(value).strip()
    if not text:
        raise ValueError("empty label")
    return int(text) if text.lstrip("-").isdigit() else text


def _read_csv(path: Path) -> tuple[dict[str, str | int], dict[int, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = set(reader.fieldnames or [])
        if "file" not in fields or not fields & {"label", "category"}:
            raise MaskgenError(f"labels file {path} needs the columns file,label (or file,category)")
        by_file: dict[str, str | int] = {}
        names: dict[int, str] = {}
        for row in reader:
            label = _parse_label(row["label"] if row.get("label") not in (None, "") else row["category"])
            if isinstance(label, int) and row.get("category"):
                names[label] = row["category"].strip()
            by_file[Path(row["file"]).as_posix()] = label
    return by_file, names


def _read_json(path: Path) -> dict[str, str | int]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        return {Path(k).as_posix(): _parse_label(v) for k, v in data.items()}
    if isinstance(data, list) and all(isinstance(r, dict) and "file" in r and "label" in r for r in data):
        return {Path(r["file"]).as_posix(): _parse_label(r["label"]) for r in data}
    raise MaskgenError(f"labels file {path} must be {{file: label}} or a list of {{file, label}} records")


def resolve_labels(
    root: Path, paths: list[Path], manifest: Path | None = None, required: bool = True
) -> tuple[np.ndarray | None, list[str] | None]:
    """(int64 labels aligned with ``paths``, class names) from a manifest or sub-folders.

    With ``required`` False, a folder without any labels gives (None, None) instead of an error.
    """
    rel = [p.relative_to(root).as_posix() for p in paths]
    if manifest is None and (root / MANIFEST).is_file():
        manifest = root / MANIFEST
    if manifest is not None:
        by_file, declared = read_manifest(Path(manifest))
        missing = [r for r in rel if r not in by_file]
        if missing:
            raise MaskgenError(f"{manifest} has no label for {len(missing)} image(s) (first: {missing[0]})")
        return _encode([by_file[r] for r in rel], declared)
    classes = [r.split("/")[0] if "/" in r else None for r in rel]
    if any(c is None for c in classes):
        if not required:
            return None, None
        raise MaskgenError(
            f"no labels for {root}: give --labels labels.csv|labels.json, put labels.csv in the folder, "
            "or sort the images into one sub-folder per class"
        )
    return _encode(classes, {})


def folder_labels(root: Path, paths: list[Path]) -> tuple[np.ndarray | None, list[str] | None]:
    """Labels of a folder when it has any (manifest or class sub-folders), else (None, None)."""
    try:
        return resolve_labels(root, paths, required=False)
    except MaskgenError:
        return None, None  # an evaluation does not need labels; `maskgen classify` reports the problem


def _encode(values: list[str | int], declared: dict[int, str]) -> tuple[np.ndarray, list[str]]:
    if all(isinstance(v, int) for v in values):
        top = max(int(v) for v in values)
        if min(int(v) for v in values) < 0:
            raise MaskgenError("labels must be non-negative class indices or class names")
        # Undeclared indices are named by their number: classifiers then match them by index.
        names = [declared.get(i, str(i)) for i in range(top + 1)]
        return np.array(values, dtype=np.int64), names
    if any(isinstance(v, int) for v in values):
        raise MaskgenError("labels mix class indices and class names; use one or the other")
    names = order_names({str(v) for v in values})
    index = {n: i for i, n in enumerate(names)}
    return np.array([index[str(v)] for v in values], dtype=np.int64), names


def load_labelled_folder(
    data: Path, labels: Path | None, size: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(uint8 images [N, size, size, 3], int64 labels [N], class names) of a labelled image folder.

    The labels come from ``labels`` (a manifest), ``data/labels.csv`` or class sub-folders, as
    :func:`resolve_labels` finds them; unreadable images are skipped with one warning line.
    """
    from maskgen.data.folder import load_folder

    data = Path(data)
    if not data.exists():
        raise MaskgenError(f"image folder not found: {data}")
    if not data.is_dir():
        raise MaskgenError(f"not a folder: {data}")
    images, paths, _ = load_folder(data, size, cache=False)
    values, names = resolve_labels(data, paths, labels)
    assert values is not None and names is not None  # required=True: an error otherwise
    return images, values, names


# --------------------------------------------------------------------------------------------------
# Proposing colour labels (``maskgen dataset label-colors``)
# --------------------------------------------------------------------------------------------------

LABEL_COLUMNS = ("file", "label", "category", "confidence")
LABEL_SIZE = 64  # the colour rule looks at the images at this size


def propose_colour_labels(folder: Path) -> tuple[list[dict[str, str]], list[Path]]:
    """The colour rule (:mod:`maskgen.evaluation.imagesets.colour_rule`) on every image under ``folder``.

    Returns (one row per readable image: file relative to ``folder``, label index, category name,
    confidence; the unreadable files).
    """
    from maskgen.data.folder import find_images, load_image
    from maskgen.data.procedural import CATEGORY_NAMES
    from maskgen.evaluation.imagesets.colour_rule import colour_label

    folder = Path(folder)
    if not folder.is_dir():
        raise MaskgenError(f"image folder not found: {folder}")
    paths = find_images(folder)
    if not paths:
        raise MaskgenError(f"no images (png/jpg/jpeg/webp/bmp/gif) found in {folder}")
    rows: list[dict[str, str]] = []
    skipped: list[Path] = []
    for path in paths:
        try:
            image = load_image(path, LABEL_SIZE)
        except MaskgenError:
            skipped.append(path)
            continue
        label, confidence = colour_label(image)
        rows.append(
            {
                "file": path.relative_to(folder).as_posix(),
                "label": str(label),
                "category": CATEGORY_NAMES[label],
                "confidence": f"{confidence:.3f}",
            }
        )
    return rows, skipped


def write_colour_labels(
    folder: Path, out: Path | None = None, force: bool = False
) -> tuple[Path, dict[str, int]]:
    """Propose colour labels for ``folder`` and write them as CSV (default ``folder/labels.csv``).

    Refuses to overwrite an existing file unless ``force``. Returns (the CSV written, images per
    colour). Unreadable images are left out, with one warning line on stderr.
    """
    import io

    from maskgen.data.folder import warn_skipped
    from maskgen.data.procedural import CATEGORY_NAMES
    from maskgen.evaluation.files import atomic_write

    folder = Path(folder)
    if not folder.is_dir():
        raise MaskgenError(f"image folder not found: {folder}")
    target = Path(out) if out is not None else folder / MANIFEST
    if target.exists() and not force:
        raise MaskgenError(f"{target} exists; pass --force to overwrite it or --out to write elsewhere")
    rows, skipped = propose_colour_labels(folder)
    if skipped:
        warn_skipped(folder, skipped)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(LABEL_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(target, lambda tmp: Path(tmp).write_text(buffer.getvalue(), encoding="utf-8"))
    counts = {name: sum(r["category"] == name for r in rows) for name in CATEGORY_NAMES}
    return target, counts
