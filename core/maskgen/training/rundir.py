"""Run directories: naming, config.json, the lock that keeps two processes out of one run, metrics log."""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maskgen.errors import MaskgenError
from maskgen.outputs import cannot_write, make_folder, write_text

if TYPE_CHECKING:
    from pydantic import BaseModel

    from maskgen.training.distributed import World

try:  # POSIX advisory locks are released by the kernel when a process dies, so a kill never sticks
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locking
    fcntl = None  # type: ignore[assignment]


def new_run_dir(out_root: Path, description: str) -> Path:
    """``out_root/NNNNN-description``, numbered after the highest existing run."""
    make_folder(out_root)
    numbers = [int(m[1]) for p in out_root.iterdir() if (m := re.match(r"(\d{5})-", p.name))]
    run_dir = out_root / f"{max(numbers, default=-1) + 1:05d}-{_slug(description)}"
    try:
        run_dir.mkdir()
    except OSError as exc:
        raise cannot_write(run_dir, exc) from exc
    return run_dir


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", text).strip("_") or "run"


def write_run_config(config: BaseModel, run_dir: Path) -> None:
    """``run_dir/config.json``, which ``--resume`` reads back: whole or not at all, so a kill never leaves
    a run that cannot be resumed (a temporary file renamed into place)."""
    write_text(run_dir / "config.json", json.dumps(config.model_dump(mode="json"), indent=2, sort_keys=True))


class RunLock:
    """An exclusive lock on ``run_dir/.lock`` for the lifetime of a training process."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / ".lock"
        self._handle: Any = None

    def __enter__(self) -> RunLock:
        self._handle = open(self.path, "a+")
        if fcntl is not None:
            try:
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._handle.seek(0)
                owner = self._handle.read().strip() or "another process"
                self._handle.close()
                raise MaskgenError(
                    f"run directory {self.path.parent} is in use by {owner}; wait for it or use another --out"
                ) from None
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(f"process {os.getpid()}")
        self._handle.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()


def lock_on_main(run_dir: Path, world: World) -> contextlib.AbstractContextManager[Any]:
    """The run lock on rank 0; the other ranks of a multi-process run write nothing and take none."""
    return RunLock(run_dir) if world.is_main else contextlib.nullcontext()


class MetricsLog:
    """Appends one JSON object per line to ``metrics.jsonl``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, record: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")

    def truncate_after(self, kimg: float) -> None:
        """On resume, drop records written after the checkpoint we resume from."""
        if not self.path.exists():
            return
        kept = [
            line
            for line in self.path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("kimg", 0) <= kimg + 1e-9
        ]
        self.path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
