"""Exploring a trained generator: ``maskgen project``, ``mix``, ``video`` and ``audit`` (docs/explore.md).

Each command parses its arguments, calls one function of ``maskgen.apps`` and prints what it wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from maskgen.cli.app import DRAW, EVALUATE, app
from maskgen.cli.options import (
    IMAGES,
    LEARNING_RATE,
    SEED,
    bounded_int,
    finite_float,
    gan_checkpoint_option,
    truncation_psi,
    upscaler_option,
)
from maskgen.cli.progress import steps_bar
from maskgen.devices import pick_device
from maskgen.errors import MaskgenError

if TYPE_CHECKING:
    import torch

    from maskgen.apps.cascade import Cascade

_DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps."
_LATENTS_HELP = "seeds (0-3,7) and projected .npz files from 'maskgen project', comma separated"


_CLASS_HELP = (
    "Colour character of the seeds (--cond checkpoints), e.g. red; default: seed s as class s mod 7."
)
STEPS = bounded_int(ge=1, le=100_000, why="optimisation steps of one projection")
FRAMES = bounded_int(ge=1, le=10_000, why="frames between two keyframes")
FPS = finite_float(gt=0, le=240, why="frames per second a video player shows")
WEIGHT = finite_float(ge=0, le=1e12, why="a loss weight")
PERCENTILE = finite_float(ge=0, le=100, why="a percentile")
SHEET_ROWS = bounded_int(ge=0, le=10_000, why="rows of one contact sheet")
SIZE = bounded_int(ge=1, le=8192, why="a mask's size in pixels")
_SIZE_HELP = (
    "Size of the masks in pixels: the GAN's own (e.g. 64) or, where the checkpoint has an upscaler, "
    "print size (e.g. 256, the default then)."
)


def _cascade(
    checkpoint: str, device: str, upscaler: str | None, size: int | None
) -> tuple[Cascade, int, Callable[[torch.Tensor], torch.Tensor] | None]:
    """The checkpoint's cascade, the size to draw at (checked: one line if it cannot) and what enlarges
    the GAN's masks to it (None at the GAN's own size)."""
    from maskgen.apps.cascade import load_cascade

    cascade = load_cascade(checkpoint, pick_device(device), upscaler)
    chosen = cascade.check_size(size)
    if chosen == cascade.resolution:
        return cascade, chosen, None
    return cascade, chosen, lambda images: cascade.enlarge(images, chosen)


@app.command("project", rich_help_panel=DRAW)
def project(
    checkpoint: str = gan_checkpoint_option(),
    target: Path = typer.Option(
        ...,
        "--target",
        help="The mask image to find the latent of, any size (e.g. 256 px): the search fits it to the "
        "GAN's own size (e.g. 64 px).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for projected_w.npz, proj.png, loss.csv, ..."),
    steps: int = typer.Option(300, "--steps", parser=STEPS, help="Optimisation steps."),
    seed: int = typer.Option(
        0, "--seed", parser=SEED, help="Seed of the initial noise maps and the w noise."
    ),
    wplus: bool = typer.Option(False, "--wplus", help="One w per layer (W+) instead of one for all."),
    lr: float = typer.Option(
        0.1, "--lr", parser=LEARNING_RATE, help="Peak learning rate (ramped up and down)."
    ),
    mse_weight: float = typer.Option(
        1.0, "--mse-weight", parser=WEIGHT, help="Weight of the pixel MSE term."
    ),
    noise_weight: float = typer.Option(
        1e5, "--noise-weight", parser=WEIGHT, help="Weight of the noise regulariser."
    ),
    distance: str = typer.Option(
        "auto", "--distance", help="auto (LPIPS-VGG if its weights are found, else masknet), vgg, masknet."
    ),
    noise: str = typer.Option(
        "random",
        "--noise",
        help="Noise maps: random (optimised from fresh draws), const (optimised from the checkpoint's), "
        "fixed (the checkpoint's, not optimised: mix and video then show exactly proj.png).",
    ),
    device: str = typer.Option("auto", "--device", help=_DEVICE_HELP),
    size: int | None = typer.Option(
        None,
        "--size",
        parser=SIZE,
        help="Size of proj.png and target_vs_proj.png: the GAN's own or, where the checkpoint has an "
        "upscaler, print size (the default then). The search itself runs at the GAN's size.",
    ),
    upscaler: str | None = upscaler_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Find the latent of a real mask (the StyleGAN2 projector). The target is fitted to the GAN's own
    size for the search; the projection is drawn at --size."""
    from maskgen.apps.projection import ProjectionSettings, project_file

    settings = ProjectionSettings(
        steps=steps, seed=seed, wplus=wplus, lr=lr, mse_weight=mse_weight, noise_weight=noise_weight,
        distance=distance, noise=noise,
    )  # fmt: skip
    settings.check()
    cascade, chosen, enlarge = _cascade(checkpoint, device, upscaler, size)
    G, ck = cascade.generator, cascade.checkpoint
    bar = steps_bar("project", quiet)
    task = bar.add_task("project", total=steps, info="")

    def on_step(done: int, total: int, losses: dict[str, float]) -> None:
        info = f"distance {losses['distance']:.4f} mse {losses['mse']:.4f}"
        bar.update(task, completed=done, info=info)

    with bar:
        result, paths = project_file(
            G, target, out, settings, on_step, {"checkpoint": str(ck.path)}, enlarge=enlarge
        )
    f = result.final
    typer.echo(
        f"distance: {result.distance_name} {f['distance']:.4f}  mse {f['mse']:.5f}  psnr {f['psnr']:.2f} dB"
    )
    typer.echo(
        f"wrote {paths['w']}, {paths['proj'].name}, {paths['side_by_side'].name} ({chosen} px), "
        f"{paths['loss'].name}"
    )


