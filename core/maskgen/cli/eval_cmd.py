"""Evaluation commands: ``maskgen eval``, ``maskgen classify train|eval``, ``maskgen features
train-masknet`` and ``maskgen report`` (``dataset label-colors`` is in dataset_cmd)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from maskgen.cli.app import EVALUATE, app, new_app
from maskgen.cli.options import (
    BATCH,
    EPOCHS,
    EVAL_IMAGES,
    IMAGES,
    IMAGES_MAX,
    LEARNING_RATE,
    SEED,
    SEED_MAX,
    bounded_int,
    truncation_psi,
)
from maskgen.devices import pick_device
from maskgen.errors import MaskgenError
from maskgen.evaluation.context import Tracker
from maskgen.training.eye import EyeTrainConfig

classify_app = new_app("The paper's classification test: train a primary-colour classifier, evaluate it.")
features_app = new_app("Feature networks of the evaluation (masknet).")
app.add_typer(classify_app, name="classify", rich_help_panel=EVALUATE)
app.add_typer(features_app, name="features", rich_help_panel=EVALUATE)

_DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps."
_WEIGHTS_ENV = "weights are looked up in --weights, $MASKGEN_WEIGHTS, then $TORCH_HOME/hub/checkpoints"


class _RichTracker(Tracker):
    """One progress bar per phase, on stderr (stdout keeps only the results)."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress

    def task(self, description: str, total: int) -> Callable[[int], None]:
        if self.progress is None:
            return lambda _n: None
        task_id = self.progress.add_task(description, total=total)
        return lambda n: self.progress.advance(task_id, n)


@contextlib.contextmanager
def _tracker(quiet: bool) -> Iterator[_RichTracker]:
    if quiet:
        yield _RichTracker(None)
        return
    progress = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with progress:
        yield _RichTracker(progress)


def _outputs_writable(files: Sequence[Path | None] = (), folders: Sequence[Path | None] = ()) -> None:
    """Outputs that cannot be written fail before minutes of computing, not after."""
    from maskgen.outputs import check_writable

    for path in files:
        if path is not None:
            check_writable(path)
    for path in folders:
        if path is not None:
            check_writable(path, folder=True)


def _write_json(path: Path, data: Any) -> None:
    from maskgen.evaluation.files import write_json

    write_json(path, data)


def _step_progress(tracker: Tracker, description: str) -> Callable[[int, int, str], None]:
    """A library ``progress(step, total, text)`` callback as one bar, made at the first step."""
    state: dict[str, Any] = {"advance": None, "done": 0}

    def on_step(step: int, total: int, _text: str) -> None:
        if state["advance"] is None:
            state["advance"] = tracker.task(description, total)
        state["advance"](step - state["done"])
        state["done"] = step

    return on_step


# --------------------------------------------------------------------------------------------------
# maskgen eval
# --------------------------------------------------------------------------------------------------


