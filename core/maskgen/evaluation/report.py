"""``maskgen report``: the paper's Tables 1-3 and Fig. 6 for a set of runs.

Each run directory is evaluated once: its latest checkpoint draws ``num`` images (seeds 0..num-1), which
are compared with the run's own training images (``config.json``: ``data`` "builtin" means the first
``dataset_count`` procedural masks of ``dataset_seed`` at ``resolution``; otherwise the image folder).
The result is kept in ``RUN_DIR/eval.json`` and reused while the checkpoint and settings are the same.
A directory without a GAN checkpoint but with an ``eval.json`` written by ``maskgen eval --json
RUN_DIR/eval.json --label NAME --kind translation`` is read as it is (Table 2: translation models).

* Table 1 (generation) and Table 2 (translation): FID/FD, KID/KD x10^3, SSIM, MS-SSIM per model.
* Table 3: classification accuracy on the real images and on each model's fakes.
* Fig. 6: LPIPS bars per model, generated vs real (blue) and between generated samples (yellow).
* Metrics without network weights: C2ST acc[cnn] (0.5 best), asymmetry ratio (1 best), colour TV[7]
  (0 best); see docs/evaluation.md.
* Precision, recall, density and coverage on the feature network (1 best; density 1: as the reals).

The evaluation itself is :func:`maskgen.evaluation.runs.evaluate_run`, shared with ``maskgen compare``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgen.errors import MaskgenError
from maskgen.evaluation.evaluate import EvalSettings, Tracker
from maskgen.evaluation.files import atomic_write
from maskgen.evaluation.runs import evaluate_run

TABLE_METRICS = ("fid", "kid", "ssim", "msssim")
# Metrics that need no network weights: (key, what the best value is).
WEIGHTLESS_METRICS = (("c2st", 0.5), ("asymmetry", 1.0), ("colour", 0.0))
# k-NN manifold metrics on the feature network: 1 is the best value of each (density: "as the reals").
PRDC_METRICS = ("precision", "recall", "density", "coverage")


# --------------------------------------------------------------------------------------------------
# Markdown and figure
# --------------------------------------------------------------------------------------------------


def _fmt(key: str, value: float | None) -> str:
    if value is None:
        return "-"
    if key.startswith("acc"):
        return f"{value:.1%}"
    return f"{value:.2f}" if key in ("fid", "kid") else f"{value:.4f}"


def _metric_table(results: list[dict[str, Any]], title: str) -> list[str]:
    first = next((r["metrics"][k] for r in results for k in TABLE_METRICS if k in r["metrics"]), None)
    if first is None:
        return []
    headers = {}
    for key in TABLE_METRICS:
        labels = sorted({r["metrics"][key]["label"] for r in results if key in r["metrics"]})
        if labels:
            headers[key] = labels[0] if len(labels) == 1 else labels[0].split(" ")[0] + " (see notes)"
    best = {}
    for key in headers:
        values = [r["metrics"][key]["value"] for r in results if key in r["metrics"]]
        higher = results[0]["metrics"].get(key, {}).get("higher_is_better", False)
        best[key] = max(values) if higher else min(values)
    lines = [title, "", "| Model | " + " | ".join(headers.values()) + " |"]
    lines.append("|---" * (len(headers) + 1) + "|")
    for r in results:
        cells = []
        for key in headers:
            entry = r["metrics"].get(key)
            text = _fmt(key, entry["value"] if entry else None)
            cells.append(
                f"**{text}**" if entry and len(results) > 1 and entry["value"] == best[key] else text
            )
        lines.append(f"| {r['model']['label']} | " + " | ".join(cells) + " |")
    return lines + ["", "The best scores are in bold.", ""]


def _accuracy_table(results: list[dict[str, Any]]) -> list[str]:
    have = [r for r in results if "acc_fake" in r["metrics"] or "acc_real" in r["metrics"]]
    if not have:
        return []
    reals = {}
    for r in have:
        entry = r["metrics"].get("acc_real")
        if entry is not None:
            reals.setdefault(r["real"]["source"], entry["value"])
    columns = [("Real datasets" if len(reals) == 1 else f"Real ({src})", v) for src, v in reals.items()]
    columns += [(f"{r['model']['label']} Fakes", r["metrics"].get("acc_fake", {}).get("value")) for r in have]
    first = have[0]["metrics"].get("acc_fake") or have[0]["metrics"]["acc_real"]
    classifier, label = first.get("classifier"), first.get("label", "Acc")
    lines = [f"**Table 3** Classification accuracy ({label.split(' ')[0]})", ""]
    lines.append("| Model | " + " | ".join(name for name, _ in columns) + " |")
    lines.append("|---" * (len(columns) + 1) + "|")
    lines.append("| Acc | " + " | ".join(_fmt("acc", v) for _, v in columns) + " |")
    sources = sorted({r["metrics"]["acc_fake"]["label_source"] for r in have if "acc_fake" in r["metrics"]})
    lines += ["", f"Labels of the generated images: {', '.join(sources) or '-'}."]
    if classifier:
        lines.append(f"Classifier: {classifier}.")
    return lines + [""]


def _weightless_table(results: list[dict[str, Any]]) -> list[str]:
    """C2ST, asymmetry ratio and colour distance per model; bold: closest to the best value."""
    keys = [(k, best) for k, best in WEIGHTLESS_METRICS if any(k in r["metrics"] for r in results)]
    if not keys:
        return []
    headers = {k: next(r["metrics"][k]["label"] for r in results if k in r["metrics"]) for k, _ in keys}
    closest = {
        k: min(abs(r["metrics"][k]["value"] - best) for r in results if k in r["metrics"]) for k, best in keys
    }
    lines = ["**Metrics without network weights**", "", "| Model | " + " | ".join(headers.values()) + " |"]
    lines.append("|---" * (len(keys) + 1) + "|")
    for r in results:
        cells = []
        for key, best in keys:
            entry = r["metrics"].get(key)
            if entry is None:
                cells.append("-")
                continue
            text = f"{entry['value']:.3f}" + (f" ± {entry['stderr']:.3f}" if "stderr" in entry else "")
            bold = len(results) > 1 and abs(entry["value"] - best) == closest[key]
            cells.append(f"**{text}**" if bold else text)
        lines.append(f"| {r['model']['label']} | " + " | ".join(cells) + " |")
    return lines + [
        "",
        "C2ST acc[cnn]: held-out accuracy ± standard error of a small CNN trained to tell the model's images "
        "from the real ones (0.5: indistinguishable, 1: perfectly separable). Asymmetry ratio: mean "
        "|x - flip(x)| of the fakes over that of the reals (1: as symmetric as the reals). Colour TV[7]: "
        "total variation between the seven primary-colour histograms of the face pixels (0: the same "
        "colours). Closest to the best value in bold.",
        "",
    ]


def _prdc_table(results: list[dict[str, Any]]) -> list[str]:
    """Precision, recall, density, coverage per model; bold: closest to 1."""
    keys = [k for k in PRDC_METRICS if any(k in r["metrics"] for r in results)]
    if not keys:
        return []
    headers = {k: next(r["metrics"][k]["label"] for r in results if k in r["metrics"]) for k in keys}
    closest = {
        k: min(abs(r["metrics"][k]["value"] - 1.0) for r in results if k in r["metrics"]) for k in keys
    }
    lines = [
        "**Precision, recall, density, coverage**",
        "",
        "| Model | " + " | ".join(headers.values()) + " |",
    ]
    lines.append("|---" * (len(keys) + 1) + "|")
    for r in results:
        cells = []
        for key in keys:
            entry = r["metrics"].get(key)
            if entry is None:
                cells.append("-")
                continue
            text = f"{entry['value']:.3f}"
            bold = len(results) > 1 and abs(entry["value"] - 1.0) == closest[key]
            cells.append(f"**{text}**" if bold else text)
        lines.append(f"| {r['model']['label']} | " + " | ".join(cells) + " |")
    k_pr = next((r["metrics"]["precision"]["k"] for r in results if "precision" in r["metrics"]), 3)
    k_dc = next((r["metrics"]["density"]["k"] for r in results if "density" in r["metrics"]), 5)
    return lines + [
        "",
        f"k-nearest-neighbour balls in feature space. Precision: share of fakes inside some real's ball "
        f"(fidelity); recall: share of reals inside some fake's ball (diversity); k={k_pr} "
        f"(Kynkäänniemi et al. 2019). Density: real balls holding a fake, per fake and k (1: as the "
        f"reals; above 1: fakes crowd where the reals are dense); coverage: share of real balls holding "
        f"at least one fake; k={k_dc} (Naeem et al. 2020). Closest to 1 in bold.",
        "",
    ]


def lpips_figure(results: list[dict[str, Any]], path: Path) -> Path | None:
    """Fig. 6: LPIPS per model, generated vs real (blue) and between generated samples (yellow)."""
    have = [r for r in results if "lpips_real" in r["metrics"]]
    if not have:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["model"]["label"] for r in have]
    real = [r["metrics"]["lpips_real"]["value"] for r in have]
    div = [r["metrics"]["lpips_diversity"]["value"] for r in have]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(names) + 2), 3.8))
    ax.bar(x - 0.2, real, 0.4, color="#3b6fb6", label="generated vs real")
    ax.bar(x + 0.2, div, 0.4, color="#f2c14e", label="between generated samples")
    for xs, values in ((x - 0.2, real), (x + 0.2, div)):
        for xi, v in zip(xs, values, strict=True):
            ax.text(xi, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, names)
    ax.set_ylabel(have[0]["metrics"]["lpips_real"]["label"].split(" ")[0])
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
    lines += _metric_table(generation, "**Table 1** Quality of images generated by image generation models")
    lines += _metric_table(translation, "**Table 2** Quality of images generated by image translation models")
    lines += _accuracy_table(results)
    lines += _weightless_table(results)
    lines += _prdc_table(results)
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
