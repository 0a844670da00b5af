"""Training the projected discriminator's eye without labels: ``maskgen features train-eye``.

The eye (:class:`maskgen.networks.projected.MaskEye`) learns by telling masks apart (SimCLR, Chen et
al. 2020): two random views of every mask in a batch, and a contrastive loss (NT-Xent) that pulls
the two views of one mask together and pushes every other mask away. Features that tell one mask from
another are what D needs to see; no label decides which. The views change framing, size, sharpness,
light and mirror side, and most of them colour (the colour channels shuffled, or grey): without that
the loss is met by colour alone (as Chen et al. found for photographs), and an eye trained so found a
mask with its colours shuffled no better than chance among 250, so a D looking through it judged
colours and let G draw one layout in all of them (docs/experiments.md).

Data: the built-in mix base models train on (``builtin-varied-mix``: varied masks, some of them
photographed, a few simple ones) with a dataset seed no run uses by default. The detailed set, on
which the benchmarks measure, is not in it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from maskgen.networks.projected import EYE_WIDTHS, MaskEye
from maskgen.outputs import atomic_write, write_text

ProgressFn = Callable[[int, int, str], None]
DEGRADE_SIZES = (16, 24, 32, 48)
RETRIEVAL_BATCH = 250  # held-out masks a view looks for its twin among


@dataclass
class EyeTrainConfig:
    count: int = 5000
    size: int = 64
    epochs: int = 40
    batch: int = 256  # masks per batch; each is seen twice
    lr: float = 2e-3
    temperature: float = 0.2
    recolour: float = 0.8  # share of views whose colour channels are shuffled
    grey: float = 0.2  # share of views in grey
    seed: int = 2025  # the dataset seed: no run trains a GAN on it by default
    holdout_count: int = 500
    holdout_seed: int = 2026
    torch_seed: int = 0

    @property
    def steps(self) -> int:
        """Optimizer steps of the whole training (whole batches only)."""
        return self.count // self.batch * self.epochs


def random_view(
    x: torch.Tensor, gen: torch.Generator, recolour: float = 0.0, grey: float = 0.0
) -> torch.Tensor:
    """One random view of each image of a [B, 3, S, S] batch in [-1, 1]: a crop of 60-100% of the
    picture blown back up, a mirror half the time, lost resolution half the time, light and noise;
    with probability ``recolour`` its colour channels in a random order, with ``grey`` in grey."""
    b, _, s, _ = x.shape
    if recolour > 0:
        orders = torch.stack([torch.randperm(3, generator=gen) for _ in range(b)])
        keep = torch.rand(b, generator=gen) >= recolour
        orders[keep] = torch.arange(3)
        x = torch.gather(x, 1, orders[:, :, None, None].expand_as(x))
    if grey > 0:
        greyed = torch.rand(b, generator=gen) < grey
        x = torch.where(greyed[:, None, None, None], x.mean(dim=1, keepdim=True).expand_as(x), x)
    scale = 0.6 + 0.4 * torch.rand(b, generator=gen)
    centre = (torch.rand(b, 2, generator=gen) * 2 - 1) * (1 - scale[:, None])
    flip = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = scale * flip
    theta[:, 1, 1] = scale
    theta[:, :, 2] = centre
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # Outside the picture is white, the masks' backdrop: sample (x + 1) with zero padding, shift back.
    x = F.grid_sample(x - 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 1
    low = torch.rand(b, generator=gen) < 0.5
    if low.any():
        small = DEGRADE_SIZES[int(torch.randint(len(DEGRADE_SIZES), (1,), generator=gen))]
        shrunk = F.interpolate(x[low], size=(small, small), mode="bilinear", antialias=True)
        x[low] = F.interpolate(shrunk, size=(s, s), mode="bilinear", align_corners=False)
    contrast = 1 + (torch.rand(b, 1, 1, 1, generator=gen) - 0.5) * 0.4
    brightness = (torch.rand(b, 1, 1, 1, generator=gen) - 0.5) * 0.2
    noise = torch.randn(x.shape, generator=gen) * torch.rand(b, 1, 1, 1, generator=gen) * 0.06
    return (x * contrast + brightness + noise).clamp(-1, 1)


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """The contrastive loss of paired embeddings ``a[i]``, ``b[i]`` [B, D]: each of the 2B views must
    pick its partner out of the other 2B - 1 by cosine similarity / temperature."""
    z = F.normalize(torch.cat([a, b]), dim=1)
    sim = z @ z.T / temperature
    n = len(a)
    sim.fill_diagonal_(float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(sim, partner)


class _EyeWithHead(nn.Module):
    # The projection head of SimCLR: the loss is taken after it, the eye's features before it are
    # what D uses (they keep more than the loss needs).
    def __init__(self) -> None:
        super().__init__()
        self.eye = MaskEye()
        width = EYE_WIDTHS[-1]
        self.head = nn.Sequential(nn.Linear(width, width), nn.ReLU(inplace=True), nn.Linear(width, 128))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.eye(x))


def _to_signed(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1


def _match_rate(
    eye: MaskEye,
    images: torch.Tensor,
    query_of: Callable[[torch.Tensor], torch.Tensor],
    key_of: Callable[[torch.Tensor], torch.Tensor],
    batch: int,
) -> float:
    """How often ``query_of(mask)`` has ``key_of(the same mask)`` as its nearest neighbour (cosine)
    among the keys of ``batch`` masks (fewer masks: all of them)."""
    eye.eval()
    batch = min(batch, len(images))
    hits, total = 0, 0
    for start in range(0, len(images) - batch + 1, batch):
        x = images[start : start + batch]
        queries = F.normalize(eye(query_of(x)), dim=1)
        keys = F.normalize(eye(key_of(x)), dim=1)
        hits += int(((queries @ keys.T).argmax(1) == torch.arange(len(x))).sum())
        total += len(x)
    return hits / max(total, 1)


@torch.no_grad()
def retrieval_accuracy(
    eye: MaskEye, images: torch.Tensor, gen: torch.Generator, batch: int = RETRIEVAL_BATCH
) -> float:
    """How often a random view of a held-out mask finds another view of the same mask as its nearest
    neighbour among ``batch`` masks' views (chance: 1 / batch)."""
    return _match_rate(eye, images, lambda x: random_view(x, gen), lambda x: random_view(x, gen), batch)


