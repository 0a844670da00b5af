"""Writing output files: the one atomic writer every command uses, and the folders outputs go in.

A file is written under a temporary name next to its target (``.tmp-PID-XXXX-NAME``) and renamed into
place, so neither a reader nor a crash ever sees half of it; on any failure the temporary file is
removed. An OSError becomes one :class:`~maskgen.errors.MaskgenError` naming the target the user gave
(never the temporary name): ``cannot write PATH: reason``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maskgen.errors import MaskgenError


def cannot_write(path: str | Path, exc: OSError | str) -> MaskgenError:
    """``cannot write PATH: reason`` for an OSError (or a reason) met while writing ``path``."""
    reason = exc if isinstance(exc, str) else (exc.strerror or str(exc))
    return MaskgenError(f"cannot write {path}: {reason}")


def _file_in_the_way(folder: Path) -> Path | None:
    """The existing non-folder at ``folder`` or above it, which keeps ``folder`` from being created."""
    for candidate in (folder, *folder.parents):
        if candidate.exists() or candidate.is_symlink():
            return None if candidate.is_dir() else candidate
    return None


def make_folder(folder: str | Path, target: str | Path | None = None) -> Path:
    """Create ``folder`` and its parents (if missing) for an output; ``target`` (default: the folder)
    is the path the error message names."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = _file_in_the_way(folder)
        if blocker is not None:
            raise cannot_write(target or folder, f"{blocker} is a file, not a folder") from None
        raise cannot_write(target or folder, exc) from exc
    return folder


def check_writable(path: str | Path, folder: bool = False) -> Path:
    """Fail now, in one line, if ``path`` (a file, or with ``folder`` a folder) cannot be written, so a
    command does not compute for minutes first. Creates nothing: a probe file in the nearest existing
    folder is made and removed at once."""
    path = Path(path)
    if not folder and path.is_dir():
        raise cannot_write(path, "it is a folder; give a file name")
    if folder and path.exists() and not path.is_dir():
        raise cannot_write(path, "it is a file, not a folder")
    start = path if folder else path.parent
    blocker = _file_in_the_way(start)
    if blocker is not None:
        raise cannot_write(path, f"{blocker} is a file, not a folder")
    existing = next(p for p in (start, *start.parents) if p.is_dir())
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".tmp-probe-"):
            pass
    except OSError as exc:
        raise cannot_write(path, exc) from exc
    return path


def atomic_write(path: str | Path, write: Callable[[str], Any]) -> Path:
    """Call ``write(temporary_path)`` then rename it to ``path``: readers never see a half-written file.

    The temporary file ends with ``path``'s name (so writers that look at the suffix still work) and
    gets the usual permissions from the umask.
    """
    path = Path(path)
    if path.is_dir():
        raise cannot_write(path, "it is a folder; give a file name")
    make_folder(path.parent, path)
    tmp = path.with_name(f".tmp-{os.getpid()}-{secrets.token_hex(4)}-{path.name}")
    try:
        with open(tmp, "xb"):  # a plain create, not mkstemp (0600): outputs are shared like any file
            pass
        write(str(tmp))
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise cannot_write(path, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write UTF-8 text."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
