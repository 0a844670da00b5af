"""The GAN training loop: G main, G path-length, D main, D R1 and G EMA, with an augmenter in front of D.

The loop never knows which augmenter it runs. All randomness comes from torch's global RNG, whose
state is saved in every checkpoint, so a resumed run continues exactly like an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from maskgen import __version__
from maskgen.artifacts.checkpoint import load_checkpoint, load_strict, split_weights, write_checkpoint
from maskgen.artifacts.hub_pull import pin_reference
from maskgen.artifacts.layout import SAMPLES_FILE
from maskgen.artifacts.modelcard import attach_samples, model_card
from maskgen.config import TrainConfig
from maskgen.data.datasets import load_training_images
from maskgen.devices import pick_device
from maskgen.errors import MaskgenError
from maskgen.images import from_uint8, latents_for_seeds, make_grid, save_grid, save_png, to_uint8
from maskgen.plugins import get_registry
from maskgen.plugins.factory import build_augmenter, build_gan
from maskgen.plugins.interfaces import AugmentContext
from maskgen.plugins.methods import split_stack
from maskgen.training.distributed import (
    SINGLE,
    World,
    any_process,
    average_gradients,
    average_tensor,
    broadcast_module,
    broadcast_text,
    training_device,
)
from maskgen.training.divergence import check_finite_losses, check_finite_weights
from maskgen.training.loss import LossWeights, StyleGAN2Loss
from maskgen.training.rundir import MetricsLog, RunLock, new_run_dir
from maskgen.training.tick import TickMeans, crossed


@dataclass
class Progress:
    """What the loop reports to its caller after every iteration (for progress bars)."""

    kimg: float
    total_kimg: float
    images_per_second: float
    scalars: dict[str, float] = field(default_factory=dict)


ProgressCallback = Callable[[Progress], None]
MessageCallback = Callable[[str], None]


class Trainer:
    """Holds G, D, G_ema, the augmenter, optimizers and counters of one run.

    With several processes (``world``), each computes its share of the global batch and gradients are
    averaged over processes; every process holds identical networks and augmenter state.
    """

    def __init__(self, config: TrainConfig, run_dir: Path, world: World = SINGLE) -> None:
        self.config = config
        self.run_dir = run_dir
        self.world = world
        self.device = training_device(pick_device(config.device), world)
        if config.batch % world.size:
            raise MaskgenError(
                f"batch {config.batch} cannot be split evenly over {world.size} processes; "
                f"use a multiple of {world.size}"
            )
        self.local_batch = config.batch // world.size
        if self.device.type == "cuda":
            # Speed over the last bits of fp32 precision, which GAN training does not need.
            torch.backends.cuda.matmul.allow_tf32 = config.allow_tf32
            torch.backends.cudnn.allow_tf32 = config.allow_tf32
            torch.backends.cudnn.benchmark = True  # the shapes never change within a run
        torch.manual_seed(config.seed)
        # Latents and dataset indices of the GLOBAL batch come from one stream that every process
        # advances identically, and each process takes its slice: the processes together see exactly
        # the batch one process would. Per-sample randomness inside the step (noise inputs,
        # augmentation) comes from torch's global RNG, which differs per process.
        self.shared_rng = torch.Generator(device=self.device)
        self.shared_rng.manual_seed(config.seed)

        registry = get_registry()
        context = AugmentContext(
            resolution=config.resolution,
            batch_size=config.batch,
            total_kimg=config.kimg,
            device=self.device,
            speed_kimg=config.augment_speed_kimg,
        )
        self.augmenter = build_augmenter(config.augment, config.augment_options, context, registry)
        G, D = build_gan(
            config.generator, config.generator_options, config.resolution, self.augmenter.c_dim, registry
        )
        self.G, self.D = G.to(self.device), D.to(self.device)
        broadcast_module(self.G, world)
        broadcast_module(self.D, world)
        if self.device.type == "cpu" and "fused_modconv" not in config.generator_options:
            # Same result; on CPU one shared-weight conv beats the grouped per-sample conv (measured).
            if hasattr(self.G, "fused_modconv"):
                self.G.fused_modconv = False
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.plugin_versions = {
            "generator": _spec_version(registry.get("generator", config.generator)),
            "augment": {
                name: _spec_version(registry.get("augmenter", name)) for name in split_stack(config.augment)
            },
        }

        # Parts first, data second: a wrong plugin name fails before minutes of data loading.
        images, _, self.dataset_name = load_training_images(
            config.data,
            config.resolution,
            seed=config.dataset_seed,
            count=config.dataset_count,
            cache=config.data_cache,
        )
        reals = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
        if config.xflip:
            reals = torch.cat([reals, reals.flip(3)])
        # The whole (small) dataset lives on the device as uint8; batches are drawn by index.
        self.reals_uint8 = reals.to(self.device)

        self.loss = StyleGAN2Loss(
            self.G,
            self.D,
            self.augmenter,
            LossWeights(
                r1_gamma=config.effective_r1_gamma(),
                r1_interval=config.r1_interval,
                pl_weight=config.pl_weight,
                pl_interval=config.pl_interval,
                pl_batch_shrink=config.pl_batch_shrink,
                pl_decay=config.pl_decay,
                style_mixing_prob=config.style_mixing_prob,
            ),
        )
        self.opt_G = self._optimizer(
            self.G, config.lr_g, config.pl_interval if config.pl_weight > 0 else None
        )
        self.opt_D = self._optimizer(self.D, config.lr_d, config.r1_interval)
        self.loss.mean_over_processes = lambda value: average_tensor(value, world)
        self.make_fakes = self.loss.make_fakes_fn(self.G_ema)
        if world.rank > 0:
            torch.manual_seed(_process_seed(config.seed, world.rank, 0))
        self.cur_nimg = 0
        self.iteration = 0
        self.wall_seconds = 0.0
        self.init_source: dict[str, str] | None = None  # repo/revision/commit of an hf:// --init

    def _optimizer(self, module: torch.nn.Module, lr: float, reg_interval: int | None) -> torch.optim.Adam:
        # Lazy regularization: the main and regularization steps share one Adam whose lr and betas are
        # corrected for the fraction of minibatches that also run the regularizer (Karras et al. 2020).
        ratio = reg_interval / (reg_interval + 1) if reg_interval else 1.0
        betas = (self.config.beta1**ratio, self.config.beta2**ratio)
        return torch.optim.Adam(module.parameters(), lr=lr * ratio, betas=betas, eps=1e-8)

    # -- one iteration -------------------------------------------------------------------------------

    def step(self) -> dict[str, torch.Tensor]:
        """One training iteration; returns its losses (this process's share) as unsynchronized tensors."""
        cfg, world = self.config, self.world
        out: dict[str, torch.Tensor] = {}
        index = self._global_draw(torch.randint(len(self.reals_uint8), (cfg.batch,), **self._shared()))
        reals = self.reals_uint8[index].float() / 127.5 - 1

        self.D.requires_grad_(False)
        self.G.requires_grad_(True)
        self.opt_G.zero_grad(set_to_none=True)
        loss_G = self.loss.generator_main(self._latents())
        loss_G.backward()
        average_gradients(self.G, world)
        self.opt_G.step()
        if world.distributed:  # the w_avg EMA is linear in the batch mean: averaging it is exact
            average_tensor(self.G.w_avg, world)
        out["loss/G"] = loss_G.detach()
        if cfg.pl_weight > 0 and self.iteration % cfg.pl_interval == 0:
            self.opt_G.zero_grad(set_to_none=True)
            penalty = self.loss.generator_path_length(self._latents())
            penalty.backward()
            average_gradients(self.G, world)
            self.opt_G.step()
            out["loss/pl"] = penalty.detach()
        self.G.requires_grad_(False)

        self.D.requires_grad_(True)
        reals = self.augmenter.prepare_reals(reals, self.make_fakes)
        self.opt_D.zero_grad(set_to_none=True)
        loss_D, real_logits = self.loss.discriminator_main(self._latents(), reals)
        loss_D.backward()
        average_gradients(self.D, world)
        self.opt_D.step()
        out["loss/D"] = loss_D.detach()
        out["D/real_sign"] = real_logits.sign().mean()
        if self.iteration % cfg.r1_interval == 0:
            self.opt_D.zero_grad(set_to_none=True)
            penalty = self.loss.discriminator_r1(reals)
            penalty.backward()
            average_gradients(self.D, world)
            self.opt_D.step()
            out["loss/r1"] = penalty.detach()
        self.D.requires_grad_(False)
        self.augmenter.end_step(cfg.batch)

        self.cur_nimg += cfg.batch
        self.iteration += 1
        self._update_ema()
        return out

    def _shared(self) -> dict[str, Any]:
        return {"device": self.device, "generator": self.shared_rng}

    def _global_draw(self, values: torch.Tensor) -> torch.Tensor:
        """This process's slice of a tensor drawn for the whole global batch."""
        start = self.world.rank * self.local_batch
        return values[start : start + self.local_batch]

    def _latents(self) -> torch.Tensor:
        return self._global_draw(torch.randn(self.config.batch, self.G.z_dim, **self._shared()))

    @torch.no_grad()
    def _update_ema(self) -> None:
        ema_nimg = self.config.effective_ema_kimg() * 1000
        if self.config.ema_rampup:
            ema_nimg = min(ema_nimg, self.cur_nimg * self.config.ema_rampup)
        beta = 0.5 ** (self.config.batch / max(ema_nimg, 1e-8))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters(), strict=True):
            p_ema.copy_(p.lerp(p_ema, beta))
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
            b_ema.copy_(b)

    # -- samples and checkpoints ---------------------------------------------------------------------

    @torch.no_grad()
    def sample_grid(self, path: Path) -> None:
        """G_ema at fixed seeds 0..grid^2-1: the same images ``maskgen generate --seeds`` gives."""
        count = self.config.grid_size**2
        z = latents_for_seeds(list(range(count)), self.G.z_dim, self.device)
        images = torch.cat([self.G_ema(chunk, noise_mode="const") for chunk in z.split(16)])
        save_grid(images, path, columns=self.config.grid_size)

    def save_reals_grid(self, path: Path) -> None:
        count = min(self.config.grid_size**2, len(self.reals_uint8))
        save_png(
            make_grid(
                to_uint8(from_uint8(self.reals_uint8[:count].permute(0, 2, 3, 1))), self.config.grid_size
            ),
            path,
        )

    def checkpoint_config(self) -> dict[str, Any]:
        return {
            "kind": "gan",
            "train": self.config.model_dump(mode="json"),
            "maskgen_version": __version__,
            "plugins": self.plugin_versions,
            "dataset": {"name": self.dataset_name, "images": len(self.reals_uint8)},
            "kimg": self.cur_nimg / 1000,
            "d_c_dim": self.augmenter.c_dim,
        } | ({"init_source": self.init_source} if self.init_source else {})

    def save_checkpoint(self, card: str = "") -> Path:
        check_finite_weights({"G": self.G, "D": self.D}, self.cur_nimg)
        weights = {f"G.{k}": v for k, v in self.G.state_dict().items()}
        weights |= {f"D.{k}": v for k, v in self.D.state_dict().items()}
        weights |= {f"G_ema.{k}": v for k, v in self.G_ema.state_dict().items()}
        tensors, meta = self._training_state()
        tag = f"snapshot-{self.cur_nimg // 1000:06d}k-{self.cur_nimg % 1000:03d}"
        config = self.checkpoint_config()
        grid = self.run_dir / "samples" / "fakes_latest.png"
        card = card or model_card(config, sample_image=SAMPLES_FILE if grid.is_file() else None)
        path = write_checkpoint(
            self.run_dir / "checkpoints",
            tag,
            weights,
            config,
            tensors,
            meta,
            card=card,
            keep=self.config.keep_snapshots,
        )
        if grid.is_file():  # the card shows it; the Hub repo gets it with `maskgen push`
            with contextlib.suppress(OSError):  # optional: a checkpoint without it is still complete
                attach_samples(grid, path)
        return path

    def _training_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors: dict[str, torch.Tensor] = {
            "rng/cpu": torch.random.get_rng_state(),
            "rng/shared": self.shared_rng.get_state(),
        }
        if self.device.type == "cuda":
            tensors["rng/cuda"] = torch.cuda.get_rng_state(self.device)
        tensors["loss/pl_mean"] = self.loss.pl_mean.reshape(1)
        tensors |= {f"augmenter.{k}": v for k, v in self.augmenter.state_dict().items()}
        meta: dict[str, Any] = {
            "cur_nimg": self.cur_nimg,
            "iteration": self.iteration,
            "wall_seconds": self.wall_seconds,
        }
        for name, opt in (("opt_G", self.opt_G), ("opt_D", self.opt_D)):
            state = opt.state_dict()
            for index, param_state in state["state"].items():
                for key, value in param_state.items():
                    tensors[f"{name}.{index}.{key}"] = (
                        torch.as_tensor(value).reshape(-1) if key == "step" else value
                    )
            meta[name] = state["param_groups"]
        return tensors, meta

    def load(self, path: str | Path, with_training_state: bool = True) -> None:
        checkpoint = load_checkpoint(path)
        requested = self.config.model_dump(mode="json")
        for prefix, module in (("G", self.G), ("D", self.D), ("G_ema", self.G_ema)):
            load_strict(
                module,
                split_weights(checkpoint.weights, prefix),
                f"{prefix} ({self.config.resolution} px)",
                checkpoint.config,
                requested,
            )
        if not with_training_state:
            return
        tensors, meta = checkpoint.training_state()
        torch.random.set_rng_state(tensors["rng/cpu"])
        if "rng/cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng/cuda"], self.device)
        if "rng/shared" in tensors:
            self.shared_rng.set_state(tensors["rng/shared"])
        self.loss.pl_mean = tensors["loss/pl_mean"].reshape(()).to(self.device)
        load_strict(self.augmenter, split_weights(tensors, "augmenter"), "augmenter")
        for name, opt in (("opt_G", self.opt_G), ("opt_D", self.opt_D)):
            prefix = f"{name}."
            state: dict[int, dict[str, torch.Tensor]] = {}
            for key, value in tensors.items():
                if key.startswith(prefix):
                    index, field_name = key[len(prefix) :].split(".", 1)
                    state.setdefault(int(index), {})[field_name] = (
                        value.reshape(()) if field_name == "step" else value
                    )
            opt.load_state_dict({"state": state, "param_groups": meta[name]})
        self.cur_nimg, self.iteration = int(meta["cur_nimg"]), int(meta["iteration"])
        self.wall_seconds = float(meta.get("wall_seconds", 0.0))
        if self.world.rank > 0:
            # Only rank 0's stream is saved; the others get fresh streams, so a run can resume with
            # any number of processes.
            torch.manual_seed(_process_seed(self.config.seed, self.world.rank, self.iteration))


