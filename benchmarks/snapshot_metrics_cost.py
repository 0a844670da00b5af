#!/usr/bin/env python
"""What the snapshot metrics (``maskgen run --metrics``) cost against the training they watch.

In one process, rounds of training steps alternate with one snapshot measurement (drawing the masks,
then each evaluator), so both meet the same machine load; each part is timed in wall and CPU seconds.
A part's share is its time over one snapshot interval of training (``snapshot_kimg`` at the measured
speed) plus the part. Prints one JSON line per round.

    python benchmarks/snapshot_metrics_cost.py --res 64 --data builtin-detailed --rounds 3 --steps 30
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maskgen.config import resolve_config
from maskgen.training import snapshot_metrics
from maskgen.training.loop import Trainer, prepare_run


def clocked(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--res", type=int, default=64)
    parser.add_argument("--data", default="builtin-detailed")
    parser.add_argument("--metrics", default="fid,kid,c2st")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=30, help="training iterations per round")
    args = parser.parse_args()

    config = resolve_config(data=args.data, resolution=args.res, init="none", metrics=args.metrics)
    data = prepare_run(config, new_run=False)
    trainer = Trainer(data.config, Path(tempfile.mkdtemp()), data=data)
    metrics = snapshot_metrics.for_run(data.config, trainer.reals_uint8, trainer.device, print)
    if metrics is None:
        raise SystemExit("no metrics to measure at this resolution")
    for _ in range(3):  # warm-up
        trainer.step()
    reals = metrics.reals.float() / 255
    for round_index in range(args.rounds):
        _, train_wall, train_cpu = clocked(lambda: [trainer.step() for _ in range(args.steps)])
        images = args.steps * config.batch
        fakes, wall, cpu = clocked(lambda: snapshot_metrics.draw_fakes(trainer.G_ema, metrics.num))
        parts = {"fakes": (wall, cpu)}
        for name, evaluator in metrics.evaluators.items():
            _, wall, cpu = clocked(lambda e=evaluator, f=fakes: e.compute(reals, f))
            parts[name] = (wall, cpu)
        interval = config.snapshot_kimg * 1000 / images  # snapshot intervals per measured round
        shares = {
            name: {
                "wall": round(wall / (train_wall * interval + wall), 4),
                "cpu": round(cpu / (train_cpu * interval + cpu), 4),
            }
            for name, (wall, cpu) in parts.items()
        }
        print(
            json.dumps(
                {
                    "round": round_index,
                    "resolution": args.res,
                    "train_img_per_s": round(images / train_wall, 2),
                    "snapshot_interval_s": round(train_wall * interval, 1),
                    "seconds": {name: [round(w, 2), round(c, 2)] for name, (w, c) in parts.items()},
                    "share_of_run": shares,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
