"""``maskgen dataset synth|check|frame|build|sketch|label-colors``: every ``dataset`` command.

Procedural masks, a check of the user's folder before a run, the user's images framed like the
built-in masks, training sets built from them, XDoG sketches of them (for translation) and proposed
colour labels (for the classification test).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from maskgen.cli.app import DATA, app, new_app
from maskgen.cli.options import SEED, XDOG_EPSILON, XDOG_K, XDOG_PHI, XDOG_SIGMA, XDOG_TAU, bounded_int

dataset_app = new_app("Make datasets: procedural masks, training sets from your own images.")
app.add_typer(dataset_app, name="dataset", rich_help_panel=DATA)


@dataset_app.command("synth")
def synth(
    out: Path = typer.Option(
        ..., "--out", "-o", help="Folder to write PNGs, labels.csv and dataset.json to."
    ),
    count: int = typer.Option(
        2000, "--count", "-n", parser=bounded_int(ge=1, le=1_000_000), help="Number of masks."
    ),
    size: int = typer.Option(64, "--size", "-s", min=16, max=1024, help="Image size in pixels (16-1024)."),
    seed: int = typer.Option(
        0, "--seed", parser=SEED, help="Seed; the same seed always gives the same masks."
    ),
    style: str = typer.Option(
        "simple",
        "--style",
        help="simple (builtin), detailed (builtin-detailed), photographed (builtin-photographed), "
        "varied (builtin-varied) or varied-mix (builtin-varied-mix, what the base models train on).",
    ),
) -> None:
    """Write procedural Peking-opera-like masks with their seven primary-colour labels."""
    from maskgen.data.build import synth_dataset

    summary = synth_dataset(out, count=count, size=size, seed=seed, style=style.strip().lower())
    style_name = summary.get("style")
    kind = f"{style_name} masks" if style_name != "simple" else "masks"
    typer.echo(f"wrote {summary.get('count', count)} {kind} ({size} px) with labels.csv to {out}")


@dataset_app.command("check")
def check(
    src: Path = typer.Argument(..., help="Folder of your mask images (searched recursively)."),
    resolution: int = typer.Option(64, "--resolution", "-r", help="The resolution you will train at."),
    frame: bool = typer.Option(True, "--frame/--no-frame", help="Read the masks framed, as runs do."),
    json_path: Path | None = typer.Option(None, "--json", help="Also write the report as JSON here."),
) -> None:
    """Check a folder before training on it: unreadable files, pictures smaller than the resolution,
    pages of several masks, duplicates (mirrored ones too), pictures without colour, and whether
    -G symmetric=auto will mirror G. Warnings only: the folder is not changed."""
    from maskgen.data.check import check_collection
    from maskgen.evaluation.files import write_json

    report = check_collection(src, resolution, frame)
    if json_path is not None:  # first: a path that cannot be written is the one line of a failure
        write_json(json_path, report.as_dict())
    typer.echo(report.summary())
    for line in report.warnings():
        typer.echo(f"warning: {line}", err=True)
    if not report.warnings():
        typer.echo("nothing to fix")


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


@dataset_app.command("frame")
def frame(
    src: Path = typer.Argument(..., help="Folder of your mask images (searched recursively)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the framed images (PNG, same names)."),
    size: int = typer.Option(256, "--size", "-s", min=16, max=1024, help="Output size in pixels."),
) -> None:
    """Find each mask on its backdrop and crop it as the built-in masks are framed: centred, 88% high.

    For photographs and scans framed in many ways. Pictures without a plain backdrop are centre-cropped
    as training would; manifest.csv says which were framed, and labels.csv follows the new names.
    """
    from maskgen.data.build import frame_dataset

    summary = frame_dataset(src, out, size=size)
    written, framed = summary.get("written", 0), summary.get("framed", 0)
    typer.echo(
        f"wrote {written} images to {out}: {framed} framed, {written - framed} centre-cropped (no plain "
        "backdrop found)" + (f", skipped {summary['skipped']} unreadable" if summary.get("skipped") else "")
    )
    pages = summary.get("pages") or []
    if pages:
        shown = ", ".join(pages[:3]) + (f" and {len(pages) - 3} more" if len(pages) > 3 else "")
        typer.echo(
            f"warning: {len(pages)} look like pages of several masks, each framed as one picture "
            f"({shown}): cut them into one mask per image (manifest.csv's masks column)",
            err=True,
        )


def _xdog_flags(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@dataset_app.command("sketch")
def sketch(
    src: Path = typer.Argument(..., help="An image or a folder of images (searched recursively)."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Folder for the line drawings (PNG, same relative names)."
    ),
    size: int = typer.Option(None, "--size", "-s", min=16, max=4096, help="Square-crop and resize first."),
    sigma: float = typer.Option(
        None,
        "--sigma",
        parser=XDOG_SIGMA,
        help="Inner Gaussian std in px at 256 px (scaled with size). [1.0]",
    ),
    k: float = typer.Option(None, "--k", parser=XDOG_K, help="Outer/inner Gaussian ratio. [1.6]"),
    tau: float = typer.Option(
        None, "--tau", parser=XDOG_TAU, help="Weight of the outer Gaussian (p = tau/(1-tau)). [0.98]"
    ),
    epsilon: float = typer.Option(
        None, "--epsilon", parser=XDOG_EPSILON, help="Threshold on the DoG; lines below it. [-0.015]"
    ),
    phi: float = typer.Option(None, "--phi", parser=XDOG_PHI, help="Steepness of the tanh ramp. [100]"),
    channels: str = typer.Option(None, "--channels", help="rgb (colour edges too) or luma. [rgb]"),
    binary: bool = typer.Option(False, "--binary", help="Pure black/white lines instead of soft ones."),
) -> None:
    """XDoG line drawings (Winnemoeller et al. 2012) of every image: white paper, black outlines."""
    from maskgen.translation.sketches import sketch_files

    params = _xdog_flags(sigma=sigma, k=k, tau=tau, epsilon=epsilon, phi=phi, channels=channels)
    written, skipped = sketch_files(src, out, params, size=size, binary=binary)
    typer.echo(f"wrote {written} sketches to {out}" + (f" (skipped {skipped} unreadable)" if skipped else ""))


@dataset_app.command("label-colors")
def label_colors(
    folder: Path = typer.Argument(..., help="Folder of mask images (searched recursively)."),
    out: Path = typer.Option(None, "--out", "-o", help="CSV to write; default: FOLDER/labels.csv."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing labels file."),
) -> None:
    """Propose the seven primary-colour labels from a hue/value rule on the central face region."""
    from maskgen.evaluation.imagesets.labels import write_colour_labels

    target, counts = write_colour_labels(folder, out, force)
    summary = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
    typer.echo(
        f"wrote {sum(counts.values())} proposed labels to {target} ({summary}); check them before training"
    )
