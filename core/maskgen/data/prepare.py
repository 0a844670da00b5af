"""A run's training data, prepared before its trainer is built, and what was decided from it.

:func:`prepare_training_data` loads the images (framed with ``frame``), checks a conditional run's
labels, adds the mirrored copies (``xflip``), and decides what the data decides: whether G mirrors
(``-G symmetric=auto``, recorded in the returned config, which a resumed run and every later use of the
checkpoint read), how many masks were found on a plain backdrop, and whether images look like
duplicates. The caller reports those decisions (:attr:`PreparedData.notes`; ``maskgen run`` prints
them); the trainer only puts the arrays on its device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from maskgen.config import TrainConfig
from maskgen.data.check import duplicate_pairs, mask_boxes
from maskgen.data.datasets import is_builtin_set, load_training_images
from maskgen.data.framing import MaskBox
from maskgen.data.procedural import CATEGORY_NAMES
from maskgen.data.symmetry import SET_SHARE_LIMIT, SymmetryVerdict, judge_symmetry
from maskgen.errors import MaskgenError

# The value of the generator option ``symmetric`` that asks the data (StyleGAN2's; maskgen.plugins.builtin).
SYMMETRIC_AUTO = "auto"


@dataclass(frozen=True)
class PreparedData:
    """The images a run trains on and the decisions taken from them."""

    config: TrainConfig  # the run's config with the data's decisions recorded (symmetric=auto -> bool)
    images: np.ndarray  # uint8 [N, R, R, 3]: the training images, then (xflip) their mirror images
    labels: np.ndarray | None  # int64 class of each image (conditional runs), aligned with ``images``
    class_names: tuple[str, ...]  # a conditional run's classes (the colour characters); () otherwise
    name: str  # a short description of the data, recorded in checkpoints
    symmetry: SymmetryVerdict | None = None  # the -G symmetric=auto decision, when one was taken
    framing: str | None = None  # how many masks were framed (image folders with --frame)
    duplicates: str | None = None  # images that look like the same mask (image folders)

    @property
    def notes(self) -> list[str]:
        """The lines a new run says about its data: framing, duplicates, the mirror decision."""
        symmetry = [symmetry_note(self.symmetry)] if self.symmetry is not None else []
        return [note for note in (self.framing, self.duplicates) if note is not None] + symmetry


def prepare_training_data(
    config: TrainConfig, *, new_run: bool = True, scan_duplicates: bool = True
) -> PreparedData:
    """Load and check ``config``'s training data and take the decisions that depend on it.

    ``new_run``: also count the framed masks and (with ``scan_duplicates``) look for duplicates, which
    only a new run reports; a resumed run keeps the decisions its saved config records.
    """
    images, labels, name = load_training_images(
        config.data,
        config.resolution,
        seed=config.dataset_seed,
        count=config.dataset_count,
        cache=config.data_cache,
        need_labels=config.cond,
        frame=config.frame,
    )
    class_names = tuple(CATEGORY_NAMES) if config.cond else ()
    checked = checked_labels(labels, class_names, name) if config.cond else None
    # Both notes look at each mask's box: found once (a few ms an image).
    boxes = mask_boxes(images) if new_run and not is_builtin_set(config.data) else None
    framing = framing_note(images, config.data, boxes) if new_run and config.frame else None
    duplicates = duplicates_note(images, config.data, boxes) if new_run and scan_duplicates else None
    symmetry = None
    if config.generator_options.get("symmetric") == SYMMETRIC_AUTO:
        symmetry = judge_symmetry(images, seed=config.seed)
        options = {**config.generator_options, "symmetric": symmetry.symmetric}
        config = config.model_copy(update={"generator_options": options})
    if config.xflip:
        images = np.concatenate([images, images[:, :, ::-1]])
        if checked is not None:
            checked = np.concatenate([checked, checked])
    return PreparedData(config, images, checked, class_names, name, symmetry, framing, duplicates)


def checked_labels(labels: np.ndarray | None, class_names: tuple[str, ...], name: str) -> np.ndarray:
    """A conditional run's labels as int64 class indices, each one of ``class_names``."""
    if labels is None:  # load_training_images(need_labels=True) has said why for folders
        raise MaskgenError(f"--cond needs class labels and {name} has none")
    values = np.asarray(labels, dtype=np.int64)
    count = len(class_names)
    if len(values) and (int(values.min()) < 0 or int(values.max()) >= count):
        raise MaskgenError(
            f"--cond trains on the {count} colour characters (labels 0-{count - 1}: "
            f"{', '.join(class_names)}); {name} has label {int(values.max())}"
        )
    return values


# -- what a run says about its data -----------------------------------------------------------------


def framing_note(images: np.ndarray, data: str, boxes: Sequence[MaskBox | None] | None = None) -> str | None:
    """The line a run on a framed image folder says: how many masks stand on a plain backdrop (those
    were framed; the others were centre-cropped). None for the built-in sets, framed already.
    ``boxes``: the images' :func:`maskgen.data.check.mask_boxes`, when found already."""
    if is_builtin_set(data):
        return None
    boxes = mask_boxes(images) if boxes is None else boxes
    found = sum(box is not None for box in boxes)
    pages = sum(box is not None and box.masks > 1 for box in boxes)
    return (
        f"masks framed as the built-in masks are (--frame): {found} of {len(images)} found on a plain "
        "backdrop, the others centre-cropped; --no-frame keeps the pictures as they are"
        + (f"; {pages} look like pages of several masks, framed as one: cut them apart" if pages else "")
    )


def duplicates_note(
    images: np.ndarray, data: str, boxes: Sequence[MaskBox | None] | None = None
) -> str | None:
    """The line a run on an image folder says when some of its images look like the same mask (as
    they are or mirrored: x-flips make a mirror-image copy a copy); None when none do, and for the
    built-in sets."""
    if is_builtin_set(data):
        return None
    pairs = duplicate_pairs(images, [str(k) for k in range(len(images))], boxes=boxes)
    if not pairs:
        return None
    return (
        f"{len(pairs)} pair(s) of training images look like the same mask, which G then learns twice as "
        f"hard: 'maskgen dataset check {data}' names them"
    )


def symmetry_note(verdict: SymmetryVerdict) -> str:
    """The one line a new run with ``-G symmetric=auto`` says about its decision, and how to change it."""
    if verdict.symmetric:
        return (
            f"G mirrored left-right (-G symmetric=auto): {verdict.describe()}; "
            "-G symmetric=false keeps crooked faces (歪脸)"
        )
    if verdict.off_centre:
        return (
            f"G not mirrored (-G symmetric=auto): {verdict.describe()} about the centre, "
            f"{SET_SHARE_LIMIT:.0%} needed, but most are symmetric off-centre: --frame centres the masks "
            "and lets G mirror them"
        )
    return (
        f"G not mirrored (-G symmetric=auto): {verdict.describe()}, "
        f"{SET_SHARE_LIMIT:.0%} needed; -G symmetric=true mirrors it anyway"
    )
