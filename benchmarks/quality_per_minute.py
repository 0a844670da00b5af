#!/usr/bin/env python
"""Quality per CPU minute on a small collection of intricate masks: the real-masks benchmark.

The stand-in for a user's folder of a few hundred painted lianpu is 300 masks of the detailed built-in
style at 64 px (``maskgen dataset synth --style detailed``), written to a folder and trained on as a
folder; 1000 other detailed masks (another seed) are the held-out reals every metric compares with.
The settings compared are data, one entry each in ``benchmarks/settings/quality_per_minute.yaml``: what
the setting tries and the training options it layers over the cpu preset. A setting marked
``needs_init`` starts from a checkpoint that was never shipped: give it with ``--init``. Each setting
trains on 2 threads until its cumulative training time reaches each budget (5, 15 and 60 minutes by
default), resuming the same run between budgets, and its latest checkpoint is measured:

* FD[masknet] against the held-out reals;
* the classifier two-sample test (held-out accuracy of a small CNN telling real from generated:
  0.5 means indistinguishable);
* left-right asymmetry of the fakes relative to the reals (1 = as symmetric as the reals);
* the seven-colour histogram distance;
* improved precision and recall in masknet features (recall: how much of the reals' variety the
  samples cover);
* the perceptual path length PPL[masknet] (how smooth latent walks are);
* the per-pixel noise strengths of G_ema (where speckle comes from), and a sample grid drawn with
  ``noise_mode="const"``.

``--collection photographed`` runs the same benchmark on the photographs of those masks
(``maskgen dataset synth --style photographed``: framing, backdrop, light, colour cast, blur, noise and
JPEG drawn per image), which the shipped base models never saw: the domain shift a real collection
brings. It keeps its own runs and results (``runs/quality_per_minute-photographed``,
``benchmarks/results/quality_per_minute_photographed.json``). ``--collection photographed-framed``:
those very photographs (training and held-out sets alike) put through ``maskgen dataset frame``, which
centres and scales every mask as the built-in masks are. ``--framed-fakes`` then measures the
photographed collection's runs against the framed held-out reals, their samples framed the same way:
runs on framed and unframed photographs compared on one footing (where each mask sits is left out).
``--collection detailed-warped``: the detailed folders with the middle of every face magnified (larger
eyes and brows, further apart), layouts no base model has seen: does a run move from the base model's
layouts to the collection's?

Results accumulate in ``benchmarks/results/quality_per_minute.json`` (written atomically after every
measurement), so an interrupted benchmark continues where it stopped: run it again with the same
arguments. ``--report`` prints the table (for docs/performance.md) and draws the plot
``docs/images/quality_per_minute.png``.

    python benchmarks/quality_per_minute.py                 # every setting without needs_init, 5/15/60 min
    python benchmarks/quality_per_minute.py --settings default-0.1 --budgets 5 15
    python benchmarks/quality_per_minute.py --report
    python benchmarks/quality_per_minute.py --collection photographed --settings transfer --budgets 15
    python benchmarks/quality_per_minute.py --collection photographed-framed --settings transfer --budgets 15
    python benchmarks/quality_per_minute.py --framed-fakes
    python benchmarks/quality_per_minute.py --collection detailed-warped --settings transfer-framed
    python benchmarks/quality_per_minute.py --settings transfer-633-kimg-base-seed1 --init CHECKPOINT
    python benchmarks/quality_per_minute.py --add-metrics    # metrics added since, on stored snapshots
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# The training and held-out collections' style (``dataset synth --style``; "-framed": that
# collection's own folders put through ``maskgen dataset frame``) -> (work folder, results file).
COLLECTIONS = {
    "detailed": ("quality_per_minute", "quality_per_minute.json"),
    "photographed": ("quality_per_minute-photographed", "quality_per_minute_photographed.json"),
    "photographed-framed": (
        "quality_per_minute-photographed-framed",
        "quality_per_minute_photographed_framed.json",
    ),
    "detailed-warped": ("quality_per_minute-detailed-warped", "quality_per_minute_detailed_warped.json"),
}
# The warped collection: the detailed folders with the middle of every face magnified (eyes, brows and
# nose larger and further apart, the outline nearly where it was), so its layouts are ones the base
# models never saw. Centre (x, y) and strength of the magnification, and its reach, in image widths.
WARP_CENTRE, WARP_STRENGTH, WARP_REACH = (0.5, 0.45), 0.3, 0.18
RESOLUTION = 64
TRAIN_COUNT, TRAIN_SEED = 300, 0
HELDOUT_COUNT, HELDOUT_SEED = 1000, 1
EVAL_NUM = 1000
METRICS = "fid,c2st,asymmetry,colour,prdc,ppl"  # ppl: 1000 walks of the checkpoint, about a minute
# prdc also gives density and coverage (kept in the results); the table shows precision and recall.
TABLE_HIDDEN = {"density", "coverage"}


def result_keys(name: str) -> set[str]:
    """The keys an evaluator's numbers are stored under, as the registry's evaluator declares them."""
    from maskgen.evaluation.evaluate import metrics_by_key

    return {key for key, metric in metrics_by_key().items() if metric.name == name} or {name}


SETTINGS_FILE = Path(__file__).resolve().parent / "settings" / "quality_per_minute.yaml"


@dataclass(frozen=True)
class Setting:
    """One entry of :data:`SETTINGS_FILE`: training options layered over the cpu preset (with ADA
    unless they name another augmenter)."""

    name: str
    description: str
    options: dict[str, Any]
    needs_init: str | None = None  # the setting starts from a checkpoint given with --init
    retired: str | None = None  # results recorded under this name cannot be made again: why


def load_settings(path: Path = SETTINGS_FILE) -> dict[str, Setting]:
    import yaml

    table = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {name: Setting(name=name, **entry) for name, entry in table.items()}


SETTINGS = load_settings()


@dataclass(frozen=True)
class Collection:
    """The collection a benchmark trains on and measures against: its style (``dataset synth
    --style``; "-framed": that style's own folders put through ``maskgen dataset frame``), its work
    folder and its results file."""

    style: str
    work: Path
    results: Path

    @classmethod
    def named(cls, style: str) -> Collection:
        folder, results = COLLECTIONS[style]
        return cls(style, ROOT / "runs" / folder, ROOT / "benchmarks" / "results" / results)


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def maskgen(*args: str) -> None:
    exe = Path(sys.executable).with_name("maskgen")
    subprocess.run([str(exe), *args], check=True)


def prepare_data(collection: Collection) -> tuple[Path, Path]:
    train_dir, heldout_dir = collection.work / "train", collection.work / "heldout"
    for folder, count, seed in (
        (train_dir, TRAIN_COUNT, TRAIN_SEED),
        (heldout_dir, HELDOUT_COUNT, HELDOUT_SEED),
    ):
        if (folder / "labels.csv").is_file():
            continue
        if collection.style == "detailed-warped":
            source = ROOT / "runs" / COLLECTIONS["detailed"][0] / folder.name
            if not (source / "labels.csv").is_file():
                raise SystemExit(f"run --collection detailed first: {source} is the source of {folder}")
            log(f"warping {source} into {folder}")
            warp_folder(source, folder)
            continue
        style = collection.style.removesuffix("-framed")
        if style != collection.style:
            source = ROOT / "runs" / COLLECTIONS[style][0] / folder.name
            if not (source / "labels.csv").is_file():
                raise SystemExit(f"run --collection {style} first: {source} is the source of {folder}")
            log(f"framing {source} into {folder}")
            shutil.rmtree(folder, ignore_errors=True)
            maskgen("dataset", "frame", str(source), "--out", str(folder), "--size", str(RESOLUTION))
            continue
        log(f"writing {count} {style} masks (seed {seed}) to {folder}")
        maskgen("dataset", "synth", "--style", style, "--count", str(count), "--size",
                str(RESOLUTION), "--seed", str(seed), "--out", str(folder))  # fmt: skip
    return train_dir, heldout_dir


def magnify_centre(image: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3 uint8) with the region around WARP_CENTRE magnified by up to
    1 / (1 - WARP_STRENGTH), fading out with a Gaussian of WARP_REACH; symmetric about the middle."""
    from scipy.ndimage import map_coordinates

    side = image.shape[0]
    y, x = (np.mgrid[0:side, 0:side] + 0.5) / side
    dx, dy = x - WARP_CENTRE[0], y - WARP_CENTRE[1]
    shrink = 1 - WARP_STRENGTH * np.exp(-(dx**2 + dy**2) / (2 * WARP_REACH**2))
    rows = (WARP_CENTRE[1] + dy * shrink) * side - 0.5
    cols = (WARP_CENTRE[0] + dx * shrink) * side - 0.5
    channels = [map_coordinates(image[..., c].astype(np.float64), [rows, cols], order=3, mode="nearest")
                for c in range(3)]  # fmt: skip
    return np.clip(np.stack(channels, axis=-1).round(), 0, 255).astype(np.uint8)


def warp_folder(source: Path, dest: Path) -> None:
    """Every PNG of ``source`` through :func:`magnify_centre` into ``dest``, with its labels."""
    from PIL import Image

    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for path in sorted(source.glob("*.png")):
        Image.fromarray(magnify_centre(np.asarray(Image.open(path).convert("RGB")))).save(staging / path.name)
    shutil.copy2(source / "labels.csv", staging / "labels.csv")  # not dataset.json: it names a generator
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)


