"""The classification test as an evaluator (the paper's Table 3): the accuracy of a primary-colour
classifier on the real images and on the fakes.

The classifier is a ``maskgen classify train`` folder (:mod:`maskgen.evaluation.features.classifier`)
or, by default, masknet's own seven-colour head. Labels come from the image sets (a labelled folder, the
built-in masks, the classes a class-conditional checkpoint drew) or, for fakes without labels, from the
documented colour rule (:mod:`maskgen.evaluation.imagesets.colour_rule`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from maskgen.errors import MaskgenError
from maskgen.evaluation.context import EvalContext, EvalSettings
from maskgen.evaluation.metrics.base import CommonOptions, Entries, Metric


class ClassifyOptions(CommonOptions):
    classifier: str | None = None  # a `maskgen classify train` folder; default: masknet's colour head


class _MasknetColours(torch.nn.Module):
    """The shipped masknet's own seven-colour head as a classifier."""

    def __init__(self, weights: Path | None, device: torch.device) -> None:
        super().__init__()
        from maskgen.evaluation.features.masknet import load_masknet

        self.model = load_masknet(weights, device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)["colour"]


class Classify(Metric):
    """Seven primary-colour classification accuracy of the reals and the fakes (higher is better)."""

    name, keys, table = "classify", ("acc_real", "acc_fake"), "accuracy"
    higher_is_better = True

    def __init__(self, options: ClassifyOptions) -> None:
        super().__init__(options)
        self.feature_network = "masknet" if not options.classifier else None

    def preflight(self, settings: EvalSettings) -> None:
        from maskgen.evaluation.features.masknet import load_masknet

        if self.options.classifier is None:
            load_masknet(settings.masknet)
        elif not Path(self.options.classifier).is_dir():
            raise MaskgenError(f"classifier folder not found: {self.options.classifier}")

    def summary(self, key: str, entry: dict[str, Any]) -> tuple[str, str]:
        return f"{entry['value']:.1%}", entry["label_source"]

    def measure(self, context: EvalContext) -> Entries:
        from maskgen.data.procedural import CATEGORY_NAMES
        from maskgen.evaluation.features.classifier import evaluate_classifier, load_classifier
        from maskgen.evaluation.imagesets.colour_rule import colour_labels

        device = context.device
        if self.options.classifier is not None:
            model, config = load_classifier(Path(self.options.classifier), device)
            names, who = config.class_names, f"classifier {Path(self.options.classifier).name}"
            tag = config.backbone
        else:
            model = _MasknetColours(context.settings.masknet, device)
            names, who, tag = list(CATEGORY_NAMES), "masknet", "masknet"
        out: Entries = {}
        for key, images, role in (("acc_real", context.real, "real"), ("acc_fake", context.fake, "fake")):
            if images.labels is not None and images.class_names is not None:
                labels, source = images.labels, f"{role} labels ({images.kind})"
                if images.kind == "checkpoint":  # a class-conditional G: seed s was drawn as class s mod 7
                    source = "the classes they were drawn as (class-conditional checkpoint)"
                data_names = images.class_names
            elif role == "fake" and set(names) >= set(CATEGORY_NAMES):
                labels, _ = colour_labels(images.images)
                source, data_names = "colour rule (maskgen dataset label-colors)", list(CATEGORY_NAMES)
            else:
                context.notes.append(
                    f"no labels for the {role} images: their classification accuracy is not measured"
                )
                continue
            report = evaluate_classifier(model, names, images.images, labels, data_names, device)
            context.tracker.task(f"classify ({role})", len(images.images))(len(images.images))
            out[key] = {
                "label": f"Acc[{tag}] {role}",
                "value": report["accuracy"],
                "higher_is_better": True,
                "classifier": who,
                "label_source": source,
                "per_class": report["per_class"],
                "confusion": report["confusion"],
                "class_names": names,
            }
        return out
