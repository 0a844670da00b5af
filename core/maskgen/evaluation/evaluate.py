"""``maskgen eval``: every requested metric between a real and a fake image set, as one result dict.

Which networks the learned metrics use is set by one switch, ``features``:

* ``masknet`` (default, offline): FD[masknet], KD[masknet], LPIPS[masknet], Acc[masknet];
* ``inception``: FID[inception] and KID[inception] on clean-fid's Inception, LPIPS[alex] with the lpips
  package (AlexNet), as in the paper. Missing weights are an error, never a silent fallback.

``lpips_net`` and ``classifier`` override the LPIPS network and the classifier on their own.

``prdc`` (opt-in in ``maskgen eval``) adds improved precision and recall (Kynkäänniemi et al. 2019,
k=3) and density and coverage (Naeem et al. 2020, k=5) on the same features as FID/KID
(:mod:`.manifold`): precision[masknet], recall[masknet], density[masknet], coverage[masknet].

Three metrics need no network weights at all and read as plain numbers: ``c2st`` (the held-out accuracy
of a small CNN trained to tell real from fake, :mod:`.twosample`), ``asymmetry`` (left-right asymmetry
of the fakes relative to the reals) and ``colour`` (total variation between the seven-colour
histograms), the last two in :mod:`.pixelstats`.

``ppl`` (opt-in) is the perceptual path length of a generator (:mod:`.path_length`), on the LPIPS
network: it needs the fakes to be drawn from a checkpoint, and the reals play no part in it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgen.errors import MaskgenError
from maskgen.evaluation.imagesets import ImageSet

METRICS = (
    "fid", "kid", "ssim", "msssim", "lpips", "classify", "c2st", "asymmetry", "colour", "prdc", "ppl",
)  # fmt: skip
FEATURE_METRICS = frozenset({"fid", "kid", "prdc"})  # the metrics computed on --features
PRDC_KEYS = ("precision", "recall", "density", "coverage")
FEATURES = ("masknet", "inception")
KID_SCALE = 1e3


class Tracker:
    """Progress reporting: ``task(description, total)`` returns a callback taking the units just done."""

    def task(self, description: str, total: int) -> Callable[[int], None]:
        return lambda _n: None


@dataclass
class EvalSettings:
    metrics: list[str] = field(default_factory=lambda: list(METRICS))
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
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown or not self.metrics:
            raise MaskgenError(
                f"unknown metric(s) {', '.join(unknown) or '(none)'}; valid: {', '.join(METRICS)}"
            )
        if self.features not in FEATURES:
            raise MaskgenError(f"unknown feature network {self.features!r}; valid: {', '.join(FEATURES)}")
        if self.lpips_net not in (None, "alex", "masknet"):
            raise MaskgenError(f"unknown LPIPS network {self.lpips_net!r}; valid: alex, masknet")
        if self.k_pr < 1 or self.k_dc < 1:
            raise MaskgenError(
                f"k of precision/recall and density/coverage must be >= 1 ({self.k_pr}, {self.k_dc})"
            )

    def preflight(self) -> None:
        """Fail before any image is loaded when a weight file the metrics need is missing."""
        from maskgen.evaluation.masknet import load_masknet
        from maskgen.evaluation.weights import ALEXNET, INCEPTION, locate

        self.check()
        uses_masknet = "classify" in self.metrics and self.classifier is None
        if FEATURE_METRICS & set(self.metrics):
            if self.features == "inception":
                locate(INCEPTION, self.weights, self.download)
            else:
                uses_masknet = True
        if {"lpips", "ppl"} & set(self.metrics):
            if self.lpips_network == "alex":
                locate(ALEXNET, self.lpips_weights, self.download)
            else:
                uses_masknet = True
        if uses_masknet:
            load_masknet(self.masknet)
        if "classify" in self.metrics and self.classifier is not None and not Path(self.classifier).is_dir():
            raise MaskgenError(f"classifier folder not found: {self.classifier}")

    @property
    def lpips_network(self) -> str:
        return self.lpips_net or ("alex" if self.features == "inception" else "masknet")


def parse_metrics(text: str) -> list[str]:
    """'fid, KID,ms-ssim' -> ['fid', 'kid', 'msssim'] (order kept, duplicates dropped)."""
    names = [m.strip().lower().replace("-", "").replace("_", "") for m in text.split(",") if m.strip()]
    return list(dict.fromkeys(names))


def evaluate(
    real: ImageSet,
    fake: ImageSet,
    settings: EvalSettings,
    device: torch.device,
    tracker: Tracker | None = None,
) -> dict[str, Any]:
    """All requested metrics: ``{"metrics": {key: {"label", "value", ...}}, "notes": [...], ...}``."""
    settings.check()
    tracker = tracker or Tracker()
    if real.size != fake.size:
        raise MaskgenError(f"real images are {real.size} px but fake images are {fake.size} px")
    started = time.perf_counter()
    metrics: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    timings: dict[str, float] = {}
    phases = (
        ("fid/kid/prdc", set(FEATURE_METRICS), lambda: _distances(real, fake, settings, device, tracker)),
        (
            "ssim/msssim",
            {"ssim", "msssim"},
            lambda: _similarity(real, fake, settings, device, tracker, notes),
        ),
        ("lpips", {"lpips"}, lambda: _lpips(real, fake, settings, device, tracker)),
        ("classify", {"classify"}, lambda: _classify(real, fake, settings, device, tracker, notes)),
        ("c2st", {"c2st"}, lambda: _c2st(real, fake, settings, tracker)),
        ("pixel statistics", {"asymmetry", "colour"}, lambda: _pixel_statistics(real, fake, settings)),
        ("ppl", {"ppl"}, lambda: _path_length(fake, settings, device, tracker)),
    )
    for phase, names, run in phases:
        if names & set(settings.metrics):
            phase_start = time.perf_counter()
            metrics |= run()
            timings[phase] = round(time.perf_counter() - phase_start, 2)
    return {
        "metrics": metrics,
        "notes": notes,
        "features": settings.features,
        "seed": settings.seed,
        "real": real.describe(),
        "fake": fake.describe(),
        "device": str(device),
        "seconds": round(time.perf_counter() - started, 2),
        "phase_seconds": timings,
    }


def _distances(
    real: ImageSet, fake: ImageSet, settings: EvalSettings, device: torch.device, tracker: Tracker
) -> dict[str, dict[str, Any]]:
    from maskgen.evaluation.distances import frechet, kernel
    from maskgen.evaluation.features import extract_features, feature_network

    weights = settings.weights if settings.features == "inception" else settings.masknet
    net = feature_network(settings.features, device, weights, settings.download)
    feats_real = extract_features(
        net, real.images, tracker.task(f"{net.name} features (real)", len(real.images))
    )
    feats_fake = extract_features(
        net, fake.images, tracker.task(f"{net.name} features (fake)", len(fake.images))
    )
    prefix = ("FID", "KID") if net.name == "inception" else ("FD", "KD")
    out: dict[str, dict[str, Any]] = {}
    common = {"feature_network": net.name, "higher_is_better": False}
    if "fid" in settings.metrics:
        out["fid"] = {"label": f"{prefix[0]}[{net.name}]", "value": frechet(feats_real, feats_fake)} | common
    if "kid" in settings.metrics:
        raw = kernel(feats_real, feats_fake, seed=settings.seed)
        out["kid"] = {
            "label": f"{prefix[1]}[{net.name}] x10^3",
            "value": raw * KID_SCALE,
            "raw": raw,
            "subsets": 100,
            "subset_size": min(len(feats_real), len(feats_fake), 1000),
        } | common
    if "prdc" in settings.metrics:
        out |= _prdc(feats_real, feats_fake, settings, net.name)
    return out


def _prdc(
    feats_real: Any, feats_fake: Any, settings: EvalSettings, network: str
) -> dict[str, dict[str, Any]]:
    from maskgen.evaluation.manifold import prdc

    values = prdc(feats_real, feats_fake, settings.k_pr, settings.k_dc)
    out: dict[str, dict[str, Any]] = {}
    for key in PRDC_KEYS:
        k = settings.k_pr if key in ("precision", "recall") else settings.k_dc
        out[key] = {
            "label": f"{key}[{network}]",
            "value": values[key],
            "k": k,
            "feature_network": network,
            "higher_is_better": key != "density",
            "best": 1.0,
        }
    return out


def _similarity(
    real: ImageSet,
    fake: ImageSet,
    settings: EvalSettings,
    device: torch.device,
    tracker: Tracker,
    notes: list[str],
) -> dict[str, dict[str, Any]]:
    from maskgen.evaluation.pairing import cross_pairs
    from maskgen.evaluation.similarity import msssim_batch, msssim_setup, paired_mean, ssim_batch

    ia, ib = cross_pairs(len(real.images), len(fake.images), settings.seed, settings.max_pairs)
    pairing = {"pairs": len(ia), "pairing": "real/fake random pairs", "pairing_seed": settings.seed}
    out: dict[str, dict[str, Any]] = {}
    if "ssim" in settings.metrics:
        value = paired_mean(
            ssim_batch, real.images, fake.images, ia, ib, device, progress=tracker.task("SSIM", len(ia))
        )
        out["ssim"] = {"label": "SSIM", "value": value, "higher_is_better": True, "window": 11} | pairing
    if "msssim" in settings.metrics:
        setup = msssim_setup(real.size)
        value = paired_mean(
            lambda a, b: msssim_batch(a, b, setup),
            real.images,
            fake.images,
            ia,
            ib,
            device,
            progress=tracker.task(setup.label, len(ia)),
        )
        out["msssim"] = {
            "label": setup.label,
            "value": value,
            "higher_is_better": True,
            "window": setup.window,
            "scales": setup.scales,
            "weights": [round(w, 4) for w in setup.weights],
        } | pairing
        if not setup.standard:
            notes.append(
                f"MS-SSIM at {real.size} px uses a {setup.window}-px window and {setup.scales} scales "
                "(the standard 11-px window with 5 scales needs images over 160 px)"
            )
    return out


def _lpips(
    real: ImageSet, fake: ImageSet, settings: EvalSettings, device: torch.device, tracker: Tracker
) -> dict[str, dict[str, Any]]:
    from maskgen.evaluation.pairing import cross_pairs, within_pairs
    from maskgen.evaluation.perceptual import lpips_network
    from maskgen.evaluation.similarity import paired_mean

    name = settings.lpips_network
    weights = settings.lpips_weights if name == "alex" else settings.masknet
    net = lpips_network(name, device, weights, settings.download)
    ia, ib = cross_pairs(len(real.images), len(fake.images), settings.seed, settings.max_pairs)
    to_real = paired_mean(
        net,
        real.images,
        fake.images,
        ia,
        ib,
        device,
        net.batch_size,
        tracker.task("LPIPS fake-real", len(ia)),
    )
    fa, fb = within_pairs(len(fake.images), settings.seed, settings.max_pairs)
    diversity = paired_mean(
        net,
        fake.images,
        fake.images,
        fa,
        fb,
        device,
        net.batch_size,
        tracker.task("LPIPS fake-fake", len(fa)),
    )
    common = {"feature_network": name, "pairing_seed": settings.seed}
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


def _path_length(
    fake: ImageSet, settings: EvalSettings, device: torch.device, tracker: Tracker
) -> dict[str, dict[str, Any]]:
    from maskgen.artifacts.generator import load_generator
    from maskgen.evaluation.path_length import EPSILON, path_lengths, perceptual_path_length
    from maskgen.evaluation.perceptual import lpips_network

    checkpoint = fake.info.get("checkpoint")
    if fake.kind != "checkpoint" or not checkpoint:
        raise MaskgenError("ppl measures a generator: give --fake a checkpoint or run directory, not images")
    G, _ = load_generator(checkpoint, device)
    name = settings.lpips_network
    net = lpips_network(name, device, settings.lpips_weights if name == "alex" else settings.masknet)
    walks = len(fake.images)
    lengths = path_lengths(G, net, walks, seed=settings.seed, progress=tracker.task("path length", walks))
    return {
        "ppl": {
            "label": f"PPL[{name}]",
            "value": perceptual_path_length(lengths),
            "walks": walks,
            "epsilon": EPSILON,
            "median": float(np.median(lengths)),
            "feature_network": name,
            "higher_is_better": False,
        }
    }


class _MasknetColours(torch.nn.Module):
    """The shipped masknet's own seven-colour head as a classifier."""

    def __init__(self, weights: Path | None, device: torch.device) -> None:
        super().__init__()
        from maskgen.evaluation.masknet import load_masknet

        self.model = load_masknet(weights, device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)["colour"]


