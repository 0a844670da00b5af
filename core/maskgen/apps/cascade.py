"""The two-stage cascade: the GAN decides the mask at its own size, the upscaler draws it at print size.

``load_cascade`` gives both stages of a checkpoint; ``Cascade.draw`` returns masks at any size the
cascade can make (the GAN's resolution, or that times the upscaler's scale); ``upscale_files`` enlarges
pictures with an upscaler alone (``maskgen upscale apply``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from maskgen.artifacts.checkpoint import Checkpoint, load_checkpoint
from maskgen.artifacts.generator import generate_images, load_generator
from maskgen.artifacts.upscaler import UPSCALER, load_upscaler, resolve_upscaler, upscale, upscaler_for
from maskgen.devices import pick_device
from maskgen.errors import MaskgenError
from maskgen.images import from_uint8, save_png, to_uint8


@dataclass
class Cascade:
    """A GAN's generator and, where the checkpoint has one, its upscaler."""

    generator: torch.nn.Module
    checkpoint: Checkpoint
    upscaler: torch.nn.Module | None = None
    upscaler_path: Path | None = None

    @property
    def resolution(self) -> int:
        return int(self.generator.img_resolution)

    @property
    def sizes(self) -> list[int]:
        """The sizes this cascade draws, smallest first."""
        if self.upscaler is None:
            return [self.resolution]
        return [self.resolution, self.resolution * int(self.upscaler.scale)]

    @property
    def largest(self) -> int:
        return self.sizes[-1]

    def check_size(self, size: int | None) -> int:
        """``size`` if the cascade can draw it (None: the largest); otherwise one line saying what it can."""
        if size is None:
            return self.largest
        if size in self.sizes:
            return size
        if self.upscaler is None and size > self.resolution:
            raise MaskgenError(
                f"{self.checkpoint.path} draws {self.resolution} px masks and has no upscaler for {size} px "
                "(train one with 'maskgen run', which trains both stages, or pass --upscaler)"
            )
        raise MaskgenError(
            f"cannot draw {size} px masks with {self.checkpoint.path}: it draws "
            f"{' or '.join(f'{s} px' for s in self.sizes)}"
        )

    def enlarge(self, images: torch.Tensor, size: int) -> torch.Tensor:
        """Masks at the GAN's size -> masks at ``size`` (one of :attr:`sizes`), in [-1, 1]."""
        size = self.check_size(size)
        if size == self.resolution or self.upscaler is None:
            return images
        # Clipped as a saved picture is: the upscaler then draws what `upscale apply` would from a PNG.
        return upscale(self.upscaler, images.clamp(-1, 1))

    def draw(
        self,
        seeds: list[int],
        truncation: float = 1.0,
        noise_mode: str = "const",
        class_index: int | None = None,
        size: int | None = None,
    ) -> torch.Tensor:
        """One mask per seed at ``size`` (default: the largest), [N, 3, size, size] in [-1, 1]."""
        size = self.check_size(size)
        small = generate_images(
            self.generator, seeds, truncation=truncation, noise_mode=noise_mode, class_index=class_index
        )
        return self.enlarge(small, size)


def load_cascade(checkpoint: str | Path, device: torch.device, upscaler: str | None = None) -> Cascade:
    """The generator of a GAN checkpoint and its upscaler (``upscaler``: another one, PATH or base:NAME).

    An upscaler that cannot enlarge this GAN's masks (another small size) is one line.
    """
    generator, loaded = load_generator(checkpoint, device)
    where = resolve_upscaler(loaded, upscaler)
    if where is None:
        return Cascade(generator, loaded)
    network, upscaler_checkpoint = load_upscaler(where, device)
    small = upscaler_checkpoint.config.get("small_size")
    if small != generator.img_resolution:
        raise MaskgenError(
            f"the upscaler {upscaler_checkpoint.path} enlarges {small} px masks, but {loaded.path} draws "
            f"{generator.img_resolution} px masks"
        )
    return Cascade(generator, loaded, network, upscaler_checkpoint.path)


def _upscaler_of(reference: str | Path, device: torch.device) -> tuple[torch.nn.Module, Checkpoint]:
    """An upscaler checkpoint, or the upscaler a GAN checkpoint carries."""
    # Enlarging draws with U_ema alone: a Hub reference fetches no training weights for it.
    checkpoint = load_checkpoint(reference, inference_only=True)
    if checkpoint.config.get("kind") == UPSCALER:
        return load_upscaler(checkpoint.path, device)
    where = upscaler_for(checkpoint)
    if where is None:
        raise MaskgenError(f"{checkpoint.path} is neither an upscaler nor a checkpoint that carries one")
    return load_upscaler(where, device)


def upscale_files(reference: str | Path, inputs: list[Path], out: Path, device: str = "auto") -> int:
    """Enlarge every picture in ``inputs`` (files or folders) into ``out``; returns how many were written.

    Each picture is first fitted to the upscaler's input size (as a GAN sample is); unreadable files are
    one line each, like every image input of maskgen.
    """
    from maskgen.data.folder import find_images, load_image

    network, checkpoint = _upscaler_of(reference, pick_device(device))
    small = int(checkpoint.config["small_size"])
    files: list[Path] = []
    for item in inputs:
        if item.is_dir():
            files.extend(find_images(item))
        elif item.is_file():
            files.append(item)
        else:
            raise MaskgenError(f"not found: {item}")
    if not files:
        raise MaskgenError("no pictures to enlarge")
    for path in files:
        image = from_uint8(load_image(path, small)[None])
        large = upscale(network, image)
        save_png(to_uint8(large)[0], out / f"{path.stem}.png")
    return len(files)
