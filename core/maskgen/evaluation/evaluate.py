"""``maskgen eval``: the requested evaluators between a real and a fake image set, as one result dict.

Every metric is an evaluator plugin, run by name through the plugin registry: maskgen's own
(:mod:`maskgen.evaluation.plugin`: fid, kid, prdc, ssim, msssim, lpips, classify, c2st, asymmetry,
colour, ppl) and installed ones, alike. The evaluators of one call share an
:class:`~maskgen.evaluation.context.EvalContext`: the features of each network are extracted once per
image set and call, however many evaluators use them (FD, KD and precision/recall on masknet cost one
pass of masknet over each set).

Which networks the learned metrics use is set by one switch, ``features``:

* ``masknet`` (default, offline): FD[masknet], KD[masknet], LPIPS[masknet], Acc[masknet];
* ``inception``: FID[inception] and KID[inception] on clean-fid's Inception, LPIPS[alex] with the lpips
  package (AlexNet), as in the paper. Missing weights are an error, never a silent fallback.

The call's settings reach an evaluator through the fields of its options model of the same name
(:meth:`~maskgen.evaluation.context.EvalSettings.shared_options`: ``features``, ``net``, ``seed``,
``max_pairs``, ``k_pr``, ``k_dc``, ``classifier``); an evaluator written to the plugin interface only
(``Evaluator.compute(real, fake) -> {label: value}``) gets the images as float tensors and its numbers
are entries keyed by their labels.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from maskgen.errors import MaskgenError
from maskgen.evaluation.context import EvalContext, EvalSettings, Tracker
from maskgen.evaluation.imagesets.sets import ImageSet
from maskgen.evaluation.metrics.base import Entries, Metric, measure, plain_summary
from maskgen.plugins import PluginRegistry, get_registry
from maskgen.plugins.interfaces import Evaluator

__all__ = [
    "EvalSettings",
    "Tracker",
    "build_evaluators",
    "evaluate",
    "metrics_by_key",
    "parse_metrics",
    "preflight",
    "run_evaluators",
    "summary_rows",
]

# Networks tried for an evaluator with a ``features`` option when one is run per network (``maskgen
# compare``): the offline one always works, Inception (the paper's FID/KID) where its weights are present.
FEATURE_VARIANTS = ("masknet", "inception")

Built = list[tuple[str, Evaluator, dict[str, Any]]]


def parse_metrics(text: str) -> list[str]:
    """'fid, KID,ms-ssim' -> ['fid', 'kid', 'msssim'] (order kept, duplicates dropped)."""
    names = [m.strip().lower().replace("-", "").replace("_", "") for m in text.split(",") if m.strip()]
    return list(dict.fromkeys(names))


def evaluator_names(settings: EvalSettings, registry: PluginRegistry) -> list[str]:
    """The evaluators of a call: the settings' names (each checked), or every registered one."""
    names = registry.names("evaluator") if settings.metrics is None else list(settings.metrics)
    for name in names:
        registry.get("evaluator", name)  # unknown names: one line listing the valid ones
    return names


def build_evaluators(
    names: list[str], registry: PluginRegistry, settings: EvalSettings | None = None
) -> Built:
    """(name, evaluator, options) of each name, its options taken from ``settings`` where it has them."""
    from maskgen.plugins.factory import parse_options

    shared = settings.shared_options() if settings is not None else {}
    built = []
    for name in names:
        spec = registry.get("evaluator", name)
        values = {key: value for key, value in shared.items() if key in spec.options.model_fields}
        built.append((name, spec.factory(parse_options("evaluator", name, values, registry)), values))
    return built


def preflight(settings: EvalSettings, registry: PluginRegistry | None = None) -> None:
    """Fail before any image is loaded: unknown names, bad settings, missing network weights."""
    registry = registry or get_registry()
    settings.check()
    for _name, evaluator, _options in build_evaluators(
        evaluator_names(settings, registry), registry, settings
    ):
        if isinstance(evaluator, Metric):
            evaluator.preflight(settings)


