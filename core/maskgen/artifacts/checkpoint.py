"""Checkpoint directories: safetensors weights, JSON config, training state; written atomically.

Layout of one checkpoint directory (:mod:`maskgen.artifacts.layout` names every file)::

    model.safetensors              the inference network alone, under its own names: G_ema of a GAN,
                                   T of a translator, U_ema of an upscaler
    training_weights.safetensors   the other networks, prefixed ("G.", "D.", "U."): what fine-tuning
                                   and --resume add to it
    config.json                    the full run config plus maskgen/plugin versions
    training_state.safetensors     optimizer tensors, augmenter buffers, RNG states
    training_state.json            counters (images seen, iteration) and optimizer hyper-parameters
    README.md                      model card

In memory every tensor carries its network's prefix ("G_ema.", "G.", "D."), whichever file it came
from; a checkpoint from before the split (one model.safetensors with every network, prefixed) reads the
same. Snapshots are written to a temporary directory and renamed into place; ``checkpoints/latest`` is a
symlink swapped with an atomic rename, so a kill at any moment leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from maskgen.artifacts import hub_pull
from maskgen.artifacts.base_models import BASE_SCHEME, base_model_path
from maskgen.artifacts.layout import (
    CONFIG_FILE,
    LATEST,
    MODEL_FILE,
    SAFETENSORS_METADATA,
    STATE_FILE,
    STATE_JSON,
    TRAINING_WEIGHTS_FILE,
    inference_network,
    is_prefixed,
)
from maskgen.errors import MaskgenError


@dataclass
class Checkpoint:
    path: Path
    config: dict[str, Any]
    weights: dict[str, torch.Tensor]

    def has_training_state(self) -> bool:
        return (self.path / STATE_FILE).is_file() and (self.path / STATE_JSON).is_file()

    def training_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        if not self.has_training_state():
            raise MaskgenError(f"checkpoint {self.path} has no training state; it cannot be resumed")
        return _load_safetensors(self.path / STATE_FILE), read_checkpoint_json(self.path / STATE_JSON)


def write_checkpoint(
    checkpoints_dir: Path,
    tag: str,
    weights: dict[str, torch.Tensor],
    config: dict[str, Any],
    state_tensors: dict[str, torch.Tensor],
    state_json: dict[str, Any],
    card: str = "",
    keep: int = 3,
) -> Path:
    """Write one snapshot atomically, point ``latest`` at it, keep the ``keep`` newest besides it."""
    checkpoints_dir.mkdir(parents=True, exist_ok=True)
    final = checkpoints_dir / tag
    if (final / MODEL_FILE).is_file():
        # The same tag means the same number of images seen, i.e. the same state (an interrupt right
        # after a snapshot): never delete a complete checkpoint to rewrite it.
        _point_latest(checkpoints_dir, tag)
        return final
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{tag}-", dir=checkpoints_dir))
    try:
        write_weights(tmp, weights, config.get("kind"))
        _fault_injection_pause()
        save_file(_contiguous(state_tensors), str(tmp / STATE_FILE), metadata=SAFETENSORS_METADATA)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
        (tmp / STATE_JSON).write_text(json.dumps(state_json, indent=2, sort_keys=True), encoding="utf-8")
        (tmp / "README.md").write_text(card, encoding="utf-8")
        _fsync_dir_files(tmp)
        if final.exists():  # an incomplete directory of that name (not ours): replace it
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _point_latest(checkpoints_dir, tag)
    _prune(checkpoints_dir, keep)
    return final


def split_for_files(
    weights: dict[str, torch.Tensor], kind: object
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(what model.safetensors holds, what training_weights.safetensors holds) for prefixed ``weights``.

    The inference network goes to model.safetensors without its prefix, the others keep theirs. Without
    an inference network (an unknown kind, or weights of other networks only) everything stays in
    model.safetensors, prefixed, as before the split.
    """
    network = inference_network(kind)
    start = f"{network}."
    if network is None or not any(key.startswith(start) for key in weights):
        return dict(weights), {}
    inference = {key[len(start) :]: value for key, value in weights.items() if key.startswith(start)}
    rest = {key: value for key, value in weights.items() if not key.startswith(start)}
    return inference, rest


