"""Training from the studio: one ``maskgen run`` at a time, in a child process the page watches.

The page starts exactly the command a terminal user would type (``maskgen run --data COLLECTION
--resolution R --minutes M ...``, shown in the page), so a run started here is an ordinary run: it
writes its checkpoints atomically, resumes with ``--resume``, and stops cleanly on SIGINT (the
training loop checkpoints after the current step). A child process rather than a thread, so the page
stays responsive and Stop works like Ctrl-C. One run at a time for the whole studio: training takes
every core of the machine.

What the page shows comes from the run's own files: ``metrics.jsonl`` (kimg, images per second),
``samples/fakes_latest.png`` (``reals.png`` until the first snapshot) and the child's log, whose last
line is the one-line error when a run fails.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskgen.config import PRESETS
from maskgen.data.check import FEW_IMAGES, CollectionReport
from maskgen.data.datasets import check_resolution
from maskgen.errors import MaskgenError
from maskgen.studio.catalogue import Catalogue
from maskgen.studio.collections import IMAGES, Collections
from maskgen.studio.words import MINUTES

LOG = "studio-train.log"
MIRROR_CHOICES = {"auto": "auto", "on": "true", "off": "false"}
START_CHOICES = ("base model", "from scratch")
MAX_MINUTES = 24 * 60.0
SNAPSHOT_KIMG = 4.0  # a new sample grid every few minutes at 64 px on a laptop
STOP_WAIT_S = 120.0
# Python 3.10 has no process_group: there the terminal's Ctrl-C reaches the child too (it checkpoints).
OWN_GROUP: dict[str, Any] = {"process_group": 0} if sys.version_info >= (3, 11) else {}


def check_minutes(minutes: float) -> float:
    """A training budget the page may ask for, or one line."""
    if not 0 < minutes <= MAX_MINUTES:
        raise MaskgenError(f"minutes must be above 0 and at most {MAX_MINUTES:g}, got {minutes:g}")
    return minutes


@dataclass(frozen=True)
class TrainingRequest:
    """What the page asks for; :meth:`arguments` is the ``maskgen run`` command line."""

    data: Path
    out: Path
    resolution: int = 64
    minutes: float = 15.0
    augment: str = "ada"
    mirror: str = "auto"
    start: str = "base model"

    def arguments(self) -> list[str]:
        check_resolution(self.resolution)
        check_minutes(self.minutes)
        if self.mirror not in MIRROR_CHOICES:
            raise MaskgenError(f"mirror must be one of {', '.join(MIRROR_CHOICES)}, got {self.mirror!r}")
        if self.start not in START_CHOICES:
            raise MaskgenError(f"start must be one of {', '.join(START_CHOICES)}, got {self.start!r}")
        args = [
            "run", "--data", str(self.data), "--out", str(self.out), "--resolution", str(self.resolution),
            "--minutes", f"{self.minutes:g}", "--kimg", "1000000", "--augment", self.augment,
            "--snapshot-kimg", f"{SNAPSHOT_KIMG:g}", "-G", f"symmetric={MIRROR_CHOICES[self.mirror]}",
        ]  # fmt: skip
        if self.start == "from scratch":
            args += ["--init", "none"]
        return [*args, "--quiet"]


@dataclass(frozen=True)
class TrainingStatus:
    state: str  # "idle", "starting", "training", "stopping", "finished", "stopped", "failed"
    run_dir: Path | None = None
    kimg: float = 0.0
    images_per_second: float = 0.0
    elapsed_s: float = 0.0
    grid: Path | None = None  # the latest sample grid (or the reals before the first snapshot)
    message: str = ""
    command: str = ""

    @property
    def running(self) -> bool:
        return self.state in ("starting", "training", "stopping")

    def describe(self) -> str:
        """The run's status in plain words (engineers: kimg is thousands of pictures shown)."""
        if self.state == "idle":
            return "No training started in this studio yet."
        line = f"**{self.state.capitalize()}**"
        if self.elapsed_s:
            line += f" for {self.elapsed_s / 60:.1f} minutes"
        if self.kimg:
            line += f": {self.kimg * 1000:,.0f} pictures shown to the model so far"
            if self.images_per_second:
                line += f" ({self.images_per_second:.0f} a second)"
        if self.message:
            line += f". {self.message[:1].upper()}{self.message[1:]}"
        if self.run_dir:
            line += f". Its folder: `{self.run_dir}`"
        return line


