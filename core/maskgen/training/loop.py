"""The GAN training loop: G main, G path-length, D main, D R1 and G EMA, with an augmenter in front of D.

The loop never knows which augmenter it runs. All randomness comes from torch's global RNG, whose
state is saved in every checkpoint, so a resumed run continues exactly like an uninterrupted one.
"""

from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgen import __version__
from maskgen.artifacts.base_models import SCRATCH, architecture, base_model_resolutions, matching_base_model
from maskgen.artifacts.checkpoint import load_checkpoint, load_strict, split_weights
from maskgen.artifacts.generator import generate_images
from maskgen.augment import build_augmenter
from maskgen.config import FINE_TUNING_OPTIONS, TrainConfig, describe_options, validate_config
from maskgen.data.datasets import is_builtin_set
from maskgen.data.prepare import PreparedData, prepare_training_data
from maskgen.devices import pick_device
from maskgen.errors import MaskgenError
from maskgen.images import from_uint8, make_grid, save_png, to_uint8
from maskgen.networks.projected import discriminator_state
from maskgen.networks.widen import widen_state
from maskgen.plugins import get_registry
from maskgen.plugins.factory import build_gan, parse_options
from maskgen.plugins.interfaces import AugmentContext
from maskgen.plugins.methods import parse_stack, split_stack
from maskgen.training import scaffold, snapshot_metrics
from maskgen.training.correspondence import CORRESPONDENCE_BATCH, CrossDomainCorrespondence, synthesis_blocks
from maskgen.training.distributed import (
    SINGLE,
    World,
    any_process,
    average_gradients,
    average_tensor,
    broadcast_module,
    training_device,
)
from maskgen.training.divergence import check_finite_losses, check_finite_weights
from maskgen.training.loss import LossWeights, StyleGAN2Loss
from maskgen.training.scaffold import MessageCallback, RunCounters
from maskgen.training.snapshot_metrics import check_metrics
from maskgen.training.tick import TickMeans, crossed
from maskgen.training.watch import Watch

RESUME_COMMAND = "maskgen run --resume"


@dataclass
class Progress:
    """What the loop reports to its caller after every iteration (for progress bars)."""

    kimg: float
    total_kimg: float
    images_per_second: float
    scalars: dict[str, float] = field(default_factory=dict)


ProgressCallback = Callable[[Progress], None]


