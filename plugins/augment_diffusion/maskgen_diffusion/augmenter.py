"""Diffusion-GAN as a maskgen :class:`~maskgen.plugins.interfaces.Augmenter`.

Every image entering D is diffused, y = sqrt(abar_t) x + sqrt(1 - abar_t) sigma eps, with a fresh
t per image and call; D is told t through the conditioning vector; the largest timestep T adapts
to D's overfitting.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field, model_validator

from maskgen import AugmentContext, Options, SignHeuristicAugmenter
from maskgen.config import KIMG_MAX

Tensor = torch.Tensor
TimestepDistribution = Literal["priority", "uniform"]
ScheduleSpan = Literal["T", "t_max"]


class DiffusionOptions(Options):
    """Options of the ``diffusion`` augmenter (defaults: the Diffusion-GAN reference implementation)."""

    target: float = Field(0.6, ge=0.0, le=1.0, description="Target of the overfitting heuristic r_t.")
    interval: int = Field(4, ge=1, description="Minibatches between adjustments of T.")
    speed_kimg: float | None = Field(
        None,
        gt=0.0,
        le=KIMG_MAX,
        description="Thousands of images for T to go t_min -> t_max; None: the preset's value.",
    )
    t_min: int = Field(10, ge=1, description="Smallest value of the adapted T.")
    t_max: int = Field(1000, ge=1, description="Largest value of the adapted T.")
    beta_start: float = Field(1e-4, gt=0.0, lt=1.0, description="beta_1 of the linear schedule.")
    beta_end: float = Field(2e-2, gt=0.0, lt=1.0, description="beta at the last step of the schedule.")
    schedule_span: ScheduleSpan = Field(
        "T", description="Steps the linear schedule spans: 'T' (rebuilt when T moves) or 't_max' (fixed)."
    )
    sigma: float = Field(
        0.05, gt=0.0, le=10.0, description="Standard deviation of the diffusion noise (images span [-1, 1])."
    )
    ts_dist: TimestepDistribution = Field(
        "priority", description="Distribution of t in 1..T: 'priority' (P(t) ~ t) or 'uniform'."
    )
    clean_prob: float = Field(0.5, ge=0.0, le=1.0, description="Probability that an image gets t = 0.")
    t_embed_dim: int = Field(
        8, ge=1, description="Length of D's conditioning: 1 = t/t_max, even = sin/cos embedding."
    )
    fixed_T: int | None = Field(None, ge=1, description="Fixed T; disables adaptation.")
    initial_T: int | None = Field(None, ge=1, description="T at the start of adaptive training; None: t_min.")

    @model_validator(mode="after")
    def _consistent(self) -> DiffusionOptions:
        if self.t_min > self.t_max:
            raise ValueError(f"t_min ({self.t_min}) must not exceed t_max ({self.t_max})")
        if self.beta_start > self.beta_end:
            raise ValueError(f"beta_start ({self.beta_start}) must not exceed beta_end ({self.beta_end})")
        if self.t_embed_dim > 1 and self.t_embed_dim % 2:
            raise ValueError(f"t_embed_dim must be 1 or even, got {self.t_embed_dim}")
        for name in ("fixed_T", "initial_T"):
            value = getattr(self, name)
            if value is not None and not self.t_min <= value <= self.t_max:
                raise ValueError(
                    f"{name} ({value}) must lie in [t_min, t_max] = [{self.t_min}, {self.t_max}]"
                )
        return self


# --------------------------------------------------------------------------------------------------
# The forward process, as plain functions
# --------------------------------------------------------------------------------------------------


def linear_alphas_bar(beta_start: float, beta_end: float, steps: int | Tensor, length: int) -> Tensor:
    """abar_t for t = 0..length-1 of a linear beta schedule over ``steps`` steps.

    abar_0 = 1 (t = 0 is the clean image); entries past ``steps`` repeat abar_steps (never sampled
    while T <= steps, but keeping one fixed length lets the buffer survive a checkpoint round trip).
    ``steps`` may be a 0-dim tensor on any device: the result is computed there, without reading it.
    """
    steps_t = torch.as_tensor(steps)
    s = torch.arange(1, length, dtype=torch.float64, device=steps_t.device)
    # beta_s = beta_start + (beta_end - beta_start) (s - 1) / (steps - 1), for s = 1..steps.
    betas = beta_start + (beta_end - beta_start) * (s - 1) / (steps_t - 1).clamp(min=1)
    betas = torch.where(s <= steps_t, betas, torch.zeros_like(betas))  # no decay past the last step
    return torch.cat([s.new_ones(1), torch.cumprod(1.0 - betas, dim=0)]).float()


def sample_timesteps(
    count: int, T: Tensor, dist_name: TimestepDistribution, clean_prob: float, device: torch.device
) -> Tensor:
    """``count`` timesteps in 0..T: 0 with probability ``clean_prob``, else from 1..T.

    'uniform' gives every t in 1..T the same weight, 'priority' a weight proportional to t (larger t,
    i.e. noisier images, more often). T is a 0-dim tensor; sampling by inverse CDF needs no host sync.
    """
    T_f = T.to(device=device, dtype=torch.float32)
    u = 1.0 - torch.rand(count, device=device)  # in (0, 1]
    if dist_name == "uniform":
        t = torch.ceil(u * T_f)
    else:
        # CDF(k) = k (k + 1) / (T (T + 1)); the smallest k with CDF(k) >= u.
        t = torch.ceil((torch.sqrt(1.0 + 4.0 * u * T_f * (T_f + 1.0)) - 1.0) / 2.0)
    t = torch.minimum(t.clamp(min=1.0), T_f).long()
    if clean_prob > 0:
        t = torch.where(torch.rand(count, device=device) < clean_prob, torch.zeros_like(t), t)
    return t


def timestep_embedding(t: Tensor, t_max: int, dim: int) -> Tensor:
    """[N] timesteps -> [N, dim] conditioning: t / t_max (dim 1) or sin/cos at octave frequencies.

    s = t / t_max lies in [0, 1]; the pairs sin(pi 2^k s), cos(pi 2^k s), k = 0..dim/2-1, differ for
    every pair of timesteps (cos(pi s) alone is one-to-one on [0, 1]) and give D's mapping network
    features that vary on coarse and fine scales of t.
    """
    s = t.float() / t_max
    if dim == 1:
        return s[:, None]
    freqs = math.pi * 2.0 ** torch.arange(dim // 2, device=t.device, dtype=torch.float32)
    angles = s[:, None] * freqs[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


# --------------------------------------------------------------------------------------------------
# The augmenter
# --------------------------------------------------------------------------------------------------


class DiffusionAugmenter(SignHeuristicAugmenter):
    """Diffusion-GAN (Wang et al., ICLR 2023): adaptive forward diffusion in front of D.

    ``forward`` diffuses every image with its own t in 0..T and returns ``(y, c)`` where ``c`` embeds
    t; y is differentiable in x, so G is trained through the diffusion. ``observe`` accumulates
    sign(D(real)); every ``interval`` minibatches ``end_step`` moves the strength p in [0, 1] by
    ``sign(r_t - target) * batch_size * interval / (speed_kimg * 1000)`` and sets
    ``T = t_min + round(p (t_max - t_min))``. With ``fixed_T`` the heuristic is measured, T never moves.
    """

    p: Tensor
    T: Tensor
    alphas_bar: Tensor

    def __init__(self, options: DiffusionOptions, context: AugmentContext) -> None:
        speed_kimg = options.speed_kimg if options.speed_kimg is not None else context.speed_kimg
        super().__init__(options.interval, options.target, speed_kimg, adaptive=options.fixed_T is None)
        self.options = options
        self.t_min, self.t_max = options.t_min, options.t_max
        self.sigma = options.sigma
        self.c_dim = options.t_embed_dim
        start_T = options.fixed_T or options.initial_T or options.t_min
        span = max(self.t_max - self.t_min, 1)
        self.register_buffer("p", torch.tensor(min(1.0, (start_T - self.t_min) / span)))
        self.register_buffer("T", torch.tensor(start_T, dtype=torch.long))
        self.register_buffer("alphas_bar", self._schedule(start_T))

    def _schedule(self, T: int | Tensor) -> Tensor:
        steps = T if self.options.schedule_span == "T" else self.t_max
        return linear_alphas_bar(self.options.beta_start, self.options.beta_end, steps, self.t_max + 1)

    # -- the forward process -------------------------------------------------------------------------

    def sample_t(self, count: int, device: torch.device) -> Tensor:
        return sample_timesteps(count, self.T, self.options.ts_dist, self.options.clean_prob, device)

    def diffuse(self, images: Tensor, t: Tensor) -> Tensor:
        """y = sqrt(abar_t) x + sqrt(1 - abar_t) sigma eps, one t per image."""
        abar = self.alphas_bar.to(images.device)[t].to(images.dtype).view(-1, 1, 1, 1)
        noise = torch.randn_like(images)
        return abar.sqrt() * images + (1.0 - abar).sqrt() * self.sigma * noise

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor | None]:
        t = self.sample_t(images.shape[0], images.device)  # fresh per call, also for the same reals in R1
        condition = timestep_embedding(t, self.t_max, self.c_dim).to(images.dtype)
        return self.diffuse(images, t), condition

    # -- the controller ------------------------------------------------------------------------------

    @torch.no_grad()
    def end_step(self, batch_size: int) -> None:
        """Count a minibatch; every ``interval`` of them measure r_t and adapt T.

        ``batch_size`` is the number of real images in one step over all processes.
        """
        if not self.adapt(self.p, batch_size):
            return
        # All on the device: T and its schedule follow p without reading either on the host.
        self.T.copy_(self.t_min + torch.round(self.p.double() * (self.t_max - self.t_min)).long())
        if self.options.schedule_span == "T":
            self.alphas_bar.copy_(self._schedule(self.T))

    def stats(self) -> dict[str, float]:
        T = int(self.T)
        out = {
            "augment/strength": float(self.p),
            "augment/T": float(T),
            # The weakest signal D sees: sqrt(abar_T) of the image survives at the largest t.
            "augment/abar_T": float(self.alphas_bar[T]),
        }
        return out | self.heuristic_stats()

    def extra_repr(self) -> str:
        o = self.options
        mode = f"target={self.target}, speed_kimg={self.speed_kimg:g}" if self.adaptive else "fixed T"
        return (
            f"T in [{self.t_min}, {self.t_max}], betas {o.beta_start:g}..{o.beta_end:g} over "
            f"{o.schedule_span}, sigma={self.sigma:g}, ts_dist={o.ts_dist!r}, {mode}"
        )
