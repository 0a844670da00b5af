#!/usr/bin/env python
"""Ship a checkpoint (GAN, translation, upscaler) as a base model inside the package (assets/base/NAME/).

    .venv/bin/python scripts/make_base_model.py RUN_OR_CHECKPOINT NAME [--replace]

The folder gets the Hub layout of `maskgen push` (model.safetensors with G_ema and D only for a GAN,
T and D for a translator, U_ema and D for an upscaler; config.json, README.md, samples.png), so the same
folder can be published
with `maskgen push core/maskgen/assets/base/NAME maskgen/NAME`. New runs (`maskgen run`,
`maskgen translate train`) whose architecture matches start from it by default, and `maskgen translate
apply` without --checkpoint uses a shipped translator.
"""

from __future__ import annotations

import argparse
import shutil
import sys

from maskgen.artifacts.base_models import base_models_dir
from maskgen.artifacts.hub_push import stage_base_model
from maskgen.errors import MaskgenError


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint")
    parser.add_argument("name")
    parser.add_argument("--replace", action="store_true", help="replace a shipped base model of that name")
    args = parser.parse_args()
    target = base_models_dir() / args.name
    # Staged beside the target and swapped in last: while staging, base:NAME is still the model the
    # new one was fine-tuned from, which its recorded history (lineage) reads.
    staging = target.with_name(f".{args.name}.staging")
    try:
        if target.exists() and not args.replace:
            raise MaskgenError(f"{target} exists; pass --replace to ship the new weights in its place")
        shutil.rmtree(staging, ignore_errors=True)
        plan = stage_base_model(args.checkpoint, staging, args.name)
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
