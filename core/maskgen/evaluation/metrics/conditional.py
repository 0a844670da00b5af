"""Does a class-conditional generator draw the colour character it is asked for?

:func:`colour_rule_accuracy` draws ``per_class`` masks of every class of a ``maskgen run --cond``
checkpoint (``maskgen generate --class C``: seeds ``seed .. seed+per_class-1``, noise const) and labels
each with the documented colour rule of ``maskgen dataset label-colors``
(:mod:`maskgen.evaluation.imagesets.colour_rule`); the accuracy of class C is the share of its masks that the
rule calls C. The rule needs no network weights and agrees with the true class on 99% of the
procedural masks, so low numbers are the generator's, not the rule's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgen.errors import MaskgenError
from maskgen.evaluation.imagesets.colour_rule import colour_labels
from maskgen.images import to_uint8


def colour_rule_accuracy(
    checkpoint: str | Path, per_class: int = 100, seed: int = 0, device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """{"overall", "per_class": {name: accuracy}, "confusion": [[count]] (rows: class asked for,
    columns: colour-rule class), "class_names", "per_class_images", "seeds"}."""
    from maskgen.artifacts.base_models import class_names
    from maskgen.artifacts.generator import generate_images, load_generator
    from maskgen.data.procedural import CATEGORY_NAMES

    G, loaded = load_generator(checkpoint, torch.device(device))
    names = class_names(loaded.config)
    if not names:
        raise MaskgenError(f"{loaded.path} is unconditional (trained without --cond)")
    rule_index = {name: i for i, name in enumerate(CATEGORY_NAMES)}
    if not set(names) <= set(rule_index):
        raise MaskgenError(f"the colour rule knows {', '.join(CATEGORY_NAMES)}; this checkpoint has {names}")
    seeds = list(range(seed, seed + per_class))
    confusion = np.zeros((len(names), len(CATEGORY_NAMES)), dtype=np.int64)
    for index in range(len(names)):
        images = generate_images(G, seeds, class_index=index)
        labels, _ = colour_labels(to_uint8(images))  # the pixels generate's PNGs hold
        confusion[index] = np.bincount(labels, minlength=len(CATEGORY_NAMES))
    correct = [int(confusion[i, rule_index[name]]) for i, name in enumerate(names)]
    return {
        "overall": sum(correct) / (per_class * len(names)),
        "per_class": {name: hits / per_class for name, hits in zip(names, correct, strict=True)},
        "confusion": confusion.tolist(),
        "class_names": names,
        "rule_classes": list(CATEGORY_NAMES),
        "per_class_images": per_class,
        "seeds": f"{seeds[0]}-{seeds[-1]}",
    }