def write_weights(directory: Path, weights: dict[str, torch.Tensor], kind: object) -> list[str]:
    """Write prefixed ``weights`` as model.safetensors (+ training_weights.safetensors when there are
    networks besides the inference one) into ``directory``; returns the file names written. Plain
    writes: callers write into a folder that is renamed into place, or use atomic_write."""
    inference, rest = split_for_files(weights, kind)
    save_file(_contiguous(inference), str(directory / MODEL_FILE), metadata=SAFETENSORS_METADATA)
    if not rest:
        return [MODEL_FILE]
    save_file(_contiguous(rest), str(directory / TRAINING_WEIGHTS_FILE), metadata=SAFETENSORS_METADATA)
    return [MODEL_FILE, TRAINING_WEIGHTS_FILE]


def copy_weights(source: Path, folder: Path, kind: object, keep: tuple[str, ...] | None = None) -> None:
    """The weight files of checkpoint folder ``source`` into ``folder`` in the split layout: copied byte
    for byte when ``source`` already has it and nothing is to be left out, else split and written anew
    (a checkpoint from before the split); ``keep``: only the networks with these prefixes (a base
    model, an upscaler's inference weights)."""
    split = inference_network(kind) is not None and not is_prefixed(_tensor_names(source / MODEL_FILE), kind)
    extra = source / TRAINING_WEIGHTS_FILE
    wanted = None if keep is None else {prefix.rstrip(".") for prefix in keep}
    whole = wanted is None or (inference_network(kind) in wanted and set(networks_in(extra)) <= wanted)
    if split and whole:
        shutil.copyfile(source / MODEL_FILE, folder / MODEL_FILE)
        if extra.is_file():
            shutil.copyfile(extra, folder / TRAINING_WEIGHTS_FILE)
        return
    weights = read_weights(source, kind)
    if keep is not None:
        weights = {k: v for k, v in weights.items() if k.startswith(keep)}
    write_weights(folder, weights, kind)


def networks_in(path: Path) -> list[str]:
    """The networks (prefixes) a training-weights file holds, from its header; [] when there is none."""
    if not path.is_file():
        return []
    return list(dict.fromkeys(key.split(".", 1)[0] for key in _tensor_names(path)))


_writes_seen = 0


def _fault_injection_pause() -> None:
    """Test hook: ``MASKGEN_PAUSE_IN_CHECKPOINT=MARKER:N`` pauses inside the N-th checkpoint write.

    It creates the file MARKER and sleeps, so that a test can kill the process half-way through a
    checkpoint and check that nothing is lost. Unset (always, outside tests) it does nothing.
    """
    global _writes_seen
    spec = os.environ.get("MASKGEN_PAUSE_IN_CHECKPOINT")
    if not spec:
        return
    marker, _, nth = spec.rpartition(":")
    _writes_seen += 1
    if _writes_seen == int(nth):
        Path(marker).touch()
        time.sleep(600)


def _contiguous(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}


def _fsync_dir_files(directory: Path) -> None:
    for path in directory.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


def _point_latest(checkpoints_dir: Path, tag: str) -> None:
    link = checkpoints_dir / LATEST
    tmp_link = checkpoints_dir / f".{LATEST}.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(tag, tmp_link)
    os.replace(tmp_link, link)