def load_results(collection: Collection) -> dict[str, Any]:
    if collection.results.is_file():
        return json.loads(collection.results.read_text(encoding="utf-8"))
    return {"runs": {}, "measurements": []}


def save_results(collection: Collection, results: dict[str, Any]) -> None:
    from maskgen.outputs import write_text

    write_text(collection.results, json.dumps(results, indent=2))


def training_options(setting: str, init: str | None = None) -> dict[str, Any]:
    """The setting's options over ADA; ``init``: the checkpoint a setting with ``needs_init`` starts from."""
    entry = SETTINGS[setting]
    if entry.retired:
        raise SystemExit(f"{setting} is retired: {entry.retired}")
    options = {"augment": "ada"} | entry.options  # ADA unless the setting names another
    if entry.needs_init:
        if init is None:
            raise SystemExit(f"{setting} starts from a checkpoint of your own; give it with --init PATH: "
                             f"{entry.needs_init}")  # fmt: skip
        options["init"] = init
    return options


def train_until(
    collection: Collection,
    setting: str,
    minutes: float,
    train_dir: Path,
    results: dict[str, Any],
    init: str | None = None,
) -> Path:
    """Train (or resume) the setting's run until its training time adds up to ``minutes``."""
    from maskgen.config import resolve_config
    from maskgen.training.loop import train

    run = results["runs"].get(setting, {})
    done = float(run.get("minutes", 0.0))
    run_dir = Path(run["run_dir"]) if run.get("run_dir") else None
    if done >= minutes - 0.05 and run_dir is not None:
        return run_dir
    config = resolve_config(
        training_options(setting, init),
        data=str(train_dir),
        resolution=RESOLUTION,
        kimg=1e6,
        device="cpu",
        snapshot_kimg=1e6,  # one checkpoint when the budget ends
    )
    config = config.model_copy(update={"max_minutes": minutes - done})
    log(f"{setting}: training {minutes - done:.1f} min ({done:.1f} done)")
    start = time.monotonic()
    run_dir = train(config, out_root=collection.work / "runs", resume_dir=run_dir, on_message=log)
    results["runs"][setting] = {"run_dir": str(run_dir), "minutes": done + (time.monotonic() - start) / 60}
    save_results(collection, results)
    return run_dir


