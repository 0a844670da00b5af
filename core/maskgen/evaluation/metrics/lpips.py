"""The LPIPS evaluator: how far the fakes are from the reals, and from each other, perceptually.

Two numbers on one LPIPS network (:mod:`maskgen.evaluation.features.perceptual`: ``alex``, the lpips
package's AlexNet as in the paper, or ``masknet``, offline): LPIPS between random real/fake pairs
(lower: closer to the reals) and between random pairs of fakes (higher: more diverse; Fig. 6).
"""

from __future__ import annotations

from typing import Any, Literal

from maskgen.evaluation.context import EvalContext, EvalSettings
from maskgen.evaluation.imagesets.pairing import cross_pairs, within_pairs
from maskgen.evaluation.metrics.base import Entries, Metric, PairOptions, preflight_network
from maskgen.evaluation.metrics.similarity import paired_mean


class LpipsOptions(PairOptions):
    net: Literal["masknet", "alex"] = "masknet"
    weights: str | None = None  # the AlexNet file, or masknet weights other than the shipped ones


class LPIPS(Metric):
    """LPIPS fake-real (lower is better) and fake-fake (higher: more diverse)."""

    name, keys, table = "lpips", ("lpips_real", "lpips_diversity"), "figure"
    higher_is_better = True

    def __init__(self, options: LpipsOptions) -> None:
        super().__init__(options)
        self.feature_network = options.net

    def preflight(self, settings: EvalSettings) -> None:
        preflight_network(self.options.net, self.options.weights, settings)

    def measure(self, context: EvalContext) -> Entries:
        name, seed, max_pairs = self.options.net, self.options.seed, self.options.max_pairs
        net = context.lpips(name, self.options.weights)
        real, fake = context.real.images, context.fake.images
        ia, ib = cross_pairs(len(real), len(fake), seed, max_pairs)
        progress = context.tracker.task("LPIPS fake-real", len(ia))
        to_real = paired_mean(net, real, fake, ia, ib, context.device, net.batch_size, progress)
        fa, fb = within_pairs(len(fake), seed, max_pairs)
        progress = context.tracker.task("LPIPS fake-fake", len(fa))
        diversity = paired_mean(net, fake, fake, fa, fb, context.device, net.batch_size, progress)
        common: dict[str, Any] = {"feature_network": name, "pairing_seed": seed}
        return {
            "lpips_real": {
                "label": f"LPIPS[{name}] fake-real",
                "value": to_real,
                "pairs": len(ia),
                "higher_is_better": False,
            }
            | common,
            "lpips_diversity": {
                "label": f"LPIPS[{name}] fake-fake",
                "value": diversity,
                "pairs": len(fa),
                "higher_is_better": True,
            }
            | common,
        }
