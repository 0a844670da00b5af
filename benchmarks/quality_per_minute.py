#!/usr/bin/env python
"""Quality per CPU minute on a small collection of intricate masks: the real-masks benchmark.

The stand-in for a user's folder of a few hundred painted lianpu is 300 masks of the detailed built-in
style at 64 px (``maskgen dataset synth --style detailed``), written to a folder and trained on as a
folder; 1000 other detailed masks (another seed) are the held-out reals every metric compares with.
Each setting trains on 2 threads until its cumulative training time reaches each budget (5, 15 and 60
minutes by default), resuming the same run between budgets, and its latest checkpoint is measured:

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

    python benchmarks/quality_per_minute.py                                   # every setting, 5/15/60 min
    python benchmarks/quality_per_minute.py --settings default-0.1 --budgets 5 15
    python benchmarks/quality_per_minute.py --report
    python benchmarks/quality_per_minute.py --collection photographed --settings transfer --budgets 15
    python benchmarks/quality_per_minute.py --collection photographed-framed --settings transfer --budgets 15
    python benchmarks/quality_per_minute.py --framed-fakes
    python benchmarks/quality_per_minute.py --collection detailed-warped --settings transfer-framed
    python benchmarks/quality_per_minute.py --add-metrics    # metrics added since, on stored snapshots
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
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
STYLE = "detailed"
WORK = ROOT / "runs" / COLLECTIONS[STYLE][0]
RESULTS = ROOT / "benchmarks" / "results" / COLLECTIONS[STYLE][1]
RESOLUTION = 64
TRAIN_COUNT, TRAIN_SEED = 300, 0
HELDOUT_COUNT, HELDOUT_SEED = 1000, 1
EVAL_NUM = 1000
METRICS = "fid,c2st,asymmetry,colour,prdc,ppl"  # ppl: 1000 walks of the checkpoint, about a minute
# prdc also gives density and coverage (kept in the results); the table shows precision and recall.
TABLE_HIDDEN = {"density", "coverage"}
RESULT_KEYS = {"prdc": "recall"}  # the key a metric's numbers are stored under, where not its name

# name -> (description, training options layered over the cpu preset). Everything trains on the same
# folder at 64 px with ADA unless it says otherwise; budgets come from the wall clock, not kimg.
# The candidate unmirrored base model (shipped as base:builtin-64px since 2026-12-06), from its run's
# folder, so that the measurement does not depend on what is shipped.
UNMIRRORED_CANDIDATE = str(
    ROOT / "runs" / "base" / "unmirrored-from-mirrored" / "00000-ada-data-64px" / "checkpoints" / "latest"
)
FROM_UNMIRRORED_CANDIDATE = {
    "xflip": True,
    "init": UNMIRRORED_CANDIDATE,
    "generator_options": {"noise_max_resolution": 16, "symmetric": False},
}

SETTINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "paper-sg2ada": (
        "the paper's StyleGAN2-ADA settings scaled to 64 px (reference 'auto' widths, batch 32, "
        "gamma 0.0002 res^2/batch, lr 0.0025, ADA speed 500 kimg)",
        {
            "batch": 32,
            "lr_g": 0.0025,
            "lr_d": 0.0025,
            "r1_gamma": 0.0002 * RESOLUTION**2 / 32,
            "augment_speed_kimg": 500.0,
            "generator_options": {
                "z_dim": 512,
                "w_dim": 512,
                "mapping_layers": 2,
                "channel_base": 16384,
                "channel_max": 512,
                "symmetric": False,
            },
        },
    ),
    "default-0.1": (
        "maskgen 0.1's default: the cpu preset at 64 px, from scratch, noise inputs at every resolution",
        {
            "init": "none",
            "xflip": False,
            "generator_options": {"noise_max_resolution": None, "symmetric": False},
        },
    ),
    "transfer": (
        "the real-masks recipe, today's default: x-flips, noise inputs up to 16 px, -G symmetric=auto "
        "(mirrored on this set), started from the matching shipped base model",
        {"xflip": True, "generator_options": {"noise_max_resolution": 16}},
    ),
    "transfer-unmirrored": (
        "the real-masks recipe without the mirror (-G symmetric=false), from the plain base model",
        {"xflip": True, "generator_options": {"noise_max_resolution": 16, "symmetric": False}},
    ),
    "transfer-symmetric-plainbase": (
        "the mirrored recipe started from the plain (unmirrored) base model base:builtin-64px",
        {
            "init": "base:builtin-64px",
            "xflip": True,
            "generator_options": {"noise_max_resolution": 16, "symmetric": True},
        },
    ),
    "transfer-scratch": (
        "the unmirrored recipe from scratch (--init none): what the base model adds",
        {
            "init": "none",
            "xflip": True,
            "generator_options": {"noise_max_resolution": 16, "symmetric": False},
        },
    ),
    "transfer-freezed": (
        "today's default with FreezeD (--freeze-d 2: D's input layer and its 64 and 32 px blocks keep "
        "the base model's weights; Mo et al. 2020)",
        {"xflip": True, "freeze_d": 2, "generator_options": {"noise_max_resolution": 16}},
    ),
    "transfer-nopl": (
        "today's default without path-length regularization and style mixing (pl_weight 0, "
        "style_mixing_prob 0: the ADA reference's low-resolution 'cifar' choices)",
        {
            "xflip": True,
            "pl_weight": 0.0,
            "style_mixing_prob": 0.0,
            "generator_options": {"noise_max_resolution": 16},
        },
    ),
    "transfer-framed": (
        "today's default as it is since framing became the presets' default (2026-12-06): the "
        "'transfer' rows were measured before, on the folder as it is",
        {"xflip": True, "generator_options": {"noise_max_resolution": 16}},
    ),
    "transfer-seed1": (
        "today's default again with another seed (--seed 1): how far one run's numbers move by chance",
        {"xflip": True, "seed": 1, "generator_options": {"noise_max_resolution": 16}},
    ),
    "transfer-gamma1": (
        "today's default with R1 gamma 1 instead of the cpu preset's 4: with a base model to start "
        "from, is the stronger R1 (chosen for stable training from scratch) what softens the linework?",
        {"xflip": True, "r1_gamma": 1.0, "generator_options": {"noise_max_resolution": 16}},
    ),
    "transfer-gamma8": (
        "today's default with R1 gamma 8 (gamma 1 was worse than the preset's 4)",
        {"xflip": True, "r1_gamma": 8.0, "generator_options": {"noise_max_resolution": 16}},
    ),
    "transfer-longer-base": (
        "today's default from the mirrored base model trained longer (shipped again as "
        "base:builtin-64px-mirrored on 2026-12-06; the runs before started from its 200 + 60 kimg version)",
        {"xflip": True, "generator_options": {"noise_max_resolution": 16}},
    ),
    "transfer-longer-base-seed1": (
        "today's default from the shipped mirrored base model (442 kimg) with another seed (--seed 1)",
        {"xflip": True, "seed": 1, "generator_options": {"noise_max_resolution": 16}},
    ),
    "transfer-longer-base-nopl": (
        "today's default from the shipped base model (442 kimg) without path-length regularization "
        "and style mixing (measured before from the 200 + 60 kimg base model: more recall, C2ST level)",
        {
            "xflip": True,
            "pl_weight": 0.0,
            "style_mixing_prob": 0.0,
            "generator_options": {"noise_max_resolution": 16},
        },
    ),
    "transfer-batch32": (
        "today's default with minibatches of 32 instead of 16 (larger batches cover more modes in "
        "GANs; the EMA half-life follows the batch)",
        {"xflip": True, "batch": 32, "generator_options": {"noise_max_resolution": 16}},
    ),
    "transfer-base-third-piece": (
        "today's default from the mirrored base model trained a third piece (633 kimg; measured while "
        "shipped as base:builtin-64px-mirrored on 2026-12-06, then not kept: worse on photographs; "
        "the runs' lineage gives its length)",
        {"xflip": True, "generator_options": {"noise_max_resolution": 16}},
    ),
    "transfer-base-third-piece-seed1": (
        "the same with another seed (--seed 1): how far one run's numbers move by chance",
        {"xflip": True, "seed": 1, "generator_options": {"noise_max_resolution": 16}},
    ),
    "transfer-mbstd16": (
        "today's default with D's minibatch-standard-deviation groups of 16 (the whole batch) instead "
        "of 4: the ADA reference's low-resolution 'cifar' configuration uses 32, its whole per-GPU batch; "
        "D sees how alike the fakes of a batch are, against mode dropping",
        {"xflip": True, "generator_options": {"noise_max_resolution": 16, "mbstd_group_size": 16}},
    ),
    "transfer-mbstd16-seed1": (
        "the same with another seed (--seed 1)",
        {"xflip": True, "seed": 1, "generator_options": {"noise_max_resolution": 16, "mbstd_group_size": 16}},
    ),
    "transfer-633-kimg-base-seed1": (
        "today's default (seed 1) from the 633-kimg mirrored base model while the 442-kimg one is "
        "shipped: its weights from the base-model run's folder (runs/base/00001-ada-data-64px, not "
        "shipped; train it with docs/training.md's base-model command)",
        {
            "xflip": True,
            "seed": 1,
            "init": str(ROOT / "runs" / "base" / "00001-ada-data-64px" / "checkpoints" / "latest"),
            "generator_options": {"noise_max_resolution": 16},
        },
    ),
    "transfer-unmirrored-from-mirrored-base": (
        "the unmirrored recipe (-G symmetric=false) from a candidate unmirrored base model: the shipped "
        "mirrored one (442 kimg) trained 80 kimg more on its folder without the mirror (its weights "
        "from runs/base/unmirrored-from-mirrored, not shipped when measured; docs/training.md has the "
        "command); against 'transfer-unmirrored', which starts from base:builtin-64px (200 kimg)",
        FROM_UNMIRRORED_CANDIDATE,
    ),
    "transfer-unmirrored-from-mirrored-base-seed1": (
        "the same with another seed (--seed 1)",
        {**FROM_UNMIRRORED_CANDIDATE, "seed": 1},
    ),
    "transfer-diffaugment": (
        "today's default with DiffAugment (color, translation, cutout; Zhao et al. 2020) in place of ADA",
        {"xflip": True, "augment": "diffaugment", "generator_options": {"noise_max_resolution": 16}},
    ),
    "transfer-unmirrored-unframed": (
        "the unmirrored recipe on the pictures as they are (--no-frame; framing is the presets' "
        "default since 2026-12-06)",
        {
            "xflip": True,
            "frame": False,
            "generator_options": {"noise_max_resolution": 16, "symmetric": False},
        },
    ),
    "transfer-from-scratch": (
        "today's default recipe (symmetric=auto) trained from scratch (--init none): what the base "
        "model adds when the collection is not the base model's own distribution",
        {"xflip": True, "init": "none", "generator_options": {"noise_max_resolution": 16}},
    ),
    "symmetric-coarse-noise": (
        "the cpu preset with an exactly symmetric G and noise inputs only up to 16 px",
        {"generator_options": {"symmetric": True, "noise_max_resolution": 16}},
    ),
}


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def maskgen(*args: str) -> None:
    exe = Path(sys.executable).with_name("maskgen")
    subprocess.run([str(exe), *args], check=True)


def prepare_data() -> tuple[Path, Path]:
    train_dir, heldout_dir = WORK / "train", WORK / "heldout"
    for folder, count, seed in (
        (train_dir, TRAIN_COUNT, TRAIN_SEED),
        (heldout_dir, HELDOUT_COUNT, HELDOUT_SEED),
    ):
        if (folder / "labels.csv").is_file():
            continue
        if STYLE == "detailed-warped":
            source = ROOT / "runs" / COLLECTIONS["detailed"][0] / folder.name
            if not (source / "labels.csv").is_file():
                raise SystemExit(f"run --collection detailed first: {source} is the source of {folder}")
            log(f"warping {source} into {folder}")
            warp_folder(source, folder)
            continue
        style = STYLE.removesuffix("-framed")
        if style != STYLE:
            source = ROOT / "runs" / COLLECTIONS[style][0] / folder.name
            if not (source / "labels.csv").is_file():
                raise SystemExit(f"run --collection {style} first: {source} is the source of {folder}")
            log(f"framing {source} into {folder}")
            shutil.rmtree(folder, ignore_errors=True)
            maskgen("dataset", "frame", str(source), "--out", str(folder), "--size", str(RESOLUTION))
            continue
        log(f"writing {count} {STYLE} masks (seed {seed}) to {folder}")
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


def load_results() -> dict[str, Any]:
    if RESULTS.is_file():
        return json.loads(RESULTS.read_text(encoding="utf-8"))
    return {"runs": {}, "measurements": []}


def save_results(results: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=RESULTS.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    os.replace(tmp, RESULTS)


def train_until(setting: str, minutes: float, train_dir: Path, results: dict[str, Any]) -> Path:
    """Train (or resume) the setting's run until its training time adds up to ``minutes``."""
    from maskgen.config import resolve_config
    from maskgen.training.loop import train

    run = results["runs"].get(setting, {})
    done = float(run.get("minutes", 0.0))
    run_dir = Path(run["run_dir"]) if run.get("run_dir") else None
    if done >= minutes - 0.05 and run_dir is not None:
        return run_dir
    overrides = {"augment": "ada"} | SETTINGS[setting][1]  # ADA unless the setting names another
    config = resolve_config(
        overrides,
        data=str(train_dir),
        resolution=RESOLUTION,
        kimg=1e6,
        device="cpu",
        snapshot_kimg=1e6,  # one checkpoint when the budget ends
    )
    config = config.model_copy(update={"max_minutes": minutes - done})
    log(f"{setting}: training {minutes - done:.1f} min ({done:.1f} done)")
    start = time.monotonic()
    run_dir = train(config, out_root=WORK / "runs", resume_dir=run_dir, on_message=log)
    results["runs"][setting] = {"run_dir": str(run_dir), "minutes": done + (time.monotonic() - start) / 60}
    save_results(results)
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


