"""A projected discriminator (Sauer et al. 2021): D looks through a frozen, trained feature network.

Projected GANs reach a given quality from many times fewer images because D no longer has to learn
to see: a pretrained feature network turns every image into feature maps at four scales, fixed random
1x1 convolutions mix their channels, a fixed random top-down path mixes the scales (an FPN whose
weights are never trained), and one small trained head per scale judges what it is shown. Only the
heads learn. The paper's network is an ImageNet EfficientNet; that cannot be downloaded here and
knows nothing of painted masks, so maskgen's eye is :class:`MaskEye`, trained without labels on the
built-in masks (``maskgen features train-eye``, :mod:`maskgen.training.eye`). It is not masknet, the
evaluation's network: D would otherwise be trained on exactly what FD and PRDC measure.

The eye's and the mixing layers' weights are buffers, not parameters: no optimizer or FreezeD list
has to leave them out, and the trainer's per-phase ``requires_grad`` toggling cannot unfreeze them.
They are saved with D, so a checkpoint is whole without the shipped file.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from maskgen.errors import MaskgenError
from maskgen.networks.layers import Conv2dLayer, FullyConnectedLayer, MinibatchStdLayer
from maskgen.networks.stylegan2 import MappingNetwork, class_map

EYE_INPUT_SIZE = 64
EYE_WIDTHS = (32, 64, 128, 256)
EYE_WEIGHTS_FILE = "maskeye.safetensors"
HEAD_OUTPUT_SIZE = 4  # every head brings its scale down to 4x4 before its epilogue
HEAD_WIDTH_MAX = 128  # channels of a head's downsampling convolutions: about the cost of the residual D


def conv_bn_relu_stage(c_in: int, c_out: int) -> nn.Sequential:
    """One stride-2 3x3 convolution, batch norm and ReLU: a stage of masknet and of the eye (about
    15 MMAC for all four at 64 px, so either trains in minutes on 2 cores)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class MaskEye(nn.Module):
    """Four stride-2 stages (64 -> 32 -> 16 -> 8 -> 4 px) whose outputs are D's feature maps.

    Input: images in [-1, 1] (what G draws), [N, 3, H, W], any size: resized to 64x64.
    """

    def __init__(self) -> None:
        super().__init__()
        widths = (3, *EYE_WIDTHS)
        self.stages = nn.ModuleList(
            conv_bn_relu_stage(widths[i], widths[i + 1]) for i in range(len(EYE_WIDTHS))
        )

    def feature_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        x = images
        if x.shape[-2:] != (EYE_INPUT_SIZE, EYE_INPUT_SIZE):
            x = F.interpolate(x, size=(EYE_INPUT_SIZE, EYE_INPUT_SIZE), mode="bilinear", antialias=True)
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return maps

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The globally pooled last stage, [N, 256]: what the eye's training compares."""
        return self.feature_maps(images)[-1].mean(dim=(2, 3))


def shipped_eye_path() -> Path:
    return Path(str(resources.files("maskgen") / "assets" / EYE_WEIGHTS_FILE))


def shipped_eye_info() -> dict[str, Any]:
    path = shipped_eye_path().with_suffix(".json")
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def load_eye(path: str | Path | None = None) -> MaskEye:
    """The eye in eval mode: the shipped weights or a safetensors file of the same layout."""
    path = Path(path) if path is not None else shipped_eye_path()
    if not path.is_file():
        raise MaskgenError(
            f"the projected discriminator's feature network is missing: {path} "
            "(reinstall maskgen, or recreate it with 'maskgen features train-eye')"
        )
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise MaskgenError(f"unreadable eye weights {path}: {' '.join(str(exc).split())}") from None
    eye = MaskEye()
    try:
        eye.load_state_dict(state, strict=True)
    except RuntimeError:
        raise MaskgenError(f"{path} is not a maskgen eye (its tensors do not match)") from None
    return eye.eval()


def _as_buffers(module: nn.Module) -> nn.Module:
    """Turn every parameter of ``module`` into a buffer of the same name (frozen for good)."""
    for sub in module.modules():
        for name, param in list(sub.named_parameters(recurse=False)):
            delattr(sub, name)
            sub.register_buffer(name, param.detach().clone())
    return module


def _random_conv(c_in: int, c_out: int, kernel: int, generator: torch.Generator) -> nn.Conv2d:
    # Uniform with variance 1 / fan-in (the features keep their scale), from a fixed generator: every
    # D has the same mixing, so two runs differ only in what their heads learn.
    conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False)
    bound = 1 / math.sqrt(c_in * kernel * kernel) * math.sqrt(3)
    with torch.no_grad():
        conv.weight.copy_((torch.rand(conv.weight.shape, generator=generator) * 2 - 1) * bound)
    return conv


