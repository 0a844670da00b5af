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
from typing import TYPE_CHECKING, Protocol

import torch

from maskgen.plugins.interfaces import Translator
from maskgen.translation.losses import feature_matching, hinge_d, hinge_g
from maskgen.translation.networks import MultiscaleDiscriminator, intermediates, logits

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


class AdversarialOptions(Protocol):
    """The options :class:`AdversarialTranslationModel` reads (a translator's options model has more)."""

    ndf: int  # discriminator width
    d_layers: int  # layers of each PatchGAN
    num_d: int  # discriminator scales
    lr_g: float
    lr_d: float
    beta1: float
    beta2: float
    w_adv: float  # hinge adversarial loss
    w_fm: float  # discriminator feature matching


class AdversarialTranslationModel(TranslationModel):
    """A translator trained against a multi-scale PatchGAN that sees the sketch with the image (the
    setting of pix2pixHD, SPADE and CoCosNet): the discriminator, Adam optimizers "G" and "D", the
    adversarial and feature-matching terms and the step. A subclass passes its translator in and
    implements :meth:`generator_losses` with its own terms, adding :meth:`adversarial_losses`.
    """

    def __init__(
        self, options: AdversarialOptions, context: TranslationContext, translator: ExemplarTranslator
    ) -> None:
        super().__init__()
        self.options = options
        self.features = context.features  # frozen, not a submodule: never checkpointed
        self.translator = translator
        # Input: the sketch (1 channel) with an image (3 channels).
        self.discriminator = MultiscaleDiscriminator(4, options.ndf, options.d_layers, options.num_d)
        betas = (options.beta1, options.beta2)
        self.optimizers = {
            "G": torch.optim.Adam(self.translator.parameters(), lr=options.lr_g, betas=betas),
            "D": torch.optim.Adam(self.discriminator.parameters(), lr=options.lr_d, betas=betas),
        }

    def require_features(self, label: str) -> FeatureExtractor:
        """The feature network of the losses; a model built for inference only has none."""
        if self.features is None:
            raise RuntimeError(f"{label} was built without a feature network; it can only translate")
        return self.features

    def adversarial_losses(
        self, sketch: torch.Tensor, fake: torch.Tensor, target: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Weighted hinge loss of G ("adv") and discriminator feature matching ("fm"); {} when both
        weights are 0."""
        o, D = self.options, self.discriminator
        if o.w_adv <= 0 and o.w_fm <= 0:
            return {}
        cond = sketch * 2 - 1
        pred_fake = D(torch.cat([cond, fake], 1))
        with torch.no_grad():
            pred_real = D(torch.cat([cond, target], 1))
        return {
            "adv": o.w_adv * hinge_g(logits(pred_fake)),
            "fm": o.w_fm * feature_matching(intermediates(pred_fake), intermediates(pred_real)),
        }

    def generator_losses(self, batch: TripletBatch) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Weighted loss terms of the translator (without D's), and the fake images."""
        raise NotImplementedError

    def training_step(self, batch: TripletBatch) -> dict[str, torch.Tensor]:
        return self.hinge_training_step(batch, self.generator_losses, self.options.w_adv)
