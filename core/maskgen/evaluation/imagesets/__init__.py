"""The images an evaluation compares: the two sets of one call (:mod:`.sets`: an image folder, a
checkpoint to draw from, the built-in masks), the labels of image folders (:mod:`.labels`), the
documented seven-colour rule (:mod:`.colour_rule`) and the random pairs pairwise metrics average over
(:mod:`.pairing`)."""

from maskgen.evaluation.imagesets.sets import (
    BUILTIN,
    ImageSet,
    as_float,
    batches_uint8,
    checkpoint_dir,
    common_size,
    expected_count,
    load_image_set,
    resize_uint8,
    resolve_named_checkpoint,
    to_uint8_nhwc,
)

__all__ = [
    "BUILTIN",
    "ImageSet",
    "as_float",
    "batches_uint8",
    "checkpoint_dir",
    "common_size",
    "expected_count",
    "load_image_set",
    "resize_uint8",
    "resolve_named_checkpoint",
    "to_uint8_nhwc",
]
