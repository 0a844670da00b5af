"""StyleGAN2 losses: non-saturating logistic loss, lazy R1 and path-length regularization.

Every image entering D, real or fake, goes through the augmenter first, so gradients of the
generator's loss flow back through the (differentiable) augmentation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from maskgen.plugins.interfaces import Augmenter
from maskgen.training import host_random


@dataclass
class LossWeights:
    r1_gamma: float
    r1_interval: int
    pl_weight: float
    pl_interval: int
    pl_batch_shrink: int
    pl_decay: float
    style_mixing_prob: float


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
        # Mean of a statistic over training processes (identity for one); keeps pl_mean identical.
        self.mean_over_processes: Callable[[torch.Tensor], torch.Tensor] = lambda value: value

    # -- generator ---------------------------------------------------------------------------------

    def run_G(self, z: torch.Tensor, update_w_avg: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        ws = self.G.mapping(z, update_w_avg=update_w_avg)
        if self.w.style_mixing_prob > 0:
            # One crossover point per batch: layers from `cutoff` on use a second latent.
            cutoff = host_random.integer(1, ws.shape[1])
            if host_random.uniform() >= self.w.style_mixing_prob:
                cutoff = ws.shape[1]
            if cutoff < ws.shape[1]:
                mixed = self.G.mapping(torch.randn_like(z), update_w_avg=False)
                ws = torch.cat([ws[:, :cutoff], mixed[:, cutoff:]], dim=1)
        return self.G.synthesis(ws), ws

    def run_D(self, images: torch.Tensor) -> torch.Tensor:
        augmented, condition = self.augmenter(images)
        return self.D(augmented, condition)

    def generator_main(self, z: torch.Tensor) -> torch.Tensor:
        fakes, _ = self.run_G(z, update_w_avg=True)
        return F.softplus(-self.run_D(fakes)).mean()

    def generator_path_length(self, z: torch.Tensor) -> torch.Tensor:
        """Path-length penalty, already multiplied by its weight and lazy interval."""
        batch = max(1, z.shape[0] // self.w.pl_batch_shrink)
        fakes, ws = self.run_G(z[:batch])
        noise = torch.randn_like(fakes) / (fakes.shape[2] * fakes.shape[3]) ** 0.5
        (grads,) = torch.autograd.grad((fakes * noise).sum(), ws, create_graph=True)
        lengths = grads.square().sum(2).mean(1).sqrt()
        batch_mean = self.mean_over_processes(lengths.mean().detach())
        self.pl_mean = self.pl_mean.lerp(batch_mean, self.w.pl_decay)
        penalty = (lengths - self.pl_mean).square().mean()
        return penalty * self.w.pl_weight * self.w.pl_interval

    # -- discriminator -----------------------------------------------------------------------------

    def discriminator_main(self, z: torch.Tensor, reals: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logistic loss of D on fakes and reals; returns (loss, logits on reals)."""
        with torch.no_grad():
            fakes, _ = self.run_G(z)
        fake_logits = self.run_D(fakes)
        real_logits = self.run_D(reals)
        self.augmenter.observe(real_logits.detach())
        loss = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
        return loss, real_logits.detach()

    def discriminator_r1(self, reals: torch.Tensor) -> torch.Tensor:
        """R1 penalty on reals, already multiplied by gamma/2 and the lazy interval."""
        reals = reals.detach().requires_grad_(True)
        logits = self.run_D(reals)
        (grads,) = torch.autograd.grad(logits.sum(), reals, create_graph=True)
        penalty = grads.square().sum([1, 2, 3]).mean()
        return penalty * (self.w.r1_gamma / 2) * self.w.r1_interval

    def make_fakes_fn(self, G_ema: torch.nn.Module) -> Callable[..., torch.Tensor]:
        """Generated images for augmenters that need them (APA): ``make_fakes(n, use_ema=False)``."""
        z_dim = self.G.z_dim

        def make_fakes(count: int, use_ema: bool = False) -> torch.Tensor:
            device = self.pl_mean.device
            with torch.no_grad():
                z = torch.randn(count, z_dim, device=device)
                return G_ema(z) if use_ema else self.run_G(z)[0]

        return make_fakes