def _process_seed(seed: int, rank: int, iteration: int) -> int:
    return (seed * 1_000_003 + rank * 7_919 + iteration) % 2**63


def _spec_version(spec: Any) -> str:
    return f"{spec.distribution}=={spec.version}"


# --------------------------------------------------------------------------------------------------
# The whole run
# --------------------------------------------------------------------------------------------------


def train(
    config: TrainConfig,
    out_root: Path | None = None,
    resume_dir: Path | None = None,
    on_progress: ProgressCallback | None = None,
    on_message: MessageCallback | None = None,
    world: World = SINGLE,
) -> Path:
    """Train a new run under ``out_root`` (or continue ``resume_dir``); returns the run directory.

    Under torchrun every process calls this with its ``world``; only rank 0 writes files and reports.
    """
    if not world.is_main:
        on_progress, on_message = None, None
    say = on_message or (lambda _msg: None)
    if resume_dir is not None:
        with _lock_on_main(resume_dir, world):
            trainer = Trainer(config, resume_dir, world)
            trainer.load(resume_dir / "checkpoints" / "latest")
            say(f"resuming {resume_dir} at kimg {trainer.cur_nimg / 1000:.3f}")
            if world.is_main:
                _write_config(config, resume_dir)
            _run_loop(trainer, on_progress, say)
        return resume_dir
    # Everything that can fail on bad input (plugins, options, data) fails before the run dir exists.
    trainer = Trainer(config, Path(), world)
    if config.init:
        # An hf:// init is pinned to the commit it resolved to, in the run config and every checkpoint.
        pinned, trainer.init_source = pin_reference(config.init)
        config = trainer.config = config.model_copy(update={"init": pinned})
        trainer.load(config.init, with_training_state=False)
        say(f"initialized G, D and G_ema from {config.init}")
    dataset = "builtin" if config.data == "builtin" else Path(config.data).name
    run_name = f"{config.augment}-{dataset}-{config.resolution}px"
    made = str(new_run_dir(out_root or Path("runs"), run_name)) if world.is_main else ""
    run_dir = trainer.run_dir = Path(broadcast_text(made, world))
    say(f"run directory: {run_dir}")
    with _lock_on_main(run_dir, world):
        if world.is_main:
            _write_config(config, run_dir)
        _run_loop(trainer, on_progress, say)
    return run_dir


