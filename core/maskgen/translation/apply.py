"""``translate apply``: load a translation checkpoint and colour sketches after references."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from maskgen.artifacts.checkpoint import load_checkpoint, load_strict, split_weights
from maskgen.data.folder import find_images, load_image, load_line_drawing
from maskgen.data.sketch import XDoGParams, xdog
from maskgen.errors import MaskgenError
from maskgen.images import save_png, to_uint8
from maskgen.translation.model import ExemplarTranslator, TranslationContext
from maskgen.translation.trainer import build_model, check_checkpoint_kind


@dataclass
class LoadedTranslator:
    translator: ExemplarTranslator
    config: dict[str, Any]
    size: int
    device: torch.device


def load_translator(path: str | Path, device: torch.device) -> LoadedTranslator:
    """The translator of a checkpoint (dir, run dir or its checkpoints/), in eval mode on ``device``."""
    checkpoint = load_checkpoint(path)
    check_checkpoint_kind(checkpoint.config, checkpoint.path)
    config = checkpoint.config
    name, size = config.get("translator"), config.get("size")
    if not isinstance(name, str) or not isinstance(size, int):
        raise MaskgenError(f"checkpoint {checkpoint.path} has no translator name or size in its config.json")
    context = TranslationContext(resolution=size, batch_size=1, device=device, features=None)
    model, _, _ = build_model(name, config.get("translator_options", {}), context)
    load_strict(model.translator, split_weights(checkpoint.weights, "T"), f"{name} translator ({size} px)")
    return LoadedTranslator(model.translator.eval().requires_grad_(False), config, size, device)


def load_sketch(path: Path, size: int, extract: XDoGParams | None = None) -> torch.Tensor:
    """[1, 1, size, size] in [0, 1]. A line drawing is read as translation training reads its sketch
    folders (:func:`maskgen.data.folder.load_line_drawing`); with ``extract`` the file is a colour image
    whose XDoG lines are taken instead (as training makes them from its images)."""
    if extract is not None:
        arr = load_image(path, size)
        return xdog(torch.from_numpy(arr).permute(2, 0, 1)[None], extract)
    return torch.from_numpy(load_line_drawing(path, size))[None, None].float() / 255


def load_reference(path: Path, size: int) -> torch.Tensor:
    """[1, 3, size, size] in [-1, 1], decoded as the training images are (:func:`load_image`)."""
    arr = load_image(path, size)
    return torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 127.5 - 1


def warp_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}_warp{out.suffix or '.png'}")


def plan_pairs(sketch: Path, reference: Path, out: Path) -> list[tuple[Path, Path, Path]]:
    """(sketch, reference, output) for a file or a folder of sketches and one or a folder of references.

    Folders pair in sorted order (counts must match); one reference file serves every sketch.
    """
    if not sketch.exists():
        raise MaskgenError(f"sketch not found: {sketch}")
    if not reference.exists():
        raise MaskgenError(f"reference not found: {reference}")
    if sketch.is_file():
        if reference.is_dir():
            raise MaskgenError("one --sketch file needs one --reference file, not a folder")
        if out.is_dir() or out.suffix.lower() != ".png":
            raise MaskgenError(f"--out must be a .png file when --sketch is a file, got {out}")
        return [(sketch, reference, out)]
    sketches = find_images(sketch)
    if not sketches:
        raise MaskgenError(f"no images found in sketch folder {sketch}")
    if reference.is_dir():
        references = find_images(reference)
        if len(references) != len(sketches):
            raise MaskgenError(
                f"{len(sketches)} sketches but {len(references)} references: folders pair in sorted order, "
                "so their counts must match (or give one --reference file)"
            )
    else:
        references = [reference] * len(sketches)
    if out.suffix.lower() == ".png":
        raise MaskgenError(f"--out must be a folder when --sketch is a folder, got {out}")
    return [
        (s, r, out / s.relative_to(sketch).with_suffix(".png"))
        for s, r in zip(sketches, references, strict=True)
    ]


@torch.no_grad()
def apply_pairs(
    loaded: LoadedTranslator,
    pairs: list[tuple[Path, Path, Path]],
    show_warp: bool = False,
    extract: XDoGParams | None = None,
    batch: int = 16,
) -> tuple[int, int]:
    """Translate every pair; returns (outputs written, warp images written)."""
    written = warps = 0
    for start in range(0, len(pairs), batch):
        chunk = pairs[start : start + batch]
        sketches = torch.cat([load_sketch(s, loaded.size, extract) for s, _, _ in chunk]).to(loaded.device)
        references = torch.cat([load_reference(r, loaded.size) for _, r, _ in chunk]).to(loaded.device)
        images, warped = loaded.translator.translate_with_warp(sketches, references)
        for index, (_, _, out) in enumerate(chunk):
            save_png(to_uint8(images[index : index + 1])[0], out)
            written += 1
            if show_warp and warped is not None:
                save_png(to_uint8(warped[index : index + 1])[0], warp_path(out))
                warps += 1
    return written, warps
