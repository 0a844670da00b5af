"""``maskgen report``: the paper's Tables 1-3 and Fig. 6 for a set of runs.

Each run directory is evaluated once: its latest checkpoint draws ``num`` images (seeds 0..num-1), which
are compared with the run's own training images (``config.json``: ``data`` "builtin" means the first
``dataset_count`` procedural masks of ``dataset_seed`` at ``resolution``; otherwise the image folder).
The result is kept in ``RUN_DIR/eval.json`` and reused while the checkpoint and settings are the same.
A directory without a GAN checkpoint but with an ``eval.json`` written by ``maskgen eval --json
RUN_DIR/eval.json --label NAME --kind translation`` is read as it is (Table 2: translation models).

* Table 1 (generation) and Table 2 (translation): FID/FD, KID/KD x10^3, SSIM, MS-SSIM per model, then
  the numbers of any other evaluator (an installed plugin's), in the renderer ``maskgen compare`` uses
  (:mod:`maskgen.evaluation.reports.tables`).
* Table 3: classification accuracy on the real images and on each model's fakes.
* Fig. 6: LPIPS bars per model, generated vs real (blue) and between generated samples (yellow).
* Metrics without network weights: C2ST acc[cnn] (0.5 best), asymmetry ratio (1 best), colour TV[7]
  (0 best); see docs/evaluation.md.
* Precision, recall, density and coverage on the feature network (1 best; density 1: as the reals).

Which table an entry goes to is its evaluator's ``table``. The evaluation itself is
:func:`maskgen.evaluation.reports.runs.evaluate_run`, shared with ``maskgen compare``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgen.errors import MaskgenError
from maskgen.evaluation.evaluate import EvalSettings, Tracker, metrics_by_key
from maskgen.evaluation.files import atomic_write
from maskgen.evaluation.metrics.base import Metric
from maskgen.evaluation.reports.runs import evaluate_run
from maskgen.evaluation.reports.tables import details, metric_key, metric_table

# Titles of the report's tables of values with a best value, by the table their evaluators name.
CLOSENESS_TITLES = {
    "weightless": "**Metrics without network weights**",
    "manifold": "**Precision, recall, density, coverage**",
}


# --------------------------------------------------------------------------------------------------
# Markdown and figure
# --------------------------------------------------------------------------------------------------


def _table_of(key: str, entry: dict[str, Any], known: dict[str, Metric]) -> str | None:
    """The report table of an entry: its evaluator's; an evaluator that is not a Metric: quality."""
    metric = known.get(key) if "evaluator" not in entry else None
    if metric is None:
        return "quality" if "evaluator" in entry or key not in known else None
    return metric.table


def _quality_table(results: list[dict[str, Any]], title: str, known: dict[str, Metric]) -> list[str]:
    """Table 1 or 2: the quality metrics of each model, in the paper's column order, then the others."""

    def order(item: tuple[int, tuple[str, dict[str, Any]]]) -> tuple[int, int]:
        metric = known.get(item[1][0])
        position = metric.paper_column[0] if metric and metric.paper_column else 99
        return position, item[0]

    rows, higher = [], {}
    for r in results:
        entries = [(k, e) for k, e in r["metrics"].items() if _table_of(k, e, known) == "quality"]
        entries = [entry for _, entry in sorted(enumerate(entries), key=order)]
        rows.append((r["model"]["label"], [{e["label"]: float(e["value"]) for _, e in entries}]))
        for _, e in entries:
            if isinstance(e.get("higher_is_better"), bool):
                higher.setdefault(metric_key(e["label"])[0], e["higher_is_better"])
    if not any(values for _, runs in rows for values in runs):
        return []
    lines = [title, "", *metric_table(rows, "Model", higher_is_better=higher), ""]
    computed = details([values for _, runs in rows for values in runs])
    if computed:
        lines += [f"Computed as: {'; '.join(computed)}.", ""]
    return lines + ["The best scores are in bold.", ""]


def _accuracy_table(results: list[dict[str, Any]], known: dict[str, Metric]) -> list[str]:
    metric = next((m for m in known.values() if m.table == "accuracy"), None)
    if metric is None:
        return []
    real_key, fake_key = metric.keys
    have = [r for r in results if fake_key in r["metrics"] or real_key in r["metrics"]]
    if not have:
        return []
    reals = {}
    for r in have:
        entry = r["metrics"].get(real_key)
        if entry is not None:
            reals.setdefault(r["real"]["source"], entry["value"])
    columns = [("Real datasets" if len(reals) == 1 else f"Real ({src})", v) for src, v in reals.items()]
    columns += [(f"{r['model']['label']} Fakes", r["metrics"].get(fake_key, {}).get("value")) for r in have]
    first = have[0]["metrics"].get(fake_key) or have[0]["metrics"][real_key]
    classifier, label = first.get("classifier"), first.get("label", "Acc")
    lines = [f"**Table 3** Classification accuracy ({label.split(' ')[0]})", ""]
    lines.append("| Model | " + " | ".join(name for name, _ in columns) + " |")
    lines.append("|---" * (len(columns) + 1) + "|")
    lines.append("| Acc | " + " | ".join("-" if v is None else f"{v:.1%}" for _, v in columns) + " |")
    sources = sorted({r["metrics"][fake_key]["label_source"] for r in have if fake_key in r["metrics"]})
    lines += ["", f"Labels of the generated images: {', '.join(sources) or '-'}."]
    if classifier:
        lines.append(f"Classifier: {classifier}.")
    return lines + [""]


