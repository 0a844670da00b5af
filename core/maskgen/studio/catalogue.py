"""Which checkpoints the studio may read, and the models loaded from them.

The catalogue is fixed when the studio starts: the checkpoints named with ``--checkpoint`` and
``--translator``; without them, the base models shipped in the package and the runs found under
``runs/``. Hub checkpoints pulled from the page (``hf://OWNER/REPO@REV``, through the usual cache) are
added while it runs. A request names a checkpoint by its label in the list; a path typed instead is
served only when, with every symlink resolved, it lies inside an allowed root (a listed checkpoint's
folder, the runs folder that was searched, the shipped base models), so no request can make the
studio read any other file on the machine.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from maskgen.artifacts import hub_pull
from maskgen.artifacts.base_models import (
    BASE_SCHEME,
    base_models_dir,
    class_names,
    list_base_models,
    list_base_translators,
)
from maskgen.artifacts.checkpoint import resolve_checkpoint_dir
from maskgen.artifacts.layout import CONFIG_FILE, MODEL_FILE
from maskgen.errors import MaskgenError

GAN = "gan"
TRANSLATOR = "translation"  # maskgen.translation.trainer.CHECKPOINT_KIND
TRAIN_HINT = (
    "No trained generator yet: train one on your masks in the Train tab, or with `maskgen run "
    "--augment ada` (about 15 minutes on a laptop CPU; it appears here after a restart), or pull one "
    "in the Hub tab."
)
TRAIN_TRANSLATOR_HINT = "No translator yet: train one with `maskgen translate train --translator cocosnet`."
_RUN_PATTERNS = ("*/checkpoints/latest", "*/*/checkpoints/latest", "*/*/*/checkpoints/latest")


@dataclass(frozen=True)
class Entry:
    """One checkpoint the studio serves."""

    label: str  # what the page lists
    path: Path  # the checkpoint folder as given or found (``latest`` stays a link: new snapshots show)
    kind: str  # GAN or TRANSLATOR
    source: str  # "given", "base model", "run", "hub"
    classes: tuple[str, ...] = ()  # a conditional generator's classes


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _read_config(directory: Path) -> dict[str, Any]:
    try:
        data = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MaskgenError(f"unreadable checkpoint config {directory / CONFIG_FILE}: {exc}") from None
    if not isinstance(data, dict):
        raise MaskgenError(f"unreadable checkpoint config {directory / CONFIG_FILE}: not a JSON object")
    return data


def describe(path: Path, label: str, source: str) -> Entry:
    """An entry for a checkpoint folder (already resolved), with its kind read from config.json."""
    config = _read_config(path)
    kind = config.get("kind")
    if kind not in (GAN, TRANSLATOR):
        raise MaskgenError(f"{label} is not a maskgen generator or translator checkpoint (kind {kind!r})")
    return Entry(label, path, kind, source, tuple(class_names(config)))


class Catalogue:
    """The checkpoints a studio serves (thread-safe: Hub pulls add entries while requests read)."""

    def __init__(
        self,
        checkpoints: Sequence[str] = (),
        translators: Sequence[str] = (),
        runs_root: Path | None = Path("runs"),
    ) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}
        self._roots: list[Path] = []
        given = list(checkpoints) + list(translators)
        for text in given:
            self._add(self._given(text, GAN if text in checkpoints else TRANSLATOR))
        shipped = []  # nothing named of a kind: the base models of that kind shipped in the package
        if not checkpoints:
            shipped += list_base_models()
        if not translators:
            shipped += list_base_translators()
        for directory in shipped:
            self._add(describe(directory, BASE_SCHEME + directory.name, "base model"))
        if shipped:
            self._roots.append(base_models_dir().resolve())
        if not given and runs_root is not None and runs_root.is_dir():
            self._roots.append(runs_root.resolve())
            for entry in find_runs(runs_root):
                self._add(entry)

    # -- building ------------------------------------------------------------------------------------

    def _given(self, text: str, kind: str) -> Entry:
        source = "hub" if hub_pull.is_hub_reference(text) else "given"
        entry = describe(resolve_checkpoint_dir(text), text, source)
        if entry.kind != kind:
            flag = "--checkpoint" if kind == GAN else "--translator"
            other = "a translator" if entry.kind == TRANSLATOR else "a generator"
            raise MaskgenError(f"{flag} {text} is {other} checkpoint")
        return entry

    def _add(self, entry: Entry) -> Entry:
        with self._lock:
            self._entries[entry.label] = entry
            root = entry.path.resolve()
            # A run's `latest` moves between snapshots: allow the run's checkpoints folder.
            if entry.path.name == "latest" or entry.path.is_symlink():
                root = entry.path.parent.resolve()
            if not any(_within(root, r) for r in self._roots):
                self._roots.append(root)
        return entry

    def add_hub(self, reference: str) -> Entry:
        """Pull ``hf://OWNER/REPO@REV`` through the Hugging Face cache (offline: the cache only) and
        serve it; the label is the reference as typed, normalised to ``hf://OWNER/REPO@REV``."""
        text = reference.strip()
        if not text.startswith(hub_pull.SCHEME):
            text = hub_pull.SCHEME + text
        ref = hub_pull.parse_reference(text)
        resolved = hub_pull.resolve(ref)
        return self._add(describe(resolved.path, str(ref), "hub"))

    def add_run(self, run_dir: Path) -> Entry | None:
        """Serve a run trained from the page once it has a checkpoint; None until then."""
        latest = run_dir / "checkpoints" / "latest"
        label = run_dir.as_posix()
        with self._lock:
            if label in self._entries:
                return self._entries[label]
        if not (latest / MODEL_FILE).is_file():
            return None
        return self._add(describe(latest, label, "run"))

    # -- reading -------------------------------------------------------------------------------------

    def labels(self, kind: str) -> list[str]:
        with self._lock:
            return [e.label for e in self._entries.values() if e.kind == kind]

    def roots(self) -> list[Path]:
        with self._lock:
            return list(self._roots)

    def entry(self, text: str | None, kind: str) -> Entry:
        """The entry a request names: a label of the list, an hf:// reference (pulled through the
        cache), or a path inside an allowed root. Anything else is one line."""
        what = "generator" if kind == GAN else "translator"
        text = (text or "").strip()
        if not text:
            raise MaskgenError(f"no {what} checkpoint chosen; {TRAIN_HINT if kind == GAN else ''}".strip())
        with self._lock:
            found = self._entries.get(text)
        if found is None and hub_pull.is_hub_reference(text):
            found = self.add_hub(text)
        if found is None:
            found = self._local(text, what)
        if found.kind != kind:
            raise MaskgenError(f"{text} is not a {what} checkpoint")
        return found

    def _local(self, text: str, what: str) -> Entry:
        real = Path(text).expanduser().resolve()
        roots = self.roots()
        # Checked before looking at the file, so a request cannot even learn whether a path exists.
        if not any(_within(real, root) for root in roots):
            raise MaskgenError(
                f"checkpoint path {text!r} is outside the folders this studio serves; start it with "
                f"`maskgen studio --checkpoint {text}` to serve it"
            )
        directory = resolve_checkpoint_dir(real)
        if not any(_within(directory.resolve(), root) for root in roots):
            raise MaskgenError(f"checkpoint path {text!r} leads outside the folders this studio serves")
        if not (directory / MODEL_FILE).is_file():
            raise MaskgenError(f"{text} is not a maskgen {what} checkpoint")
        return describe(directory, text, "run")


