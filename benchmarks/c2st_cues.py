#!/usr/bin/env python
"""What the classifier two-sample test sees: real vs generated masks after removing one kind of
difference at a time, next to controls of known answer.

    python benchmarks/c2st_cues.py CHECKPOINT HELDOUT_DIR [--num 1000]

The held-out reals are read as the run's training images were (framed when it was trained with
``--frame``, as ``maskgen eval`` does), shuffled and split in two halves A and B (A against B is the "no
difference" control). Rows:

* controls: A vs B (near 0.5), A vs B blurred (sigma 0.5 and 0.8 px: how much softness alone gives),
  A vs B mirrored (near 0.5 for a mostly symmetric set);
* A vs the fakes as they are, both blurred alike (if softness were the cue this would fall to
  near 0.5), and both shrunk to 16 and 8 px and back (what is left is layout and colour fields);
* both in grey (colour left out), both as silhouettes (a pixel is black where it is clearly not
  white paper: the outline alone), and both cut to the centre half of the face, blown up to full size
  (the brows, eyes and nose alone);
* improved precision and recall in masknet features (Kynkäänniemi et al. 2019) of the fakes and of
  the training images, if ``--train`` is given, against the held-out reals.

Numbers for docs/training.md; nothing is written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()


def _uint8(x: torch.Tensor) -> np.ndarray:
    return x.clamp(0, 255).round().byte().permute(0, 2, 3, 1).numpy()


def blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of uint8 [N, H, W, 3] (XDoG's separable blur, edges replicated)."""
    from maskgen.data.sketch import gaussian_blur

    return _uint8(gaussian_blur(_tensor(images), sigma))


def at_resolution(images: np.ndarray, side: int) -> np.ndarray:
    """Shrunk to ``side`` px (area-averaged) and brought back to the original size (bilinear)."""
    x = _tensor(images)
    small = F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    return _uint8(F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False))


def grey(images: np.ndarray) -> np.ndarray:
    """Each pixel the mean of its channels, in all three."""
    return np.repeat(images.mean(axis=-1, keepdims=True), 3, axis=-1).round().astype(np.uint8)


def silhouette(images: np.ndarray, paper: int = 235) -> np.ndarray:
    """Black where any channel is below ``paper`` (the mask), white elsewhere."""
    mask = (images < paper).any(axis=-1, keepdims=True)
    return np.repeat(np.where(mask, 0, 255), 3, axis=-1).astype(np.uint8)


def centre(images: np.ndarray) -> np.ndarray:
    """The centre half of the picture (side/4 to 3 side/4), blown up to full size (nearest pixel)."""
    side = images.shape[1]
    return images[:, side // 4 : 3 * side // 4, side // 4 : 3 * side // 4].repeat(2, axis=1).repeat(2, axis=2)


def reals_and_samples(checkpoint: str, heldout: Path, num: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """At most ``num`` held-out reals, read as the run's training images were (framed when it was
    trained with ``--frame``, as ``maskgen eval`` does), as many samples of its G_ema (seeds 0.., noise
    const), and whether the reals were framed."""
    from maskgen.artifacts.generator import generate_images, load_generator
    from maskgen.evaluation.imagesets import load_image_set
    from maskgen.images import to_uint8

    G, loaded = load_generator(checkpoint, torch.device("cpu"))
    framed = bool(loaded.config["train"].get("frame", False))
    reals = load_image_set(heldout, int(G.img_resolution), num, "real", frame=framed).images
    with torch.no_grad():
        fakes = to_uint8(generate_images(G, list(range(len(reals))), noise_mode="const"))
    return reals, fakes, framed


def main() -> None:
    from maskgen.evaluation.features import extract_features, feature_network
    from maskgen.evaluation.imagesets import load_image_set
    from maskgen.evaluation.metrics.manifold import prdc
    from maskgen.evaluation.metrics.twosample import c2st

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint")
    parser.add_argument("heldout", type=Path)
    parser.add_argument("--train", type=Path, default=None, help="the training folder, for its own recall")
    parser.add_argument("--num", type=int, default=1000)
    args = parser.parse_args()

    reals, fakes, framed = reals_and_samples(args.checkpoint, args.heldout, args.num)
    # Shuffled (fixed seed) before the halves are cut: a folder sorted by kind would split unlike.
    reals = reals[np.random.default_rng(0).permutation(len(reals))]
    size = reals.shape[1]
    half = len(reals) // 2
    a, b, f = reals[:half], reals[half : 2 * half], fakes[:half]
    rows = {
        "real A vs real B": (a, b),
        "real vs real blurred 0.5 px": (a, blur(b, 0.5)),
        "real vs real blurred 0.8 px": (a, blur(b, 0.8)),
        "real vs real mirrored": (a, b[:, :, ::-1]),
        "real vs generated": (a, f),
        "both blurred 0.8 px": (blur(a, 0.8), blur(f, 0.8)),
        "both at 16 px": (at_resolution(a, 16), at_resolution(f, 16)),
        "both at 8 px": (at_resolution(a, 8), at_resolution(f, 8)),
        "both in grey": (grey(a), grey(f)),
        "silhouettes": (silhouette(a), silhouette(f)),
        "silhouettes, real vs real": (silhouette(a), silhouette(b)),
        "centre half": (centre(a), centre(f)),
    }
    out = {name: round(c2st(x, y, seed=0)["value"], 3) for name, (x, y) in rows.items()}
    net = feature_network("masknet", torch.device("cpu"))
    real_feats = extract_features(net, reals)
    out["generated: precision/recall"] = prdc(real_feats, extract_features(net, fakes))
    if args.train is not None:
        train = load_image_set(args.train, size, len(reals), "train", frame=framed).images
        out["training images: precision/recall"] = prdc(real_feats, extract_features(net, train))
    for key in [k for k in out if k.endswith("precision/recall")]:
        out[key] = {k: round(v, 3) for k, v in out[key].items() if k in ("precision", "recall")}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    from maskgen.errors import MaskgenError

    try:
        main()
    except MaskgenError as exc:  # a missing folder or a checkpoint that is not a GAN: one line
        raise SystemExit(f"error: {exc}") from None
