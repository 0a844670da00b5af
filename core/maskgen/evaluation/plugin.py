"""maskgen's evaluators as plugins (registered directly by the registry, like every built-in part).

Each evaluator is ``factory(options) -> Evaluator`` whose ``compute(real, fake)`` takes float images in
[0, 1], [N, 3, H, W], and returns ``{label: value}``, the label naming the network, e.g. ``FD[masknet]``.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from pydantic import Field

from maskgen.devices import pick_device
from maskgen.evaluation.evaluate import EvalSettings, evaluate
from maskgen.evaluation.imagesets import ImageSet, to_uint8_nhwc
from maskgen.plugins.hookspecs import hookimpl
from maskgen.plugins.interfaces import Evaluator, Options, PluginSpec


class CommonOptions(Options):
    device: str = "auto"
    seed: int = 0


class FeatureOptions(CommonOptions):
    features: Literal["masknet", "inception"] = "masknet"
    weights: str | None = None  # the Inception file, or masknet weights other than the shipped ones


class PRDCOptions(FeatureOptions):
    k_pr: int = Field(3, ge=1)  # precision/recall: k-th neighbour radii (Kynkäänniemi et al. 2019)
    k_dc: int = Field(5, ge=1)  # density/coverage (Naeem et al. 2020)


class PairOptions(CommonOptions):
    max_pairs: int | None = None


class LpipsOptions(PairOptions):
    net: Literal["masknet", "alex"] = "masknet"
    weights: str | None = None


class ClassifyOptions(CommonOptions):
    classifier: str | None = None  # a `maskgen classify train` folder; default: masknet's colour head


class MetricEvaluator(Evaluator):
    """One metric of :func:`maskgen.evaluation.evaluate.evaluate` behind the Evaluator interface."""

    def __init__(
        self, name: str, higher_is_better: bool, settings: EvalSettings, device: str, network: str | None
    ):
        self.name = name
        self.higher_is_better = higher_is_better
        self.feature_network = network
        self.settings = settings
        self.device = device

    def compute(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        sets = [ImageSet(to_uint8_nhwc(x), "tensor", "tensor") for x in (real, fake)]
        result = evaluate(sets[0], sets[1], self.settings, pick_device(self.device))
        return {entry["label"]: float(entry["value"]) for entry in result["metrics"].values()}


def _features(name: str, higher: bool) -> Any:
    def factory(options: FeatureOptions) -> Evaluator:
        weights = options.weights
        settings = EvalSettings(
            metrics=[name],
            features=options.features,
            weights=weights if options.features == "inception" else None,
            masknet=weights if options.features == "masknet" else None,
            seed=options.seed,
        )
        return MetricEvaluator(name, higher, settings, options.device, options.features)

    return factory


def _prdc(options: PRDCOptions) -> Evaluator:
    """Four numbers on one feature set: precision, recall, coverage (1 best) and density (1: as the
    reals), each labelled with its network, e.g. ``precision[masknet]``."""
    weights = options.weights
    settings = EvalSettings(
        metrics=["prdc"],
        features=options.features,
        weights=weights if options.features == "inception" else None,
        masknet=weights if options.features == "masknet" else None,
        seed=options.seed,
        k_pr=options.k_pr,
        k_dc=options.k_dc,
    )
    return MetricEvaluator("prdc", True, settings, options.device, options.features)


def _pairs(name: str) -> Any:
    def factory(options: PairOptions) -> Evaluator:
        settings = EvalSettings(metrics=[name], seed=options.seed, max_pairs=options.max_pairs)
        return MetricEvaluator(name, True, settings, options.device, None)

    return factory


def _lpips(options: LpipsOptions) -> Evaluator:
    settings = EvalSettings(
        metrics=["lpips"],
        lpips_net=options.net,
        lpips_weights=options.weights if options.net == "alex" else None,
        masknet=options.weights if options.net == "masknet" else None,
        seed=options.seed,
        max_pairs=options.max_pairs,
    )
    # Two numbers: fake-real (lower: closer to the reals) and fake-fake (higher: more diverse).
    return MetricEvaluator("lpips", True, settings, options.device, options.net)


def _weightless(name: str) -> Any:
    """C2ST, asymmetry ratio, colour distance: no network weights, lower is better (C2ST: 0.5 best)."""

    def factory(options: CommonOptions) -> Evaluator:
        settings = EvalSettings(metrics=[name], seed=options.seed)
        return MetricEvaluator(name, False, settings, options.device, None)

    return factory


def _classify(options: ClassifyOptions) -> Evaluator:
    settings = EvalSettings(metrics=["classify"], classifier=options.classifier, seed=options.seed)
    return MetricEvaluator(
        "classify", True, settings, options.device, "masknet" if not options.classifier else None
    )


@hookimpl
def maskgen_evaluators() -> list[PluginSpec]:
    return [
        PluginSpec(
            "evaluator",
            "fid",
            "Fréchet distance (FID[inception] / FD[masknet])",
            _features("fid", False),
            FeatureOptions,
        ),
        PluginSpec(
            "evaluator",
            "kid",
            "Kernel distance x10^3 (KID[inception] / KD[masknet])",
            _features("kid", False),
            FeatureOptions,
        ),
        PluginSpec(
            "evaluator",
            "prdc",
            "Precision/recall (k=3, Kynkäänniemi et al. 2019), density/coverage (k=5, Naeem et al. 2020)",
            _prdc,
            PRDCOptions,
        ),
        PluginSpec(
            "evaluator",
            "ssim",
            "SSIM over random real/fake pairs (pytorch_msssim)",
            _pairs("ssim"),
            PairOptions,
        ),
        PluginSpec(
            "evaluator",
            "msssim",
            "MS-SSIM over random real/fake pairs (reduced below 161 px)",
            _pairs("msssim"),
            PairOptions,
        ),
        PluginSpec(
            "evaluator",
            "lpips",
            "LPIPS fake-real and fake-fake (alex: lpips package; masknet: offline)",
            _lpips,
            LpipsOptions,
        ),
        PluginSpec(
            "evaluator",
            "classify",
            "Seven primary-colour classification accuracy (real, fake)",
            _classify,
            ClassifyOptions,
        ),
        PluginSpec(
            "evaluator",
            "c2st",
            "Classifier two-sample test: held-out accuracy of a small CNN, real vs fake (0.5 best)",
            _weightless("c2st"),
            CommonOptions,
        ),
        PluginSpec(
            "evaluator",
            "asymmetry",
            "Left-right asymmetry of the fakes relative to the reals (1 best)",
            _weightless("asymmetry"),
            CommonOptions,
        ),
        PluginSpec(
            "evaluator",
            "colour",
            "Total variation between the seven-colour histograms of real and fake (0 best)",
            _weightless("colour"),
            CommonOptions,
        ),
    ]
