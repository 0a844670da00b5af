#!/usr/bin/env python
"""Cost against resolution: training and generation throughput and peak memory, 16 to 256 px.

For every resolution and width setting (the ``cpu`` preset and the reference's 'auto' widths, each
in fp32 and with mixed precision) one fresh process builds a trainer and measures

* the training iteration, amortized over lazy regularization: t(plain) + t(path length) / 4 +
  t(R1) / 16, where each term is the median of timed iterations that run that phase;
* generation: G_ema forward passes without gradients;
* peak resident memory of the process.

Then it prints a table, writes ``docs/performance.md`` with the table and a plot of seconds per
image against resolution, and saves the raw numbers as JSON.

    python benchmarks/scaling.py                          # every resolution and width setting
    python benchmarks/scaling.py --res 16 32 64 --widths cpu --repeats 3
    python benchmarks/scaling.py --replot                 # redraw the report from docs/performance.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

WIDTHS = {
    # name: (z/w dim, mapping layers, channel_base, channel_max, mixed-precision resolutions)
    "cpu": (128, 2, 1024, 128, 0),
    "cpu-mixed": (128, 2, 1024, 128, 4),
    "reference": (512, 2, 16384, 512, 0),
    "reference-mixed": (512, 2, 16384, 512, 4),
}
ROOT = Path(__file__).resolve().parent.parent
GENERATED_END = "<!-- end of the part written by benchmarks/scaling.py -->\n"


def measure(res: int, widths: str, batch: int, repeats: int, threads: int) -> dict:
    from maskgen.config import resolve_config
    from maskgen.training.loop import Trainer

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dim, mapping, base, cmax, mixed = WIDTHS[widths]
    config = resolve_config(
        {
            "resolution": res,
            "batch": batch,
            "augment": "ada",
            "augment_options": {"p": 0.2},
            "dataset_count": 32,
            "device": "cpu",
            "kimg": 1e6,
            "generator_options": {
                "z_dim": dim,
                "w_dim": dim,
                "mapping_layers": mapping,
                "channel_base": base,
                "channel_max": cmax,
                "mixed_precision_resolutions": mixed,
            },
        }
    )
    trainer = Trainer(config, run_dir=None)  # type: ignore[arg-type]

    def timed(iteration: int) -> float:
        trainer.iteration = iteration
        start = time.perf_counter()
        trainer.step()
        return time.perf_counter() - start

    for iteration in (1, 4, 0):  # warm-up of every kind of iteration
        timed(iteration)
    plain = statistics.median(timed(1) for _ in range(repeats))
    with_pl = statistics.median(timed(4) for _ in range(repeats))  # path length, no R1
    with_all = statistics.median(timed(0) for _ in range(repeats))  # both
    amortized = plain + max(0.0, with_pl - plain) / 4 + max(0.0, with_all - with_pl) / 16

    G = trainer.G_ema
    z = torch.randn(batch, G.z_dim)
    with torch.no_grad():
        G(z)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            G(z)
            times.append(time.perf_counter() - start)
    return {
        "resolution": res,
        "widths": widths,
        "batch": batch,
        "train_images_per_second": round(batch / amortized, 3),
        "train_seconds_per_iteration": round(amortized, 4),
        "generate_images_per_second": round(batch / statistics.median(times), 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "parameters_G": sum(p.numel() for p in trainer.G.parameters()),
        "parameters_D": sum(p.numel() for p in trainer.D.parameters()),
    }


def run_isolated(res: int, widths: str, args: argparse.Namespace) -> dict:
    # A fresh process per point: peak memory is per process and must not carry over.
    command = [sys.executable, __file__, "--one", str(res), widths, "--batch", str(args.batch)]
    command += ["--repeats", str(args.repeats), "--threads", str(args.threads)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    if result.returncode != 0:
        raise SystemExit(f"benchmark of {res} px ({widths}) failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_report(rows: list[dict], path: Path, args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plot = path.with_name("performance.png")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for index, widths in enumerate(sorted({r["widths"] for r in rows})):
        points = sorted((r["resolution"], r) for r in rows if r["widths"] == widths)
        xs = [p for p, _ in points]
        train = [1 / r["train_images_per_second"] for _, r in points]
        generate = [1 / r["generate_images_per_second"] for _, r in points]
        colour = f"C{index}"  # one colour per setting: solid = training, dashed = generation
        ax.plot(xs, train, "o-", color=colour, label=f"train, {widths}")
        ax.plot(xs, generate, "s--", color=colour, label=f"generate, {widths}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("resolution (px)")
    ax.set_ylabel("seconds per image")
    ax.set_title(f"maskgen on {args.threads} CPU threads, batch {args.batch}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    fig.tight_layout()
    fig.savefig(plot, dpi=120)
    plt.close(fig)

    lines = [
        "# Performance",
        "",
        "Measured by `python benchmarks/scaling.py` "
        f"({time.strftime('%Y-%m-%d')}, torch {torch.__version__}, {args.threads} CPU threads, "
        f"batch {args.batch}, ADA p=0.2 in front of D). Training is the amortized iteration "
        "(path length every 4, R1 every 16 iterations); generation is G_ema without gradients; memory is "
        "the peak resident size of a process that built the networks and ran both.",
        "",
        "| resolution | widths | train img/s | generate img/s | peak memory (MiB) | G params | D params |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (r["widths"], r["resolution"])):
        lines.append(
            f"| {r['resolution']} | {r['widths']} | {r['train_images_per_second']} | "
            f"{r['generate_images_per_second']} | {r['peak_rss_mib']} | "
            f"{r['parameters_G'] / 1e6:.2f} M | {r['parameters_D'] / 1e6:.2f} M |"
        )
    lines += [
        "",
        "`cpu` widths: z/w 128, 2 mapping layers, channel_base 1024, channel_max 128 (the default preset). "
        "`reference` widths: z/w 512, 2 mapping layers, channel_base 16384, channel_max 512 "
        "(StyleGAN2-ADA's 'auto' configuration below 512 px). `-mixed`: the same widths with "
        "`mixed_precision_resolutions=4` (bf16 on this CPU; see [training](training.md#mixed-precision)).",
        "",
        f"![seconds per image against resolution]({plot.name})",
        "",
    ]
    # Sections recorded by hand below the marker (the comparison with the reference) are kept.
    kept = ""
    if path.is_file() and GENERATED_END in path.read_text(encoding="utf-8"):
        kept = path.read_text(encoding="utf-8").split(GENERATED_END, 1)[1]
    path.write_text("\n".join(lines) + "\n" + GENERATED_END + kept, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--res", type=int, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--widths", nargs="+", default=list(WIDTHS), choices=list(WIDTHS))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed for one point")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--one", nargs=2, metavar=("RES", "WIDTHS"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--replot", action="store_true", help="rewrite the report from the saved JSON, measuring nothing"
    )
    args = parser.parse_args()
    if args.replot:
        write_report(json.loads(args.out.with_suffix(".json").read_text(encoding="utf-8")), args.out, args)
        return
    if args.one:
        print(json.dumps(measure(int(args.one[0]), args.one[1], args.batch, args.repeats, args.threads)))
        return
    rows = []
    print(f"loadavg {os.getloadavg()[0]:.2f}")
    for widths in args.widths:
        for res in args.res:
            row = run_isolated(res, widths, args)
            rows.append(row)
            print(
                f"{res:4d} px {widths:9s}: train {row['train_images_per_second']:8.2f} img/s, "
                f"generate {row['generate_images_per_second']:8.1f} img/s, "
                f"peak {row['peak_rss_mib']:8.0f} MiB",
                flush=True,
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    write_report(rows, args.out, args)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