@torch.no_grad()
def layout_retrieval(eye: MaskEye, images: torch.Tensor, batch: int = RETRIEVAL_BATCH) -> float:
    """How often a held-out mask with its colour channels shuffled (red -> green -> blue -> red: the
    layout kept, every colour changed) finds the mask as it is among ``batch`` masks: whether the eye
    sees layouts or only colours (chance: 1 / batch)."""
    return _match_rate(eye, images, lambda x: x[:, [2, 0, 1]], lambda x: x, batch)


def train_eye(config: EyeTrainConfig, out: Path, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Train, measure held-out retrieval, write ``out`` (safetensors) and its JSON; returns the JSON."""
    from maskgen.data.procedural_mix import render_mix_masks_with_meta  # slow to import: only here

    started, cpu_started = time.perf_counter(), time.process_time()
    torch.manual_seed(config.torch_seed)
    gen = torch.Generator().manual_seed(config.torch_seed)
    images, _, _ = render_mix_masks_with_meta(config.count, config.size, seed=config.seed)
    data = _to_signed(images)
    render_seconds = time.perf_counter() - started
    model = _EyeWithHead()
    steps_per_epoch = config.count // config.batch
    total = config.steps
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=total, pct_start=0.1)
    step = 0
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(config.count, generator=gen)
        for i in range(steps_per_epoch):
            x = data[order[i * config.batch : (i + 1) * config.batch]]
            views = [random_view(x, gen, config.recolour, config.grey) for _ in range(2)]
            loss = nt_xent(model(views[0]), model(views[1]), config.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if progress is not None:
                progress(step, total, f"epoch {epoch + 1}/{config.epochs} loss {loss.item():.3f}")
    train_seconds = time.perf_counter() - started - render_seconds

    held, _, _ = render_mix_masks_with_meta(config.holdout_count, config.size, seed=config.holdout_seed)
    eye = model.eye.eval()
    info: dict[str, Any] = {
        "architecture": "maskeye: 4 stride-2 conv3x3-BN-ReLU stages (32-64-128-256), inputs in [-1, 1]",
        "objective": "SimCLR (NT-Xent), two random views per mask, some recoloured or grey; no labels",
        "data": "builtin-varied-mix",
        "config": asdict(config),
        "reproduce": (
            f"maskgen features train-eye --count {config.count} --epochs {config.epochs} "
            f"--batch {config.batch} --seed {config.seed} --holdout {config.holdout_count} "
            f"--recolour {config.recolour} --grey {config.grey}"
        ),
        "heldout_retrieval": retrieval_accuracy(eye, _to_signed(held), gen),
        "layout_retrieval": layout_retrieval(eye, _to_signed(held)),
        "retrieval_chance": 1 / min(RETRIEVAL_BATCH, config.holdout_count),
        "final_loss": round(float(loss.item()), 4),
        "render_seconds": round(render_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "total_cpu_seconds": round(time.process_time() - cpu_started, 1),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
    }
    state = {k: v.detach().contiguous() for k, v in eye.state_dict().items()}
    atomic_write(out, lambda tmp: save_file(state, tmp, metadata={"format": "pt"}))
    write_text(Path(out).with_suffix(".json"), json.dumps(info, indent=2, sort_keys=True) + "\n")
    return info
