"""What each of the studio's buttons does: the library's own functions, called as the CLI calls them.

``generate`` is ``maskgen generate --seeds S-(S+N-1) --size SIZE --out grid.png`` (so the same seed and
settings give the same PNG; print size where the checkpoint has an upscaler), ``mix`` is
``style_mixing_grid``, ``project`` is ``project_file``, ``walk`` is ``latent_walk`` + ``write_video``
and ``colour`` is ``translate apply``'s ``apply_pairs``. Nothing here
imports Gradio: every function takes plain values, writes its files into a fresh folder of the temp
area, and raises :class:`MaskgenError` (one line) for anything the user can fix.
"""

from __future__ import annotations

import copy
import math
import re
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgen.apps.cascade import Cascade, load_cascade
from maskgen.apps.latents import LatentSource
from maskgen.apps.mixing import style_mixing_grid
from maskgen.apps.projection import NOISE_CHOICES, ProjectionSettings, project_file
from maskgen.apps.video import check_video_path, latent_walk, write_video
from maskgen.artifacts.checkpoint import Checkpoint
from maskgen.artifacts.generator import class_index, load_generator
from maskgen.data.procedural import render_masks
from maskgen.data.sketch import XDoGParams, sketch_to_uint8
from maskgen.errors import MaskgenError
from maskgen.images import SEED_MAX, make_grid, parse_seeds, save_grid, save_png
from maskgen.studio.catalogue import GAN, TRANSLATOR, Catalogue, Entry, ModelCache
from maskgen.studio.jobs import Jobs, Token
from maskgen.studio.training import TrainingDesk
from maskgen.studio.uploads import MAX_PIXELS, check_image, check_latent, save_drawing
from maskgen.translation.apply import InputNotes, apply_pairs, load_translator, read_sketch, warp_path

Progress = Callable[[float, str], None]  # (fraction done, what is happening)
AUTO_CLASS = "seed mod classes"  # the class choice that draws seed s as class s mod c (generate's default)
BUILTIN_REFERENCES = 16
OUTPUT_MAX_AGE_S = 3600.0
UPSCALER = "upscaler"  # the model cache's kind for a GAN checkpoint's upscaler
PRINT_SIZE = 256  # the size the page calls print size


def _quiet(fraction: float, text: str) -> None:
    pass


@dataclass
class Limits:
    """Bounds on one request's work, so that no request can hold the studio for long."""

    max_pixels: int = MAX_PIXELS
    max_grid: int = 64
    max_steps: int = 1000
    max_frames: int = 600
    max_keyframes: int = 16


@dataclass
class GeneratorInfo:
    label: str
    resolution: int
    num_ws: int
    classes: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)  # the sizes Generate draws, smallest first


def size_label(size: int) -> str:
    """'64 px', '256 px (print size)': a size as the page offers it."""
    return f"{size} px" + (" (print size)" if size == PRINT_SIZE else "")


