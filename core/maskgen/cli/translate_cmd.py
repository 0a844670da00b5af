"""``maskgen translate train|apply``: exemplar-based translation (``dataset sketch``: dataset_cmd)."""

from __future__ import annotations

from pathlib import Path

import typer

from maskgen.cli.app import TRANSLATE, app, new_app
from maskgen.cli.options import (
    BATCH,
    KIMG,
    SEED,
    bounded_int,
    checkpoint_option,
    parse_key_values,
    upscaler_option,
)
from maskgen.cli.progress import train_with_bar

translate_app = new_app("Colour a mask sketch after a reference mask (CoCosNet, SPADE baseline).")
app.add_typer(translate_app, name="translate", rich_help_panel=TRANSLATE)


@translate_app.command("train")
def train_cmd(
    translator: str = typer.Option(None, "--translator", "-t", help="cocosnet (default) or spade."),
    data: str = typer.Option(
        None,
        "--data",
        help="Image folder, 'builtin' (default: procedural masks) or 'builtin-detailed' (intricate masks).",
    ),
    sketches: str = typer.Option(
        None, "--sketches", help="Folder of sketches matching --data (default: XDoG)."
    ),
    size: int = typer.Option(None, "--size", "-s", help="Image size, a power of two (cpu preset: 64)."),
    kimg: float = typer.Option(None, "--kimg", parser=KIMG, help="Training length in thousands of images."),
    batch: int = typer.Option(None, "--batch", "-b", parser=BATCH, help="Minibatch size (cpu preset: 4)."),
    seed: int = typer.Option(None, "--seed", parser=SEED, help="Random seed (runs are reproducible on CPU)."),
    out: Path = typer.Option(
        Path("runs"), "--out", "-o", help="Folder in which the run directory is created."
    ),
    resume: Path = typer.Option(None, "--resume", help="Continue the run in this run directory."),
    config_file: Path = typer.Option(None, "--config", "-c", help="YAML, TOML or JSON file with any option."),
    preset: str = typer.Option(None, "--preset", help="cpu (default: 64 px, small widths) or paper256."),
    features: str = typer.Option(None, "--features", help="vgg19 (default), masknet or random."),
    weights: Path = typer.Option(
        None, "--weights", help="VGG19 weights file (safetensors or torchvision .pth)."
    ),
    snapshot_kimg: float = typer.Option(
        None, "--snapshot-kimg", parser=KIMG, help="Contact sheet and checkpoint every N kimg."
    ),
    device: str = typer.Option(None, "--device", help="auto (default), cpu, cuda, cuda:N or mps."),
    translator_option: list[str] = typer.Option(
        [], "--translator-option", "-T", help="Translator option KEY=VALUE, e.g. -T w_context=5 (repeatable)."
    ),
    init: str = checkpoint_option(
        None,
        "--init",
        what="Start T and D from this translator",
        more="Default: the shipped base translator of the same translator and size, if any; 'none': from "
        "scratch.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train a translator on masks and their XDoG sketches.

    Leaves a run directory with config.json, metrics.jsonl, samples/contact_latest.png (sketch |
    reference | warped reference | output) and checkpoints/latest. Options come from the preset, then
    --config, then the flags.
    """
    from maskgen.config import file_values_for
    from maskgen.translation.config import resolve_translate_config

    file_values = file_values_for(config_file, resume)
    config = resolve_translate_config(
        file_values,
        translator=translator,
        data=data,
        sketches=sketches,
        size=size,
        kimg=kimg,
        batch=batch,
        seed=seed,
        preset=preset,
        features=features,
        feature_weights=str(weights) if weights is not None else None,
        snapshot_kimg=snapshot_kimg,
        device=device,
        init=init,
        translator_options=parse_key_values(translator_option, "--translator-option") or None,
    )
    from maskgen.translation.trainer import check_config, train

    check_config(config)  # bad options fail here, before the progress bar and any loading

    train_with_bar(
        config.translator,
        quiet,
        lambda on_progress, on_message: train(
            config, out_root=out, resume_dir=resume, on_progress=on_progress, on_message=on_message
        ),
        (("loss/G", "G", ".3f"), ("loss/D", "D", ".3f")),
    )


@translate_app.command("apply")
def apply_cmd(
    checkpoint: str = checkpoint_option(
        None,
        "--checkpoint",
        what="The translator",
        more="Default: the shipped base translator, CoCosNet first.",
    ),
    sketch_path: Path = typer.Option(..., "--sketch", help="Line drawing (PNG...) or a folder of them."),
    reference: Path = typer.Option(
        ..., "--reference", help="Colour reference mask, or a folder (sorted pairing)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output .png (for one sketch) or folder."),
    show_warp: bool = typer.Option(
        False, "--show-warp", help="Also write the reference warped onto the sketch as NAME_warp.png."
    ),
    extract: bool = typer.Option(
        False,
        "--extract-sketch",
        help="--sketch is a colour mask: take its XDoG lines (default XDoG settings).",
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    size: int | None = typer.Option(
        None,
        "--size",
        parser=bounded_int(ge=1, le=8192, why="a picture's size in pixels"),
        help="Size of the outputs in pixels: the translator's own (the default, e.g. 64), or print size "
        "(e.g. 256): coloured at the translator's size, then enlarged by an upscaler.",
    ),
    upscaler: str | None = upscaler_option(
        more="Used for a --size larger than the translator's; default: the shipped one for the "
        "translator's size. Given alone, --size is its output size.",
    ),
) -> None:
    """Colour sketches after references with a trained translator; inputs are resized to its size.

    A colour image given as --sketch gives its XDoG lines; other sizes, greyscale and transparent
    references are converted. Each such fix is one "note:" line on stderr. With --size larger than the
    translator's, the coloured pictures are enlarged by an upscaler (the sketch does not guide it).
    """
    from maskgen.data.sketch import XDoGParams
    from maskgen.devices import pick_device
    from maskgen.translation.apply import (
        apply_pairs,
        default_translator,
        load_translator,
        plan_pairs,
        translation_upscaler,
    )

    pairs = plan_pairs(sketch_path, reference, out)
    if checkpoint is None:
        checkpoint = default_translator()
        typer.echo(
            f"note: using the shipped base translator {checkpoint} (--checkpoint picks another)", err=True
        )
    loaded = load_translator(checkpoint, pick_device(device))
    enlarger, chosen = translation_upscaler(loaded, size, upscaler)
    written, warps = apply_pairs(
        loaded,
        pairs,
        show_warp=show_warp,
        extract=XDoGParams() if extract else None,
        on_note=lambda line: typer.echo(line, err=True),
        upscaler=enlarger,
    )
    name = loaded.config.get("translator")
    if show_warp and warps == 0:
        typer.echo(
            f"note: the {name} translator has no correspondence, so there is no warped reference to show",
            err=True,
        )
    target = pairs[0][2] if len(pairs) == 1 else out
    typer.echo(
        f"wrote {written} image(s) ({chosen} px, {name}"
        + (f" at {loaded.size} px, enlarged by the upscaler" if enlarger is not None else "")
        + f") to {target}"
        + (f" and {warps} warp image(s)" if warps else "")
    )