def find_runs(runs_root: Path) -> list[Entry]:
    """The runs under ``runs_root`` (up to three folders deep) whose ``checkpoints/latest`` has weights,
    newest first; a run still writing its first snapshot, or a damaged one, is left out."""
    found: list[Entry] = []
    seen: set[Path] = set()
    for pattern in _RUN_PATTERNS:
        for latest in runs_root.glob(pattern):
            if latest in seen or not (latest / MODEL_FILE).is_file():
                continue
            seen.add(latest)
            run = latest.parent.parent
            try:
                found.append(describe(latest, run.as_posix(), "run"))
            except MaskgenError:
                continue
    return sorted(found, key=lambda e: e.path.stat().st_mtime, reverse=True)


class ModelCache:
    """Models loaded by checkpoint folder, at most ``size`` kept (least recently used dropped).

    Keyed by the resolved folder, so a run's ``latest`` that moved on loads the new snapshot. Loading
    is serialised; the loaded models are only read afterwards (generation runs under no_grad; the
    projector works on its own copy), so requests share them.
    """

    def __init__(self, device: torch.device, size: int = 4) -> None:
        self.device = device
        self.size = size
        self._lock = threading.Lock()
        self._models: OrderedDict[tuple[str, Path], Any] = OrderedDict()

    def get(self, what: str, path: Path, load: Callable[[Path, torch.device], Any]) -> Any:
        key = (what, resolve_checkpoint_dir(path).resolve())
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            model = load(key[1], self.device)
            self._models[key] = model
            while len(self._models) > self.size:
                self._models.popitem(last=False)
            return model
