#!/usr/bin/env python
"""Training throughput and generator FLOP utilization on this machine.

Times full training iterations (G main, D main, G EMA every iteration; path-length and R1 at their
lazy intervals, so the average over an interval-aligned window is the true cost per iteration) and
one generator forward pass, whose FLOPs (convolutions and matmuls, by torch's FlopCounterMode) are
compared with the rate of a large fp32 matmul measured in the same process.

    python benchmarks/train_step.py --res 32 64 --batch 16 --augment ada
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from maskgen.config import resolve_config
from maskgen.training.loop import Trainer


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / min(times) / 1e9


def bench_resolution(res: int, batch: int, augment: str, iterations: int, preset: str) -> dict:
    config = resolve_config(
        {
            "preset": preset,
            "resolution": res,
            "batch": batch,
            "augment": augment,
            "dataset_count": 256,
            "device": "cpu",
            "kimg": 1000,
        }
    )
    trainer = Trainer(config, run_dir=None)  # type: ignore[arg-type]
    window = config.r1_interval  # 16: contains 4 path-length and 1 R1 step, their usual proportion
    for _ in range(2):
        trainer.step()
    trainer.iteration = 0
    start = time.perf_counter()
    for _ in range(max(iterations, window)):
        trainer.step()
    seconds = (time.perf_counter() - start) / max(iterations, window)

    G = trainer.G_ema
    z = torch.randn(batch, G.z_dim)
    with FlopCounterMode(display=False) as counter:
        G(z, noise_mode="const")
    flops = counter.get_total_flops()
    times = []
    with torch.no_grad():
        for _ in range(5):
            t0 = time.perf_counter()
            G(z, noise_mode="const")
            times.append(time.perf_counter() - t0)
    g_seconds = statistics.median(times)
    return {
        "resolution": res,
        "batch": batch,
        "augment": augment,
        "preset": preset,
        "seconds_per_iteration": round(seconds, 4),
        "train_images_per_second": round(batch / seconds, 1),
        "G_forward_gflop_per_image": round(flops / batch / 1e9, 4),
        "G_forward_seconds": round(g_seconds, 4),
        "G_forward_gflops": round(flops / g_seconds / 1e9, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--res", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--augment", default="ada")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--iterations", type=int, default=16)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", action="store_true", help="print one JSON object per resolution")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    peak = matmul_gflops()
    print(f"threads {args.threads}; fp32 2048^3 matmul: {peak:.1f} GFLOP/s; loadavg {os.getloadavg()[0]:.2f}")
    for res in args.res:
        row = bench_resolution(res, args.batch, args.augment, args.iterations, args.preset)
        row["G_forward_utilization"] = round(row["G_forward_gflops"] / peak, 3)
        if args.json:
            print(json.dumps(row))
        else:
            print(
                f"{res:4d} px batch {row['batch']}: {row['train_images_per_second']:7.1f} img/s training "
                f"({row['seconds_per_iteration']:.3f} s/iteration); "
                f"G forward {row['G_forward_gflop_per_image']} GFLOP/img "
                f"at {row['G_forward_gflops']} GFLOP/s "
                f"= {100 * row['G_forward_utilization']:.0f}% "
                f"of matmul"
            )
    print(f"fp32 matmul after: {matmul_gflops():.1f} GFLOP/s; loadavg {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
