"""``maskgen compare``: the same training budget for several augmenters, one report.

Every augmenter (``none``, ``ada``, ``apa``, ``diffusion``, or a stack such as ``apa+ada``) is trained
on the same data, with the same seed(s) and budget. The report has the layout of Table 1 of Yan et al.
2023 (rows StyleGAN2, ADA, APA, Diffusion-GAN), the augment strength and the overfitting heuristic
r_t over kimg for every run, and the final samples of every run side by side.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maskgen.config import TrainConfig, resolve_config
from maskgen.errors import MaskgenError
from maskgen.evaluation.reports.runs import run_label
from maskgen.evaluation.reports.tables import cell, details, metric_table, paper_columns
from maskgen.evaluation.reports.tables import metric_key as metric_key  # tests and callers know it here
from maskgen.plugins import PluginRegistry, get_registry
from maskgen.plugins.methods import join_stack, method_citation, method_label, parse_stack, split_stack

HEURISTIC_KEY = "D/real_sign"  # tick mean of sign(D(real)): r_t of Eq. (3), logged for every augmenter
DEFAULT_TARGET = 0.6
MIN_LOG_POINTS = 20  # short comparisons log more often than the trainer's 1-kimg tick
# Built-in masks per comparison unless set: few enough that D overfits, as in the paper's setting.
DEFAULT_DATASET_COUNT = 200
# Unless set, a comparison on the cpu preset trains every run for the same length (not the preset's
# time budget: augmenters cost different amounts per image, and a fair table needs equal kimg), and its
# adaptive augmenters react fast enough for the heuristic to be held within that length.
COMPARE_CPU_DEFAULTS: dict[str, Any] = {"kimg": 25.0, "augment_speed_kimg": 10.0}

MessageCallback = Callable[[str], None]
RunStartCallback = Callable[[int, int, str], None]  # (index from 1, number of runs, row label)


@dataclass
class CompareSettings:
    """What one comparison trains and how it is evaluated."""

    augments: list[str]
    seeds: list[int]
    out_root: Path
    file_values: dict[str, Any] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)  # data, kimg, resolution, ... (None: not given)
    augment_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # keyed by augmenter name
    metrics: list[str] | None = None  # evaluator names; None: those of default_metrics()
    eval_num: int = 500
    default_dataset_count: int | None = DEFAULT_DATASET_COUNT  # when neither file nor flags set it
    cpu_defaults: dict[str, Any] = field(default_factory=lambda: dict(COMPARE_CPU_DEFAULTS))


@dataclass
class RunSummary:
    """One finished run and what the report shows of it."""

    augment: str
    seed: int
    run_dir: Path
    config: TrainConfig
    records: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return run_label(self.augment)


row_label = run_label  # the name tests/test_compare.py knows; one function, maskgen.evaluation.reports.runs'


# --------------------------------------------------------------------------------------------------
# Planning and training
# --------------------------------------------------------------------------------------------------


def parse_augment_list(text: str) -> list[str]:
    """'none, ada,apa+ada' -> ['none', 'ada', 'apa+ada'] (duplicates refused)."""
    names = [join_stack(parse_stack(item)) for item in text.split(",") if item.strip()]
    if not names:
        raise MaskgenError("--augment needs at least one augmenter, e.g. none,ada,apa,diffusion")
    if len(set(names)) != len(names):
        raise MaskgenError(f"--augment lists an augmenter twice: {text!r}")
    return names


def options_for(augment: str, options: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The augment_options of one run: a single augmenter's own dict, a stack's dicts keyed by part."""
    parts = split_stack(augment)
    if len(parts) == 1:
        return dict(options.get(augment, {}))
    return {part: dict(options[part]) for part in parts if part in options}


