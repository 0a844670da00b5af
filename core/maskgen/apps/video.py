"""``maskgen video``: a latent walk between keyframes (seeds or projected files), as a GIF or an MP4.

Interpolation is **linear in W** (not spherical in Z): projected files only have a w, and W is the
space in which StyleGAN2's path-length regulariser makes equal steps look like equal changes. With
``frames`` frames per keyframe, keyframe k is frame ``k * frames`` exactly (the walk renders the
keyframe's own ws there, so it equals ``maskgen generate`` of that seed). Without ``loop`` the walk
ends on the last keyframe: ``(K - 1) * frames + 1`` frames; with ``loop`` it goes on from the last
keyframe back to the first and stops just before it: ``K * frames`` frames, seamless when repeated.

``grid`` ``(columns, rows)``: that many walks side by side. The sources are split into consecutive
groups, one per cell in reading order (cell 0 walks sources 0..K-1, cell 1 the next K, ...), so their
number must be a multiple of the cell count, with at least 2 keyframes per cell.

GIFs are written with Pillow (an adaptive palette per frame, repeating forever); MP4s (H.264,
yuv420p) with imageio and the ffmpeg binary of imageio-ffmpeg: ``pip install 'maskgen[video]'``.
Both are written to a temporary file in the target's folder and renamed into place.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from maskgen.apps.latents import LatentSource, synthesize, ws_for_sources
from maskgen.errors import MaskgenError
from maskgen.evaluation.files import atomic_write
from maskgen.images import make_grid, to_uint8

FORMATS = (".gif", ".mp4")
VIDEO_EXTRA = "pip install 'maskgen[video]' (imageio and imageio-ffmpeg)"
_GRID = re.compile(r"(\d+)x(\d+)")


def parse_grid(text: str) -> tuple[int, int]:
    """'3x2' -> (3 columns, 2 rows)."""
    match = _GRID.fullmatch(str(text).strip().lower())
    if match is None or int(match[1]) < 1 or int(match[2]) < 1:
        raise MaskgenError(f"bad --grid {text!r}; use COLUMNSxROWS, e.g. 1x1 or 2x2")
    return int(match[1]), int(match[2])


def walk_ws(keys: torch.Tensor, frames: int, loop: bool = False) -> torch.Tensor:
    """ws [K, L, C] of the keyframes -> ws [T, L, C] of every frame, linear between neighbours."""
    if frames < 1:
        raise MaskgenError(f"--frames must be at least 1, got {frames}")
    segments = len(keys) if loop else len(keys) - 1
    t = torch.arange(frames, dtype=keys.dtype, device=keys.device) / frames
    parts = []
    for s in range(segments):
        a, b = keys[s], keys[(s + 1) % len(keys)]
        parts.append(a[None] + t[:, None, None] * (b - a)[None])
        parts[-1][0] = a  # exactly the keyframe, not a + 0 * (b - a) rounded
    if not loop:
        parts.append(keys[-1:])
    return torch.cat(parts)


@torch.no_grad()
def latent_walk(
    G: torch.nn.Module,
    sources: Sequence[LatentSource],
    frames: int = 60,
    grid: tuple[int, int] = (1, 1),
    loop: bool = False,
    truncation: float = 1.0,
    batch_size: int = 16,
    class_index: int | None = None,
    enlarge: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> np.ndarray:
    """Every frame of the walk: uint8 [T, rows * H, columns * W, 3]. ``enlarge`` (e.g. a cascade's
    upscaler, :meth:`maskgen.apps.cascade.Cascade.enlarge`) draws each frame at print size, a batch at
    a time."""
    columns, rows = grid
    cells = columns * rows
    if len(sources) % cells:
        raise MaskgenError(
            f"{len(sources)} keyframes do not split over a {columns}x{rows} grid: give a multiple of {cells}"
        )
    per_cell = len(sources) // cells
    if per_cell < 2:
        raise MaskgenError(
            f"a walk needs at least 2 keyframes per grid cell; got {len(sources)} for {cells} cell(s)"
        )
    keys = ws_for_sources(G, sources, truncation, class_index).reshape(cells, per_cell, G.num_ws, G.w_dim)
    walks = torch.stack([walk_ws(k, frames, loop) for k in keys], dim=1)  # [T, cells, L, C]
    count = walks.shape[0]
    parts = []
    for ws in walks.reshape(-1, G.num_ws, G.w_dim).split(batch_size):
        images = synthesize(G, ws, batch_size)
        parts.append(to_uint8(enlarge(images) if enlarge is not None else images))
    images = np.concatenate(parts)
    images = images.reshape(count, cells, *images.shape[1:])
    if cells == 1:
        return np.ascontiguousarray(images[:, 0])
    return np.stack([make_grid(frame, columns=columns) for frame in images])


def check_video_path(path: str | Path) -> Path:
    """The output path, if its format can be written here; else one line naming what to install."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise MaskgenError(f"unknown video format {path.suffix or '(none)'!r} of {path}; use .gif or .mp4")
    if suffix == ".mp4":
        missing = [m for m in ("imageio", "imageio_ffmpeg") if importlib.util.find_spec(m) is None]
        if missing:
            names = " and ".join(m.replace("_", "-") for m in missing)
            raise MaskgenError(f"writing .mp4 needs {names}, which is not installed: {VIDEO_EXTRA}")
    return path


def write_video(frames: np.ndarray, path: str | Path, fps: float = 30.0) -> Path:
    """Write uint8 [T, H, W, 3] frames as a GIF or MP4 (by the suffix), atomically."""
    path = check_video_path(path)
    if not fps > 0:
        raise MaskgenError(f"--fps must be positive, got {fps}")
    if path.suffix.lower() == ".gif":
        return atomic_write(path, lambda tmp: _write_gif(frames, tmp, fps))
    return atomic_write(path, lambda tmp: _write_mp4(frames, tmp, fps))


def _write_gif(frames: np.ndarray, path: str, fps: float) -> None:
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames]
    duration = max(20, round(1000 / fps))  # most viewers slow frames under 20 ms down to 100 ms
    images[0].save(
        path, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0, optimize=False
    )


def _write_mp4(frames: np.ndarray, path: str, fps: float) -> None:
    try:
        import imageio.v2 as imageio
    except ImportError as exc:  # find_spec found it, but it does not import
        raise MaskgenError(f"imageio does not import ({exc}): {VIDEO_EXTRA}") from None
    try:
        # macro_block_size=2: H.264 in yuv420p needs even sizes only, which powers of two always are.
        with imageio.get_writer(
            path, format="FFMPEG", mode="I", fps=fps, codec="libx264", quality=8,
            pixelformat="yuv420p", macro_block_size=2,
        ) as writer:  # fmt: skip
            for frame in frames:
                writer.append_data(frame)
    except (OSError, RuntimeError) as exc:
        raise MaskgenError(f"ffmpeg could not write {path}: {' '.join(str(exc).split())[:200]}") from None