class TrainingJob:
    """The studio's one training child process (thread-safe: every page polls it)."""

    def __init__(self, command: Sequence[str] | None = None) -> None:
        # How to call maskgen: this interpreter with the CLI module, so the child has the same packages.
        self.command = list(command or [sys.executable, "-m", "maskgen"])
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._out: Path | None = None
        self._run_dir: Path | None = None
        self._before: set[Path] = set()
        self._started = 0.0
        self._stopping = False
        self._shown: str = ""

    # -- control ---------------------------------------------------------------------------------------

    def start(self, request: TrainingRequest) -> TrainingStatus:
        return self._launch(request.out, request.arguments(), None)

    def resume(self, run_dir: Path, minutes: float) -> TrainingStatus:
        """Train ``run_dir`` for ``minutes`` more (its own settings; ``maskgen run --resume``)."""
        if not (run_dir / "config.json").is_file():
            raise MaskgenError(f"{run_dir} is not a run this studio can continue")
        check_minutes(minutes)
        args = ["run", "--resume", str(run_dir), "--minutes", f"{minutes:g}", "--quiet"]
        return self._launch(run_dir.parent, args, run_dir)

    def _launch(self, out: Path, args: list[str], run_dir: Path | None) -> TrainingStatus:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                raise MaskgenError(
                    f"a run is training already ({self._run_dir or out}): stop it first; one run at a "
                    "time, it takes every core"
                )
            out.mkdir(parents=True, exist_ok=True)
            self._before = set(out.iterdir())
            self._out, self._run_dir, self._stopping = out, run_dir, False
            command = [*self.command, *args]
            self._shown = "maskgen " + shlex.join(args)
            log = open(out / LOG, "ab")  # noqa: SIM115 - the child writes to it until it ends
            try:
                log.write(f"\n$ {self._shown}\n".encode())
                log.flush()
                # Its own process group: a Ctrl-C meant for the studio's terminal reaches the child
                # only through close(), which stops it the same checkpointing way. Not its own session:
                # with the kernel's autogroup scheduling a new session trained 10x slower here.
                self._process = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"}, **OWN_GROUP,
                )  # fmt: skip
            finally:
                log.close()
            self._started = time.monotonic()
        return self.status()

    def stop(self) -> TrainingStatus:
        """Ask the run to checkpoint and stop after its current step (SIGINT, as Ctrl-C does)."""
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None:
                raise MaskgenError("no run is training")
            self._stopping = True
            process.send_signal(signal.SIGINT)
        return self.status()

    def close(self, wait_s: float = STOP_WAIT_S) -> None:
        """On the studio's way out: stop a running child with a checkpoint, kill it if it hangs."""
        with self._lock:
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(wait_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    # -- watching --------------------------------------------------------------------------------------

    def status(self) -> TrainingStatus:
        with self._lock:
            process, out = self._process, self._out
            if process is None or out is None:
                return TrainingStatus("idle")
            if self._run_dir is None:
                self._run_dir = _new_run(out, self._before)
            run_dir, shown, stopping, started = self._run_dir, self._shown, self._stopping, self._started
        code = process.poll()
        kimg, speed = _progress(run_dir)
        grid = _latest_grid(run_dir)
        elapsed = time.monotonic() - started
        if code is None:
            # The loop writes the reals' grid just before its first step: until then it reads the data.
            state = "stopping" if stopping else ("training" if grid else "starting")
            message = "saving after the current step, then stopping" if stopping else ""
            if state == "starting":
                message = "reading and framing the pictures"
            elif grid is not None and grid.name == "reals.png" and not stopping:
                message = "below: your pictures as the run sees them, until its first samples"
            return TrainingStatus(state, run_dir, kimg, speed, elapsed, grid, message, shown)
        if stopping:
            checkpointed = run_dir is not None and (run_dir / "checkpoints" / "latest").exists()
            state = "stopped"
            message = (
                "'Continue its last run' goes on from where it was saved"
                if checkpointed
                else "stopped before its first save: train again"
            )
        elif code == 0:
            state, message = "finished", "its model is in the Model list at the top" if run_dir else ""
        else:
            state, message = "failed", _last_line(out / LOG)
        return TrainingStatus(state, run_dir, kimg, speed, 0.0, grid, message, shown)


def _new_run(out: Path, before: set[Path]) -> Path | None:
    """The run folder the child created under ``out`` (it writes config.json first)."""
    new = [p for p in out.iterdir() if p not in before and (p / "config.json").is_file()]
    return max(new, key=lambda p: p.stat().st_mtime) if new else None


def _progress(run_dir: Path | None) -> tuple[float, float]:
    """(kimg, images per second) of the run's last logged tick."""
    if run_dir is None:
        return 0.0, 0.0
    try:
        with open(run_dir / "metrics.jsonl", "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 8192))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return 0.0, 0.0
    for line in reversed(lines):
        try:
            row = json.loads(line)
            return float(row.get("kimg", 0.0)), float(row.get("images_per_second", 0.0))
        except (ValueError, TypeError, AttributeError):
            continue
    return 0.0, 0.0


def _latest_grid(run_dir: Path | None) -> Path | None:
    if run_dir is None:
        return None
    for name in ("fakes_latest.png", "reals.png"):
        path = run_dir / "samples" / name
        if path.is_file():
            return path
    return None


def _run_resolution(run_dir: Path) -> int | None:
    try:
        value = json.loads((run_dir / "config.json").read_text(encoding="utf-8")).get("resolution")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def measured_speed(root: Path, resolution: int) -> float | None:
    """Images per second of the newest run under ``root`` (the studio's collections) at ``resolution``:
    this machine's own speed, when it has trained here before."""
    runs = sorted(root.glob("*/*/metrics.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
    for metrics in runs:
        if _run_resolution(metrics.parent) == resolution:
            speed = _progress(metrics.parent)[1]
            if speed > 0:
                return speed
    return None


def _last_line(log: Path) -> str:
    try:
        lines = [ln.strip() for ln in log.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return "the run ended with an error"
    lines = [ln for ln in lines if ln]
    return lines[-1] if lines else "the run ended with an error"


def _some(names: Sequence[str], shown: int = 3) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def plain_report(report: CollectionReport) -> str:
    """A collection's check as Markdown for a person without a terminal (``dataset check`` words it for
    one with): what the run will learn, then one line per kind of problem, naming a few files."""
    found = f"{report.on_plain_backdrop} of {report.images} were found on a plain backdrop and framed"
    if not report.framed_on_load:
        found = "they are used as they are (not framed)"
    mirror = "will" if report.mirror else "will not"
    lines = [
        f"**{report.images} pictures** to learn at {report.resolution} px: {found}. The model {mirror} be "
        f"mirrored left to right ({report.symmetric_images} of {report.checked_for_symmetry} checked masks "
        "are symmetric)."
    ]
    problems = []
    if report.images < FEW_IMAGES:
        problems.append(
            f"Only {report.images} pictures: runs are measured on 300; with fewer, the model tends to repeat "
            "your masks instead of drawing new ones."
        )
    for names, what in (
        (report.unreadable, "cannot be read and will be left out"),
        (
            report.smaller_than_resolution,
            f"are smaller than {report.resolution} px, so they will look blurred",
        ),
        (report.pages_of_several_masks, "look like pages of several masks: cut them apart"),
        (report.without_colour, "have no colour (line drawings or black-and-white photographs?)"),
    ):
        if names:
            problems.append(f"{len(names)} {what} ({_some(names)}).")
    if report.duplicates:
        pairs = [f"{d['a']} = {d['b']}" + (" mirrored" if d["mirrored"] else "") for d in report.duplicates]
        problems.append(
            f"{len(report.duplicates)} pairs look like the same mask ({_some(pairs)}): keep one of each."
        )
    lines += [f"- {line}" for line in problems] or ["- No problems found."]
    return "\n".join(lines)


class TrainingDesk:
    """The Train tab's work: collections in, one run at a time, its checkpoint into the catalogue."""

    def __init__(
        self, collections: Collections, catalogue: Catalogue, job: TrainingJob | None = None
    ) -> None:
        self.collections = collections
        self.catalogue = catalogue
        self.job = job or TrainingJob()

    def estimate(self, name: str | None, resolution: Any, minutes: Any) -> str:
        """What a run will take on this machine and what it will make, said before it starts."""
        from maskgen.upscaling.stage import plan_stage

        resolution = int(resolution)
        minutes = MINUTES.check(minutes)
        images = self.collections.images(name)
        if self.collections.count(name) == 0:
            return (
                "**Before you start:** add pictures to the collection; then this line says how long the "
                "run will take and what it will make."
            )
        upscale = float(PRESETS["cpu"]["upscale_minutes"])
        plan = plan_stage(str(images), resolution, upscale)
        second = plan.fine_tune
        total = minutes + (upscale if second else 0.0)
        line = f"**Before you start:** about {total:g} minutes on this machine, then it stops by itself: "
        line += f"{minutes:g} minutes learning your masks"
        speed = measured_speed(self.collections.root, resolution)
        if speed:
            shown = speed * minutes * 60
            line += (
                f" (your last run here trained at {speed:.0f} pictures a second: about {shown:,.0f} shown)"
            )
        if second:
            line += f", then {upscale:g} minutes teaching the upscaler your masks at {resolution * 4} px"
        line += ", after first reading your pictures (the status says 'starting' meanwhile). "
        if plan.base is None:
            line += f"It makes a model that draws {resolution} px masks ({plan.reason})."
        else:
            large = resolution * 4
            line += f"It makes a model that draws {resolution} px masks, and {large} px (print size) ones."
        first = f"about {SNAPSHOT_KIMG * 1000 / speed / 60:.0f} minutes" if speed else "a few minutes"
        line += (
            f" Its first samples show after {first}; then the model joins the Model list at the top, and "
            "you can use it while it trains."
        )
        return line

    def add(self, name: str | None, uploads: Sequence[str | Path], upload_roots: Sequence[Path]) -> str:
        added = self.collections.add(name, uploads, upload_roots)
        return f"{added.summary()}; it holds {self.collections.count(added.name)} now"

    def check(self, name: str | None, resolution: int) -> str:
        """The collection's ``maskgen dataset check`` in plain words: what a run learns, then each problem."""
        return plain_report(self.collections.check(name, resolution))

    def start(
        self, name: str | None, resolution: int, minutes: float, augment: str, mirror: str, start: str
    ) -> TrainingStatus:
        folder = self.collections.folder(name)
        if self.collections.count(name) == 0:
            raise MaskgenError(f"the collection {folder.name} has no pictures yet: upload some first")
        request = TrainingRequest(
            folder / IMAGES, folder, int(resolution), float(minutes), augment, mirror, start
        )
        return self.job.start(request)

    def resume(self, name: str | None, minutes: float) -> TrainingStatus:
        """Train the collection's newest run ``minutes`` more."""
        runs = self.runs(name)
        if not runs:
            raise MaskgenError(f"the collection {self.collections.folder(name).name} has no run to continue")
        return self.job.resume(runs[0], float(minutes))

    def stop(self) -> TrainingStatus:
        return self.job.stop()

    def runs(self, name: str | None) -> list[Path]:
        """The collection's runs, newest first."""
        folder = self.collections.folder(name)
        if not folder.is_dir():
            return []
        found = [p for p in folder.iterdir() if p.name != IMAGES and (p / "config.json").is_file()]
        return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)

    def poll(self) -> tuple[TrainingStatus, str | None]:
        """The run's status, and its label in the generator list once it has a checkpoint."""
        status = self.job.status()
        entry = self.catalogue.add_run(status.run_dir) if status.run_dir else None
        return status, (entry.label if entry else None)
