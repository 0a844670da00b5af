"""The translation training loop: any translator plugin, same run-directory conventions as ``maskgen run``.

A run directory holds ``config.json``, ``metrics.jsonl``, ``samples/contact_*.png`` (sketch | reference |
warped reference | output, one row per fixed pair) and ``checkpoints/`` (safetensors, atomic, resumable).
All randomness comes from torch's global RNG, whose state is saved in every checkpoint, so a resumed run
continues exactly like an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgen import __version__
from maskgen.artifacts.checkpoint import load_checkpoint, load_strict, split_weights, write_checkpoint
from maskgen.data.sketch import XDoGParams
from maskgen.devices import pick_device
from maskgen.errors import MaskgenError
from maskgen.images import make_grid, save_png, to_uint8
from maskgen.plugins import get_registry
from maskgen.plugins.factory import parse_options
from maskgen.training.divergence import check_finite_losses, check_finite_weights
from maskgen.training.rundir import MetricsLog, RunLock, new_run_dir
from maskgen.training.tick import TickMeans, crossed
from maskgen.translation.config import TranslateConfig
from maskgen.translation.data import TripletData, load_images, load_sketch_folder, sketches_of
from maskgen.translation.features import perceptual_features
from maskgen.translation.model import TranslationContext, TranslationModel

TICK_KIMG = 0.1  # how often losses are logged to metrics.jsonl
CHECKPOINT_KIND = "translation"


@dataclass
class Progress:
    kimg: float
    total_kimg: float
    seconds_per_step: float
    scalars: dict[str, float] = field(default_factory=dict)


ProgressCallback = Callable[[Progress], None]
MessageCallback = Callable[[str], None]


def xdog_params(config: TranslateConfig) -> XDoGParams:
    try:
        return XDoGParams(**config.xdog)
    except TypeError as exc:
        raise MaskgenError(f"bad xdog options {config.xdog}: {exc}") from None


def build_model(
    translator: str, options: dict[str, Any], context: TranslationContext
) -> tuple[TranslationModel, dict[str, Any], str]:
    """(model on the context's device, the validated options as a dict, 'distribution==version')."""
    registry = get_registry()
    spec = registry.get("translator", translator)
    parsed = parse_options("translator", translator, options, registry)
    try:
        model = spec.factory(parsed, context)
    except ValueError as exc:
        raise MaskgenError(f"cannot build translator {translator!r}: {exc}") from None
    return model.to(context.device), parsed.model_dump(mode="json"), f"{spec.distribution}=={spec.version}"


def check_config(config: TranslateConfig) -> None:
    """Cheap checks of everything a user can get wrong, before any network, feature net or data is loaded."""
    registry = get_registry()
    registry.get("translator", config.translator)
    parse_options("translator", config.translator, config.translator_options, registry)
    xdog_params(config)
    if config.data != "builtin" and not Path(config.data).exists():
        raise MaskgenError(f"dataset folder not found: {config.data}")
    if config.sketches is not None:
        if config.data == "builtin":
            raise MaskgenError("--sketches needs --data FOLDER (the built-in masks make their own sketches)")
        if not Path(config.sketches).is_dir():
            raise MaskgenError(f"sketch folder not found: {config.sketches}")


class TranslationTrainer:
    """The model, its data and the counters of one run."""

    def __init__(self, config: TranslateConfig, run_dir: Path, say: MessageCallback | None = None) -> None:
        self.config, self.run_dir = config, run_dir
        say = say or (lambda _msg: None)
        check_config(config)
        self.device = pick_device(config.device)
        self.features = perceptual_features(config.features, config.feature_weights, self.device, say)
        torch.manual_seed(config.seed)
        context = TranslationContext(config.size, config.batch, self.device, self.features, config.kimg)
        self.model, self.options, self.plugin_version = build_model(
            config.translator, config.translator_options, context
        )
        self.xdog = xdog_params(config)
        # Parts first, data second: a wrong plugin name or option fails before the data is loaded.
        images, categories, self.dataset_name, paths = load_images(
            config.data, config.size, config.dataset_count, config.dataset_seed
        )
        if config.sketches is not None:
            if config.data == "builtin":
                raise MaskgenError(
                    "--sketches needs --data FOLDER (the built-in masks make their own sketches)"
                )
            sketches = load_sketch_folder(Path(config.sketches), paths, Path(config.data), config.size)
        else:
            sketches = sketches_of(images, self.xdog)
        self.data = TripletData(images, sketches, categories, self.device, config.pseudo_prob)
        self.cur_nimg = 0
        self.iteration = 0
        self.wall_seconds = 0.0

    # -- training ------------------------------------------------------------------------------------

    def step(self) -> dict[str, torch.Tensor]:
        self.model.train()
        out = self.model.training_step(self.data.sample(self.config.batch))
        self.cur_nimg += self.config.batch
        self.iteration += 1
        return out

    @torch.no_grad()
    def contact_sheet(self, path: Path) -> None:
        """sketch | reference | warped reference | output for fixed pairs (half of them cross-category)."""
        sketch_idx, ref_idx = self.data.fixed_pairs(self.config.sheet_rows)
        sketch = self.data.sketch(sketch_idx.to(self.device))
        reference = self.data.image(ref_idx.to(self.device))
        translator = self.model.translator
        was_training = translator.training
        translator.eval()
        output, warp = translator.translate_with_warp(sketch, reference)
        translator.train(was_training)
        columns = [sketch.expand(-1, 3, -1, -1) * 2 - 1, reference]
        if warp is not None:
            columns.append(warp)
        columns.append(output)
        save_png(sheet_array(columns), path)

    # -- checkpoints ---------------------------------------------------------------------------------

    def checkpoint_config(self) -> dict[str, Any]:
        return {
            "kind": CHECKPOINT_KIND,
            "translator": self.config.translator,
            "translator_options": self.options,
            "size": self.config.size,
            "features": self.features.describe(),
            "xdog": self.xdog.as_dict(),
            "train": self.config.model_dump(mode="json"),
            "maskgen_version": __version__,
            "plugin": self.plugin_version,
            "dataset": {"name": self.dataset_name, "images": len(self.data)},
            "kimg": self.cur_nimg / 1000,
        }

    def save_checkpoint(self, card: str = "") -> Path:
        check_finite_weights({"T": self.model.translator, "D": self.model.discriminator}, self.cur_nimg)
        weights = {f"T.{k}": v for k, v in self.model.translator.state_dict().items()}
        weights |= {f"D.{k}": v for k, v in self.model.discriminator.state_dict().items()}
        tensors, meta = self._training_state()
        tag = f"snapshot-{self.cur_nimg // 1000:06d}k-{self.cur_nimg % 1000:03d}"
        card = card or (
            f"# maskgen {self.config.translator} translator\n\n{self.config.size} px, trained on "
            f"{self.dataset_name} for {self.cur_nimg / 1000:.3f} kimg; features: {self.features.name}.\n"
            "Use: maskgen translate apply --checkpoint THIS_DIR --sketch S.png --reference R.png "
            "--out O.png\n"
        )
        return write_checkpoint(
            self.run_dir / "checkpoints",
            tag,
            weights,
            self.checkpoint_config(),
            tensors,
            meta,
            card=card,
            keep=self.config.keep_snapshots,
        )

    def _training_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors: dict[str, torch.Tensor] = {"rng/cpu": torch.random.get_rng_state()}
        if self.device.type == "cuda":
            tensors["rng/cuda"] = torch.cuda.get_rng_state(self.device)
        meta: dict[str, Any] = {
            "cur_nimg": self.cur_nimg,
            "iteration": self.iteration,
            "wall_seconds": self.wall_seconds,
        }
        for name, opt in self.model.optimizers.items():
            state = opt.state_dict()
            for index, param_state in state["state"].items():
                for key, value in param_state.items():
                    tensors[f"opt.{name}.{index}.{key}"] = (
                        torch.as_tensor(value).reshape(-1) if key == "step" else value
                    )
            meta[f"opt.{name}"] = state["param_groups"]
        return tensors, meta

    def load(self, path: Path, with_training_state: bool = True) -> None:
        checkpoint = load_checkpoint(path)
        check_checkpoint_kind(checkpoint.config, checkpoint.path, self.config.translator)
        what = f"{self.config.translator} translator ({self.config.size} px)"
        load_strict(self.model.translator, split_weights(checkpoint.weights, "T"), what)
        load_strict(self.model.discriminator, split_weights(checkpoint.weights, "D"), f"{what} discriminator")
        if not with_training_state:
            return
        tensors, meta = checkpoint.training_state()
        torch.random.set_rng_state(tensors["rng/cpu"])
        if "rng/cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng/cuda"], self.device)
        for name, opt in self.model.optimizers.items():
            prefix = f"opt.{name}."
            state: dict[int, dict[str, torch.Tensor]] = {}
            for key, value in tensors.items():
                if key.startswith(prefix):
                    index, field_name = key[len(prefix) :].split(".", 1)
                    state.setdefault(int(index), {})[field_name] = (
                        value.reshape(()) if field_name == "step" else value
                    )
            opt.load_state_dict({"state": state, "param_groups": meta[f"opt.{name}"]})
        self.cur_nimg, self.iteration = int(meta["cur_nimg"]), int(meta["iteration"])
        self.wall_seconds = float(meta.get("wall_seconds", 0.0))


