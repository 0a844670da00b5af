"""StyleGAN2 losses: non-saturating logistic loss, lazy R1 and path-length regularization.

Every image entering D, real or fake, goes through the augmenter first, so gradients of the
generator's loss flow back through the (differentiable) augmentation.

In a class-conditional run every G call gets its classes ``c`` (one-hot [N, classes]) and D gets
``[c | the augmenter's c]`` (Diffusion-GAN's timestep embedding follows the class columns); in an
unconditional one ``c`` is None and D sees the augmenter's c alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from maskgen.plugins.interfaces import Augmenter
from maskgen.training import host_random
from maskgen.training.mode_seeking import mode_seeking_term

# (count, rows of the minibatch or None) -> the classes of ``count`` fakes, one-hot [count, classes].
ClassesFn = Callable[[int, torch.Tensor | None], torch.Tensor | None]


@dataclass
class LossWeights:
    r1_gamma: float
    r1_interval: int
    pl_weight: float
    pl_interval: int
    pl_batch_shrink: int
    pl_decay: float
    style_mixing_prob: float
    mode_seeking_weight: float = 0.0


class StyleGAN2Loss:
    def __init__(
        self,
        G: torch.nn.Module,
        D: torch.nn.Module,
        augmenter: Augmenter,
        weights: LossWeights,
    ) -> None:
        self.G, self.D, self.augmenter, self.w = G, D, augmenter, weights
        self.pl_mean = torch.zeros([], device=next(G.parameters()).device)
        self.mode_seeking: torch.Tensor | None = None  # the last mode-seeking term, unweighted
        # Mean of a statistic over training processes (identity for one); keeps pl_mean identical.
        self.mean_over_processes: Callable[[torch.Tensor], torch.Tensor] = lambda value: value

    # -- generator ---------------------------------------------------------------------------------

    def run_G(
        self,
        z: torch.Tensor,
        c: torch.Tensor | None = None,
        update_w_avg: bool = False,
        differentiable_ws: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fakes and their ws; ``differentiable_ws``: the fakes can be differentiated by the ws even
        when the mapping network is frozen (``freeze_g``), as the path-length penalty needs."""
        ws = self.G.mapping(z, c, update_w_avg=update_w_avg)
        if self.w.style_mixing_prob > 0:
            # One crossover point per batch: layers from `cutoff` on use a second latent.
            cutoff = host_random.integer(1, ws.shape[1])
            if host_random.uniform() >= self.w.style_mixing_prob:
                cutoff = ws.shape[1]
            if cutoff < ws.shape[1]:
                mixed = self.G.mapping(torch.randn_like(z), c, update_w_avg=False)
                ws = torch.cat([ws[:, :cutoff], mixed[:, cutoff:]], dim=1)
        if differentiable_ws and not ws.requires_grad:
            ws = ws.detach().requires_grad_(True)
        return self.G.synthesis(ws), ws

    def run_D(self, images: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        augmented, condition = self.augmenter(images)
        return self.D(augmented, join_conditions(c, condition))

    def generator_main(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        fakes, _ = self.run_G(z, c, update_w_avg=True)
        loss = F.softplus(-self.run_D(fakes, c)).mean()
        if self.w.mode_seeking_weight > 0:
            term = mode_seeking_term(fakes, z)
            self.mode_seeking = term.detach()  # logged by the trainer
            loss = loss + self.w.mode_seeking_weight * term
        return loss

    def generator_path_length(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Path-length penalty, already multiplied by its weight and lazy interval."""
        batch = max(1, z.shape[0] // self.w.pl_batch_shrink)
        fakes, ws = self.run_G(z[:batch], None if c is None else c[:batch], differentiable_ws=True)
        noise = torch.randn_like(fakes) / (fakes.shape[2] * fakes.shape[3]) ** 0.5
        (grads,) = torch.autograd.grad((fakes * noise).sum(), ws, create_graph=True)
        lengths = grads.square().sum(2).mean(1).sqrt()
        batch_mean = self.mean_over_processes(lengths.mean().detach())
        self.pl_mean = self.pl_mean.lerp(batch_mean, self.w.pl_decay)
        penalty = (lengths - self.pl_mean).square().mean()
        return penalty * self.w.pl_weight * self.w.pl_interval

    # -- discriminator -----------------------------------------------------------------------------

    def discriminator_main(
        self,
        z: torch.Tensor,
        reals: torch.Tensor,
        fake_c: torch.Tensor | None = None,
        real_c: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logistic loss of D on fakes and reals; returns (loss, logits on reals)."""
        with torch.no_grad():
            fakes, _ = self.run_G(z, fake_c)
        fake_logits = self.run_D(fakes, fake_c)
        real_logits = self.run_D(reals, real_c)
        self.augmenter.observe(real_logits.detach())
        loss = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
        return loss, real_logits.detach()

    def discriminator_r1(self, reals: torch.Tensor, real_c: torch.Tensor | None = None) -> torch.Tensor:
        """R1 penalty on reals, already multiplied by gamma/2 and the lazy interval."""
        reals = reals.detach().requires_grad_(True)
        logits = self.run_D(reals, real_c)
        (grads,) = torch.autograd.grad(logits.sum(), reals, create_graph=True)
        penalty = grads.square().sum([1, 2, 3]).mean()
        return penalty * (self.w.r1_gamma / 2) * self.w.r1_interval

    def make_fakes_fn(
        self, G_ema: torch.nn.Module, classes: ClassesFn | None = None
    ) -> Callable[..., torch.Tensor]:
        """Generated images for augmenters that need them (APA): ``make_fakes(n, use_ema=False,
        rows=None, c=None)``. ``rows`` (a bool mask or indices) says which images of the current
        minibatch the fakes stand in for; in a class-conditional run ``c`` gives their classes, else
        ``classes(n, rows)`` does."""
        z_dim = self.G.z_dim

        def make_fakes(
            count: int,
            use_ema: bool = False,
            rows: torch.Tensor | None = None,
            c: torch.Tensor | None = None,
        ) -> torch.Tensor:
            device = self.pl_mean.device
            with torch.no_grad():
                if c is None and classes is not None:
                    c = classes(count, rows)
                z = torch.randn(count, z_dim, device=device)
                return G_ema(z, c) if use_ema else self.run_G(z, c)[0]

        return make_fakes


def join_conditions(classes: torch.Tensor | None, augmenter_c: torch.Tensor | None) -> torch.Tensor | None:
    """D's conditioning: the class one-hot, then the augmenter's c (either may be absent)."""
    if classes is None:
        return augmenter_c
    if augmenter_c is None:
        return classes
    return torch.cat([classes.to(augmenter_c.dtype), augmenter_c], dim=1)
