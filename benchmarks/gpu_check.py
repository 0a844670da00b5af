#!/usr/bin/env python
"""The CUDA paths in one short run (under ten minutes on one GPU): what benchmarks/gpu_check.sh runs.

1. StyleGAN2 + ADA with ``--preset paper256`` (the original widths, batch 32, 16-bit top resolutions,
   TF32 matmuls): a few hundred training iterations, images per second and peak GPU memory;
2. the cpu recipe unchanged on the GPU (64 px, the real-masks default): img/s;
3. a CoCosNet translator step with its ``paper256`` preset (256 px, the 64x64 correlation): seconds
   per step and peak memory;
4. the upscaler's training step, what ``maskgen upscale train --size 256`` runs (the cascade's second
   stage, 64 -> 256 px, its default crops, batch and adversarial loss on): crops per second and peak
   memory.

Every part has its own time cap; the output is one JSON line per part, for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

DEVICE = "cuda"
WARMUP = 5
IMAGES = 512  # built-in masks rendered for the training sets
BATCH: int | None = None  # None: each preset's own


def _sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def _peak_gib() -> float | None:
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if DEVICE == "cuda" else None


def _timed_steps(step: Any, warmup: int, iterations: int, cap_seconds: float) -> tuple[int, float]:
    for _ in range(warmup):
        step()
    _sync()
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start, done = time.perf_counter(), 0
    while done < iterations and time.perf_counter() - start < cap_seconds:
        step()
        done += 1
    _sync()
    return done, time.perf_counter() - start


def gan(preset: str, resolution: int, iterations: int, cap: float) -> dict[str, Any]:
    from maskgen.config import resolve_config
    from maskgen.training.loop import Trainer

    values: dict[str, Any] = {"preset": preset, "resolution": resolution, "augment": "ada", "device": DEVICE}
    values |= {"dataset_count": IMAGES, "kimg": 1e6, "init": "none"}
    if BATCH is not None:
        values["batch"] = BATCH
    config = resolve_config(values)
    built = time.perf_counter()
    trainer = Trainer(config, run_dir=None)  # type: ignore[arg-type]
    setup = time.perf_counter() - built
    done, seconds = _timed_steps(trainer.step, WARMUP, iterations, cap)
    return {
        "part": f"gan {preset} {resolution}px ada",
        "batch": config.batch,
        "iterations": done,
        "images_per_second": round(done * config.batch / seconds, 1),
        "peak_memory_gib": _peak_gib(),
        "mixed_precision_resolutions": config.generator_options.get("mixed_precision_resolutions", 0),
        "tf32": bool(torch.backends.cuda.matmul.allow_tf32),
        "augment_p": round(float(trainer.augmenter.p), 4) if hasattr(trainer.augmenter, "p") else None,
        "setup_seconds": round(setup, 1),
    }


def translator(iterations: int, cap: float) -> dict[str, Any]:
    from maskgen.translation.config import resolve_translate_config
    from maskgen.translation.trainer import TranslationTrainer

    config = resolve_translate_config(
        {},
        preset="paper256",
        translator="cocosnet",
        dataset_count=min(IMAGES, 64),
        batch=BATCH,
        features="masknet",
        device=DEVICE,
    )
    trainer = TranslationTrainer(config, Path("."))
    done, seconds = _timed_steps(trainer.step, min(WARMUP, 3), iterations, cap)
    return {
        "part": "translator cocosnet paper256",
        "size": config.size,
        "batch": config.batch,
        "steps": done,
        "seconds_per_step": round(seconds / max(done, 1), 3),
        "peak_memory_gib": _peak_gib(),
    }


def upscaler(iterations: int, cap: float) -> dict[str, Any]:
    from maskgen.upscaling.config import validate_upscale_config
    from maskgen.upscaling.trainer import UpscaleTrainer

    values: dict[str, Any] = {"data": "builtin-detailed", "size": 256, "scale": 4, "device": DEVICE}
    values |= {"dataset_count": min(IMAGES, 64), "init": "none", "adversarial_start_kimg": 0.0}
    if BATCH is not None:
        values["batch"] = BATCH
    config = validate_upscale_config(values)
    built = time.perf_counter()
    trainer = UpscaleTrainer(config, Path("."))
    setup = time.perf_counter() - built
    done, seconds = _timed_steps(trainer.step, min(WARMUP, 3), iterations, cap)
    return {
        "part": f"upscaler {config.upscaler} {config.small_size}->{config.size}px",
        "crop": config.crop,
        "batch": config.batch,
        "steps": done,
        "images_per_second": round(done * config.batch / seconds, 1),
        "peak_memory_gib": _peak_gib(),
        "setup_seconds": round(setup, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--cap-seconds", type=float, default=150.0, help="time cap of each part")
    parser.add_argument("--device", default="cuda", help="cpu: check the script itself on a laptop")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--images", type=int, default=512, help="built-in masks to render for training")
    parser.add_argument("--batch", type=int, default=None, help="override the presets' batch sizes")
    args = parser.parse_args()
    global DEVICE, WARMUP, IMAGES, BATCH
    DEVICE, WARMUP, IMAGES, BATCH = args.device, args.warmup, args.images, args.batch
    if DEVICE == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: no CUDA device visible to torch; run this on a GPU machine")
    name = torch.cuda.get_device_name(0) if DEVICE == "cuda" else DEVICE
    print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda, "device": name}), flush=True)
    parts = (
        lambda: gan("paper256", 256, args.iterations, args.cap_seconds),
        lambda: gan("cpu", 64, args.iterations, args.cap_seconds / 2),
        lambda: translator(max(1, args.iterations // 3), args.cap_seconds),
        lambda: upscaler(args.iterations, args.cap_seconds / 3),
    )
    for part in parts:
        try:
            print(json.dumps(part()), flush=True)
        except Exception as exc:  # one broken part must not hide the others' numbers
            print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
        if DEVICE == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