@app.command("mix", rich_help_panel=DRAW)
def mix(
    checkpoint: str = gan_checkpoint_option(),
    rows: str = typer.Option(..., "--rows", help=f"Row sources: {_LATENTS_HELP}."),
    cols: str = typer.Option(..., "--cols", help=f"Column sources: {_LATENTS_HELP}."),
    styles: str = typer.Option(
        "0-3",
        "--styles",
        help="Layers a cell takes from its column (the rest from its row): 0-3 = coarse from the column, "
        "fine from the row; 'all' or 'none' too.",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="The grid, a .png file."),
    truncation: float = typer.Option(
        1.0, "--truncation", "-t", parser=truncation_psi, help="Truncation psi of the seeds."
    ),
    device: str = typer.Option("auto", "--device", help=_DEVICE_HELP),
    class_name: str | None = typer.Option(None, "--class", help=_CLASS_HELP),
    size: int | None = typer.Option(None, "--size", parser=SIZE, help=_SIZE_HELP),
    upscaler: str | None = upscaler_option(),
) -> None:
    """The style-mixing grid: each cell mixes its row's and its column's styles (mixed at the GAN's
    size, drawn at --size)."""
    from maskgen.apps.latents import parse_latent_sources
    from maskgen.apps.mixing import parse_styles, style_mixing_grid
    from maskgen.artifacts.generator import class_index
    from maskgen.images import save_png

    if out.suffix.lower() != ".png":
        raise MaskgenError(f"--out must be a .png file, got {out}")
    row_sources = parse_latent_sources(rows, "--rows")
    col_sources = parse_latent_sources(cols, "--cols")
    cascade, chosen, enlarge = _cascade(checkpoint, device, upscaler, size)
    G = cascade.generator
    index = class_index(cascade.checkpoint, class_name)
    layers = parse_styles(styles, G.num_ws)
    grid = style_mixing_grid(G, row_sources, col_sources, layers, truncation, index, enlarge)
    save_png(grid.image(), out)
    shown = ",".join(map(str, layers)) or "none"
    typer.echo(
        f"wrote a {len(row_sources)}x{len(col_sources)} style-mixing grid of {chosen} px masks to {out} "
        f"(layers {shown} of {G.num_ws} from the columns)"
    )


