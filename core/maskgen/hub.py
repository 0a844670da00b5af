"""Checkpoints on the Hugging Face Hub: ``hf://OWNER/REPO[@REVISION]`` references, pull and push.

A reference is resolved with ``huggingface_hub.snapshot_download`` into the standard Hugging Face cache
(``HF_HUB_CACHE``, default ``~/.cache/huggingface/hub``)::

    models--OWNER--REPO/
        blobs/<hash>                      file contents
        refs/<branch or tag>              the commit hash the name pointed to when last resolved
        snapshots/<commit>/<file>         links into blobs/

The folder ``snapshots/<commit>`` is an ordinary maskgen checkpoint directory, so everything that reads a
checkpoint path reads a Hub reference too. Its name is the resolved commit hash, which is recorded where
results must be traced to exact weights (``run --init``). With ``HF_HUB_OFFLINE=1`` only the cache is
read, and anything not in it fails at once with one line naming the repo, revision and file.

``huggingface_hub`` is imported inside the functions that need it, so parsing references (done for
every checkpoint path) costs nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maskgen.checkpoint import CONFIG_FILE, MODEL_FILE, STATE_FILE, STATE_JSON, resolve_checkpoint_dir
from maskgen.errors import MaskgenError
from maskgen.modelcard import METRICS_FILE, README_FILE, SAMPLES_FILE, find_metrics, model_card

SCHEME = "hf://"
DEFAULT_REVISION = "main"
REQUIRED_FILES = (MODEL_FILE, CONFIG_FILE)
# Files maskgen itself puts in a repo; a push removes the ones of an earlier push it does not upload again,
# so a repo never pairs new weights with stale training state, samples or metrics.
MANAGED_FILES = (MODEL_FILE, CONFIG_FILE, README_FILE, SAMPLES_FILE, METRICS_FILE, STATE_FILE, STATE_JSON)

_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_REPO_RE = re.compile(rf"^{_NAME}/{_NAME}$")
_SHORT_RE = re.compile(rf"^({_NAME}/{_NAME})@(\S+)$")
_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class HubReference:
    """A repo on the Hub and a revision: a branch, a tag or a commit hash."""

    repo_id: str
    revision: str = DEFAULT_REVISION

    def __str__(self) -> str:
        return f"{SCHEME}{self.repo_id}@{self.revision}"


@dataclass(frozen=True)
class ResolvedCheckpoint:
    """Where a reference was found in the local cache, and the commit its revision pointed to."""

    reference: HubReference
    commit: str
    path: Path

    @property
    def pinned(self) -> str:
        """The same weights forever: the reference with its revision replaced by the commit hash."""
        return f"{SCHEME}{self.reference.repo_id}@{self.commit}"

    def provenance(self) -> dict[str, str]:
        return {
            "reference": str(self.reference),
            "repo": self.reference.repo_id,
            "revision": self.reference.revision,
            "commit": self.commit,
        }


# --------------------------------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------------------------------


def reference_text(path: str | Path) -> str | None:
    """The Hub reference a checkpoint argument names, or None for a local path.

    ``hf://...`` always is one; ``OWNER/REPO@REV`` only when no local path of that name exists. A
    ``Path`` works too: commands that declare ``--checkpoint`` as a Path get ``hf:/OWNER/REPO`` (pathlib
    folds the double slash), which is read back as ``hf://OWNER/REPO``.
    """
    if isinstance(path, Path):
        text = str(path)
        if text.startswith("hf:/") and not path.exists():
            return SCHEME + text[len("hf:/") :]
    elif isinstance(path, str):
        text = path
        if text.startswith(SCHEME):
            return text
    else:
        return None
    return text if _SHORT_RE.match(text) and not Path(text).exists() else None


def is_hub_reference(path: str | Path) -> bool:
    return reference_text(path) is not None


def parse_reference(text: str, allow_bare: bool = False) -> HubReference:
    """Parse ``hf://OWNER/REPO[@REV]``, ``OWNER/REPO@REV`` or ``hf://NAME`` (a plugin's short name).

    ``allow_bare`` also accepts ``OWNER/REPO`` and ``NAME`` without the scheme (``maskgen pull``, where
    the argument cannot be a local path).
    """
    original = text
    body = text[len(SCHEME) :] if text.startswith(SCHEME) else text
    if not text.startswith(SCHEME) and not allow_bare and not _SHORT_RE.match(text):
        raise MaskgenError(f"not a Hub reference: {original!r} (expected hf://OWNER/REPO[@REVISION])")
    repo_id, sep, revision = body.partition("@")
    if sep and not revision:
        raise MaskgenError(f"empty revision in {original!r} (expected hf://OWNER/REPO@REVISION)")
    if "/" not in repo_id and not sep:
        return _named_checkpoint(repo_id, original)
    if not _REPO_RE.match(repo_id):
        raise MaskgenError(
            f"bad Hub reference {original!r}: {repo_id!r} is not OWNER/REPO "
            "(letters, digits, '-', '_' and '.', one '/')"
        )
    return HubReference(repo_id, revision or DEFAULT_REVISION)


def _named_checkpoint(name: str, original: str) -> HubReference:
    """A short name that an installed plugin maps to ``OWNER/REPO@REVISION``."""
    from maskgen.plugins import get_registry

    named = get_registry().pretrained_checkpoints()
    if name not in named:
        known = ", ".join(sorted(named)) or "none are registered"
        raise MaskgenError(
            f"unknown pretrained checkpoint {original!r}: not OWNER/REPO and not a registered name "
            f"(registered: {known}; see maskgen list-plugins --checkpoints)"
        )
    target, distribution = named[name]
    try:
        return parse_reference(target if target.startswith(SCHEME) else SCHEME + target)
    except MaskgenError as exc:
        raise MaskgenError(f"plugin {distribution} names checkpoint {name!r} badly: {exc}") from None


# --------------------------------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------------------------------


def _truthy(value: str | None) -> bool:
    return (value or "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def offline_mode() -> bool:
    """``HF_HUB_OFFLINE`` read now (huggingface_hub reads it once at import, tests set it later)."""
    if "HF_HUB_OFFLINE" in os.environ:
        return _truthy(os.environ["HF_HUB_OFFLINE"])
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def cache_dir() -> Path:
    """The Hugging Face hub cache, from ``HF_HUB_CACHE`` or ``HF_HOME`` as they are now."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE).expanduser()


