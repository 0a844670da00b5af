"""Training images as arrays: the built-in masks or an image folder."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from maskgen.data.folder import load_folder
from maskgen.data.photographed import render_photographed_masks_with_meta
from maskgen.data.procedural import CATEGORY_NAMES, MIN_SIZE, render_masks, symmetrize
from maskgen.data.procedural_detailed import render_detailed_masks_with_meta
from maskgen.data.procedural_mix import render_mix_masks_with_meta
from maskgen.data.procedural_varied import render_varied_masks_with_meta
from maskgen.errors import MaskgenError

BUILTIN = "builtin"
BUILTIN_DETAILED = "builtin-detailed"
BUILTIN_PHOTOGRAPHED = "builtin-photographed"
BUILTIN_VARIED = "builtin-varied"
BUILTIN_VARIED_MIX = "builtin-varied-mix"  # what base models train on (procedural_mix.BASE_MIX)
BUILTIN_SETS = (BUILTIN, BUILTIN_DETAILED, BUILTIN_PHOTOGRAPHED, BUILTIN_VARIED, BUILTIN_VARIED_MIX)
LABELS_FILE = "labels.csv"


def is_builtin_set(data: str | Path | None) -> bool:
    """Whether a run's ``data`` names one of the built-in procedural sets (None: the default one)."""
    return data is None or str(data).strip().lower() in BUILTIN_SETS


def check_resolution(resolution: int) -> int:
    """Training resolutions are powers of two from 4 to 1024 (StyleGAN2's synthesis blocks)."""
    ok = isinstance(resolution, (int, np.integer)) and not isinstance(resolution, bool)
    if not (ok and 4 <= resolution <= 1024 and resolution & (resolution - 1) == 0):
        raise MaskgenError(f"resolution must be a power of two between 4 and 1024, got {resolution}")
    return int(resolution)


