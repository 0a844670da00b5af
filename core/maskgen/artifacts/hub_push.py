"""Pushing a checkpoint directory to the Hugging Face Hub in one commit, with a generated model card.

The repo gets the split layout (:mod:`maskgen.artifacts.layout`): the inference weights alone in
``model.safetensors``, what fine-tuning adds in ``training_weights.safetensors``, so a pull to draw
fetches only the first; a checkpoint from before the split (every network in model.safetensors) is
split on the way. The training state goes only with ``with_training_state``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maskgen.artifacts.checkpoint import (
    copy_weights,
    networks_in,
    read_checkpoint_json,
    resolve_checkpoint_dir,
)
from maskgen.artifacts.hub_pull import DEFAULT_REVISION, FINE_TUNE, REPO_RE, SCHEME, offline_mode, one_line
from maskgen.artifacts.layout import (
    CONFIG_FILE,
    METRICS_FILE,
    MODEL_FILE,
    README_FILE,
    SAMPLES_FILE,
    STATE_FILE,
    STATE_JSON,
    TRAINING_WEIGHTS_FILE,
    UPSCALER_DIR,
)
from maskgen.artifacts.lineage import lineage_of
from maskgen.artifacts.modelcard import find_metrics, model_card
from maskgen.config import FINE_TUNING_OPTIONS, validate_config
from maskgen.errors import MaskgenError
from maskgen.outputs import make_folder

# A GAN checkpoint's upscaler (the cascade's second stage, a checkpoint of kind "upscaler") travels in
# the sub-folder UPSCALER_DIR, these files of it.
UPSCALER_FILES = tuple(
    f"{UPSCALER_DIR}/{name}" for name in (MODEL_FILE, CONFIG_FILE, README_FILE, SAMPLES_FILE)
)
# Files maskgen itself puts in a repo; a push removes the ones of an earlier push it does not upload again,
# so a repo never pairs new weights with stale training state, samples, metrics or upscaler.
MANAGED_FILES = (
    MODEL_FILE,
    TRAINING_WEIGHTS_FILE,
    CONFIG_FILE,
    README_FILE,
    SAMPLES_FILE,
    METRICS_FILE,
    STATE_FILE,
    STATE_JSON,
    *UPSCALER_FILES,
)


@dataclass
class PushPlan:
    """What one push uploads: the staged folder, its files, and the commit's target."""

    folder: Path
    files: list[str]
    repo_id: str
    revision: str
    tag: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)  # bytes per file, kept after the folder is gone
    upscaler: dict[str, Any] = field(default_factory=dict)  # config.json of the upscaler/ it carries

    def commit_message(self) -> str:
        train = self.config.get("train", {})
        kind = self.config.get("kind", "checkpoint")
        size = train.get("resolution") or self.config.get("size")
        kimg = self.config.get("kimg")
        what = f"{kind} checkpoint" + (f", {size} px" if size else "")
        what += f", {float(kimg):g} kimg" if isinstance(kimg, (int, float)) else ""
        large = self.upscaler.get("size")
        what += f", with its upscaler to {large} px" if large else ""
        return f"maskgen push: {what}"


def parse_repo_id(text: str) -> str:
    """``OWNER/REPO`` (or ``hf://OWNER/REPO``) for push, where a revision is given by --revision."""
    body = text[len(SCHEME) :] if text.startswith(SCHEME) else text
    if "@" in body:
        raise MaskgenError(f"push takes OWNER/REPO without a revision, got {text!r}; use --revision BRANCH")
    if not REPO_RE.match(body):
        raise MaskgenError(f"not a Hub repo id: {text!r} (expected OWNER/REPO)")
    return body


