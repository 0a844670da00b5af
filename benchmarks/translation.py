#!/usr/bin/env python
"""Measurements of the translators: training speed/memory and the paper's Table 2 on held-out masks.

    python benchmarks/translation.py speed [--translators cocosnet,spade] [--sizes 64,128]
        [--steps 10] [--threads N]
    python benchmarks/translation.py table2 RUN_OR_CHECKPOINT [...] [--num 500] [--out FILE.json]
    python benchmarks/translation.py known-warp CKPT [...] [--data builtin-detailed] [--num 300]
    python benchmarks/translation.py cross-mask CKPT [...] [--num 300] [--sheet SHEET.png]

``known-warp`` is the correspondence's known-answer test and ``cross-mask`` Table 2 for the real use
(sketch of mask A, reference B): see :mod:`maskgen.translation.quality` and docs/translation.md.

``speed`` times training steps of each translator (default: every installed one) with its ``cpu``
preset widths (batch 4) in a fresh process per setting (:func:`_speed_one` called through a spawned
worker), so the peak resident memory (ru_maxrss) belongs to that setting alone.

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
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from maskgen.outputs import write_text


def _speed_one(translator: str, size: int, steps: int, features: str, threads: int) -> dict[str, Any]:
    from maskgen.translation.config import resolve_translate_config
    from maskgen.translation.trainer import TranslationTrainer

    torch.set_num_threads(threads)
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
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing allocated before
    for translator in translators:
        for size in sizes:
            with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as worker:
                rows.append(worker.submit(_speed_one, translator, size, steps, features, threads).result())
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
    from maskgen.evaluation.features import extract_features, feature_network
    from maskgen.evaluation.metrics.distances import frechet, kernel
    from maskgen.evaluation.metrics.similarity import msssim_batch, msssim_setup, ssim_batch
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


def _translate_all(loaded: Any, sketch: torch.Tensor, reference: torch.Tensor, batch: int = 50):
    """(outputs, warps or None) of a loaded translator over whole tensors, ``batch`` pairs at a time."""
    outs, warps = [], []
    for i in range(0, len(sketch), batch):
        out, warp = loaded.translator.translate_with_warp(sketch[i : i + batch], reference[i : i + batch])
        outs.append(out)
        warps.append(warp)
    return torch.cat(outs), (None if warps[0] is None else torch.cat(warps))


def _as_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1


@torch.no_grad()
def known_warp(checkpoints: list[str], data: str, num: int, seed: int) -> list[dict[str, Any]]:
    """The correspondence's known-answer test on held-out masks of ``data`` (see
    :func:`maskgen.translation.quality.known_warp_scores`): reference = the mask moved by a seeded
    warp, sketch = its own XDoG lines."""
    from maskgen.data.datasets import load_training_images
    from maskgen.translation.apply import load_translator
    from maskgen.translation.quality import known_warp_case, known_warp_scores

    rows = []
    cases: dict[int, dict[str, torch.Tensor]] = {}  # one held-out case per size, shared by checkpoints
    for path in checkpoints:
        loaded = load_translator(path, torch.device("cpu"))
        if loaded.size not in cases:
            images, _, _ = load_training_images(data, loaded.size, seed, num)
            cases[loaded.size] = known_warp_case(_as_tensor(images), seed)
        case = cases[loaded.size]
        _, warped = _translate_all(loaded, case["sketch"], case["reference"])
        if warped is None:
            print(f"{path}: {loaded.config.get('translator')} has no warp; skipped", flush=True)
            continue
        row = {"checkpoint": str(path), "translator": loaded.config.get("translator"), "data": data}
        row.update(known_warp_scores(warped, case["reference"], case["original"]))
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def cross_mask_pairs(num: int, size: int, data: str, seed: int) -> dict[str, Any]:
    """Held-out masks A (their sketches) with references B: each B another held-out mask, drawn at
    random (so of another pattern and mostly another colour), all fixed by ``seed``."""
    from maskgen.data.datasets import load_training_images
    from maskgen.data.sketch import xdog

    images, labels, _ = load_training_images(data, size, seed, num, need_labels=True)
    assert labels is not None
    rng = np.random.default_rng(seed)
    partner = (np.arange(num) + rng.integers(1, num, size=num)) % num  # never the mask itself
    return {
        "sketch": xdog(torch.from_numpy(images).permute(0, 3, 1, 2)),
        "own": images,
        "reference": images[partner],
        "reference_label": labels[partner],
    }


@torch.no_grad()
def cross_mask(
    checkpoints: list[str], data: str, num: int, seed: int, with_baselines: bool = True
) -> list[dict[str, Any]]:
    """Table 2 for the real use: the sketch of mask A coloured after another mask B. Lines: F1 of
    XDoG(output) against A's sketch (1 px); colours: the seven-colour distance to B and whether the
    output's character colour is B's; painted: FD[masknet] and the two-sample test against other
    held-out masks (seed + 1). Baselines: B itself ("copy the reference") and A itself."""
    from maskgen.data.datasets import load_training_images
    from maskgen.evaluation.features import extract_features, feature_network
    from maskgen.evaluation.metrics.distances import frechet
    from maskgen.evaluation.metrics.twosample import c2st
    from maskgen.images import to_uint8
    from maskgen.translation.apply import load_translator
    from maskgen.translation.quality import ColourCharacter, line_f1, pairwise_colour_distance

    net = feature_network("masknet", torch.device("cpu"))
    loaded_all = [(str(p), load_translator(p, torch.device("cpu"))) for p in checkpoints]
    size = loaded_all[0][1].size if loaded_all else 64
    pairs = cross_mask_pairs(num, size, data, seed)
    reals, _, _ = load_training_images(data, size, seed + 1, num)
    fit_images, fit_labels, _ = load_training_images(data, size, seed + 2, max(num, 700), need_labels=True)
    assert fit_labels is not None
    character = ColourCharacter.fit(fit_images, fit_labels)
    real_feats = extract_features(net, reals)
    outputs: list[tuple[str, str, np.ndarray]] = []
    for path, loaded in loaded_all:
        if loaded.size != size:
            raise SystemExit(f"{path}: {loaded.size} px, the first checkpoint has {size} px")
        fake, _ = _translate_all(loaded, pairs["sketch"], _as_tensor(pairs["reference"]))
        label = f"{loaded.config.get('translator')} ({Path(path).name})"
        outputs.append((path, label, to_uint8(fake)))
    if with_baselines:
        outputs.append(("", "copy the reference B", pairs["reference"]))
        outputs.append(("", "the sketch's own mask A", pairs["own"]))
    rows = []
    for path, label, images in outputs:
        lines = line_f1(_as_tensor(images), pairs["sketch"])
        row = {
            "model": label,
            "checkpoint": path,
            "data": data,
            "images": num,
            "line_F1": round(lines["f1"], 4),
            "line_precision": round(lines["precision"], 4),
            "line_recall": round(lines["recall"], 4),
            "colour_distance_to_B": round(pairwise_colour_distance(images, pairs["reference"]), 4),
            "character_is_B": round(float((character.predict(images) == pairs["reference_label"]).mean()), 4),
            "FD_masknet": round(frechet(real_feats, extract_features(net, images)), 3),
            "C2ST": round(c2st(reals, images, seed=seed)["value"], 4),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def contact_sheet(checkpoints: list[str], data: str, rows: int, seed: int, out: Path) -> Path:
    """sketch | reference | warped | output, one row per cross-mask pair and a column block per
    checkpoint: the picture a person judges the numbers by."""
    from maskgen.images import save_png, to_uint8
    from maskgen.translation.apply import load_translator

    blocks = []
    pairs = None
    for path in checkpoints:
        loaded = load_translator(path, torch.device("cpu"))
        pairs = pairs or cross_mask_pairs(rows, loaded.size, data, seed)
        ref = _as_tensor(pairs["reference"])
        with torch.no_grad():
            fake, warp = _translate_all(loaded, pairs["sketch"], ref)
        columns = [to_uint8(warp if warp is not None else torch.ones_like(fake)), to_uint8(fake)]
        blocks.append(np.concatenate(columns, axis=2))
    assert pairs is not None
    sketch_rgb = np.repeat((pairs["sketch"][:, 0, :, :, None].numpy() * 255).round().astype(np.uint8), 3, -1)
    grid = np.concatenate([sketch_rgb, pairs["reference"], *blocks], axis=2)
    save_png(np.concatenate(list(grid), axis=0), out)
    return out


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
    parser = argparse.ArgumentParser(prog="python benchmarks/translation.py")
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
    kp = sub.add_parser("known-warp", help="The correspondence's known-answer test.")
    cp = sub.add_parser("cross-mask", help="Sketch of A + reference B: lines, colours, painted.")
    for p in (kp, cp):
        p.add_argument("checkpoints", nargs="+")
        p.add_argument("--data", default="builtin-detailed")
        p.add_argument("--num", type=int, default=300)
        p.add_argument("--seed", type=int, default=1, help="Held-out seed (training uses 0).")
    cp.add_argument("--sheet", type=Path, default=None, help="Also write a contact sheet PNG here.")
    cp.add_argument("--sheet-rows", type=int, default=8)
    for p in (sp, tp, kp, cp):
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
    elif args.cmd == "known-warp":
        rows = known_warp(args.checkpoints, args.data, args.num, args.seed)
    elif args.cmd == "cross-mask":
        rows = cross_mask(args.checkpoints, args.data, args.num, args.seed)
        if args.sheet is not None:
            print(contact_sheet(args.checkpoints, args.data, args.sheet_rows, args.seed, args.sheet))
    else:
        rows = table2(args.checkpoints, args.num, args.seed)
    if args.out is not None:
        write_text(args.out, json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
