"""Training masknet on procedural masks: ``maskgen features train-masknet`` (reproduces the shipped file).

Data: ``count`` masks of ``maskgen.data.procedural`` (dataset seed ``seed``), each with its primary
colour and, from the renderer's metadata, its pattern type and shapes (auxiliary targets). Held-out
accuracy is measured on masks of another dataset seed, which shares no mask with the training set.
Augmentation makes the features stable across the sizes at which GANs are trained: half of every batch
is shrunk to 16-48 px and blown back up, and every image gets a small shift, a mild brightness and
contrast change and a little noise. Hue is never changed: it is the class.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from maskgen.data.procedural import mask_plan, render_mask, render_masks
from maskgen.evaluation.features.masknet import MaskNet
from maskgen.evaluation.files import write_json, write_safetensors

AUX_KEYS = ("pattern", "brow", "eye", "nose", "emblem", "mouth")
AUX_WEIGHT = 0.3
DEGRADE_SIZES = (16, 24, 32, 48)

ProgressFn = Callable[[int, int, str], None]


@dataclass
class MasknetTrainConfig:
    count: int = 3500
    size: int = 64
    epochs: int = 8
    batch: int = 64
    lr: float = 3e-3
    # Dataset seeds nobody trains GANs on by default (runs use seed 0): masknet's accuracy on a run's
    # real images is then measured on masks it has never seen.
    seed: int = 2023
    holdout_count: int = 700
    holdout_seed: int = 2024
    torch_seed: int = 0


def render_training_set(count: int, size: int, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray], dict]:
    """Masks with their colour and auxiliary targets: (uint8 images, {head: int64 targets}, {head: vocab})."""
    seeds, labels = mask_plan(count, seed)
    images = np.empty((count, size, size, 3), dtype=np.uint8)
    metas = []
    for i, (mask_seed, label) in enumerate(zip(seeds.tolist(), labels.tolist(), strict=True)):
        image, meta = render_mask(mask_seed, size, label)
        images[i] = np.asarray(image)
        metas.append(meta)
    # Vocabularies come from the data, so a new shape in the renderer needs no change here.
    vocab = {key: sorted({str(m[key]) for m in metas}) for key in AUX_KEYS if all(key in m for m in metas)}
    targets = {"colour": labels.astype(np.int64)}
    for key, values in vocab.items():
        index = {v: i for i, v in enumerate(values)}
        targets[key] = np.array([index[str(m[key])] for m in metas], dtype=np.int64)
    return images, targets, vocab


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random resolution loss, shift, brightness/contrast and noise on a [B, 3, S, S] batch in [0, 1]."""
    b, _, s, _ = x.shape
    x = x.clone()
    low = torch.rand(b, generator=gen) < 0.5
    if low.any():
        small = DEGRADE_SIZES[int(torch.randint(len(DEGRADE_SIZES), (1,), generator=gen))]
        shrunk = F.interpolate(x[low], size=(small, small), mode="bilinear", antialias=True)
        x[low] = F.interpolate(shrunk, size=(s, s), mode="bilinear", align_corners=False)
    pad = max(1, s // 16)
    padded = F.pad(x, (pad, pad, pad, pad), value=1.0)  # the masks' background is white
    shifts = torch.randint(0, 2 * pad + 1, (b, 2), generator=gen)
    x = torch.stack([padded[i, :, dy : dy + s, dx : dx + s] for i, (dy, dx) in enumerate(shifts.tolist())])
    contrast = 1 + (torch.rand(b, 1, 1, 1, generator=gen) - 0.5) * 0.2
    brightness = (torch.rand(b, 1, 1, 1, generator=gen) - 0.5) * 0.1
    noise = torch.randn(x.shape, generator=gen) * torch.rand(b, 1, 1, 1, generator=gen) * 0.03
    return ((x - 0.5) * contrast + 0.5 + brightness + noise).clamp(0, 1)


def _to_float(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255


@torch.no_grad()
def colour_accuracy(model: MaskNet, images: np.ndarray, labels: np.ndarray, batch: int = 256) -> float:
    model.eval()
    chunks = range(0, len(images), batch)
    preds = [model(_to_float(images[i : i + batch]))["colour"].argmax(1) for i in chunks]
    return float((torch.cat(preds).numpy() == labels).mean())


def _shrunk(images: np.ndarray, size: int) -> np.ndarray:
    x = F.interpolate(_to_float(images), size=(size, size), mode="bilinear", antialias=True)
    return (x * 255).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()


def train_masknet(
    config: MasknetTrainConfig, out: Path, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Train, measure held-out accuracy, write ``out`` (safetensors) and its JSON; returns the JSON dict."""
    started, cpu_started = time.perf_counter(), time.process_time()
    torch.manual_seed(config.torch_seed)
    gen = torch.Generator().manual_seed(config.torch_seed)
    images, targets, vocab = render_training_set(config.count, config.size, config.seed)
    render_seconds = time.perf_counter() - started
    heads = {"colour": 7} | {key: len(values) for key, values in vocab.items()}
    model = MaskNet(heads)
    data = _to_float(images)
    target_t = {k: torch.from_numpy(v) for k, v in targets.items()}
    steps_per_epoch = -(-config.count // config.batch)
    total = steps_per_epoch * config.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=total, pct_start=0.15)
    step = 0
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(config.count, generator=gen)
        for start in range(0, config.count, config.batch):
            idx = order[start : start + config.batch]
            logits = model(augment(data[idx], gen))
            loss = F.cross_entropy(logits["colour"], target_t["colour"][idx], label_smoothing=0.05)
            for key in vocab:
                loss = loss + AUX_WEIGHT * F.cross_entropy(logits[key], target_t[key][idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if progress is not None:
                progress(step, total, f"epoch {epoch + 1}/{config.epochs} loss {loss.item():.3f}")
    train_seconds = time.perf_counter() - started - render_seconds

    model.eval()
    held_images, held_labels = render_masks(config.holdout_count, config.size, seed=config.holdout_seed)
    info: dict[str, Any] = {
        "architecture": "masknet: 4 stride-2 conv3x3-BN-ReLU stages (32-64-128-256), global average pool",
        "input_size": 64,
        "feature_dim": 256,
        "heads": heads,
        "vocab": vocab,
        "config": asdict(config),
        "reproduce": (
            f"maskgen features train-masknet --count {config.count} --size {config.size} "
            f"--epochs {config.epochs} --batch {config.batch} --seed {config.seed} "
            f"--holdout {config.holdout_count}"
        ),
        "heldout_accuracy": colour_accuracy(model, held_images, held_labels),
        "heldout_accuracy_32px": colour_accuracy(model, _shrunk(held_images, 32), held_labels),
        "heldout_accuracy_16px": colour_accuracy(model, _shrunk(held_images, 16), held_labels),
        "train_accuracy": colour_accuracy(model, images[:700], targets["colour"][:700]),
        "render_seconds": round(render_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "total_cpu_seconds": round(time.process_time() - cpu_started, 1),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
    }
    save_masknet(model, out, info)
    return info


def save_masknet(model: MaskNet, out: Path, info: dict[str, Any]) -> None:
    """Weights as safetensors, their description as JSON next to them (same stem), each written atomically."""
    write_safetensors(out, model.state_dict())
    write_json(Path(out).with_suffix(".json"), info)


def finetune_masknet(
    images: np.ndarray,
    labels: np.ndarray,
    out: Path,
    base: Path | None = None,
    epochs: int = 10,
    batch: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Fine-tune masknet (all layers, colour head only) on a user's images labelled with the seven colours.

    A seeded fifth of the images (when there are at least 10) is held out to report the accuracy before
    and after. The auxiliary heads are kept as they are: they only matter while training on procedural
    masks.
    """
    from maskgen.evaluation.features.masknet import load_masknet

    started = time.perf_counter()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    order = np.random.default_rng(seed).permutation(len(images))
    held = order[: len(images) // 5] if len(images) >= 10 else order[:0]
    train = order[len(held) :]
    model = load_masknet(base)
    before = colour_accuracy(model, images[held], labels[held]) if len(held) else None
    model.train().requires_grad_(True)
    data, target = _to_float(images[train]), torch.from_numpy(labels[train].astype(np.int64))
    total = -(-len(train) // batch) * epochs
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total)
    step = 0
    for epoch in range(epochs):
        model.train()
        shuffled = torch.randperm(len(train), generator=gen)
        for start in range(0, len(train), batch):
            idx = shuffled[start : start + batch]
            loss = F.cross_entropy(
                model(augment(data[idx], gen))["colour"], target[idx], label_smoothing=0.05
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if progress is not None:
                progress(step, total, f"epoch {epoch + 1}/{epochs} loss {loss.item():.3f}")
    model.eval().requires_grad_(False)
    info = {
        "finetuned_from": str(base or "shipped masknet"),
        "images": int(len(images)),
        "heldout_images": int(len(held)),
        "heldout_accuracy_before": before,
        "heldout_accuracy": colour_accuracy(model, images[held], labels[held]) if len(held) else None,
        "train_accuracy": colour_accuracy(model, images[train], labels[train]),
        "config": {"epochs": epochs, "batch": batch, "lr": lr, "seed": seed},
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    save_masknet(model, out, info)
    return info


def finetune_masknet_on_folder(
    data: Path,
    labels: Path | None,
    out: Path,
    epochs: int = 10,
    batch: int = 32,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """:func:`finetune_masknet` on a folder whose labels are colour names (red, purple, black, ...)."""
    from maskgen.data.procedural import CATEGORY_NAMES
    from maskgen.errors import MaskgenError
    from maskgen.evaluation.features.classifier import map_labels
    from maskgen.evaluation.imagesets.labels import load_labelled_folder

    images, values, names = load_labelled_folder(data, labels, 64)
    if names == [str(i) for i in range(len(names))]:
        raise MaskgenError("fine-tuning masknet needs colour names as labels (red, purple, black, ...)")
    colours = map_labels(values, names, list(CATEGORY_NAMES))
    return finetune_masknet(images, colours, out, epochs=epochs, batch=batch, progress=progress)