def stage_upload(
    checkpoint: str | Path,
    folder: Path,
    repo_id: str,
    revision: str = DEFAULT_REVISION,
    tag: str | None = None,
    with_training_state: bool = False,
    license_id: str | None = None,
    card: Path | None = None,
    base_model: bool = False,
    reference: str | None = None,
    fine_tuning: dict[str, Any] | None = None,
) -> PushPlan:
    """Write into ``folder`` exactly the files a push uploads; the model card is generated for the repo
    (``base_model``: a card for weights cut to :data:`BASE_PARTS`, see :func:`stage_base_model`;
    ``reference``: what its usage lines name, default ``hf://REPO``; ``fine_tuning``: the options a run
    starting from it takes, recorded in its config)."""
    source = resolve_checkpoint_dir(checkpoint, purpose=FINE_TUNE)  # a push from hf://: every network
    config = _read_checkpoint_config(source)
    _check_weights(source / MODEL_FILE)
    if (source / TRAINING_WEIGHTS_FILE).is_file():
        _check_weights(source / TRAINING_WEIGHTS_FILE)
    if with_training_state:
        for name in (STATE_FILE, STATE_JSON):
            if not (source / name).is_file():
                raise MaskgenError(f"--with-training-state: {source} has no {name}")
    upscaler = _read_upscaler(source)
    if card is not None and not card.is_file():  # checked before anything is staged
        raise MaskgenError(f"model card not found: {card}")
    if folder.is_dir() and any(folder.iterdir()):
        raise MaskgenError(f"{folder} exists and is not empty; choose another folder for the upload")
    make_folder(folder)
    copy_weights(
        source, folder, config.get("kind"), BASE_PARTS.get(config.get("kind")) if base_model else None
    )
    # A checkpoint from before lineages were recorded gets its history written down now, while the
    # base models it names are still the ones it was trained from.
    lineage = lineage_of(config)
    recorded = ({"lineage": lineage} if lineage and "lineage" not in config else {}) | (
        {"fine_tuning": fine_tuning} if fine_tuning else {}
    )
    if recorded:
        config = {**config, **recorded}
        text = json.dumps(config, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        (folder / CONFIG_FILE).write_text(text, encoding="utf-8")
    else:
        _copy(source / CONFIG_FILE, folder / CONFIG_FILE)
    if (source / SAMPLES_FILE).is_file():
        _copy(source / SAMPLES_FILE, folder / SAMPLES_FILE)
    metrics = find_metrics(source)
    if metrics is not None:
        text = json.dumps(metrics, indent=2, sort_keys=True)
        (folder / METRICS_FILE).write_text(text + "\n", encoding="utf-8")
    if with_training_state:
        for name in (STATE_FILE, STATE_JSON):
            _copy(source / name, folder / name)
    if upscaler is not None:
        make_folder(folder / UPSCALER_DIR)
        for name in UPSCALER_FILES:
            if (source / name).is_file() and name != f"{UPSCALER_DIR}/{MODEL_FILE}":
                _copy(source / name, folder / name)
        # Its inference weights alone, in the split layout (an 0.1 checkpoint's are converted).
        copy_weights(source / UPSCALER_DIR, folder / UPSCALER_DIR, UPSCALER_DIR, ("U_ema.",))
    if card is not None:
        _copy(card, folder / README_FILE)
    else:
        text = model_card(
            config,
            metrics=metrics,
            sample_image=SAMPLES_FILE if (folder / SAMPLES_FILE).is_file() else None,
            repo_id=repo_id,
            revision=tag or (revision if revision != DEFAULT_REVISION else None),
            license_id=license_id,
            with_training_state=with_training_state,
            base_model=base_model,
            upscaler=upscaler,
            reference=reference,
            training_networks=networks_in(folder / TRAINING_WEIGHTS_FILE),
        )
        (folder / README_FILE).write_text(text, encoding="utf-8")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    sizes = {name: (folder / name).stat().st_size for name in files}
    return PushPlan(folder, files, repo_id, revision, tag, config, sizes, upscaler or {})


@dataclass
class PushResult:
    plan: PushPlan
    commit: str
    commit_url: str
    deleted: list[str]


def push(
    checkpoint: str | Path,
    repo_id: str,
    private: bool = False,
    revision: str | None = None,
    tag: str | None = None,
    with_training_state: bool = False,
    license_id: str | None = None,
    card: Path | None = None,
    message: str | None = None,
    api: Any = None,
) -> PushResult:
    """Upload a checkpoint directory to ``repo_id`` in one commit (creating the repo and branch)."""
    repo_id = parse_repo_id(repo_id)
    branch = revision or DEFAULT_REVISION
    if offline_mode():
        raise MaskgenError(
            f"cannot push to {repo_id}: HF_HUB_OFFLINE=1 is set (use --dry-run to write the folder locally)"
        )
    import huggingface_hub
    from huggingface_hub.utils import HfHubHTTPError

    from maskgen import __version__

    with tempfile.TemporaryDirectory(prefix="maskgen-push-") as tmp:
        plan = stage_upload(
            checkpoint, Path(tmp) / "upload", repo_id, branch, tag, with_training_state, license_id, card
        )
        api = api or huggingface_hub.HfApi(
            endpoint=os.environ.get("HF_ENDPOINT") or None,
            library_name="maskgen",
            library_version=__version__,
        )
        try:
            # private=None keeps the account's default for new repos and never changes an existing one.
            api.create_repo(repo_id, private=True if private else None, exist_ok=True)
            if tag is not None and tag in {t.name for t in api.list_repo_refs(repo_id).tags}:
                raise MaskgenError(f"tag {tag!r} already exists in {repo_id}; tags name one commit forever")
            if branch != DEFAULT_REVISION:
                api.create_branch(repo_id, branch=branch, exist_ok=True)
            existing = set(api.list_repo_files(repo_id, revision=branch))
            deleted = sorted(n for n in MANAGED_FILES if n in existing and n not in plan.files)
            operations: list[Any] = [
                huggingface_hub.CommitOperationAdd(path_in_repo=name, path_or_fileobj=str(plan.folder / name))
                for name in plan.files
            ]
            operations += [huggingface_hub.CommitOperationDelete(path_in_repo=name) for name in deleted]
            info = api.create_commit(
                repo_id, operations, commit_message=message or plan.commit_message(), revision=branch
            )
            if tag is not None:
                api.create_tag(repo_id, tag=tag, revision=info.oid)
        except HfHubHTTPError as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status in (401, 403):
                raise MaskgenError(
                    f"not allowed to write to {repo_id}: "
                    "log in with a write token (hf auth login, or HF_TOKEN)"
                ) from None
            raise MaskgenError(f"push to {repo_id} failed: {one_line(exc)}") from None
        except OSError as exc:  # connection errors are OSErrors in huggingface_hub
            raise MaskgenError(
                f"cannot reach the Hugging Face Hub to push {repo_id}: {one_line(exc)}"
            ) from None
    return PushResult(plan, str(info.oid), str(info.commit_url), deleted)


def _read_checkpoint_config(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise MaskgenError(f"not a maskgen checkpoint (no {CONFIG_FILE}): {directory}")
    config = read_checkpoint_json(path)
    if "kind" not in config:
        raise MaskgenError(f"{path} is not a maskgen checkpoint config (no 'kind')")
    return config


def _read_upscaler(source: Path) -> dict[str, Any] | None:
    """The config of the upscaler a GAN checkpoint carries in ``upscaler/``, checked as a push checks
    the checkpoint itself; None when it carries none."""
    folder = source / UPSCALER_DIR
    if not folder.is_dir() or not any((folder / name).is_file() for name in (MODEL_FILE, CONFIG_FILE)):
        return None
    config = _read_checkpoint_config(folder)
    if config.get("kind") != UPSCALER_DIR:
        raise MaskgenError(f"{folder} is a {config['kind']} checkpoint, not the upscaler of {source}")
    _check_weights(folder / MODEL_FILE)
    return config


def _check_weights(path: Path) -> None:
    """The header must parse as safetensors; the tensors themselves are not read."""
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise MaskgenError(f"checkpoint file missing: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            if not list(handle.keys()):
                raise MaskgenError(f"{path} holds no tensors")
    except (SafetensorError, OSError, ValueError) as exc:
        raise MaskgenError(
            f"unreadable checkpoint file {path} (not valid safetensors: {one_line(exc)})"
        ) from None


def _copy(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)  # follows the cache's symlinks: the upload holds real files


# What a base model keeps of a checkpoint, by its kind: of a GAN, the averaged generator and the
# discriminator (a new run starts G as G_ema, as the reference's resume does), a third less to ship; of
# a translator, the translator and its discriminator (a new translation run fine-tunes both).
BASE_MODEL_PARTS = ("G_ema.", "D.")
BASE_TRANSLATOR_PARTS = ("T.", "D.")
# An upscaler: its averaged weights (what draws and what fine-tuning starts U from) and its D.
BASE_UPSCALER_PARTS = ("U_ema.", "D.")
BASE_PARTS = {"gan": BASE_MODEL_PARTS, "translation": BASE_TRANSLATOR_PARTS, "upscaler": BASE_UPSCALER_PARTS}


def stage_base_model(
    checkpoint: str | Path, folder: Path, name: str, fine_tuning: dict[str, Any] | None = None
) -> PushPlan:
    """Write a GAN, translation or upscaler checkpoint into ``folder`` as a base model: the Hub layout of
    a push with the weights cut to :data:`BASE_PARTS` of its kind (the inference network in
    model.safetensors, D in training_weights.safetensors), and a card whose usage names ``base:NAME``.
    ``fine_tuning``: how a GAN base model fine-tunes best (:data:`FINE_TUNING_OPTIONS`), which new runs
    starting from it take where their own config leaves those options unset."""
    from maskgen.artifacts.base_models import BASE_SCHEME

    source = resolve_checkpoint_dir(checkpoint)
    kind = _read_checkpoint_config(source).get("kind")
    if kind not in BASE_PARTS:
        raise MaskgenError(
            f"a base model is a GAN, translation or upscaler checkpoint; {checkpoint} is a {kind} checkpoint"
        )
    if fine_tuning:
        _check_fine_tuning(fine_tuning, kind)
    return stage_upload(
        source,
        folder,
        repo_id=f"maskgen/{name}",
        base_model=True,
        reference=BASE_SCHEME + name,
        fine_tuning=fine_tuning,
    )


def _check_fine_tuning(options: dict[str, Any], kind: Any) -> None:
    if kind != "gan":
        raise MaskgenError(f"fine-tuning options are for GAN base models; this is a {kind} checkpoint")
    unknown = sorted(set(options) - set(FINE_TUNING_OPTIONS))
    if unknown:
        raise MaskgenError(
            f"unknown fine-tuning option {unknown[0]!r}; valid: {', '.join(FINE_TUNING_OPTIONS)}"
        )
    validate_config(dict(options))  # the ranges a run's config has