def parse_size(value: Any) -> int | None:
    """A size from the page (``'256 px (print size)'``) or the API (256); None/'' for the largest."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        match = re.match(r"^\s*(\d+)\s*(px\b.*)?$", value)
        if match is None:
            raise MaskgenError(f"size must be a number of pixels such as '256 px', got {value!r}")
        return int(match.group(1))
    return _whole(value, "size", 1, 8192)


def _finite(value: Any, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MaskgenError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise MaskgenError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return number


def _whole(value: Any, name: str, low: int, high: int) -> int:
    number = _finite(value, name, low, high)
    if number != int(number):
        raise MaskgenError(f"{name} must be a whole number, got {value!r}")
    return int(number)


class Studio:
    """The studio's state shared by every request: the catalogue, the loaded models, the temp area."""

    def __init__(
        self,
        catalogue: Catalogue,
        device: torch.device,
        temp_root: Path,
        limits: Limits | None = None,
        upload_roots: Sequence[Path] = (),
    ) -> None:
        self.catalogue = catalogue
        self.models = ModelCache(device)
        self.jobs = Jobs()  # the long work running now, by browser session (for Cancel)
        self.temp_root = Path(temp_root).resolve()
        self.upload_roots = [self.temp_root, *(Path(r).resolve() for r in upload_roots)]
        self.limits = limits or Limits()
        self.out_root = self.temp_root / "maskgen-studio"
        self.out_root.mkdir(parents=True, exist_ok=True)
        self.training: TrainingDesk | None = None  # the Train tab's work; None: started --no-training

    # -- plumbing --------------------------------------------------------------------------------------

    def new_folder(self) -> Path:
        """A fresh output folder; folders older than an hour are removed on the way (a long-running
        studio must not fill its disk)."""
        now = time.time()
        for old in self.out_root.iterdir():
            try:
                if now - old.stat().st_mtime > OUTPUT_MAX_AGE_S:
                    shutil.rmtree(old, ignore_errors=True)
            except OSError:
                continue
        folder = self.out_root / uuid.uuid4().hex
        folder.mkdir()
        return folder

    def generator(self, label: str | None) -> tuple[torch.nn.Module, Checkpoint, Entry]:
        entry = self.catalogue.entry(label, GAN)

        def load(path: Path, device: torch.device) -> tuple[torch.nn.Module, Checkpoint]:
            G, ck = load_generator(path, device)
            return G, Checkpoint(ck.path, ck.config, {})  # the weights live in G: do not keep two copies

        G, ck = self.models.get(GAN, entry.path, load)
        return G, ck, entry

    def class_of(self, ck: Checkpoint, name: str | None) -> int | None:
        if name in (None, "", AUTO_CLASS):
            return None
        return class_index(ck, name)

    def cascade(self, label: str | None) -> tuple[Cascade, Entry]:
        """The generator with the upscaler its checkpoint carries (``load_cascade``), for Generate; the
        generator itself is the one the other tabs share, so a broken upscaler spoils Generate alone."""
        G, ck, entry = self.generator(label)

        def load(path: Path, device: torch.device) -> tuple[torch.nn.Module | None, Path | None]:
            loaded = load_cascade(path, device)
            return loaded.upscaler, loaded.upscaler_path

        upscaler, where = self.models.get(UPSCALER, entry.path, load)
        return Cascade(G, ck, upscaler, where), entry

    def info(self, label: str | None) -> GeneratorInfo:
        cascade, entry = self.cascade(label)
        G = cascade.generator
        classes = list(entry.classes)
        return GeneratorInfo(entry.label, int(G.img_resolution), int(G.num_ws), classes, cascade.sizes)

    def _source(self, seed: Any, latent: str | None, name: str) -> LatentSource:
        if latent:
            return check_latent(latent, self.upload_roots)
        return _whole(seed, f"{name} seed", 0, SEED_MAX)

    def shown_copy(self, path: Path) -> Path:
        """A copy of a file from outside the temp area (a run's sample grid) that the page may show:
        the web server serves the temp area only."""
        out = self.new_folder() / path.name
        shutil.copyfile(path, out)
        return out

    # -- the tabs ----------------------------------------------------------------------------------------

    def generate(
        self,
        label: str | None,
        seed: Any,
        truncation: Any,
        class_name: str | None = None,
        count: Any = 1,
        size: Any = None,
    ) -> tuple[Path, list[int], int]:
        """A grid of ``count`` masks, seeds ``seed`` .. ``seed + count - 1``, at ``size`` (default: the
        largest the checkpoint draws): the PNG that ``maskgen generate --seeds ... --truncation ...
        --size ... --out grid.png`` writes. Returns (the PNG, the seeds, the size)."""
        count = _whole(count, "the number of masks", 1, self.limits.max_grid)
        first = _whole(seed, "the seed", 0, SEED_MAX - count + 1)
        psi = _finite(truncation, "truncation psi", -1, 2)
        wanted = parse_size(size)
        cascade, _ = self.cascade(label)
        chosen = cascade.check_size(wanted)
        seeds = list(range(first, first + count))
        index = self.class_of(cascade.checkpoint, class_name)
        images = cascade.draw(seeds, truncation=psi, noise_mode="const", class_index=index, size=chosen)
        out = self.new_folder() / (f"seed{first:04d}.png" if count == 1 else f"seeds{first}-{seeds[-1]}.png")
        save_grid(images, out)
        return out, seeds, chosen

    def mix(
        self,
        label: str | None,
        seed_a: Any,
        seed_b: Any,
        crossover: Any,
        truncation: Any = 1.0,
        class_name: str | None = None,
        latent_a: str | None = None,
        latent_b: str | None = None,
    ) -> tuple[Path, Path]:
        """Mask A's styles below layer ``crossover``, B's from it on: (the mix, the 2x2 mixing grid)."""
        G, ck, _ = self.generator(label)
        a = self._source(seed_a, latent_a, "mask A")
        b = self._source(seed_b, latent_b, "mask B")
        layer = _whole(crossover, "the crossover layer", 0, int(G.num_ws))
        psi = _finite(truncation, "truncation psi", -1, 2)
        grid = style_mixing_grid(
            G, [a], [b], list(range(layer, G.num_ws)), psi, self.class_of(ck, class_name)
        )
        folder = self.new_folder()
        save_png(grid.cells[0, 0], folder / "mix.png")
        save_png(grid.image(), folder / "mix_grid.png")
        return folder / "mix.png", folder / "mix_grid.png"

    def project(
        self,
        label: str | None,
        target: str | None,
        steps: Any = 200,
        seed: Any = 0,
        wplus: bool = False,
        noise: str = "fixed",
        distance: str = "auto",
        token: Token | None = None,
        progress: Progress = _quiet,
    ) -> tuple[dict[str, Path], str]:
        """``maskgen project`` of one upload: its files (w, proj, side_by_side, loss) and a summary."""
        if not target:
            raise MaskgenError("upload a mask image to project first")
        info = check_image(target, self.upload_roots, self.limits.max_pixels, what="target")
        steps = _whole(steps, "steps", 1, self.limits.max_steps)
        if noise not in NOISE_CHOICES:
            raise MaskgenError(f"noise must be one of {', '.join(NOISE_CHOICES)}, got {noise!r}")
        settings = ProjectionSettings(
            steps=steps,
            seed=_whole(seed, "seed", 0, SEED_MAX),
            wplus=bool(wplus),
            noise=noise,
            distance=distance,
        )
        G, ck, entry = self.generator(label)
        # The projector swaps G's noise maps while it works: give it its own copy, so that requests
        # generating from the shared G meanwhile are not affected.
        G_own = copy.deepcopy(G)

        def on_step(done: int, total: int, losses: dict[str, float]) -> None:
            if token is not None:
                token.check(f"at step {done} of {total}")
            progress(
                done / total,
                f"step {done}/{total}  distance {losses['distance']:.4f}  mse {losses['mse']:.4f}",
            )

        folder = self.new_folder()
        meta = {"checkpoint": entry.label, "studio": True}
        result, paths = project_file(G_own, info.path, folder, settings, on_step, meta)
        f = result.final
        summary = (
            f"projected {info.path.name} ({info.describe()}) in {steps} steps: {result.distance_name} "
            f"{f['distance']:.4f}, mse {f['mse']:.5f}, psnr {f['psnr']:.2f} dB"
        )
        return paths, summary

    def walk(
        self,
        label: str | None,
        seeds: str,
        latents: Sequence[str] = (),
        frames: Any = 24,
        loop: bool = False,
        fps: Any = 12,
        video_format: str = "gif",
        truncation: Any = 1.0,
        class_name: str | None = None,
        token: Token | None = None,
        progress: Progress = _quiet,
    ) -> tuple[Path, Path]:
        """A latent walk through the uploaded latents, then the seeds: (the GIF shown, the download)."""
        suffix = "." + str(video_format).strip().lower().lstrip(".")
        frames = _whole(frames, "frames between keyframes", 1, 120)
        rate = _finite(fps, "fps", 1, 60)
        psi = _finite(truncation, "truncation psi", -1, 2)
        sources: list[LatentSource] = [check_latent(p, self.upload_roots) for p in latents or () if p]
        if str(seeds or "").strip():
            sources.extend(parse_seeds(str(seeds), max_count=self.limits.max_keyframes))
        if len(sources) < 2:
            raise MaskgenError(
                "a walk needs at least two keyframes: give seeds like 0,5,9 (or a projected latent)"
            )
        if len(sources) > self.limits.max_keyframes:
            raise MaskgenError(f"at most {self.limits.max_keyframes} keyframes, got {len(sources)}")
        total = (len(sources) if loop else len(sources) - 1) * frames + (0 if loop else 1)
        if total > self.limits.max_frames:
            raise MaskgenError(
                f"that walk has {total} frames; the studio renders at most {self.limits.max_frames}: "
                "use fewer frames between keyframes or fewer keyframes"
            )
        folder = self.new_folder()
        download = check_video_path(folder / f"walk{suffix}")  # a missing mp4 encoder: before any work
        G, ck, _ = self.generator(label)
        progress(0.1, f"rendering {total} frames")
        walk = latent_walk(
            G,
            sources,
            frames=frames,
            loop=bool(loop),
            truncation=psi,
            class_index=self.class_of(ck, class_name),
        )
        if token is not None:
            token.check("before writing the video")
        progress(0.7, "writing the animation")
        shown = write_video(walk, folder / "walk.gif", fps=rate)
        if download.suffix.lower() != ".gif":
            write_video(walk, download, fps=rate)
        return shown, download

    def colour(
        self,
        translator: str | None,
        sketch: str | None = None,
        drawing: np.ndarray | None = None,
        extract: bool = False,
        reference: str | None = None,
        builtin_reference: Any = 0,
        token: Token | None = None,
        progress: Progress = _quiet,
    ) -> tuple[Path, Path, Path | None, str]:
        """``maskgen translate apply --show-warp`` of one sketch (uploaded, drawn, or XDoG lines of an
        uploaded mask with ``extract``) and one reference (uploaded or a built-in mask):
        (the sketch as the translator saw it, the result, the warped reference or None, a note)."""
        entry = self.catalogue.entry(translator, TRANSLATOR)
        folder = self.new_folder()
        if sketch:
            info = check_image(sketch, self.upload_roots, self.limits.max_pixels, what="sketch")
        elif drawing is not None:
            info = check_image(
                save_drawing(drawing, folder), [folder], self.limits.max_pixels, what="drawing"
            )
        else:
            raise MaskgenError(
                "upload or draw a sketch first (or upload a mask and tick 'make the sketch with XDoG')"
            )
        if reference:
            ref = check_image(reference, self.upload_roots, self.limits.max_pixels, what="reference")
            ref_path, ref_note = ref.path, f"reference {ref.describe()}"
        else:
            index = _whole(builtin_reference, "the built-in reference", 0, BUILTIN_REFERENCES - 1)
            ref_path, ref_note = builtin_reference_path(folder, index), f"built-in reference #{index}"
        progress(0.2, "loading the translator")
        loaded = self.models.get(TRANSLATOR, entry.path, load_translator)
        if token is not None:
            token.check()
        params = XDoGParams() if extract else None
        seen = folder / "sketch_used.png"
        # The same reading as `translate apply`: a painted mask uploaded as the sketch gives its XDoG lines.
        used = read_sketch(info.path, loaded.size, params, InputNotes(loaded.size))
        save_png(sketch_to_uint8(used)[0], seen)
        progress(0.5, "translating")
        out = folder / "coloured.png"
        fixes: list[str] = []
        pair = [(info.path, ref_path, out)]
        apply_pairs(loaded, pair, show_warp=True, extract=params, on_note=fixes.append, name_files=False)
        warp = warp_path(out)
        made = "XDoG lines of " if extract else ""
        note = (
            f"{made}sketch {info.describe()} read as a {loaded.size}x{loaded.size} line drawing; {ref_note}; "
            f"{loaded.config.get('translator')} translator"
        )
        if not warp.is_file():
            note += " (it has no correspondence, so no warped reference)"
        for line in fixes:  # 'note: the sketch is ...' -> '. The sketch is ...'
            text = line.removeprefix("note: ")
            note += f". {text[:1].upper()}{text[1:]}"
        return seen, out, (warp if warp.is_file() else None), note

    def pull(self, reference: str | None) -> Entry:
        """Pull a Hub checkpoint through the cache and serve it."""
        if not str(reference or "").strip():
            raise MaskgenError("type a Hub reference, e.g. hf://OWNER/REPO@v1.0")
        return self.catalogue.add_hub(str(reference))


def builtin_reference_path(folder: Path, index: int, size: int = 128) -> Path:
    """Built-in procedural mask ``index`` as a PNG (references are read from files, like uploads)."""
    images, _ = render_masks(index + 1, size, seed=0)
    path = folder / f"builtin_reference_{index}.png"
    save_png(images[index], path)
    return path


def builtin_reference_sheet(folder: Path, size: int = 64) -> Path:
    """All built-in references in two rows, numbered in reading order, for the page."""
    images, _ = render_masks(BUILTIN_REFERENCES, size, seed=0)
    path = folder / "builtin_references.png"
    save_png(make_grid(images, columns=BUILTIN_REFERENCES // 2), path)
    return path
