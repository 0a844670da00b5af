"""What a translator plugin provides, and what the translation trainer hands it.

A translator plugin's ``PluginSpec.factory`` is called as ``factory(options, TranslationContext)`` and
returns a :class:`TranslationModel`: the inference network (``translator``, an
:class:`ExemplarTranslator`), the discriminator, their optimizers and one ``training_step``. The
trainer never knows which translator it runs; it saves ``translator`` as ``T.*`` and
``discriminator`` as ``D.*`` in the checkpoint, and the optimizers' state with the training state.

Tensor conventions everywhere in translation:

- sketch: [N, 1, H, W] float in [0, 1], 1 = white paper, 0 = line (what
  :func:`maskgen.data.sketch.xdog` gives);
- reference, target and output images: [N, 3, H, W] float in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from maskgen.plugins.interfaces import Translator

if TYPE_CHECKING:
    from maskgen.translation.features import FeatureExtractor


@dataclass
class TripletBatch:
    """One training minibatch: the target's sketch, a reference and the target itself."""

    sketch: torch.Tensor  # [N, 1, H, W] in [0, 1]
    reference: torch.Tensor  # [N, 3, H, W] in [-1, 1]
    target: torch.Tensor  # [N, 3, H, W] in [-1, 1]
    pseudo: torch.Tensor  # [N] bool: the reference is a deformed copy of the target (pseudo exemplar)


@dataclass(frozen=True)
class TranslationContext:
    """What a translator factory knows about the run it is built for."""

    resolution: int
    batch_size: int
    device: torch.device
    # Frozen perceptual feature network for the losses; None when building for inference only.
    features: FeatureExtractor | None = None
    total_kimg: float = 0.0
    extra: dict = field(default_factory=dict)


class ExemplarTranslator(Translator):
    """A :class:`~maskgen.plugins.interfaces.Translator` that can also show its correspondence."""

    def translate_with_warp(
        self, sketch: torch.Tensor, reference: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(output image, the reference warped onto the sketch, or None if the model has no warp)."""
        raise NotImplementedError

    def translate(self, sketch: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return self.translate_with_warp(sketch, reference)[0]


class TranslationModel(torch.nn.Module):
    """Everything one translator needs to train: networks, optimizers, one step.

    Subclasses set ``translator``, ``discriminator`` and ``optimizers`` (a dict name -> optimizer; the
    trainer checkpoints their state) in ``__init__``. All randomness in ``training_step`` must come from
    torch's global RNG so that a resumed run continues exactly like an uninterrupted one.
    """

    translator: ExemplarTranslator
    discriminator: torch.nn.Module
    optimizers: dict[str, torch.optim.Optimizer]

    def training_step(self, batch: TripletBatch) -> dict[str, torch.Tensor]:
        """One generator and one discriminator update; returns detached losses for logging."""
        raise NotImplementedError

    def hinge_training_step(
        self,
        batch: TripletBatch,
        generator_losses: Callable[[TripletBatch], tuple[dict[str, torch.Tensor], torch.Tensor]],
        adversarial_weight: float,
    ) -> dict[str, torch.Tensor]:
        """The step SPADE and CoCosNet share: G on the sum of its weighted losses, then the
        multi-scale D on the hinge loss with the sketch as condition (optimizers "G" and "D")."""
        from maskgen.translation.losses import hinge_d
        from maskgen.translation.networks import logits

        D, opt_g, opt_d = self.discriminator, self.optimizers["G"], self.optimizers["D"]
        D.requires_grad_(False)
        losses, fake = generator_losses(batch)
        total = sum(losses.values())
        opt_g.zero_grad(set_to_none=True)
        total.backward()
        opt_g.step()

        D.requires_grad_(True)
        cond = batch.sketch * 2 - 1
        pred_fake = D(torch.cat([cond, fake.detach()], 1))
        pred_real = D(torch.cat([cond, batch.target], 1))
        loss_d = adversarial_weight * hinge_d(logits(pred_real), logits(pred_fake))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        out = {f"loss/{k}": v.detach() for k, v in losses.items()}
        out["loss/G"] = total.detach()
        out["loss/D"] = loss_d.detach()
        return out
