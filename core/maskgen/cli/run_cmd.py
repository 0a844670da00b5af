"""``maskgen run``: train a GAN."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer

from maskgen.cli.app import TRAIN, app
from maskgen.cli.completion import complete_augment_stack
from maskgen.cli.options import BATCH, KIMG, MINUTES, SEED, checkpoint_option, finite_float, parse_key_values
from maskgen.cli.progress import TRAINING_STEPS, training_bar
from maskgen.config import DEFAULT_PRESET, MINUTES_MAX, PRESETS, TrainConfig, file_values_for, resolve_config
from maskgen.errors import MaskgenError

UPSCALE_MINUTES = finite_float(
    ge=0, le=MINUTES_MAX, why="minutes of fine-tuning; 0 keeps the shipped upscaler"
)

# The help reads the defaults from the schema and its preset, never a copy of their numbers.
_PRESET = PRESETS[DEFAULT_PRESET]


def _default(name: str) -> object:
    return TrainConfig.model_fields[name].default


@app.command("run", rich_help_panel=TRAIN)
def run(
    augment: str = typer.Option(
        None,
        "--augment",
        "-a",
        help="Augmenter in front of D: none, ada, ... (see list-plugins); "
        f"stack with '+', e.g. apa+ada. Default: {_default('augment')}.",
        autocompletion=complete_augment_stack,
    ),
    data: str = typer.Option(
        None, "--data", help="Image folder to train on; default: the built-in procedural masks."
    ),
    resolution: int = typer.Option(
        None,
        "--resolution",
        "-r",
        help=f"Image size, a power of two ({DEFAULT_PRESET} preset: {_PRESET['resolution']}). Folders of "
        "intricate masks: 64, where the shipped base models are (a run that none matches says so).",
    ),
    batch: int = typer.Option(
        None,
        "--batch",
        "-b",
        parser=BATCH,
        help=f"Minibatch size ({DEFAULT_PRESET} preset: {_PRESET['batch']}).",
    ),
    kimg: float = typer.Option(
        None,
        "--kimg",
        parser=KIMG,
        help=f"Training length in thousands of images shown to D ({DEFAULT_PRESET} preset: "
        f"{_PRESET['kimg']:g}).",
    ),
    upscale_minutes: float = typer.Option(
        None,
        "--upscale-minutes",
        parser=UPSCALE_MINUTES,
        help="Second stage, 64 px runs: minutes of fine-tuning the shipped 4x upscaler on the collection "
        f"at 256 px after the GAN ({DEFAULT_PRESET} preset: {_PRESET['upscale_minutes']:g}; 0: as shipped).",
    ),
    seed: int = typer.Option(None, "--seed", parser=SEED, help="Random seed (runs are reproducible on CPU)."),
    minutes: float = typer.Option(
        None,
        "--minutes",
        parser=MINUTES,
        help="Also stop (with a checkpoint) after this many minutes of training, counted from when "
        f"this command starts training ({DEFAULT_PRESET} preset: {_PRESET['max_minutes']:g}, unless --kimg "
        "is given).",
    ),
    out: Path = typer.Option(
        Path("runs"), "--out", "-o", help="Folder in which the run directory is created."
    ),
    config_file: Path = typer.Option(
        None, "--config", "-c", help="YAML, TOML or JSON file with any of the options."
    ),
    resume: Path = typer.Option(None, "--resume", help="Continue the run in this run directory."),
    preset: str = typer.Option(
        None,
        "--preset",
        help=f"Defaults for sizes and budget: {' or '.join(PRESETS)} (default: {DEFAULT_PRESET}).",
    ),
    device: str = typer.Option(
        None, "--device", help=f"auto, cpu, cuda, cuda:N or mps (default: {_default('device')})."
    ),
    snapshot_kimg: float = typer.Option(
        None, "--snapshot-kimg", parser=KIMG, help="Samples and checkpoint every N kimg."
    ),
    xflip: bool = typer.Option(
        None,
        "--xflip/--no-xflip",
        help=f"Add mirrored copies of the training images ({DEFAULT_PRESET} preset: "
        f"{'--xflip' if _PRESET['xflip'] else '--no-xflip'}).",
    ),
    frame: bool = typer.Option(
        None,
        "--frame/--no-frame",
        help="Image folders: find each mask on its backdrop and centre and scale it as the built-in "
        "masks are (maskgen dataset frame); pictures without a plain backdrop are centre-cropped.",
    ),
    cond: bool = typer.Option(
        None,
        "--cond/--no-cond",
        help="Class-conditional on the seven colour characters, from the data's labels.csv or class "
        "sub-folders (red/, black/, ...); then generate --class red.",
    ),
    freeze_d: int = typer.Option(
        None,
        "--freeze-d",
        min=0,
        help="Fine-tuning: keep D's first N blocks from the image side fixed (FreezeD).",
    ),
    freeze_g: int = typer.Option(
        None,
        "--freeze-g",
        min=0,
        help="Fine-tuning: keep G's mapping network (1) and then its first N-1 synthesis blocks from the "
        "4 px side fixed; 0 trains every layer (default: what the starting base model recommends, else 0).",
    ),
    augment_option: list[str] = typer.Option(
        [],
        "--augment-option",
        "-A",
        help="Augmenter option KEY=VALUE, e.g. -A target=0.7 -A p=0.2 (repeatable).",
    ),
    generator_option: list[str] = typer.Option(
        [],
        "--generator-option",
        "-G",
        help="Generator option KEY=VALUE, e.g. -G channel_max=256 (repeatable).",
    ),
    init: str = checkpoint_option(
        None,
        "--init",
        what="Start G, D and G_ema from this GAN",
        more="Default: the shipped base model of the same architecture, if any; 'none': from scratch.",
    ),
    metrics: str = typer.Option(
        None,
        "--metrics",
        help="Measure these evaluators at every snapshot, as 'maskgen eval -m' names them (e.g. fid,c2st), "
        "on masknet features against the training images; 'none': off "
        f"({DEFAULT_PRESET} preset: {','.join(_PRESET['metrics']) or 'none'}; "
        f"paper256: {','.join(PRESETS['paper256']['metrics']) or 'none'}).",
    ),
    tensorboard: bool = typer.Option(
        None,
        "--tensorboard/--no-tensorboard",
        help="Curves and sample grids in RUN/tensorboard/ when the tensorboard package is installed "
        f"(maskgen[tensorboard]); default: {'on' if _default('tensorboard') else 'off'}.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    nproc: int = typer.Option(
        None,
        "--nproc",
        min=1,
        help="Train with N processes on this machine (launches torchrun; one GPU each, or CPU with "
        "gloo). --batch is the global batch, split over the processes.",
    ),
) -> None:
    """Train StyleGAN2 with an augmenter in front of the discriminator.

    Leaves a run directory with config.json, metrics.jsonl, samples/*.png, checkpoints/latest and
    tensorboard/ (when installed; open it with: tensorboard --logdir runs).
    Options come from the preset, then the --config file, then the flags.
    """
    from maskgen.training.distributed import world_from_environment

    world = world_from_environment()
    file_values = file_values_for(config_file, resume)
    flags = dict(
        augment=augment,
        data=data,
        resolution=resolution,
        batch=batch,
        kimg=kimg,
        max_minutes=minutes,
        upscale_minutes=upscale_minutes,
        seed=seed,
        preset=preset,
        device=device,
        snapshot_kimg=snapshot_kimg,
        xflip=xflip,
        frame=frame,
        cond=cond,
        freeze_d=freeze_d,
        freeze_g=freeze_g,
        init=init,
        metrics=metrics,
        tensorboard=tensorboard,
        augment_options=parse_key_values(augment_option, "--augment-option") or None,
        generator_options=parse_key_values(generator_option, "--generator-option") or None,
    )
    config = resolve_config(file_values, **flags)
    if nproc is not None and nproc > 1 and not world.distributed:
        # Checked here so that a bad config is one line, not a failure report from every worker.
        if config.batch % nproc:
            raise MaskgenError(
                f"batch {config.batch} cannot be split evenly over {nproc} processes; "
                f"use a multiple of {nproc}"
            )
        raise typer.Exit(_launch_torchrun(nproc))
    # Ctrl-C must work even when we were started with SIGINT ignored (background jobs of
    # non-interactive shells inherit that): during setup it stops at once; the training loop installs
    # its own handler, which checkpoints and stops (training/scaffold.py).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from maskgen.training import distributed
    from maskgen.training.loop import Progress as TrainProgress
    from maskgen.training.loop import prepare_run, train

    if world.distributed:
        quiet = quiet or not world.is_main
        distributed.split_threads(world)
        distributed.start(world, distributed.training_device(_device_of(config.device), world))

    bar = training_bar("train", quiet)
    steps = TRAINING_STEPS
    task = bar.add_task("train", total=steps, info="", start=False)

    def on_progress(p: TrainProgress) -> None:
        if not bar.live.is_started:  # started lazily: bad input fails before any bar is drawn
            bar.start()
            bar.start_task(task)
        info = f"{p.kimg:.2f}/{p.total_kimg:g} kimg {p.images_per_second:.0f} img/s"
        for key, label in (("loss/G", "G"), ("loss/D", "D"), ("augment/strength", "p")):
            if key in p.scalars:
                info += f" {label} {p.scalars[key]:.3f}"
        bar.update(task, completed=int(steps * min(1.0, p.kimg / p.total_kimg)), info=info)

    def on_message(message: str) -> None:
        if not quiet:
            bar.console.print(message, markup=False)  # labels such as FD[masknet] are not markup

    # The parts checked and the data prepared before any trainer: what the data decided (framing, the
    # mirror, duplicates) is said here, by a new run; a resumed run keeps what its config records.
    data = prepare_run(config, world, new_run=resume is None)
    if resume is None:
        for note in data.notes:
            on_message(note)
    try:
        run_dir = train(
            data.config,
            data=data,
            out_root=out,
            resume_dir=resume,
            on_progress=on_progress,
            on_message=on_message,
            world=world,
        )
    finally:
        bar.stop()
    if world.is_main:
        trained = data.config
        if trained.upscale_minutes is not None:
            from maskgen.upscaling.stage import run_stage

            run_stage(run_dir, trained.data, trained.resolution, trained.upscale_minutes, on_message,
                      seed=trained.seed, device=trained.device)  # fmt: skip
        bar.console.print(f"done: {run_dir}  (samples: {run_dir / 'samples' / 'fakes_latest.png'})")
    if world.distributed:
        # All ranks meet, tear the group down, then leave at once: letting gloo's threads race the
        # interpreter's shutdown is what makes multi-process CPU runs abort at exit now and then.
        distributed.finish(world)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _device_of(name: str) -> Any:
    from maskgen.devices import pick_device

    return pick_device(name)


def _launch_torchrun(nproc: int) -> int:
    """Re-run this command under torchrun with ``nproc`` processes; returns its exit status."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        "-m",
        "maskgen",
        *_without_nproc(sys.argv[1:]),
    ]
    # Ctrl-C reaches the workers through torchrun, and rank 0 writes its checkpoint.
    return subprocess.call(command)


def _without_nproc(args: list[str]) -> list[str]:
    # Workers must not see --nproc: torchrun's own parser would take it for its --nproc-per-node.
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            kept.append(arg)
    return kept
