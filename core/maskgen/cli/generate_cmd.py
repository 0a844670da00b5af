"""``maskgen generate``: draw new masks from a checkpoint."""

from __future__ import annotations

from pathlib import Path

import typer

from maskgen.cli.app import app
from maskgen.devices import pick_device
from maskgen.images import parse_seeds, save_grid, save_png, to_uint8


@app.command("generate")
def generate(
    checkpoint: str = typer.Option(..., "--checkpoint", help="Checkpoint directory, or a run directory."),
    seeds: str = typer.Option("0-15", "--seeds", help="Seeds, e.g. 0-15 or 1,5,9-12: one mask per seed."),
    truncation: float = typer.Option(
        1.0, "--truncation", "-t", help="Truncation psi (1: none, 0.7: typical)."
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="A .png file for one grid, or a folder for one PNG per seed."
    ),
    noise_mode: str = typer.Option("const", "--noise-mode", help="const (reproducible), random or none."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
) -> None:
    """Draw new masks with the generator (EMA weights) of a checkpoint."""
    from maskgen.artifacts.generator import generate_images, load_generator

    seed_list = parse_seeds(seeds)
    G, _ = load_generator(checkpoint, pick_device(device))
    images = generate_images(G, seed_list, truncation=truncation, noise_mode=noise_mode)
    if out.suffix.lower() == ".png":
        save_grid(images, out)
        typer.echo(f"wrote a grid of {len(seed_list)} masks to {out}")
        return
    for seed, image in zip(seed_list, to_uint8(images), strict=True):
        save_png(image, out / f"seed{seed:04d}.png")
    typer.echo(f"wrote {len(seed_list)} masks to {out}/")
