#!/usr/bin/env python
"""Does the data pipeline keep up with training? Loader throughput against training throughput.

Writes a folder of procedural masks as PNG files at --source-size, then measures at --res:

* the first load: decode, crop and resize every file (and write the packed uint8 cache);
* a cached load: the same folder again, read from ``.maskgen-cache/``;
* the per-iteration feed: drawing a batch from the in-memory uint8 dataset and converting it to
  float on the device, which is all the training loop does per iteration;
* training itself (``cpu`` preset widths, ADA at fixed p), for the ratio.

    python benchmarks/data_loader.py --count 2000 --res 64
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from maskgen.config import resolve_config
from maskgen.data.folder import load_folder
from maskgen.data.procedural import render_masks
from maskgen.training.loop import Trainer


def write_folder(root: Path, count: int, size: int) -> None:
    for start in range(0, count, 200):
        images, _ = render_masks(min(200, count - start), size, seed=start)
        for i, image in enumerate(images):
            Image.fromarray(image).save(root / f"mask{start + i:05d}.png")


def feed_images_per_second(images: np.ndarray, batch: int, seconds: float = 2.0) -> float:
    data = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        index = torch.randint(len(data), (batch,))
        reals = data[index].float() / 127.5 - 1
        done += len(reals)
    return done / (time.perf_counter() - start)


def training_images_per_second(folder: Path, res: int, batch: int, iterations: int) -> float:
    config = resolve_config(
        {
            "data": str(folder),
            "resolution": res,
            "batch": batch,
            "augment_options": {"p": 0.2},
            "device": "cpu",
            "kimg": 1e6,
        }
    )
    trainer = Trainer(config, run_dir=None)  # type: ignore[arg-type]
    trainer.step()
    start = time.perf_counter()
    for _ in range(iterations):
        trainer.step()
    return batch * iterations / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--source-size", type=int, default=256)
    parser.add_argument("--res", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_folder(folder, args.count, args.source_size)
        start = time.perf_counter()
        images, _, _ = load_folder(folder, args.res)
        first = args.count / (time.perf_counter() - start)
        start = time.perf_counter()
        load_folder(folder, args.res)
        cached = args.count / (time.perf_counter() - start)
        feed = feed_images_per_second(images, args.batch)
        train = training_images_per_second(folder, args.res, args.batch, args.iterations)
    print(f"{args.count} PNG files of {args.source_size} px, loaded at {args.res} px:")
    print(f"  first load (decode + resize + write cache): {first:10.0f} img/s")
    print(f"  cached load (packed uint8 file):            {cached:10.0f} img/s")
    print(f"  per-iteration feed (index + to float):      {feed:10.0f} img/s")
    print(f"  training ({args.res} px, batch {args.batch}, cpu preset):    {train:10.1f} img/s")
    print(f"  feed / training = {feed / train:.0f}x; first load / training = {first / train:.1f}x")


if __name__ == "__main__":
    main()
