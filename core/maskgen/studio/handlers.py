"""What each of the studio's buttons does: the library's own functions, called as the CLI calls them.

``generate`` is ``maskgen generate --seeds S-(S+N-1) --size SIZE --out grid.png`` (so the same seed and
settings give the same PNG; print size where the checkpoint has an upscaler), plus each mask as its own
PNG and a zip of them; ``mix`` is ``style_mixing_grid``, ``project`` is ``project_file``, ``walk`` is
``latent_walk`` + ``write_video``, all drawn at print size through the checkpoint's upscaler by default
(``maskgen mix/project/video --size``); ``colour`` is ``translate apply``'s ``apply_pairs``, enlarged by
the shipped upscaler for the translator's size (``translate apply --size``). Nothing here imports
Gradio: every function takes plain values, writes its files into a fresh folder of the temp area, and
raises :class:`MaskgenError` (one line, in the page's words: :mod:`maskgen.studio.words`) for anything
the user can fix.
"""

from __future__ import annotations

import copy
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
from maskgen.artifacts.base_models import read_base_config
from maskgen.artifacts.checkpoint import Checkpoint, read_checkpoint_json, resolve_checkpoint_dir
from maskgen.artifacts.generator import class_index, load_generator
from maskgen.artifacts.layout import CONFIG_FILE
from maskgen.artifacts.upscaler import base_upscaler_for
from maskgen.data.sketch import XDoGParams, sketch_to_uint8
from maskgen.errors import MaskgenError
from maskgen.images import SEED_MAX, parse_seeds, save_png, to_uint8
from maskgen.studio.catalogue import GAN, TRANSLATOR, Catalogue, Entry, ModelCache
from maskgen.studio.downloads import SavedMasks, save_masks
from maskgen.studio.examples import (
    BUILTIN_REFERENCES,
    builtin_reference_path,
    builtin_references,
    example_sketch,
    example_target,
)
from maskgen.studio.jobs import Jobs, Token
from maskgen.studio.training import TrainingDesk
from maskgen.studio.uploads import MAX_PIXELS, check_image, check_latent, save_drawing
from maskgen.studio.words import (
    FRAMES,
    HOW_MANY,
    MASK_NUMBER,
    MIX_POINT,
    SEARCH_STEPS,
    SPEED,
    VARIETY,
    Setting,
)
from maskgen.translation.apply import (
    InputNotes,
    apply_pairs,
    is_colour_image,
    load_translator,
    read_sketch,
    translation_upscaler,
    warp_path,
)

Progress = Callable[[float, str], None]  # (fraction done, what is happening)
AUTO_CLASS = "seed mod classes"  # the class choice that draws seed s as class s mod c (generate's default)
OUTPUT_MAX_AGE_S = 3600.0
UPSCALER = "upscaler"  # the model cache's kind for a GAN checkpoint's upscaler
COLOUR_UPSCALER = "colour-upscaler"  # ... and for the upscaler that enlarges a translator's pictures
PRINT_SIZE = 256  # the size the page calls print size
BUILTIN = Setting("the built-in reference", 0, BUILTIN_REFERENCES - 1, 0, 1, whole=True)  # 0-based


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
    sizes: list[int] = field(default_factory=list)  # the sizes the tabs draw, smallest first


@dataclass(frozen=True)
class Drawn:
    """Generate's answer: the masks, saved three ways, and what they are."""

    saved: SavedMasks
    seeds: list[int]
    size: int
    variety: float

    @property
    def grid(self) -> Path:
        return self.saved.grid

    def describe(self, label: str) -> str:
        numbers = (
            f"mask {self.seeds[0]}" if len(self.seeds) == 1 else f"masks {self.seeds[0]}-{self.seeds[-1]}"
        )
        return f"{numbers} of {label} at {self.size} px, variety {self.variety:g}"