def noise_strengths(run_dir: Path) -> dict[str, float]:
    from maskgen.artifacts.checkpoint import load_checkpoint

    weights = load_checkpoint(run_dir).weights
    return {
        key.removeprefix("G_ema.synthesis_network."): float(value)
        for key, value in weights.items()
        if key.startswith("G_ema.") and key.endswith("noise_strength")
    }


def describe_init(config: dict[str, Any]) -> str | None:
    """Where a run started, with the base model's history ('base:builtin-64px-mirrored (200 + 60 kimg)'):
    base models get retrained under their names, so the name alone does not say which one it was."""
    from maskgen.artifacts.lineage import lineage_of

    init = config.get("train", {}).get("init")
    steps = lineage_of(config)
    if not steps:
        return init
    lengths = " + ".join(f"{k:.0f}" if isinstance(k := s.get("kimg"), (int, float)) else "?" for s in steps)
    return f"{steps[-1].get('init')} ({lengths} kimg)"


def evaluate(checkpoint: Path, heldout_dir: Path, metrics: str, out: Path) -> dict[str, Any]:
    """``maskgen eval`` of ``checkpoint`` against the held-out reals: {metric: {label, value}}."""
    maskgen("eval", "--real", str(heldout_dir), "--fake", str(checkpoint), "--metrics", metrics,
            "--num", str(EVAL_NUM), "--device", "cpu", "--json", str(out))  # fmt: skip
    evaluation = json.loads(out.read_text(encoding="utf-8"))
    return {
        key: {"label": entry.get("label", key), "value": entry.get("value")}
        for key, entry in evaluation.get("metrics", {}).items()
        if isinstance(entry, dict)
    }