class Trainer(RunCounters):
    """Holds G, D, G_ema, the augmenter, optimizers and counters of one run, and runs its steps.

    It trains on prepared data (:func:`prepare_run`: the images loaded, checked and mirrored, the
    decisions the data takes recorded in ``data.config``, which is the trainer's config). With several
    processes (``world``), each computes its share of the global batch and gradients are averaged over
    processes; every process holds identical networks and augmenter state.
    """

    def __init__(
        self,
        config: TrainConfig,
        run_dir: Path,
        world: World = SINGLE,
        data: PreparedData | None = None,
    ) -> None:
        if data is None:  # a caller that did not prepare the data: the same preparation as a run's
            data = prepare_run(config, world=world, new_run=False)
        elif data.config != config:
            raise ValueError("Trainer(config, data=...): config must be data.config (the data's decisions)")
        config = data.config
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
        # Class-conditional (--cond): G takes the one-hot class, D [class one-hot | augmenter's c].
        self.class_names: list[str] = list(data.class_names)
        self.dataset_name = data.name
        G, D = build_gan(
            config.generator,
            config.generator_options,
            config.resolution,
            self.d_c_dim,
            registry,
            c_dim=self.c_dim,
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

        # The whole (small) dataset lives on the device as uint8; batches are drawn by index.
        self.reals_uint8 = torch.from_numpy(data.images).permute(0, 3, 1, 2).contiguous().to(self.device)
        # Class indices aligned with reals_uint8 (conditional runs only): the reals' classes are drawn
        # with them (same index), the fakes' from the same list, i.e. the data's label distribution.
        self.labels: torch.Tensor | None = None
        if data.labels is not None:
            self.labels = torch.from_numpy(data.labels).to(self.device)

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
                mode_seeking_weight=config.mode_seeking_weight,
            ),
        )
        self._build_optimizers()
        self.loss.mean_over_processes = lambda value: average_tensor(value, world)
        # Fakes for augmenters that show D generated images as reals (APA); without ``c`` a
        # class-conditional run draws their classes from the data's frequencies. A step hands the
        # augmenter the make_fakes of its minibatch (:meth:`fakes_replacing`).
        self.make_fakes = self.loss.make_fakes_fn(self.G_ema, self._data_classes if config.cond else None)
        if world.rank > 0:
            torch.manual_seed(_process_seed(config.seed, world.rank, 0))
        self.cur_nimg = 0
        self.iteration = 0
        self.wall_seconds = 0.0
        self.init_source: dict[str, str] | None = None  # repo/revision/commit of an hf:// --init
        # cdc_weight > 0: the frozen starting generator whose sample-to-sample similarities the
        # fine-tuned G keeps (set once the starting weights are known: start_correspondence / load).
        self.correspondence: CrossDomainCorrespondence | None = None
        self.lineage: list[dict[str, Any]] = []  # the runs the --init weights came through
        self.started_parts = "G, D and G_ema"  # what --init loaded, for the run's first line
        # How the --init weights say they fine-tune best (a shipped base model's ``fine_tuning``).
        self.start_recipe: dict[str, Any] = {}

    def _build_optimizers(self) -> None:
        # Fine-tuning may keep parts of G and D fixed: their optimizers leave them out, and the step
        # never asks autograd for their gradients.
        config = self.config
        self.frozen_G = frozen_generator_parameters(self.G, config.freeze_g, to_rgb=config.freeze_g_to_rgb)
        self.frozen_D = frozen_discriminator_parameters(self.D, config.freeze_d)
        self.opt_G = self._optimizer(
            self.G, config.lr_g, config.pl_interval if config.pl_weight > 0 else None, exclude=self.frozen_G
        )
        self.opt_D = self._optimizer(self.D, config.lr_d, config.r1_interval, exclude=self.frozen_D)

    def adopt_start_recipe(self) -> dict[str, Any]:
        """A new run takes the fine-tuning options its starting model recommends (a shipped base model's
        ``fine_tuning``, the recipe measured when it was shipped) wherever its own config left them
        unset; fresh optimizers follow. Returns the options taken."""
        given = self.config.model_fields_set
        taken = {k: v for k, v in self.start_recipe.items() if k in FINE_TUNING_OPTIONS and k not in given}
        self._reconfigure(taken)
        return taken

    def _reconfigure(self, options: dict[str, Any]) -> None:
        """The config with ``options`` changed (checked as any config is), and optimizers to match."""
        if options:
            self.config = validate_config(self.config.model_dump() | options)
            self._build_optimizers()

    def _keep_recorded_fine_tuning(self, path: str | Path, recorded: dict[str, Any]) -> None:
        """A resumed run fine-tunes as it did: what it kept fixed shapes its optimizers' saved state.
        Options the caller left unset take the run's recorded values (a recipe it took from its base
        model); one set otherwise is refused in one line."""
        differ = {
            k: recorded[k]
            for k in FINE_TUNING_OPTIONS
            if k in recorded and recorded[k] != getattr(self.config, k)
        }
        for key, value in differ.items():
            if key in self.config.model_fields_set:
                raise MaskgenError(
                    f"{path} was trained with {describe_options({key: value})}; resume it with that"
                )
        self._reconfigure(differ)

    def _optimizer(
        self,
        module: torch.nn.Module,
        lr: float,
        reg_interval: int | None,
        exclude: frozenset[int] = frozenset(),
    ) -> torch.optim.Adam:
        # Lazy regularization: the main and regularization steps share one Adam whose lr and betas are
        # corrected for the fraction of minibatches that also run the regularizer (Karras et al. 2020).
        ratio = reg_interval / (reg_interval + 1) if reg_interval else 1.0
        betas = (self.config.beta1**ratio, self.config.beta2**ratio)
        params = [p for p in module.parameters() if id(p) not in exclude]
        return torch.optim.Adam(params, lr=lr * ratio, betas=betas, eps=1e-8)

    # -- classes (class-conditional runs) ------------------------------------------------------------

    @property
    def c_dim(self) -> int:
        """Length of G's class one-hot: 7 (the colour characters) with --cond, else 0."""
        return len(self.class_names)

    @property
    def d_c_dim(self) -> int:
        """Length of D's conditioning: the class one-hot followed by the augmenter's c."""
        return self.c_dim + self.augmenter.c_dim

    def one_hot(self, classes: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.one_hot(classes, self.c_dim).float()

    def _fake_classes(self) -> torch.Tensor | None:
        """Classes for a minibatch of fakes: labels of random training images (the data's class
        frequencies), from the shared stream like the latents; None in unconditional runs."""
        if self.labels is None:
            return None
        index = torch.randint(len(self.labels), (self.config.batch,), **self._shared())
        return self.one_hot(self.labels[self._global_draw(index)])

    def _data_classes(self, count: int, _rows: torch.Tensor | None = None) -> torch.Tensor:
        """Classes of ``count`` fakes that follow no minibatch: the data's class frequencies (this
        process's RNG)."""
        assert self.labels is not None
        return self.one_hot(self.labels[torch.randint(len(self.labels), (count,), device=self.device)])

    def fakes_replacing(self, real_c: torch.Tensor | None) -> Callable[..., torch.Tensor]:
        """The ``make_fakes`` a step hands its augmenter, for a minibatch of reals whose classes are
        ``real_c`` (one-hot; None in unconditional runs): fakes that stand in for reals (APA's pseudo
        reals, ``rows`` saying which) get those reals' classes, so D is told "a real of class y"."""
        if real_c is None:
            return self.make_fakes

        def make_fakes(count: int, use_ema: bool = False, rows: torch.Tensor | None = None) -> torch.Tensor:
            if rows is not None:
                c = real_c[rows]
            elif count == len(real_c):
                c = real_c
            else:  # no minibatch to follow: the data's class frequencies
                c = self._data_classes(count)
            if len(c) != count:
                raise ValueError(f"make_fakes({count}) was given rows selecting {len(c)} images")
            return self.make_fakes(count, use_ema, c=c)

        return make_fakes

    # -- one iteration -------------------------------------------------------------------------------

    def step(self) -> dict[str, torch.Tensor]:
        """One training iteration; returns its losses (this process's share) as unsynchronized tensors."""
        cfg, world = self.config, self.world
        out: dict[str, torch.Tensor] = {}
        index = self._global_draw(torch.randint(len(self.reals_uint8), (cfg.batch,), **self._shared()))
        reals = self.reals_uint8[index].float() / 127.5 - 1
        real_c = None if self.labels is None else self.one_hot(self.labels[index])

        self.D.requires_grad_(False)
        _learn(self.G, self.frozen_G)
        self.opt_G.zero_grad(set_to_none=True)
        loss_G = self.loss.generator_main(self._latents(), self._fake_classes())
        if self.loss.mode_seeking is not None:
            out["loss/ms"] = self.loss.mode_seeking
        if self.correspondence is not None:
            term = self.correspondence.loss(self.G, *self._correspondence_inputs())
            loss_G = loss_G + term
            out["loss/cdc"] = term.detach()
        loss_G.backward()
        average_gradients(self.G, world)
        self.opt_G.step()
        if world.distributed:  # the w_avg EMA is linear in the batch mean: averaging it is exact
            average_tensor(self.G.w_avg, world)
        out["loss/G"] = loss_G.detach()
        if cfg.pl_weight > 0 and self.iteration % cfg.pl_interval == 0:
            self.opt_G.zero_grad(set_to_none=True)
            penalty = self.loss.generator_path_length(self._latents(), self._fake_classes())
            penalty.backward()
            average_gradients(self.G, world)
            self.opt_G.step()
            out["loss/pl"] = penalty.detach()
        self.G.requires_grad_(False)

        _learn(self.D, self.frozen_D)
        reals = self.augmenter.prepare_reals(reals, self.fakes_replacing(real_c))
        self.opt_D.zero_grad(set_to_none=True)
        loss_D, real_logits = self.loss.discriminator_main(
            self._latents(), reals, self._fake_classes(), real_c
        )
        loss_D.backward()
        average_gradients(self.D, world)
        self.opt_D.step()
        out["loss/D"] = loss_D.detach()
        out["D/real_sign"] = real_logits.sign().mean()
        if self.iteration % cfg.r1_interval == 0:
            self.opt_D.zero_grad(set_to_none=True)
            penalty = self.loss.discriminator_r1(reals, real_c)
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

    def _correspondence_inputs(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Latents (and classes) of the correspondence term: this process's own small batch."""
        z = torch.randn(CORRESPONDENCE_BATCH, self.G.z_dim, device=self.device)
        return z, (self._data_classes(CORRESPONDENCE_BATCH) if self.labels is not None else None)

    def start_correspondence(self) -> None:
        """A new run with cdc_weight > 0: its starting G_ema becomes the frozen source."""
        if self.config.cdc_weight <= 0:
            return
        if self.config.init == SCRATCH:
            raise MaskgenError(
                "cdc_weight keeps the variety of the model a run starts from; this run starts from "
                "scratch (give --init or use cdc_weight: 0)"
            )
        self.correspondence = CrossDomainCorrespondence(self.G_ema, self.config.cdc_weight)

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
    def sample_grid(self) -> np.ndarray:
        """G_ema at fixed seeds 0..grid^2-1 as one uint8 image: the same masks ``maskgen generate
        --seeds`` gives (a class-conditional G draws seed s as class s mod 7, as generate does without
        --class)."""
        seeds = list(range(self.config.grid_size**2))
        images = generate_images(self.G_ema, seeds, noise_mode="const")
        return make_grid(to_uint8(images), self.config.grid_size)

    def reals_grid(self) -> np.ndarray:
        count = min(self.config.grid_size**2, len(self.reals_uint8))
        return make_grid(
            to_uint8(from_uint8(self.reals_uint8[:count].permute(0, 2, 3, 1))), self.config.grid_size
        )

    def checkpoint_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "kind": "gan",
            "train": self.config.model_dump(mode="json"),
            "maskgen_version": __version__,
            "plugins": self.plugin_versions,
            "dataset": {"name": self.dataset_name, "images": len(self.reals_uint8)},
            "kimg": self.cur_nimg / 1000,
            "d_c_dim": self.d_c_dim,  # D's conditioning: class one-hot (--cond) + the augmenter's c
        }
        if self.labels is not None:  # what `generate --class NAME` and the model card read
            counts = torch.bincount(self.labels, minlength=self.c_dim).tolist()
            config["cond"] = {"classes": list(self.class_names), "images_per_class": counts}
        return config | scaffold.provenance(self)

    def save_checkpoint(self, card: str = "") -> Path:
        check_finite_weights({"G": self.G, "D": self.D}, self.cur_nimg)
        return scaffold.write_snapshot(
            self.run_dir,
            self.cur_nimg,
            {"G": self.G, "D": self.D, "G_ema": self.G_ema},
            self.checkpoint_config(),
            self._training_state(),
            keep=self.config.keep_snapshots,
            card=card,
            samples=self.run_dir / "samples" / "fakes_latest.png",
        )

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt_G": self.opt_G, "opt_D": self.opt_D}

    def _training_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = scaffold.rng_state(self.device, {"shared": self.shared_rng})
        tensors["loss/pl_mean"] = self.loss.pl_mean.reshape(1)
        if self.correspondence is not None:
            tensors |= {f"cdc_source.{k}": v for k, v in self.correspondence.state_dict().items()}
        tensors |= {f"augmenter.{k}": v for k, v in self.augmenter.state_dict().items()}
        optimizer_tensors, optimizer_meta = scaffold.optimizer_state(self._optimizers())
        return tensors | optimizer_tensors, self.counters() | optimizer_meta

    def matching_base_model(self) -> Path | None:
        """The shipped base model with this run's architecture, if any."""
        defaults = get_registry().get("generator", self.config.generator).options().model_dump()
        train = self.config.model_dump(mode="json")
        wanted = architecture(train, defaults, self.d_c_dim, self.c_dim)
        symmetric = bool(self.config.generator_options.get("symmetric", defaults.get("symmetric", False)))
        return matching_base_model(wanted, defaults, symmetric=symmetric)

    def load(self, path: str | Path, with_training_state: bool = True) -> dict[str, Any]:
        """Load the weights (and with ``with_training_state`` everything a resume needs); returns the
        checkpoint's config."""
        checkpoint = load_checkpoint(path)
        requested = self.config.model_dump(mode="json")
        # Base models ship G_ema and D only: G then starts as G_ema, as the reference's resume does.
        has_g = any(key.startswith("G.") for key in checkpoint.weights)
        trained_d = discriminator_kind(checkpoint.config.get("train", {}))
        wanted_d = discriminator_kind(requested)
        if trained_d != wanted_d and with_training_state:
            flag = f"-G discriminator={trained_d}"
            raise MaskgenError(f"{path} was trained with {flag}; resume it with {flag}")
        for prefix, module in (("G", self.G), ("D", self.D), ("G_ema", self.G_ema)):
            source = prefix if prefix != "G" or has_g else "G_ema"
            weights = split_weights(checkpoint.weights, source)
            if prefix == "D" and trained_d != wanted_d:
                # A new run with another kind of D: G comes from the checkpoint; of D, what carries over.
                arranged = discriminator_state(module, weights, trained_d, wanted_d)
                if arranged is None:
                    self.started_parts = f"G and G_ema (D starts new: the checkpoint's D is {trained_d})"
                    continue
                half = trained_d if wanted_d == "both" else wanted_d
                self.started_parts = f"G, G_ema and the {half} part of D (-G discriminator={wanted_d})"
                weights = arranged
            if not with_training_state:
                # A new run may be wider (channel_min) than the model it starts from.
                weights, widened = widen_state(module, weights)
                if widened and prefix == "G_ema":  # said once, after all three were loaded
                    channel_min = self.config.generator_options.get("channel_min")
                    self.started_parts += f", widened to -G channel_min={channel_min}"
            load_strict(
                module,
                weights,
                f"{prefix} ({self.config.resolution} px)",
                checkpoint.config,
                requested,
            )
        if not with_training_state:
            recipe = checkpoint.config.get("fine_tuning")
            self.start_recipe = recipe if isinstance(recipe, dict) else {}
            return checkpoint.config
        options = checkpoint.config.get("train", {}).get("generator_options") or {}
        trained = bool(options.get("symmetric", False))
        if trained != bool(self.config.generator_options.get("symmetric", False)):
            flag = f"-G symmetric={str(trained).lower()}"
            raise MaskgenError(f"{path} was trained with {flag}; resume it with {flag}")
        self._keep_recorded_fine_tuning(path, checkpoint.config.get("train") or {})
        scaffold.restore_provenance(self, checkpoint.config)
        tensors, meta = checkpoint.training_state()
        scaffold.restore_rng(tensors, self.device, {"shared": self.shared_rng})
        self.loss.pl_mean = tensors["loss/pl_mean"].reshape(()).to(self.device)
        load_strict(self.augmenter, split_weights(tensors, "augmenter"), "augmenter")
        if self.config.cdc_weight > 0:
            source = split_weights(tensors, "cdc_source")
            if not source:
                raise MaskgenError(f"{path} was trained without cdc_weight; resume it with cdc_weight: 0")
            self.correspondence = CrossDomainCorrespondence(self.G_ema, self.config.cdc_weight)
            self.correspondence.load_state_dict(source)
        scaffold.restore_optimizers(self._optimizers(), tensors, meta)
        self.restore_counters(meta)
        if self.world.rank > 0:
            # Only rank 0's stream is saved; the others get fresh streams, so a run can resume with
            # any number of processes.
            torch.manual_seed(_process_seed(self.config.seed, self.world.rank, self.iteration))
        return checkpoint.config


def discriminator_kind(train_config: dict[str, Any]) -> str:
    """Which D a run config asks for: "residual" (StyleGAN2's), "projected" or "both"."""
    return str((train_config.get("generator_options") or {}).get("discriminator", "residual"))


def _learn(module: torch.nn.Module, frozen: frozenset[int]) -> None:
    """Gradients on for ``module``'s parameters except the ``frozen`` ones (ids)."""
    for parameter in module.parameters():
        parameter.requires_grad_(id(parameter) not in frozen)


def frozen_generator_parameters(G: torch.nn.Module, count: int, to_rgb: bool = True) -> frozenset[int]:
    """FreezeG: G's mapping network (``count`` 1) and then its first ``count - 1`` synthesis blocks
    from the 4 px side keep their (pretrained) weights, so the latents mean what they meant and the
    coarse layouts stay the starting model's; the finer blocks adapt (Mo et al. 2020 freeze G's early
    layers beside D's). With ``to_rgb`` False the fixed blocks' toRGB layers still learn: they turn
    the kept features into the image's broad colour fields, which may then follow the collection.
    Returns the ids of the frozen parameters, which G's optimizer leaves out."""
    if count <= 0:
        return frozenset()
    blocks = synthesis_blocks(G, "freeze_g")
    mapping = getattr(G, "mapping_network", None)
    if not isinstance(mapping, torch.nn.Module):
        raise MaskgenError(
            f"freeze_g needs a StyleGAN2-like generator; {type(G).__name__} has no mapping network"
        )
    if count - 1 > len(blocks):
        raise MaskgenError(
            f"freeze_g {count}: this generator has a mapping network and {len(blocks)} synthesis blocks "
            f"(at most freeze_g {len(blocks) + 1})"
        )
    modules = [mapping, *list(blocks)[: count - 1]]
    frozen = {id(p) for module in modules for p in module.parameters()}
    if not to_rgb:
        frozen -= {id(p) for block in blocks[: count - 1] for p in block.torgb.parameters()}
    return frozenset(frozen)


def frozen_discriminator_parameters(D: torch.nn.Module, count: int) -> frozenset[int]:
    """FreezeD (Mo et al. 2020): D's input layer and first ``count`` blocks keep their (pretrained)
    weights; only the blocks nearer the output adapt to the new data. Returns the ids of the frozen
    parameters, which D's optimizer leaves out and the step keeps without gradients."""
    if count <= 0:
        return frozenset()
    blocks = getattr(D, "blocks", None)
    if blocks is None and hasattr(D, "eye"):
        raise MaskgenError("freeze_d: the projected discriminator's eye is always frozen; use freeze_d 0")
    if blocks is None or count > len(blocks):
        raise MaskgenError(f"freeze_d {count}: this discriminator has {len(blocks or [])} blocks")
    modules = [m for m in (getattr(D, "from_rgb", None), *list(blocks)[:count]) if m is not None]
    return frozenset(id(p) for module in modules for p in module.parameters())


def _process_seed(seed: int, rank: int, iteration: int) -> int:
    return (seed * 1_000_003 + rank * 7_919 + iteration) % 2**63


def _spec_version(spec: Any) -> str:
    return f"{spec.distribution}=={spec.version}"


# --------------------------------------------------------------------------------------------------
# The whole run
# --------------------------------------------------------------------------------------------------


def check_parts(config: TrainConfig) -> None:
    """The run's plugins and their options, checked: a wrong name or option fails in one line before
    minutes of data loading."""
    registry = get_registry()
    names = parse_stack(config.augment)
    for name in names:
        options = config.augment_options.get(name, {}) if len(names) > 1 else config.augment_options
        parse_options("augmenter", name, options, registry)
    parse_options("generator", config.generator, config.generator_options, registry)
    check_metrics(config, registry)


def prepare_run(config: TrainConfig, world: World = SINGLE, new_run: bool = True) -> PreparedData:
    """Everything before the trainer: the parts checked, then the data prepared and the decisions it
    takes recorded in the returned ``data.config`` (:func:`maskgen.data.prepare.prepare_training_data`).
    A new run's caller reports ``data.notes``; only the main process looks for duplicate images."""
    check_parts(config)
    return prepare_training_data(config, new_run=new_run, scan_duplicates=world.is_main)


def no_base_model_note(resolution: int) -> str:
    """What a run on an image folder that no shipped base model matches says: a few hundred intricate
    masks need one (docs/training.md), so name the resolutions that have one."""
    shipped = base_model_resolutions()
    where = ", ".join(f"{r} px" for r in shipped) or "none in this maskgen"
    return (
        f"no shipped base model matches this run ({resolution} px with these widths and options), so it "
        f"trains from scratch; shipped base models: {where} (docs/training.md)"
    )


def train(
    config: TrainConfig,
    out_root: Path | None = None,
    resume_dir: Path | None = None,
    on_progress: ProgressCallback | None = None,
    on_message: MessageCallback | None = None,
    world: World = SINGLE,
    data: PreparedData | None = None,
) -> Path:
    """Train a new run under ``out_root`` (or continue ``resume_dir``); returns the run directory.

    ``data``: the run's data from :func:`prepare_run` (``maskgen run`` prepares it and reports its
    notes); without it, it is prepared here and a new run's notes go to ``on_message``.
    Under torchrun every process calls this with its ``world``; only rank 0 writes files and reports.
    """
    if not world.is_main:
        on_progress, on_message = None, None
    say = on_message or scaffold.silent
    if data is None:
        data = prepare_run(config, world, new_run=resume_dir is None)
        if resume_dir is None:
            for note in data.notes:
                say(note)
    elif data.config != config:
        raise ValueError("train(config, data=...): config must be data.config (the data's decisions)")
    config = data.config

    def initialize(trainer: Trainer) -> None:
        chose_none = trainer.config.init is None
        scaffold.initialize_weights(
            trainer, trainer.matching_base_model, "base model", lambda: trainer.started_parts, say
        )
        taken = trainer.adopt_start_recipe()
        if taken:
            options = describe_options(taken)
            say(f"fine-tuning as {trainer.config.init} recommends: {options} (options you set win)")
        trainer.start_correspondence()
        if chose_none and trainer.config.init == SCRATCH and not is_builtin_set(trainer.config.data):
            say(no_base_model_note(trainer.config.resolution))

    dataset = "builtin" if config.data == "builtin" else Path(config.data).name
    return scaffold.start_or_resume(
        lambda run_dir: Trainer(config, run_dir, world, data),
        lambda trainer: _run_loop(trainer, on_progress, say),
        run_name=f"{config.augment}-{dataset}-{config.resolution}px",
        out_root=out_root,
        resume_dir=resume_dir,
        say=say,
        world=world,
        prepare=initialize,
    )


def _run_loop(trainer: Trainer, on_progress: ProgressCallback | None, say: MessageCallback) -> None:
    config, run_dir, world = trainer.config, trainer.run_dir, trainer.world
    main = world.is_main
    checkpoint = scaffold.Checkpointer(trainer.save_checkpoint, run_dir, RESUME_COMMAND)
    samples = run_dir / "samples"
    if not main:
        _train_steps(trainer, checkpoint, samples, on_progress, say, None)
        return
    # TensorBoard, metrics.jsonl and the snapshot metrics (rank 0 only)
    metrics = snapshot_metrics.for_run(config, trainer.reals_uint8, trainer.device, say)
    watch = Watch(run_dir, trainer.cur_nimg, tensorboard=config.tensorboard, metrics=metrics, say=say)
    try:
        if trainer.cur_nimg == 0:
            grid = trainer.reals_grid()
            save_png(grid, samples / "reals.png")
            watch.reals(grid)
        _train_steps(trainer, checkpoint, samples, on_progress, say, watch)
    finally:
        watch.close()


def _train_steps(
    trainer: Trainer,
    checkpoint: scaffold.Checkpointer,
    samples: Path,
    on_progress: ProgressCallback | None,
    say: MessageCallback,
    watch: Watch | None,
) -> None:
    """Steps until the run's length or time budget, with its ticks and snapshots; ``watch`` (rank 0
    only) logs them."""
    config, world = trainer.config, trainer.world
    main = watch is not None
    total_nimg = int(math.ceil(config.kimg * 1000))
    snapshot_nimg = max(1, int(config.snapshot_kimg * 1000))
    tick_nimg = max(1, int(config.tick_kimg * 1000))
    losses = TickMeans()
    latest: dict[str, float] = {}  # tick means of the losses and the augmenter's numbers
    tick_start, tick_start_nimg = time.perf_counter(), trainer.cur_nimg
    images_per_second = 0.0
    deadline = time.monotonic() + 60 * config.max_minutes if config.max_minutes else math.inf
    with scaffold.stop_on_interrupt(checkpoint.resume_hint) as stop:
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
                if watch is not None:
                    watch.log.write(record | latest)
                losses.reset()
                tick_start, tick_start_nimg = time.perf_counter(), trainer.cur_nimg
            if on_progress is not None:
                rate = images_per_second or (trainer.cur_nimg - tick_start_nimg) / max(elapsed, 1e-9)
                on_progress(Progress(trainer.cur_nimg / 1000, config.kimg, rate, latest))
            if watch is not None and (done or snapshot_due):
                grid = trainer.sample_grid()
                save = functools.partial(_save_sample_grids, grid, trainer.cur_nimg, samples)
                scaffold.write_samples(save, samples, say)
                path = checkpoint()
                say(f"kimg {trainer.cur_nimg / 1000:.2f}: samples and checkpoint {path.name} written")
                watch.snapshot(trainer.cur_nimg, grid, path.name, trainer.G_ema)
            if done:
                if trainer.cur_nimg < total_nimg:
                    say(
                        f"time budget of {config.max_minutes:g} minutes reached "
                        f"at kimg {trainer.cur_nimg / 1000:.2f}"
                    )
                break
            if stop.requested:  # Ctrl-C: checkpoint between steps, where the state resumes exactly
                if not main:
                    raise MaskgenError("interrupted; rank 0 writes the checkpoint")
                trainer.wall_seconds += time.perf_counter() - tick_start
                raise checkpoint.interrupted(trainer.cur_nimg)


def _save_sample_grids(grid: np.ndarray, nimg: int, samples: Path) -> None:
    save_png(grid, samples / f"fakes_kimg{scaffold.sample_tag(nimg)}.png")
    save_png(grid, samples / "fakes_latest.png")