def evaluate(
    real: ImageSet,
    fake: ImageSet,
    settings: EvalSettings,
    device: torch.device,
    tracker: Tracker | None = None,
    registry: PluginRegistry | None = None,
) -> dict[str, Any]:
    """All requested metrics: ``{"metrics": {key: {"label", "value", ...}}, "notes": [...], ...}``."""
    registry = registry or get_registry()
    settings.check()
    if real.size != fake.size:
        raise MaskgenError(f"real images are {real.size} px but fake images are {fake.size} px")
    built = build_evaluators(evaluator_names(settings, registry), registry, settings)
    started = time.perf_counter()
    context = EvalContext(real, fake, settings, device, tracker or Tracker())
    metrics: Entries = {}
    timings: dict[str, float] = {}
    for name, evaluator, options in built:
        phase_start = time.perf_counter()
        metrics |= measure(name, evaluator, context, options)
        timings[name] = round(time.perf_counter() - phase_start, 2)
    return {
        "metrics": metrics,
        "notes": context.notes,
        "features": settings.features,
        "seed": settings.seed,
        "real": real.describe(),
        "fake": fake.describe(),
        "device": str(device),
        "seconds": round(time.perf_counter() - started, 2),
        "phase_seconds": timings,
    }


def evaluator_variants(name: str, registry: PluginRegistry) -> list[dict[str, Any]]:
    """One options dict per run of an evaluator: one per network of :data:`FEATURE_VARIANTS` for an
    evaluator with a ``features`` option, else one with its defaults."""
    fields = registry.get("evaluator", name).options.model_fields
    return [{"features": net} for net in FEATURE_VARIANTS] if "features" in fields else [{}]


def run_evaluators(
    names: list[str],
    real: ImageSet,
    fake: ImageSet,
    device: torch.device,
    registry: PluginRegistry | None = None,
    tracker: Tracker | None = None,
) -> tuple[Entries, list[str]]:
    """Evaluators by name, each with the default options and once per feature network
    (:func:`evaluator_variants`), on one shared context: ({label: entry}, notes). One that fails
    becomes a note naming it (e.g. Inception weights missing); the others still count."""
    from maskgen.plugins.factory import parse_options

    registry = registry or get_registry()
    context = EvalContext(real, fake, EvalSettings(), device, tracker or Tracker())
    metrics: Entries = {}
    notes: list[str] = []
    for name in names:
        for options in evaluator_variants(name, registry):
            try:
                evaluator = registry.get("evaluator", name).factory(
                    parse_options("evaluator", name, options, registry)
                )
                entries = measure(name, evaluator, context, options)
            except Exception as exc:  # noqa: BLE001 - one evaluator's failure must not hide the others
                where = name + "".join(f" ({k}={v})" for k, v in options.items())
                notes.append(f"{where}: {' '.join(str(exc).split()) or type(exc).__name__}")
                continue
            for entry in entries.values():
                metrics[entry["label"]] = entry | {"evaluator": name, "options": options}
    return metrics, notes + context.notes


def metrics_by_key(registry: PluginRegistry | None = None) -> dict[str, Metric]:
    """The registered :class:`Metric` writing each entry key (``acc_fake`` -> classify's), built with
    default options; an evaluator that cannot be built so, or is not a Metric, is left out."""
    registry = registry or get_registry()
    known: dict[str, Metric] = {}
    for spec in registry.specs("evaluator"):
        try:
            evaluator = spec.factory(spec.options())
        except Exception:  # noqa: BLE001, S112 - required options: its entries are shown plainly
            continue
        if isinstance(evaluator, Metric):
            known |= {key: evaluator for key in evaluator.keys if key not in known}
    return known


def summary_rows(
    result: dict[str, Any], registry: PluginRegistry | None = None
) -> list[tuple[str, str, str]]:
    """(label, formatted value, detail) rows for a table, in the order the evaluators ran."""
    known = metrics_by_key(registry)
    rows = []
    for key, entry in result["metrics"].items():
        metric = known.get(key) if "evaluator" not in entry else None
        text, detail = metric.summary(key, entry) if metric else plain_summary(entry)
        rows.append((entry["label"], text, detail))
    return rows