@dataclass(frozen=True)
class Mixed:
    mix: Path  # A's shape with B's details
    grid: Path  # B along the top, A down the left, the mix
    a: Path
    b: Path
    size: int


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
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise MaskgenError(f"size must be a number of pixels such as '256 px', got {value!r}") from None
    if not number.is_integer() or not 1 <= number <= 8192:
        raise MaskgenError(f"size must be a whole number of pixels from 1 to 8192, got {value!r}")
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
        self.examples = self.temp_root / "maskgen-examples"  # kept while the studio runs
        self.examples.mkdir(parents=True, exist_ok=True)
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
        """The generator with the upscaler its checkpoint carries (``load_cascade``); the generator
        itself is the one every tab shares, so a broken upscaler spoils print size alone."""
        G, ck, entry = self.generator(label)

        def load(path: Path, device: torch.device) -> tuple[torch.nn.Module | None, Path | None]:
            loaded = load_cascade(path, device)
            return loaded.upscaler, loaded.upscaler_path

        upscaler, where = self.models.get(UPSCALER, entry.path, load)
        return Cascade(G, ck, upscaler, where), entry

    def drawing(self, label: str | None, size: Any) -> tuple[torch.nn.Module, Checkpoint, int, Any]:
        """(G, its checkpoint, the size chosen, the enlarger to it or None) for Mix, Project and Walk:
        the GAN alone at its own size, through its upscaler at a larger one (default: the largest)."""
        wanted = parse_size(size)
        G, ck, _ = self.generator(label)
        if wanted == int(G.img_resolution):
            return G, ck, wanted, None
        cascade, _ = self.cascade(label)
        chosen = cascade.check_size(wanted)
        if chosen == cascade.resolution:
            return G, ck, chosen, None

        def enlarge(images: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return cascade.enlarge(images, chosen)

        return G, ck, chosen, enlarge

    def info(self, label: str | None) -> GeneratorInfo:
        cascade, entry = self.cascade(label)
        G = cascade.generator
        classes = list(entry.classes)
        return GeneratorInfo(entry.label, int(G.img_resolution), int(G.num_ws), classes, cascade.sizes)

    def _source(self, seed: Any, latent: str | None, name: str) -> LatentSource:
        if latent:
            return check_latent(latent, self.upload_roots)
        return MASK_NUMBER.renamed(name).check_whole(seed)

    def shown_copy(self, path: Path) -> Path:
        """A copy of a file from outside the temp area (a run's sample grid) that the page may show:
        the web server serves the temp area only."""
        out = self.new_folder() / path.name
        shutil.copyfile(path, out)
        return out

    # -- examples (maskgen.studio.examples), in the temp area ---------------------------------------------

    def example_target(self) -> Path:
        return example_target(self.examples)

    def example_sketch(self) -> Path:
        return example_sketch(self.examples)

    def builtin_references(self) -> list[Path]:
        return builtin_references(self.examples)

    # -- the tabs ----------------------------------------------------------------------------------------

    def generate(
        self,
        label: str | None,
        seed: Any,
        truncation: Any,
        class_name: str | None = None,
        count: Any = 1,
        size: Any = None,
    ) -> Drawn:
        """``count`` masks, seeds ``seed`` .. ``seed + count - 1``, at ``size`` (default: the largest the
        checkpoint draws): the grid PNG that ``maskgen generate --seeds ... --truncation ... --size ...
        --out grid.png`` writes, each mask as its own PNG, and a zip of those."""
        count = HOW_MANY.check_whole(count, self.limits.max_grid)
        first = MASK_NUMBER.check_whole(seed, SEED_MAX - count + 1)
        psi = VARIETY.check(truncation)
        wanted = parse_size(size)
        cascade, _ = self.cascade(label)
        chosen = cascade.check_size(wanted)
        seeds = list(range(first, first + count))
        index = self.class_of(cascade.checkpoint, class_name)
        images = cascade.draw(seeds, truncation=psi, noise_mode="const", class_index=index, size=chosen)
        stem = f"seed{first:04d}" if count == 1 else f"seeds{first}-{seeds[-1]}"
        names = [f"mask-{s}" for s in seeds]
        saved = save_masks(to_uint8(images), self.new_folder(), names, stem)
        return Drawn(saved, seeds, chosen, psi)

    def mix(
        self,
        label: str | None,
        seed_a: Any,
        seed_b: Any,
        crossover: Any,
        truncation: Any = VARIETY.default,
        class_name: str | None = None,
        latent_a: str | None = None,
        latent_b: str | None = None,
        size: Any = None,
    ) -> Mixed:
        """Mask A's styles below layer ``crossover`` (its shape), B's from it on (its details), at
        ``size`` (default: the largest): the mix, the 2x2 mixing grid, A and B."""
        G, ck, chosen, enlarge = self.drawing(label, size)
        a = self._source(seed_a, latent_a, "mask A's number")
        b = self._source(seed_b, latent_b, "mask B's number")
        layer = MIX_POINT.check_whole(crossover, int(G.num_ws))
        psi = VARIETY.check(truncation)
        grid = style_mixing_grid(
            G, [a], [b], list(range(layer, G.num_ws)), psi, self.class_of(ck, class_name), enlarge
        )
        folder = self.new_folder()
        paths = {name: folder / f"{name}.png" for name in ("mix", "mix_grid", "a", "b")}
        save_png(grid.cells[0, 0], paths["mix"])
        save_png(grid.image(), paths["mix_grid"])
        save_png(grid.rows[0], paths["a"])
        save_png(grid.cols[0], paths["b"])
        return Mixed(paths["mix"], paths["mix_grid"], paths["a"], paths["b"], chosen)

    def project(
        self,
        label: str | None,
        target: str | None,
        steps: Any = SEARCH_STEPS.default,
        seed: Any = 0,
        wplus: bool = False,
        noise: str = "fixed",
        distance: str = "auto",
        token: Token | None = None,
        progress: Progress = _quiet,
        size: Any = None,
    ) -> tuple[dict[str, Path], str]:
        """``maskgen project`` of one upload, the result at ``size`` (default: the largest): its files
        (w, proj, side_by_side, loss) and a summary."""
        if not target:
            raise MaskgenError("choose a picture of a mask to find first")
        info = check_image(target, self.upload_roots, self.limits.max_pixels, what="picture")
        steps = SEARCH_STEPS.check_whole(steps, self.limits.max_steps)
        if noise not in NOISE_CHOICES:
            raise MaskgenError(f"noise must be one of {', '.join(NOISE_CHOICES)}, got {noise!r}")
        settings = ProjectionSettings(
            steps=steps,
            seed=MASK_NUMBER.renamed("the search's number").check_whole(seed),
            wplus=bool(wplus),
            noise=noise,
            distance=distance,
        )
        G, _, chosen, enlarge = self.drawing(label, size)
        entry = self.catalogue.entry(label, GAN)
        # The projector swaps G's noise maps while it works: give it its own copy, so that requests
        # generating from the shared G meanwhile are not affected.
        G_own = copy.deepcopy(G)

        def on_step(done: int, total: int, losses: dict[str, float]) -> None:
            if token is not None:
                token.check(f"at step {done} of {total}")
            progress(done / total, f"step {done} of {total}: distance {losses['distance']:.4f}")

        folder = self.new_folder()
        meta = {"checkpoint": entry.label, "studio": True}
        result, paths = project_file(G_own, info.path, folder, settings, on_step, meta, enlarge)
        f = result.final
        summary = (
            f"Found the model's closest mask to {info.path.name} in {steps} steps, shown at {chosen} px "
            f"(left: your picture, right: the model's mask). Closeness: {f['psnr']:.1f} dB "
            f"(engineers: {result.distance_name} distance {f['distance']:.4f}, mse {f['mse']:.5f})"
        )
        return paths, summary

    def walk(
        self,
        label: str | None,
        seeds: str,
        latents: Sequence[str] = (),
        frames: Any = FRAMES.default,
        loop: bool = False,
        fps: Any = SPEED.default,
        video_format: str = "gif",
        truncation: Any = VARIETY.default,
        class_name: str | None = None,
        token: Token | None = None,
        progress: Progress = _quiet,
        size: Any = None,
    ) -> tuple[Path, Path]:
        """A latent walk through the uploaded latents, then the seeds, at ``size`` (default: the
        largest): (the GIF shown, the download)."""
        suffix = "." + str(video_format).strip().lower().lstrip(".")
        frames = FRAMES.check_whole(frames)
        rate = SPEED.check(fps)
        psi = VARIETY.check(truncation)
        sources: list[LatentSource] = [check_latent(p, self.upload_roots) for p in latents or () if p]
        if str(seeds or "").strip():
            sources.extend(self._walk_numbers(str(seeds)))
        if len(sources) < 2:
            raise MaskgenError("a walk needs at least two masks to pass through: give numbers like 0, 5, 9")
        if len(sources) > self.limits.max_keyframes:
            raise MaskgenError(
                f"a walk passes through at most {self.limits.max_keyframes} masks; {len(sources)} were given"
            )
        total = (len(sources) if loop else len(sources) - 1) * frames + (0 if loop else 1)
        if total > self.limits.max_frames:
            raise MaskgenError(
                f"that walk has {total} frames; the studio makes at most {self.limits.max_frames}: "
                "use fewer frames between masks or fewer masks"
            )
        folder = self.new_folder()
        download = check_video_path(folder / f"walk{suffix}")  # a missing mp4 encoder: before any work
        G, ck, _, enlarge = self.drawing(label, size)
        progress(0.1, f"drawing {total} frames")
        walk = latent_walk(
            G, sources, frames=frames, loop=bool(loop), truncation=psi,
            class_index=self.class_of(ck, class_name), enlarge=enlarge,
        )  # fmt: skip
        if token is not None:
            token.check("before writing the animation")
        progress(0.7, "writing the animation")
        shown = write_video(walk, folder / "walk.gif", fps=rate)
        if download.suffix.lower() != ".gif":
            write_video(walk, download, fps=rate)
        return shown, download

    def _walk_numbers(self, text: str) -> list[int]:
        """The masks a walk passes through, as typed; ``parse_seeds``' refusal in the page's words."""
        most = self.limits.max_keyframes
        try:
            return parse_seeds(text, max_count=most)
        except MaskgenError as exc:
            if "more than" in str(exc):
                raise MaskgenError(
                    f"a walk passes through at most {most} masks; {text!r} names more"
                ) from None
            raise MaskgenError(
                f"the masks to pass through are numbers like 3, 10, 21 or a range like 4-7 (going up); "
                f"{text!r} is not"
            ) from None

    def colour_sizes(self, translator: str | None) -> list[int]:
        """The sizes Colour makes with this translator: its own, and the shipped upscaler's for it (read
        from config.json files: nothing is loaded)."""
        entry = self.catalogue.entry(translator, TRANSLATOR)
        own = read_checkpoint_json(resolve_checkpoint_dir(entry.path) / CONFIG_FILE).get("size")
        if not isinstance(own, int):
            raise MaskgenError(
                f"{entry.label} does not say what size it colours at (no size in its config.json)"
            )
        where = base_upscaler_for(own)
        large = (read_base_config(where) or {}).get("size") if where is not None else None
        return [own] + ([int(large)] if isinstance(large, int) and large > own else [])

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
        size: Any = None,
    ) -> tuple[Path, Path, Path | None, str]:
        """``maskgen translate apply --show-warp --size SIZE`` of one sketch (uploaded or drawn; a painted
        mask is read as its XDoG lines, as ``translate apply`` reads it, with or without ``extract``)
        and one reference (uploaded, else a built-in mask), at ``size`` (default: the largest):
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
            raise MaskgenError("draw or upload a line drawing first (a picture of a painted mask works too)")
        if reference:
            ref = check_image(reference, self.upload_roots, self.limits.max_pixels, what="reference")
            ref_path, ref_note = ref.path, "Colours from your reference picture."
        else:
            index = BUILTIN.check_whole(builtin_reference)
            ref_path, ref_note = (
                builtin_reference_path(self.examples, index),
                f"Colours from built-in mask {index + 1}.",
            )
        progress(0.2, "loading the colouring model")
        loaded = self.models.get(TRANSLATOR, entry.path, load_translator)
        sizes = self.colour_sizes(entry.label)
        wanted = parse_size(size)
        chosen = sizes[-1] if wanted is None else wanted
        enlarger = None
        if chosen != loaded.size:
            if chosen not in sizes:
                made = " or ".join(f"{s} px" for s in sizes)
                raise MaskgenError(f"this colouring model makes {made} pictures, not {chosen} px")
            enlarger = self.models.get(
                COLOUR_UPSCALER, entry.path, lambda path, device: translation_upscaler(loaded, chosen)[0]
            )
        if token is not None:
            token.check()
        notes = InputNotes(loaded.size)
        notes.check("sketch", info.path)
        notes.check("reference", ref_path)
        painted = bool(extract) or is_colour_image(info.path)
        params = XDoGParams() if painted else None
        seen = folder / "sketch_used.png"
        save_png(sketch_to_uint8(read_sketch(info.path, loaded.size, params))[0], seen)
        progress(0.5, "colouring")
        out = folder / "coloured.png"
        apply_pairs(loaded, [(info.path, ref_path, out)], show_warp=True, extract=params, upscaler=enlarger)
        warp = warp_path(out)
        lines = []
        if painted:
            lines.append("Your picture is a painted mask, so the studio turned it into lines first.")
        lines.append(ref_note)
        lines.extend(_plain_notes(notes, info.width, info.height))
        made = f"Coloured at {loaded.size} px" + (
            f", enlarged to {chosen} px." if chosen != loaded.size else "."
        )
        lines.append(made)
        if not warp.is_file():
            lines.append("(This model does not show how it matched the reference.)")
        return seen, out, (warp if warp.is_file() else None), " ".join(lines)

    def add_model(self, text: str | None, kind: str | None = None) -> Entry:
        """The page's "Add a model": a folder inside the served ones, or a Hub reference."""
        try:
            return self.catalogue.add_path(str(text or ""), kind)
        except MaskgenError as exc:
            raise MaskgenError(plain_hub(str(exc))) from None

    def pull(self, reference: str | None) -> Entry:
        """Pull a Hub checkpoint through the cache and serve it."""
        if not str(reference or "").strip():
            raise MaskgenError("type a Hub reference, e.g. hf://OWNER/REPO@v1.0")
        return self.catalogue.add_hub(str(reference))


def _plain_notes(notes: InputNotes, width: int, height: int) -> list[str]:
    """What was fixed on the way in, in plain words (``translate apply`` says it in an engineer's)."""
    side = notes.size
    said = []
    for kind in notes.found:
        if kind == "sketch:size":
            said.append(
                f"The lines ({width} x {height} pixels) were fitted to the model's {side} x {side} square."
            )
        elif kind == "reference:size":
            said.append(f"The reference was fitted to the model's {side} x {side} square.")
        elif kind == "reference:grey":
            said.append("The reference is grey, so the colours come out grey.")
        elif kind == "reference:transparent":
            said.append("The reference's transparent parts were put on white.")
    return said


def plain_hub(message: str) -> str:
    """A Hub refusal without the terminal advice it carries for the CLI."""
    message = re.sub(r"\s*\(pull it once with network access: [^)]*\)", "", message)
    return message.replace(
        "and HF_HUB_OFFLINE=1 forbids downloading it",
        "and this studio is set to work offline, so it cannot download it",
    )