def check_checkpoint_kind(config: dict[str, Any], path: Path, translator: str | None = None) -> None:
    kind = config.get("kind")
    if kind != CHECKPOINT_KIND:
        raise MaskgenError(
            f"{path} is a {kind or 'unknown'} checkpoint, not a translation checkpoint "
            "(train one with: maskgen translate train)"
        )
    if translator is not None and config.get("translator") != translator:
        raise MaskgenError(f"{path} holds a {config.get('translator')!r} translator, not {translator!r}")


# --------------------------------------------------------------------------------------------------
# The whole run
# --------------------------------------------------------------------------------------------------


def train(
    config: TranslateConfig,
    out_root: Path | None = None,
    resume_dir: Path | None = None,
    on_progress: ProgressCallback | None = None,
    on_message: MessageCallback | None = None,
) -> Path:
    """Train a new run under ``out_root`` (or continue ``resume_dir``); returns the run directory."""
    say = on_message or (lambda _msg: None)
    if resume_dir is not None:
        with RunLock(resume_dir):
            trainer = TranslationTrainer(config, resume_dir, say)
            trainer.load(resume_dir / "checkpoints" / "latest")
            say(f"resuming {resume_dir} at kimg {trainer.cur_nimg / 1000:.3f}")
            _write_config(config, resume_dir)
            _run_loop(trainer, on_progress, say)
        return resume_dir
    # Everything that can fail on bad input (plugin, options, data) fails before the run dir exists.
    trainer = TranslationTrainer(config, Path(), say)
    dataset = "builtin" if config.data == "builtin" else Path(config.data).name
    run_dir = new_run_dir(
        out_root or Path("runs"), f"translate-{config.translator}-{dataset}-{config.size}px"
    )
    trainer.run_dir = run_dir
    say(f"run directory: {run_dir}")
    with RunLock(run_dir):
        _write_config(config, run_dir)
        _run_loop(trainer, on_progress, say)
    return run_dir