def _prune(checkpoints_dir: Path, keep: int) -> None:
    latest = (checkpoints_dir / LATEST).resolve()
    snapshots = sorted(p for p in checkpoints_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    snapshots = [p for p in snapshots if p.resolve() != latest and not p.is_symlink()]
    for old in snapshots[: max(0, len(snapshots) - keep)]:
        shutil.rmtree(old, ignore_errors=True)
    for leftover in checkpoints_dir.glob(".tmp-*"):  # from a run killed while writing
        shutil.rmtree(leftover, ignore_errors=True)


def named_checkpoint_dir(path: str | Path, purpose: str = hub_pull.DRAW) -> Path | None:
    """The directory a name stands for: a Hub reference (the Hugging Face cache's snapshot, downloaded
    unless HF_HUB_OFFLINE=1; ``purpose`` says which files: :data:`hub_pull.PURPOSES`) or ``base:NAME``
    (a base model shipped inside the package); None for a local path."""
    reference = hub_pull.reference_text(path)
    if reference is not None:
        return hub_pull.resolve(reference, purpose=purpose).path
    if str(path).startswith(BASE_SCHEME):
        return base_model_path(str(path))
    return None


def resolve_checkpoint_dir(path: str | Path, purpose: str = hub_pull.DRAW) -> Path:
    """Accept a checkpoint directory, a run directory or its ``checkpoints/`` folder, or a Hub reference.

    ``hf://OWNER/REPO[@REVISION]`` (and ``OWNER/REPO@REVISION`` where no such local path exists) resolves
    to the snapshot folder in the Hugging Face cache, downloading unless HF_HUB_OFFLINE=1 the files
    ``purpose`` needs (drawing: the inference weights; fine-tuning: the training weights too);
    ``base:NAME`` to a base model shipped inside the package.
    """
    named = named_checkpoint_dir(path, purpose)
    if named is not None:
        return named
    path = Path(path)
    candidates = (path, path / LATEST, path / "checkpoints" / LATEST)
    # Weights first: a run directory has a config.json of its own but its weights are in checkpoints/.
    for name in (MODEL_FILE, CONFIG_FILE):
        for candidate in candidates:
            if (candidate / name).is_file():
                return candidate
    if not path.exists():
        raise MaskgenError(f"checkpoint not found: {path}")
    raise MaskgenError(f"not a maskgen checkpoint (no {MODEL_FILE} in it): {path}")


def load_checkpoint(path: str | Path, inference_only: bool = False) -> Checkpoint:
    """A checkpoint's config and weights, every tensor named with its network's prefix.

    ``inference_only``: only the network that draws (G_ema, T, U_ema), read from model.safetensors
    alone, and for a Hub reference only the files drawing needs are fetched. Otherwise every network
    the folder holds (training_weights.safetensors too), and a Hub reference fetches what fine-tuning
    needs.
    """
    purpose = hub_pull.DRAW if inference_only else hub_pull.FINE_TUNE
    directory = resolve_checkpoint_dir(path, purpose)
    config = read_checkpoint_json(directory / CONFIG_FILE)
    return Checkpoint(directory, config, read_weights(directory, config.get("kind"), inference_only))


def read_weights(directory: Path, kind: object, inference_only: bool = False) -> dict[str, torch.Tensor]:
    """The prefixed weights of a checkpoint folder, from either layout (see the module's docstring)."""
    network = inference_network(kind)
    path = directory / MODEL_FILE
    names = _tensor_names(path)
    if not is_prefixed(names, kind):  # the split layout: one network under its own names
        assert network is not None  # is_prefixed is True for an unknown kind
        weights = {f"{network}.{key}": value for key, value in _load_safetensors(path).items()}
    elif inference_only and network is not None:  # the 0.1 layout: read the inference tensors alone
        weights = _load_safetensors(path, [name for name in names if name.startswith(f"{network}.")])
    else:
        weights = _load_safetensors(path)
    extra = directory / TRAINING_WEIGHTS_FILE
    if not inference_only and extra.is_file():
        weights |= _load_safetensors(extra)
    return weights


def _tensor_names(path: Path) -> list[str]:
    """The tensor names in a safetensors file's header (no tensor read)."""
    if not path.is_file():
        raise MaskgenError(f"checkpoint file missing: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            return list(handle.keys())
    except (SafetensorError, OSError, ValueError) as exc:
        raise _unreadable(path, exc) from None


def _load_safetensors(path: Path, names: list[str] | None = None) -> dict[str, torch.Tensor]:
    """Every tensor of a safetensors file, or only ``names``."""
    if not path.is_file():
        raise MaskgenError(f"checkpoint file missing: {path}")
    try:
        if names is None:
            return load_file(str(path))
        with safe_open(str(path), framework="pt") as handle:
            return {name: handle.get_tensor(name) for name in names}
    except (SafetensorError, OSError, ValueError) as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: BaseException) -> MaskgenError:
    reason = " ".join(str(exc).split())
    return MaskgenError(f"unreadable checkpoint file {path} (not valid safetensors: {reason})")


def read_checkpoint_json(path: Path) -> dict[str, Any]:
    """A checkpoint's JSON file as a dict; missing, unreadable or not an object: one MaskgenError line."""
    if not path.is_file():
        raise MaskgenError(f"checkpoint file missing: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MaskgenError(f"unreadable checkpoint file {path}: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise MaskgenError(f"unreadable checkpoint file {path}: expected a JSON object")
    return data


def split_weights(weights: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The entries of one network ("G", "D", "G_ema") without their prefix."""
    start = prefix + "."
    return {k[len(start) :]: v for k, v in weights.items() if k.startswith(start)}


# (config key, how a difference is said); "px" keys say "checkpoint is 64 px, config asks for 256 px".
_ARCHITECTURE_KEYS = (("resolution", "px"), ("size", "px"), ("generator", "name"), ("translator", "name"))


def describe_mismatch(checkpoint_config: dict[str, Any], requested: dict[str, Any]) -> str | None:
    """What differs between the architecture a checkpoint was trained with and the one asked for.

    ``checkpoint_config`` is a checkpoint's config.json (its run config under ``train``) or a run config;
    ``requested`` is the run config being built. Returns e.g. "checkpoint is 64 px, config asks for
    256 px", or None when the configs agree on every architecture field.
    """
    saved = checkpoint_config.get("train", checkpoint_config)
    differences = []
    for key, style in _ARCHITECTURE_KEYS:
        if key in saved and key in requested and saved[key] != requested[key]:
            if style == "px":
                differences.append(f"checkpoint is {saved[key]} px, config asks for {requested[key]} px")
            else:
                differences.append(f"checkpoint {key} is {saved[key]!r}, config asks for {requested[key]!r}")
    if "resolution" in requested and bool(saved.get("cond")) != bool(requested.get("cond")):
        differences.append(
            "checkpoint is class-conditional (--cond), config asks for an unconditional model"
            if saved.get("cond")
            else "checkpoint is unconditional, config asks for a class-conditional one (--cond)"
        )
    for options in ("generator_options", "translator_options"):
        have, want = saved.get(options) or {}, requested.get(options) or {}
        for key in sorted(set(have) & set(want)):
            if have[key] != want[key]:
                differences.append(f"checkpoint has {key}={have[key]!r}, config asks for {want[key]!r}")
    return "; ".join(differences) or None


def load_strict(
    module: torch.nn.Module,
    state: dict[str, torch.Tensor],
    what: str,
    checkpoint_config: dict[str, Any] | None = None,
    requested: dict[str, Any] | None = None,
) -> None:
    """Load a state dict, requiring every tensor present with the right shape; one-line errors.

    Given the checkpoint's config and the requested config, a mismatch is explained by what differs
    between them ("checkpoint is 64 px, config asks for 256 px") rather than by the first tensor.
    """
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    detail = None
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
    else:
        for key, tensor in expected.items():
            if tuple(state[key].shape) != tuple(tensor.shape):
                detail = f"{key} has shape {tuple(state[key].shape)}, expected {tuple(tensor.shape)}"
                break
    if detail is not None:
        if checkpoint_config is not None and requested is not None:
            detail = describe_mismatch(checkpoint_config, requested) or detail
        raise MaskgenError(f"checkpoint does not match the {what} architecture: {detail}")
    module.load_state_dict(state, strict=True)
