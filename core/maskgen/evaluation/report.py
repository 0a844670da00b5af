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
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgen.errors import MaskgenError
from maskgen.evaluation.evaluate import EvalSettings, Tracker, evaluate
from maskgen.evaluation.files import atomic_write, write_json
from maskgen.evaluation.imagesets import ImageSet, checkpoint_dir, load_image_set
from maskgen.plugins.methods import method_label

EVAL_FILE = "eval.json"
TABLE_METRICS = ("fid", "kid", "ssim", "msssim")


def run_label(augment: str) -> str:
    """'none' -> 'StyleGAN2', 'ada' -> 'ADA', 'apa+ada' -> 'APA+ADA': the labels the plugins declare."""
    return method_label(augment, "augmenter")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MaskgenError(f"unreadable {path}: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise MaskgenError(f"unreadable {path}: expected a JSON object")
    return data


def _reals(train: dict[str, Any], num: int, seed: int) -> ImageSet:
    """The run's training images (at most ``num``), with labels where the data has them."""
    resolution = int(train["resolution"])
    if resolution < 16:
        raise MaskgenError(f"runs at {resolution} px are too small to evaluate (16 px at least)")
    data = str(train.get("data", "builtin"))
    if data.strip().lower() == "builtin":
        count = min(num, int(train.get("dataset_count", 2000)))
        return load_image_set(f"builtin:{int(train.get('dataset_seed', 0))}", resolution, count, "real")
    folder = Path(data).expanduser()
    if not folder.is_dir():
        raise MaskgenError(f"the training images of the run are gone: {folder} not found")
    return load_image_set(folder, resolution, num, "real", seed)


def _cache_key(ckpt: Path, settings: EvalSettings, num: int) -> dict[str, Any]:
    return {
        "checkpoint": str(ckpt.resolve()),
        "num": num,
        "features": settings.features,
        "lpips": settings.lpips_network,
        "classifier": str(settings.classifier) if settings.classifier else None,
        "masknet": str(settings.masknet) if settings.masknet else None,
        "seed": settings.seed,
    }


def evaluate_run(
    run_dir: Path,
    settings: EvalSettings,
    num: int,
    device: torch.device,
    recompute: bool = False,
    tracker: Tracker | None = None,
) -> dict[str, Any]:
    """The metrics of one run directory (computed, or read from its eval.json)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MaskgenError(f"run directory not found: {run_dir}")
    cache = run_dir / EVAL_FILE
    ckpt = checkpoint_dir(run_dir)
    if ckpt is None:
        if cache.is_file():  # e.g. a translation model evaluated with `maskgen eval --json`
            result = _read_json(cache)
            result.setdefault("model", {}).setdefault("label", run_dir.name)
            result["model"].setdefault("kind", "translation")
            return result
        raise MaskgenError(f"{run_dir} has no checkpoint (checkpoints/latest) and no {EVAL_FILE}")
    key = _cache_key(ckpt, settings, num)
    if cache.is_file() and not recompute:
        cached = _read_json(cache)
        if cached.get("report_key") == key:
            return cached
    config_path = run_dir / "config.json"
    train = _read_json(config_path) if config_path.is_file() else {}
    if "resolution" not in train:  # a checkpoint folder given directly: its config has the run config
        from maskgen.artifacts.checkpoint import load_checkpoint

        train = load_checkpoint(ckpt).config.get("train", {})
    tracker = tracker or Tracker()
    label = run_label(str(train.get("augment", "none")))
    real = _reals(train, num, settings.seed)
    fake = load_image_set(
        ckpt, real.size, num, "fake", settings.seed, device, progress=tracker.task(f"{label}: generate", num)
    )
    result = evaluate(real, fake, settings, device, tracker)
    ckpt_config = _read_json(ckpt / "config.json") if (ckpt / "config.json").is_file() else {}
    result["model"] = {
        "label": label,
        "kind": "generation",
        "run": str(run_dir.resolve()),
        "augment": train.get("augment"),
        "kimg": ckpt_config.get("kimg"),
        "resolution": train.get("resolution"),
    }
    result["report_key"] = key
    write_json(cache, result)
    return result


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
    results = [evaluate_run(Path(run), settings, num, device, recompute, tracker) for run in runs]
    out = Path(out)
    figure = lpips_figure(results, out.with_name(out.stem + "-lpips.png"))
    text = render_markdown(results, figure)
    atomic_write(out, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return {"report": out, "figure": figure, "results": results}