def add_missing_metrics(collection: Collection, results: dict[str, Any]) -> None:
    """Measure the metrics of :data:`METRICS` that stored measurements lack (added after they were
    made) on the very snapshot each one measured, as recorded in its eval.json."""
    _, heldout_dir = prepare_data(collection)
    for m in results["measurements"]:
        missing = [k for k in METRICS.split(",") if not result_keys(k) & set(m["metrics"])]
        if not missing:
            continue
        out = collection.work / "eval" / f"{m['setting']}-{m['minutes']:g}min"
        if not (out / "eval.json").is_file():  # measured before eval folders were named per setting
            log(f"{m['setting']} at {m['minutes']:g} min: no {out / 'eval.json'}; not completed")
            continue
        stored = json.loads((out / "eval.json").read_text(encoding="utf-8"))
        snapshot = Path(stored["fake"]["checkpoint"])
        log(f"{m['setting']} at {m['minutes']:g} min: adding {','.join(missing)} ({snapshot.name})")
        m["metrics"].update(evaluate(snapshot, heldout_dir, ",".join(missing), out / "eval_added.json"))
        save_results(collection, results)


def measure(
    collection: Collection, setting: str, minutes: float, run_dir: Path, heldout_dir: Path
) -> dict[str, Any]:
    from maskgen.artifacts.checkpoint import load_checkpoint

    out = collection.work / "eval" / f"{setting}-{minutes:g}min"
    out.mkdir(parents=True, exist_ok=True)
    metrics = evaluate(run_dir, heldout_dir, METRICS, out / "eval.json")
    maskgen("generate", "--checkpoint", str(run_dir), "--seeds", "0-63", "--noise-mode", "const",
            "--out", str(out / "samples_const.png"))  # fmt: skip
    checkpoint = load_checkpoint(run_dir)
    return {
        "setting": setting,
        "minutes": minutes,
        "kimg": checkpoint.config.get("kimg"),
        "init": describe_init(checkpoint.config),
        "loadavg": round(os.getloadavg()[0], 2),  # other jobs on the machine slow the clock budgets
        "metrics": metrics,
        "noise_strength": noise_strengths(run_dir),
        "samples": str(out / "samples_const.png"),
    }


