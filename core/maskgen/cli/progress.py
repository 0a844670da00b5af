"""The CLI's progress bars, one look for all: training (`run`, `translate train`) and step counts
(`project`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

# Training bars count thousandths of the budget, so fractional kimg moves the bar smoothly.
TRAINING_STEPS = 1000


def _bar(label: str, quiet: bool, *middle: ProgressColumn) -> Progress:
    """On stderr: label, bar, ``middle``, and a free ``info`` field for losses and speed."""
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        *middle,
        TextColumn("{task.fields[info]}"),
        console=Console(stderr=True),
        disable=quiet,
        transient=False,
    )


def training_bar(label: str, quiet: bool) -> Progress:
    """Elapsed and remaining time: training budgets are what a user waits on."""
    return _bar(label, quiet, TimeElapsedColumn(), TimeRemainingColumn())


def steps_bar(label: str, quiet: bool) -> Progress:
    """Steps done of all, and the elapsed time."""
    return _bar(label, quiet, MofNCompleteColumn(), TimeElapsedColumn())


def train_with_bar(
    label: str,
    quiet: bool,
    train: Callable[[Callable[[Any], None], Callable[[str], None]], Path],
    losses: tuple[tuple[str, str, str], ...],
) -> Path:
    """Run ``train(on_progress, on_message)`` of a trainer that reports ``StepProgress`` under a training
    bar; ``losses`` are (key, label, format) of the scalars shown. Says where the run and its contact
    sheet are, and returns the run directory."""
    bar = training_bar(label, quiet)
    with bar:
        task = bar.add_task("train", total=TRAINING_STEPS, info="")

        def on_progress(p: Any) -> None:
            info = f"{p.kimg:.2f}/{p.total_kimg:g} kimg {p.seconds_per_step:.2f} s/step"
            for key, shown, style in losses:
                if key in p.scalars:
                    info += f" {shown} {p.scalars[key]:{style}}"
            bar.update(task, completed=int(TRAINING_STEPS * min(1.0, p.kimg / p.total_kimg)), info=info)

        def on_message(message: str) -> None:
            bar.console.print(message, markup=False, highlight=False, soft_wrap=True)

        run_dir = train(on_progress, on_message)
    bar.console.print(
        f"done: {run_dir}  (contact sheet: {run_dir / 'samples' / 'contact_latest.png'})",
        markup=False,
        soft_wrap=True,
    )
    return run_dir
