"""Watching a run: TensorBoard's curves of ``metrics.jsonl`` and sample grids (RUN/tensorboard/), and the
snapshot metrics.

TensorBoard is optional (``pip install 'maskgen[tensorboard]'``): without it a run says so in one note
and trains as before. Every scalar is written under the key it has in ``metrics.jsonl`` (``loss/G``,
``augment/strength``, ``images_per_second``, ...) and every event's step is the number of images
shown to D, so a resumed run continues the same curves; its writer purges what the interrupted run
logged after the checkpoint it resumes from, as :meth:`~maskgen.training.rundir.MetricsLog.truncate_after`
does for ``metrics.jsonl``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from maskgen.training.rundir import MetricsLog
from maskgen.training.snapshot_metrics import SNAPSHOT_METRICS_FILE, SnapshotMetrics

TENSORBOARD_DIR = "tensorboard"  # inside the run directory; `tensorboard --logdir runs` finds every run
INSTALL_HINT = "pip install 'maskgen[tensorboard]'"
# Record entries that are the step or a counter, not a curve worth drawing.
_NOT_CURVES = frozenset({"kimg"})


class TensorBoard:
    """A run's TensorBoard event writer, or one that writes nothing (off, not installed, rank > 0)."""

    said_missing: ClassVar[bool] = False  # the missing package is said once per process

    def __init__(self, writer: Any = None) -> None:
        self._writer = writer

    @classmethod
    def open(cls, run_dir: Path, enabled: bool, start_nimg: int, say: Callable[[str], None]) -> TensorBoard:
        """The writer of ``run_dir/tensorboard``; ``start_nimg`` > 0 (a resume) purges later events.

        A missing package or a folder that cannot be written is one line through ``say`` and no
        writer: the curves are a convenience, the run goes on.
        """
        if not enabled:
            return cls()
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # torch's writer needs the tensorboard package
            if not TensorBoard.said_missing:  # a GAN run and its upscaler stage say it once
                TensorBoard.said_missing = True
                say(f"note: no TensorBoard curves: the tensorboard package is not installed ({INSTALL_HINT})")
            return cls()
        try:
            writer = SummaryWriter(
                log_dir=str(run_dir / TENSORBOARD_DIR),
                # TensorBoard drops earlier events at steps >= purge_step: those after the checkpoint.
                purge_step=start_nimg + 1 if start_nimg > 0 else None,
                flush_secs=30,
            )
        except OSError as exc:
            where = run_dir / TENSORBOARD_DIR
            say(f"warning: no TensorBoard curves: cannot write {where}: {exc.strerror or exc}")
            return cls()
        return cls(writer)

    def scalars(self, nimg: int, values: Mapping[str, Any], prefix: str = "") -> None:
        """Each finite number of ``values`` as a curve ``prefix + key`` at step ``nimg``."""
        if self._writer is None:
            return
        for key, value in values.items():
            if key in _NOT_CURVES or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if math.isfinite(value):
                self._writer.add_scalar(prefix + key, value, global_step=nimg)

    def image(self, tag: str, nimg: int, image: np.ndarray) -> None:
        """A uint8 [H, W, 3] image at step ``nimg``."""
        if self._writer is not None:
            self._writer.add_image(tag, image, global_step=nimg, dataformats="HWC")

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class Watch:
    """What a GAN run shows besides its progress bar, all written by rank 0: ``metrics.jsonl`` and its
    TensorBoard curves every tick, the sample grids, and the snapshot metrics
    (:mod:`~maskgen.training.snapshot_metrics`) in ``metric-snapshots.jsonl`` and TensorBoard."""

    def __init__(
        self,
        run_dir: Path,
        start_nimg: int,
        *,
        tensorboard: bool,
        metrics: SnapshotMetrics | None,
        say: Callable[[str], None],
    ) -> None:
        self.say = say
        self.metrics = metrics
        self.snapshot_log = MetricsLog(run_dir / SNAPSHOT_METRICS_FILE)
        tick_log = MetricsLog(run_dir / "metrics.jsonl")
        for log in (tick_log, self.snapshot_log):  # a resume drops what came after its checkpoint
            log.truncate_after(start_nimg / 1000)
        self.board = TensorBoard.open(run_dir, tensorboard, start_nimg, say)
        self.log = RunLog(tick_log, self.board)

    def reals(self, grid: np.ndarray) -> None:
        self.board.image("samples/reals", 0, grid)

    def snapshot(self, nimg: int, grid: np.ndarray, name: str, G: torch.nn.Module) -> None:
        """The fakes grid, then (with metrics) G measured, logged and said in one line."""
        self.board.image("samples/fakes", nimg, grid)
        if self.metrics is not None and self.metrics.names:
            record = self.metrics.record(G, nimg, name, self.say)
            if record["metrics"]:  # none when every evaluator failed (each said so)
                self.snapshot_log.write(record)
                self.board.scalars(nimg, record["metrics"], prefix="metrics/")
                shown = ", ".join(f"{label} {value:.4g}" for label, value in record["metrics"].items())
                self.say(f"kimg {nimg / 1000:.2f}: {shown} ({record['seconds']:.1f} s)")
        self.board.flush()

    def close(self) -> None:
        self.board.close()


class RunLog:
    """``metrics.jsonl`` and its TensorBoard curves, written from the same records: what one shows the
    other shows, at the step of the record's ``kimg`` in images."""

    def __init__(self, metrics: MetricsLog, board: TensorBoard) -> None:
        self.metrics = metrics
        self.board = board

    def write(self, record: dict[str, Any]) -> None:
        self.metrics.write(record)
        self.board.scalars(images_of(record["kimg"]), record)


def images_of(kimg: float) -> int:
    """The step of a record: kimg back to the whole number of images it was computed from."""
    return int(round(kimg * 1000))
