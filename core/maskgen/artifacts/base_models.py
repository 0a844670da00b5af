"""Base models shipped inside the package: where new runs on a user's folder start from.

A base model is a checkpoint (a GAN's, a translator's or an upscaler's: config.json ``kind``) trained
long on the built-in sets, laid out exactly like a Hub repo in ``maskgen/assets/base/<name>/``:
``model.safetensors`` (the inference network: what drawing loads), ``training_weights.safetensors`` (the
discriminator, which fine-tuning also starts from), ``config.json``, ``README.md`` (its model card). A
new run with ``init`` unset starts from the base model whose
architecture matches its own (resolution, generator and every option that shapes a weight, D's
conditioning); with no match it starts from scratch. ``--init none`` always starts from scratch;
``--init PATH|hf://...`` from that checkpoint.
Base translators (``kind`` "translation") are matched by translator name, size and the names and shapes
of their weights (:func:`weight_shapes`), and are what ``translate apply`` uses without --checkpoint.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from maskgen.artifacts.layout import (
    CONFIG_FILE,
    MODEL_FILE,
    TRAINING_WEIGHTS_FILE,
    inference_network,
    is_prefixed,
)

# Generator options that do not change any weight's shape or meaning: a base model trained with other
# values still matches (the exact mirror acts on the output only; the minibatch-std group size only
# says how many images D's one statistic pools; a run with another kind of D takes G and starts D new).
SHAPE_FREE_OPTIONS = frozenset(
    {
        "symmetric",
        "fused_modconv",
        "mixed_precision_resolutions",
        "conv_clamp",
        "mbstd_group_size",
        "discriminator",
    }
)
SCRATCH = "none"


def base_models_dir() -> Path:
    return Path(str(files("maskgen") / "assets" / "base"))


GAN = "gan"
TRANSLATION = "translation"


def read_base_config(directory: Path) -> dict[str, Any] | None:
    """A shipped model's config.json, or None when it is missing or damaged (then it is not offered)."""
    try:
        config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return config if isinstance(config, dict) else None


def list_base_models(kind: str | None = GAN) -> list[Path]:
    """The shipped base models (checkpoint directories) of one ``kind`` ("gan", "translation"; None:
    every kind), by name. GAN base models by default: the GAN trainer and the studio's catalogue offer
    only those."""
    root = base_models_dir()
    if not root.is_dir():
        return []
    found = sorted(p for p in root.iterdir() if (p / MODEL_FILE).is_file() and (p / CONFIG_FILE).is_file())
    if kind is None:
        return found
    return [p for p in found if (read_base_config(p) or {}).get("kind") == kind]


def base_model_resolutions() -> list[int]:
    """The resolutions the shipped GAN base models are trained at, smallest first."""
    found = set()
    for directory in list_base_models():
        train = (read_base_config(directory) or {}).get("train")
        if isinstance(train, dict) and isinstance(train.get("resolution"), int):
            found.add(train["resolution"])
    return sorted(found)


def list_base_translators() -> list[Path]:
    """The shipped base translators (translation checkpoints), by name."""
    return list_base_models(TRANSLATION)


def weight_shapes(path: Path, prefixes: tuple[str, ...] = ()) -> dict[str, tuple[int, ...]] | None:
    """Tensor name -> shape from safetensors headers (no tensor is read), only names starting with one
    of ``prefixes`` (all when empty); None when a file cannot be read.

    ``path`` is one safetensors file (its names as stored) or a checkpoint folder: then the names of
    model.safetensors and training_weights.safetensors together, each with its network's prefix
    (``T.``, ``D.``), whichever layout the folder has (:mod:`maskgen.artifacts.layout`).
    """
    from safetensors import SafetensorError, safe_open

    if path.is_dir():
        kind = (read_base_config(path) or {}).get("kind")
        network = inference_network(kind)
        files = [(path / MODEL_FILE, True), (path / TRAINING_WEIGHTS_FILE, False)]
    else:
        network, files = None, [(path, False)]
    shapes: dict[str, tuple[int, ...]] = {}
    try:
        for file, inference in files:
            if not inference and not file.is_file() and file.name == TRAINING_WEIGHTS_FILE:
                continue  # a folder in the 0.1 layout, or inference weights only
            with safe_open(str(file), framework="pt") as handle:
                names = list(handle.keys())
                rename = inference and network is not None and not is_prefixed(names, kind)
                for key in names:
                    name = f"{network}.{key}" if rename else key
                    if not prefixes or name.startswith(prefixes):
                        shapes[name] = tuple(handle.get_slice(key).get_shape())
    except (SafetensorError, OSError, ValueError):
        return None
    return shapes


