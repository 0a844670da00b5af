#!/usr/bin/env python
"""maskgen's training iteration at the architecture, batch and phases of the reference benchmark.

The reference figures come from ``../shared/bench/anchor_sg2ada_step.py`` (NVlabs' stylegan2-ada-pytorch
from a checkout kept outside the project); run it and this script one after the other on the same,
otherwise idle machine. Both time fp32 training on CPU with ADA ('bgc', fixed p) in front of D:
G main, D main and the G EMA every iteration, path length every 4 and R1 every 16 iterations.

    python benchmarks/vs_reference.py --res 64 --batch 8                      # 'auto' widths
    python benchmarks/vs_reference.py --res 64 --batch 8 --channel-base 4096 --channel-max 256
    python benchmarks/vs_reference.py --res 64 --batch 8 --mixed 4            # top 4 resolutions in bf16

The reference runs in fp32 on CPUs (its num_fp16_res applies to CUDA only); ``--mixed N`` times
maskgen's counterpart, bf16 in the highest N resolutions, on CPUs that compute in bf16.

Reported like the reference: the "full step" (one iteration that runs every phase) and the
"amortized iteration" t(plain) + t(path length) / 4 + t(R1) / 16 from the medians of iterations that
run each phase, plus the FLOP rate of the amortized iteration (convolutions and matmuls by torch's
FLOP counter) against a large fp32 matmul in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from maskgen.config import resolve_config
from maskgen.training.loop import Trainer


def matmul_gflops(size: int = 2048, repeats: int = 8) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


class _GlobalOnly:
    # FlopCounterMode's module tracker installs hooks that break autograd.grad(create_graph=True)
    # (R1, path length); count globally instead.
    parents = {"Global"}

    def __enter__(self) -> _GlobalOnly:
        return self

    def __exit__(self, *exc: object) -> bool:
        return False


def flop_counter() -> FlopCounterMode:
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()
    return counter


def build_trainer(args: argparse.Namespace) -> Trainer:
    config = resolve_config(
        {
            "preset": "cpu",
            "resolution": args.res,
            "batch": args.batch,
            "augment": "ada",
            "augment_options": {"p": args.p, "pipeline": "bgc"},
            "dataset_count": 64,
            "device": "cpu",
            "kimg": 1e6,
            "lr_g": 0.0025,
            "lr_d": 0.0025,
            "generator_options": {
                "z_dim": 512,
                "w_dim": 512,
                "mapping_layers": 2,
                "channel_base": args.channel_base,
                "channel_max": args.channel_max,
                "mbstd_group_size": min(args.batch, 4),
                "mixed_precision_resolutions": args.mixed,
            },
        }
    )
    return Trainer(config, run_dir=None)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--res", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--channel-base", type=int, default=16384)
    parser.add_argument("--channel-max", type=int, default=512)
    parser.add_argument("--p", type=float, default=0.2)
    parser.add_argument("--mixed", type=int, default=0, help="mixed-precision resolutions (0: all fp32)")
    parser.add_argument("--repeats", type=int, default=3, help="timed iterations of each kind")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    trainer = build_trainer(args)
    # Iteration numbers that select the phases: 1 runs G main, D main and EMA; 4 adds path length;
    # 0 adds path length and R1 (a "full step").
    kinds = {"plain": 1, "with_pl": 4, "full": 0}

    def run(iteration: int) -> float:
        trainer.iteration = iteration
        start = time.perf_counter()
        trainer.step()
        return time.perf_counter() - start

    for iteration in kinds.values():  # warm-up
        run(iteration)
    probe_before, load_before = matmul_gflops(), os.getloadavg()[0]
    seconds = {name: statistics.median(run(i) for _ in range(args.repeats)) for name, i in kinds.items()}
    probe_after, load_after = matmul_gflops(), os.getloadavg()[0]
    flops = {}
    for name, iteration in kinds.items():
        with flop_counter() as counter:
            run(iteration)
        flops[name] = counter.get_total_flops()

    def amortized(cost: dict[str, float]) -> float:
        # Path length every 4 iterations and R1 every 16, as in the reference's lazy regularization.
        pl = max(0.0, cost["with_pl"] - cost["plain"])
        r1 = max(0.0, cost["full"] - cost["with_pl"])
        return cost["plain"] + pl / 4 + r1 / 16

    iteration_seconds, iteration_flops = amortized(seconds), amortized(flops)
    probe = max(probe_before, probe_after)
    result = {
        "resolution": args.res,
        "batch": args.batch,
        "channel_base": args.channel_base,
        "channel_max": args.channel_max,
        "full_step_seconds": round(seconds["full"], 3),
        "amortized_iteration_seconds": round(iteration_seconds, 3),
        "images_per_second": round(args.batch / iteration_seconds, 3),
        "gflop_per_iteration": round(iteration_flops / 1e9, 2),
        "gflops": round(iteration_flops / iteration_seconds / 1e9, 1),
        "matmul_gflops": round(probe, 1),
        "fraction_of_matmul": round(iteration_flops / iteration_seconds / 1e9 / probe, 3),
        "loadavg": [round(load_before, 2), round(load_after, 2)],
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }
    r = result
    print(
        f"maskgen {args.res} px batch {args.batch} channel_base {args.channel_base} max {args.channel_max}: "
        f"full step {r['full_step_seconds']} s, amortized iteration {r['amortized_iteration_seconds']} s "
        f"({r['images_per_second']} img/s); {r['gflop_per_iteration']} GFLOP/iteration at "
        f"{r['gflops']} GFLOP/s = {100 * r['fraction_of_matmul']:.0f}% of a 2048^3 matmul "
        f"({probe_before:.0f}/{probe_after:.0f} GFLOP/s before/after); "
        f"loadavg {load_before:.2f}->{load_after:.2f}"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
