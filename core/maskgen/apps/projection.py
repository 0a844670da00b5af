"""``maskgen project``: the latent of a real mask, found by optimisation (Karras et al. 2020, Sec. 5).

What is optimised: one w broadcast to every layer (``wplus=False``, the paper's projector) or one w per
layer (W+, ``wplus=True``; closer fits, less meaningful latents), and every constant noise map of the
synthesis network. Start: the mean of ``w_avg_samples`` mapped random z (the reference projector's
w_avg; equal to the checkpoint's tracked w_avg up to its EMA lag); the noise maps start from fresh
N(0, 1) draws made with ``seed`` (``noise="random"``, the reference), from the checkpoint's own
constant maps (``"const"``), or are not optimised at all (``"fixed"``: only w moves). ``mix`` and
``video`` render a projected w with the checkpoint's constant maps, so only with ``"fixed"`` do they
show exactly ``proj.png``; on a generator whose images depend much on the noise, that matters.

Each step, as the StyleGAN2 projector does:

* the learning rate ramps up over the first 5 % of steps and down (cosine) over the last 25 %;
* w gets Gaussian noise of std ``w_std * initial_noise_factor * max(0, 1 - t / noise_ramp_length)^2``
  (t = step / steps; w_std: RMS distance of the sampled ws to their mean), so the search starts wide
  and ends on a point;
* loss = perceptual distance (LPIPS[vgg] when its weights exist, else LPIPS[masknet]; see
  :mod:`maskgen.apps.projection_distance`) + ``mse_weight`` * pixel MSE (images in [-1, 1]) +
  ``noise_weight`` * the noise regulariser: for every noise map, downsampled by 2 until 8 px, the
  squared autocorrelation at a one-pixel shift along x and along y, summed (so the noise cannot carry
  the image);
* after the Adam step every noise map is renormalised to zero mean, unit variance.

The result is rendered from the final w (no w noise) with the optimised noise (the checkpoint's with
``"fixed"``). PSNR is on 8-bit pixels.

The search runs at the GAN's resolution (a larger target, e.g. a 256 px picture, is fitted to it). Given
``enlarge`` (a cascade's upscaler), the projection is also drawn at print size from that final image,
and ``proj.png`` and ``target_vs_proj.png`` (the target then read at that size) are written at it;
distance, MSE, PSNR and ``loss.csv`` stay those of the search.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from maskgen.apps.latents import noise_buffers, save_projected, swapped_noise
from maskgen.apps.projection_distance import ProjectionDistance, projection_distance
from maskgen.artifacts.generator import seed_conditions
from maskgen.data.folder import load_image
from maskgen.errors import MaskgenError
from maskgen.evaluation.files import atomic_write
from maskgen.images import from_uint8, save_png, to_uint8

ProgressFn = Callable[[int, int, dict[str, float]], None]  # (step done, steps, this step's losses)

PROJECTED_W = "projected_w.npz"
PROJ_PNG = "proj.png"
SIDE_BY_SIDE_PNG = "target_vs_proj.png"
LOSS_CSV = "loss.csv"
W_STATS_SEED = 123  # the reference projector's: the start does not depend on --seed
NOISE_CHOICES = ("random", "const", "fixed")
LOSS_COLUMNS = ("step", "lr", "w_noise_scale", "loss", "distance", "mse", "noise_reg")


@dataclass
class ProjectionSettings:
    steps: int = 300
    seed: int = 0
    wplus: bool = False
    lr: float = 0.1
    initial_noise_factor: float = 0.05
    noise_ramp_length: float = 0.75
    lr_rampup_length: float = 0.05
    lr_rampdown_length: float = 0.25
    noise_weight: float = 1e5
    mse_weight: float = 1.0
    w_avg_samples: int = 10000
    distance: str = "auto"  # auto | vgg | masknet
    # "random": optimise the noise maps from fresh N(0, 1) draws (the reference projector); "const":
    # optimise them starting from the checkpoint's own constant maps; "fixed": keep the checkpoint's
    # maps and optimise w only, so that the saved w alone renders proj.png in mix and video too.
    noise: str = "random"

    def check(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise MaskgenError(f"--steps must be a positive integer, got {self.steps!r}")
        if not math.isfinite(self.lr) or self.lr <= 0:
            raise MaskgenError(f"--lr must be a positive number, got {self.lr!r}")
        for name in ("noise_weight", "mse_weight", "initial_noise_factor"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise MaskgenError(f"--{name.replace('_', '-')} must be >= 0, got {value!r}")
        if self.noise not in NOISE_CHOICES:
            raise MaskgenError(f"--noise must be one of {', '.join(NOISE_CHOICES)}, got {self.noise!r}")
        if self.w_avg_samples < 1:
            raise MaskgenError(f"w_avg_samples must be >= 1, got {self.w_avg_samples}")


@dataclass
class ProjectionResult:
    w: torch.Tensor  # [1, w_dim] or [num_ws, w_dim], on the CPU
    noise: dict[str, torch.Tensor]  # optimised noise maps by name, on the CPU
    image: np.ndarray  # uint8 [H, W, 3]: the projection
    target: np.ndarray  # uint8 [H, W, 3]
    distance_name: str
    history: list[dict[str, float]] = field(default_factory=list)
    final: dict[str, float] = field(default_factory=dict)  # distance, mse, psnr of the final image
    large: np.ndarray | None = None  # uint8 [S, S, 3]: the projection at print size, given ``enlarge``

    def ws(self, num_ws: int) -> torch.Tensor:
        return self.w.expand(num_ws, -1)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (inf when equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def noise_regularizer(noise: list[torch.Tensor]) -> torch.Tensor:
    """Sum over maps and scales (halved down to 8 px) of the squared mean products of each map with
    itself shifted one pixel along x and along y: zero for white noise, large when the maps carry
    structure (Karras et al. 2020, Appendix D)."""
    total = torch.zeros((), device=noise[0].device) if noise else torch.zeros(())
    for v in noise:
        x = v[None, None]
        while True:
            total = total + (x * torch.roll(x, shifts=1, dims=3)).mean() ** 2
            total = total + (x * torch.roll(x, shifts=1, dims=2)).mean() ** 2
            if x.shape[2] <= 8:
                break
            x = F.avg_pool2d(x, kernel_size=2)
    return total


@torch.no_grad()
def w_statistics(G: torch.nn.Module, samples: int) -> tuple[torch.Tensor, float]:
    """(mean w [w_dim], RMS distance of the ws to it) over ``samples`` mapped random z."""
    device = next(G.parameters()).device
    z = torch.randn(samples, G.z_dim, generator=torch.Generator().manual_seed(W_STATS_SEED)).to(device)
    # A conditional G: the statistics are over every class alike (sample i as class i mod c_dim).
    c = seed_conditions(G, list(range(samples)))
    c_parts = c.split(2048) if c is not None else [None] * len(z.split(2048))
    w = torch.cat(
        [G.mapping(part, cp)[:, 0] for part, cp in zip(z.split(2048), c_parts, strict=True)]
    ).double()
    mean = w.mean(dim=0)
    std = float(((w - mean) ** 2).sum() / samples) ** 0.5
    return mean.float(), std


def schedule(settings: ProjectionSettings, step: int, w_std: float) -> tuple[float, float]:
    """(learning rate, w noise std) at ``step``: the reference projector's ramps."""
    t = step / settings.steps
    w_noise = w_std * settings.initial_noise_factor * max(0.0, 1.0 - t / settings.noise_ramp_length) ** 2
    ramp = min(1.0, (1.0 - t) / settings.lr_rampdown_length)
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    ramp = ramp * min(1.0, t / settings.lr_rampup_length) if settings.lr_rampup_length > 0 else ramp
    return settings.lr * ramp, w_noise