def plan_configs(
    settings: CompareSettings, registry: PluginRegistry | None = None
) -> list[tuple[str, int, TrainConfig]]:
    """Every run's resolved config, checked before anything trains (a typo fails in a second)."""
    registry = registry or get_registry()
    file_values = dict(settings.file_values)
    file_values.pop("augment", None)  # the comparison decides the augmenter of each run
    options = _merged_options(file_values.pop("augment_options", None) or {}, settings.augment_options)
    compared = {part for augment in settings.augments for part in split_stack(augment)}
    unknown = set(options) - compared
    if unknown:
        raise MaskgenError(
            "augment options of a comparison are keyed by augmenter name (e.g. {ada: {target: 0.7}}); "
            f"got options for augmenters not compared: {', '.join(sorted(unknown))}"
        )
    for name in settings.metrics or []:
        registry.get("evaluator", name)
    flags = dict(settings.flags)
    if flags.get("dataset_count") is None and "dataset_count" not in file_values:
        flags["dataset_count"] = settings.default_dataset_count
    if (flags.get("preset") or file_values.get("preset") or "cpu") == "cpu":
        for key, value in settings.cpu_defaults.items():
            if flags.get(key) is None and key not in file_values:
                flags[key] = value
    planned = []
    for augment in settings.augments:
        _check_augmenter(augment, options, registry)
        for seed in settings.seeds:
            config = resolve_config(
                file_values,
                **flags,
                augment=augment,
                seed=seed,
                augment_options=options_for(augment, options) or None,
            )
            planned.append((augment, seed, config))
    return planned


def _check_augmenter(augment: str, options: dict[str, dict[str, Any]], registry: PluginRegistry) -> None:
    """Unknown names and bad options fail now, not after the runs before them have trained."""
    from maskgen.plugins.factory import parse_options

    for part in split_stack(augment):
        parse_options("augmenter", part, options.get(part, {}), registry)


