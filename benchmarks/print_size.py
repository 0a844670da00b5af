#!/usr/bin/env python
"""Print-size masks (issue 33, items 4 and 5): the cascade against bicubic, direct training and its ceiling.

Everything goes through the ``maskgen`` command line, as a user would drive it, on 2 threads
(``--threads``; OMP_NUM_THREADS of every command and torch's threads in this process).

Data (WORK defaults to ``runs/print-size-<collection>/``):

* ``WORK/train256``: 300 masks of the stand-in collection at 256 px (``maskgen dataset synth --style
  <collection> --count 300 --size 256 --seed 0``), trained on as a folder;
* ``WORK/heldout256``: ``--heldout`` (1000) other masks (``--seed 1``). ``--collection photographed``
  puts them through ``maskgen dataset frame`` first, as training frames a folder. The first half
  (``WORK/real256``) is the set every row is compared with; the second half (``WORK/ceiling-src256``) is
  the ceiling's input, so the ceiling is never measured against its own sources.

Rows, each a folder of 256 px PNGs (``--samples``, 1000; the ceiling: half of ``--heldout``):

* ``cascade``: ``maskgen run --data WORK/train256 --resolution 64`` (the default two-stage run) for M
  minutes in all: ``--minutes M-2 --upscale-minutes 2``, the preset's upscaler minutes taken from the
  GAN's (``--extra-run-args`` are added to every ``maskgen run``), then ``maskgen generate --size 256``.
  ``--checkpoint CKPT`` uses an existing checkpoint instead (no training; e.g. a base model that carries
  the shipped base upscaler); ``--upscaler`` is passed to every ``maskgen generate`` and ``upscale apply``.
* ``bicubic``: the same GAN's 64 px samples (``generate --size 64``, the same seeds) enlarged 4x with
  PIL's bicubic filter: what an interpolation gives.
* ``direct128``, ``direct256``: ``maskgen run --resolution 128`` (256) for the same minutes (from a base
  model where one ships: run's default), then ``generate`` at the GAN's own size; the 128 px samples are
  enlarged 2x with PIL bicubic, so that every row is compared at 256 px.
* ``ceiling``: the second half of the held-out reals area-downsampled to 64 px (PIL box filter) and
  enlarged by the cascade's upscaler (``maskgen upscale apply``): the best the second stage can do when
  the first stage is perfect.

Columns, each against ``WORK/real256`` at 256 px:

* FD[masknet], precision and recall (``maskgen eval -m fid,prdc,c2st --size 256 --no-frame``) and that
  command's C2ST. NB: masknet resizes its inputs to 64 px and ``maskgen eval``'s C2ST CNN to 32 px, so
  these "256 px" numbers judge the whole mask's layout and colour, not linework: the crop test and line
  sharpness below are the columns that see what an upscaler draws.
* C2ST on crops: one random 64x64 crop of every 256 px image, real and fake cropped at the very same
  positions (seed 0), the CNN trained at 64 px (in-process, ``twosample.c2st(size=64)``: the crop's
  own pixels); ``maskgen eval -m c2st`` on the crop folders is stored too (``c2st_crop_cli``, at 32 px).
  The reference for item 5's target: the same in-process 64 px test of the GAN's 64 px samples against
  the compared reals box-downsampled to 64 px (``reference.c2st_gan64``): an upscaler that adds no tell
  of its own keeps the crop test at or below it.
* Line sharpness, as ratios fakes / reals (1 = as the reals; item 5 wants 0.8-1.2): the high-frequency
  energy (mean over images of the mean squared difference between the grey image and its Gaussian blur,
  sigma 1 px) and the black-line width (dark pixels D = luma < 60; width = 2|D| / |boundary of D|, the
  boundary being dark pixels with a non-dark 4-neighbour; mean over images; black fields count too, and a
  1 px line reads 2 px).
* Seconds to draw 64 masks: in-process (``load_cascade(...).draw(range(64))`` after a warm-up, plus
  the bicubic enlargement for ``bicubic`` and ``direct128``), and the whole ``maskgen generate --seeds
  0-63`` command (start-up and model loading included) at the GAN's output size (``bicubic``: 64 px,
  ``direct128``: 128 px; the enlargement is not in the command figure).

Output: ``benchmarks/results/print_size_<collection>_<M>min.json`` (``_<checkpoint>`` with
``--checkpoint``; written atomically after every row, and rows already there are skipped: run again to
continue, ``--redo`` to measure again), a markdown table on stdout, and contact sheets:
``WORK/sheets/<row>.png`` (16 masks at 256 px; seeds 0-15, the ceiling and real: the first 16 images) and
``WORK/sheets/compare.png`` (rows bicubic, cascade, ceiling, real for 4 masks; bicubic and cascade share
seeds, the real row holds the ceiling's sources).

    python benchmarks/print_size.py                                  # every row, 15 min runs
    python benchmarks/print_size.py --minutes 60 --collection photographed
    python benchmarks/print_size.py --checkpoint base:builtin-64px-mirrored --rows cascade bicubic ceiling
    python benchmarks/print_size.py --smoke --checkpoint CKPT --upscaler UPSCALER_RUN   # end-to-end check
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ROWS = ("cascade", "bicubic", "direct128", "direct256", "ceiling")
COLLECTIONS = ("detailed", "photographed")
SMALL, LARGE = 64, 256
TRAIN_SEED, HELDOUT_SEED, CROP_SEED = 0, 1, 0
DARK_LUMA = 60  # below this a pixel is black linework
TIMED_SEEDS = 64
SHEET_COUNT, COMPARE_COUNT = 16, 4
SMOKE = {"heldout": 20, "samples": 20, "train": 30, "minutes": 0.3, "rows": ["cascade", "bicubic", "ceiling"]}


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


@dataclass
class Bench:
    """What one invocation measures, and where it keeps things."""

    collection: str
    work: Path
    results_path: Path
    minutes: float
    samples: int
    heldout: int
    train: int
    threads: int
    checkpoint: str | None
    upscaler: str | None
    extra_run_args: list[str]

    def maskgen(self, *args: str) -> float:
        """Run a maskgen command on ``threads`` threads; its wall-clock seconds."""
        exe = Path(sys.executable).with_name("maskgen")
        env = os.environ | {"OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads)}
        start = time.perf_counter()
        subprocess.run([str(exe), *args], check=True, env=env, stdout=sys.stderr)  # stdout: the table
        return time.perf_counter() - start

    def upscaler_args(self) -> list[str]:
        return ["--upscaler", self.upscaler] if self.upscaler else []


# --------------------------------------------------------------------------------------------------
# Folders: made once, reused while what made them is unchanged
# --------------------------------------------------------------------------------------------------


def is_done(folder: Path, key: dict[str, Any]) -> bool:
    """Whether ``folder`` was completed from ``key`` (a hidden marker: image readers skip it)."""
    marker = folder / ".made-from.json"
    return marker.is_file() and json.loads(marker.read_text(encoding="utf-8")) == key


def start_folder(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def mark_done(folder: Path, key: dict[str, Any]) -> None:
    (folder / ".made-from.json").write_text(json.dumps(key), encoding="utf-8")


def pngs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.png") if not p.name.startswith("."))


def load_folder(folder: Path, limit: int | None = None) -> np.ndarray:
    """The folder's PNGs (sorted by name) as uint8 [N, H, W, 3]."""
    from PIL import Image

    return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in pngs(folder)[:limit]])