def _write_config(config: TranslateConfig, run_dir: Path) -> None:
    text = json.dumps(config.model_dump(mode="json"), indent=2, sort_keys=True)
    (run_dir / "config.json").write_text(text, encoding="utf-8")


def _run_loop(
    trainer: TranslationTrainer, on_progress: ProgressCallback | None, say: MessageCallback
) -> None:
    config, run_dir = trainer.config, trainer.run_dir
    log = MetricsLog(run_dir / "metrics.jsonl")
    log.truncate_after(trainer.cur_nimg / 1000)
    samples = run_dir / "samples"
    if trainer.cur_nimg == 0:
        trainer.contact_sheet(samples / "contact_init.png")
    total_nimg = int(math.ceil(config.kimg * 1000))
    snapshot_nimg = max(1, int(config.snapshot_kimg * 1000))
    tick_nimg = max(1, int(TICK_KIMG * 1000))
    losses = TickMeans()
    tick_start, tick_start_iter = time.perf_counter(), trainer.iteration
    seconds_per_step = 0.0
    shown: dict[str, float] = {}  # last tick's averages, shown until the next tick
    try:
        while trainer.cur_nimg < total_nimg:
            before = trainer.cur_nimg
            losses.add(trainer.step())
            done = trainer.cur_nimg >= total_nimg
            elapsed = time.perf_counter() - tick_start
            if done or crossed(before, trainer.cur_nimg, tick_nimg):
                scalars = losses.means()
                check_finite_losses(scalars, trainer.iteration, trainer.cur_nimg)
                seconds_per_step = elapsed / max(1, trainer.iteration - tick_start_iter)
                trainer.wall_seconds += elapsed
                record = {
                    "kimg": trainer.cur_nimg / 1000,
                    "iteration": trainer.iteration,
                    "seconds": round(trainer.wall_seconds, 3),
                    "seconds_per_step": seconds_per_step,
                }
                log.write(record | scalars)
                shown = scalars
                losses.reset()
                tick_start, tick_start_iter = time.perf_counter(), trainer.iteration
            if on_progress is not None:
                on_progress(Progress(trainer.cur_nimg / 1000, config.kimg, seconds_per_step, shown))
            if done or crossed(before, trainer.cur_nimg, snapshot_nimg):
                kimg_tag = f"{trainer.cur_nimg / 1000:08.3f}".replace(".", "_")
                trainer.contact_sheet(samples / f"contact_kimg{kimg_tag}.png")
                trainer.contact_sheet(samples / "contact_latest.png")
                path = trainer.save_checkpoint()
                say(f"kimg {trainer.cur_nimg / 1000:.2f}: contact sheet and checkpoint {path.name} written")
    except KeyboardInterrupt:
        trainer.wall_seconds += time.perf_counter() - tick_start
        path = trainer.save_checkpoint()
        raise MaskgenError(
            f"interrupted at kimg {trainer.cur_nimg / 1000:.3f}; checkpoint {path} written; "
            f"resume with: maskgen translate train --resume {run_dir}"
        ) from None


def sheet_array(columns: list[torch.Tensor]) -> np.ndarray:
    """Columns of [N, 3, H, W] images in [-1, 1] -> one uint8 grid, one row per index."""
    cells = torch.stack(columns, 1).flatten(0, 1)  # row-major: one pair per row
    return make_grid(to_uint8(cells), len(columns))
