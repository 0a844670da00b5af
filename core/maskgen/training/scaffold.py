"""The run scaffold shared by the GAN trainer (``training/loop.py``) and the translation trainer.

The two trainers differ in their steps and share everything around them: a new or resumed run
directory, checkpoints named by the images seen, optimizer and RNG state flattened into safetensors +
JSON so that a resumed run continues exactly, the model card, one-line errors when a checkpoint cannot
be written, and Ctrl-C that checkpoints and stops. One copy here is what keeps the two from drifting.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, TypeVar

import torch
from pydantic import BaseModel

from maskgen.artifacts.checkpoint import write_checkpoint
from maskgen.artifacts.layout import LATEST, SAMPLES_FILE
from maskgen.artifacts.lineage import extended_lineage, lineage_of
from maskgen.artifacts.modelcard import attach_samples, model_card
from maskgen.errors import MaskgenError
from maskgen.training.distributed import SINGLE, World, broadcast_text
from maskgen.training.rundir import lock_on_main, new_run_dir, write_run_config

MessageCallback = Callable[[str], None]
TrainingState = tuple[dict[str, torch.Tensor], dict[str, Any]]  # training_state.safetensors / .json


def silent(_message: str) -> None:
    """The ``on_message`` of a caller that wants no messages."""


# --------------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------------


def snapshot_tag(nimg: int) -> str:
    """``snapshot-000012k-345``: checkpoint folders that sort by images seen."""
    return f"snapshot-{nimg // 1000:06d}k-{nimg % 1000:03d}"


def sample_tag(nimg: int) -> str:
    """``0012_345``: the kimg in sample file names, sortable and without a dot."""
    return f"{nimg / 1000:08.3f}".replace(".", "_")


# --------------------------------------------------------------------------------------------------
# Training state: counters, optimizers, RNG streams
# --------------------------------------------------------------------------------------------------


class RunCounters:
    """Images seen, iterations and training seconds: the first entries of every training_state.json."""

    cur_nimg: int = 0
    iteration: int = 0
    wall_seconds: float = 0.0

    def counters(self) -> dict[str, Any]:
        return {"cur_nimg": self.cur_nimg, "iteration": self.iteration, "wall_seconds": self.wall_seconds}

    def restore_counters(self, meta: Mapping[str, Any]) -> None:
        self.cur_nimg, self.iteration = int(meta["cur_nimg"]), int(meta["iteration"])
        self.wall_seconds = float(meta.get("wall_seconds", 0.0))  # absent in the oldest checkpoints


def optimizer_state(optimizers: Mapping[str, torch.optim.Optimizer]) -> TrainingState:
    """Each optimizer's per-parameter tensors as ``LABEL.INDEX.KEY`` and its param_groups as JSON under LABEL.

    safetensors holds tensors only, and a 0-d one poorly, so Adam's ``step`` is stored with one element.
    """
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {}
    for label, optimizer in optimizers.items():
        state = optimizer.state_dict()
        for index, param_state in state["state"].items():
            for key, value in param_state.items():
                tensors[f"{label}.{index}.{key}"] = (
                    torch.as_tensor(value).reshape(-1) if key == "step" else value
                )
        meta[label] = state["param_groups"]
    return tensors, meta


def restore_optimizers(
    optimizers: Mapping[str, torch.optim.Optimizer],
    tensors: Mapping[str, torch.Tensor],
    meta: Mapping[str, Any],
) -> None:
    """The inverse of ``optimizer_state``."""
    for label, optimizer in optimizers.items():
        prefix = f"{label}."
        state: dict[int, dict[str, torch.Tensor]] = {}
        for name, value in tensors.items():
            if name.startswith(prefix):
                index, key = name[len(prefix) :].split(".", 1)
                state.setdefault(int(index), {})[key] = value.reshape(()) if key == "step" else value
        optimizer.load_state_dict({"state": state, "param_groups": meta[label]})


# Both trainers draw only from torch (the global CPU generator, CUDA's on a GPU, and the generators they
# pass as ``streams``); numpy's and Python's global RNGs steer nothing in a step, so they are not saved.


def rng_state(
    device: torch.device, streams: Mapping[str, torch.Generator] | None = None
) -> dict[str, torch.Tensor]:
    """``rng/cpu``, ``rng/<stream>`` for each extra generator, and ``rng/cuda`` on a CUDA device."""
    tensors = {"rng/cpu": torch.random.get_rng_state()}
    tensors |= {f"rng/{name}": generator.get_state() for name, generator in (streams or {}).items()}
    if device.type == "cuda":
        tensors["rng/cuda"] = torch.cuda.get_rng_state(device)
    return tensors


def restore_rng(
    tensors: Mapping[str, torch.Tensor],
    device: torch.device,
    streams: Mapping[str, torch.Generator] | None = None,
) -> None:
    """The inverse of ``rng_state``; a state the checkpoint lacks (CUDA's, saved on CPU) stays as seeded."""
    torch.random.set_rng_state(tensors["rng/cpu"])
    if "rng/cuda" in tensors and device.type == "cuda":
        torch.cuda.set_rng_state(tensors["rng/cuda"], device)
    for name, generator in (streams or {}).items():
        if f"rng/{name}" in tensors:
            generator.set_state(tensors[f"rng/{name}"])


# --------------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------------


def write_snapshot(
    run_dir: Path,
    nimg: int,
    networks: Mapping[str, torch.nn.Module],
    config: dict[str, Any],
    state: TrainingState,
    *,
    keep: int,
    card: str = "",
    samples: Path | None = None,
) -> Path:
    """``run_dir/checkpoints/snapshot-…``: each network's weights under its prefix, a card, samples.png.

    The card comes from ``model_card`` like the one ``maskgen push`` writes, so the two never disagree.
    """
    weights = {
        f"{prefix}.{k}": v for prefix, module in networks.items() for k, v in module.state_dict().items()
    }
    with_samples = samples is not None and samples.is_file()
    card = card or model_card(config, sample_image=SAMPLES_FILE if with_samples else None)
    tensors, meta = state
    path = write_checkpoint(
        run_dir / "checkpoints", snapshot_tag(nimg), weights, config, tensors, meta, card=card, keep=keep
    )
    if with_samples and samples is not None:  # the card shows it; the Hub repo gets it with `maskgen push`
        with contextlib.suppress(OSError):  # optional: a checkpoint without it is still complete
            attach_samples(samples, path)
    return path


@dataclass
class Checkpointer:
    """Writes a run's checkpoints from its loop; each way that fails ends the run in one line saying how
    to resume."""

    save: Callable[[], Path]  # the trainer's save_checkpoint
    run_dir: Path
    resume_command: str  # e.g. "maskgen run --resume"; the run directory follows

    @property
    def resume_hint(self) -> str:
        return f"resume with: {self.resume_command} {self.run_dir}"

    def __call__(self) -> Path:
        """A checkpoint that cannot be written stops the run; the previous checkpoint is left intact."""
        try:
            return self.save()
        except OSError as exc:
            raise MaskgenError(
                f"could not write a checkpoint in {self.run_dir / 'checkpoints'}: {exc.strerror or exc}; "
                f"the previous checkpoint is intact, {self.resume_hint} once the problem is fixed"
            ) from None

    def interrupted(self, nimg: int) -> MaskgenError:
        """Write the checkpoint of an interrupted run; returns the error that ends it."""
        path = self()
        return MaskgenError(
            f"interrupted at kimg {nimg / 1000:.3f}; checkpoint {path} written; {self.resume_hint}"
        )


def write_samples(write: Callable[[], None], folder: Path, say: MessageCallback) -> None:
    """Sample grids are a convenience: failing to write one warns and training goes on."""
    try:
        write()
    except OSError as exc:
        say(f"warning: could not write sample grid to {folder}: {exc.strerror or exc}; training continues")


# --------------------------------------------------------------------------------------------------
# Ctrl-C
# --------------------------------------------------------------------------------------------------


@dataclass
class StopRequest:
    """Set by the first Ctrl-C inside ``stop_on_interrupt``; the loop reads it between steps."""

    requested: bool = False


@contextlib.contextmanager
def stop_on_interrupt(hint: str) -> Iterator[StopRequest]:
    """Ctrl-C asks the loop to checkpoint and stop after the current step; a second Ctrl-C stops at once.

    Between steps, because a checkpoint taken in the middle of one (G updated, D not) would not resume
    exactly. The handler is installed even where SIGINT was ignored (background jobs of non-interactive
    shells inherit that), and the previous one is put back on the way out. ``hint`` ends the one-line
    error of a second Ctrl-C, which writes no checkpoint.
    """
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request  # only the main thread may install signal handlers, and only it gets SIGINT
        return

    def handle(_signum: int, _frame: FrameType | None) -> None:
        if request.requested:
            raise KeyboardInterrupt
        request.requested = True

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield request
    except KeyboardInterrupt:
        raise MaskgenError(f"interrupted twice: stopped at once, without a new checkpoint; {hint}") from None
    finally:
        # None: a handler installed outside Python, which cannot be reinstalled; the default is closest.
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


# --------------------------------------------------------------------------------------------------
# The whole run
# --------------------------------------------------------------------------------------------------


class Resumable(Protocol):
    """What ``start_or_resume`` needs of a trainer."""

    config: BaseModel
    run_dir: Path
    cur_nimg: int

    def load(self, path: Path) -> Any: ...


T = TypeVar("T", bound=Resumable)


def start_or_resume(
    build: Callable[[Path], T],
    run: Callable[[T], None],
    *,
    run_name: str,
    out_root: Path | None,
    resume_dir: Path | None,
    say: MessageCallback,
    world: World = SINGLE,
    prepare: Callable[[T], None] | None = None,
) -> Path:
    """Continue ``resume_dir`` from its latest checkpoint, or make ``out_root/NNNNN-run_name``; returns it.

    ``build(run_dir)`` makes the trainer, ``prepare`` (new runs only) may change ``trainer.config``
    before it is written to config.json, and ``run`` trains. With several processes only rank 0 creates,
    locks and writes the run directory; every rank builds and runs its trainer.
    """
    if resume_dir is not None:
        with lock_on_main(resume_dir, world):  # before loading: nobody else may write these checkpoints
            trainer = build(resume_dir)
            trainer.load(resume_dir / "checkpoints" / LATEST)
            say(f"resuming {resume_dir} at kimg {trainer.cur_nimg / 1000:.3f}")
            if world.is_main:
                write_run_config(trainer.config, resume_dir)
            run(trainer)
        return resume_dir
    # Everything that can fail on bad input (plugins, options, data) fails before the run dir exists.
    trainer = build(Path())
    if prepare is not None:
        prepare(trainer)
    made = str(new_run_dir(out_root or Path("runs"), run_name)) if world.is_main else ""
    run_dir = trainer.run_dir = Path(broadcast_text(made, world))
    say(f"run directory: {run_dir}")
    with lock_on_main(run_dir, world):
        if world.is_main:
            write_run_config(trainer.config, run_dir)
        run(trainer)
    return run_dir


class Initializable(Protocol):
    """What :func:`initialize_weights` needs of a trainer."""

    config: Any  # a pydantic model with an ``init`` field
    init_source: Any
    lineage: list[dict[str, Any]]

    def load(self, path: str | Path, with_training_state: bool = True) -> dict[str, Any]: ...


def initialize_weights(
    trainer: Initializable,
    shipped_base: Callable[[], Path | None],
    what: str,
    parts: str | Callable[[], str],
    say: MessageCallback,
) -> None:
    """A new run's starting weights, recorded as ``init`` in its config (resume restores its own).

    ``init`` unset: the matching shipped base model (``shipped_base()``), else scratch, recorded as
    "none"; "none": scratch; anything else (a path, ``base:NAME``, ``hf://...``, the latter pinned
    to the commit it resolved to) is loaded, weights only: fresh optimizers, the run's own RNG.
    """
    from maskgen.artifacts.base_models import BASE_SCHEME, SCRATCH
    from maskgen.artifacts.hub_pull import pin_reference

    init = trainer.config.init
    if init is None:
        base = shipped_base()
        if base is None:
            trainer.config = trainer.config.model_copy(update={"init": SCRATCH})
            return
        init = BASE_SCHEME + base.name
        say(f"starting from the shipped {what} {init} (--init none trains from scratch)")
    if init.strip().lower() == SCRATCH:
        trainer.config = trainer.config.model_copy(update={"init": SCRATCH})
        return
    pinned, trainer.init_source = pin_reference(init)
    trainer.config = trainer.config.model_copy(update={"init": pinned})
    source = trainer.load(pinned, with_training_state=False)
    # Recorded now: a name like base:NAME may hold other weights tomorrow.
    trainer.lineage = extended_lineage(pinned, source)
    say(f"initialized {parts() if callable(parts) else parts} from {pinned}")


def restore_provenance(trainer: Initializable, checkpoint_config: dict[str, Any]) -> None:
    """A resumed run keeps the record of where its weights came from (``init_source``, ``lineage``)."""
    source = checkpoint_config.get("init_source")
    trainer.init_source = source if isinstance(source, dict) else None
    trainer.lineage = lineage_of(checkpoint_config)


def provenance(trainer: Initializable) -> dict[str, Any]:
    """The checkpoint config's record of where the weights came from; empty for a run from scratch."""
    return ({"init_source": trainer.init_source} if trainer.init_source else {}) | (
        {"lineage": trainer.lineage} if trainer.lineage else {}
    )


# --------------------------------------------------------------------------------------------------
# The step loop of the trainers that count images and snapshot by kimg (translation, upscaling)
# --------------------------------------------------------------------------------------------------


@dataclass
class StepProgress:
    """What a step loop reports after every step: kimg done, the goal, the pace and the last losses."""

    kimg: float
    total_kimg: float
    seconds_per_step: float
    scalars: dict[str, float] = field(default_factory=dict)


class Steppable(Protocol):
    """What :func:`run_steps` needs of a trainer: its counters (:class:`RunCounters`) and a step."""

    cur_nimg: int
    iteration: int
    wall_seconds: float

    def step(self) -> dict[str, torch.Tensor]: ...


def run_steps(
    trainer: Steppable,
    *,
    total_kimg: float,
    tick_kimg: float,
    snapshot_kimg: float,
    log: Any,  # training.rundir.MetricsLog
    checkpoint: Checkpointer,
    contact_sheets: Callable[[], None],
    samples: Path,
    on_progress: Callable[[StepProgress], None] | None,
    say: MessageCallback,
    what: str = "kimg",
    budget_seconds: float = float("inf"),
    tensorboard: bool = True,
) -> None:
    """Step until ``total_kimg`` (or ``budget_seconds`` of training, resumes included): losses to
    ``log`` (and TensorBoard, with ``tensorboard``) every tick, contact sheets and a checkpoint every
    snapshot and at the end, and Ctrl-C checkpoints between steps, where the state resumes exactly."""
    from maskgen.training.watch import RunLog, TensorBoard

    # The curves of the log in TensorBoard too (when installed), continued at the images seen on resume.
    board = TensorBoard.open(checkpoint.run_dir, tensorboard, trainer.cur_nimg, say)
    try:
        _step_loop(
            trainer,
            RunLog(log, board),
            checkpoint,
            contact_sheets,
            samples,
            on_progress,
            say,
            what,
            total_kimg=total_kimg,
            tick_kimg=tick_kimg,
            snapshot_kimg=snapshot_kimg,
            budget_seconds=budget_seconds,
        )
    finally:
        board.close()


def _step_loop(
    trainer: Steppable,
    log: Any,
    checkpoint: Checkpointer,
    contact_sheets: Callable[[], None],
    samples: Path,
    on_progress: Callable[[StepProgress], None] | None,
    say: MessageCallback,
    what: str,
    *,
    total_kimg: float,
    tick_kimg: float,
    snapshot_kimg: float,
    budget_seconds: float,
) -> None:
    import math
    import time

    from maskgen.training.divergence import check_finite_losses
    from maskgen.training.tick import TickMeans, crossed

    total_nimg = int(math.ceil(total_kimg * 1000))
    snapshot_nimg = max(1, int(snapshot_kimg * 1000))
    tick_nimg = max(1, int(tick_kimg * 1000))
    losses = TickMeans()
    tick_start, tick_start_iter = time.perf_counter(), trainer.iteration
    seconds_per_step = 0.0
    shown: dict[str, float] = {}  # last tick's averages, shown until the next tick
    with stop_on_interrupt(checkpoint.resume_hint) as stop:
        while trainer.cur_nimg < total_nimg:
            before = trainer.cur_nimg
            losses.add(trainer.step())
            elapsed = time.perf_counter() - tick_start
            done = trainer.cur_nimg >= total_nimg or trainer.wall_seconds + elapsed >= budget_seconds
            if done or crossed(before, trainer.cur_nimg, tick_nimg):
                scalars = losses.means()
                check_finite_losses(scalars, trainer.iteration, trainer.cur_nimg)
                seconds_per_step = elapsed / max(1, trainer.iteration - tick_start_iter)
                trainer.wall_seconds += elapsed
                record = {
                    "kimg": trainer.cur_nimg / 1000,
                    "iteration": trainer.iteration,
                    "seconds": round(trainer.wall_seconds, 3),
                    "seconds_per_step": seconds_per_step,
                }
                log.write(record | scalars)
                shown = scalars
                losses.reset()
                tick_start, tick_start_iter = time.perf_counter(), trainer.iteration
            if on_progress is not None:
                on_progress(StepProgress(trainer.cur_nimg / 1000, total_kimg, seconds_per_step, shown))
            if done or crossed(before, trainer.cur_nimg, snapshot_nimg):
                write_samples(contact_sheets, samples, say)
                path = checkpoint()
                say(f"{what} {trainer.cur_nimg / 1000:.2f}: contact sheet and checkpoint {path.name} written")
            if done:
                return
            if stop.requested:
                trainer.wall_seconds += time.perf_counter() - tick_start
                raise checkpoint.interrupted(trainer.cur_nimg)
