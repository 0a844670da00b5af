"""The upscaler's training run: new, fine-tuned from a base upscaler, or resumed exactly after a kill.

Each step draws random crops of the large masks, spoils their small versions (``data.degrade``) and
trains the upscaler to give back the clean crop: L1 on pixels, and after a warm-up an adversarial loss
from a patch discriminator that sees the enlarged input beside the image (ESRGAN's recipe without its
VGG loss, whose ImageNet weights maskgen does not assume). Inference uses an exponential moving average
of the weights (``U_ema``). A run directory is laid out like a GAN run's: ``config.json``,
``metrics.jsonl``, ``samples/contact_*.png`` (small input | bilinear | upscaled | real) and
``checkpoints/``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from maskgen import __version__
from maskgen.artifacts.checkpoint import load_checkpoint, load_strict, split_weights
from maskgen.artifacts.upscaler import UPSCALER, build_upscaler, check_upscaler_config, matching_base_upscaler
from maskgen.data.degrade import Degradation, shrink
from maskgen.devices import pick_device
from maskgen.errors import MaskgenError
from maskgen.images import make_grid, save_png, to_uint8
from maskgen.networks.upscaler import PatchDiscriminator
from maskgen.plugins import get_registry
from maskgen.training import scaffold
from maskgen.training.divergence import check_finite_weights
from maskgen.training.rundir import MetricsLog
from maskgen.training.scaffold import MessageCallback, RunCounters
from maskgen.upscaling.config import UpscaleConfig, is_builtin
from maskgen.upscaling.data import PairSampler, load_large_masks

TICK_KIMG = 0.2
RESUME_COMMAND = "maskgen upscale train --resume"
SHEET_ROWS = 4


Progress = scaffold.StepProgress
ProgressCallback = Callable[[Progress], None]


def check_config(config: UpscaleConfig) -> dict[str, Any]:
    """Plugin name, options and degradation checked before any data is rendered; the options as a dict."""
    registry = get_registry()
    spec = registry.get("upscaler", config.upscaler)
    try:
        Degradation(**config.degradation)
    except TypeError as exc:
        raise MaskgenError(f"bad degradation options {config.degradation}: {exc}") from None
    try:
        return spec.options.model_validate(config.upscaler_options).model_dump(mode="json")
    except ValueError as exc:
        raise MaskgenError(f"bad options for upscaler {config.upscaler!r}: {exc}") from None


class UpscaleTrainer(RunCounters):
    """The upscaler, its discriminator, their optimizers and the data of one run."""

    def __init__(
        self,
        config: UpscaleConfig,
        run_dir: Path,
        say: MessageCallback | None = None,
        images: np.ndarray | None = None,
        dataset_name: str | None = None,
    ) -> None:
        self.config, self.run_dir = config, run_dir
        say = say or scaffold.silent
        self.options = check_config(config)
        if images is None and not is_builtin(config.data) and not Path(config.data).exists():
            raise MaskgenError(f"dataset folder not found: {config.data}")
        self.device = pick_device(config.device)
        torch.manual_seed(config.seed)
        self.upscaler = build_upscaler(config.upscaler, self.options, config.scale).to(self.device)
        self.upscaler_ema = copy.deepcopy(self.upscaler).eval().requires_grad_(False)
        self.discriminator = PatchDiscriminator().to(self.device)
        self.opt_u = torch.optim.Adam(self.upscaler.parameters(), lr=config.lr, betas=(0.9, 0.99))
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=config.lr, betas=(0.9, 0.99))
        if images is None:  # said nothing before: a failure after this is the run's one line
            images, dataset_name = load_large_masks(config)
        self.dataset_name = dataset_name or "images"
        self.data = PairSampler(images, config, self.device)
        self.cur_nimg = 0
        self.iteration = 0
        self.wall_seconds = 0.0
        self.adversarial_from_nimg = int(config.adversarial_start_kimg * 1000)
        self.init_source: dict[str, str] | None = None
        self.lineage: list[dict[str, Any]] = []

    # -- training ------------------------------------------------------------------------------------

    def step(self) -> dict[str, torch.Tensor]:
        config = self.config
        small, large = self.data.sample(config.batch)
        adversarial = config.adversarial_weight > 0 and self.cur_nimg >= self.adversarial_from_nimg
        self.upscaler.train()
        out = self.upscaler(small)
        l1 = F.l1_loss(out, large)
        loss = l1
        scalars = {"loss/l1": l1.detach()}
        if adversarial:
            self.discriminator.requires_grad_(False)
            g_adv = F.softplus(-self.discriminator(out, small)).mean()
            loss = loss + config.adversarial_weight * g_adv
            scalars["loss/u_adv"] = g_adv.detach()
        self.opt_u.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_u.step()
        if adversarial:
            self.discriminator.requires_grad_(True)
            real = self.discriminator(large, small)
            fake = self.discriminator(out.detach(), small)
            d_loss = F.softplus(-real).mean() + F.softplus(fake).mean()
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            scalars["loss/d"] = d_loss.detach()
        self._update_ema()
        self.cur_nimg += config.batch
        self.iteration += 1
        return scalars

    @torch.no_grad()
    def _update_ema(self) -> None:
        beta = 0.5 ** (self.config.batch / max(self.config.ema_kimg * 1000, 1e-8))
        for averaged, current in zip(self.upscaler_ema.parameters(), self.upscaler.parameters(), strict=True):
            averaged.lerp_(current, 1 - beta)
        for averaged, current in zip(self.upscaler_ema.buffers(), self.upscaler.buffers(), strict=True):
            averaged.copy_(current)

    @torch.no_grad()
    def contact_sheet(self, path: Path) -> None:
        """small input (enlarged by nearest neighbour) | bilinear | upscaled | real, one mask per row."""
        large = self.data.fixed(SHEET_ROWS)
        small = shrink(large, self.config.scale, "area")
        scale = self.config.scale
        nearest = F.interpolate(small, scale_factor=scale, mode="nearest")
        bilinear = F.interpolate(small, scale_factor=scale, mode="bilinear", align_corners=False)
        upscaled = self.upscaler_ema(small).clamp(-1, 1)
        cells = torch.stack([nearest, bilinear, upscaled, large], 1).flatten(0, 1)
        save_png(make_grid(to_uint8(cells), 4), path)

    # -- checkpoints ---------------------------------------------------------------------------------

    def checkpoint_config(self) -> dict[str, Any]:
        spec = get_registry().get("upscaler", self.config.upscaler)
        return {
            "kind": UPSCALER,
            "upscaler": self.config.upscaler,
            "upscaler_options": self.options,
            "scale": self.config.scale,
            "size": self.config.size,
            "small_size": self.config.small_size,
            "degradation": Degradation(**self.config.degradation).as_dict(),
            "train": self.config.model_dump(mode="json"),
            "maskgen_version": __version__,
            "plugin": f"{spec.distribution}=={spec.version}",
            "dataset": {"name": self.dataset_name, "images": len(self.data)},
            "kimg": self.cur_nimg / 1000,
        } | scaffold.provenance(self)

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"U_ema": self.upscaler_ema, "U": self.upscaler, "D": self.discriminator}

    def save_checkpoint(self, card: str = "") -> Path:
        check_finite_weights(self.networks(), self.cur_nimg)
        return scaffold.write_snapshot(
            self.run_dir,
            self.cur_nimg,
            self.networks(),
            self.checkpoint_config(),
            self._training_state(),
            keep=self.config.keep_snapshots,
            card=card,  # empty: the scaffold writes artifacts.modelcard's upscaler card
            samples=self.run_dir / "samples" / "contact_latest.png",
        )

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt.U": self.opt_u, "opt.D": self.opt_d}

    def _training_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors, meta = scaffold.optimizer_state(self._optimizers())
        streams = {"pairs": self.data.generator}
        meta = meta | {"adversarial_from_nimg": self.adversarial_from_nimg}
        return scaffold.rng_state(self.device, streams) | tensors, self.counters() | meta

    def matching_base_upscaler(self) -> Path | None:
        config = self.config
        return matching_base_upscaler(config.upscaler, self.options, config.scale, config.size)

    def load(self, path: str | Path, with_training_state: bool = True) -> dict[str, Any]:
        """The weights (all three networks where the checkpoint has them; a base upscaler's inference
        weights start U and U_ema alike), and with ``with_training_state`` everything a resume needs."""
        checkpoint = load_checkpoint(path)
        check_upscaler_config(checkpoint.config, checkpoint.path)
        saved = checkpoint.config
        if (saved.get("upscaler"), saved.get("scale")) != (self.config.upscaler, self.config.scale):
            raise MaskgenError(
                f"{checkpoint.path} is a {saved.get('scale')}x {saved.get('upscaler')!r} upscaler; this run "
                f"trains a {self.config.scale}x {self.config.upscaler!r} one"
            )
        what = f"upscaler {self.config.upscaler!r} ({self.config.scale}x)"
        ema = split_weights(checkpoint.weights, "U_ema")
        load_strict(self.upscaler_ema, ema, what, {"upscaler_options": saved.get("upscaler_options")},
                    {"upscaler_options": self.options})  # fmt: skip
        raw = split_weights(checkpoint.weights, "U")
        load_strict(self.upscaler, raw or ema, what)
        discriminator = split_weights(checkpoint.weights, "D")
        if discriminator:
            load_strict(self.discriminator, discriminator, "upscaler discriminator")
        if not with_training_state:
            # Fine-tuning: the adversarial loss from the first step (the upscaler is already worth judging).
            self.adversarial_from_nimg = 0
            return saved
        scaffold.restore_provenance(self, saved)
        tensors, meta = checkpoint.training_state()
        scaffold.restore_rng(tensors, self.device, {"pairs": self.data.generator})
        scaffold.restore_optimizers(self._optimizers(), tensors, meta)
        self.restore_counters(meta)
        self.adversarial_from_nimg = int(meta.get("adversarial_from_nimg", self.adversarial_from_nimg))
        return saved


# --------------------------------------------------------------------------------------------------
# The whole run
# --------------------------------------------------------------------------------------------------


def train(
    config: UpscaleConfig,
    out_root: Path | None = None,
    resume_dir: Path | None = None,
    on_progress: ProgressCallback | None = None,
    on_message: MessageCallback | None = None,
    images: np.ndarray | None = None,
    dataset_name: str | None = None,
    run_dir: Path | None = None,
) -> Path:
    """Train a new run under ``out_root`` (or continue ``resume_dir``); returns the run directory.

    ``images`` (uint8 [N, size, size, 3]) replaces loading ``config.data``: the GAN run hands over the
    large masks it already read. ``run_dir`` names the new run's directory instead of numbering one.
    """
    say = on_message or scaffold.silent

    def initialize(trainer: UpscaleTrainer) -> None:
        scaffold.initialize_weights(trainer, trainer.matching_base_upscaler, "base upscaler", "U and D", say)

    def build(directory: Path) -> UpscaleTrainer:
        return UpscaleTrainer(config, directory, say, images, dataset_name)

    def run(trainer: UpscaleTrainer) -> None:
        _run_loop(trainer, on_progress, say)

    if run_dir is not None and resume_dir is None:
        trainer = build(run_dir)
        initialize(trainer)
        run_dir.mkdir(parents=True, exist_ok=True)
        from maskgen.training.rundir import write_run_config

        write_run_config(trainer.config, run_dir)
        run(trainer)
        return run_dir
    dataset = config.data.strip().lower() if is_builtin(config.data) else Path(config.data).name
    return scaffold.start_or_resume(
        build,
        run,
        run_name=f"upscale-{config.upscaler}-{dataset}-{config.size}px",
        out_root=out_root,
        resume_dir=resume_dir,
        say=say,
        prepare=initialize,
    )


def _run_loop(trainer: UpscaleTrainer, on_progress: ProgressCallback | None, say: MessageCallback) -> None:
    config, run_dir = trainer.config, trainer.run_dir
    log = MetricsLog(run_dir / "metrics.jsonl")
    log.truncate_after(trainer.cur_nimg / 1000)
    samples = run_dir / "samples"
    if trainer.cur_nimg == 0:
        scaffold.write_samples(lambda: trainer.contact_sheet(samples / "contact_init.png"), samples, say)
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
        what="upscaler kimg",
        budget_seconds=config.max_minutes * 60 if config.max_minutes is not None else float("inf"),
    )


def _contact_sheets(trainer: UpscaleTrainer, samples: Path) -> None:
    trainer.contact_sheet(samples / f"contact_kimg{scaffold.sample_tag(trainer.cur_nimg)}.png")
    trainer.contact_sheet(samples / "contact_latest.png")