def resize_folder(source: Path, dest: Path, size: int, resample: str) -> None:
    """Every PNG of ``source`` resized to ``size`` px with PIL's ``resample`` filter ('box', 'bicubic')."""
    from PIL import Image

    start_folder(dest)
    method = getattr(Image.Resampling, resample.upper())
    for path in pngs(source):
        Image.open(path).convert("RGB").resize((size, size), method).save(dest / path.name)


@dataclass
class Data:
    train: Path
    real: Path  # the compared reals at 256 px
    real64: Path  # the same, box-downsampled to 64 px
    ceiling_src: Path  # the ceiling's sources at 256 px
    ceiling64: Path  # the ceiling's inputs


def prepare_data(bench: Bench) -> Data:
    """The training folder and the held-out reals, split into compared reals and the ceiling's inputs."""
    work = bench.work
    for name, count, seed in (
        ("train256", bench.train, TRAIN_SEED),
        ("heldout256", bench.heldout, HELDOUT_SEED),
    ):
        folder, key = work / name, {"style": bench.collection, "count": count, "seed": seed, "size": LARGE}
        if not is_done(folder, key):
            log(f"writing {count} {bench.collection} masks (seed {seed}) at {LARGE} px to {folder}")
            shutil.rmtree(folder, ignore_errors=True)
            bench.maskgen("dataset", "synth", "--style", bench.collection, "--count", str(count),
                          "--size", str(LARGE), "--seed", str(seed), "--out", str(folder))  # fmt: skip
            mark_done(folder, key)
    heldout = work / "heldout256"
    if bench.collection == "photographed":
        # Training frames a folder of photographs; the reals it is measured against are framed alike.
        framed, key = work / "heldout256-framed", {"framed": bench.heldout}
        if not is_done(framed, key):
            shutil.rmtree(framed, ignore_errors=True)
            bench.maskgen("dataset", "frame", str(heldout), "--out", str(framed), "--size", str(LARGE))
            mark_done(framed, key)
        heldout = framed
    data = Data(
        work / "train256", work / "real256", work / "real64", work / "ceiling-src256", work / "ceiling64"
    )
    key = {"heldout": bench.heldout, "from": str(heldout)}
    if not all(is_done(f, key) for f in (data.real, data.real64, data.ceiling_src, data.ceiling64)):
        files = pngs(heldout)
        half = len(files) // 2
        for dest, part in ((data.real, files[:half]), (data.ceiling_src, files[half:])):
            start_folder(dest)
            for path in part:
                shutil.copy2(path, dest / path.name)
        resize_folder(data.real, data.real64, SMALL, "box")  # area downsampling
        resize_folder(data.ceiling_src, data.ceiling64, SMALL, "box")
        for folder in (data.real, data.real64, data.ceiling_src, data.ceiling64):
            mark_done(folder, key)
    return data


