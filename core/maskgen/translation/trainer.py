"""The translation training loop: any translator plugin, same run-directory conventions as ``maskgen run``.

A run directory holds ``config.json``, ``metrics.jsonl``, ``samples/contact_*.png`` (sketch | reference |
warped reference | output, one row per fixed pair) and ``checkpoints/`` (safetensors, atomic, resumable).
All randomness comes from torch's global RNG, whose state is saved in every checkpoint, so a resumed run
continues exactly like an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgen import __version__
from maskgen.artifacts.base_models import (
    list_base_translators,
    read_base_config,
    weight_shapes,
)
from maskgen.artifacts.checkpoint import load_checkpoint, load_strict, split_weights
from maskgen.data.sketch import XDoGParams
from maskgen.devices import pick_device
from maskgen.errors import MaskgenError
from maskgen.images import make_grid, save_png, to_uint8
from maskgen.plugins import get_registry
from maskgen.plugins.factory import parse_options
from maskgen.training import scaffold
from maskgen.training.divergence import check_finite_weights
from maskgen.training.rundir import MetricsLog
from maskgen.training.scaffold import MessageCallback, RunCounters
from maskgen.translation.config import TranslateConfig
from maskgen.translation.data import TripletData, is_builtin, load_images, load_sketch_folder, sketches_of
from maskgen.translation.features import perceptual_features
from maskgen.translation.model import TranslationContext, TranslationModel

TICK_KIMG = 0.1  # how often losses are logged to metrics.jsonl
CHECKPOINT_KIND = "translation"
NETWORK_PREFIXES = ("T.", "D.")  # what a translation checkpoint and a base translator hold
RESUME_COMMAND = "maskgen translate train --resume"


Progress = scaffold.StepProgress
ProgressCallback = Callable[[Progress], None]


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
    if not is_builtin(config.data) and not Path(config.data).exists():
        raise MaskgenError(f"dataset folder not found: {config.data}")
    if config.sketches is not None:
        if is_builtin(config.data):
            raise MaskgenError("--sketches needs --data FOLDER (the built-in masks make their own sketches)")
        if not Path(config.sketches).is_dir():
            raise MaskgenError(f"sketch folder not found: {config.sketches}")


class TranslationTrainer(RunCounters):
    """The model, its data and the counters of one run."""

    def __init__(self, config: TranslateConfig, run_dir: Path, say: MessageCallback | None = None) -> None:
        self.config, self.run_dir = config, run_dir
        say = say or scaffold.silent
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
            if is_builtin(config.data):
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
        self.init_source: dict[str, str] | None = None  # repo/revision/commit of an hf:// --init
        self.lineage: list[dict[str, Any]] = []  # the runs the --init weights came through

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
        } | scaffold.provenance(self)

    def save_checkpoint(self, card: str = "") -> Path:
        networks = {"T": self.model.translator, "D": self.model.discriminator}
        check_finite_weights(networks, self.cur_nimg)
        return scaffold.write_snapshot(
            self.run_dir,
            self.cur_nimg,
            networks,
            self.checkpoint_config(),
            self._training_state(),
            keep=self.config.keep_snapshots,
            card=card,
            samples=self.run_dir / "samples" / "contact_latest.png",
        )

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {f"opt.{name}": opt for name, opt in self.model.optimizers.items()}

    def _training_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        optimizer_tensors, optimizer_meta = scaffold.optimizer_state(self._optimizers())
        return scaffold.rng_state(self.device) | optimizer_tensors, self.counters() | optimizer_meta

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """``T.*`` and ``D.*`` names and shapes of this run's model, as a checkpoint stores them."""
        networks = (("T", self.model.translator), ("D", self.model.discriminator))
        return {
            f"{prefix}.{key}": tuple(value.shape)
            for prefix, module in networks
            for key, value in module.state_dict().items()
        }

    def matching_base_translator(self) -> Path | None:
        """The shipped base translator this run can start from: same translator, same size, and the
        same weight names and shapes (read from the safetensors header, no tensor loaded)."""
        wanted = self.weight_shapes()
        for directory in list_base_translators():
            config = read_base_config(directory) or {}
            if config.get("translator") != self.config.translator or config.get("size") != self.config.size:
                continue
            if weight_shapes(directory, NETWORK_PREFIXES) == wanted:  # both weight files
                return directory
        return None

    def load(self, path: str | Path, with_training_state: bool = True) -> dict[str, Any]:
        """Load the weights (and with ``with_training_state`` everything a resume needs); returns the
        checkpoint's config."""
        checkpoint = load_checkpoint(path)
        check_checkpoint_kind(checkpoint.config, checkpoint.path, self.config.translator)
        what = f"{self.config.translator} translator ({self.config.size} px)"
        # Given both configs, a mismatch is said as what differs ("checkpoint is 32 px, config asks ...").
        requested = self.config.model_dump(mode="json")
        for prefix, module, label in (
            ("T", self.model.translator, what),
            ("D", self.model.discriminator, f"{what} discriminator"),
        ):
            load_strict(
                module, split_weights(checkpoint.weights, prefix), label, checkpoint.config, requested
            )
        if not with_training_state:
            return checkpoint.config
        scaffold.restore_provenance(self, checkpoint.config)
        tensors, meta = checkpoint.training_state()
        scaffold.restore_rng(tensors, self.device)
        scaffold.restore_optimizers(self._optimizers(), tensors, meta)
        self.restore_counters(meta)
        return checkpoint.config


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
    say = on_message or scaffold.silent

    def initialize(trainer: TranslationTrainer) -> None:
        scaffold.initialize_weights(
            trainer, trainer.matching_base_translator, "base translator", "T and D", say
        )

    dataset = config.data.strip().lower() if is_builtin(config.data) else Path(config.data).name
    return scaffold.start_or_resume(
        lambda run_dir: TranslationTrainer(config, run_dir, say),
        lambda trainer: _run_loop(trainer, on_progress, say),
        run_name=f"translate-{config.translator}-{dataset}-{config.size}px",
        out_root=out_root,
        resume_dir=resume_dir,
        say=say,
        prepare=initialize,
    )


def _run_loop(
    trainer: TranslationTrainer, on_progress: ProgressCallback | None, say: MessageCallback
) -> None:
    config, run_dir = trainer.config, trainer.run_dir
    log = MetricsLog(run_dir / "metrics.jsonl")
    log.truncate_after(trainer.cur_nimg / 1000)
    samples = run_dir / "samples"
    if trainer.cur_nimg == 0:
        trainer.contact_sheet(samples / "contact_init.png")
    scaffold.run_steps(
        trainer,
        total_kimg=config.kimg,
        tick_kimg=TICK_KIMG,
        snapshot_kimg=config.snapshot_kimg,
        log=log,
        checkpoint=scaffold.Checkpointer(trainer.save_checkpoint, run_dir, RESUME_COMMAND),
        contact_sheets=lambda: _contact_sheets(trainer, samples),
        samples=samples,
        on_progress=on_progress,
        say=say,
    )


def _contact_sheets(trainer: TranslationTrainer, samples: Path) -> None:
    trainer.contact_sheet(samples / f"contact_kimg{scaffold.sample_tag(trainer.cur_nimg)}.png")
    trainer.contact_sheet(samples / "contact_latest.png")


def sheet_array(columns: list[torch.Tensor]) -> np.ndarray:
    """Columns of [N, 3, H, W] images in [-1, 1] -> one uint8 grid, one row per index."""
    cells = torch.stack(columns, 1).flatten(0, 1)  # row-major: one pair per row
    return make_grid(to_uint8(cells), len(columns))