def _classify(
    real: ImageSet,
    fake: ImageSet,
    settings: EvalSettings,
    device: torch.device,
    tracker: Tracker,
    notes: list[str],
) -> dict[str, dict[str, Any]]:
    from maskgen.data.procedural import CATEGORY_NAMES
    from maskgen.evaluation.classification import evaluate_classifier, load_classifier
    from maskgen.evaluation.colour_rule import colour_labels

    if settings.classifier is not None:
        model, config = load_classifier(settings.classifier, device)
        names, who = config.class_names, f"classifier {Path(settings.classifier).name}"
        tag = config.backbone
    else:
        model, names, who, tag = (
            _MasknetColours(settings.masknet, device),
            list(CATEGORY_NAMES),
            "masknet",
            "masknet",
        )
    out: dict[str, dict[str, Any]] = {}
    for key, images, role in (("acc_real", real, "real"), ("acc_fake", fake, "fake")):
        if images.labels is not None and images.class_names is not None:
            labels, source = images.labels, f"{role} labels ({images.kind})"
            if images.kind == "checkpoint":  # a class-conditional G: seed s was drawn as class s mod 7
                source = "the classes they were drawn as (class-conditional checkpoint)"
            data_names = images.class_names
        elif role == "fake" and set(names) >= set(CATEGORY_NAMES):
            labels, _ = colour_labels(images.images)
            source, data_names = "colour rule (maskgen dataset label-colors)", list(CATEGORY_NAMES)
        else:
            notes.append(f"no labels for the {role} images: their classification accuracy is not measured")
            continue
        report = evaluate_classifier(model, names, images.images, labels, data_names, device)
        tracker.task(f"classify ({role})", len(images.images))(len(images.images))
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


