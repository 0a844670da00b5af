"""Evaluating a training run: the one path ``maskgen report`` and ``maskgen compare`` both take.

:func:`evaluate_run` reads the run's settings (``RUN_DIR/config.json``, or the checkpoint's), takes its
training images as the reals (:func:`run_reals`) and draws as many fakes from ``checkpoints/latest``
(G_ema, seeds ``seed .. seed+num-1``, truncation 1), then computes

* the evaluators of an :class:`~maskgen.evaluation.context.EvalSettings` (what ``maskgen report``
  tabulates: by default every registered evaluator), and/or
* evaluators by name with their default options (what ``maskgen compare`` tabulates; one that fails
  becomes a note, the others still count; one with a ``features`` option runs once per network of
  :data:`maskgen.evaluation.evaluate.FEATURE_VARIANTS`),

both through the plugin registry (:func:`maskgen.evaluation.evaluate.evaluate`,
:func:`~maskgen.evaluation.evaluate.run_evaluators`),

into one result dict ``{"metrics": {key: {"label", "value", ...}}, "notes": [...], "model": {...},
"real": ..., "fake": ...}``. With ``cache`` the result is kept in ``RUN_DIR/eval.json`` and reused while
the checkpoint and settings are the same; a directory without a GAN checkpoint but with an
``eval.json`` (a translation model evaluated with ``maskgen eval --json``) is read as it is.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from maskgen.errors import MaskgenError
from maskgen.evaluation.evaluate import EvalSettings, Tracker, evaluate, evaluator_names, run_evaluators
from maskgen.evaluation.files import write_json
from maskgen.evaluation.imagesets.sets import ImageSet, checkpoint_dir, load_image_set
from maskgen.plugins import PluginRegistry, get_registry
from maskgen.plugins.methods import method_label

EVAL_FILE = "eval.json"
MIN_EVAL_SIZE = 16


def run_label(augment: str) -> str:
    """'none' -> 'StyleGAN2', 'ada' -> 'ADA', 'apa+ada' -> 'APA+ADA': the labels the plugins declare."""
    return method_label(augment, "augmenter")


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MaskgenError(f"unreadable {path}: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise MaskgenError(f"unreadable {path}: expected a JSON object")
    return data


def run_settings(run_dir: Path, ckpt: Path) -> dict[str, Any]:
    """The training settings of a run: its config.json, else those stored in the checkpoint."""
    config_path = Path(run_dir) / "config.json"
    train = read_json(config_path) if config_path.is_file() else {}
    if "resolution" not in train:  # a checkpoint folder given directly: its config has the run config
        from maskgen.artifacts.checkpoint import load_checkpoint

        train = load_checkpoint(ckpt).config.get("train", {})
    return train


def run_reals(train: dict[str, Any], num: int, seed: int = 0) -> ImageSet:
    """At most ``num`` of the run's training images, with labels where the data has them.

    Built-in data: the first ``num`` images of the training set, made by the trainer's own loader
    (:func:`maskgen.data.datasets.load_training_images`). An image folder: a random subset (numpy seed
    ``seed``) decoded as the trainer decodes it, with the folder's labels if it has any.
    """
    from maskgen.data.datasets import load_training_images

    resolution = int(train["resolution"])
    if resolution < MIN_EVAL_SIZE:
        raise MaskgenError(f"runs at {resolution} px are too small to evaluate ({MIN_EVAL_SIZE} px at least)")
    data = str(train.get("data") or "builtin")
    folder = Path(data).expanduser()
    if data.strip().lower().startswith("builtin") and not folder.is_dir():
        from maskgen.data.procedural import CATEGORY_NAMES

        dataset_seed = int(train.get("dataset_seed", 0))
        count = min(num, int(train.get("dataset_count", 2000)))
        images, labels, description = load_training_images(data, resolution, seed=dataset_seed, count=count)
        names = list(CATEGORY_NAMES) if labels is not None else None
        info = {"dataset_seed": dataset_seed}
        return ImageSet(images, description, "builtin", labels, names, info=info)
    if not folder.is_dir():
        raise MaskgenError(f"the training images of the run are gone: {folder} not found")
    return load_image_set(folder, resolution, num, "real", seed, frame=bool(train.get("frame", False)))


def _cache_key(
    ckpt: Path,
    settings: EvalSettings | None,
    num: int,
    evaluators: list[str] | None,
    registry: PluginRegistry,
) -> dict[str, Any]:
    key: dict[str, Any] = {"checkpoint": str(ckpt.resolve()), "num": num}
    if settings is not None:
        key |= {
            "features": settings.features,
            "lpips": settings.lpips_network,
            "classifier": str(settings.classifier) if settings.classifier else None,
            "masknet": str(settings.masknet) if settings.masknet else None,
            "seed": settings.seed,
            "metrics": evaluator_names(settings, registry),
            "k_pr": settings.k_pr,
            "k_dc": settings.k_dc,
        }
    if evaluators is not None:
        key["evaluators"] = list(evaluators)
    return key


def evaluate_run(
    run_dir: Path,
    num: int,
    device: torch.device,
    settings: EvalSettings | None = None,
    evaluators: list[str] | None = None,
    registry: PluginRegistry | None = None,
    cache: bool = True,
    recompute: bool = False,
    tracker: Tracker | None = None,
) -> dict[str, Any]:
    """The metrics of one run directory (computed, or read from its eval.json); see the module doc.

    ``settings``: the built-in metrics to compute (None: none of them); ``evaluators``: evaluator plugin
    names to run as well (looked up in ``registry``, default the global one). Fakes are drawn with
    seeds from ``settings.seed`` (0 without settings).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MaskgenError(f"run directory not found: {run_dir}")
    cache_file = run_dir / EVAL_FILE
    ckpt = checkpoint_dir(run_dir)
    if ckpt is None:
        if cache_file.is_file():  # e.g. a translation model evaluated with `maskgen eval --json`
            result = read_json(cache_file)
            result.setdefault("model", {}).setdefault("label", run_dir.name)
            result["model"].setdefault("kind", "translation")
            return result
        raise MaskgenError(f"{run_dir} has no checkpoint (checkpoints/latest) and no {EVAL_FILE}")
    registry = registry or get_registry()
    key = _cache_key(ckpt, settings, num, evaluators, registry)
    if cache and cache_file.is_file() and not recompute:
        cached = read_json(cache_file)
        if cached.get("report_key") == key:
            return cached
    train = run_settings(run_dir, ckpt)
    tracker = tracker or Tracker()
    seed = settings.seed if settings is not None else 0
    label = run_label(str(train.get("augment", "none")))
    real = run_reals(train, num, seed)
    fake = load_image_set(
        ckpt, real.size, num, "fake", seed, device, progress=tracker.task(f"{label}: generate", num)
    )
    if settings is not None:
        result = evaluate(real, fake, settings, device, tracker, registry)
    else:
        result = _empty_result(real, fake, seed, device)
    if evaluators:
        started = time.perf_counter()
        metrics, notes = run_evaluators(evaluators, real, fake, device, registry, tracker)
        result["metrics"] |= metrics
        result["notes"] += notes
        result.setdefault("phase_seconds", {})["evaluators"] = round(time.perf_counter() - started, 2)
    ckpt_config = read_json(ckpt / "config.json") if (ckpt / "config.json").is_file() else {}
    result["model"] = {
        "label": label,
        "kind": "generation",
        "run": str(run_dir.resolve()),
        "augment": train.get("augment"),
        "kimg": ckpt_config.get("kimg"),
        "resolution": train.get("resolution"),
    }
    result["report_key"] = key
    if cache:
        write_json(cache_file, result)
    return result


def _empty_result(real: ImageSet, fake: ImageSet, seed: int, device: torch.device) -> dict[str, Any]:
    return {
        "metrics": {},
        "notes": [],
        "seed": seed,
        "real": real.describe(),
        "fake": fake.describe(),
        "device": str(device),
        "phase_seconds": {},
    }


def metric_values(result: dict[str, Any]) -> dict[str, float]:
    """{label: value} of a result, e.g. {'FD[masknet]': 3.0, 'C2ST acc[cnn]': 0.61}."""
    return {entry["label"]: float(entry["value"]) for entry in result["metrics"].values()}