def run(collection: Collection, settings: list[str], budgets: list[float], init: str | None = None) -> None:
    import torch

    for setting in settings:
        training_options(setting, init)  # a retired setting, or one without its --init, stops here
    torch.set_num_threads(2)
    train_dir, heldout_dir = prepare_data(collection)
    results = load_results(collection)
    for setting in settings:
        for minutes in sorted(budgets):
            key = (setting, minutes)
            if any((m["setting"], m["minutes"]) == key for m in results["measurements"]):
                continue
            run_dir = train_until(collection, setting, minutes, train_dir, results, init)
            log(f"{setting}: measuring at {minutes:g} min")
            results["measurements"].append(measure(collection, setting, minutes, run_dir, heldout_dir))
            save_results(collection, results)
    print_table(results)


def table_lines(results: dict[str, Any], field: str = "metrics") -> list[str]:
    """The measurements' ``field`` (``metrics``, or ``framed_metrics`` of ``--framed-fakes``) as a table."""
    rows = sorted(
        (m for m in results["measurements"] if field in m), key=lambda m: (m["setting"], m["minutes"])
    )
    keys: list[str] = []
    for m in rows:
        keys += [k for k in m[field] if k not in keys and k not in TABLE_HIDDEN]
    labels = {k: next(m[field][k]["label"] for m in rows if k in m[field]) for k in keys}
    lines = [
        "| setting | minutes | kimg | start | "
        + " | ".join(labels[k] for k in keys)
        + " | max noise strength |",
        "|---|---:|---:|---|" + "---:|" * (len(keys) + 1),
    ]
    starts: dict[str, str] = {}  # a resumed run's later checkpoints do not repeat where it started
    for m in rows:
        starts.setdefault(m["setting"], m.get("init") or "?")
    for m in rows:
        cells = []
        for k in keys:
            value = m[field].get(k, {}).get("value")
            cells.append(f"{value:.3g}" if isinstance(value, (int, float)) else "n/a")
        # A strength of either sign adds speckle: the largest magnitude is what the column reports.
        noise = max((abs(v) for v in m["noise_strength"].values()), default=0.0)
        kimg = m.get("kimg")
        kimg_text = f"{kimg:.1f}" if isinstance(kimg, (int, float)) else "?"
        lines.append(
            f"| {m['setting']} | {m['minutes']:g} | {kimg_text} | {starts[m['setting']]} | "
            + " | ".join(cells)
            + f" | {noise:.3f} |"
        )
    return lines


PLOT = ROOT / "docs" / "images" / "quality_per_minute.png"