def _c2st(
    real: ImageSet, fake: ImageSet, settings: EvalSettings, tracker: Tracker
) -> dict[str, dict[str, Any]]:
    from maskgen.evaluation.twosample import c2st

    result = c2st(real.images, fake.images, seed=settings.seed)
    tracker.task("C2ST (train a small CNN)", 1)(1)
    # 0.5: real and fake cannot be told apart; closer to 0.5 is better.
    return {"c2st": {"label": "C2ST acc[cnn]", "higher_is_better": False, "best": 0.5} | result}


def _pixel_statistics(real: ImageSet, fake: ImageSet, settings: EvalSettings) -> dict[str, dict[str, Any]]:
    from maskgen.evaluation.pixelstats import asymmetry_ratio, colour_distance

    out: dict[str, dict[str, Any]] = {}
    if "asymmetry" in settings.metrics:
        out["asymmetry"] = {"label": "asymmetry ratio", "higher_is_better": False, "best": 1.0}
        out["asymmetry"] |= asymmetry_ratio(real.images, fake.images)
    if "colour" in settings.metrics:
        out["colour"] = {"label": "colour TV[7]", "higher_is_better": False, "best": 0.0}
        out["colour"] |= colour_distance(real.images, fake.images)
    return out


_PRDC_DETAIL = {
    "precision": "share of fakes inside a real's ball (1 best)",
    "recall": "share of reals inside a fake's ball (1 best)",
    "density": "real balls holding each fake, / k (1 = as the reals)",
    "coverage": "share of real balls holding a fake (1 best)",
}