def repo_cache_folder(repo_id: str) -> Path:
    return cache_dir() / ("models--" + repo_id.replace("/", "--"))


# --------------------------------------------------------------------------------------------------
# Resolving (pull)
# --------------------------------------------------------------------------------------------------


def resolve(reference: str | HubReference, required: tuple[str, ...] = REQUIRED_FILES) -> ResolvedCheckpoint:
    """Download (or, offline, find) a checkpoint repo in the cache; every ``required`` file must exist."""
    ref = reference if isinstance(reference, HubReference) else parse_reference(reference)
    import huggingface_hub
    from huggingface_hub.utils import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    from maskgen import __version__

    offline = offline_mode()
    first = required[0] if required else MODEL_FILE
    try:
        folder = huggingface_hub.snapshot_download(
            ref.repo_id,
            revision=ref.revision,
            cache_dir=str(cache_dir()),
            local_files_only=offline,  # offline: never even try the network
            endpoint=os.environ.get("HF_ENDPOINT") or None,  # read now, like HF_HUB_OFFLINE
            library_name="maskgen",
            library_version=__version__,
        )
    except LocalEntryNotFoundError as exc:  # nothing usable in the cache and no way to download
        missing = _first_missing(ref, required) or first
        raise _fail(ref, missing, _not_cached_reason(ref, offline, exc)) from None
    except GatedRepoError:
        raise _fail(ref, first, "the repository is gated: accept its terms on the Hub and log in") from None
    except RepositoryNotFoundError:
        raise _fail(
            ref, first, f"repository {ref.repo_id} not found on the Hub (private? log in: hf auth login)"
        ) from None
    except RevisionNotFoundError:
        raise _fail(ref, first, f"{ref.repo_id} has no branch, tag or commit {ref.revision!r}") from None
    except HFValidationError as exc:
        raise _fail(ref, first, _one_line(exc)) from None
    except (HfHubHTTPError, OSError) as exc:  # connection problems, Hub errors, a full disk
        raise _fail(ref, first, _one_line(exc)) from None
    path = Path(folder)
    for name in required:
        if not (path / name).is_file():
            if offline:
                reason = f"not in the cached snapshot {path} and HF_HUB_OFFLINE=1 forbids downloading it"
            else:
                reason = f"the repository has no such file at commit {path.name} (not a maskgen checkpoint?)"
            raise _fail(ref, name, reason)
    # snapshots/<commit>: the folder name is the resolved commit hash.
    return ResolvedCheckpoint(ref, path.name, path)


def pin_reference(text: str) -> tuple[str, dict[str, str] | None]:
    """(``hf://REPO@COMMIT``, provenance) for a Hub reference; (text, None) for a local path."""
    reference = reference_text(text)
    if reference is None:
        return text, None
    resolved = resolve(reference)
    return resolved.pinned, resolved.provenance()


