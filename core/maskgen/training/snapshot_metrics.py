"""Quality metrics at every snapshot (``maskgen run --metrics fid,c2st``), as StyleGAN2-ADA's ``--metrics``.

At each snapshot G_ema draws ``metrics_images`` masks (seeds 0..N-1) and each named evaluator plugin
compares them with the run's training images (without their mirrored copies; a random N of them when
there are more, chosen as ``maskgen report`` chooses them). The evaluators are the ones ``maskgen eval
-m`` runs, found by name in the plugin registry and called through the plugin interface
(``compute(real, fake)``) on masknet features, which are shipped: nothing is downloaded and there is no
second implementation of any metric, so a snapshot's numbers are those ``maskgen eval`` gives on that
checkpoint with the same images and seeds. Results go to ``metric-snapshots.jsonl`` (one record per
snapshot) and to TensorBoard as ``metrics/<label>``.

Measuring never changes the training: the random streams are forked around it, so a run with metrics
trains the same weights as one without, and resumes exactly.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from maskgen.artifacts.generator import generate_images
from maskgen.config import TrainConfig
from maskgen.data.datasets import is_builtin_set
from maskgen.plugins import PluginRegistry, get_registry
from maskgen.plugins.factory import parse_options
from maskgen.plugins.interfaces import Evaluator

SNAPSHOT_METRICS_FILE = "metric-snapshots.jsonl"
SEED = 0  # first generation seed and seed of the real subset: maskgen eval's and maskgen report's default
MIN_SIZE = 16  # the smallest images the evaluation measures (maskgen eval and report refuse smaller)
DRAW_BATCH = 32  # fakes drawn per call, as maskgen eval draws them (same batches, same pixels)
# The settings of the evaluation that an evaluator takes when its options have a field of that name:
# masknet features (shipped with maskgen, no download), as `maskgen eval`'s defaults.
_SHARED_OPTIONS: dict[str, Any] = {"features": "masknet", "net": "masknet", "seed": SEED}


def check_metrics(config: TrainConfig, registry: PluginRegistry | None = None) -> None:
    """An unknown evaluator name fails before the data is loaded, in one line listing the valid ones."""
    registry = registry or get_registry()
    for name in config.metrics:
        registry.get("evaluator", name)


def real_subset(images: np.ndarray | torch.Tensor, num: int, builtin: bool) -> np.ndarray | torch.Tensor:
    """At most ``num`` of the training images, picked as ``maskgen report`` picks a run's reals: the
    first ``num`` of a built-in set, a random ``num`` (numpy seed :data:`SEED`, in order) of a folder."""
    if len(images) <= num:
        return images
    if builtin:
        return images[:num]
    keep = np.sort(np.random.default_rng(SEED).choice(len(images), num, replace=False))
    return images[torch.as_tensor(keep) if isinstance(images, torch.Tensor) else keep]


@torch.no_grad()
def draw_fakes(G: torch.nn.Module, num: int) -> torch.Tensor:
    """``num`` masks of G at seeds SEED.. (constant noise, no truncation), float [N, 3, H, W] in [0, 1]
    on the CPU: the images ``maskgen eval --fake CHECKPOINT`` measures."""
    seeds = list(range(SEED, SEED + num))
    chunks = [
        ((generate_images(G, seeds[i : i + DRAW_BATCH], batch_size=DRAW_BATCH) + 1) / 2).cpu()
        for i in range(0, num, DRAW_BATCH)
    ]
    return torch.cat(chunks)


class SnapshotMetrics:
    """The evaluators of a run, with the reals they compare against; :meth:`measure` at each snapshot."""

    def __init__(
        self,
        names: list[str],
        reals: torch.Tensor,
        num: int,
        device: torch.device,
        registry: PluginRegistry | None = None,
    ) -> None:
        registry = registry or get_registry()
        self.num = num
        self.device = device
        self.reals = reals.cpu()  # uint8 [N, 3, H, W]: a quarter of the memory of floats, all run long
        self.evaluators: dict[str, Evaluator] = {}
        for name in names:
            spec = registry.get("evaluator", name)
            shared = _SHARED_OPTIONS | {"device": str(device)}
            values = {key: value for key, value in shared.items() if key in spec.options.model_fields}
            self.evaluators[name] = spec.factory(parse_options("evaluator", name, values, registry))

    @property
    def names(self) -> list[str]:
        return list(self.evaluators)

    def measure(
        self, G: torch.nn.Module, warn: Callable[[str], None]
    ) -> tuple[dict[str, float], dict[str, float]]:
        """``{label: value}`` of every evaluator on ``num`` fakes of G, and the seconds each part took
        (``fakes``: drawing them). An evaluator that fails is a warning and is dropped for the rest of
        the run; training goes on."""
        values: dict[str, float] = {}
        with _own_random_streams(self.device):
            reals = self.reals.float() / 255
            started = time.perf_counter()
            fakes = draw_fakes(G, self.num)
            seconds = {"fakes": round(time.perf_counter() - started, 3)}
            for name, evaluator in list(self.evaluators.items()):
                started = time.perf_counter()
                try:
                    values |= {label: float(v) for label, v in evaluator.compute(reals, fakes).items()}
                except Exception as exc:  # noqa: BLE001 - a metric must not end hours of training
                    del self.evaluators[name]
                    reason = " ".join(str(exc).split()) or type(exc).__name__
                    warn(f"warning: metric {name} failed ({reason}); it is left out from now on")
                seconds[name] = round(time.perf_counter() - started, 3)
        return values, seconds

    def record(
        self, G: torch.nn.Module, nimg: int, snapshot: str, warn: Callable[[str], None]
    ) -> dict[str, Any]:
        """One line of ``metric-snapshots.jsonl``: where, on what, the values and what they cost."""
        started = time.perf_counter()
        values, seconds = self.measure(G, warn)
        return {
            "kimg": nimg / 1000,
            "snapshot": snapshot,
            "fakes": self.num,
            "reals": len(self.reals),
            "seed": SEED,
            "metrics": values,
            "seconds": round(time.perf_counter() - started, 3),
            "seconds_each": seconds,
        }


def for_run(
    config: TrainConfig, reals_uint8: torch.Tensor, device: torch.device, say: Callable[[str], None]
) -> SnapshotMetrics | None:
    """The run's snapshot metrics (None without ``config.metrics``): its training images without the
    mirrored copies that ``xflip`` appended (``reals_uint8``: [N, 3, H, W] uint8, as the trainer holds).

    Runs below 16 px are not measured (a note says so): the preset's metrics apply to every run, and a
    tiny test run must not fail for them."""
    if not config.metrics:
        return None
    if config.resolution < MIN_SIZE:
        say(f"note: no snapshot metrics below {MIN_SIZE} px (this run trains at {config.resolution} px)")
        return None
    originals = (reals_uint8[: len(reals_uint8) // 2] if config.xflip else reals_uint8).cpu()
    reals = real_subset(originals, config.metrics_images, is_builtin_set(config.data))
    return SnapshotMetrics(list(config.metrics), reals, config.metrics_images, device)


@contextlib.contextmanager
def _own_random_streams(device: torch.device) -> Iterator[None]:
    """torch's CPU stream (and the device's) as they were before: an evaluator that draws from them
    must not change what the training draws next."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        yield
