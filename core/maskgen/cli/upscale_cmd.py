"""``maskgen upscale train|apply``: the cascade's second stage, a learned upscaler for print size."""

from __future__ import annotations

from pathlib import Path

import typer

from maskgen.cli.app import TRAIN, app, new_app
from maskgen.cli.options import BATCH, KIMG, MINUTES, SEED, bounded_int, checkpoint_option, parse_key_values
from maskgen.cli.progress import train_with_bar

SIZE = bounded_int(ge=32, le=2048, why="print sizes: a power of two from 32 to 2048 px")
SCALE = bounded_int(ge=2, le=8, why="the upscaler enlarges 2, 4 or 8 times")

upscale_app = new_app("Draw masks at print size: train a learned 4x upscaler, or enlarge pictures with one.")
app.add_typer(upscale_app, name="upscale", rich_help_panel=TRAIN)


@upscale_app.command("train")
def train_cmd(
    data: str = typer.Option(
        None,
        "--data",
        help="Folder of masks at --size px or larger, or built-in masks: builtin-mix (default: detailed "
        "and photographed), builtin-detailed, builtin-photographed.",
    ),
    size: int = typer.Option(None, "--size", "-s", parser=SIZE, help="Output size in pixels (default 256)."),
    scale: int = typer.Option(None, "--scale", parser=SCALE, help="Enlargement: 2, 4 (default) or 8."),
    kimg: float = typer.Option(None, "--kimg", parser=KIMG, help="Training length in thousands of crops."),
    minutes: float = typer.Option(
        None, "--minutes", parser=MINUTES, help="Also stop, with a checkpoint, after this long."
    ),
    batch: int = typer.Option(None, "--batch", "-b", parser=BATCH, help="Crops per step (default 8)."),
    seed: int = typer.Option(None, "--seed", parser=SEED, help="Random seed (runs are reproducible on CPU)."),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="Folder in which the run directory is made."),
    resume: Path = typer.Option(None, "--resume", help="Continue the run in this run directory."),
    config_file: Path = typer.Option(None, "--config", "-c", help="YAML, TOML or JSON file with any option."),
    init: str = checkpoint_option(
        None,
        "--init",
        what="Start from this upscaler",
        more="Default: the shipped base upscaler of the same size and scale; 'none': from scratch.",
    ),
    device: str = typer.Option(None, "--device", help="auto (default), cpu, cuda, cuda:N or mps."),
    upscaler_option: list[str] = typer.Option(
        [], "--upscaler-option", "-U", help="Upscaler option KEY=VALUE, e.g. -U channels=48 (repeatable)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train an upscaler on large masks and spoiled small versions of them.

    Leaves a run directory with config.json, metrics.jsonl, samples/contact_latest.png (small | bilinear
    | upscaled | real) and checkpoints/latest.
    """
    from maskgen.config import file_values_for
    from maskgen.upscaling.config import validate_upscale_config
    from maskgen.upscaling.trainer import check_config, train

    values = file_values_for(config_file, resume)
    flags = {
        "data": data,
        "size": size,
        "scale": scale,
        "kimg": kimg,
        "max_minutes": minutes,
        "batch": batch,
        "seed": seed,
        "init": init,
        "device": device,
        "upscaler_options": parse_key_values(upscaler_option, "--upscaler-option") or None,
    }
    config = validate_upscale_config(values | {k: v for k, v in flags.items() if v is not None})
    check_config(config)
    train_with_bar(
        f"upscaler {config.upscaler}",
        quiet,
        lambda on_progress, on_message: train(
            config, out_root=out, resume_dir=resume, on_progress=on_progress, on_message=on_message
        ),
        (("loss/l1", "L1", ".4f"),),
    )


@upscale_app.command("apply")
def apply_cmd(
    checkpoint: str = checkpoint_option(..., "--checkpoint", what="The upscaler, or a GAN that carries one"),
    inputs: list[Path] = typer.Argument(..., help="Pictures (or folders of them) to enlarge."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the enlarged pictures (same names)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
) -> None:
    """Enlarge pictures with a learned upscaler (each is first fitted to its input size)."""
    from maskgen.apps.cascade import upscale_files

    written = upscale_files(checkpoint, inputs, out, device)
    typer.echo(f"wrote {written} enlarged picture(s) to {out}/")
