"""Run a few training iterations in this process (alone or as one torchrun rank) and save the weights.

Usage: python ddp_worker.py CONFIG_JSON OUT_DIR ITERATIONS. Writes OUT_DIR/rank{R}.safetensors.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from maskgen.config import TrainConfig
from maskgen.networks import stylegan2
from maskgen.training import distributed
from maskgen.training.loop import Trainer


def _without_noise_inputs() -> None:
    # Noise inputs are drawn per process by design, so they are the one thing that differs from a
    # single process with the same global batch; the comparison switches them off.
    synthesis = stylegan2.SynthesisNetwork.forward
    stylegan2.SynthesisNetwork.forward = lambda self, ws, noise_mode="random": synthesis(self, ws, "none")


def main() -> None:
    config = TrainConfig.model_validate(json.loads(Path(sys.argv[1]).read_text()))
    out, iterations = Path(sys.argv[2]), int(sys.argv[3])
    world = distributed.world_from_environment()
    _without_noise_inputs()
    torch.set_num_threads(1)
    distributed.start(world, torch.device("cpu"))
    trainer = Trainer(config, out, world)
    for _ in range(iterations):
        trainer.step()
    weights = {f"G.{k}": v for k, v in trainer.G.state_dict().items()}
    weights |= {f"D.{k}": v for k, v in trainer.D.state_dict().items()}
    weights |= {f"G_ema.{k}": v for k, v in trainer.G_ema.state_dict().items()}
    save_file({k: v.contiguous() for k, v in weights.items()}, str(out / f"rank{world.rank}.safetensors"))
    distributed.finish(world)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