# --------------------------------------------------------------------------------------------------
# Training and drawing
# --------------------------------------------------------------------------------------------------


def train_run(bench: Bench, name: str, resolution: int, results: dict[str, Any]) -> str:
    """The run directory of ``maskgen run --resolution RESOLUTION --minutes M`` on the training folder,
    trained now unless the results already hold it."""
    stored = results["runs"].get(name)
    if stored and Path(stored["run_dir"]).is_dir():
        return stored["run_dir"]
    out = start_folder(bench.work / "runs" / f"{name}-{bench.minutes:g}min")
    # One wall clock for the whole run: at 64 px the second stage's minutes come out of the GAN's.
    from maskgen.config import DEFAULT_PRESET, PRESETS

    stage = float(PRESETS[DEFAULT_PRESET]["upscale_minutes"]) if resolution == 64 else 0.0
    stage = min(stage, bench.minutes / 2)
    log(
        f"{name}: maskgen run at {resolution} px for {bench.minutes:g} min ({stage:g} of them the upscaler's)"
    )
    seconds = bench.maskgen("run", "--data", str(bench.work / "train256"), "--resolution", str(resolution),
                            "--minutes", f"{bench.minutes - stage:g}", "--upscale-minutes", f"{stage:g}",
                            "--out", str(out), "-q", *bench.extra_run_args)  # fmt: skip
    # The run directory is the one folder run made under our own --out (no need to parse its output).
    runs = [p for p in out.iterdir() if (p / "config.json").is_file()]
    if len(runs) != 1:
        raise SystemExit(f"expected one run directory in {out}, found {len(runs)}")
    results["runs"][name] = {"run_dir": str(runs[0]), "command_seconds": round(seconds, 1)}
    save_results(bench, results)
    return str(runs[0])


def generate(bench: Bench, checkpoint: str, size: int, count: int, dest: Path, upscaler: bool) -> None:
    """``maskgen generate`` of seeds 0..count-1 at ``size`` px, one PNG per seed, into ``dest``."""
    key = {
        "checkpoint": checkpoint,
        "upscaler": bench.upscaler if upscaler else None,
        "size": size,
        "n": count,
    }
    if is_done(dest, key):
        return
    log(f"generating {count} masks at {size} px from {checkpoint} into {dest}")
    shutil.rmtree(dest, ignore_errors=True)
    bench.maskgen("generate", "--checkpoint", checkpoint, "--seeds", f"0-{count - 1}", "--size", str(size),
                  "--out", str(dest), *(bench.upscaler_args() if upscaler else []))  # fmt: skip
    mark_done(dest, key)