def _closeness_table(results: list[dict[str, Any]], table: str, known: dict[str, Metric]) -> list[str]:
    """The metrics of one table whose entries carry a best value, per model; bold: closest to it."""
    keys = list(
        dict.fromkeys(
            k for r in results for k in r["metrics"] if _table_of(k, r["metrics"][k], known) == table
        )
    )
    if not keys:
        return []
    headers = {k: next(r["metrics"][k]["label"] for r in results if k in r["metrics"]) for k in keys}
    best = {k: next(r["metrics"][k]["best"] for r in results if k in r["metrics"]) for k in keys}
    closest = {
        k: min(abs(r["metrics"][k]["value"] - best[k]) for r in results if k in r["metrics"]) for k in keys
    }
    lines = [CLOSENESS_TITLES[table], "", "| Model | " + " | ".join(headers.values()) + " |"]
    lines.append("|---" * (len(keys) + 1) + "|")
    for r in results:
        cells = []
        for key in keys:
            entry = r["metrics"].get(key)
            if entry is None:
                cells.append("-")
                continue
            text = f"{entry['value']:.3f}" + (f" ± {entry['stderr']:.3f}" if "stderr" in entry else "")
            bold = len(results) > 1 and abs(entry["value"] - best[key]) == closest[key]
            cells.append(f"**{text}**" if bold else text)
        lines.append(f"| {r['model']['label']} | " + " | ".join(cells) + " |")
    notes = []
    for metric in dict.fromkeys(known[k] for k in keys):
        entries = [r["metrics"][k] for r in results for k in metric.keys if k in r["metrics"]]
        notes.append(metric.report_note(entries))
    return lines + ["", " ".join(n for n in notes if n) + " Closest to the best value in bold.", ""]


def lpips_figure(results: list[dict[str, Any]], path: Path) -> Path | None:
    """Fig. 6: LPIPS per model, generated vs real (blue) and between generated samples (yellow)."""
    metric = next((m for m in metrics_by_key().values() if m.table == "figure"), None)
    if metric is None:
        return None
    real_key, diversity_key = metric.keys
    have = [r for r in results if real_key in r["metrics"]]
    if not have:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["model"]["label"] for r in have]
    real = [r["metrics"][real_key]["value"] for r in have]
    div = [r["metrics"][diversity_key]["value"] for r in have]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(names) + 2), 3.8))
    ax.bar(x - 0.2, real, 0.4, color="#3b6fb6", label="generated vs real")
    ax.bar(x + 0.2, div, 0.4, color="#f2c14e", label="between generated samples")
    for xs, values in ((x - 0.2, real), (x + 0.2, div)):
        for xi, v in zip(xs, values, strict=True):
            ax.text(xi, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, names)
    ax.set_ylabel(have[0]["metrics"][real_key]["label"].split(" ")[0])
    ax.set_title("LPIPS of the generated images")
    ax.set_ylim(0, max(real + div) * 1.15)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)
    return path


def render_markdown(results: list[dict[str, Any]], figure: Path | None) -> str:
    generation = [r for r in results if r["model"].get("kind", "generation") == "generation"]
    translation = [r for r in results if r["model"].get("kind") == "translation"]
    features = sorted({r.get("features", "?") for r in results})
    lines = ["# maskgen evaluation report", ""]
    lines += [
        f"Feature network: {', '.join(features)}. Every number names the network it was computed with.",
        "",
    ]
    known = metrics_by_key()
    lines += _quality_table(
        generation, "**Table 1** Quality of images generated by image generation models", known
    )
    lines += _quality_table(
        translation, "**Table 2** Quality of images generated by image translation models", known
    )
    lines += _accuracy_table(results, known)
    for table in CLOSENESS_TITLES:
        lines += _closeness_table(results, table, known)
    if figure is not None:
        lines += [f"![Fig. 6 LPIPS]({figure.name})", ""]
        lines += [
            "Fig. 6 LPIPS: blue, between generated and real images; yellow, between generated samples.",
            "",
        ]
    lines += ["## Runs", ""]
    for r in results:
        model = r["model"]
        fake = r.get("fake", {})
        lines.append(
            f"- **{model['label']}**: {model.get('run', '-')} (kimg {model.get('kimg', '-')}); "
            f"{fake.get('count', '?')} generated images (seeds {fake.get('seeds', '-')}) vs "
            f"{r.get('real', {}).get('count', '?')} real: {r.get('real', {}).get('source', '-')}"
        )
        for note in r.get("notes", []):
            lines.append(f"  - note: {note}")
    return "\n".join(lines) + "\n"


def build_report(
    runs: list[Path],
    out: Path,
    settings: EvalSettings,
    num: int,
    device: torch.device,
    recompute: bool = False,
    tracker: Tracker | None = None,
) -> dict[str, Any]:
    if not runs:
        raise MaskgenError("give at least one run directory")
    results = [
        evaluate_run(Path(run), num, device, settings, recompute=recompute, tracker=tracker) for run in runs
    ]
    out = Path(out)
    figure = lpips_figure(results, out.with_name(out.stem + "-lpips.png"))
    text = render_markdown(results, figure)
    atomic_write(out, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return {"report": out, "figure": figure, "results": results}