class RandomProjection(nn.Module):
    """Cross-channel mixing (random 1x1 convolutions) and cross-scale mixing (a random top-down path:
    the deeper mixed map, upsampled and projected to the shallower one's channels, is added and
    smoothed by a random 3x3 convolution). Fixed, never trained (Sauer et al. 2021, CCM + CSM)."""

    def __init__(self, widths: tuple[int, ...], seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.channel_mix = nn.ModuleList(_random_conv(c, c, 1, gen) for c in widths)
        self.to_shallower = nn.ModuleList(
            _random_conv(widths[i + 1], widths[i], 1, gen) for i in range(len(widths) - 1)
        )
        self.smooth = nn.ModuleList(_random_conv(c, c, 3, gen) for c in widths[:-1])
        _as_buffers(self)

    def forward(self, maps: list[torch.Tensor]) -> list[torch.Tensor]:
        mixed = [mix(x) for mix, x in zip(self.channel_mix, maps, strict=True)]
        out = [mixed[-1]]
        for i in range(len(maps) - 2, -1, -1):
            deeper = F.interpolate(self.to_shallower[i](out[0]), size=mixed[i].shape[-2:], mode="bilinear")
            out.insert(0, self.smooth[i](mixed[i] + deeper))
        return out


class ScaleHead(nn.Module):
    """The trained part for one scale: stride-2 convolutions down to 4x4, then StyleGAN2's epilogue
    (minibatch standard deviation, 3x3 conv, fully connected) to one logit or a class embedding."""

    def __init__(self, channels: int, size: int, out_dim: int, mbstd_group_size: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = channels
        while size > HEAD_OUTPUT_SIZE:
            wider = min(width * 2, HEAD_WIDTH_MAX)
            layers.append(Conv2dLayer(width, wider, 3, activation="lrelu", down=2))
            width, size = wider, size // 2
        self.down = nn.Sequential(*layers)
        self.mbstd = MinibatchStdLayer(mbstd_group_size, 1)
        self.conv = Conv2dLayer(width + 1, width, 3, activation="lrelu")
        self.fc = FullyConnectedLayer(width * HEAD_OUTPUT_SIZE**2, width, activation="lrelu")
        self.out = FullyConnectedLayer(width, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.mbstd(self.down(x)))
        return self.out(self.fc(x.flatten(1)))


class ProjectedDiscriminator(nn.Module):
    """``D(img, c) -> logits [N, 1]``: the mean of one head's logit per eye scale.

    ``c_dim > 0`` conditions every head by projection (a class embedding compared with the head's last
    features), as :class:`maskgen.networks.stylegan2.Discriminator` does.
    """

    def __init__(
        self,
        img_resolution: int,
        eye: MaskEye,
        img_channels: int = 3,
        c_dim: int = 0,
        mbstd_group_size: int = 4,
    ) -> None:
        super().__init__()
        if img_channels != 3:
            raise ValueError("the projected discriminator's eye sees RGB images (img_channels=3)")
        if c_dim < 0:
            raise ValueError("ProjectedDiscriminator needs c_dim >= 0")
        self.img_resolution = img_resolution
        self.img_channels = img_channels
        self.c_dim = c_dim
        self.eye = _as_buffers(eye.eval())
        self.projection = RandomProjection(EYE_WIDTHS)
        self.cmap_dim = 64 if c_dim > 0 else 0
        sizes = [EYE_INPUT_SIZE // 2 ** (i + 1) for i in range(len(EYE_WIDTHS))]
        self.heads = nn.ModuleList(
            ScaleHead(c, s, self.cmap_dim or 1, mbstd_group_size)
            for c, s in zip(EYE_WIDTHS, sizes, strict=True)
        )
        self.mapping = MappingNetwork(0, c_dim, self.cmap_dim) if c_dim > 0 else None

    def train(self, mode: bool = True) -> ProjectedDiscriminator:
        super().train(mode)
        self.eye.eval()  # batch norm keeps the statistics the eye was trained with
        return self

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        r = self.img_resolution
        if img.ndim != 4 or img.shape[1:] != (self.img_channels, r, r):
            raise ValueError(f"expected images of shape [N, 3, {r}, {r}], got {tuple(img.shape)}")
        cmap = class_map(self.mapping, c, self.c_dim)
        maps = self.projection(self.eye.feature_maps(img.float()))
        logits = []
        for head, x in zip(self.heads, maps, strict=True):
            y = head(x)
            if cmap is not None:
                y = (y * cmap).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
            logits.append(y)
        return torch.stack(logits).mean(dim=0)


class DiscriminatorPair(nn.Module):
    """Today's D and the projected D judging together: ``D(img, c) = residual(img, c) + projected(img, c)``.

    Vision-aided GANs (Kumari et al. 2022) keep a GAN's own D and add one that sees through a
    pretrained network; on a few hundred images that helped where swapping D for it alone did not. A
    run with it can start from a model with today's D: the residual half is loaded, the projected half
    starts new. FreezeD (``blocks``, ``from_rgb``) acts on the residual half.
    """

    def __init__(self, residual: nn.Module, projected: ProjectedDiscriminator) -> None:
        super().__init__()
        self.residual = residual
        self.projected = projected

    @property
    def blocks(self) -> nn.ModuleList:
        return self.residual.blocks

    @property
    def from_rgb(self) -> nn.Module:
        return self.residual.from_rgb

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.residual(img, c) + self.projected(img, c)


def discriminator_state(
    module: nn.Module, state: dict[str, torch.Tensor], trained: str, wanted: str
) -> dict[str, torch.Tensor] | None:
    """A checkpoint's D ``state`` (trained as ``trained``) arranged for ``module`` (a ``wanted`` D);
    None when nothing of it carries over. A pair takes a single D's weights as its half of that kind,
    and keeps its own new weights for the other half; a single D of a kind the pair had takes its half.
    """
    if trained == wanted:
        return state
    own = module.state_dict()
    if wanted == "both" and trained in ("residual", "projected"):
        half = f"{trained}."
        return {
            **{k: v for k, v in own.items() if not k.startswith(half)},
            **{half + k: v for k, v in state.items()},
        }
    if trained == "both" and wanted in ("residual", "projected"):
        half = f"{wanted}."
        return {k[len(half) :]: v for k, v in state.items() if k.startswith(half)}
    return None
