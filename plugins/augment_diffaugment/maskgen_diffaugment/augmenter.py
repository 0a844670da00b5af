"""DiffAugment as a maskgen :class:`~maskgen.Augmenter`: fixed-strength transforms on reals and fakes alike.

Zhao et al. (2020) apply the same kinds of random transforms to every image D sees, real or generated,
with probability 1, and let G's gradient flow through them. Their policy for small sets is colour
(brightness, saturation, contrast), translation by up to 1/8 of the image with an empty border, and
cutout of a square half the image's side. Unlike ADA and APA there is no controller: the strength
never moves. The overfitting heuristic E[sign(D(real))] is still measured, for the logs only.

Images are in [-1, 1]; "empty" (a translated border, a cut-out square) is 0, mid grey.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from pydantic import Field, field_validator

from maskgen import AugmentContext, Options, SignHeuristicAugmenter

Tensor = torch.Tensor

HEURISTIC_INTERVAL = 4  # minibatches per measurement of the (logged, not acted on) heuristic


def brightness(x: Tensor, shift: Tensor) -> Tensor:
    """Add ``shift`` [N] to every pixel of each image (the reference draws it from U(-0.5, 0.5))."""
    return x + shift.view(-1, 1, 1, 1).to(x.dtype)


def saturation(x: Tensor, factor: Tensor) -> Tensor:
    """Scale each pixel's distance from its own grey (the mean of its channels) by ``factor`` [N]."""
    grey = x.mean(dim=1, keepdim=True)
    return (x - grey) * factor.view(-1, 1, 1, 1).to(x.dtype) + grey


def contrast(x: Tensor, factor: Tensor) -> Tensor:
    """Scale each image's distance from its own mean by ``factor`` [N]."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * factor.view(-1, 1, 1, 1).to(x.dtype) + mean


def translate(x: Tensor, dy: Tensor, dx: Tensor, most_y: int, most_x: int) -> Tensor:
    """Shift image i by (``dy[i]``, ``dx[i]``) whole pixels (down, right), each at most ``most_y``,
    ``most_x`` in size; what enters is 0. ``out[i, :, y, x] = x[i, :, y - dy, x - dx]`` where that
    pixel exists. (The bounds are given, not read from ``dy`` and ``dx``: reading a tensor's value
    would make an accelerator wait every step.)
    """
    n, _, h, w = x.shape
    pad_y, pad_x = most_y, most_x
    padded = torch.nn.functional.pad(x, [pad_x, pad_x, pad_y, pad_y])
    rows = torch.arange(h, device=x.device).view(1, h, 1) - dy.view(n, 1, 1) + pad_y  # [N, H, 1]
    cols = torch.arange(w, device=x.device).view(1, 1, w) - dx.view(n, 1, 1) + pad_x  # [N, 1, W]
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # gather, differentiable


def cutout(x: Tensor, top: Tensor, left: Tensor, height: int, width: int) -> Tensor:
    """Set the ``height`` x ``width`` square at (``top[i]``, ``left[i]``) of image i to 0 (it may reach
    past the edges: only its part inside the image is cut)."""
    n, _, h, w = x.shape
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    top, left = top.view(n, 1, 1), left.view(n, 1, 1)
    inside = (ys >= top) & (ys < top + height) & (xs >= left) & (xs < left + width)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def random_colour(x: Tensor) -> Tensor:
    n = x.shape[0]
    x = brightness(x, torch.rand(n, device=x.device) - 0.5)
    x = saturation(x, torch.rand(n, device=x.device) * 2)
    return contrast(x, torch.rand(n, device=x.device) + 0.5)


def random_translation(x: Tensor, share: float) -> Tensor:
    n, _, h, w = x.shape
    most_y, most_x = int(h * share + 0.5), int(w * share + 0.5)
    if most_y == 0 and most_x == 0:
        return x
    dy = torch.randint(-most_y, most_y + 1, (n,), device=x.device)
    dx = torch.randint(-most_x, most_x + 1, (n,), device=x.device)
    return translate(x, dy, dx, most_y, most_x)


def random_cutout(x: Tensor, share: float) -> Tensor:
    n, _, h, w = x.shape
    height, width = int(h * share + 0.5), int(w * share + 0.5)
    if height == 0 or width == 0:
        return x
    # The square's centre is uniform over the image, so squares at an edge are partly outside.
    top = torch.randint(0, h + 1, (n,), device=x.device) - height // 2
    left = torch.randint(0, w + 1, (n,), device=x.device) - width // 2
    return cutout(x, top, left, height, width)


POLICIES = ("color", "translation", "cutout")


class DiffAugmentOptions(Options):
    """Options of the ``diffaugment`` augmenter."""

    policy: str = Field(
        "color,translation,cutout",
        description="Comma-separated transforms from color, translation, cutout, applied in the order given.",
    )
    translation: float = Field(0.125, ge=0.0, le=0.5, description="Largest shift, as a share of the side.")
    cutout: float = Field(
        0.5, ge=0.0, le=1.0, description="Side of the cut-out square, as a share of the side."
    )

    @field_validator("policy")
    @classmethod
    def _known_transforms(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in POLICIES]
        if unknown or not names or len(set(names)) != len(names):
            raise ValueError(
                f"policy {value!r}: a comma-separated list of distinct transforms from {', '.join(POLICIES)}"
            )
        return ",".join(names)


class DiffAugmenter(SignHeuristicAugmenter):
    """DiffAugment (Zhao et al. 2020): ``forward`` applies the policy's random transforms, drawn
    afresh for each call and each image; gradients flow through every one of them to G."""

    def __init__(self, options: DiffAugmentOptions, context: AugmentContext) -> None:
        super().__init__(HEURISTIC_INTERVAL, target=0.6, speed_kimg=context.speed_kimg, adaptive=False)
        self.options = options
        transforms: dict[str, Callable[[Tensor], Tensor]] = {
            "color": random_colour,
            "translation": lambda x: random_translation(x, options.translation),
            "cutout": lambda x: random_cutout(x, options.cutout),
        }
        self.transforms = [transforms[name] for name in options.policy.split(",")]

    def forward(self, images: Tensor) -> tuple[Tensor, None]:
        for transform in self.transforms:
            images = transform(images)
        return images, None

    @torch.no_grad()
    def end_step(self, batch_size: int) -> None:
        self.measure_heuristic()

    def stats(self) -> dict[str, float]:
        return {"augment/strength": 1.0} | self.heuristic_stats()

    def extra_repr(self) -> str:
        o = self.options
        return f"policy={o.policy}, translation={o.translation:g}, cutout={o.cutout:g}"
