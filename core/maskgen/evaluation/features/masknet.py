"""masknet: maskgen's own small CNN for masks, the offline feature network of the evaluation.

It is trained on the procedural masks (``maskgen features train-masknet``) to tell the seven primary
colours, and, as auxiliary tasks that make its features care about layout and not only colour, the
pattern type and the shapes of brows, eyes, nose, forehead emblem and mouth. Its uses:

* features for FD[masknet] / KD[masknet]: the 256 global-average-pooled channels of the last stage
  (its penultimate layer), on images resized to 64x64;
* feature maps for LPIPS[masknet]: the outputs of its four stages;
* a seven-way primary-colour classifier (the ``colour`` head), and a backbone for ``maskgen classify``.

Weights are only ever read from safetensors.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from maskgen.errors import MaskgenError
from maskgen.networks.projected import conv_bn_relu_stage

INPUT_SIZE = 64
WIDTHS = (32, 64, 128, 256)
FEATURE_DIM = WIDTHS[-1]
# Heads and their class counts. "colour" is the seven primary colours of maskgen.data.procedural, in
# the order of its CATEGORIES; the others are auxiliary tasks used only while training.
HEADS: dict[str, int] = {
    "colour": 7,
    "pattern": 7,
    "brow": 4,
    "eye": 3,
    "nose": 3,
    "emblem": 7,
    "mouth": 3,
}
WEIGHTS_FILE = "masknet.safetensors"
INFO_FILE = "masknet.json"


class MaskNet(nn.Module):
    """Four stride-2 stages (64 -> 32 -> 16 -> 8 -> 4 px), global average pooling, linear heads.

    Inputs are float images in [0, 1], [N, 3, H, W], any size: they are resized to 64x64.
    """

    def __init__(self, heads: dict[str, int] | None = None) -> None:
        super().__init__()
        widths = (3, *WIDTHS)
        self.stages = nn.ModuleList(conv_bn_relu_stage(widths[i], widths[i + 1]) for i in range(len(WIDTHS)))
        self.heads = nn.ModuleDict({name: nn.Linear(FEATURE_DIM, n) for name, n in (heads or HEADS).items()})

    @staticmethod
    def prepare(images: torch.Tensor) -> torch.Tensor:
        """[0, 1] images of any size -> normalized 64x64 network input."""
        if images.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            # antialias: shrinking large images must not alias fine line work into noise.
            images = F.interpolate(images, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True)
        return (images - 0.5) / 0.5

    def feature_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the four stages (32, 64, 128, 256 channels at 32, 16, 8, 4 px)."""
        x = self.prepare(images)
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return maps

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The penultimate layer: [N, 256] globally average-pooled last-stage activations."""
        return self.feature_maps(images)[-1].mean(dim=(2, 3))

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.features(images)
        return {name: head(feats) for name, head in self.heads.items()}


def shipped_weights_path() -> Path:
    """Where the weights shipped with maskgen live (``maskgen/assets/masknet.safetensors``)."""
    return Path(str(resources.files("maskgen") / "assets" / WEIGHTS_FILE))


def shipped_info() -> dict[str, Any]:
    """The training configuration and held-out accuracy recorded next to the shipped weights."""
    path = shipped_weights_path().with_name(INFO_FILE)
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def load_masknet(path: str | Path | None = None, device: torch.device | str = "cpu") -> MaskNet:
    """masknet in eval mode, frozen: the shipped weights, or a safetensors file of the same layout."""
    path = Path(path) if path is not None else shipped_weights_path()
    if not path.is_file():
        hint = ""
        if path == shipped_weights_path():
            hint = " (reinstall maskgen, or recreate it with 'maskgen features train-masknet')"
        raise MaskgenError(f"masknet weights not found: {path}{hint}")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise MaskgenError(f"unreadable masknet weights {path}: {' '.join(str(exc).split())}") from None
    # Head sizes are read from the file: fine-tuned or retrained weights may have other vocabularies.
    biases = [k for k in state if k.startswith("heads.") and k.endswith(".bias")]
    heads = {k.split(".")[1]: int(state[k].shape[0]) for k in biases}
    model = MaskNet(heads)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        detail = f"missing {sorted(missing)[:2]}" if missing else f"unexpected {sorted(unexpected)[:2]}"
        raise MaskgenError(f"{path} is not a masknet weights file: {detail}")
    return model.to(device).eval().requires_grad_(False)
