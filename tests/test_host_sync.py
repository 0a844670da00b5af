"""On accelerators a training step must not read tensor values on the host: each read waits for the
device to drain its queue. CPUs have no such cost, so this checks the read-free paths by making the
code believe reads are expensive, and records every read made from maskgen's own code."""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

import maskgen_ada.pipeline
import maskgen_apa.augmenter
from maskgen.config import validate_config
from maskgen.testing import tiny_config_values
from maskgen.training.loop import Trainer

READS = ("item", "tolist", "__float__", "__int__", "__bool__", "__index__")


class HostReads:
    """Tensor reads whose caller is maskgen code, except its deliberate CPU-generator draws."""

    def __init__(self) -> None:
        self.sites: Counter[str] = Counter()
        self.active = False

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        self.active = True
        try:
            yield
        finally:
            self.active = False

    def wrap(self, original: Callable[..., object], name: str) -> Callable[..., object]:
        def read(tensor: torch.Tensor, *args: object, **kwargs: object) -> object:
            caller = sys._getframe(1)
            path = caller.f_code.co_filename
            ours = "/maskgen/" in path or "/maskgen_" in path
            if self.active and ours and not path.endswith("host_random.py"):
                self.sites[f"{Path(path).name}:{caller.f_lineno} {name}"] += 1
            return original(tensor, *args, **kwargs)

        return read


@pytest.fixture
def host_reads(monkeypatch: pytest.MonkeyPatch) -> HostReads:
    for module in (maskgen_ada.pipeline, maskgen_apa.augmenter):
        monkeypatch.setattr(module, "host_reads_are_free", lambda device: False)
    reads = HostReads()
    for name in READS:
        monkeypatch.setattr(torch.Tensor, name, reads.wrap(getattr(torch.Tensor, name), name))
    return reads


@pytest.mark.parametrize("augment", ["none", "ada", "apa", "diffusion", "diffaugment"])
def test_training_step_reads_nothing_from_the_device(
    augment: str, host_reads: HostReads, tmp_path: Path
) -> None:
    # Strengths start mid-range, so that every adjustment moves them, whichever way.
    options = {
        "ada": {"interval": 2, "initial_p": 0.5, "pipeline": "bgcfnc"},
        "apa": {"interval": 2, "initial_p": 0.5},
        "diffusion": {"interval": 2, "initial_T": 500},
    }
    values = tiny_config_values(augment=augment, augment_options=options.get(augment, {}), kimg=1)
    trainer = Trainer(validate_config(values), tmp_path)
    trainer.step()  # the first step may read the host copies of restored counters once
    before = {name: buffer.clone() for name, buffer in trainer.augmenter.named_buffers()}
    with host_reads.recording():
        for _ in range(8):  # four measurements and adjustments; path length and R1 (interval 2)
            trainer.step()
    assert dict(host_reads.sites) == {}
    if augment not in ("none", "diffaugment"):  # the adjustments did happen, on the device
        after = dict(trainer.augmenter.named_buffers())
        moved = [
            name for name in ("p", "pipe.p") if name in after and not torch.equal(before[name], after[name])
        ]
        assert moved
