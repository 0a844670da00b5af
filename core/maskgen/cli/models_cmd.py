"""``maskgen models`` (the base models that ship) and ``maskgen --version``."""

from __future__ import annotations

import json

import typer

from maskgen.cli.app import DRAW, app
from maskgen.config import describe_options


def _print_version(value: bool) -> None:
    if value:
        from maskgen import __version__

        typer.echo(f"maskgen {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print maskgen's version and exit.",
    ),
) -> None:
    """(The app's own help text is the one shown: new_app in cli/app.py.)"""


@app.command("models", rich_help_panel=DRAW)
def models(
    as_json: bool = typer.Option(False, "--json", help="Print the same information as JSON."),
) -> None:
    """List the base models shipped with maskgen: kind, size, what they were trained on, how to use them."""
    from maskgen.api import list_models

    found = list_models()
    if as_json:
        typer.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    if not found:
        typer.echo("this maskgen ships no base models")
        return
    for entry in found:
        size = f"{entry['size']} px" if entry.get("size") else "size unknown"
        if entry.get("small_size"):
            size = f"{entry['small_size']} px -> {size}"
        extra = ", mirrored (exact left-right symmetry)" if entry.get("mirrored") else ""
        if entry.get("print_size"):
            size += f" ({entry['print_size']} px through the shipped upscaler)"
        typer.echo(f"{entry['ref']}  {entry['kind']}, {size}{extra}, {entry['megabytes']:g} MB")
        trained = entry.get("trained_on") or "unrecorded data"
        kimg = entry.get("kimg_total") or entry.get("kimg")
        # Whole kimg, as the model cards say it; a fraction only for the shortest runs.
        shown = f"{kimg:.0f}" if kimg and kimg >= 10 else f"{kimg:g}" if kimg else ""
        typer.echo(f"  trained on: {trained}" + (f" ({shown} kimg in all)" if shown else ""))
        if entry.get("fine_tuning"):
            options = describe_options(entry["fine_tuning"])
            typer.echo(f"  a run from it fine-tunes with: {options} (unless its config sets them)")
        for line in entry.get("use") or []:
            typer.echo(f"  use: {line}")
    typer.echo("A base model is also where 'maskgen run' starts when its architecture matches (--init).")
