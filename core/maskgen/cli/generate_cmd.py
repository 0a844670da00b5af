"""``maskgen generate``: draw new masks from a checkpoint."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from maskgen.cli.app import DRAW, app
from maskgen.cli.options import bounded_int, gan_checkpoint_option, truncation_psi, upscaler_option
from maskgen.devices import pick_device
from maskgen.errors import MaskgenError
from maskgen.images import parse_seeds, save_grid, save_png, to_uint8


class NoiseModeChoice(str, Enum):
    const = "const"
    random = "random"
    none = "none"


@app.command("generate", rich_help_panel=DRAW)
def generate(
    checkpoint: str = gan_checkpoint_option(),
    seeds: str = typer.Option("0-15", "--seeds", help="Seeds, e.g. 0-15 or 1,5,9-12: one mask per seed."),
    truncation: float = typer.Option(
        1.0, "--truncation", "-t", parser=truncation_psi, help="Truncation psi (1: none, 0.7: typical)."
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="A .png file for one grid, or a folder for one PNG per seed."
    ),
    noise_mode: NoiseModeChoice = typer.Option(
        NoiseModeChoice.const, "--noise-mode", help="const (reproducible), random or none."
    ),
    truncation_sweep: str | None = typer.Option(
        None, "--truncation-sweep", help="e.g. 0.3,0.5,0.7,1.0: one grid row per psi (--out a .png)."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    size: int | None = typer.Option(
        None,
        "--size",
        parser=bounded_int(ge=1, le=8192, why="a mask's size in pixels"),
        help="Size of the masks in pixels: the GAN's own (e.g. 64) or, where the checkpoint has an "
        "upscaler, print size (e.g. 256, the default then).",
    ),
    upscaler: str | None = upscaler_option(),
    class_name: str | None = typer.Option(
        None,
        "--class",
        help="Colour character to draw (--cond checkpoints): red, purple, black, white, blue, green, "
        "yellow; default: seed s as class s mod 7.",
    ),
) -> None:
    """Draw new masks with the generator (EMA weights) of a checkpoint, at print size where it has an
    upscaler (the GAN decides the mask, the upscaler draws it 4x larger)."""
    from maskgen.apps.cascade import load_cascade
    from maskgen.artifacts.generator import class_index

    seed_list = parse_seeds(seeds)
    if truncation_sweep is not None:
        from maskgen.apps.truncation import parse_psis
        from maskgen.apps.truncation import truncation_sweep as sweep

        psis = parse_psis(truncation_sweep)
        if out.suffix.lower() != ".png":
            raise MaskgenError(f"--truncation-sweep writes one grid: --out must be a .png file, got {out}")
        cascade = load_cascade(checkpoint, pick_device(device), upscaler)
        chosen = cascade.check_size(size)
        rows = sweep(
            cascade.generator, seed_list, psis, noise_mode.value, class_index(cascade.checkpoint, class_name)
        )
        save_grid(cascade.enlarge(rows, chosen), out, columns=len(seed_list))
        typer.echo(f"wrote a truncation sweep to {out}: rows psi {', '.join(f'{p:g}' for p in psis)}")
        return
    cascade = load_cascade(checkpoint, pick_device(device), upscaler)
    chosen = cascade.check_size(size)
    index = class_index(cascade.checkpoint, class_name)
    images = cascade.draw(seed_list, truncation, noise_mode.value, index, chosen)
    if out.suffix.lower() == ".png":
        save_grid(images, out)
        typer.echo(f"wrote a grid of {len(seed_list)} masks at {chosen} px to {out}")
        return
    for seed, image in zip(seed_list, to_uint8(images), strict=True):
        save_png(image, out / f"seed{seed:04d}.png")
    typer.echo(f"wrote {len(seed_list)} masks at {chosen} px to {out}/")