def _first_missing(ref: HubReference, required: tuple[str, ...]) -> str | None:
    """Which required file the cache lacks for this revision, when the snapshot folder exists."""
    repo = repo_cache_folder(ref.repo_id)
    commit = ref.revision
    if not _COMMIT_RE.match(commit):
        ref_file = repo / "refs" / ref.revision
        if not ref_file.is_file():
            return None
        commit = ref_file.read_text(encoding="utf-8").strip()
    snapshot = repo / "snapshots" / commit
    if not snapshot.is_dir():
        return None
    return next((name for name in required if not (snapshot / name).is_file()), None)


def _not_cached_reason(ref: HubReference, offline: bool, exc: BaseException) -> str:
    where = cache_dir()
    if offline:
        return (
            f"not in the Hugging Face cache ({where}) and HF_HUB_OFFLINE=1 forbids downloading it "
            f"(pull it once with network access: maskgen pull {ref.repo_id}@{ref.revision})"
        )
    cause = exc.__cause__ or exc.__context__
    detail = f" ({_one_line(cause)})" if cause is not None else ""
    return f"the Hub cannot be reached and the file is not in the cache ({where}){detail}"


def _fail(ref: HubReference, filename: str, reason: str) -> MaskgenError:
    return MaskgenError(f"cannot get {filename} of {ref}: {reason}")


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------------
# Pushing
# --------------------------------------------------------------------------------------------------


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

    def commit_message(self) -> str:
        train = self.config.get("train", {})
        kind = self.config.get("kind", "checkpoint")
        size = train.get("resolution") or self.config.get("size")
        kimg = self.config.get("kimg")
        what = f"{kind} checkpoint" + (f", {size} px" if size else "")
        what += f", {float(kimg):g} kimg" if isinstance(kimg, (int, float)) else ""
        return f"maskgen push: {what}"


def parse_repo_id(text: str) -> str:
    """``OWNER/REPO`` (or ``hf://OWNER/REPO``) for push, where a revision is given by --revision."""
    body = text[len(SCHEME) :] if text.startswith(SCHEME) else text
    if "@" in body:
        raise MaskgenError(f"push takes OWNER/REPO without a revision, got {text!r}; use --revision BRANCH")
    if not _REPO_RE.match(body):
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
) -> PushPlan:
    """Write into ``folder`` exactly the files a push uploads; the model card is generated for the repo."""
    source = resolve_checkpoint_dir(checkpoint)
    config = _read_checkpoint_config(source)
    _check_weights(source / MODEL_FILE)
    if folder.exists() and any(folder.iterdir()):
        raise MaskgenError(f"{folder} exists and is not empty; choose another folder for the upload")
    folder.mkdir(parents=True, exist_ok=True)
    _copy(source / MODEL_FILE, folder / MODEL_FILE)
    _copy(source / CONFIG_FILE, folder / CONFIG_FILE)
    if (source / SAMPLES_FILE).is_file():
        _copy(source / SAMPLES_FILE, folder / SAMPLES_FILE)
    metrics = find_metrics(source)
    if metrics is not None:
        text = json.dumps(metrics, indent=2, sort_keys=True)
        (folder / METRICS_FILE).write_text(text + "\n", encoding="utf-8")
    if with_training_state:
        for name in (STATE_FILE, STATE_JSON):
            if not (source / name).is_file():
                raise MaskgenError(f"--with-training-state: {source} has no {name}")
            _copy(source / name, folder / name)
    if card is not None:
        if not card.is_file():
            raise MaskgenError(f"model card not found: {card}")
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
        )
        (folder / README_FILE).write_text(text, encoding="utf-8")
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    sizes = {name: (folder / name).stat().st_size for name in files}
    return PushPlan(folder, files, repo_id, revision, tag, config, sizes)


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
            raise MaskgenError(f"push to {repo_id} failed: {_one_line(exc)}") from None
        except OSError as exc:  # connection errors are OSErrors in huggingface_hub
            raise MaskgenError(
                f"cannot reach the Hugging Face Hub to push {repo_id}: {_one_line(exc)}"
            ) from None
    return PushResult(plan, str(info.oid), str(info.commit_url), deleted)


def _read_checkpoint_config(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise MaskgenError(f"not a maskgen checkpoint (no {CONFIG_FILE}): {directory}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MaskgenError(f"unreadable checkpoint file {path}: {_one_line(exc)}") from None
    if not isinstance(config, dict) or "kind" not in config:
        raise MaskgenError(f"{path} is not a maskgen checkpoint config (no 'kind')")
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
            f"unreadable checkpoint file {path} (not valid safetensors: {_one_line(exc)})"
        ) from None


def _copy(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)  # follows the cache's symlinks: the upload holds real files
