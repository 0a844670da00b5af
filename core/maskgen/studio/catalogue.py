"""Which checkpoints the studio may read, and the models loaded from them.

The catalogue is fixed when the studio starts: the checkpoints named with ``--checkpoint`` and
``--translator``; without them, the base models shipped in the package and the runs found under
``runs/``. Hub checkpoints pulled from the page (``hf://OWNER/REPO@REV``, through the usual cache) and
folders added with the page's "Add a model" are added while it runs. A request names a checkpoint by
its label in the list; a path given instead is served only when, with every symlink resolved, it lies
inside an allowed root (a listed checkpoint's folder, the runs folder that was searched, the shipped
base models), so no request can make the studio read any other file on the machine. A refusal says
where the studio looked and which folders it serves, and never suggests serving the path.

Without ``--checkpoint`` the page opens on :data:`PREFERRED_BASE`, the shipped generator that draws
the best masks.
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
    "No model to draw masks with yet: train one on your own masks in the 'Train on your masks' tab, or "
    "add one from the Hugging Face Hub with 'Add a model' at the top."
)
TRAIN_TRANSLATOR_HINT = (
    "No colouring model is served here yet: add one from the Hugging Face Hub with 'Add a model' at the top."
)
# The shipped generator the page opens on. Two shipped GANs are 64 px StyleGAN2 + ADA on the same 4000
# masks; the mirrored one trained 182 kimg (the other 80) with G mirrored exactly, and its samples.png
# shows crisp symmetric linework where builtin-64px's first seeds are blobs. It is also the base that
# docs/performance.md measures the cascade on. The third, builtin-64px-varied, is where mirrored
# fine-tunes start: it draws a broader mix (photographs, tinted paper, beards) than a designer wants
# from the first page.
PREFERRED_BASE = "builtin-64px-mirrored"
SOURCE_WORDS = {
    "base model": "shipped with maskgen",
    "run": "a training run",
    "hub": "from the Hub",
    "given": "",
}
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

    def add_path(self, text: str, kind: str | None = None) -> Entry:
        """Serve one more checkpoint folder (the page's "Add a model"): a path inside the served
        folders, or an ``hf://`` reference; of ``kind`` (None: either). Anything else is one line
        saying where the studio looked."""
        text = (text or "").strip()
        if not text:
            raise MaskgenError(
                "type the folder of a model, or hf://OWNER/REPO for one on the Hugging Face Hub"
            )
        if hub_pull.is_hub_reference(text):
            entry = self.add_hub(text)
        else:
            entry = self._local(text, "model" if kind is None else _kind_words(kind).split(" (")[0][2:])
        if kind is not None and entry.kind != kind:
            raise MaskgenError(f"{text!r} is {_kind_words(entry.kind)}, not {_kind_words(kind)}")
        return self._add(entry)

    # -- reading -------------------------------------------------------------------------------------

    def labels(self, kind: str) -> list[str]:
        with self._lock:
            return [e.label for e in self._entries.values() if e.kind == kind]

    def default(self, kind: str) -> str | None:
        """What the page opens on: the first checkpoint given, else the best shipped one, else the
        first listed."""
        with self._lock:
            entries = [e for e in self._entries.values() if e.kind == kind]
        if not entries:
            return None
        given = [e for e in entries if e.source == "given"]
        if given:
            return given[0].label
        preferred = [e for e in entries if e.source == "base model" and e.path.name == PREFERRED_BASE]
        return (preferred or entries)[0].label

    def choices(self, kind: str) -> list[tuple[str, str]]:
        """(what the list shows, the label) for each checkpoint of ``kind``: where it comes from in words."""
        with self._lock:
            entries = [e for e in self._entries.values() if e.kind == kind]
        best = self.default(kind)
        shown = []
        for entry in entries:
            words = [SOURCE_WORDS.get(entry.source, "")]
            if entry.label == best and entry.source == "base model":
                words.insert(0, "recommended")
            extra = ", ".join(w for w in words if w)
            shown.append((f"{entry.label} ({extra})" if extra else entry.label, entry.label))
        return shown

    def served(self) -> str:
        """The folders the studio reads models from, as the page says them."""
        shipped = base_models_dir().resolve()
        names = []
        for root in self.roots():
            if root == shipped or _within(root, shipped):
                name = "the models shipped with maskgen"
            else:
                name = _short(root)
            if name not in names:
                names.append(name)
        return ", ".join(names) if names else "none"

    def roots(self) -> list[Path]:
        with self._lock:
            return list(self._roots)

    def entry(self, text: str | None, kind: str) -> Entry:
        """The entry a request names: a label of the list, an hf:// reference (pulled through the
        cache), or a path inside an allowed root. Anything else is one line."""
        what = "mask model" if kind == GAN else "colouring model"
        text = (text or "").strip()
        if not text:
            raise MaskgenError(f"no {what} chosen. {TRAIN_HINT if kind == GAN else TRAIN_TRANSLATOR_HINT}")
        with self._lock:
            found = self._entries.get(text)
        if found is None and hub_pull.is_hub_reference(text):
            found = self.add_hub(text)
        if found is None:
            found = self._local(text, what)
        if found.kind != kind:
            raise MaskgenError(f"{text!r} is {_kind_words(found.kind)}, not {_kind_words(kind)}")
        return found

    def _local(self, text: str, what: str) -> Entry:
        real = Path(text).expanduser().resolve()
        roots = self.roots()
        said = repr(text) if str(real) == text else f"{text!r} (that is {real})"
        # Checked before looking at the file, so a request cannot even learn whether a path exists.
        if not any(_within(real, root) for root in roots):
            raise MaskgenError(
                f"{said} is not inside the folders this studio serves models from ({self.served()}); "
                "only models in those folders can be used"
            )
        try:
            directory = resolve_checkpoint_dir(real)
        except MaskgenError:
            raise MaskgenError(
                f"no {what} at {said}: looked for {MODEL_FILE} in it, in its latest/ and in its "
                "checkpoints/latest/"
            ) from None
        if not any(_within(directory.resolve(), root) for root in roots):
            raise MaskgenError(
                f"{said} leads outside the folders this studio serves models from ({self.served()})"
            )
        if not (directory / MODEL_FILE).is_file():
            raise MaskgenError(f"no {what} at {said}: {directory} has no {MODEL_FILE}")
        return describe(directory, text, "run")


def _kind_words(kind: str) -> str:
    return "a mask model (generator)" if kind == GAN else "a colouring model (translator)"


def _short(path: Path) -> str:
    """A folder as the page names it: relative to where the studio was started, when inside it."""
    try:
        return str(path.relative_to(Path.cwd().resolve())) + "/"
    except ValueError:
        return str(path)


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