def enlarge(bench: Bench, source: Path, dest: Path) -> None:
    """``source``'s PNGs enlarged to 256 px with PIL bicubic."""
    # Keyed by what made the source too: the same folder may hold another checkpoint's masks now.
    marker = source / ".made-from.json"
    made_from = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else None
    key = {"bicubic": str(source), "n": len(pngs(source)), "source": made_from}
    if not is_done(dest, key):
        resize_folder(source, dest, LARGE, "bicubic")
        mark_done(dest, key)


def upscale_reals(bench: Bench, cascade: str, source: Path, dest: Path) -> None:
    """The ceiling: ``maskgen upscale apply`` with the cascade's upscaler (or ``--upscaler``)."""
    reference = bench.upscaler or cascade
    key = {"upscaler": reference, "n": len(pngs(source))}
    if is_done(dest, key):
        return
    log(f"ceiling: enlarging {source} with {reference}")
    shutil.rmtree(dest, ignore_errors=True)
    bench.maskgen(
        "upscale", "apply", "--checkpoint", reference, "--device", "cpu", str(source), "-o", str(dest)
    )
    mark_done(dest, key)


def seconds_in_process(bench: Bench, checkpoint: str, size: int, upscaler: bool, bicubic: bool) -> float:
    """Seconds to draw 64 masks at ``size`` px in this process after a warm-up (bicubic: then enlarged
    to 256 px with PIL)."""
    import torch
    from PIL import Image

    from maskgen.apps.cascade import load_cascade
    from maskgen.images import to_uint8

    cascade = load_cascade(checkpoint, torch.device("cpu"), bench.upscaler if upscaler else None)
    with torch.no_grad():
        cascade.draw([0, 1], size=size)  # warm-up: first-call allocations and kernel choices
        start = time.perf_counter()
        images = to_uint8(cascade.draw(list(range(TIMED_SEEDS)), size=size))
        if bicubic:
            for image in images:
                Image.fromarray(image).resize((LARGE, LARGE), Image.Resampling.BICUBIC)
        return time.perf_counter() - start


def seconds_command(bench: Bench, checkpoint: str, size: int, upscaler: bool, name: str) -> float:
    """Seconds of the whole ``maskgen generate --seeds 0-63`` command (start-up and loading included)."""
    out = bench.work / "timing" / f"{name}.png"
    return bench.maskgen("generate", "--checkpoint", checkpoint, "--seeds", f"0-{TIMED_SEEDS - 1}",
                         "--size", str(size), "--out", str(out),
                         *(bench.upscaler_args() if upscaler else []))  # fmt: skip


# --------------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------------


def luma(images: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, 3] -> float [N, H, W] grey in 0..255 (ITU-R 601 weights)."""
    return images.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def high_frequency_energy(images: np.ndarray, sigma: float = 1.0) -> float:
    """Mean over images of the mean squared difference between the grey image and its Gaussian blur:
    what a blur of ``sigma`` px removes (thin, crisp lines keep it high; interpolation lowers it)."""
    from scipy.ndimage import gaussian_filter

    grey = luma(images)
    return float(np.mean([np.mean((g - gaussian_filter(g, sigma)) ** 2) for g in grey]))


def line_width(image: np.ndarray) -> float:
    """Mean width in px of the black lines of one uint8 [H, W, 3] image: 2 |D| / |boundary of D| for the
    dark pixels D (a line of width w >= 2 and length L has w L pixels and 2 L boundary pixels; a 1 px
    line, all boundary, reads 2); NaN without any boundary."""
    from scipy.ndimage import binary_erosion

    dark = luma(image[None])[0] < DARK_LUMA
    # Interior: dark with all four neighbours dark; the image's edge counts as dark (not a boundary).
    interior = binary_erosion(dark, structure=np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]]), border_value=1)
    boundary = int((dark & ~interior).sum())
    return 2.0 * int(dark.sum()) / boundary if boundary else float("nan")


def mean_line_width(images: np.ndarray) -> float:
    widths = np.array([line_width(image) for image in images])
    return float(np.nanmean(widths)) if np.isfinite(widths).any() else float("nan")


def random_crops(images: np.ndarray, size: int, positions: np.ndarray) -> np.ndarray:
    """One ``size`` px crop per image at ``positions`` [(y, x)] (top-left corners)."""
    return np.stack(
        [image[y : y + size, x : x + size] for image, (y, x) in zip(images, positions, strict=True)]
    )


def crop_positions(count: int, side: int, size: int) -> np.ndarray:
    """``count`` top-left corners, uniform over the image, from a fixed seed: real and fake images get the
    very same positions, so where a crop sits tells the test nothing."""
    return np.random.default_rng(CROP_SEED).integers(0, side - size + 1, size=(count, 2))


def write_folder(images: np.ndarray, dest: Path) -> None:
    from PIL import Image

    start_folder(dest)
    for i, image in enumerate(images):
        Image.fromarray(image).save(dest / f"{i:05d}.png")


def evaluate(bench: Bench, real: Path, fake: Path, metrics: str, size: int, out: Path) -> dict[str, Any]:
    """``maskgen eval`` of two folders: {metric key: its JSON entry}."""
    count = max(len(pngs(real)), len(pngs(fake)))
    bench.maskgen("eval", "--real", str(real), "--fake", str(fake), "-m", metrics, "--num", str(count),
                  "--size", str(size), "--device", "cpu", "--no-frame", "--json", str(out), "-q")  # fmt: skip
    return json.loads(out.read_text(encoding="utf-8"))["metrics"]


def c2st_native(real: np.ndarray, fake: np.ndarray) -> dict[str, Any]:
    """The two-sample test with its CNN at the images' own size (``maskgen eval`` resizes to 32 px)."""
    from maskgen.evaluation.metrics.twosample import c2st

    return c2st(real, fake, size=real.shape[1])


