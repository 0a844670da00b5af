"""Checkpoints on the Hugging Face Hub: ``hf://OWNER/REPO[@REVISION]`` references, resolving and pulling.

A reference is resolved with ``huggingface_hub.snapshot_download`` into the standard Hugging Face cache
(``HF_HUB_CACHE``, default ``~/.cache/huggingface/hub``)::

    models--OWNER--REPO/
        blobs/<hash>                      file contents
        refs/<branch or tag>              the commit hash the name pointed to when last resolved
        snapshots/<commit>/<file>         links into blobs/

The folder ``snapshots/<commit>`` is an ordinary maskgen checkpoint directory, so everything that reads a
checkpoint path reads a Hub reference too. Only the files a purpose needs are fetched (``allow_patterns``):
drawing takes the inference weights, the config and the card (and a GAN's ``upscaler/``); fine-tuning
(``run --init``) adds ``training_weights.safetensors``; ``all`` takes the whole repo, training state and
sample grid included. Later fetches of the same commit add their files to the same snapshot folder, whose
name is the resolved commit hash, recorded where results must be traced to exact weights (``run --init``).
With ``HF_HUB_OFFLINE=1`` only the cache is read, and anything not in it fails at once with one line
naming the repo, revision and file.

``huggingface_hub`` is imported inside the functions that need it, so parsing references (done for
every checkpoint path) costs nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from maskgen.artifacts.layout import (
    CONFIG_FILE,
    METRICS_FILE,
    MODEL_FILE,
    README_FILE,
    TRAINING_WEIGHTS_FILE,
    UPSCALER_DIR,
    inference_network,
    is_prefixed,
)
from maskgen.errors import MaskgenError

SCHEME = "hf://"
DEFAULT_REVISION = "main"
REQUIRED_FILES = (MODEL_FILE, CONFIG_FILE)

# What a pull fetches, by what the checkpoint is for.
DRAW, FINE_TUNE, ALL = "draw", "fine-tune", "all"
PURPOSES = (DRAW, FINE_TUNE, ALL)
_DRAW_FILES = (MODEL_FILE, CONFIG_FILE, README_FILE, METRICS_FILE)
ALLOW_PATTERNS: dict[str, list[str] | None] = {
    DRAW: [*_DRAW_FILES, *(f"{UPSCALER_DIR}/{name}" for name in _DRAW_FILES)],
    FINE_TUNE: [*_DRAW_FILES, *(f"{UPSCALER_DIR}/{name}" for name in _DRAW_FILES), TRAINING_WEIGHTS_FILE],
    ALL: None,  # everything in the repo
}
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
REPO_RE = re.compile(rf"^{_NAME}/{_NAME}$")
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
    if not REPO_RE.match(repo_id):
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


def resolve(
    reference: str | HubReference, required: tuple[str, ...] = REQUIRED_FILES, purpose: str = DRAW
) -> ResolvedCheckpoint:
    """Download (or, offline, find) the files of a checkpoint repo that ``purpose`` needs (draw,
    fine-tune, all: :data:`ALLOW_PATTERNS`) into the cache; every ``required`` file must exist."""
    if purpose not in ALLOW_PATTERNS:
        raise MaskgenError(f"unknown purpose {purpose!r}; valid: {', '.join(PURPOSES)}")
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
            allow_patterns=ALLOW_PATTERNS[purpose],
            endpoint=os.environ.get("HF_ENDPOINT") or None,  # read now, like HF_HUB_OFFLINE
            library_name="maskgen",
            library_version=__version__,
        )
    except LocalEntryNotFoundError as exc:  # nothing usable in the cache and no way to download
        missing = _first_missing(ref, required) or _listed_missing(exc) or first
        raise _fail(ref, missing, _not_cached_reason(ref, offline, exc, purpose)) from None
    except GatedRepoError:
        raise _fail(ref, first, "the repository is gated: accept its terms on the Hub and log in") from None
    except RepositoryNotFoundError:
        raise _fail(
            ref, first, f"repository {ref.repo_id} not found on the Hub (private? log in: hf auth login)"
        ) from None
    except RevisionNotFoundError:
        raise _fail(ref, first, f"{ref.repo_id} has no branch, tag or commit {ref.revision!r}") from None
    except HFValidationError as exc:
        raise _fail(ref, first, one_line(exc)) from None
    except (HfHubHTTPError, OSError) as exc:  # connection problems, Hub errors, a full disk
        raise _fail(ref, first, one_line(exc)) from None
    path = Path(folder)
    # A GAN checkpoint's upscaler (its sub-folder upscaler/) comes with it, whole or not at all.
    carried = (f"{UPSCALER_DIR}/{name}" for name in REQUIRED_FILES) if (path / UPSCALER_DIR).is_dir() else ()
    for name in (*required, *carried):
        if not (path / name).is_file():
            if offline:
                reason = f"not in the cached snapshot {path} and HF_HUB_OFFLINE=1 forbids downloading it"
            else:
                reason = f"the repository has no such file at commit {path.name} (not a maskgen checkpoint?)"
            raise _fail(ref, name, reason)
    # snapshots/<commit>: the folder name is the resolved commit hash.
    return ResolvedCheckpoint(ref, path.name, path)


def _split(folder: Path) -> bool:
    """Whether a checkpoint folder's model.safetensors holds the inference network alone (the split
    layout), read from its header; False when that cannot be told (then loading says what is wrong)."""
    import json

    from safetensors import SafetensorError, safe_open

    try:
        kind = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8")).get("kind")
        with safe_open(str(folder / MODEL_FILE), framework="pt") as handle:
            names = list(handle.keys())
    except (OSError, ValueError, AttributeError, SafetensorError):
        return False
    return inference_network(kind) is not None and not is_prefixed(names, kind)


def pin_reference(text: str) -> tuple[str, dict[str, str] | None]:
    """(``hf://REPO@COMMIT``, provenance) for a Hub reference; (text, None) for a local path. What
    ``run --init`` records: the snapshot gets the files fine-tuning needs (the training weights too)."""
    reference = reference_text(text)
    if reference is None:
        return text, None
    resolved = resolve(reference, purpose=FINE_TUNE)
    path = resolved.path
    if offline_mode() and not (path / TRAINING_WEIGHTS_FILE).is_file() and _split(path):
        # A snapshot pulled to draw holds the inference weights alone; fine-tuning needs the rest.
        why = _not_cached_reason(resolved.reference, True, LookupError(), FINE_TUNE)
        raise _fail(resolved.reference, TRAINING_WEIGHTS_FILE, why)
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


def _listed_missing(exc: BaseException) -> str | None:
    """The first file huggingface_hub says a cached snapshot lacks (its IncompleteSnapshotError, when
    a cached listing of the repo names files that a purpose needs and the cache does not hold)."""
    found = re.search(r"missing \(([^,)\s]+)", str(exc)) if hasattr(exc, "snapshot_path") else None
    return found.group(1) if found else None


def _not_cached_reason(ref: HubReference, offline: bool, exc: BaseException, purpose: str = DRAW) -> str:
    where = cache_dir()
    if offline:
        flag = "" if purpose == DRAW else f" --for {purpose}"
        return (
            f"not in the Hugging Face cache ({where}) and HF_HUB_OFFLINE=1 forbids downloading it "
            f"(pull it once with network access: maskgen pull {ref.repo_id}@{ref.revision}{flag})"
        )
    cause = exc.__cause__ or exc.__context__
    detail = f" ({one_line(cause)})" if cause is not None else ""
    return f"the Hub cannot be reached and the file is not in the cache ({where}){detail}"


def _fail(ref: HubReference, filename: str, reason: str) -> MaskgenError:
    return MaskgenError(f"cannot get {filename} of {ref}: {reason}")


def one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
