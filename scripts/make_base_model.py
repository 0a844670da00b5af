#!/usr/bin/env python
"""Ship a checkpoint (GAN, translation, upscaler) as a base model inside the package (assets/base/NAME/).

    .venv/bin/python scripts/make_base_model.py RUN_OR_CHECKPOINT NAME [--replace] [--fine-tuning K=V ...]

The folder gets the Hub layout of `maskgen push`: model.safetensors holds the network that draws alone
(G_ema of a GAN, T of a translator, U_ema of an upscaler), training_weights.safetensors only D (what
fine-tuning starts from besides it; a GAN's G starts as G_ema), then config.json, samples.png and a
model card (README.md) whose usage names base:NAME. A checkpoint from before the split is split here.
The card takes what the model was trained on from config.json: a built-in set, or for a folder drawn
with `maskgen dataset synth` the `data_source` record (add it to the run's config.json before staging;
docs/hub.md). New runs (`maskgen run`, `maskgen translate train`, `maskgen upscale train`) whose
architecture matches start from it by default, and `maskgen translate apply` without --checkpoint uses
a shipped translator. Given a shipped folder itself (core/maskgen/assets/base/NAME NAME --replace) it
rewrites its card from the code of today. `--fine-tuning freeze_g=3` (repeatable) records how a GAN
base model fine-tunes best, as measured when it was shipped: new runs starting from it take those
options where their own config leaves them unset, and say so.
"""

from __future__ import annotations

import argparse
import shutil
import sys

from maskgen.artifacts.base_models import base_models_dir
from maskgen.artifacts.hub_push import stage_base_model
from maskgen.cli.options import parse_key_values
from maskgen.errors import MaskgenError


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint")
    parser.add_argument("name")
    parser.add_argument("--replace", action="store_true", help="replace a shipped base model of that name")
    parser.add_argument(
        "--fine-tuning",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a fine-tuning option new runs from it take (freeze_g, freeze_g_to_rgb, freeze_d, cdc_weight)",
    )
    args = parser.parse_args()
    target = base_models_dir() / args.name
    # Staged beside the target and swapped in last: while staging, base:NAME is still the model the
    # new one was fine-tuned from, which its recorded history (lineage) reads.
    staging = target.with_name(f".{args.name}.staging")
    try:
        if target.exists() and not args.replace:
            raise MaskgenError(f"{target} exists; pass --replace to ship the new weights in its place")
        shutil.rmtree(staging, ignore_errors=True)
        recipe = parse_key_values(args.fine_tuning, "--fine-tuning")
        plan = stage_base_model(args.checkpoint, staging, args.name, fine_tuning=recipe)
    except MaskgenError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    for name in plan.files:
        print(f"{target / name}  {plan.sizes.get(name, 0) / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