def value(entry: dict[str, Any] | None) -> float | None:
    return None if entry is None else entry.get("value")


def measure_row(bench: Bench, name: str, fake: Path, data: Data, reference: dict[str, Any]) -> dict[str, Any]:
    """Every quality column of one row's 256 px folder against the compared reals."""
    out = start_folder(bench.work / "eval" / name)
    log(f"{name}: measuring {len(pngs(fake))} masks against {len(pngs(data.real))} reals")
    metrics = evaluate(bench, data.real, fake, "fid,prdc,c2st", LARGE, out / "eval256.json")
    real, fakes = reference["real_images"], load_folder(fake)
    count = min(len(real), len(fakes))  # one crop per image, as many for each side
    positions = crop_positions(count, LARGE, SMALL)
    real_crops, fake_crops = (
        random_crops(real[:count], SMALL, positions),
        random_crops(fakes[:count], SMALL, positions),
    )
    write_folder(real_crops, out / "crops-real")
    write_folder(fake_crops, out / "crops-fake")
    crop_cli = evaluate(bench, out / "crops-real", out / "crops-fake", "c2st", SMALL, out / "eval_crops.json")
    crop = c2st_native(real_crops, fake_crops)
    energy, width = high_frequency_energy(fakes), mean_line_width(fakes)
    return {
        "samples": str(fake),
        "count": len(fakes),
        "fid": value(metrics.get("fid")),
        "precision": value(metrics.get("precision")),
        "recall": value(metrics.get("recall")),
        "density": value(metrics.get("density")),
        "coverage": value(metrics.get("coverage")),
        "c2st_256": value(metrics.get("c2st")),
        "c2st_crop64": crop["value"],
        "c2st_crop64_stderr": crop["stderr"],
        "c2st_crop_cli": value(crop_cli.get("c2st")),
        "hf_energy": energy,
        "hf_energy_ratio": energy / reference["hf_energy"],
        "line_width": width,
        "line_width_ratio": width / reference["line_width"],
    }


# --------------------------------------------------------------------------------------------------
# Results, table, sheets
# --------------------------------------------------------------------------------------------------


def load_results(bench: Bench) -> dict[str, Any]:
    if bench.results_path.is_file():
        return json.loads(bench.results_path.read_text(encoding="utf-8"))
    return {"runs": {}, "rows": {}, "reference": {}}


def save_results(bench: Bench, results: dict[str, Any]) -> None:
    from maskgen.outputs import write_text

    write_text(bench.results_path, json.dumps(results, indent=2))


