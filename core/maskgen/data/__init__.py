"""Datasets: the built-in procedural Peking-opera masks, image folders, and dataset files on disk."""

from maskgen.data.build import build_dataset, rotate_hue, synth_dataset
from maskgen.data.datasets import check_resolution, load_training_images
from maskgen.data.folder import IMAGE_EXTENSIONS, find_images, load_folder, load_image
from maskgen.data.procedural import (
    BROWS,
    CATEGORIES,
    CATEGORY_NAMES,
    CHEEKS,
    EMBLEMS,
    EYES,
    MOUTHS,
    NOSES,
    PATTERNS,
    Category,
    mask_plan,
    mask_seed,
    render_mask,
    render_masks,
    render_masks_with_meta,
)

__all__ = [
    "BROWS",
    "CATEGORIES",
    "CATEGORY_NAMES",
    "CHEEKS",
    "EMBLEMS",
    "EYES",
    "IMAGE_EXTENSIONS",
    "MOUTHS",
    "NOSES",
    "PATTERNS",
    "Category",
    "build_dataset",
    "check_resolution",
    "find_images",
    "load_folder",
    "load_image",
    "load_training_images",
    "mask_plan",
    "mask_seed",
    "render_mask",
    "render_masks",
    "render_masks_with_meta",
    "rotate_hue",
    "synth_dataset",
]
