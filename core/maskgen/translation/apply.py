"""``translate apply``: load a translation checkpoint and colour sketches after references.

The translator colours at its own size (64 px on CPU); at a larger ``--size`` its pictures are enlarged
by an upscaler, the cascade's second stage (:func:`translation_upscaler`). The sketch does not guide the
upscaler: it enlarges the coloured picture alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from maskgen.artifacts.base_models import BASE_SCHEME, list_base_translators, read_base_config
from maskgen.artifacts.checkpoint import load_checkpoint, load_strict, split_weights
from maskgen.artifacts.upscaler import base_upscaler_for, load_upscaler, upscale
from maskgen.data.folder import find_images, load_image, load_line_drawing
from maskgen.data.sketch import XDoGParams, xdog
from maskgen.errors import MaskgenError
from maskgen.images import save_png, to_uint8
from maskgen.translation.model import ExemplarTranslator, TranslationContext
from maskgen.translation.trainer import build_model, check_checkpoint_kind

NoteCallback = Callable[[str], None]
PREFERRED_TRANSLATOR = "cocosnet"  # the paper's method; SPADE is its baseline
NO_BASE_TRANSLATOR = (
    "no --checkpoint given and this maskgen ships no base translator; train one with "
    "`maskgen translate train` and pass its run directory as --checkpoint"
)


def default_translator() -> str:
    """``base:NAME`` of the shipped base translator ``translate apply`` uses without --checkpoint
    (a CoCosNet one first); one clear line when none is shipped."""
    shipped = list_base_translators()
    if not shipped:
        raise MaskgenError(NO_BASE_TRANSLATOR)
    preferred = [p for p in shipped if (read_base_config(p) or {}).get("translator") == PREFERRED_TRANSLATOR]
    return BASE_SCHEME + (preferred or shipped)[0].name


@dataclass
class LoadedTranslator:
    translator: ExemplarTranslator
    config: dict[str, Any]
    size: int
    device: torch.device


def load_translator(path: str | Path, device: torch.device) -> LoadedTranslator:
    """The translator of a checkpoint (dir, run dir or its checkpoints/), in eval mode on ``device``."""
    checkpoint = load_checkpoint(path, inference_only=True)  # T alone: model.safetensors
    check_checkpoint_kind(checkpoint.config, checkpoint.path)
    config = checkpoint.config
    name, size = config.get("translator"), config.get("size")
    if not isinstance(name, str) or not isinstance(size, int):
        raise MaskgenError(f"checkpoint {checkpoint.path} has no translator name or size in its config.json")
    context = TranslationContext(resolution=size, batch_size=1, device=device, features=None)
    model, _, _ = build_model(name, config.get("translator_options", {}), context)
    load_strict(model.translator, split_weights(checkpoint.weights, "T"), f"{name} translator ({size} px)")
    return LoadedTranslator(model.translator.eval().requires_grad_(False), config, size, device)


def translation_upscaler(
    loaded: LoadedTranslator, size: int | None = None, upscaler: str | None = None
) -> tuple[torch.nn.Module | None, int]:
    """(the upscaler to enlarge the translator's pictures with, or None; the size they are written at).

    ``size`` None: the translator's own size, or, given ``upscaler`` (PATH, base:NAME or hf://...), that
    upscaler's output size. A larger ``size`` without ``upscaler`` takes the shipped base upscaler whose
    input size is the translator's. A size nothing here makes, no upscaler, or an upscaler for pictures
    of another size: one line.
    """
    if size == loaded.size or (size is None and upscaler is None):
        return None, loaded.size
    if size is not None and size < loaded.size:
        raise MaskgenError(
            f"cannot colour at {size} px: the translator colours at {loaded.size} px (a larger --size "
            "enlarges its pictures with an upscaler)"
        )
    if upscaler is None:
        where = base_upscaler_for(loaded.size, size or loaded.size)
        if where is None:
            raise MaskgenError(
                f"cannot colour at {size} px: the translator colours at {loaded.size} px and this maskgen "
                f"ships no upscaler for {loaded.size} px pictures; pass --upscaler (PATH or base:NAME; "
                "train one with 'maskgen upscale train')"
            )
    else:
        where = upscaler
    network, checkpoint = load_upscaler(where, loaded.device)
    small = checkpoint.config.get("small_size")
    if small != loaded.size:
        raise MaskgenError(
            f"the upscaler {checkpoint.path} enlarges {small} px pictures, but the translator colours at "
            f"{loaded.size} px"
        )
    large = loaded.size * int(network.scale)
    if size is not None and size != large:
        raise MaskgenError(
            f"cannot colour at {size} px with the upscaler {checkpoint.path}: the translator colours at "
            f"{loaded.size} px, enlarged to {large} px"
        )
    return network, large


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


# -- inputs that are not what the translator expects: fixed, each said in one note line -------------------

# A pixel is clearly coloured when its channels differ by this much (of 255): grey paper, black or grey
# lines and JPEG noise stay below it. A sketch file is a colour image (a painted mask), not a line
# drawing, when at least COLOUR_FRACTION of it lies inside solid colour areas, i.e. clearly coloured
# pixels that survive a COLOUR_AREA x COLOUR_AREA erosion, judged at COLOUR_CHECK_SIZE px whatever the
# translator's size: lines drawn in coloured ink, even 3 px wide there, are eroded away. On the built-in
# masks at 128 px every coloured category is above it (the white, black and silver ones, rightly, not).
COLOUR_CHROMA = 80
COLOUR_AREA = 5
COLOUR_FRACTION = 0.1
COLOUR_CHECK_SIZE = 128
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
TRANSPARENT_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})


def colour_area_fraction(rgb: np.ndarray) -> float:
    """Share of a uint8 [H, W, 3] image inside solid areas of clearly coloured pixels (see above)."""
    coloured = rgb.max(axis=2).astype(np.int16) - rgb.min(axis=2).astype(np.int16) >= COLOUR_CHROMA
    if min(coloured.shape) < COLOUR_AREA:
        return float(coloured.mean())
    windows = np.lib.stride_tricks.sliding_window_view(coloured, (COLOUR_AREA, COLOUR_AREA))
    return float(windows.all(axis=(2, 3)).sum() / coloured.size)


def is_colour_image(path: Path) -> bool:
    """Whether an image file is clearly a colour picture rather than a line drawing."""
    return colour_area_fraction(load_image(path, COLOUR_CHECK_SIZE)) >= COLOUR_FRACTION


@dataclass(frozen=True)
class ImageHeader:
    """What a file says about itself before decoding: its size as shown (EXIF orientation applied)."""

    width: int
    height: int
    grey: bool
    transparent: bool


def read_header(path: Path) -> ImageHeader | None:
    """The header of an image file; None when it cannot be read (decoding then says why, in one line)."""
    try:
        with Image.open(path) as im:
            width, height = im.size
            if im.getexif().get(0x0112) in (5, 6, 7, 8):  # orientations that turn the image by 90 degrees
                width, height = height, width
            transparent = im.mode in TRANSPARENT_MODES or "transparency" in im.info
            return ImageHeader(width, height, im.mode in GREY_MODES, transparent)
    except Exception:  # noqa: BLE001  (PIL raises many types on broken files; load_image reports them)
        return None


@dataclass
class InputNotes:
    """Inputs fixed on the way in, one note line per kind of fix (not per file: folders can be large)."""

    size: int
    found: dict[str, dict[Path, str]] = field(default_factory=dict)  # kind -> file -> detail

    def add(self, kind: str, path: Path, detail: str = "") -> None:
        self.found.setdefault(kind, {}).setdefault(path, detail)  # one reference for many sketches: once

    def check(self, role: str, path: Path) -> None:
        """Size of a sketch or reference; greyscale and transparency of a reference."""
        header = read_header(path)
        if header is None:
            return
        if (header.width, header.height) != (self.size, self.size):
            self.add(f"{role}:size", path, f"{header.width}x{header.height}")
        if role == "reference" and header.grey:
            self.add("reference:grey", path)
        if role == "reference" and header.transparent:
            self.add("reference:transparent", path)

    def lines(self, name_files: bool = True) -> list[str]:
        side = f"{self.size}x{self.size}"
        lines = []
        for kind, files in self.found.items():
            role, what = kind.split(":")
            (path, detail), many = next(iter(files.items())), len(files) > 1
            first = path.name
            one_file = f"{role} {first}" if name_files else f"the {role}"
            subject = f"{len(files)} {_PLURALS[role]}, e.g. {first}," if many else one_file
            one, several = _NOTES[what]
            text = (several if many else one).format(side=side, first=first, detail=detail)
            lines.append(f"note: {subject} {text}")
        return lines


_PLURALS = {"sketch": "sketches", "reference": "references"}
# What each note says after its subject: (one file, several files).
_NOTES = {
    "colour": (
        "is a colour image, not a line drawing: using its XDoG lines, as --extract-sketch does",
        "are colour images, not line drawings: using their XDoG lines, as --extract-sketch does",
    ),
    "size": (
        "is {detail}, not the translator's {side}: cropped to a square and resized",
        "are not the translator's {side} ({first} is {detail}): cropped to squares and resized",
    ),
    "grey": (
        "is greyscale: converted to RGB (a grey reference gives grey colours)",
        "are greyscale: converted to RGB (a grey reference gives grey colours)",
    ),
    "transparent": ("has transparency: composited on white", "have transparency: composited on white"),
}


def read_sketch(
    path: Path, size: int, extract: XDoGParams | None, notes: InputNotes | None = None
) -> torch.Tensor:
    """:func:`load_sketch`; given ``notes``, a file that is clearly a colour image (a painted mask given
    as --sketch) has its XDoG lines taken, as with --extract-sketch, and that is noted."""
    if extract is None and notes is not None and is_colour_image(path):
        notes.add("sketch:colour", path)
        extract = XDoGParams()
    return load_sketch(path, size, extract)


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
    on_note: NoteCallback | None = None,
    name_files: bool = True,
    upscaler: torch.nn.Module | None = None,
) -> tuple[int, int]:
    """Translate every pair; returns (outputs written, warp images written).

    With ``on_note`` the inputs are also checked, and what is done about each kind of unexpected input
    is said in one line through it: a colour image given as a sketch gives its XDoG lines, files of
    another size than the translator's are cropped and resized, greyscale and transparent references
    are converted. Without it, inputs are read as they are. ``name_files=False`` says "the sketch"
    instead of the file's name (the studio's uploads have temporary names). ``upscaler``
    (:func:`translation_upscaler`): the outputs and warps are enlarged by it before they are written.
    """
    notes = InputNotes(loaded.size) if on_note is not None else None
    if notes is not None:
        for sketch, reference, _ in pairs:
            notes.check("sketch", sketch)
            notes.check("reference", reference)
    written = warps = 0
    for start in range(0, len(pairs), batch):
        chunk = pairs[start : start + batch]
        sketches = torch.cat([read_sketch(s, loaded.size, extract, notes) for s, _, _ in chunk])
        sketches = sketches.to(loaded.device)
        references = torch.cat([load_reference(r, loaded.size) for _, r, _ in chunk]).to(loaded.device)
        images, warped = loaded.translator.translate_with_warp(sketches, references)
        if upscaler is not None:
            images = upscale(upscaler, images)
            warped = upscale(upscaler, warped) if warped is not None and show_warp else warped
        for index, (_, _, out) in enumerate(chunk):
            save_png(to_uint8(images[index : index + 1])[0], out)
            written += 1
            if show_warp and warped is not None:
                save_png(to_uint8(warped[index : index + 1])[0], warp_path(out))
                warps += 1
    if notes is not None and on_note is not None:
        for line in notes.lines(name_files):
            on_note(line)
    return written, warps