def _lock_on_main(run_dir: Path, world: World) -> contextlib.AbstractContextManager[Any]:
    return RunLock(run_dir) if world.is_main else contextlib.nullcontext()


def _write_config(config: TrainConfig, run_dir: Path) -> None:
    text = json.dumps(config.model_dump(mode="json"), indent=2, sort_keys=True)
    (run_dir / "config.json").write_text(text, encoding="utf-8")


def _run_loop(trainer: Trainer, on_progress: ProgressCallback | None, say: MessageCallback) -> None:
    config, run_dir, world = trainer.config, trainer.run_dir, trainer.world
    main = world.is_main
    log = MetricsLog(run_dir / "metrics.jsonl")
    if main:
        log.truncate_after(trainer.cur_nimg / 1000)
    samples = run_dir / "samples"
    if trainer.cur_nimg == 0 and main:
        trainer.save_reals_grid(samples / "reals.png")
    total_nimg = int(math.ceil(config.kimg * 1000))
    snapshot_nimg = max(1, int(config.snapshot_kimg * 1000))
    tick_nimg = max(1, int(config.tick_kimg * 1000))
    losses = TickMeans()
    latest: dict[str, float] = {}  # tick means of the losses and the augmenter's numbers
    tick_start, tick_start_nimg = time.perf_counter(), trainer.cur_nimg
    images_per_second = 0.0
    try:
        deadline = time.monotonic() + 60 * config.max_minutes if config.max_minutes else math.inf
        while trainer.cur_nimg < total_nimg:
            before = trainer.cur_nimg
            losses.add(trainer.step())
            tick_due = crossed(before, trainer.cur_nimg, tick_nimg)
            snapshot_due = crossed(before, trainer.cur_nimg, snapshot_nimg)
            out_of_time = time.monotonic() >= deadline
            if world.distributed:
                # Every process must stop at the same step; agreeing is a collective, so only at ticks.
                out_of_time = tick_due and any_process(out_of_time, world)
            done = trainer.cur_nimg >= total_nimg or out_of_time
            elapsed = time.perf_counter() - tick_start
            if done or tick_due or snapshot_due:
                averages = losses.means()  # before any checkpoint, so a NaN stops the run first
                check_finite_losses(averages, trainer.iteration, trainer.cur_nimg)
                latest = averages | trainer.augmenter.stats()
            if done or tick_due:
                images_per_second = (trainer.cur_nimg - tick_start_nimg) / max(elapsed, 1e-9)
                trainer.wall_seconds += elapsed
                record = {
                    "kimg": trainer.cur_nimg / 1000,
                    "iteration": trainer.iteration,
                    "seconds": round(trainer.wall_seconds, 3),
                    "images_per_second": images_per_second,
                }
                if main:
                    log.write(record | latest)
                losses.reset()
                tick_start, tick_start_nimg = time.perf_counter(), trainer.cur_nimg
            if on_progress is not None:
                rate = images_per_second or (trainer.cur_nimg - tick_start_nimg) / max(elapsed, 1e-9)
                on_progress(Progress(trainer.cur_nimg / 1000, config.kimg, rate, latest))
            if main and (done or snapshot_due):
                kimg_tag = f"{trainer.cur_nimg / 1000:08.3f}".replace(".", "_")
                _write_samples(trainer, samples, kimg_tag, say)
                path = _save_checkpoint(trainer)
                say(f"kimg {trainer.cur_nimg / 1000:.2f}: samples and checkpoint {path.name} written")
            if done:
                if trainer.cur_nimg < total_nimg:
                    say(
                        f"time budget of {config.max_minutes:g} minutes reached "
                        f"at kimg {trainer.cur_nimg / 1000:.2f}"
                    )
                break
    except KeyboardInterrupt:
        if not main:
            raise MaskgenError("interrupted; rank 0 writes the checkpoint") from None
        trainer.wall_seconds += time.perf_counter() - tick_start
        path = _save_checkpoint(trainer)
        raise MaskgenError(
            f"interrupted at kimg {trainer.cur_nimg / 1000:.3f}; checkpoint {path} written; "
            f"resume with: maskgen run --resume {run_dir}"
        ) from None


def _write_samples(trainer: Trainer, samples: Path, kimg_tag: str, say: MessageCallback) -> None:
    """Sample grids are a convenience: failing to write one warns and training goes on."""
    try:
        trainer.sample_grid(samples / f"fakes_kimg{kimg_tag}.png")
        trainer.sample_grid(samples / "fakes_latest.png")
    except OSError as exc:
        say(f"warning: could not write sample grid to {samples}: {exc.strerror or exc}; training continues")


def _save_checkpoint(trainer: Trainer) -> Path:
    """A checkpoint that cannot be written stops the run; the previous checkpoint is left intact."""
    try:
        return trainer.save_checkpoint()
    except OSError as exc:
        raise MaskgenError(
            f"could not write a checkpoint in {trainer.run_dir / 'checkpoints'}: {exc.strerror or exc}; "
            "the previous checkpoint is intact, resume with: maskgen run --resume "
            f"{trainer.run_dir} once the problem is fixed"
        ) from None