def summary_rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, formatted value, detail) rows for a table, in a fixed order."""
    order = (
        "fid", "kid", "ssim", "msssim", "lpips_real", "lpips_diversity", "acc_real", "acc_fake",
        "c2st", "asymmetry", "colour", *PRDC_KEYS, "ppl",
    )  # fmt: skip
    rows = []
    for key in order:
        entry = result["metrics"].get(key)
        if entry is None:
            continue
        value = entry["value"]
        if key.startswith("acc"):
            text = f"{value:.1%}"
        elif key in ("fid", "kid"):
            text = f"{value:.3f}"
        else:
            text = f"{value:.4f}"
        detail = ""
        if "pairs" in entry:
            detail = f"{entry['pairs']} pairs"
        if key.startswith("acc"):
            detail = entry["label_source"]
        if key == "kid":
            detail = f"{entry['subsets']} subsets of {entry['subset_size']}"
        if key == "c2st":
            low, high = entry["ci95"]
            detail = (
                f"± {entry['stderr']:.3f} (95% CI {low:.3f}-{high:.3f}), {entry['test_images']} held-out "
                "images; 0.5 = indistinguishable, 1 = separable"
            )
        if key == "asymmetry":
            detail = (
                f"mean |x - flip(x)|: fake {entry['fake']:.4f}, real {entry['real']:.4f}; 1 = as the reals"
            )
        if key == "colour":
            detail = f"total variation of 7-colour histograms (JS {entry['js']:.4f}); 0 = same colours"
        if key == "ppl":
            detail = f"{entry['walks']} walk steps in W, epsilon {entry['epsilon']:g}; lower = smoother walks"
        if key in PRDC_KEYS:
            detail = f"k={entry['k']} nearest neighbours; {_PRDC_DETAIL[key]}"
        rows.append((entry["label"], text, detail))
    return rows
