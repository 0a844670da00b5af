"""The settings of an upscaler training run, one schema for flags and config files."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from maskgen.config import format_validation_error
from maskgen.data.datasets import is_builtin_set
from maskgen.errors import MaskgenError

BUILTIN_MIX = "builtin-mix"  # the detailed and the photographed built-in masks, as the base upscaler saw


def is_builtin(data: str) -> bool:
    """Whether an upscaler run's ``data`` names built-in masks (rendered, not read from a folder)."""
    return is_builtin_set(data) or data.strip().lower() == BUILTIN_MIX


class UpscaleConfig(BaseModel):
    """Everything that defines an upscaler run; saved as ``config.json`` in the run directory."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    data: str = Field(
        BUILTIN_MIX,
        description="Image folder at the output size or more, or built-in masks: builtin-mix (detailed "
        "and photographed), builtin-detailed, builtin-photographed.",
    )
    dataset_count: int = Field(1600, ge=2, le=100_000, description="Number of built-in masks rendered.")
    # Seeds 0 and 1 are the quality benchmark's training and held-out masks: the base upscaler sees neither.
    dataset_seed: int = Field(7, ge=0, le=2**31 - 1, description="Seed of the built-in masks.")
    photographed_share: float = Field(
        0.2, ge=0, le=1, description="builtin-mix: the share of photographed masks (slower to render)."
    )
    frame: bool = Field(True, description="Frame an image folder's masks as the built-in ones are.")
    size: int = Field(256, description="Output size in pixels (power of two, 32-2048).")
    scale: int = Field(4, description="Enlargement factor: 2, 4 or 8.")
    upscaler: str = Field("rrdb", description="Upscaler plugin name.")
    upscaler_options: dict[str, Any] = Field(default_factory=dict)
    crop: int = Field(128, ge=16, le=2048, description="Training crops of the large masks, in pixels.")
    batch: int = Field(8, ge=1, le=4096)
    kimg: float = Field(40.0, gt=0, le=1e6, description="Training length in thousands of crops.")
    max_minutes: float | None = Field(None, gt=0, le=1e6, description="Also stop after this many minutes.")
    lr: float = Field(2e-4, gt=0, le=1.0, description="Adam learning rate of the upscaler and its D.")
    adversarial_weight: float = Field(
        0.02, ge=0, le=100, description="Weight of the adversarial loss beside L1 (0: L1 only)."
    )
    adversarial_start_kimg: float = Field(
        4.0, ge=0, le=1e6, description="L1 alone before this (new runs): D judges an upscaler worth judging."
    )
    ema_kimg: float = Field(2.0, gt=0, le=1e6, description="Half-life of the weights' average (kimg).")
    degradation: dict[str, float] = Field(
        default_factory=dict, description="Overrides of maskgen.data.degrade.Degradation's strengths."
    )
    seed: int = Field(0, ge=0, le=2**31 - 1)
    snapshot_kimg: float = Field(4.0, gt=0, le=1e6)
    keep_snapshots: int = Field(2, ge=1, le=1000)
    device: str = "auto"
    init: str | None = Field(
        None,
        description="Start from this upscaler checkpoint (PATH, base:NAME, hf://...; weights only); "
        "unset: the shipped base upscaler of the same architecture; 'none': from scratch.",
    )

    @field_validator("size")
    @classmethod
    def _size(cls, value: int) -> int:
        if value < 32 or value > 2048 or value & (value - 1):
            raise ValueError(f"size must be a power of two between 32 and 2048, got {value}")
        return value

    @field_validator("scale")
    @classmethod
    def _scale(cls, value: int) -> int:
        if value not in (2, 4, 8):
            raise ValueError(f"scale must be 2, 4 or 8, got {value}")
        return value

    @model_validator(mode="after")
    def _crop_fits(self) -> UpscaleConfig:
        if self.crop > self.size or self.crop % self.scale:
            raise ValueError(
                f"crop must be at most the size ({self.size}) and a multiple of the scale ({self.scale})"
            )
        return self

    @property
    def small_size(self) -> int:
        return self.size // self.scale


def validate_upscale_config(values: dict[str, Any]) -> UpscaleConfig:
    try:
        return UpscaleConfig.model_validate(values)
    except ValidationError as exc:
        raise MaskgenError(f"bad upscaler config: {format_validation_error(exc)}") from None
