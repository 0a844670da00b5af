"""The Python API: load a model in one line, draw masks in the next (docs/python.md).

>>> import maskgen
>>> g = maskgen.load("base:builtin-64px-mirrored")
>>> images = g.generate(seeds=range(8), truncation=0.7)  # a list of PIL images
>>> images[0].size
(64, 64)

A model is named as everywhere in maskgen: ``base:NAME`` (a base model shipped in the package; ``maskgen
models`` lists them), ``hf://OWNER/REPO@REVISION`` (a Hugging Face Hub repo, downloaded once into the HF
cache) or the PATH of a checkpoint or run directory. Drawing goes through
:func:`maskgen.apps.cascade.load_cascade` and :meth:`~maskgen.apps.cascade.Cascade.draw`, the code
``maskgen generate`` and the studio's Generate run, so the same seed gives the same pixels in all three.
``mix``, ``project`` and ``walk`` are thin wrappers of :mod:`maskgen.apps.mixing`,
:mod:`maskgen.apps.projection` and :mod:`maskgen.apps.video`; :class:`MaskTranslator` of
:mod:`maskgen.translation.apply`. Anything wrong (a model that is not there, a size it cannot draw) is
one :class:`~maskgen.errors.MaskgenError` line.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from maskgen.apps.cascade import Cascade
    from maskgen.apps.latents import LatentSource
    from maskgen.apps.projection import ProjectionResult
    from maskgen.artifacts.hub_push import PushResult
    from maskgen.translation.apply import LoadedTranslator

__all__ = ["MaskGenerator", "MaskTranslator", "Projection", "list_models", "load", "load_translator"]

_log = logging.getLogger("maskgen")


def load(ref: str | Path, device: str = "auto", upscaler: str | None = None) -> MaskGenerator:
    """A GAN checkpoint, ready to draw masks.

    ``ref``: ``base:NAME``, ``hf://OWNER/REPO@REVISION`` or a checkpoint / run directory. ``device``:
    auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps. ``upscaler``: another second stage
    (PATH, base:NAME or hf://...) instead of the one the checkpoint carries.

    >>> g = maskgen.load("base:builtin-64px-mirrored")
    >>> g.sizes
    [64]
    """
    from maskgen.apps.cascade import load_cascade
    from maskgen.devices import pick_device

    return MaskGenerator(load_cascade(ref, pick_device(device), upscaler), upscaler)


def load_translator(ref: str | Path | None = None, device: str = "auto") -> MaskTranslator:
    """A sketch + reference translator; ``ref`` None: the shipped base translator (``translate apply``'s
    default without --checkpoint).

    >>> t = maskgen.load_translator()
    >>> coloured = t.colour("sketch.png", "reference.png")  # a PIL image
    """
    from maskgen.devices import pick_device
    from maskgen.translation.apply import default_translator
    from maskgen.translation.apply import load_translator as load_checkpoint

    reference = default_translator() if ref is None else ref
    return MaskTranslator(load_checkpoint(reference, pick_device(device)), str(reference))


_KINDS = {"gan": "GAN", "translation": "translator", "upscaler": "upscaler"}


def list_models() -> list[dict[str, Any]]:
    """The base models shipped in this maskgen (what ``maskgen models`` prints), one dict each: ``name``,
    ``ref`` (``base:NAME``), ``kind`` (GAN, translator, upscaler), ``size`` (px drawn; an upscaler's
    ``small_size`` too), ``trained_on``, ``kimg`` and ``kimg_total`` (with the runs it was fine-tuned
    from; all from its config.json), ``megabytes`` of weights,
    ``mirrored`` (a GAN with the exact left-right mirror), ``fine_tuning`` (the options a run starting
    from a GAN takes unless it sets them), and ``use``: the command that uses it.

    >>> [m["ref"] for m in maskgen.list_models() if m["kind"] == "GAN"]
    ['base:builtin-64px', 'base:builtin-64px-mirrored', 'base:builtin-64px-varied']
    """
    from maskgen.artifacts.base_models import BASE_SCHEME, list_base_models, read_base_config, recorded_kimg
    from maskgen.artifacts.layout import MODEL_FILE

    found = []
    for directory in list_base_models(kind=None):
        config = read_base_config(directory) or {}
        kind = str(config.get("kind"))
        train = config.get("train") if isinstance(config.get("train"), dict) else {}
        ref = BASE_SCHEME + directory.name
        dataset = config.get("dataset")
        entry: dict[str, Any] = {
            "name": directory.name,
            "ref": ref,
            "kind": _KINDS.get(kind, kind),
            "size": train.get("resolution") if kind == "gan" else config.get("size"),
            "trained_on": dataset.get("name") if isinstance(dataset, dict) else train.get("data"),
            "kimg": config.get("kimg"),
            "kimg_total": recorded_kimg(config),
            "megabytes": round((directory / MODEL_FILE).stat().st_size / 1e6, 1),
        }
        if kind == "gan":
            options = train.get("generator_options") or {}
            entry["mirrored"] = bool(options.get("symmetric"))
            # The shipped base upscaler that draws this GAN's masks at print size, if there is one.
            upscalers = [(read_base_config(d) or {}) for d in list_base_models(kind="upscaler")]
            large = [u.get("size") for u in upscalers if u.get("small_size") == entry["size"]]
            entry["print_size"] = large[0] if large else None
            recipe = config.get("fine_tuning")
            entry["fine_tuning"] = recipe if isinstance(recipe, dict) else {}
            entry["use"] = [
                f"maskgen generate --checkpoint {ref} --seeds 0-15 --out masks.png",
                f"maskgen run --init {ref} --data MY_MASKS/",
                f'maskgen.load("{ref}").generate(seeds=range(8))',
            ]
        elif kind == "translation":
            entry["translator"] = config.get("translator")
            entry["use"] = [
                f"maskgen translate apply --checkpoint {ref} --sketch SKETCH.png --reference REF.png "
                "--out coloured.png",
                f'maskgen.load_translator("{ref}").colour("SKETCH.png", "REF.png")',
            ]
        elif kind == "upscaler":
            entry["small_size"] = config.get("small_size")
            entry["use"] = [f"maskgen upscale apply --checkpoint {ref} SMALL.png --out large/"]
        else:
            entry["use"] = []
        found.append(entry)
    return found


def _pil(array: Any) -> Image.Image:
    from PIL import Image

    return Image.fromarray(array)


def _pils(images: torch.Tensor) -> list[Image.Image]:
    from maskgen.images import to_uint8

    return [_pil(a) for a in to_uint8(images)]


def _seed_list(seeds: int | Iterable[int]) -> list[int]:
    from maskgen.errors import MaskgenError
    from maskgen.images import parse_seeds

    if isinstance(seeds, str):
        return parse_seeds(seeds)
    values = [seeds] if isinstance(seeds, int) else list(seeds)
    if not values or not all(isinstance(s, int) and not isinstance(s, bool) for s in values):
        raise MaskgenError(f"seeds must be integers (e.g. range(8) or [0, 5]), got {seeds!r}")
    return parse_seeds(",".join(str(s) for s in values))  # the CLI's range checks


def _sources(value: Any, what: str) -> list[LatentSource]:
    """Seeds and projected .npz files (paths or :class:`Projection` results saved to one)."""
    from maskgen.apps.latents import parse_latent_sources

    items = [value] if isinstance(value, (int, str, Path, Projection)) else list(value)
    parts = []
    for item in items:
        if isinstance(item, Projection):
            item = item.saved_w()
        parts.append(str(item))
    return parse_latent_sources(",".join(parts), what)


class MaskGenerator:
    """A GAN and, where its checkpoint carries one, its upscaler: the two-stage cascade.

    Made by :func:`load` (or :meth:`from_pretrained`). :attr:`sizes` are the mask sizes it draws; every
    drawing method takes ``size`` (default: the largest, print size where there is an upscaler).
    """

    def __init__(self, cascade: Cascade, upscaler: str | None = None) -> None:
        self.cascade = cascade
        self._upscaler_ref = upscaler

    def __repr__(self) -> str:
        return f"MaskGenerator({str(self.path)!r}, sizes={self.sizes})"

    @classmethod
    def from_pretrained(
        cls, ref: str | Path, device: str = "auto", upscaler: str | None = None
    ) -> MaskGenerator:
        """The same as :func:`load`, named as the Hub libraries name it.

        >>> g = MaskGenerator.from_pretrained("hf://OWNER/REPO@v1.0")
        """
        return load(ref, device, upscaler)

    @property
    def path(self) -> Path:
        """The checkpoint folder the weights were read from (the HF cache's snapshot for ``hf://``).

        >>> maskgen.load("hf://me/opera-masks@v1.0").path  # .../snapshots/<commit>
        """
        return self.cascade.checkpoint.path

    @property
    def config(self) -> dict[str, Any]:
        """The checkpoint's config.json.

        >>> g.config["train"]["resolution"]
        64
        """
        return self.cascade.checkpoint.config

    @property
    def sizes(self) -> list[int]:
        """The mask sizes (px) this model draws, smallest first, e.g. ``[64]`` or ``[64, 256]``.

        >>> maskgen.load("base:builtin-64px").sizes
        [64]
        """
        return self.cascade.sizes

    @property
    def classes(self) -> list[str]:
        """The colour characters a class-conditional model draws (``colour=``); [] if unconditional.

        >>> g.classes  # a 'maskgen run --cond' model: ['red', 'purple', ...]; then g.generate(colour="red")
        """
        from maskgen.artifacts.base_models import class_names

        return class_names(self.config)

    def _enlarge(self, size: int | None) -> Callable[[torch.Tensor], torch.Tensor] | None:
        chosen = self.cascade.check_size(size)
        if chosen == self.cascade.resolution:
            return None
        return lambda images: self.cascade.enlarge(images, chosen)

    def _class(self, colour: str | None) -> int | None:
        from maskgen.artifacts.generator import class_index

        return class_index(self.cascade.checkpoint, colour)

    def generate(
        self,
        seeds: int | Iterable[int] = range(8),
        truncation: float = 1.0,
        size: int | None = None,
        noise: str = "const",
        colour: str | None = None,
    ) -> list[Image.Image]:
        """One mask per seed, as PIL images at ``size`` px (default: the largest of :attr:`sizes`).

        The same seed gives the same mask, here, in ``maskgen generate`` and in the studio.
        ``truncation`` psi (1: none, 0.7: typical masks); ``noise``: const (reproducible), random or
        none; ``colour``: the colour character of a class-conditional model (e.g. "red").

        >>> images = g.generate(seeds=[0, 1, 2], truncation=0.7)
        >>> images[0].save("mask0.png")
        """
        _check_truncation(truncation)
        _check_choice("noise", noise, ("const", "random", "none"))
        chosen = self.cascade.check_size(size)
        images = self.cascade.draw(_seed_list(seeds), float(truncation), noise, self._class(colour), chosen)
        return _pils(images)

    def mix(
        self,
        a: int | str | Path | Sequence[Any],
        b: int | str | Path | Sequence[Any],
        crossover: str | Sequence[int] = "0-3",
        size: int | None = None,
        truncation: float = 1.0,
        colour: str | None = None,
    ) -> Image.Image:
        """The style-mixing grid of ``maskgen mix``, as one PIL image: the ``b`` sources along the top, the
        ``a`` sources down the left, and each cell row ``a`` with the layers ``crossover`` taken from
        column ``b`` (default ``0-3``: the coarse layers, i.e. layout and main colour from ``b``, details
        from ``a``). ``a`` and ``b``: a seed, a projected .npz file or :class:`Projection`, or a list.

        >>> grid = g.mix([0, 1, 2], [10, 11], crossover="0-3")
        >>> grid_fine = g.mix(0, 10, crossover=[4, 5, 6, 7, 8, 9])
        """
        from maskgen.apps.mixing import parse_styles, style_mixing_grid

        _check_truncation(truncation)
        rows, cols = _sources(a, "a (row sources)"), _sources(b, "b (column sources)")
        G = self.cascade.generator
        spec = crossover if isinstance(crossover, str) else ",".join(map(str, crossover))
        layers = parse_styles(spec or "none", G.num_ws)
        enlarge = self._enlarge(size)
        grid = style_mixing_grid(G, rows, cols, layers, float(truncation), self._class(colour), enlarge)
        return _pil(grid.image())

    def project(
        self,
        target: Image.Image | str | Path,
        steps: int = 300,
        size: int | None = None,
        seed: int = 0,
        wplus: bool = False,
        noise: str = "random",
        distance: str = "auto",
        progress: Callable[[int, int, dict[str, float]], None] | None = None,
    ) -> Projection:
        """The latent of a real mask (the StyleGAN2 projector, as ``maskgen project``): a PIL image or an
        image file of any size, fitted to the GAN's own size for the search. Returns a
        :class:`Projection` with the projected mask at ``size`` px; pass it to :meth:`mix` or
        :meth:`walk` as a source, or ``.save(folder)`` for the files ``maskgen project`` writes.

        >>> p = g.project("my_mask.png", steps=200)
        >>> p.image.save("proj.png"); print(p.psnr)
        >>> frames = g.walk([0, p], frames_per_seed=30)
        """
        from maskgen.apps.projection import ProjectionSettings, load_target
        from maskgen.apps.projection import project as run_projection

        settings = ProjectionSettings(steps=steps, seed=seed, wplus=wplus, noise=noise, distance=distance)
        settings.check()
        enlarge = self._enlarge(size)
        G = self.cascade.generator
        device = next(G.parameters()).device
        with _as_file(target, "target") as path:
            tensor = load_target(path, G.img_resolution, device)
            large_target = None
            if enlarge is not None:
                from maskgen.data.folder import load_image

                large_target = load_image(path, self.cascade.check_size(size))
        result = run_projection(G, tensor, settings, progress=progress, enlarge=enlarge)
        return Projection(result, self.path, large_target, {"settings": settings.__dict__})

    def walk(
        self,
        seeds: Sequence[Any],
        frames_per_seed: int = 30,
        size: int | None = None,
        loop: bool = False,
        truncation: float = 1.0,
        colour: str | None = None,
    ) -> list[Image.Image]:
        """The latent walk of ``maskgen video`` (linear in W), as a list of PIL frames: keyframe k is frame
        ``k * frames_per_seed`` exactly. ``seeds``: at least 2 seeds, projected .npz files or
        :class:`Projection` results. ``loop`` walks from the last keyframe back to the first.

        >>> frames = g.walk([0, 1, 2], frames_per_seed=20)
        >>> frames[0].save("walk.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
        """
        from maskgen.apps.video import latent_walk

        _check_truncation(truncation)
        if isinstance(frames_per_seed, bool) or not isinstance(frames_per_seed, int):
            from maskgen.errors import MaskgenError

            raise MaskgenError(f"frames_per_seed must be an integer, got {frames_per_seed!r}")
        sources = _sources(seeds, "seeds (keyframes)")
        frames = latent_walk(
            self.cascade.generator, sources, frames=frames_per_seed, loop=loop, truncation=float(truncation),
            class_index=self._class(colour), enlarge=self._enlarge(size),
        )  # fmt: skip
        return [_pil(frame) for frame in frames]

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write this model as a checkpoint folder that :func:`load` / :meth:`from_pretrained` reads and
        ``maskgen push`` uploads: model.safetensors (the generator that draws, G_ema, alone),
        training_weights.safetensors where the checkpoint has one (what ``maskgen run --init`` fine-tunes
        from besides it), config.json, README.md (a model card written for what the folder holds),
        samples.png and metrics.json where the checkpoint has them, and its upscaler in ``upscaler/``.
        Returns the folder.

        >>> g.save_pretrained("my-masks")
        >>> same = maskgen.MaskGenerator.from_pretrained("my-masks")
        """
        import json
        import os

        from maskgen.artifacts.checkpoint import copy_weights, networks_in
        from maskgen.artifacts.hub_push import UPSCALER_DIR
        from maskgen.artifacts.layout import (
            CONFIG_FILE,
            METRICS_FILE,
            README_FILE,
            SAMPLES_FILE,
            TRAINING_WEIGHTS_FILE,
        )
        from maskgen.artifacts.modelcard import find_metrics, model_card
        from maskgen.artifacts.upscaler import attach_upscaler
        from maskgen.errors import MaskgenError
        from maskgen.outputs import make_folder

        out = Path(directory).expanduser()
        source = self.path
        if out.resolve() == source.resolve():
            raise MaskgenError(f"{out} is the checkpoint this model was loaded from; save it elsewhere")
        make_folder(out)
        # Staged beside its place, each file then renamed in: a reader sees old files or new, never half.
        staging = Path(tempfile.mkdtemp(prefix=".tmp-save-", dir=out))
        try:
            copy_weights(source, staging, self.config.get("kind"))  # an 0.1 checkpoint is split here
            for name in (CONFIG_FILE, SAMPLES_FILE):
                if (source / name).is_file():
                    shutil.copyfile(source / name, staging / name)
            metrics = find_metrics(source)
            if metrics is not None:
                text = json.dumps(metrics, indent=2, sort_keys=True) + "\n"
                (staging / METRICS_FILE).write_text(text, encoding="utf-8")
            upscaler = self.cascade.upscaler_path
            card = model_card(
                self.config,
                metrics=metrics,
                sample_image=SAMPLES_FILE if (staging / SAMPLES_FILE).is_file() else None,
                upscaler=_read_config(upscaler) if upscaler is not None else None,
                training_networks=networks_in(staging / TRAINING_WEIGHTS_FILE),
            )
            (staging / README_FILE).write_text(card, encoding="utf-8")
            written = [p.name for p in staging.iterdir()]
            for name in written:
                os.replace(staging / name, out / name)
        except OSError as exc:
            raise MaskgenError(f"cannot write {out}: {exc.strerror or exc}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for stale in (TRAINING_WEIGHTS_FILE, METRICS_FILE, SAMPLES_FILE):  # of an earlier save there
            if stale not in written and (out / stale).is_file():
                (out / stale).unlink()
        if upscaler is not None:
            attach_upscaler(out, upscaler)
        elif (out / UPSCALER_DIR).is_dir():  # a stale second stage must not be drawn with these weights
            shutil.rmtree(out / UPSCALER_DIR)
        return out

    def push_to_hub(
        self,
        repo_id: str,
        private: bool = False,
        revision: str | None = None,
        tag: str | None = None,
        license_id: str | None = None,
        message: str | None = None,
        with_training_state: bool = False,
        api: Any = None,
    ) -> PushResult:
        """Upload this model to the Hugging Face Hub in one commit, as ``maskgen push`` does (the same
        code: a generated model card, the upscaler in ``upscaler/``). Log in first (``hf auth login`` or
        HF_TOKEN). Returns the push's result (``.commit``, ``.commit_url``).

        >>> g.push_to_hub("me/opera-masks", tag="v1.0").commit_url
        >>> maskgen.load("hf://me/opera-masks@v1.0")
        """
        from maskgen.artifacts.hub_push import UPSCALER_DIR, push

        carried = self.cascade.upscaler_path
        own = carried is None or carried.resolve() == (self.path / UPSCALER_DIR).resolve()
        kwargs = dict(
            private=private, revision=revision, tag=tag, with_training_state=with_training_state,
            license_id=license_id, message=message, api=api,
        )  # fmt: skip
        if own:
            return push(self.path, repo_id, **kwargs)
        # Another upscaler than the checkpoint's own (a base one, or ``upscaler=``): push what
        # save_pretrained writes, so the repo draws as this model does.
        with tempfile.TemporaryDirectory(prefix="maskgen-push-") as tmp:
            return push(self.save_pretrained(Path(tmp) / "model"), repo_id, **kwargs)


@dataclass
class Projection:
    """What :meth:`MaskGenerator.project` found: ``image`` (the projected mask, PIL, at the size asked),
    ``target`` (the target as searched, PIL), ``w`` (the latent), ``psnr`` / ``distance`` of the search,
    and ``result`` (:class:`maskgen.apps.projection.ProjectionResult`, everything)."""

    result: ProjectionResult
    checkpoint: Path
    large_target: Any = None
    meta: dict[str, Any] | None = None
    _saved: Path | None = None

    @property
    def image(self) -> Image.Image:
        return _pil(self.result.large if self.result.large is not None else self.result.image)

    @property
    def target(self) -> Image.Image:
        return _pil(self.result.target)

    @property
    def w(self) -> torch.Tensor:
        return self.result.w

    @property
    def psnr(self) -> float:
        return float(self.result.final["psnr"])

    @property
    def distance(self) -> float:
        return float(self.result.final["distance"])

    def save(self, directory: str | Path) -> dict[str, Path]:
        """projected_w.npz, proj.png, target_vs_proj.png and loss.csv, as ``maskgen project`` writes them.

        >>> p.save("proj/")["w"]  # proj/projected_w.npz, a source for maskgen mix / video too
        """
        from maskgen.apps.projection import write_projection

        meta = {"checkpoint": str(self.checkpoint), **(self.meta or {})}
        paths = write_projection(self.result, directory, meta, self.large_target)
        self._saved = paths["w"]
        return paths

    def saved_w(self) -> Path:
        """The projected_w.npz of this projection (written to a temporary folder if never saved)."""
        if self._saved is None or not self._saved.is_file():
            self.save(tempfile.mkdtemp(prefix="maskgen-projection-"))
        assert self._saved is not None
        return self._saved


class MaskTranslator:
    """A sketch + reference translator (``maskgen translate``): it colours a line drawing after a
    reference mask. Made by :func:`load_translator`."""

    def __init__(self, loaded: LoadedTranslator, reference: str = "") -> None:
        self.loaded = loaded
        self.reference = reference

    def __repr__(self) -> str:
        return f"MaskTranslator({self.reference!r}, size={self.size})"

    @property
    def size(self) -> int:
        """The size (px) it colours at.

        >>> maskgen.load_translator().size
        64
        """
        return self.loaded.size

    def colour(
        self, sketch: Image.Image | str | Path, reference: Image.Image | str | Path, size: int | None = None
    ) -> Image.Image:
        """``sketch`` coloured after ``reference`` (each a PIL image or an image file), as
        ``maskgen translate apply`` colours it: a colour picture given as the sketch has its XDoG lines
        taken, other sizes are cropped and resized (each said in a log line of the "maskgen" logger).
        ``size``: larger than :attr:`size` enlarges with the shipped upscaler for it.

        >>> t = maskgen.load_translator()
        >>> t.colour("sketch.png", "red_mask.png").save("coloured.png")
        """
        from PIL import Image

        from maskgen.translation.apply import apply_pairs, translation_upscaler

        upscaler, _ = translation_upscaler(self.loaded, size)
        with _as_file(sketch, "sketch") as s, _as_file(reference, "reference") as r:
            with tempfile.TemporaryDirectory(prefix="maskgen-colour-") as tmp:
                out = Path(tmp) / "coloured.png"
                apply_pairs(
                    self.loaded, [(s, r, out)], on_note=_log.info, name_files=False, upscaler=upscaler
                )
                with Image.open(out) as image:
                    return image.convert("RGB")

    __call__ = colour


# -- small helpers ------------------------------------------------------------------------------------


class _as_file:
    """A path for an image input: the file itself, or a PIL image written to a temporary PNG."""

    def __init__(self, value: Any, what: str) -> None:
        self.value, self.what = value, what
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Path:
        from PIL import Image

        from maskgen.errors import MaskgenError

        if isinstance(self.value, Image.Image):
            self._tmp = tempfile.TemporaryDirectory(prefix="maskgen-input-")
            path = Path(self._tmp.name) / f"{self.what}.png"
            self.value.save(path)
            return path
        if isinstance(self.value, (str, Path)):
            path = Path(self.value).expanduser()
            if not path.is_file():
                raise MaskgenError(f"{self.what} not found: {path}")
            return path
        raise MaskgenError(
            f"{self.what} must be a PIL image or an image file, got {type(self.value).__name__}"
        )

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def _read_config(checkpoint: Path) -> dict[str, Any]:
    from maskgen.artifacts.checkpoint import read_checkpoint_json
    from maskgen.artifacts.layout import CONFIG_FILE

    return read_checkpoint_json(checkpoint / CONFIG_FILE)


def _check_truncation(value: Any) -> None:
    import math

    from maskgen.errors import MaskgenError

    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not -1 <= float(value) <= 2:  # the CLI's --truncation range
        raise MaskgenError(f"truncation psi must be in [-1, 2] (1: none, 0.7: typical), got {value!r}")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    from maskgen.errors import MaskgenError

    if value not in choices:
        raise MaskgenError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