def project(
    G: torch.nn.Module,
    target: torch.Tensor,
    settings: ProjectionSettings | None = None,
    distance: ProjectionDistance | None = None,
    progress: ProgressFn | None = None,
    enlarge: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> ProjectionResult:
    """Project ``target`` ([1, 3, R, R] or [3, R, R] in [-1, 1], R = G's resolution) into G's latent
    space. ``G`` is left as it was (its noise maps are swapped only while optimising). ``enlarge``:
    also draw the projection at print size (:attr:`ProjectionResult.large`)."""
    settings = settings or ProjectionSettings()
    settings.check()
    device = next(G.parameters()).device
    target = target.to(device).float()
    if target.ndim == 3:
        target = target[None]
    r = G.img_resolution
    if tuple(target.shape) != (1, G.img_channels, r, r):
        raise MaskgenError(f"the target must be one {r}x{r} image, got shape {list(target.shape)}")
    distance = distance or projection_distance(settings.distance, device)

    w_mean, w_std = w_statistics(G, settings.w_avg_samples)
    rows = G.num_ws if settings.wplus else 1
    w_opt = w_mean.to(device).expand(1, rows, -1).clone().requires_grad_(True)
    rng = torch.Generator().manual_seed(settings.seed)
    if settings.noise == "fixed":
        noise: dict[str, torch.Tensor] = {}
    elif settings.noise == "const":
        noise = {name: buf.detach().clone().requires_grad_(True) for name, buf in noise_buffers(G).items()}
    else:
        noise = {
            name: torch.randn(buf.shape, generator=rng).to(device).requires_grad_(True)
            for name, buf in noise_buffers(G).items()
        }
    optimizer = torch.optim.Adam([w_opt, *noise.values()], betas=(0.9, 0.999), lr=settings.lr)
    with torch.no_grad():
        target_features = distance.features(target)

    history: list[dict[str, float]] = []
    with swapped_noise(G, noise):
        for step in range(settings.steps):
            lr, w_noise_scale = schedule(settings, step, w_std)
            for group in optimizer.param_groups:
                group["lr"] = lr
            w_noise = torch.randn(w_opt.shape, generator=rng).to(device) * w_noise_scale
            ws = (w_opt + w_noise).expand(1, G.num_ws, -1)
            image = G.synthesis(ws, noise_mode="const")
            dist = distance.distance(target_features, image).sum()
            mse = F.mse_loss(image, target)
            reg = noise_regularizer(list(noise.values())).to(device)
            loss = dist + settings.mse_weight * mse + settings.noise_weight * reg
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                for buf in noise.values():
                    buf -= buf.mean()
                    buf *= buf.square().mean().rsqrt()
            record = {
                "step": step,
                "lr": lr,
                "w_noise_scale": w_noise_scale,
                "loss": float(loss.detach()),
                "distance": float(dist.detach()),
                "mse": float(mse.detach()),
                "noise_reg": float(reg.detach()),
            }
            if not math.isfinite(record["loss"]):
                raise MaskgenError(
                    f"projection diverged at step {step} (loss {record['loss']}); try a lower --lr"
                )
            history.append(record)
            if progress is not None:
                progress(step + 1, settings.steps, record)

        with torch.no_grad():
            final_image = G.synthesis(w_opt.expand(1, G.num_ws, -1), noise_mode="const")
            final_distance = float(distance.distance(target_features, final_image).sum())
            final_mse = float(F.mse_loss(final_image, target))
            large = to_uint8(enlarge(final_image))[0] if enlarge is not None else None
    image_u8 = to_uint8(final_image)[0]
    target_u8 = to_uint8(target)[0]
    return ProjectionResult(
        w=w_opt.detach()[0].cpu(),
        noise={name: buf.detach().cpu() for name, buf in noise.items()},
        image=image_u8,
        target=target_u8,
        distance_name=distance.name,
        history=history,
        final={"distance": final_distance, "mse": final_mse, "psnr": psnr(image_u8, target_u8)},
        large=large,
    )


def load_target(path: str | Path, resolution: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """A mask file as [1, 3, R, R] in [-1, 1]: the project's one decoder (centre crop, LANCZOS); a file
    that is not an image is one MaskgenError line."""
    return from_uint8(load_image(path, resolution)[None], device)


def write_loss_csv(path: Path, history: list[dict[str, float]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOSS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (row[k] if k == "step" else f"{row[k]:.6g}") for k in LOSS_COLUMNS})
    text = buffer.getvalue()
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_projection(
    result: ProjectionResult,
    out_dir: str | Path,
    meta: dict[str, Any] | None = None,
    large_target: np.ndarray | None = None,
) -> dict[str, Path]:
    """projected_w.npz, proj.png, target_vs_proj.png and loss.csv in ``out_dir``, each atomically.

    With :attr:`ProjectionResult.large`, the pictures are at print size, beside ``large_target`` (the
    target read at that size; default: the searched target, enlarged by nearest neighbours)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = dict(meta or {})
    meta.update({"distance_name": result.distance_name, "final": result.final})
    paths = {
        "w": save_projected(out / PROJECTED_W, result.w, result.noise, meta),
        "proj": out / PROJ_PNG,
        "side_by_side": out / SIDE_BY_SIDE_PNG,
        "loss": write_loss_csv(out / LOSS_CSV, result.history),
    }
    image, target = result.image, result.target
    if result.large is not None:
        image = result.large
        if large_target is None:
            factor = image.shape[0] // target.shape[0]
            large_target = target.repeat(factor, axis=0).repeat(factor, axis=1)
        target = large_target
    save_png(image, paths["proj"])
    save_png(np.concatenate([target, image], axis=1), paths["side_by_side"])
    return paths


def project_file(
    G: torch.nn.Module,
    target_path: str | Path,
    out_dir: str | Path,
    settings: ProjectionSettings | None = None,
    progress: ProgressFn | None = None,
    meta: dict[str, Any] | None = None,
    enlarge: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[ProjectionResult, dict[str, Path]]:
    """Load the target at G's resolution, project it, write the outputs (at print size too, given
    ``enlarge``: the projection enlarged beside the target read at that size)."""
    settings = settings or ProjectionSettings()
    settings.check()
    device = next(G.parameters()).device
    target = load_target(target_path, G.img_resolution, device)
    result = project(G, target, settings, progress=progress, enlarge=enlarge)
    info: dict[str, Any] = {
        "target": str(target_path),
        "settings": asdict(settings),
        "resolution": G.img_resolution,
    }
    large_target = None
    if result.large is not None:
        info["size"] = int(result.large.shape[0])
        large_target = load_image(target_path, int(result.large.shape[0]))
    info.update(meta or {})
    return result, write_projection(result, out_dir, info, large_target)
