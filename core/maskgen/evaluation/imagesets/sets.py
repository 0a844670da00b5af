"""The two image sets an evaluation compares: an image folder, a checkpoint to draw from, or the
built-in procedural masks; held as uint8 [N, S, S, 3] at one common size S.

Sizes: a folder's size is that of its images (centre-cropped to squares), a checkpoint's is its
resolution; the built-in masks are rendered at whatever size the other set has (64 px when both sets
are built-in). Sets of different sizes are an error unless ``size`` is given, then both are resized to
it (folders with LANCZOS as they are read, generated images with antialiased bilinear).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from maskgen.artifacts.layout import LATEST, MODEL_FILE
from maskgen.errors import MaskgenError

BUILTIN = "builtin"
DEFAULT_BUILTIN_SIZE = 64
ProgressFn = Callable[[int], None]


@dataclass
class ImageSet:
    """Images of one side of a comparison, with where they came from."""

    images: np.ndarray
    source: str
    kind: str  # "folder", "checkpoint" or "builtin"
    labels: np.ndarray | None = None
    class_names: list[str] | None = None
    paths: list[Path] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.images.shape[1])

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "count": len(self.images),
            "size": self.size,
        } | self.info


# --------------------------------------------------------------------------------------------------
# Batching and conversion
# --------------------------------------------------------------------------------------------------


def to_uint8_nhwc(images: torch.Tensor) -> np.ndarray:
    """float [N, 3, H, W] in [0, 1] -> uint8 [N, H, W, 3] (rounded, as if saved to PNG)."""
    return (
        (images.detach().float().cpu() * 255)
        .round()
        .clamp(0, 255)
        .to(torch.uint8)
        .permute(0, 2, 3, 1)
        .numpy()
    )


def batches_uint8(images: np.ndarray | torch.Tensor, batch_size: int) -> Iterator[np.ndarray]:
    """uint8 [B, H, W, 3] batches of a uint8 NHWC array or a float NCHW tensor in [0, 1]."""
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        yield to_uint8_nhwc(chunk) if isinstance(chunk, torch.Tensor) else np.ascontiguousarray(chunk)


def as_float(images: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 NHWC array or float NCHW tensor -> float [N, 3, H, W] in [0, 1] on ``device``."""
    if isinstance(images, torch.Tensor) and images.dtype != torch.uint8:
        return images.to(device).float()
    tensor = torch.as_tensor(np.ascontiguousarray(images)).to(device)
    return tensor.permute(0, 3, 1, 2).float() / 255


def resize_uint8(images: np.ndarray, size: int) -> np.ndarray:
    if images.shape[1] == size:
        return images
    x = F.interpolate(as_float(images), size=(size, size), mode="bilinear", antialias=True)
    return to_uint8_nhwc(x)


# --------------------------------------------------------------------------------------------------
# What a path is
# --------------------------------------------------------------------------------------------------


def is_builtin(spec: str | Path) -> bool:
    text = str(spec)
    return text == BUILTIN or text.startswith(BUILTIN + ":")


def builtin_seed(spec: str | Path) -> int:
    """``builtin`` -> dataset seed 0, ``builtin:7`` -> 7."""
    text = str(spec)
    if text == BUILTIN:
        return 0
    value = text.split(":", 1)[1]
    if not value.isdigit():
        raise MaskgenError(
            f"bad built-in dataset {text!r}; use builtin or builtin:SEED (a non-negative integer)"
        )
    return int(value)


def checkpoint_dir(path: Path) -> Path | None:
    """The checkpoint directory a path names (checkpoint, checkpoints/ folder or run directory), or None."""
    for candidate in (path, path / LATEST, path / "checkpoints" / LATEST):
        if (candidate / MODEL_FILE).is_file():
            return candidate
    return None


def folder_size(root: Path, role: str) -> int:
    """The common size of a folder's images (the shorter side: they are centre-cropped)."""
    from maskgen.data.folder import find_images

    sizes: dict[int, Path] = {}
    for path in find_images(root):
        try:
            with Image.open(path) as im:  # the header only; pixels are decoded by load_image
                sizes.setdefault(min(im.size), path)
        except Exception:  # unreadable files are skipped (and counted) when the folder is loaded
            continue
        if len(sizes) > 1:
            (a, pa), (b, pb) = sorted(sizes.items())[:2]
            raise MaskgenError(
                f"{role} images in {root} have different sizes ({a} px: {pa.name}, {b} px: {pb.name}); "
                "pass --size N to resize all images to N px"
            )
    if not sizes:
        raise MaskgenError(f"no readable images (png/jpg/jpeg/webp/bmp/gif) found in {root}")
    return next(iter(sizes))


def resolve_named_checkpoint(spec: str) -> str:
    """``base:NAME`` and Hub references (``hf://OWNER/REPO[@REV]``) -> their checkpoint directory, so
    a shipped or published model is evaluated like a local one; anything else is returned as it is."""
    from maskgen.artifacts.checkpoint import named_checkpoint_dir

    named = named_checkpoint_dir(spec)
    return spec if named is None else str(named)


def native_size(spec: str | Path, role: str, scan: bool = True) -> int | None:
    """The size a set has by itself: None for the built-in masks (rendered at any size). With ``scan``
    False a folder is only checked to exist (its images are going to be resized anyway)."""
    if is_builtin(spec):
        builtin_seed(spec)
        return None
    path = Path(spec).expanduser()
    if not path.exists():
        raise MaskgenError(
            f"{role} images not found: {path} (expected an image folder, a checkpoint or 'builtin')"
        )
    ckpt = checkpoint_dir(path)
    if ckpt is not None:
        from maskgen.artifacts.checkpoint import load_checkpoint

        return int(load_checkpoint(ckpt).config["train"]["resolution"])
    if not path.is_dir():
        raise MaskgenError(f"{role} path is not a folder or checkpoint: {path}")
    return folder_size(path, role) if scan else None


