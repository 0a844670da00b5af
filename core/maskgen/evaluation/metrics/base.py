"""The base of maskgen's own evaluators, and how any evaluator is run on a call's context.

A built-in evaluator (:class:`Metric`) measures on an :class:`~maskgen.evaluation.context.EvalContext`:
``measure(context)`` returns ``{key: {"label", "value", ...}}`` entries, taking features and networks
from the context's cache. It is still an :class:`~maskgen.plugins.interfaces.Evaluator`: its
``compute(real, fake)`` on two tensors builds a context of its own. An evaluator that only has
``compute`` (the documented plugin interface) is run by :func:`measure` on the context's tensors, its
``{label: value}`` becoming entries keyed by label.

What a report shows of an entry is the evaluator's too: :attr:`Metric.keys` (the entry keys it writes),
:attr:`Metric.table` (the report table it belongs to), :meth:`Metric.summary` (a row of ``maskgen
eval``'s table) and :attr:`Metric.note` (what the report says about it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import torch

from maskgen.evaluation.context import EvalContext, EvalSettings
from maskgen.evaluation.imagesets.sets import ImageSet, to_uint8_nhwc
from maskgen.plugins.interfaces import Evaluator, Options

Entries = dict[str, dict[str, Any]]


class CommonOptions(Options):
    device: str = "auto"  # where ``compute(real, fake)`` runs; a call's evaluators run on its device
    seed: int = 0


class FeatureOptions(CommonOptions):
    features: Literal["masknet", "inception"] = "masknet"
    weights: str | None = None  # the Inception file, or masknet weights other than the shipped ones


class PairOptions(CommonOptions):
    max_pairs: int | None = None


def preflight_network(network: str, weights: str | Path | None, settings: EvalSettings) -> None:
    """Fail now when the weights of a network (inception, alex or masknet) are missing or unreadable."""
    from maskgen.evaluation.features.masknet import load_masknet
    from maskgen.evaluation.features.weights import ALEXNET, INCEPTION, locate

    path = weights if weights is not None else settings.weights_of(network)
    if network == "masknet":
        load_masknet(path)
    else:
        locate(INCEPTION if network == "inception" else ALEXNET, path, settings.download)


def plain_summary(entry: dict[str, Any]) -> tuple[str, str]:
    """(value to 4 decimals, pairs where counted): an entry's row when its evaluator says no more."""
    return f"{entry['value']:.4f}", f"{entry['pairs']} pairs" if "pairs" in entry else ""


class Metric(Evaluator):
    """One of maskgen's evaluators; subclasses set the class attributes and implement :meth:`measure`."""

    #: Keys of the entries :meth:`measure` writes (those of ``maskgen eval --json``).
    keys: ClassVar[tuple[str, ...]] = ()
    #: The report table of the entries: "quality" (Tables 1 and 2), "accuracy" (Table 3), "weightless"
    #: or "manifold" (values with a best value in the entry, e.g. C2ST's 0.5), "figure" (Fig. 6), or
    #: None (in eval.json only).
    #: An evaluator that is not a Metric (only ``compute``) is shown in the quality tables.
    table: ClassVar[str | None] = None
    #: What the report's text says about the metric, after its table.
    note: ClassVar[str] = ""
    #: (position, header) of its column in Table 1 of Yan et al. 2023, for the paper's four metrics.
    paper_column: ClassVar[tuple[int, str] | None] = None
    #: Factor its column shows values by when their label does not say they are scaled (KID: 10^3).
    shown_scale: ClassVar[float] = 1.0

    def __init__(self, options: Options) -> None:
        self.options = options

    def preflight(self, settings: EvalSettings) -> None:
        """Fail before any image is loaded when something this evaluator needs is missing."""

    def measure(self, context: EvalContext) -> Entries:
        raise NotImplementedError

    def summary(self, key: str, entry: dict[str, Any]) -> tuple[str, str]:
        """(formatted value, detail) of one entry in ``maskgen eval``'s table."""
        return plain_summary(entry)

    def report_note(self, entries: list[dict[str, Any]]) -> str:
        """The report's sentence about the metric, given its entries in the report's results."""
        return self.note

    def compute(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        from maskgen.devices import pick_device

        sets = [ImageSet(to_uint8_nhwc(x), "tensor", "tensor") for x in (real, fake)]
        settings = EvalSettings(seed=getattr(self.options, "seed", 0))
        device = pick_device(getattr(self.options, "device", "auto"))
        entries = self.measure(EvalContext(sets[0], sets[1], settings, device))
        return {entry["label"]: float(entry["value"]) for entry in entries.values()}


def measure(name: str, evaluator: Evaluator, context: EvalContext, options: dict[str, Any]) -> Entries:
    """The entries of any evaluator on a context: a :class:`Metric` measures on it; an evaluator with
    only ``compute(real, fake)`` gets the context's float tensors and its ``{label: value}`` becomes
    entries keyed by label, named with the evaluator's network unless the label names one."""
    if isinstance(evaluator, Metric):
        return evaluator.measure(context)
    values = evaluator.compute(context.float_images("real"), context.float_images("fake"))
    network = getattr(evaluator, "feature_network", None)
    entries: Entries = {}
    for label, value in values.items():
        if network and network != "inception" and "[" not in label:
            label = f"{label}[{network}]"
        entry: dict[str, Any] = {"label": label, "value": float(value), "evaluator": name, "options": options}
        if network:
            entry["feature_network"] = network
        higher = getattr(evaluator, "higher_is_better", None)
        if isinstance(higher, bool):
            entry["higher_is_better"] = higher
        entries[label] = entry
    return entries
