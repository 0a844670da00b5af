"""``maskgen audit``: does the generator copy its training masks?

N masks are generated (seeds 0..N-1 unless given) and each is compared with every training mask, in
masknet feature space (L2 distance between the 256-dim penultimate features of
:mod:`maskgen.evaluation.features.masknet`) and in pixels (RMS difference of the RGB values in [0, 1]).

The baseline is how close training masks are to each other: for every training mask the distance to
its nearest *other* training mask (leave-one-out nearest neighbour, real->real). **Rule:** a fake is
flagged as a likely copy when its nearest-neighbour distance to the training set in masknet space is
at most the ``percentile``-th percentile (default 1) of the real->real nearest-neighbour distances,
i.e. it is closer to a training mask than 99 % of training masks are to any other. The pixel
distances are reported (and plotted) with the same percentile as a second opinion, but do not flag.
A flag is a reason to look at the contact sheet, not a proof: near-duplicates already in the training
set lower the threshold, and a small training set makes the percentile coarse.

Outputs: ``audit.json`` (the rule, thresholds, both distributions' summaries and every fake's
neighbours), ``audit_contact.png`` (one row per fake, closest first, or only the ``sheet_rows``
closest: the fake, a gap, its 3 nearest training masks in masknet space, a gap, its nearest in
pixels; flagged fakes framed in red) and
``audit_hist.png`` (fake->train against real->real nearest-neighbour distances, both spaces).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgen.artifacts.generator import generate_images
from maskgen.data.datasets import BUILTIN_SETS, load_training_images
from maskgen.data.folder import find_images
from maskgen.errors import MaskgenError
from maskgen.evaluation.features import extract_features, feature_network
from maskgen.evaluation.files import atomic_write, write_json
from maskgen.images import save_png, to_uint8

FEATURES = "masknet"
DEFAULT_PERCENTILE = 1.0
NEIGHBOURS = 3
AUDIT_JSON = "audit.json"
CONTACT_PNG = "audit_contact.png"
HIST_PNG = "audit_hist.png"
RED = np.array([220, 30, 30], dtype=np.uint8)

MessageFn = Callable[[str], None]


@dataclass
class AuditResult:
    seeds: list[int]
    fakes: np.ndarray  # uint8 [N, H, W, 3]
    train: np.ndarray  # uint8 [M, H, W, 3]
    nn_index: np.ndarray  # int [N, k]: nearest training masks in masknet space, closest first
    nn_distance: np.ndarray  # float [N, k]
    pixel_index: np.ndarray  # int [N]: nearest training mask in pixels
    pixel_distance: np.ndarray  # float [N]
    real_nn: np.ndarray  # float [M]: leave-one-out nearest-neighbour distances, masknet
    real_pixel_nn: np.ndarray  # float [M]: the same in pixels
    percentile: float
    threshold: float  # masknet
    pixel_threshold: float  # reported only
    train_names: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[int]:
        """Indices (into ``fakes``) of the fakes the rule flags."""
        return [int(i) for i in np.flatnonzero(self.nn_distance[:, 0] <= self.threshold)]

    def summary(self) -> dict[str, Any]:
        names = self.train_names or [f"#{i}" for i in range(len(self.train))]
        flagged = set(self.flagged)
        per_fake = [
            {
                "seed": seed,
                "flagged": i in flagged,
                f"nearest[{FEATURES}]": [
                    {"train": names[j], "index": int(j), "distance": float(d)}
                    for j, d in zip(self.nn_index[i], self.nn_distance[i], strict=True)
                ],
                "nearest[pixels]": {
                    "train": names[self.pixel_index[i]],
                    "index": int(self.pixel_index[i]),
                    "distance": float(self.pixel_distance[i]),
                },
            }
            for i, seed in enumerate(self.seeds)
        ]
        fake_nn = self.nn_distance[:, 0]
        return {
            "features": FEATURES,
            "rule": (
                f"flag a fake when its nearest-neighbour distance to the training set in {FEATURES} space "
                f"is <= percentile {self.percentile:g} of the leave-one-out real->real "
                "nearest-neighbour distances"
            ),
            "percentile": self.percentile,
            f"threshold[{FEATURES}]": self.threshold,
            "threshold[pixels]": self.pixel_threshold,
            "num_fakes": len(self.seeds),
            "num_train": len(self.train),
            "flagged_seeds": [self.seeds[i] for i in sorted(flagged)],
            "flagged_fraction": len(flagged) / max(1, len(self.seeds)),
            f"fake_to_train[{FEATURES}]": _stats(fake_nn),
            f"real_to_real[{FEATURES}]": _stats(self.real_nn),
            "fake_to_train[pixels]": _stats(self.pixel_distance),
            "real_to_real[pixels]": _stats(self.real_pixel_nn),
            # < 1: fakes sit closer to the training masks than those do to each other (memorisation).
            f"median_ratio[{FEATURES}]": float(np.median(fake_nn) / max(np.median(self.real_nn), 1e-12)),
            "fakes": per_fake,
        }


def _stats(values: np.ndarray) -> dict[str, float]:
    q = np.percentile(values, [1, 5, 50, 95]) if len(values) else [float("nan")] * 4
    return {
        "min": float(np.min(values)) if len(values) else float("nan"),
        "p1": float(q[0]),
        "p5": float(q[1]),
        "median": float(q[2]),
        "p95": float(q[3]),
        "mean": float(np.mean(values)) if len(values) else float("nan"),
    }


def nearest(
    query: torch.Tensor, reference: torch.Tensor, k: int, exclude_self: bool = False, chunk: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """(distances [N, k], indices [N, k]) of each query row's k nearest reference rows (L2).
    ``exclude_self``: query is reference, and row i may not be its own neighbour (leave-one-out)."""
    k = min(k, len(reference) - (1 if exclude_self else 0))
    ref_sq = (reference**2).sum(dim=1)
    dists, idxs = [], []
    for start in range(0, len(query), chunk):
        q = query[start : start + chunk]
        d2 = (q**2).sum(dim=1, keepdim=True) + ref_sq[None] - 2 * q @ reference.T
        if exclude_self:
            rows = torch.arange(len(q), device=q.device)
            d2[rows, rows + start] = float("inf")
        values, index = torch.topk(d2, k, dim=1, largest=False)
        dists.append(values.clamp_min(0).sqrt().cpu())
        idxs.append(index.cpu())
    return torch.cat(dists).double().numpy(), torch.cat(idxs).numpy()


def _pixels(images: np.ndarray, device: torch.device) -> torch.Tensor:
    flat = torch.from_numpy(np.ascontiguousarray(images)).to(device).reshape(len(images), -1)
    return flat.float() / 255 / flat.shape[1] ** 0.5  # L2 of these = RMS difference in [0, 1]


def copy_audit(
    G: torch.nn.Module,
    train: np.ndarray,
    seeds: Sequence[int],
    truncation: float = 1.0,
    percentile: float = DEFAULT_PERCENTILE,
    k: int = NEIGHBOURS,
    train_names: list[str] | None = None,
) -> AuditResult:
    """Generate one mask per seed and find each one's nearest training masks (see the module doc)."""
    if len(train) < 2:
        raise MaskgenError(f"the audit needs at least 2 training images for its baseline, got {len(train)}")
    if not 0 < percentile < 100:
        raise MaskgenError(f"--percentile must be between 0 and 100, got {percentile}")
    if not seeds:
        raise MaskgenError("the audit needs at least one generated mask (--num >= 1)")
    device = next(G.parameters()).device
    r = G.img_resolution
    if train.shape[1:3] != (r, r):
        raise MaskgenError(f"training images are {train.shape[1]} px, the generator makes {r} px masks")
    fakes = to_uint8(generate_images(G, list(seeds), truncation=truncation))
    net = feature_network(FEATURES, device)
    train_f = torch.from_numpy(extract_features(net, train)).to(device)
    fake_f = torch.from_numpy(extract_features(net, fakes)).to(device)
    nn_distance, nn_index = nearest(fake_f, train_f, k)
    real_nn, _ = nearest(train_f, train_f, 1, exclude_self=True)
    train_p, fake_p = _pixels(train, device), _pixels(fakes, device)
    pixel_distance, pixel_index = nearest(fake_p, train_p, 1)
    real_pixel_nn, _ = nearest(train_p, train_p, 1, exclude_self=True)
    return AuditResult(
        seeds=list(seeds),
        fakes=fakes,
        train=train,
        nn_index=nn_index,
        nn_distance=nn_distance,
        pixel_index=pixel_index[:, 0],
        pixel_distance=pixel_distance[:, 0],
        real_nn=real_nn[:, 0],
        real_pixel_nn=real_pixel_nn[:, 0],
        percentile=float(percentile),
        threshold=float(np.percentile(real_nn[:, 0], percentile)),
        pixel_threshold=float(np.percentile(real_pixel_nn[:, 0], percentile)),
        train_names=list(train_names or []),
    )