def _merged_options(
    from_file: dict[str, Any], from_flags: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for source in (from_file, from_flags):
        for name, values in source.items():
            if not isinstance(values, dict):
                raise MaskgenError(
                    "augment options of a comparison are keyed by augmenter name "
                    f"(e.g. {{ada: {{target: 0.7}}}}); got {name}: {values!r}"
                )
            merged[name] = merged.get(name, {}) | values
    return merged


def tick_kimg_for(total_kimg: float) -> float:
    """At least MIN_LOG_POINTS records per run, in whole images of 1/1000 kimg."""
    return max(0.001, math.floor(total_kimg / MIN_LOG_POINTS * 1000) / 1000)


def train_runs(
    planned: list[tuple[str, int, TrainConfig]],
    runs_root: Path,
    on_message: MessageCallback | None = None,
    on_progress: Callable[[Any], None] | None = None,
    on_run_start: RunStartCallback | None = None,
) -> list[RunSummary]:
    from maskgen.training.loop import train

    say = on_message or (lambda _msg: None)
    summaries = []
    for index, (augment, seed, config) in enumerate(planned, start=1):
        if on_run_start is not None:
            on_run_start(index, len(planned), run_label(augment))
        say(f"[{index}/{len(planned)}] training {run_label(augment)} ({augment}), seed {seed}")
        # Short comparison runs need more than the default one log record per kimg for their curves.
        config = config.model_copy(update={"tick_kimg": min(config.tick_kimg, tick_kimg_for(config.kimg))})
        run_dir = train(config, out_root=runs_root, on_progress=on_progress, on_message=say)
        summaries.append(RunSummary(augment, seed, run_dir, config, read_metrics_log(run_dir)))
    return summaries


def read_metrics_log(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --------------------------------------------------------------------------------------------------
# Metrics (computed by the evaluator plugins: maskgen's own in maskgen.evaluation, and installed ones)
# --------------------------------------------------------------------------------------------------


def default_metrics(registry: PluginRegistry | None = None) -> list[str]:
    """The evaluators a comparison runs unless told: the paper's Table 1 metrics (those with a
    ``paper_column``), those without network weights, and every evaluator another distribution
    installs. Evaluators with a ``features`` option run once per network (masknet, and Inception
    where its weights are present)."""
    from maskgen.evaluation.evaluate import metrics_by_key

    registry = registry or get_registry()
    metrics = {m.name: m for m in metrics_by_key(registry).values()}
    paper = [column.key for column in paper_columns() if column.key in registry.names("evaluator")]
    weightless = [name for name, m in metrics.items() if m.table == "weightless"]
    others = [
        s.name for s in registry.specs("evaluator") if s.name not in metrics and s.distribution != "maskgen"
    ]
    return list(dict.fromkeys(paper + weightless + others))


def evaluate_summary(
    run: RunSummary,
    names: list[str] | None,
    count: int,
    registry: PluginRegistry | None = None,
) -> tuple[dict[str, float], list[str]]:
    """Every requested evaluator on one run: ({metric label: value}, notes on what was not computed).

    The evaluation is :func:`maskgen.evaluation.reports.runs.evaluate_run` (the one ``maskgen report`` uses):
    up to ``count`` training images against ``count`` samples of G_ema at seeds 0..count-1. The
    evaluators are plugins (``maskgen.plugins.interfaces.Evaluator``); one that fails (e.g. Inception
    weights missing) becomes a note, the others still count. ``names`` None: :func:`default_metrics`.
    """
    from maskgen.devices import pick_device
    from maskgen.evaluation.reports.runs import evaluate_run, metric_values

    registry = registry or get_registry()
    wanted = default_metrics(registry) if names is None else names
    if not wanted:
        return {}, ["no evaluator plugins are registered, so no metrics were computed"]
    try:
        result = evaluate_run(
            run.run_dir,
            count,
            pick_device(run.config.device),
            evaluators=wanted,
            registry=registry,
            cache=False,
        )
    except MaskgenError as exc:  # e.g. a run too small to evaluate: the report still shows its training
        return {}, [f"not evaluated: {exc}"]
    return metric_values(result), result["notes"]


# --------------------------------------------------------------------------------------------------
# Curves and summaries from metrics.jsonl
# --------------------------------------------------------------------------------------------------


def series(records: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    points = [(r["kimg"], r[key]) for r in records if key in r and r[key] is not None]
    return [p[0] for p in points], [float(p[1]) for p in points]


def strength_keys(records: list[dict[str, Any]]) -> list[str]:
    """'augment/strength', or one per part of a stack ('augment/apa/strength', ...)."""
    keys = sorted({k for r in records for k in r if k.startswith("augment/") and k.endswith("/strength")})
    return keys or (["augment/strength"] if any("augment/strength" in r for r in records) else [])


def late_mean(records: list[dict[str, Any]], key: str, fraction: float = 0.25) -> float | None:
    """Mean of ``key`` over the last ``fraction`` of the run's kimg (the settled value)."""
    kimg, values = series(records, key)
    if not values:
        return None
    start = kimg[-1] * (1.0 - fraction)
    late = [v for k, v in zip(kimg, values, strict=True) if k >= start - 1e-9]
    return sum(late) / len(late)


def part_name(key: str) -> str:
    """'augment/apa/strength' -> 'apa'; 'augment/strength' -> ''."""
    return key.split("/")[1] if key.count("/") == 2 else ""


def training_summary(run: RunSummary) -> dict[str, Any]:
    """Final strength (per part of a stack), settled r_t, kimg and wall time of one run."""
    last = run.records[-1] if run.records else {}
    return {
        "strength": {part_name(k): float(last[k]) for k in strength_keys(run.records) if k in last},
        "r_t": late_mean(run.records, HEURISTIC_KEY),
        "seconds": last.get("seconds"),
        "kimg": last.get("kimg"),
    }


# --------------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------------


def _figure(width: float = 7.0, height: float = 4.0) -> Any:
    from matplotlib.figure import Figure  # no pyplot: no global state, no display needed

    return Figure(figsize=(width, height), dpi=110)


def _colors(runs: list[RunSummary]) -> dict[str, Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    augments = list(dict.fromkeys(run.augment for run in runs))
    return {augment: palette(i % 10) for i, augment in enumerate(augments)}


def plot_strength(runs: list[RunSummary], path: Path) -> None:
    fig = _figure()
    ax = fig.add_subplot()
    colors = _colors(runs)
    for run in runs:
        keys = strength_keys(run.records)
        for key in keys:
            kimg, values = series(run.records, key)
            part = part_name(key)
            label = f"{run.label}{f' ({part})' if part else ''}, seed {run.seed}"
            style = "-" if len(keys) == 1 or keys.index(key) == 0 else "--"
            ax.plot(kimg, values, style, color=colors[run.augment], label=label, marker=".", markersize=3)
    ax.set_xlabel("kimg")
    ax.set_ylabel("augment strength")
    ax.set_title("Augment strength (ADA, APA: p; Diffusion-GAN: (T - T_min) / (T_max - T_min))", fontsize=9)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def plot_heuristic(runs: list[RunSummary], path: Path, target: float = DEFAULT_TARGET) -> None:
    fig = _figure()
    ax = fig.add_subplot()
    colors = _colors(runs)
    for run in runs:
        kimg, values = series(run.records, HEURISTIC_KEY)
        ax.plot(kimg, values, color=colors[run.augment], label=f"{run.label}, seed {run.seed}", marker=".")
    ax.axhline(target, color="grey", linestyle=":", label=f"target {target:g}")
    ax.set_xlabel("kimg")
    ax.set_ylabel("r_t = E[sign(D(real))]")
    ax.set_title("Overfitting heuristic (Eq. 3): 0 = D unsure, 1 = D recognises every real", fontsize=9)
    ax.set_ylim(-1.05, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def plot_samples(runs: list[RunSummary], path: Path) -> None:
    """The final sample grid of every run side by side (same seeds, so same latents), reals first."""
    from maskgen.data.folder import open_rgb

    panels: list[tuple[str, np.ndarray]] = []
    reals = runs[0].run_dir / "samples" / "reals.png" if runs else None
    if reals is not None and reals.is_file():
        panels.append(("training data", np.asarray(open_rgb(reals))))
    for run in runs:
        grid = run.run_dir / "samples" / "fakes_latest.png"
        if grid.is_file():
            panels.append((f"{run.label}, seed {run.seed}", np.asarray(open_rgb(grid))))
    if not panels:
        return
    fig = _figure(3.0 * len(panels), 3.4)
    for index, (title, image) in enumerate(panels, start=1):
        ax = fig.add_subplot(1, len(panels), index)
        ax.imshow(image, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


# --------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------


def grouped(runs: list[RunSummary]) -> dict[str, list[RunSummary]]:
    groups: dict[str, list[RunSummary]] = {}
    for run in runs:
        groups.setdefault(run.augment, []).append(run)
    return groups


def metrics_table(runs: list[RunSummary]) -> list[str]:
    """Table 1's layout (the paper's columns, then every other metric), one row per augmenter, in the
    one renderer ``maskgen report`` uses too."""
    rows = [(run_label(augment), [run.metrics for run in group]) for augment, group in grouped(runs).items()]
    return metric_table(rows, "Image generation models", fixed=paper_columns())


def _fmt(values: list[float], digits: int) -> str:
    """'0.123' for one seed, '0.123 ± 0.004' for several, 'n/a' for none."""
    return cell(values, digits)


def dynamics_table(runs: list[RunSummary]) -> list[str]:
    lines = [
        "| Model | augmenter | final strength | r_t, last 25 % of kimg | kimg | wall time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for augment, group in grouped(runs).items():
        summaries = [training_summary(run) for run in group]
        cells = [_strength_cell(summaries)]
        cells += [
            _fmt([s[key] for s in summaries if s[key] is not None], digits)
            for key, digits in (("r_t", 3), ("kimg", 3), ("seconds", 0))
        ]
        lines.append(f"| {run_label(augment)} | `{augment}` | " + " | ".join(cells) + " |")
    return lines


def _strength_cell(summaries: list[dict[str, Any]]) -> str:
    parts = list(dict.fromkeys(part for s in summaries for part in s["strength"]))
    if not parts:
        return "n/a"
    cells = [
        (part, _fmt([s["strength"][part] for s in summaries if part in s["strength"]], 3)) for part in parts
    ]
    return ", ".join(f"{part} {value}" if part else value for part, value in cells)


def references_section(runs: list[RunSummary]) -> list[str]:
    """The BibTeX of every compared method, as its plugin declares it (nothing for 'none')."""
    entries: dict[str, str] = {}
    for run in runs:
        for part in split_stack(run.augment):
            citation = method_citation(part, "augmenter")
            if citation:
                entries.setdefault(method_label(part, "augmenter"), citation)
    if not entries:
        return []
    lines = ["## References", ""]
    for label, citation in entries.items():
        lines += [f"{label}:", "", "```bibtex", citation, "```", ""]
    return lines


def write_report(runs: list[RunSummary], settings: CompareSettings, out_dir: Path, seconds: float) -> Path:
    plot_strength(runs, out_dir / "strength.png")
    plot_heuristic(runs, out_dir / "heuristic.png")
    plot_samples(runs, out_dir / "samples.png")
    config = runs[0].config
    dataset = "built-in procedural masks" if config.data == "builtin" else f"`{config.data}`"
    count = f", {config.dataset_count} images" if config.data == "builtin" else ""
    lines = [
        "# maskgen compare",
        "",
        f"Data: {dataset}{count}, {config.resolution} px. Budget: {config.kimg:g} kimg per run, batch "
        f"{config.batch}, seed(s) {', '.join(map(str, settings.seeds))}, preset `{config.preset}`, device "
        f"`{config.device}`. Total time {seconds / 60:.1f} min.",
        "",
        "## Image quality (layout of Table 1 of Yan et al. 2023)",
        "",
        *metrics_table(runs),
        "",
    ]
    notes: dict[str, list[str]] = {}
    for run in runs:
        for note in run.notes:
            notes.setdefault(note, []).append(f"{run.label} (seed {run.seed})")
    if notes:
        lines += ["Metrics not computed (shown as n/a):", ""]
        lines += [f"- {note} [{', '.join(labels)}]" for note, labels in notes.items()]
        lines += [""]
    computed = details([run.metrics for run in runs])
    lines += [
        f"Metrics: {settings.eval_num} samples of each run's G_ema (seeds 0..{settings.eval_num - 1}) "
        f"against the training images (at most {settings.eval_num}, the same for every run). "
        "FID and KID are on Inception features as in the paper; FD/KD[masknet] are the same distances "
        "on the project's offline feature network. C2ST acc[cnn] (0.5 best), asymmetry ratio (1 best) and "
        "colour TV[7] (0 best) need no network weights (docs/evaluation.md). Several seeds: mean ± "
        "standard deviation." + (f" Computed as: {'; '.join(computed)}." if computed else ""),
        "",
        "## Training dynamics",
        "",
        *dynamics_table(runs),
        "",
        "r_t = E[sign(D(real))] (Eq. 3) as logged by the trainer (`D/real_sign`); without augmentation it "
        f"climbs towards 1 when D overfits, the adaptive augmenters hold it near their target "
        f"({DEFAULT_TARGET:g} by default).",
        "",
        "![augment strength](strength.png)",
        "",
        "![overfitting heuristic](heuristic.png)",
        "",
        "## Samples (same seeds for every run)",
        "",
        "![samples](samples.png)",
        "",
        "## Runs",
        "",
        *[f"- {run.label}, seed {run.seed}: `{run.run_dir}`" for run in runs],
        "",
        *references_section(runs),
    ]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    payload = [
        {
            "augment": run.augment,
            "label": run.label,
            "seed": run.seed,
            "run_dir": str(run.run_dir),
            "metrics": run.metrics,
            "notes": run.notes,
            "training": training_summary(run),
        }
        for run in runs
    ]
    (out_dir / "compare.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path


def run_comparison(
    settings: CompareSettings,
    on_message: MessageCallback | None = None,
    on_progress: Callable[[Any], None] | None = None,
    on_run_start: RunStartCallback | None = None,
    planned: list[tuple[str, int, TrainConfig]] | None = None,
) -> Path:
    """Train every run, evaluate, write ``report.md`` + plots; returns the report's path.

    ``planned``: the result of :func:`plan_configs` when the caller has checked the settings already.
    """
    from maskgen.training.rundir import new_run_dir

    say = on_message or (lambda _msg: None)
    planned = planned or plan_configs(settings)
    first = planned[0][2]
    dataset = "builtin" if first.data == "builtin" else Path(first.data).name
    root_existed = settings.out_root.exists()
    out_dir = new_run_dir(settings.out_root, f"compare-{dataset}-{first.resolution}px")
    say(f"comparison directory: {out_dir}")
    start = time.perf_counter()
    try:
        runs = train_runs(planned, out_dir / "runs", say, on_progress, on_run_start)
    except BaseException:
        # A first run that fails before it writes anything (missing data, unknown device) leaves no
        # empty comparison folder behind; one with a file in it (a checkpoint) is the user's to keep.
        if not any(p.is_file() for p in out_dir.rglob("*")):
            shutil.rmtree(out_dir, ignore_errors=True)
            if not root_existed:
                with contextlib.suppress(OSError):
                    settings.out_root.rmdir()  # only when empty
        raise
    if settings.metrics != []:
        for run in runs:
            say(f"evaluating {run.label}, seed {run.seed}")
            run.metrics, run.notes = evaluate_summary(run, settings.metrics, settings.eval_num)
    else:
        for run in runs:
            run.notes = ["metrics switched off (--metrics none)"]
    return write_report(runs, settings, out_dir, time.perf_counter() - start)
