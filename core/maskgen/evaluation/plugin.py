"""maskgen's evaluators as plugins (registered directly by the registry, like every built-in part).

This is the one list of maskgen's metrics: each evaluator is ``factory(options) -> Evaluator``, a
:class:`~maskgen.evaluation.metrics.base.Metric` that measures on a call's shared context (features of
each network extracted once per call) and, like any evaluator, computes ``{label: value}`` from two
float image tensors in [0, 1], [N, 3, H, W], the label naming the network, e.g. ``FD[masknet]``.
"""

from __future__ import annotations

from maskgen.evaluation.metrics.base import CommonOptions, FeatureOptions, PairOptions
from maskgen.evaluation.metrics.classify import Classify, ClassifyOptions
from maskgen.evaluation.metrics.distances import FrechetDistance, KernelDistance
from maskgen.evaluation.metrics.lpips import LPIPS, LpipsOptions
from maskgen.evaluation.metrics.manifold import PRDC, PRDCOptions
from maskgen.evaluation.metrics.path_length import PathLengthOptions, PerceptualPathLength
from maskgen.evaluation.metrics.pixelstats import AsymmetryRatio, ColourDistance
from maskgen.evaluation.metrics.similarity import MSSSIM, SSIM
from maskgen.evaluation.metrics.twosample import C2ST
from maskgen.plugins.hookspecs import hookimpl
from maskgen.plugins.interfaces import PluginSpec


@hookimpl
def maskgen_evaluators() -> list[PluginSpec]:
    return [
        PluginSpec(
            "evaluator",
            "fid",
            "Fréchet distance (FID[inception] / FD[masknet])",
            FrechetDistance,
            FeatureOptions,
        ),
        PluginSpec(
            "evaluator",
            "kid",
            "Kernel distance x10^3 (KID[inception] / KD[masknet])",
            KernelDistance,
            FeatureOptions,
        ),
        PluginSpec(
            "evaluator",
            "prdc",
            "Precision/recall (k=3, Kynkäänniemi et al. 2019), density/coverage (k=5, Naeem et al. 2020)",
            PRDC,
            PRDCOptions,
        ),
        PluginSpec(
            "evaluator", "ssim", "SSIM over random real/fake pairs (pytorch_msssim)", SSIM, PairOptions
        ),
        PluginSpec(
            "evaluator",
            "msssim",
            "MS-SSIM over random real/fake pairs (reduced below 161 px)",
            MSSSIM,
            PairOptions,
        ),
        PluginSpec(
            "evaluator",
            "lpips",
            "LPIPS fake-real and fake-fake (alex: lpips package; masknet: offline)",
            LPIPS,
            LpipsOptions,
        ),
        PluginSpec(
            "evaluator",
            "classify",
            "Seven primary-colour classification accuracy (real, fake)",
            Classify,
            ClassifyOptions,
        ),
        PluginSpec(
            "evaluator",
            "c2st",
            "Classifier two-sample test: held-out accuracy of a small CNN, real vs fake (0.5 best)",
            C2ST,
            CommonOptions,
        ),
        PluginSpec(
            "evaluator",
            "asymmetry",
            "Left-right asymmetry of the fakes relative to the reals (1 best)",
            AsymmetryRatio,
            CommonOptions,
        ),
        PluginSpec(
            "evaluator",
            "colour",
            "Total variation between the seven-colour histograms of real and fake (0 best)",
            ColourDistance,
            CommonOptions,
        ),
        PluginSpec(
            "evaluator",
            "ppl",
            "Perceptual path length of the generator the fakes are drawn from (on the LPIPS network)",
            PerceptualPathLength,
            PathLengthOptions,
        ),
    ]