def training_set(
    data: str | None, resolution: int, train_config: Any = None
) -> tuple[np.ndarray, list[str], str]:
    """(images, their names, a description) of ``data`` (a folder or a built-in set; None:
    the checkpoint's own training data). Built-in sets use the checkpoint's count and seed."""
    if data is None:
        if train_config is None:
            raise MaskgenError("--data is needed: the checkpoint does not say what it was trained on")
        data = train_config.data
    count = int(getattr(train_config, "dataset_count", 2000))
    seed = int(getattr(train_config, "dataset_seed", 0))
    images, _, description = load_training_images(data, resolution, seed=seed, count=count)
    key = str(data).strip().lower()
    if key in BUILTIN_SETS:
        return images, [f"{key} #{i}" for i in range(len(images))], description
    root = Path(data).expanduser()
    paths = find_images(root)
    names = [p.relative_to(root).as_posix() for p in paths] if len(paths) == len(images) else []
    return images, names or [f"#{i}" for i in range(len(images))], description


# -- outputs -------------------------------------------------------------------------------------------


def _framed(image: np.ndarray, colour: np.ndarray, width: int) -> np.ndarray:
    out = image.copy()
    out[:width], out[-width:], out[:, :width], out[:, -width:] = colour, colour, colour, colour
    return out


