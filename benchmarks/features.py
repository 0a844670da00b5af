#!/usr/bin/env python
"""Feature-extraction throughput and the cost of a whole ``maskgen eval`` on this machine.

* masknet: images/s of its 256-dim features (64 px input; from 64 px and from 32 px images).
* Inception: images/s of Inception-v3 with random weights (torchvision's architecture, the same as
  clean-fid's FID Inception; no weights are needed for timing) on 299x299 input, and separately the
  images/s of clean-fid's "clean" PIL bicubic resize to 299 px, which it applies to every image.
* maskgen eval: wall time and process CPU time of ``maskgen eval`` (all metrics, masknet features) on
  two folders of N procedural masks at 64 px (dataset seeds 0 and 1).

    python benchmarks/features.py                 # everything, N = 2000
    python benchmarks/features.py --skip-eval     # throughput only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _rate(fn, images: int, repeats: int = 3) -> float:
    fn()  # warm-up (allocations, first-call dispatch)
    best = min(_timed(fn) for _ in range(repeats))
    return images / best


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_masknet(batch: int) -> dict:
    from maskgen.data.procedural import render_masks
    from maskgen.evaluation.features import feature_network

    net = feature_network("masknet", torch.device("cpu"))
    out = {}
    for size in (64, 32):
        images = render_masks(batch, size, seed=0)[0]
        out[f"masknet_img_per_s_from_{size}px"] = round(_rate(lambda im=images: net(im), batch), 1)
    return out


def bench_inception(batch: int) -> dict:
    from cleanfid.resize import build_resizer
    from torchvision.models import inception_v3

    model = inception_v3(weights=None, aux_logits=False, init_weights=False).eval()
    model.fc = torch.nn.Identity()  # 2048-dim pool features, as FID uses
    x = torch.rand(batch, 3, 299, 299)
    with torch.no_grad():
        network = _rate(lambda: model(x), batch)
    resize = build_resizer("clean")
    images = np.random.default_rng(0).integers(0, 256, (16, 64, 64, 3), dtype=np.uint8)
    resizing = _rate(lambda: [resize(im) for im in images], len(images))
    return {
        "inception_random_img_per_s": round(network, 1),
        "cleanfid_resize_64_to_299_img_per_s": round(resizing, 1),
        "inception_with_resize_img_per_s": round(1 / (1 / network + 1 / resizing), 1),
    }


def bench_eval(count: int) -> dict:
    from PIL import Image

    from maskgen.data.procedural import render_masks

    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for seed in (0, 1):
            folder = Path(tmp) / f"seed{seed}"
            folder.mkdir()
            for i, image in enumerate(render_masks(count, 64, seed=seed)[0]):
                Image.fromarray(image).save(folder / f"{i:05d}.png")
            folders.append(folder)
        # The eval commands are imported explicitly in case the console script does not list them yet.
        code = "import maskgen.cli.eval_cmd; from maskgen.cli.main import app; app()"
        args = ["eval", "--real", str(folders[0]), "--fake", str(folders[1]), "--num", str(count)]
        args += ["--json", str(Path(tmp) / "eval.json"), "-q"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, *args], check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = json.loads((Path(tmp) / "eval.json").read_text())
    return {
        "eval_images_per_set": count,
        "eval_wall_s": round(wall, 1),
        "eval_cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
        "eval_metric_seconds": result["seconds"],
        "eval_phase_seconds": result["phase_seconds"],
        "eval_values": {entry["label"]: round(entry["value"], 4) for entry in result["metrics"].values()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=64, help="images per timed batch")
    parser.add_argument("--count", type=int, default=2000, help="images per set for the eval timing")
    parser.add_argument("--skip-eval", action="store_true")
    args = parser.parse_args()
    report = {
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    report |= bench_masknet(args.batch)
    report |= bench_inception(min(args.batch, 32))
    if not args.skip_eval:
        report |= bench_eval(args.count)
    report["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