@app.command("eval", rich_help_panel=EVALUATE)
def eval_command(
    real: str = typer.Option(
        ..., "--real", help="Folder of real images, or 'builtin[:SEED]' (procedural masks)."
    ),
    fake: str = typer.Option(
        ...,
        "--fake",
        help="Folder of generated images, or a checkpoint / run directory / base:NAME / hf://OWNER/REPO "
        "to draw them from.",
    ),
    metrics: str = typer.Option(
        "fid,kid,ssim,msssim,lpips,classify",
        "--metrics",
        "-m",
        help="Comma-separated evaluator names (maskgen list-plugins shows the installed ones): "
        "fid,kid,ssim,msssim,lpips,classify; without network weights also c2st (classifier two-sample "
        "test), asymmetry, colour (seven-colour histogram distance); prdc (precision, recall, density, "
        "coverage on --features); ppl (perceptual path length of a --fake checkpoint, on the LPIPS "
        "network); and those of installed plugins.",
    ),
    features: str = typer.Option(
        "masknet",
        "--features",
        help="masknet (offline: FD, KD, LPIPS on masknet) or inception (FID, KID; LPIPS on AlexNet).",
    ),
    num: int = typer.Option(
        5000, "--num", "-n", parser=EVAL_IMAGES, help="At most this many images per set (generated: exactly)."
    ),
    size: int = typer.Option(
        None,
        "--size",
        parser=bounded_int(ge=16, le=4096),
        help="Compare at this size (needed when the sets differ).",
    ),
    json_path: Path = typer.Option(
        None, "--json", help="Also write every number (and seeds, pairs) to this file."
    ),
    device: str = typer.Option("auto", "--device", help=_DEVICE_HELP),
    seed: int = typer.Option(
        0, "--seed", parser=SEED, help="First generation seed; seed of subsets, pairs and KID subsets."
    ),
    pairs: int = typer.Option(
        None, "--pairs", parser=IMAGES, help="At most this many pairs for SSIM/MS-SSIM/LPIPS."
    ),
    truncation: float = typer.Option(
        1.0, "--truncation", "-t", parser=truncation_psi, help="Truncation psi when generating."
    ),
    weights: Path = typer.Option(
        None, "--weights", help=f"Inception file (inception-2015-12-05.pt); {_WEIGHTS_ENV}."
    ),
    lpips_net: str = typer.Option(None, "--lpips-net", help="alex or masknet; default: alex with inception."),
    lpips_weights: Path = typer.Option(
        None, "--lpips-weights", help="AlexNet file (alexnet-owt-7be5be79.pth)."
    ),
    masknet: Path = typer.Option(None, "--masknet", help="masknet weights other than the shipped ones."),
    classifier: Path = typer.Option(
        None, "--classifier", help="A 'maskgen classify train' folder; default: masknet's colour head."
    ),
    download: bool = typer.Option(
        False, "--download", help="Download missing standard weights (needs internet)."
    ),
    frame: bool = typer.Option(
        None,
        "--frame/--no-frame",
        help="Frame the masks of image folders as the built-in masks are; default: as the --fake "
        "checkpoint's training images were (the presets frame them), else not.",
    ),
    label: str = typer.Option(None, "--label", help="Model name for 'maskgen report' (stored in the JSON)."),
    kind: str = typer.Option(
        None, "--kind", help="generation or translation: the report table of this model (stored in the JSON)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Compare generated masks with real ones: FID/FD, KID/KD, SSIM, MS-SSIM, LPIPS, classification."""
    from maskgen.evaluation.evaluate import EvalSettings, evaluate, parse_metrics, preflight, summary_rows
    from maskgen.evaluation.imagesets import (
        common_size,
        expected_count,
        load_image_set,
        resolve_named_checkpoint,
    )

    real, fake = resolve_named_checkpoint(real), resolve_named_checkpoint(fake)

    settings = EvalSettings(
        metrics=parse_metrics(metrics),
        features=features,
        lpips_net=lpips_net,
        weights=weights,
        lpips_weights=lpips_weights,
        masknet=masknet,
        classifier=classifier,
        seed=seed,
        max_pairs=pairs,
        download=download,
    )
    preflight(settings)
    _outputs_writable(files=[json_path])
    if kind not in (None, "generation", "translation"):
        raise MaskgenError(f"--kind must be generation or translation, got {kind!r}")
    torch_device = pick_device(device)
    common = common_size(real, fake, size)
    if frame is None:
        frame = _trained_on_framed_masks(fake)
    with _tracker(quiet) as tracker:
        real_task = tracker.task("real images", expected_count(real, num))
        real_set = load_image_set(
            real, common, num, "real", seed, torch_device, progress=real_task, frame=frame
        )
        fake_task = tracker.task("fake images", expected_count(fake, num))
        fake_set = load_image_set(
            fake, common, num, "fake", seed, torch_device, truncation, fake_task, frame=frame
        )
        result = evaluate(real_set, fake_set, settings, torch_device, tracker)
    if label or kind:
        default_kind = "generation" if fake_set.kind == "checkpoint" else "translation"
        result["model"] = {"label": label or Path(fake).name, "kind": kind or default_kind}
    console = Console()
    table = Table(
        title=f"maskgen eval: {len(real_set.images)} real vs {len(fake_set.images)} fake, {common} px"
    )
    for column in ("metric", "value", "detail"):
        table.add_column(column)
    for row in summary_rows(result):
        table.add_row(*(escape(cell) for cell in row))  # labels such as FD[masknet] are not markup
    console.print(table)
    console.print(escape(f"real: {real_set.source}"))
    fake_line = fake_set.source + (f" (seeds {fake_set.info['seeds']})" if "seeds" in fake_set.info else "")
    console.print(escape(f"fake: {fake_line}"))
    for note in result["notes"]:
        console.print(escape(f"note: {note}"))
    if frame and real_set.kind == "folder":
        console.print("note: image folders framed as the built-in masks are (--no-frame: as they are)")
    if json_path is not None:
        _write_json(json_path, result)
        console.print(f"wrote {json_path}")


def _trained_on_framed_masks(spec: str) -> bool:
    """Whether ``spec`` is a checkpoint (or run) trained on framed image folders (config ``frame``)."""
    from maskgen.artifacts.checkpoint import read_checkpoint_json
    from maskgen.evaluation.imagesets import checkpoint_dir

    checkpoint = checkpoint_dir(Path(spec).expanduser())
    if checkpoint is None:
        return False
    try:
        train = read_checkpoint_json(checkpoint / "config.json").get("train", {})
    except MaskgenError:
        return False  # loading the checkpoint says what is wrong with it
    return isinstance(train, dict) and bool(train.get("frame", False))


# --------------------------------------------------------------------------------------------------
# maskgen classify
# --------------------------------------------------------------------------------------------------


@classify_app.command("train")
def classify_train(
    data: Path = typer.Option(..., "--data", help="Folder of labelled training images."),
    labels: Path = typer.Option(
        None,
        "--labels",
        help="labels.csv / .json (file,label[,category]); default: DIR/labels.csv or sub-folders.",
    ),
    backbone: str = typer.Option(
        "resnet18", "--backbone", help="resnet18 (the paper's) or masknet (offline)."
    ),
    pretrained: bool = typer.Option(
        False, "--pretrained", help="Start ResNet18 from ImageNet weights (the paper)."
    ),
    weights: Path = typer.Option(
        None, "--weights", help=f"ResNet18 file (resnet18-f37072fd.pth); {_WEIGHTS_ENV}."
    ),
    download: bool = typer.Option(False, "--download", help="Download the ImageNet weights if missing."),
    epochs: int = typer.Option(50, "--epochs", parser=EPOCHS, help="Training epochs (paper: 50)."),
    batch: int = typer.Option(8, "--batch", parser=BATCH, help="Batch size (paper: 8)."),
    lr: float = typer.Option(1e-3, "--lr", parser=LEARNING_RATE, help="Adam learning rate."),
    input_size: int = typer.Option(
        None,
        "--input-size",
        parser=bounded_int(ge=16, le=1024),
        help="Backbone input size (224 / 64 by default).",
    ),
    train_all: bool = typer.Option(
        False, "--train-all", help="Train every layer, not only the new last one."
    ),
    out: Path = typer.Option(Path("classifier"), "--out", "-o", help="Folder for the classifier."),
    device: str = typer.Option("auto", "--device", help=_DEVICE_HELP),
    seed: int = typer.Option(0, "--seed", parser=SEED, help="Seed of the new layer and the batch order."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train a classifier by transfer learning: new last layer on a pretrained backbone (paper, Table 3)."""
    from maskgen.evaluation.features.classifier import save_classifier, train_classifier_on_folder

    _outputs_writable(folders=[out])
    with _tracker(quiet) as tracker:
        model, config = train_classifier_on_folder(
            data,
            labels,
            backbone,
            pick_device(device),
            pretrained=pretrained,
            weights=weights,
            download=download,
            epochs=epochs,
            batch=batch,
            lr=lr,
            input_size=input_size,
            train_all=train_all,
            seed=seed,
            progress=_step_progress(tracker, "training"),
            on_note=lambda note: Console(stderr=True).print(escape(f"note: {note}")),
        )
    save_classifier(model, config, out)
    Console().print(
        f"trained {backbone} on {config.train_count} images of {len(config.class_names)} classes "
        f"({', '.join(config.class_names)}): training accuracy {config.train_accuracy:.1%}; wrote {out}/"
    )


@classify_app.command("eval")
def classify_eval(
    checkpoint: Path = typer.Option(
        ..., "--checkpoint", "-c", help="Folder written by 'maskgen classify train'."
    ),
    data: Path = typer.Option(..., "--data", help="Folder of labelled test images (real or generated)."),
    labels: Path = typer.Option(
        None, "--labels", help="labels.csv / .json; default: DIR/labels.csv or sub-folders."
    ),
    confusion: Path = typer.Option(
        None, "--confusion", help="Confusion matrix PNG; default: CHECKPOINT/confusion-<DATA name>.png."
    ),
    json_path: Path = typer.Option(None, "--json", help="Also write the numbers to this file."),
    device: str = typer.Option("auto", "--device", help=_DEVICE_HELP),
) -> None:
    """Accuracy of a classifier on a labelled folder: overall, per class, and a confusion matrix PNG."""
    from maskgen.evaluation.features.classifier import classify_folder

    _outputs_writable(files=[json_path, confusion])
    report, config, png = classify_folder(checkpoint, data, labels, pick_device(device), confusion)
    console = Console()
    table = Table(title=f"{config.backbone} classifier on {data}: accuracy {report['accuracy']:.1%}")
    for column in ("class", "images", "accuracy"):
        table.add_column(column)
    for name in config.class_names:
        value = report["per_class"][name]
        table.add_row(name, str(report["class_counts"][name]), "-" if value is None else f"{value:.1%}")
    table.add_row("all", str(report["count"]), f"{report['accuracy']:.1%}")
    console.print(table)
    console.print(f"confusion matrix: {png}")
    if json_path is not None:
        _write_json(json_path, report | {"checkpoint": str(checkpoint), "data": str(data)})
        console.print(f"wrote {json_path}")


# --------------------------------------------------------------------------------------------------
# maskgen features train-masknet
# --------------------------------------------------------------------------------------------------


@features_app.command("train-masknet")
def train_masknet_command(
    out: Path = typer.Option(Path("masknet.safetensors"), "--out", "-o", help="Weights file (.safetensors)."),
    count: int = typer.Option(
        3500, "--count", "-n", parser=bounded_int(ge=14, le=IMAGES_MAX), help="Procedural training masks."
    ),
    size: int = typer.Option(64, "--size", "-s", min=16, max=256, help="Size the masks are rendered at."),
    epochs: int = typer.Option(
        None, "--epochs", "-e", parser=EPOCHS, help="Training epochs (8; fine-tuning: 10)."
    ),
    batch: int = typer.Option(
        None, "--batch", parser=bounded_int(ge=2, le=4096), help="Batch size (64; fine-tuning: 32)."
    ),
    seed: int = typer.Option(
        2023,
        "--seed",
        parser=bounded_int(ge=0, le=SEED_MAX - 1),
        help="Dataset seed of the training masks (held-out: seed + 1).",
    ),
    holdout: int = typer.Option(
        700,
        "--holdout",
        parser=bounded_int(ge=7, le=IMAGES_MAX),
        help="Held-out masks the accuracy is measured on.",
    ),
    finetune: Path = typer.Option(
        None,
        "--finetune",
        help="Instead: fine-tune the shipped masknet on this folder of colour-labelled masks.",
    ),
    labels: Path = typer.Option(None, "--labels", help="With --finetune: labels.csv/.json (colour names)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train masknet on procedural masks (the defaults reproduce the shipped weights, on CPU), or
    fine-tune it on your own masks labelled with the seven primary colours (--finetune DIR)."""
    if out.suffix != ".safetensors":
        raise MaskgenError(f"--out must be a .safetensors file, got {out}")
    _outputs_writable(files=[out])
    if finetune is not None:
        _finetune_masknet(finetune, labels, out, epochs or 10, batch or 32, quiet)
        return
    from maskgen.evaluation.features.masknet_train import MasknetTrainConfig, train_masknet

    config = MasknetTrainConfig(
        count=count,
        size=size,
        epochs=epochs or 8,
        batch=batch or 64,
        seed=seed,
        holdout_count=holdout,
        holdout_seed=seed + 1,
    )
    with _tracker(quiet) as tracker:
        advance = tracker.task("training masknet", -(-count // config.batch) * config.epochs)
        info = train_masknet(config, out, lambda _s, _t, _d: advance(1))
    Console().print(
        f"wrote {out} and {out.with_suffix('.json')}: held-out accuracy {info['heldout_accuracy']:.1%} "
        f"({config.holdout_count} masks), {info['train_seconds']:.0f} s of training"
    )


_EYE = EyeTrainConfig()


@features_app.command("train-eye")
def train_eye_command(
    out: Path = typer.Option(Path("maskeye.safetensors"), "--out", "-o", help="Weights file (.safetensors)."),
    count: int = typer.Option(
        _EYE.count,
        "--count",
        "-n",
        parser=bounded_int(ge=16, le=IMAGES_MAX),
        help="Built-in masks to learn from.",
    ),
    epochs: int = typer.Option(_EYE.epochs, "--epochs", "-e", parser=EPOCHS, help="Training epochs."),
    batch: int = typer.Option(
        _EYE.batch,
        "--batch",
        parser=bounded_int(ge=2, le=4096),
        help="Masks per batch, each seen twice (at most --count).",
    ),
    seed: int = typer.Option(
        _EYE.seed,
        "--seed",
        parser=bounded_int(ge=0, le=SEED_MAX - 2),
        help="Dataset seed of the masks (held-out: seed + 1).",
    ),
    holdout: int = typer.Option(
        _EYE.holdout_count,
        "--holdout",
        parser=bounded_int(ge=2, le=IMAGES_MAX),
        help="Held-out masks the retrieval is measured on.",
    ),
    recolour: float = typer.Option(
        _EYE.recolour, "--recolour", min=0.0, max=1.0, help="Share of views with their colours shuffled."
    ),
    grey: float = typer.Option(_EYE.grey, "--grey", min=0.0, max=1.0, help="Share of views in grey."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train the eye of the projected discriminator (-G discriminator=projected) on the built-in masks,
    without labels; the defaults reproduce the shipped weights, on CPU."""
    if out.suffix != ".safetensors":
        raise MaskgenError(f"--out must be a .safetensors file, got {out}")
    _outputs_writable(files=[out])
    from maskgen.training.eye import train_eye

    batch = min(batch, count)
    config = replace(
        _EYE,
        count=count,
        epochs=epochs,
        batch=batch,
        seed=seed,
        holdout_count=holdout,
        holdout_seed=seed + 1,
        recolour=recolour,
        grey=grey,
    )
    with _tracker(quiet) as tracker:
        advance = tracker.task("training the eye", config.steps)
        info = train_eye(config, out, lambda _s, _t, _d: advance(1))
    Console().print(
        f"wrote {out} and {out.with_suffix('.json')}: a view of a held-out mask finds its twin "
        f"{info['heldout_retrieval']:.1%} of the time, and with its colours shuffled "
        f"{info['layout_retrieval']:.1%} (chance {info['retrieval_chance']:.1%}), "
        f"{info['train_seconds']:.0f} s of training"
    )


def _finetune_masknet(
    data: Path, labels: Path | None, out: Path, epochs: int, batch: int, quiet: bool
) -> None:
    from maskgen.evaluation.features.masknet_train import finetune_masknet_on_folder

    with _tracker(quiet) as tracker:
        progress = _step_progress(tracker, "fine-tuning masknet")
        info = finetune_masknet_on_folder(data, labels, out, epochs=epochs, batch=batch, progress=progress)
    held = info["heldout_accuracy"]
    detail = (
        f"held-out accuracy {info['heldout_accuracy_before']:.1%} -> {held:.1%} "
        f"({info['heldout_images']} images)"
        if held is not None
        else f"training accuracy {info['train_accuracy']:.1%}"
    )
    Console().print(f"wrote {out}: {detail}; use it with --masknet {out}")


# --------------------------------------------------------------------------------------------------
# maskgen report
# --------------------------------------------------------------------------------------------------


@app.command("report", rich_help_panel=EVALUATE)
def report_command(
    runs: list[Path] = typer.Argument(..., help="Run directories (of 'maskgen run')."),
    out: Path = typer.Option(
        Path("report.md"), "--out", "-o", help="Markdown report; the PNG goes next to it."
    ),
    num: int = typer.Option(
        1000, "--num", "-n", parser=EVAL_IMAGES, help="Generated and real images per run."
    ),
    features: str = typer.Option("masknet", "--features", help="masknet or inception (see maskgen eval)."),
    weights: Path = typer.Option(None, "--weights", help="Inception file, with --features inception."),
    lpips_weights: Path = typer.Option(
        None, "--lpips-weights", help="AlexNet file, with --features inception."
    ),
    classifier: Path = typer.Option(
        None, "--classifier", help="A 'maskgen classify train' folder (Table 3)."
    ),
    recompute: bool = typer.Option(False, "--recompute", help="Ignore eval.json files already in the runs."),
    device: str = typer.Option("auto", "--device", help=_DEVICE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """The paper's Tables 1-3 and Fig. 6 (LPIPS bars) for several runs, as Markdown plus a PNG."""
    from maskgen.evaluation.evaluate import EvalSettings, preflight
    from maskgen.evaluation.reports.report import build_report

    settings = EvalSettings(
        features=features, weights=weights, lpips_weights=lpips_weights, classifier=classifier
    )
    preflight(settings)
    _outputs_writable(files=[out])
    with _tracker(quiet) as tracker:
        written = build_report(runs, out, settings, num, pick_device(device), recompute, tracker)
    Console().print(f"wrote {out} and {written['figure']}")