def contact_sheet(result: AuditResult, rows_shown: int | None = None) -> np.ndarray:
    """One row per fake, closest to the training set first (see the module doc); only the
    ``rows_shown`` closest when given (the flagged ones are always the closest)."""
    n, h, w, c = result.fakes.shape
    gap = np.full((h, max(2, w // 4), c), 255, dtype=np.uint8)
    frame = max(1, h // 16)
    flagged = set(result.flagged)
    rows = []
    order = np.argsort(result.nn_distance[:, 0], kind="stable")
    for i in order[:rows_shown] if rows_shown else order:
        fake = _framed(result.fakes[i], RED, frame) if i in flagged else result.fakes[i]
        tiles = [fake, gap, *(result.train[j] for j in result.nn_index[i]), gap]
        rows.append(np.concatenate([*tiles, result.train[result.pixel_index[i]]], axis=1))
    spacer = np.full((max(1, h // 16), rows[0].shape[1], c), 255, dtype=np.uint8)
    return np.concatenate([part for row in rows for part in (row, spacer)][:-1], axis=0)


def histogram(result: AuditResult, path: Path) -> Path:
    from matplotlib.figure import Figure  # no pyplot: no global state, no display needed

    fig = Figure(figsize=(9.0, 3.6), dpi=110)
    panels = (
        (result.nn_distance[:, 0], result.real_nn, result.threshold, f"{FEATURES} features (L2)", True),
        (result.pixel_distance, result.real_pixel_nn, result.pixel_threshold, "pixels (RMS, 0-1)", False),
    )
    for n, (fake, real, threshold, space, rule) in enumerate(panels, 1):
        ax = fig.add_subplot(1, 2, n)
        top = max(float(np.max(fake)), float(np.max(real)), 1e-6)
        bins = np.linspace(0, top * 1.02, 31)
        ax.hist(real, bins=bins, density=True, alpha=0.55, label=f"real→real, leave-one-out ({len(real)})")
        ax.hist(fake, bins=bins, density=True, alpha=0.55, label=f"fake→train ({len(fake)})")
        style = "-" if rule else ":"
        what = "threshold" if rule else "same percentile (not a rule)"
        ax.axvline(threshold, color="red", linestyle=style, label=f"{what}: p{result.percentile:g}")
        ax.set_xlabel(f"nearest-neighbour distance, {space}")
        ax.set_ylabel("density")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    flagged = len(result.flagged)
    fig.suptitle(f"Copy audit: {flagged} of {len(result.seeds)} fakes flagged", fontsize=10)
    fig.tight_layout()
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))


def write_audit(
    result: AuditResult,
    out_dir: str | Path,
    meta: dict[str, Any] | None = None,
    sheet_rows: int | None = None,
) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {**(meta or {}), **result.summary()}
    paths = {"json": write_json(out / AUDIT_JSON, summary), "contact": out / CONTACT_PNG}
    save_png(contact_sheet(result, sheet_rows), paths["contact"])
    paths["hist"] = histogram(result, out / HIST_PNG)
    return paths
