"""The progress bar of the training commands: one look for `run` and `translate train`."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

# Training bars count thousandths of the budget, so fractional kimg moves the bar smoothly.
TRAINING_STEPS = 1000


def training_bar(label: str, quiet: bool) -> Progress:
    """A bar on stderr: label, bar, elapsed, remaining, and a free ``info`` field for losses and speed."""
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=Console(stderr=True),
        disable=quiet,
        transient=False,
    )