def add_missing_metrics(results: dict[str, Any]) -> None:
    """Measure the metrics of :data:`METRICS` that stored measurements lack (added after they were
    made) on the very snapshot each one measured, as recorded in its eval.json."""
    _, heldout_dir = prepare_data()
    for m in results["measurements"]:
        missing = [k for k in METRICS.split(",") if RESULT_KEYS.get(k, k) not in m["metrics"]]
        if not missing:
            continue
        out = WORK / "eval" / f"{m['setting']}-{m['minutes']:g}min"
        if not (out / "eval.json").is_file():  # measured before eval folders were named per setting
            log(f"{m['setting']} at {m['minutes']:g} min: no {out / 'eval.json'}; not completed")
            continue
        stored = json.loads((out / "eval.json").read_text(encoding="utf-8"))
        snapshot = Path(stored["fake"]["checkpoint"])
        log(f"{m['setting']} at {m['minutes']:g} min: adding {','.join(missing)} ({snapshot.name})")
        m["metrics"].update(evaluate(snapshot, heldout_dir, ",".join(missing), out / "eval_added.json"))
        save_results(results)


def measure(setting: str, minutes: float, run_dir: Path, heldout_dir: Path) -> dict[str, Any]:
    from maskgen.artifacts.checkpoint import load_checkpoint

    out = WORK / "eval" / f"{setting}-{minutes:g}min"
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


