"""``maskgen dataset sketch``: XDoG line drawings of a file or a folder of images."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgen.data.sketch import XDoGParams, sketch_to_uint8, xdog
from maskgen.errors import MaskgenError
from maskgen.images import save_png


def xdog_params(values: dict[str, Any]) -> XDoGParams:
    if values.get("channels") not in (None, "rgb", "luma"):
        raise MaskgenError(f"--channels must be rgb or luma, got {values['channels']!r}")
    try:
        return XDoGParams(**values)
    except TypeError as exc:
        raise MaskgenError(f"bad XDoG parameters: {exc}") from None


def sketch_files(
    src: Path, out: Path, params: dict[str, Any], size: int | None = None, binary: bool = False
) -> tuple[int, int]:
    """Write the sketch of every image under ``src`` (or of the file ``src``) as a greyscale PNG.

    Returns (written, skipped unreadable). Images keep their size unless ``size`` is given; sigma is
    scaled to each image's size.
    """
    from maskgen.data.folder import find_images, open_rgb, square_resize

    xp = xdog_params(params)
    if not src.exists():
        raise MaskgenError(f"not found: {src}")
    files = (
        [(src, Path(src.stem + ".png"))]
        if src.is_file()
        else [(p, p.relative_to(src).with_suffix(".png")) for p in find_images(src)]
    )
    if not files:
        raise MaskgenError(f"no images (png/jpg/jpeg/webp/bmp) found in {src}")
    written, skipped = 0, []
    for path, rel in files:
        try:
            im = open_rgb(path, draft_size=size)
        except MaskgenError:
            skipped.append(path)
            continue
        arr = square_resize(im, size) if size else np.asarray(im, dtype=np.uint8)
        lines = xdog(torch.from_numpy(np.array(arr)).permute(2, 0, 1)[None], xp, binary=binary)
        save_png(sketch_to_uint8(lines)[0], out / rel)
        written += 1
    if not written:  # one line: the error says it all, no warning before it
        raise MaskgenError(f"none of the {len(files)} image file(s) in {src} could be read")
    if skipped:
        print(f"warning: skipped {len(skipped)} unreadable image(s) (first: {skipped[0]})", file=sys.stderr)
    return written, len(skipped)