def common_size(real: str | Path, fake: str | Path, size: int | None) -> int:
    """The size both sets are compared at; different native sizes need an explicit ``size``."""
    if size is not None:
        if size < 16:
            raise MaskgenError(f"--size must be at least 16 px, got {size}")
        native_size(real, "real", scan=False)
        native_size(fake, "fake", scan=False)
        return size
    a, b = native_size(real, "real"), native_size(fake, "fake")
    if a is not None and b is not None and a != b:
        raise MaskgenError(
            f"real images are {a} px but fake images are {b} px; pass --size N to compare both at N px"
        )
    chosen = a or b or DEFAULT_BUILTIN_SIZE
    if chosen < 16:
        raise MaskgenError(f"images of {chosen} px are too small to evaluate; pass --size N (at least 16)")
    return chosen


def expected_count(spec: str | Path, num: int) -> int:
    """How many images ``load_image_set`` will give (before unreadable files are skipped)."""
    if is_builtin(spec) or checkpoint_dir(Path(spec).expanduser()) is not None:
        return num
    from maskgen.data.folder import find_images

    return min(num, len(find_images(Path(spec).expanduser())))


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def load_image_set(
    spec: str | Path,
    size: int,
    num: int,
    role: str,
    seed: int = 0,
    device: torch.device | str = "cpu",
    truncation: float = 1.0,
    progress: ProgressFn | None = None,
    frame: bool = False,
) -> ImageSet:
    """At most ``num`` images of ``spec`` at ``size`` px; ``frame``: a folder's masks framed as the
    built-in masks are (``maskgen.data.framing``), as a run trained with ``--frame`` saw them.

    Folders with more than ``num`` images give a random subset (numpy seed ``seed``); checkpoints draw
    ``num`` images with seeds ``seed .. seed+num-1``; built-in masks are the first ``num`` of the dataset.
    """
    if num < 2:
        raise MaskgenError(f"--num must be at least 2, got {num}")
    if is_builtin(spec):
        from maskgen.data.procedural import CATEGORY_NAMES, render_masks

        dataset_seed = builtin_seed(spec)
        images, labels = render_masks(num, size, seed=dataset_seed)
        if progress is not None:
            progress(num)
        source = f"builtin procedural masks (seed {dataset_seed})"
        return ImageSet(
            images, source, BUILTIN, labels, list(CATEGORY_NAMES), info={"dataset_seed": dataset_seed}
        )
    path = Path(spec).expanduser()
    ckpt = checkpoint_dir(path)
    if ckpt is not None:
        return _generate(ckpt, size, num, seed, torch.device(device), truncation, progress)
    return _load_folder(path, size, num, role, seed, progress, frame)


def _load_folder(
    root: Path, size: int, num: int, role: str, seed: int, progress: ProgressFn | None, frame: bool
) -> ImageSet:
    from maskgen.data.folder import decode_images, find_images, warn_skipped
    from maskgen.evaluation.imagesets.labels import folder_labels

    if not root.is_dir():
        raise MaskgenError(f"{role} image folder not found: {root}")
    paths = find_images(root)
    if not paths:
        raise MaskgenError(f"no {role} images (png/jpg/jpeg/webp/bmp/gif) found in {root}")
    if len(paths) > num:
        keep = np.sort(np.random.default_rng(seed).choice(len(paths), num, replace=False))
        paths = [paths[i] for i in keep]
    images, kept, skipped = decode_images(paths, size, progress, frame)
    if skipped:
        warn_skipped(root, skipped)
    if len(kept) < 2:
        raise MaskgenError(f"{role} folder {root} has {len(kept)} readable image(s); at least 2 are needed")
    labels, names = folder_labels(root, kept)
    info: dict[str, Any] = {"skipped": len(skipped)} if skipped else {}
    if frame:
        info["framed"] = True
    return ImageSet(images, str(root), "folder", labels, names, kept, info)


def _generate(
    ckpt: Path,
    size: int,
    num: int,
    seed: int,
    device: torch.device,
    truncation: float,
    progress: ProgressFn | None,
    batch_size: int = 32,
) -> ImageSet:
    from maskgen.artifacts.base_models import class_names
    from maskgen.artifacts.generator import generate_images, load_generator, seed_classes

    G, checkpoint = load_generator(ckpt, device)
    seeds = list(range(seed, seed + num))
    chunks = []
    for start in range(0, num, batch_size):
        part = generate_images(
            G, seeds[start : start + batch_size], truncation=truncation, batch_size=batch_size
        )
        chunks.append(resize_uint8(to_uint8_nhwc((part + 1) / 2), size))
        if progress is not None:
            progress(len(part))
    train = checkpoint.config.get("train", {})
    info = {
        "checkpoint": str(checkpoint.path.resolve()),
        "seeds": f"{seeds[0]}-{seeds[-1]}",
        "truncation": truncation,
        "noise_mode": "const",
        "resolution": train.get("resolution"),
        "augment": train.get("augment"),
    }
    # A class-conditional G drew seed s as class s mod classes: those are the fakes' labels.
    classes = class_names(checkpoint.config)
    labels = np.array(seed_classes(seeds, len(classes)), dtype=np.int64) if classes else None
    if classes:
        info["classes"] = "seed mod " + str(len(classes))
    return ImageSet(np.concatenate(chunks), str(ckpt), "checkpoint", labels, classes or None, info=info)