def run(settings: list[str], budgets: list[float]) -> None:
    import torch

    torch.set_num_threads(2)
    train_dir, heldout_dir = prepare_data()
    results = load_results()
    for setting in settings:
        for minutes in sorted(budgets):
            key = (setting, minutes)
            if any((m["setting"], m["minutes"]) == key for m in results["measurements"]):
                continue
            run_dir = train_until(setting, minutes, train_dir, results)
            log(f"{setting}: measuring at {minutes:g} min")
            results["measurements"].append(measure(setting, minutes, run_dir, heldout_dir))
            save_results(results)
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
    use_collection("photographed-framed")
    _, framed_heldout = prepare_data()
    use_collection("photographed")
    results = load_results()
    metrics = ",".join(m for m in METRICS.split(",") if m != "ppl")  # folders of images: no latents
    for m in results["measurements"]:
        if "framed_metrics" in m:
            continue
        out = WORK / "eval" / f"{m['setting']}-{m['minutes']:g}min"
        snapshot = json.loads((out / "eval.json").read_text(encoding="utf-8"))["fake"]["checkpoint"]
        samples, framed = out / "samples", out / "samples-framed"
        log(f"{m['setting']} at {m['minutes']:g} min: framing {EVAL_NUM} samples of {Path(snapshot).name}")
        for folder in (samples, framed):
            shutil.rmtree(folder, ignore_errors=True)
        maskgen("generate", "--checkpoint", snapshot, "--seeds", f"0-{EVAL_NUM - 1}", "--out", str(samples))
        maskgen("dataset", "frame", str(samples), "--out", str(framed), "--size", str(RESOLUTION))
        m["framed_metrics"] = evaluate(framed, framed_heldout, metrics, out / "eval_framed.json")
        save_results(results)


def use_collection(style: str) -> None:
    """Point the benchmark at one collection's folders and results file."""
    global STYLE, WORK, RESULTS
    STYLE = style
    WORK = ROOT / "runs" / COLLECTIONS[style][0]
    RESULTS = ROOT / "benchmarks" / "results" / COLLECTIONS[style][1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
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
        print_table(load_results())
        return
    use_collection(args.collection)
    if args.add_metrics:
        results = load_results()
        add_missing_metrics(results)
        print_table(results)
        return
    if args.report:
        print_table(load_results())
        suffix = "" if STYLE == "detailed" else "_" + STYLE.replace("-", "_")
        print(plot(load_results(), PLOT.with_name(f"quality_per_minute{suffix}.png")))
        return
    run(args.settings, args.budgets)


if __name__ == "__main__":
    main()