@app.command("video", rich_help_panel=DRAW)
def video(
    checkpoint: str = gan_checkpoint_option(),
    seeds: str = typer.Option("0-7", "--seeds", help=f"Keyframes: {_LATENTS_HELP}."),
    out: Path = typer.Option(..., "--out", "-o", help="walk.gif (Pillow) or walk.mp4 (imageio-ffmpeg)."),
    frames: int = typer.Option(60, "--frames", parser=FRAMES, help="Frames from one keyframe to the next."),
    grid: str = typer.Option(
        "1x1", "--grid", help="COLUMNSxROWS walks side by side; keyframes split in order."
    ),
    truncation: float = typer.Option(
        1.0, "--truncation", "-t", parser=truncation_psi, help="Truncation psi of the seeds."
    ),
    loop: bool = typer.Option(False, "--loop", help="Walk from the last keyframe back to the first."),
    fps: float = typer.Option(30.0, "--fps", parser=FPS, help="Frames per second."),
    device: str = typer.Option("auto", "--device", help=_DEVICE_HELP),
    class_name: str | None = typer.Option(None, "--class", help=_CLASS_HELP),
    size: int | None = typer.Option(None, "--size", parser=SIZE, help=_SIZE_HELP),
    upscaler: str | None = upscaler_option(),
) -> None:
    """A latent walk between keyframes, linear in W, as a GIF or an MP4 (frames drawn at --size)."""
    from maskgen.apps.latents import parse_latent_sources
    from maskgen.apps.video import check_video_path, latent_walk, parse_grid, write_video
    from maskgen.artifacts.generator import class_index

    check_video_path(out)  # a missing encoder fails before anything is rendered
    sources = parse_latent_sources(seeds, "--seeds")
    cells = parse_grid(grid)
    cascade, _, enlarge = _cascade(checkpoint, device, upscaler, size)
    G = cascade.generator
    index = class_index(cascade.checkpoint, class_name)
    walk = latent_walk(
        G, sources, frames=frames, grid=cells, loop=loop, truncation=truncation, class_index=index,
        enlarge=enlarge,
    )  # fmt: skip
    write_video(walk, out, fps=fps)
    typer.echo(f"wrote {len(walk)} frames ({walk.shape[2]}x{walk.shape[1]} px, {fps:g} fps) to {out}")


@app.command("audit", rich_help_panel=EVALUATE)
def audit(
    checkpoint: str = gan_checkpoint_option(),
    data: str | None = typer.Option(
        None,
        "--data",
        help="Training images: a folder, builtin or builtin-detailed (default: the checkpoint's).",
    ),
    num: int = typer.Option(64, "--num", parser=IMAGES, help="Masks to generate (seeds 0..num-1)."),
    out: Path = typer.Option(Path("audit"), "--out", "-o", help="Folder for audit.json and the pictures."),
    percentile: float = typer.Option(
        1.0,
        "--percentile",
        parser=PERCENTILE,
        help="Flag fakes closer than this percentile of real->real NN distances.",
    ),
    truncation: float = typer.Option(
        1.0, "--truncation", "-t", parser=truncation_psi, help="Truncation psi of the fakes."
    ),
    sheet_rows: int = typer.Option(
        16,
        "--sheet-rows",
        parser=SHEET_ROWS,
        help="Rows of the contact sheet: the fakes closest to the training set (0: all).",
    ),
    device: str = typer.Option("auto", "--device", help=_DEVICE_HELP),
) -> None:
    """Copy audit: each generated mask's nearest training masks, against the real->real baseline."""
    from maskgen.apps.audit import FEATURES, copy_audit, training_set, write_audit
    from maskgen.artifacts.generator import load_generator
    from maskgen.config import validate_config

    if num < 1 or sheet_rows < 0:
        raise MaskgenError(
            f"--num must be at least 1 and --sheet-rows at least 0, got {num} and {sheet_rows}"
        )
    G, ck = load_generator(checkpoint, pick_device(device))
    train_config = validate_config(ck.config["train"])
    images, names, description = training_set(data, G.img_resolution, train_config)
    result = copy_audit(G, images, list(range(num)), truncation, percentile, train_names=names)
    paths = write_audit(result, out, {"checkpoint": str(ck.path), "data": description}, sheet_rows)
    flagged = [result.seeds[i] for i in result.flagged]
    typer.echo(
        f"{len(flagged)} of {num} fakes flagged as possible copies (NN distance[{FEATURES}] <= "
        f"{result.threshold:.4f}, the p{percentile:g} of real->real over {len(images)} training masks)"
        + (f": seeds {', '.join(map(str, flagged))}" if flagged else "")
    )
    typer.echo(f"wrote {paths['json']}, {paths['contact'].name}, {paths['hist'].name}")