def plot(results: dict[str, Any], path: Path = PLOT) -> Path:
    """One panel per metric: its value against training minutes, a line per setting."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no display needed

    rows = results["measurements"]
    keys = sorted({k for m in rows for k in m["metrics"]} - TABLE_HIDDEN)
    figure = Figure(figsize=(3.2 * len(keys), 3.0), layout="constrained")
    for axis, key in zip(figure.subplots(1, len(keys), squeeze=False)[0], keys, strict=True):
        for setting in sorted({m["setting"] for m in rows}):
            points = sorted(
                (m["minutes"], m["metrics"][key]["value"])
                for m in rows
                if m["setting"] == setting
                and isinstance(m["metrics"].get(key, {}).get("value"), (int, float))
            )
            if points:
                axis.plot(*zip(*points, strict=True), marker="o", label=setting)
        values = [
            m["metrics"][key]["value"]
            for m in rows
            if isinstance(m["metrics"].get(key, {}).get("value"), (int, float))
        ]
        if values and min(values) > 0 and max(values) / min(values) > 20:
            axis.set_yscale("log")  # a failing setting (the paper's widths on a CPU) would flatten the rest
        label = next(m["metrics"][key]["label"] for m in rows if key in m["metrics"])
        axis.set_title(label, fontsize=9)
        axis.set_xlabel("training minutes (2 threads)")
    figure.axes[0].legend(fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def print_table(results: dict[str, Any]) -> None:
    print("\n".join(table_lines(results)))
    if any("framed_metrics" in m for m in results["measurements"]):
        print("\nframed samples against the framed held-out reals (--framed-fakes):")
        print("\n".join(table_lines(results, "framed_metrics")))


def measure_framed_fakes() -> None:
    """Each photographed-collection measurement again, on one footing with runs on framed photographs:
    its snapshot's samples (seeds 0..EVAL_NUM-1) framed by ``maskgen dataset frame`` and measured
    against the framed held-out reals of ``--collection photographed-framed``."""
    _, framed_heldout = prepare_data(Collection.named("photographed-framed"))
    collection = Collection.named("photographed")
    results = load_results(collection)
    metrics = ",".join(m for m in METRICS.split(",") if m != "ppl")  # folders of images: no latents
    for m in results["measurements"]:
        if "framed_metrics" in m:
            continue
        out = collection.work / "eval" / f"{m['setting']}-{m['minutes']:g}min"
        snapshot = json.loads((out / "eval.json").read_text(encoding="utf-8"))["fake"]["checkpoint"]
        samples, framed = out / "samples", out / "samples-framed"
        log(f"{m['setting']} at {m['minutes']:g} min: framing {EVAL_NUM} samples of {Path(snapshot).name}")
        for folder in (samples, framed):
            shutil.rmtree(folder, ignore_errors=True)
        maskgen("generate", "--checkpoint", snapshot, "--seeds", f"0-{EVAL_NUM - 1}", "--out", str(samples))
        maskgen("dataset", "frame", str(samples), "--out", str(framed), "--size", str(RESOLUTION))
        m["framed_metrics"] = evaluate(framed, framed_heldout, metrics, out / "eval_framed.json")
        save_results(collection, results)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--settings",
        nargs="+",
        default=[name for name, s in SETTINGS.items() if not (s.needs_init or s.retired)],
        choices=list(SETTINGS),
        metavar="NAME",
        help=f"names from {SETTINGS_FILE.relative_to(ROOT)} (default: every one that needs no --init)",
    )
    parser.add_argument(
        "--init",
        default=None,
        help="the checkpoint (a path, base:NAME or hf://...) that the settings marked needs_init start "
        "from; their entry says which one",
    )
    parser.add_argument("--budgets", nargs="+", type=float, default=[5.0, 15.0, 60.0])
    parser.add_argument(
        "--collection",
        choices=list(COLLECTIONS),
        default="detailed",
        help="the built-in style trained on and measured against (default: detailed)",
    )
    parser.add_argument("--report", action="store_true", help="print the table of the stored results")
    parser.add_argument(
        "--add-metrics",
        action="store_true",
        help="measure metrics added to the benchmark since a stored measurement was made, on its snapshot",
    )
    parser.add_argument(
        "--framed-fakes",
        action="store_true",
        help="measure the photographed collection's runs on framed samples against framed reals",
    )
    args = parser.parse_args()
    if args.framed_fakes:
        measure_framed_fakes()
        print_table(load_results(Collection.named("photographed")))
        return
    collection = Collection.named(args.collection)
    if args.add_metrics:
        results = load_results(collection)
        add_missing_metrics(collection, results)
        print_table(results)
        return
    if args.report:
        print_table(load_results(collection))
        suffix = "" if collection.style == "detailed" else "_" + collection.style.replace("-", "_")
        print(plot(load_results(collection), PLOT.with_name(f"quality_per_minute{suffix}.png")))
        return
    run(collection, args.settings, args.budgets, args.init)


if __name__ == "__main__":
    main()
