"""``maskgen compare``: train one run per augmenter on the same data and budget, write a report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from maskgen.cli.app import TRAIN, app
from maskgen.cli.completion import complete_augment_list
from maskgen.cli.options import BATCH, EVAL_IMAGES, IMAGES, KIMG, parse_scoped_options
from maskgen.config import read_config_file
from maskgen.errors import MaskgenError
from maskgen.images import parse_seeds


def parse_metric_names(text: str | None) -> list[str] | None:
    """None -> the default evaluators; 'none' -> no metrics; 'fid,kid' -> those."""
    if text is None:
        return None
    if text.strip().lower() == "none":
        return []
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise MaskgenError(f"--metrics {text!r} names no evaluator; give e.g. fid,kid,ssim, or 'none'")
    return names


@app.command("compare", rich_help_panel=TRAIN)
def compare(
    augment: str = typer.Option(
        "none,ada,apa,diffusion",
        "--augment",
        "-a",
        help="Comma-separated augmenters, one run each; stacks allowed, e.g. none,ada,apa,apa+ada.",
        autocompletion=complete_augment_list,
    ),
    data: str = typer.Option(None, "--data", help="Image folder; default: the built-in procedural masks."),
    dataset_count: int = typer.Option(
        None,
        "--dataset-count",
        parser=IMAGES,
        help="Built-in masks to train on; default 200: few, so that D can overfit as in the paper.",
    ),
    kimg: float = typer.Option(
        None, "--kimg", parser=KIMG, help="Training length of every run (cpu preset: 60)."
    ),
    seed: str = typer.Option(
        None,
        "--seed",
        "--seeds",
        help="Seed, or seeds such as 0-2: one run per augmenter and seed. Default 0.",
    ),
    resolution: int = typer.Option(None, "--resolution", "-r", help="Image size (cpu preset: 32)."),
    batch: int = typer.Option(None, "--batch", "-b", parser=BATCH, help="Minibatch size (cpu preset: 16)."),
    preset: str = typer.Option(None, "--preset", help="cpu (default) or paper256."),
    device: str = typer.Option(None, "--device", help="auto (default), cpu, cuda, cuda:N or mps."),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="Folder in which the comparison is created."),
    config_file: Path = typer.Option(
        None, "--config", "-c", help="YAML/TOML/JSON training options shared by every run."
    ),
    augment_option: list[str] = typer.Option(
        [], "--augment-option", "-A", help="AUGMENTER.KEY=VALUE, e.g. -A apa.use_ema=true (repeatable)."
    ),
    metrics: str = typer.Option(
        None,
        "--metrics",
        help="Evaluators, e.g. fid,kid,lpips; 'none': none; default: the paper's Table 1 metrics "
        "(fid,kid,ssim,msssim), those without network weights (c2st,asymmetry,colour) and the "
        "evaluators of installed plugins.",
    ),
    eval_num: int = typer.Option(
        500, "--eval-num", parser=EVAL_IMAGES, help="Generated images per run for the metrics."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train StyleGAN2 with each augmenter on the same data, seed(s) and budget; write report.md.

    The report has the layout of the paper's Table 1 (StyleGAN2, ADA, APA, Diffusion-GAN), curves
    of the augment strength and of the overfitting heuristic r_t (mean sign of D on reals) over
    kimg, and every run's samples side by side. See docs/compare.md.
    """
    from maskgen.apps.compare import CompareSettings, parse_augment_list, plan_configs, run_comparison
    from maskgen.training.loop import Progress as TrainProgress

    file_values = read_config_file(config_file) if config_file else {}
    settings = CompareSettings(
        augments=parse_augment_list(augment),
        seeds=parse_seeds(seed) if seed is not None else [int(file_values.get("seed", 0))],
        out_root=out,
        file_values=file_values,
        flags=dict(
            data=data,
            dataset_count=dataset_count,
            kimg=kimg,
            resolution=resolution,
            batch=batch,
            preset=preset,
            device=device,
        ),
        augment_options=parse_scoped_options(augment_option),
        metrics=parse_metric_names(metrics),
        eval_num=eval_num,
    )
    planned = plan_configs(settings)  # every error in the options ends here, before the progress bar
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
        disable=quiet,
    )
    with bar:
        task = bar.add_task("train", total=1000, info="")

        def on_progress(p: TrainProgress) -> None:
            info = f"{p.kimg:.2f}/{p.total_kimg:g} kimg {p.images_per_second:.0f} img/s"
            for key, value in p.scalars.items():
                if key.endswith("strength"):
                    info += f" p {value:.3f}"
            bar.update(task, completed=int(1000 * min(1.0, p.kimg / p.total_kimg)), info=info)

        def on_run_start(index: int, total: int, label: str) -> None:
            bar.reset(task, description=f"{index}/{total} {label}", info="")

        report = run_comparison(
            settings,
            on_message=None if quiet else console.print,
            on_progress=on_progress,
            on_run_start=on_run_start,
            planned=planned,
        )
    console.print(f"done: {report}")