COLUMNS = (  # (key, header, format)
    ("count", "n", "{:d}"),
    ("fid", "FD[masknet]", "{:.2f}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("c2st_256", "C2ST 256 (eval, CNN at 32 px)", "{:.3f}"),
    ("c2st_crop64", "C2ST 64 px crops", "{:.3f}"),
    ("hf_energy_ratio", "HF energy / reals", "{:.3g}"),
    ("line_width", "line width px", "{:.2f}"),
    ("line_width_ratio", "line width / reals", "{:.2f}"),
    ("seconds_in_process", "s / 64 masks", "{:.2f}"),
    ("seconds_command", "s / 64 (command)", "{:.1f}"),
)


def table_lines(results: dict[str, Any]) -> list[str]:
    lines = ["| row | " + " | ".join(h for _, h, _ in COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for name in ROWS:
        row = results["rows"].get(name)
        if row is None:
            continue
        cells = []
        for key, _, form in COLUMNS:
            v = row.get(key)
            cells.append(form.format(v) if isinstance(v, (int, float)) and v == v else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    ref = results.get("reference", {})
    if "c2st_gan64" in ref:
        lines.append(f"\nreference: C2ST of the GAN's own 64 px samples at 64 px: {ref['c2st_gan64']:.3f} "
                     f"(target: the cascade's crop test no worse)")  # fmt: skip
    if "line_width" in ref:
        lines.append(f"reals: line width {ref['line_width']:.2f} px, HF energy {ref['hf_energy']:.1f}")
    return lines


def grid(paths: list[Path], columns: int) -> Any:
    from PIL import Image

    tiles = [Image.open(p).convert("RGB").resize((LARGE, LARGE), Image.Resampling.NEAREST) for p in paths]
    rows = (len(tiles) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * LARGE, rows * LARGE), "white")
    for i, tile in enumerate(tiles):
        sheet.paste(tile, ((i % columns) * LARGE, (i // columns) * LARGE))
    return sheet


def contact_sheets(bench: Bench, folders: dict[str, Path]) -> None:
    """``WORK/sheets/<row>.png`` (16 masks) and ``compare.png`` (bicubic, cascade, ceiling, real)."""
    from PIL import Image, ImageDraw

    sheets = bench.work / "sheets"
    sheets.mkdir(parents=True, exist_ok=True)
    for name, folder in folders.items():
        grid(pngs(folder)[:SHEET_COUNT], 4).save(sheets / f"{name}.png")
    lines = [n for n in ("bicubic", "cascade", "ceiling", "real") if n in folders]
    label = 90
    compare = Image.new("RGB", (label + COMPARE_COUNT * LARGE, len(lines) * LARGE), "white")
    draw = ImageDraw.Draw(compare)
    for r, name in enumerate(lines):
        compare.paste(grid(pngs(folders[name])[:COMPARE_COUNT], COMPARE_COUNT), (label, r * LARGE))
        draw.text((6, r * LARGE + LARGE // 2), name, fill="black")
    compare.save(sheets / "compare.png")
    log(f"contact sheets in {sheets}")


# --------------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------------


def run(bench: Bench, rows: list[str], redo: bool) -> dict[str, Any]:
    import torch

    torch.set_num_threads(bench.threads)
    data = prepare_data(bench)
    results = load_results(bench)
    results["protocol"] = {
        "collection": bench.collection,
        "minutes": bench.minutes,
        "samples": bench.samples,
        "heldout": bench.heldout,
        "train": bench.train,
        "threads": bench.threads,
        "checkpoint": bench.checkpoint,
        "upscaler": bench.upscaler,
        "extra_run_args": bench.extra_run_args,
        "loadavg": round(os.getloadavg()[0], 2),  # other jobs on the machine slow the clock budgets
    }
    ref = results["reference"]
    real = load_folder(data.real)
    ref |= {"hf_energy": high_frequency_energy(real), "line_width": mean_line_width(real)}
    reference = ref | {"real_images": real}
    samples, n = bench.work / "samples", bench.samples
    folders: dict[str, Path] = {"real": data.ceiling_src}

    cascade: str | None = None
    if {"cascade", "bicubic", "ceiling"} & set(rows):
        cascade = bench.checkpoint or train_run(bench, "cascade", SMALL, results)
        generate(bench, cascade, SMALL, n, samples / "gan64", upscaler=True)
        if "c2st_gan64" not in ref or redo:
            gan64 = load_folder(samples / "gan64")
            ref["c2st_gan64"] = c2st_native(load_folder(data.real64), gan64)["value"]
    save_results(bench, results)

    for name in rows:
        if name == "cascade":
            assert cascade is not None
            fake = samples / "cascade"
            generate(bench, cascade, LARGE, n, fake, upscaler=True)
            timing = (cascade, LARGE, True, False)
        elif name == "bicubic":
            assert cascade is not None
            fake = samples / "bicubic"
            enlarge(bench, samples / "gan64", fake)
            timing = (cascade, SMALL, True, True)
        elif name in ("direct128", "direct256"):
            resolution = int(name.removeprefix("direct"))
            run_dir = train_run(bench, name, resolution, results)
            native = samples / name if resolution == LARGE else samples / f"{name}-native"
            generate(bench, run_dir, resolution, n, native, upscaler=False)
            fake = native
            if resolution != LARGE:
                fake = samples / name
                enlarge(bench, native, fake)
            timing = (run_dir, resolution, False, resolution != LARGE)
        else:  # ceiling
            assert cascade is not None
            fake = samples / "ceiling"
            upscale_reals(bench, cascade, data.ceiling64, fake)
            timing = None
        folders[name] = fake
        if name in results["rows"] and not redo:
            continue
        row = measure_row(bench, name, fake, data, reference)
        if timing is not None:
            checkpoint, size, upscaler, bicubic = timing
            row["seconds_in_process"] = seconds_in_process(bench, checkpoint, size, upscaler, bicubic)
            row["seconds_command"] = seconds_command(bench, checkpoint, size, upscaler, name)
            row["checkpoint"] = checkpoint
        results["rows"][name] = row
        save_results(bench, results)
    contact_sheets(bench, folders)
    return results


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", Path(text).name or text).strip("-")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--collection", choices=COLLECTIONS, default="detailed")
    parser.add_argument("--rows", nargs="+", choices=ROWS, default=None, help="default: all")
    parser.add_argument("--minutes", type=float, default=None, help="wall clock of every run (default 15)")
    parser.add_argument("--samples", type=int, default=None, help="masks per row (default 1000)")
    parser.add_argument("--heldout", type=int, default=None, help="held-out reals, halved (default 1000)")
    parser.add_argument("--train", type=int, default=None, help="training masks (default 300)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint", default=None, help="the cascade's checkpoint: no training for it")
    parser.add_argument("--upscaler", default=None, help="passed to maskgen generate (and upscale apply)")
    parser.add_argument("--extra-run-args", default="", help="added to every maskgen run, e.g. '--seed 1'")
    parser.add_argument("--work", type=Path, default=None, help="default: runs/print-size-<collection>")
    parser.add_argument("--results", type=Path, default=None, help="the results JSON (default: see above)")
    parser.add_argument("--smoke", action="store_true", help="tiny counts, end to end: " + json.dumps(SMOKE))
    parser.add_argument("--redo", action="store_true", help="measure rows already in the results again")
    parser.add_argument("--report", action="store_true", help="print the table of the stored results")
    args = parser.parse_args()

    defaults = SMOKE if args.smoke else {"heldout": 1000, "samples": 1000, "train": 300, "minutes": 15.0}
    rows = args.rows or (SMOKE["rows"] if args.smoke else list(ROWS))
    minutes = args.minutes if args.minutes is not None else float(defaults["minutes"])
    suffix = "-smoke" if args.smoke else ""
    work = args.work or ROOT / "runs" / f"print-size-{args.collection}{suffix}"
    budget = slug(args.checkpoint) if args.checkpoint else f"{minutes:g}min"
    # Smoke results stay in WORK: benchmarks/results/ holds measurements worth keeping.
    results = args.results or (
        work / f"print_size_smoke_{budget}.json"
        if args.smoke
        else ROOT / "benchmarks" / "results" / f"print_size_{args.collection}_{budget}.json"
    )
    bench = Bench(
        collection=args.collection,
        work=work,
        results_path=results,
        minutes=minutes,
        samples=args.samples or int(defaults["samples"]),
        heldout=args.heldout or int(defaults["heldout"]),
        train=args.train or int(defaults["train"]),
        threads=args.threads,
        checkpoint=args.checkpoint,
        upscaler=args.upscaler,
        extra_run_args=shlex.split(args.extra_run_args),
    )
    if not args.report:
        run(bench, rows, args.redo)
        log(f"results in {bench.results_path}")
    print("\n".join(table_lines(load_results(bench))))


if __name__ == "__main__":
    main()
