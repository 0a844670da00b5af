"""``maskgen dataset ...``: procedural masks and training sets built from the user's images."""

from __future__ import annotations

from pathlib import Path

import typer

from maskgen.cli.app import app, new_app

dataset_app = new_app("Make datasets: procedural masks, training sets from your own images.")
app.add_typer(dataset_app, name="dataset")


@dataset_app.command("synth")
def synth(
    out: Path = typer.Option(
        ..., "--out", "-o", help="Folder to write PNGs, labels.csv and dataset.json to."
    ),
    count: int = typer.Option(2000, "--count", "-n", min=1, help="Number of masks."),
    size: int = typer.Option(64, "--size", "-s", min=16, max=1024, help="Image size in pixels (16-1024)."),
    seed: int = typer.Option(0, "--seed", help="Seed; the same seed always gives the same masks."),
) -> None:
    """Write procedural Peking-opera-like masks with their seven primary-colour labels."""
    from maskgen.data.build import synth_dataset

    summary = synth_dataset(out, count=count, size=size, seed=seed)
    typer.echo(f"wrote {summary.get('count', count)} masks ({size} px) with labels.csv to {out}")


@dataset_app.command("build")
def build(
    src: Path = typer.Argument(..., help="Folder of your mask images (searched recursively)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the training set."),
    size: int = typer.Option(256, "--size", "-s", min=16, max=1024, help="Output size in pixels."),
) -> None:
    """Build a training set as the paper does: square crop and resize, then mirror and colour change.

    Four images per source (original, mirrored, colour-changed, both) and manifest.csv saying where each
    came from.
    """
    from maskgen.data.build import build_dataset

    summary = build_dataset(src, out, size=size)
    typer.echo(
        f"wrote {summary.get('written', '?')} images from {summary.get('sources', '?')} sources to {out}"
        + (f" (skipped {summary['skipped']} unreadable)" if summary.get("skipped") else "")
    )