def architecture(
    train: dict[str, Any], generator_defaults: dict[str, Any], d_c_dim: int, c_dim: int = 0
) -> dict[str, Any]:
    """What must be equal for weights to load: resolution, generator, shaping options, D's c_dim and
    G's (the class count of a class-conditional model, 0 otherwise)."""
    options = {**generator_defaults, **(train.get("generator_options") or {})}
    shaping = {k: v for k, v in sorted(options.items()) if k not in SHAPE_FREE_OPTIONS}
    return {
        "resolution": train.get("resolution"),
        "generator": train.get("generator", "stylegan2"),
        "generator_options": shaping,
        "d_c_dim": d_c_dim,
        "c_dim": c_dim,
    }


def class_names(config: dict[str, Any]) -> list[str]:
    """The classes a checkpoint's G is conditioned on (config.json ``cond.classes``); [] if unconditional."""
    cond = config.get("cond")
    classes = cond.get("classes") if isinstance(cond, dict) else None
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        return []
    return list(classes)


BASE_SCHEME = "base:"


def base_model_path(reference: str) -> Path:
    """``base:NAME`` -> the shipped base model's directory (one clear line when there is none)."""
    from maskgen.errors import MaskgenError

    name = reference[len(BASE_SCHEME) :]
    directory = base_models_dir() / name
    if not name or "/" in name or not (directory / MODEL_FILE).is_file():
        shipped = ", ".join(BASE_SCHEME + p.name for p in list_base_models(kind=None)) or "none"
        raise MaskgenError(f"no base model {reference!r} in this maskgen; shipped: {shipped}")
    return directory


def matching_base_model(
    wanted: dict[str, Any], generator_defaults: dict[str, Any], symmetric: bool = False
) -> Path | None:
    """The shipped base model whose :func:`architecture` equals ``wanted``, or None. Of several, the one
    trained with the same exact mirror (``symmetric``) as the new run: a mirrored run starts better
    from a mirrored base model (docs/training.md), and an unmirrored one from a G whose own right
    half was trained. Of those, the one that has seen the most images (a newer base model continues
    an older one, which stays reachable as base:NAME)."""
    found: list[tuple[bool, float, Path]] = []
    for directory in list_base_models(GAN):
        config = read_base_config(directory)
        if config is None:
            continue  # a damaged asset must not stop a run from training from scratch
        train = config.get("train", {})
        d_c_dim, c_dim = int(config.get("d_c_dim", 0)), len(class_names(config))
        if architecture(train, generator_defaults, d_c_dim, c_dim) == wanted:
            options = {**generator_defaults, **(train.get("generator_options") or {})}
            found.append(
                (bool(options.get("symmetric")) == symmetric, recorded_kimg(config) or 0.0, directory)
            )
    found.sort(key=lambda match: (not match[0], -match[1]))
    return found[0][2] if found else None


def recorded_kimg(config: dict[str, Any]) -> float | None:
    """kimg of a checkpoint's own run plus those of the runs its config.json ``lineage`` records; None
    when none is recorded."""
    steps = config.get("lineage") if isinstance(config.get("lineage"), list) else []
    values = [config.get("kimg"), *(step.get("kimg") for step in steps if isinstance(step, dict))]
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return round(sum(numbers), 3) if numbers else None
