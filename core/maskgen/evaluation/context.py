"""What one evaluation call shares between its evaluators.

:class:`EvalSettings` holds the call's settings (the evaluator names, the feature network, where the
network weights are, the seed); :class:`EvalContext` holds the two image sets of one call and a cache of
what several evaluators need: feature activations keyed by (network, weights, image set), so that FD,
KD and precision/recall on masknet extract masknet features of each set once per call, as StyleGAN2-ADA's
``metric_utils`` caches a detector's statistics; and the networks themselves (a feature network, an
LPIPS network), loaded once per call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgen.errors import MaskgenError
from maskgen.evaluation.imagesets.sets import ImageSet, as_float


class Tracker:
    """Progress reporting: ``task(description, total)`` returns a callback taking the units just done."""

    def task(self, description: str, total: int) -> Callable[[int], None]:
        return lambda _n: None


@dataclass
class EvalSettings:
    """The settings of one evaluation call (``maskgen eval``'s flags, ``maskgen report``'s)."""

    metrics: list[str] | None = None  # evaluator names; None: every registered evaluator
    features: str = "masknet"
    lpips_net: str | None = None
    weights: Path | None = None  # Inception file
    lpips_weights: Path | None = None  # AlexNet file
    masknet: Path | None = None  # masknet weights other than the shipped ones
    classifier: Path | None = None  # a `maskgen classify train` folder
    seed: int = 0
    max_pairs: int | None = None
    download: bool = False
    k_pr: int = 3  # neighbours of precision/recall's balls (Kynkäänniemi et al. 2019)
    k_dc: int = 5  # neighbours of density/coverage's balls (Naeem et al. 2020)

    def check(self) -> None:
        from maskgen.evaluation.features.networks import FEATURE_NETWORKS

        if self.metrics is not None and not self.metrics:
            raise MaskgenError("no metric given; name at least one evaluator (maskgen list-plugins)")
        if self.features not in FEATURE_NETWORKS:
            valid = ", ".join(FEATURE_NETWORKS)
            raise MaskgenError(f"unknown feature network {self.features!r}; valid: {valid}")
        if self.lpips_net not in (None, "alex", "masknet"):
            raise MaskgenError(f"unknown LPIPS network {self.lpips_net!r}; valid: alex, masknet")
        if self.k_pr < 1 or self.k_dc < 1:
            raise MaskgenError(
                f"k of precision/recall and density/coverage must be >= 1 ({self.k_pr}, {self.k_dc})"
            )

    @property
    def lpips_network(self) -> str:
        return self.lpips_net or ("alex" if self.features == "inception" else "masknet")

    def shared_options(self) -> dict[str, Any]:
        """The call's settings an evaluator takes when its options model has a field of that name."""
        return {
            "features": self.features,
            "net": self.lpips_network,
            "seed": self.seed,
            "max_pairs": self.max_pairs,
            "k_pr": self.k_pr,
            "k_dc": self.k_dc,
            "classifier": str(self.classifier) if self.classifier is not None else None,
        }

    def weights_of(self, network: str) -> Path | None:
        """The weight file given for a network: ``inception``, ``alex`` or ``masknet`` (None: default)."""
        return {"inception": self.weights, "alex": self.lpips_weights, "masknet": self.masknet}.get(network)


@dataclass
class EvalContext:
    """The real and fake images of one call, its settings and what its evaluators share."""

    real: ImageSet
    fake: ImageSet
    settings: EvalSettings
    device: torch.device
    tracker: Tracker = field(default_factory=Tracker)
    notes: list[str] = field(default_factory=list)
    _cache: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)

    def _cached(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _weights(self, network: str, weights: str | Path | None) -> str | None:
        chosen = weights if weights is not None else self.settings.weights_of(network)
        return str(chosen) if chosen is not None else None

    def images(self, which: str) -> ImageSet:
        if which not in ("real", "fake"):
            raise ValueError(f"which must be 'real' or 'fake', got {which!r}")
        return self.real if which == "real" else self.fake

    def feature_network(self, name: str, weights: str | Path | None = None) -> Any:
        """A feature network (:mod:`maskgen.evaluation.features.networks`), built once per call."""
        from maskgen.evaluation.features.networks import feature_network

        path = self._weights(name, weights)
        return self._cached(
            ("network", name, path),
            lambda: feature_network(name, self.device, path, self.settings.download),
        )

    def features(self, name: str, which: str, weights: str | Path | None = None) -> np.ndarray:
        """Activations of ``name`` on the real or fake images: extracted at the first request of the
        call, shared by every evaluator after it (keyed by network, weights and image set)."""
        from maskgen.evaluation.features.networks import extract_features

        images = self.images(which)
        path = self._weights(name, weights)

        def extract() -> np.ndarray:
            net = self.feature_network(name, weights)
            progress = self.tracker.task(f"{net.name} features ({which})", len(images.images))
            return extract_features(net, images.images, progress)

        return self._cached(("features", name, path, id(images)), extract)

    def lpips(self, name: str, weights: str | Path | None = None) -> Any:
        """An LPIPS network (:mod:`maskgen.evaluation.features.perceptual`), built once per call."""
        from maskgen.evaluation.features.perceptual import lpips_network

        path = self._weights(name, weights)
        return self._cached(
            ("lpips", name, path), lambda: lpips_network(name, self.device, path, self.settings.download)
        )

    def float_images(self, which: str) -> torch.Tensor:
        """The real or fake images as float [N, 3, H, W] in [0, 1] on the call's device, made once."""
        images = self.images(which)
        return self._cached(("float", id(images)), lambda: as_float(images.images, self.device))
