"""Several augmenters applied one after the other (``--augment apa+ada``)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from maskgen.plugins.interfaces import Augmenter


class AugmenterStack(Augmenter):
    """Applies its parts left to right; D's conditioning is the concatenation of theirs."""

    def __init__(self, parts: list[Augmenter], names: list[str]) -> None:
        super().__init__()
        if len(names) != len(parts):
            raise ValueError(f"{len(parts)} augmenters but {len(names)} names")
        self.parts = torch.nn.ModuleList(parts)
        self.names = list(names)  # the plugin names, which prefix each part's statistics
        self.c_dim = sum(part.c_dim for part in parts)

    def prepare_reals(self, reals: torch.Tensor, make_fakes: Callable[..., torch.Tensor]) -> torch.Tensor:
        for part in self.parts:
            reals = part.prepare_reals(reals, make_fakes)
        return reals

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        conditions = []
        for part in self.parts:
            images, c = part(images)
            if c is not None:
                conditions.append(c)
        return images, torch.cat(conditions, dim=1) if conditions else None

    def observe(self, real_logits: torch.Tensor) -> None:
        for part in self.parts:
            part.observe(real_logits)

    def end_step(self, batch_size: int) -> None:
        for part in self.parts:
            part.end_step(batch_size)

    def stats(self) -> dict[str, float]:
        merged: dict[str, float] = {}
        for part, name in zip(self.parts, self.names, strict=True):
            for key, value in part.stats().items():
                merged[key.replace("augment/", f"augment/{name}/") if len(self.parts) > 1 else key] = value
        return merged
