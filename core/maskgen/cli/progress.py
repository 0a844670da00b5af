"""The CLI's progress bars, one look for all: training (`run`, `translate train`) and step counts
(`project`)."""

from __future__ import annotations

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
