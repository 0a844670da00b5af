"""The seams between maskgen's parts.

The trainer only ever talks to these interfaces: everything that differs between "none", ADA, APA
and Diffusion-GAN lives behind :class:`Augmenter`; StyleGAN2 is a generator :class:`PluginSpec`
whose factory returns G and D (see :func:`maskgen.plugins.factory.build_gan`); metrics live behind
:class:`Evaluator`; image translation behind :class:`Translator`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict

PluginKind = Literal["generator", "augmenter", "translator", "evaluator", "upscaler"]
PLUGIN_KINDS: tuple[PluginKind, ...] = ("generator", "augmenter", "translator", "evaluator", "upscaler")


class Options(BaseModel):
    """Base class of every plugin's options model: unknown keys are an error, not silently ignored, and
    so are nan and infinity, as in the training config (declare an upper bound for every number too:
    a config file reaches these fields without the command line's parsers)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


@dataclass
class PluginSpec:
    """What a plugin hook returns: one named part of a given kind.

    ``factory`` builds the part; what it is called with depends on the kind (see the ``build_*``
    functions in :mod:`maskgen.plugins.factory`). The method's facts live here too, and reports,
    tables and model cards read them from the spec (see :mod:`maskgen.plugins.methods`): ``label`` is
    the name a table row shows (the paper's, e.g. "Diffusion-GAN"; default: ``name``), ``description``
    a phrase for model cards, ``citation`` its BibTeX, and ``presets`` the option defaults the part
    takes under each training preset (``{"cpu": {"width": 32}}``). ``distribution`` and ``version``
    are filled in by the registry from the plugin that provided the spec.
    """

    kind: PluginKind
    name: str
    summary: str
    factory: Callable[..., Any]
    options: type[Options] = Options
    label: str | None = None
    description: str = ""
    citation: str | None = None
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    distribution: str = "unknown"
    version: str = "unknown"


# --------------------------------------------------------------------------------------------------
# Augmenters
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AugmentContext:
    """What an augmenter factory knows about the run it is built for."""

    resolution: int
    batch_size: int
    total_kimg: float
    device: torch.device
    # Default speed of adaptive controllers: images (in thousands) for the strength to go 0 -> 1.
    # Presets pick it; an augmenter option set explicitly wins.
    speed_kimg: float = 500.0


class Augmenter(torch.nn.Module):
    """Everything between the data and the discriminator.

    Call order in one discriminator step of the trainer::

        reals = augmenter.prepare_reals(reals, make_fakes)     # APA may swap some reals for fakes
        # make_fakes(n, use_ema=False, rows=None) is made for this minibatch: rows (mask or indices)
        # = the reals replaced, and a class-conditional trainer draws those fakes with those reals'
        # classes (the augmenter passes rows, never classes)
        x, c = augmenter(reals)                                 # every image entering D, reals...
        real_logits = D(x, c)
        augmenter.observe(real_logits)                          # overfitting heuristic
        y, c = augmenter(fakes)                                 # ...and fakes
        ...
        augmenter.end_step(batch_size)                          # adapt strength every few minibatches

    ``forward`` must be differentiable w.r.t. its input so that gradients reach the generator.
    All state that must survive a resume (strength, accumulators, counters) lives in buffers.
    """

    #: Length of the conditioning vector this augmenter hands to D (Diffusion-GAN: timestep embedding).
    c_dim: int = 0

    def prepare_reals(self, reals: torch.Tensor, make_fakes: Callable[[int], torch.Tensor]) -> torch.Tensor:
        return reals

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return images, None

    def observe(self, real_logits: torch.Tensor) -> None:
        """Accumulate D's outputs on (augmented) reals for the overfitting heuristic."""

    def end_step(self, batch_size: int) -> None:
        """Called once per discriminator minibatch, after the step."""

    def stats(self) -> dict[str, float]:
        """Numbers to log: at least ``augment/strength``; ``augment/heuristic`` where one exists."""
        return {}


# --------------------------------------------------------------------------------------------------
# Evaluators and translators
# --------------------------------------------------------------------------------------------------


class Evaluator:
    """``(real images, generated images) -> {metric: value}``.

    Images are float tensors in [0, 1], shape [N, 3, H, W]. ``feature_network`` names the network the
    numbers depend on (e.g. "inception", "masknet") so that reports never mix them silently.

    ``maskgen eval -m NAME``, ``maskgen report`` and ``maskgen compare`` run every evaluator by its
    registered name; ``compute`` is all one needs. (maskgen's own evaluators also measure on a call's
    shared context, :class:`maskgen.evaluation.metrics.base.Metric`, so that they share features.)
    """

    name: str = "evaluator"
    higher_is_better: bool = False
    feature_network: str | None = None

    def compute(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        raise NotImplementedError


class Translator(torch.nn.Module):
    """``(sketch, reference) -> image`` for inference; training lives in the translator's plugin."""

    def translate(self, sketch: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
