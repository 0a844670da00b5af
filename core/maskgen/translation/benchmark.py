"""Measurements of the translators: training speed/memory and the paper's Table 2 on held-out masks.

    python -m maskgen.translation.benchmark speed [--translators cocosnet,spade] [--sizes 64,128]
        [--steps 10] [--threads N]
    python -m maskgen.translation.benchmark table2 RUN_OR_CHECKPOINT [...] [--num 500] [--out FILE.json]

``speed`` times training steps of each translator (default: every installed one) with its ``cpu``
preset widths (batch 4) in a fresh subprocess per setting, so the peak resident memory (ru_maxrss)
belongs to that setting alone.

``table2`` measures the checkpoints it is given, whichever translator each one was trained with.

``table2`` colours held-out procedural masks (seed ``--seed``, never used for training) from their XDoG
sketches after a reference and compares the outputs with the ground truth: FD and KD on masknet
features, SSIM and MS-SSIM (pairwise with the ground truth). Two reference settings:

- ``other``: a different held-out mask of the same primary colour (the realistic use);
- ``pseudo``: the ground truth itself, geometrically deformed (what CoCosNet trains on; an upper bound).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _speed_one(translator: str, size: int, steps: int, features: str) -> dict[str, Any]:
    from maskgen.translation.config import resolve_translate_config
    from maskgen.translation.trainer import TranslationTrainer

    config = resolve_translate_config(
        {}, translator=translator, size=size, batch=4, dataset_count=32, features=features, device="cpu"
    )
    trainer = TranslationTrainer(config, Path("."))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(2):  # warm-up: first-call allocations and lazy imports
        trainer.step()
    start = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    seconds = (time.perf_counter() - start) / steps
    return {
        "translator": translator,
        "size": size,
        "batch": 4,
        "features": trainer.features.name,
        "threads": torch.get_num_threads(),
        "seconds_per_step": round(seconds, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_steps_mib": round(rss_before / 1024, 1),
        "translator_params": sum(p.numel() for p in trainer.model.translator.parameters()),
    }


def speed(
    translators: list[str], sizes: list[int], steps: int, threads: int, features: str
) -> list[dict[str, Any]]:
    rows = []
    for translator in translators:
        for size in sizes:
            code = (
                f"import json, torch; torch.set_num_threads({threads}); "
                "from maskgen.translation.benchmark import _speed_one; "
                f"print(json.dumps(_speed_one({translator!r}, {size}, {steps}, {features!r})))"
            )
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), flush=True)
    return rows


def held_out_triplets(num: int, size: int, seed: int) -> dict[str, torch.Tensor]:
    """Held-out masks, their sketches and the two kinds of references, all fixed by ``seed``."""
    from maskgen.data.procedural import render_masks
    from maskgen.data.sketch import xdog
    from maskgen.translation.deform import deform

    images, labels = render_masks(num, size, seed)
    raw = torch.from_numpy(images).permute(0, 3, 1, 2)
    target = raw.float() / 127.5 - 1
    gen = torch.Generator().manual_seed(seed)
    other = torch.empty(num, dtype=torch.long)
    for i in range(num):
        same = np.flatnonzero((labels == labels[i]) & (np.arange(num) != i))
        other[i] = int(same[int(torch.randint(len(same), (1,), generator=gen))])
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    pseudo = deform(target)
    torch.random.set_rng_state(state)
    return {"sketch": xdog(raw), "target": target, "other": target[other], "pseudo": pseudo}


@torch.no_grad()
def table2(checkpoints: list[str], num: int, seed: int, batch: int = 50) -> list[dict[str, Any]]:
    from maskgen.evaluation.distances import frechet, kernel
    from maskgen.evaluation.features import extract_features, feature_network
    from maskgen.evaluation.similarity import msssim_batch, msssim_setup, ssim_batch
    from maskgen.images import to_uint8
    from maskgen.translation.apply import load_translator

    device = torch.device("cpu")
    net = feature_network("masknet", device)
    rows = []
    cache: dict[int, dict[str, torch.Tensor]] = {}
    for path in checkpoints:
        loaded = load_translator(path, device)
        data = cache.setdefault(loaded.size, held_out_triplets(num, loaded.size, seed))
        real_u8 = to_uint8(data["target"])
        real_feats = extract_features(net, real_u8)
        real01 = (data["target"] + 1) / 2
        for setting in ("other", "pseudo"):
            outs = torch.cat(
                [
                    loaded.translator.translate(data["sketch"][i : i + batch], data[setting][i : i + batch])
                    for i in range(0, num, batch)
                ]
            )
            fake_u8 = to_uint8(outs)
            fake_feats = extract_features(net, fake_u8)
            fake01 = torch.from_numpy(fake_u8).permute(0, 3, 1, 2).float() / 255
            setup = msssim_setup(loaded.size)
            rows.append(
                {
                    "checkpoint": str(path),
                    "translator": loaded.config.get("translator"),
                    "kimg": loaded.config.get("kimg"),
                    "features_used_in_training": loaded.config.get("features", {}).get("name"),
                    "size": loaded.size,
                    "reference": setting,
                    "images": num,
                    "FD_masknet": round(frechet(real_feats, fake_feats), 3),
                    "KD_masknet_x1e3": round(1e3 * kernel(real_feats, fake_feats), 3),
                    "SSIM": round(float(ssim_batch(fake01, real01).mean()), 4),
                    "MS-SSIM": round(float(msssim_batch(fake01, real01, setup).mean()), 4),
                    "MS-SSIM_setup": setup.label,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def _translator_names(given: str | None) -> list[str]:
    """The named translators, each checked against the registry; None: every installed translator."""
    from maskgen.plugins import get_registry

    registry = get_registry()
    if given is None:
        return registry.names("translator")
    names = [name.strip() for name in given.split(",") if name.strip()]
    for name in names:
        registry.get("translator", name)  # an unknown name fails here, listing the valid ones
    return names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m maskgen.translation.benchmark")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("speed")
    sp.add_argument(
        "--translators", default=None, help="Comma-separated translator names (default: all installed)."
    )
    sp.add_argument("--sizes", default="64,128")
    sp.add_argument("--steps", type=int, default=10)
    sp.add_argument("--threads", type=int, default=torch.get_num_threads())
    sp.add_argument("--features", default="masknet")
    tp = sub.add_parser("table2")
    tp.add_argument("checkpoints", nargs="+")
    tp.add_argument("--num", type=int, default=500)
    tp.add_argument("--seed", type=int, default=1, help="Held-out procedural seed (training uses 0).")
    for p in (sp, tp):
        p.add_argument("--out", type=Path, default=None, help="Also write the rows as JSON here.")
    args = parser.parse_args(argv)
    if args.cmd == "speed":
        rows = speed(
            _translator_names(args.translators),
            [int(s) for s in args.sizes.split(",")],
            args.steps,
            args.threads,
            args.features,
        )
    else:
        rows = table2(args.checkpoints, args.num, args.seed)
    if args.out is not None:
        args.out.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
