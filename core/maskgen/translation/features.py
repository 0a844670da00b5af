"""Frozen feature networks for the perceptual, pseudo-pair and contextual losses.

``perceptual_features(name)`` returns a :class:`FeatureExtractor`: images in [-1, 1] -> a list of feature
maps, shallow to deep. The losses index the list from the deep end (``[-1]`` deepest), so networks with
different depths fit the same loss code.

- ``vgg19``: torchvision's VGG19 with ImageNet weights (as in CoCosNet and SPADE), taps relu1_2, relu2_2,
  relu3_2, relu4_2, relu5_2. Weights come from an explicit file (``weights=``: safetensors, or
  torchvision's ``vgg19-dcbb9e9d.pth``) or torchvision's own cache (``$TORCH_HOME/hub/checkpoints``).
  Nothing is ever downloaded: when the file is absent, one line says which file and where to put it,
  and we fall back to masknet.
- ``masknet``: maskgen's own offline network (:mod:`maskgen.evaluation.features.masknet`), its four stage
  outputs. Falls back to ``random`` (with one line) when its weights are not installed.
- ``random``: a small randomly initialised conv net with a fixed seed: the last resort, and the fast
  feature network of the tests. Random conv features still measure local structure and colour.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from maskgen.errors import MaskgenError

FEATURE_NETWORKS = ("vgg19", "masknet", "random")
VGG19_URL_NAME = "vgg19-dcbb9e9d.pth"  # torchvision's VGG19_Weights.IMAGENET1K_V1 file
VGG19_TAPS = {3: "relu1_2", 8: "relu2_2", 13: "relu3_2", 22: "relu4_2", 31: "relu5_2"}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class FeatureExtractor:
    """A frozen network and how to call it; deliberately not an nn.Module, so it is never checkpointed."""

    def __init__(
        self, name: str, module: nn.Module, fn: Callable[[torch.Tensor], list[torch.Tensor]], source: str
    ) -> None:
        self.name = name
        self.module = module.eval().requires_grad_(False)
        self._fn = fn
        self.source = source

    def __call__(self, images: torch.Tensor) -> list[torch.Tensor]:
        return self._fn(images)

    def to(self, device: torch.device | str) -> FeatureExtractor:
        self.module.to(device)
        return self

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "source": self.source}


def vgg19_cache_path() -> Path:
    """Where torchvision keeps (and we look for) the VGG19 ImageNet weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_URL_NAME


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        # torchvision's own file is a pickled state dict: weights_only refuses anything but tensors.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file: one line, never a traceback
        raise MaskgenError(f"unreadable VGG19 weights {path}: {' '.join(str(exc).split())[:200]}") from None
    if not isinstance(state, dict):
        raise MaskgenError(f"unreadable VGG19 weights {path}: not a state dict")
    return state


def _vgg19(path: Path) -> FeatureExtractor:
    from torchvision.models.vgg import cfgs, make_layers

    state = _read_weights(path)
    # torchvision's VGG19 ("E") convolutional trunk only: the classifier is never needed or built.
    trunk = make_layers(cfgs["E"])[: max(VGG19_TAPS) + 1]
    # Accept a full torchvision VGG19 state dict or just its ``features`` part.
    features_state = {
        k.removeprefix("features."): v for k, v in state.items() if not k.startswith("classifier")
    }
    wanted = {
        k: v
        for k, v in features_state.items()
        if k.split(".")[0].isdigit() and int(k.split(".")[0]) < len(trunk)
    }
    try:
        trunk.load_state_dict(wanted)
    except (RuntimeError, ValueError) as exc:
        raise MaskgenError(
            f"{path} is not a VGG19 weights file: {' '.join(str(exc).split())[:200]}"
        ) from None
    for layer in trunk:
        if isinstance(layer, nn.ReLU):
            layer.inplace = False  # taps must not be overwritten by the next layer
    mean = torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1)

    def run(images: torch.Tensor) -> list[torch.Tensor]:
        x = ((images + 1) / 2 - mean.to(images.device)) / std.to(images.device)
        maps = []
        for index, layer in enumerate(trunk):
            x = layer(x)
            if index in VGG19_TAPS:
                maps.append(x)
        return maps

    return FeatureExtractor("vgg19", trunk, run, str(path))


def _masknet() -> FeatureExtractor:
    from maskgen.evaluation.features.masknet import load_masknet, shipped_weights_path

    model = load_masknet()  # raises MaskgenError when the weights are not installed

    def run(images: torch.Tensor) -> list[torch.Tensor]:
        return model.feature_maps((images + 1) / 2)

    return FeatureExtractor("masknet", model, run, str(shipped_weights_path()))


class _RandomNet(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 128)) -> None:
        super().__init__()
        chans = (3, *widths)
        self.stages = nn.ModuleList(
            nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1), nn.ReLU())
            for i in range(len(widths))
        )
        generator = torch.Generator().manual_seed(0)  # same net in every process, whatever the global RNG
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    fan_in = module.in_channels * 9
                    module.weight.copy_(
                        torch.randn(module.weight.shape, generator=generator) * (2 / fan_in) ** 0.5
                    )
                    module.bias.zero_()

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        maps, x = [], images
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return maps


def random_features() -> FeatureExtractor:
    net = _RandomNet()
    return FeatureExtractor("random", net, net, "random init (seed 0)")


def perceptual_features(
    name: str = "vgg19",
    weights: str | Path | None = None,
    device: torch.device | str = "cpu",
    say: Callable[[str], None] = print,
) -> FeatureExtractor:
    """The feature network ``name`` on ``device``, falling back vgg19 -> masknet -> random with one line each.

    ``weights`` is an explicit VGG19 weights file (safetensors or torchvision's .pth); a given file that is
    missing is an error, not a fallback.
    """
    if name not in FEATURE_NETWORKS:
        raise MaskgenError(f"unknown feature network {name!r}; valid: {', '.join(FEATURE_NETWORKS)}")
    if name == "vgg19":
        if weights is not None:
            path = Path(weights)
            if not path.is_file():
                raise MaskgenError(f"VGG19 weights file not found: {path}")
            return _vgg19(path).to(device)
        path = vgg19_cache_path()
        if path.is_file():
            return _vgg19(path).to(device)
        say(
            f"VGG19 ImageNet weights not found: put torchvision's {VGG19_URL_NAME} at {path} "
            "(or pass --weights FILE); using masknet features instead"
        )
        name = "masknet"
    if name == "masknet":
        try:
            return _masknet().to(device)
        except (MaskgenError, ImportError) as exc:
            say(f"masknet features unavailable ({exc}); using a fixed random conv net instead")
    return random_features().to(device)