def load_training_images(
    data: str | None,
    resolution: int,
    seed: int = 0,
    count: int = 2000,
    cache: bool = True,
    need_labels: bool = False,
    frame: bool = False,
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Images to train on: (uint8 [N, R, R, 3], int64 labels or None, a short description).

    ``data`` None or "builtin": ``count`` procedural masks made with ``seed`` (labels: the seven colour
    classes); "builtin-detailed": the same for the detailed masks of ``procedural_detailed`` (intricate
    linework, a few deliberately asymmetric crooked faces); "builtin-photographed": those detailed masks
    as a collection of photographs (``photographed``: framing, backdrop, light, colour cast, blur,
    noise, JPEG), the stand-in for a user's folder; "builtin-varied": the detailed masks with what
    real collections add (``procedural_varied``: skin-coloured sides of the head, caps, beards, gold
    and silver faces, more crooked faces, tinted paper...); "builtin-varied-mix": the base models' mix
    of varied masks, photographs of them and simple masks (``procedural_mix.BASE_MIX``). Otherwise an
    image folder; ``seed`` and ``count`` are not used then, and labels come from ``labels.csv``
    (columns ``file,label``, file relative to the folder, label a class index or a colour name)
    covering every image, or, without one, from class sub-folders named by colour (``DIR/red/a.png``
    is red; see :func:`folder_labels`). With ``need_labels`` a folder without labels is a one-line
    error instead of unlabelled data. With ``cache`` a folder's decoded images are kept in a packed
    array file (see ``data.cache``). With ``frame`` a folder's masks are framed as the built-in ones
    are (``data.framing``; built-in sets already are).
    """
    resolution = check_resolution(resolution)
    key = BUILTIN if data is None else str(data).strip().lower()
    if key in BUILTIN_SETS:
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise MaskgenError(f"the built-in dataset needs a count of at least 1, got {count}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise MaskgenError(f"dataset seed must be a non-negative integer, got {seed}")
        render_size = max(resolution, MIN_SIZE)
        if key == BUILTIN_DETAILED:
            images, labels, metas = render_detailed_masks_with_meta(int(count), render_size, int(seed))
            symmetric = [bool(m["symmetric"]) for m in metas]  # crooked faces stay crooked
            kind = "builtin detailed procedural masks"
        elif key in (BUILTIN_VARIED, BUILTIN_VARIED_MIX):
            render = render_varied_masks_with_meta if key == BUILTIN_VARIED else render_mix_masks_with_meta
            images, labels, metas = render(int(count), render_size, int(seed))
            symmetric = [bool(m["symmetric"]) for m in metas]  # crooked faces and photographs are not
            kind = "builtin varied procedural masks" if key == BUILTIN_VARIED else "builtin base-model mix"
        elif key == BUILTIN_PHOTOGRAPHED:
            images, labels, _ = render_photographed_masks_with_meta(int(count), render_size, int(seed))
            symmetric = [False] * len(images)  # a photograph is never an exact mirror image
            kind = "builtin photographed detailed masks"
        else:
            images, labels = render_masks(int(count), render_size, int(seed))
            symmetric = [True] * len(images)
            kind = "builtin procedural masks"
        if render_size != resolution:  # 4 and 8 px: render at the smallest size, then shrink
            pairs = zip(images, symmetric, strict=True)
            images = np.stack([_shrink(img, resolution, sym) for img, sym in pairs])
        return images, labels, f"{kind} ({count} at {resolution} px, seed {seed})"

    root = Path(data).expanduser()
    images, paths, skipped = load_folder(root, resolution, cache=cache, frame=frame)
    labels = folder_labels(root, paths, required=need_labels)
    extra = f", {skipped} skipped" if skipped else ""
    extra += ", framed" if frame else ""
    extra += ", labelled" if labels is not None else ""
    return images, labels, f"image folder {root.name or root} ({len(paths)} images at {resolution} px{extra})"


def _shrink(img: np.ndarray, size: int, symmetric: bool = True) -> np.ndarray:
    small = np.array(Image.fromarray(img).resize((size, size), Image.Resampling.LANCZOS))
    return symmetrize(small) if symmetric else small


def folder_labels(root: Path, paths: list[Path], required: bool = False) -> np.ndarray | None:
    """Class indices of a training folder's images (:data:`CATEGORY_NAMES` order), or None.

    ``root/labels.csv`` when there is one (it takes precedence), else class sub-folders: every image
    in a sub-folder named by one of the seven colours (``red/``, ``Black/``; case does not matter).
    Labels that do not cover every image give None with a warning line, or with ``required`` a
    one-line error saying what is missing.
    """
    table = root / LABELS_FILE
    if table.is_file():
        return _table_labels(root, table, paths, required)
    rel = [p.relative_to(root).as_posix() for p in paths]
    index = {name: i for i, name in enumerate(CATEGORY_NAMES)}
    folders = [r.split("/", 1)[0].lower() if "/" in r else None for r in rel]
    if all(f in index for f in folders):
        return np.array([index[f] for f in folders], dtype=np.int64)  # type: ignore[index]
    if required:
        loose = next((r for r, f in zip(rel, folders, strict=True) if f is None), None)
        where = (
            f"{loose} is not in a class sub-folder"
            if loose is not None
            else f"sub-folder {next(f for f in folders if f not in index)!r} is not a colour"
        )
        raise MaskgenError(
            f"{root} has no class labels ({where}): add {LABELS_FILE} (columns file,label) or sort the "
            f"images into sub-folders named {', '.join(CATEGORY_NAMES)}"
        )
    return None


def _table_labels(root: Path, table: Path, paths: list[Path], required: bool) -> np.ndarray | None:
    """Labels from ``labels.csv`` when it names every loaded image, else None (or an error)."""
    index = {name: i for i, name in enumerate(CATEGORY_NAMES)}
    try:
        with table.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"file", "label"} <= set(reader.fieldnames):
                raise MaskgenError(f"{table} needs the columns file,label")
            by_file = {}
            for row in reader:
                text = str(row["label"] or "").strip()
                if text.lower() in index:  # a colour name (what label-colors writes in `category`)
                    label = index[text.lower()]
                elif text.lstrip("-").isdigit():
                    label = int(text)
                else:
                    raise ValueError(f"label {text!r} is neither a class index nor a colour name")
                if label < 0:
                    raise ValueError(f"negative label {label}")
                by_file[Path(row["file"]).as_posix()] = label
    except (ValueError, TypeError, UnicodeDecodeError, csv.Error) as exc:
        raise MaskgenError(f"cannot read {table}: {' '.join(str(exc).split())}") from None
    rel = [p.relative_to(root).as_posix() for p in paths]
    missing = [r for r in rel if r not in by_file]
    if missing:
        what = f"{table} has no label for {len(missing)} image(s) (first: {missing[0]})"
        if required:
            raise MaskgenError(what)
        print(f"warning: {what}; training without labels", file=sys.stderr)
        return None
    return np.array([by_file[r] for r in rel], dtype=np.int64)
