"""Translation training configuration: presets < translator's preset options < config file < flags."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from maskgen.config import format_validation_error
from maskgen.errors import MaskgenError

PresetName = Literal["cpu", "paper256"]

# `cpu`: 64 px, reduced widths (set by each translator's own "cpu" preset), a budget that finishes in
# minutes on 2 cores. `paper256`: the paper's 256 px with the original widths.
PRESETS: dict[str, dict[str, Any]] = {
    # cpu: more pseudo pairs than the original's 30%: the only pairs with a pixel-aligned feature loss.
    "cpu": {
        "size": 64,
        "batch": 4,
        "kimg": 4.0,
        "snapshot_kimg": 1.0,
        "dataset_count": 2000,
        "pseudo_prob": 0.5,
    },
    "paper256": {"size": 256, "batch": 16, "kimg": 2000.0, "snapshot_kimg": 50.0, "dataset_count": 7128},
}


class TranslateConfig(BaseModel):
    """Everything that defines a translation run; saved as ``config.json`` in the run directory."""

    model_config = ConfigDict(extra="forbid")

    preset: PresetName = "cpu"
    translator: str = Field("cocosnet", description="Translator plugin name (cocosnet, spade, ...).")
    translator_options: dict[str, Any] = Field(default_factory=dict)
    data: str = Field("builtin", description="Image folder, 'builtin' or 'builtin-detailed'.")
    sketches: str | None = Field(None, description="Folder of sketches matching --data; default: XDoG.")
    dataset_count: int = Field(2000, ge=2, description="Number of built-in procedural masks.")
    dataset_seed: int = Field(0, ge=0, description="Seed of the built-in procedural masks.")
    size: int = Field(64, description="Image size (power of two, 16-1024).")
    batch: int = Field(4, ge=1)
    kimg: float = Field(4.0, gt=0, description="Training length in thousands of target images.")
    seed: int = 0
    snapshot_kimg: float = Field(1.0, gt=0)
    keep_snapshots: int = Field(3, ge=1)
    features: Literal["vgg19", "masknet", "random"] = Field(
        "vgg19", description="Feature network of the perceptual/contextual losses (falls back when absent)."
    )
    feature_weights: str | None = Field(None, description="Explicit VGG19 weights file.")
    pseudo_prob: float = Field(0.3, ge=0, le=1, description="Probability of a pseudo-exemplar reference.")
    xdog: dict[str, Any] = Field(default_factory=dict, description="XDoG parameter overrides.")
    sheet_rows: int = Field(8, ge=1, le=64, description="Rows of the contact sheet.")
    device: str = "auto"
    init: str | None = Field(
        None,
        description="Start T and D from this translation checkpoint (PATH, hf://OWNER/REPO@REV or "
        "base:NAME; weights only); unset: the shipped base translator of the same translator, size and "
        "weight shapes if there is one; 'none': from scratch.",
    )

    @field_validator("size")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value < 16 or value > 1024 or value & (value - 1):
            raise ValueError(f"size must be a power of two between 16 and 1024, got {value}")
        return value


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = (
            _merge(merged[key], value)
            if isinstance(value, dict) and isinstance(merged.get(key), dict)
            else value
        )
    return merged


def resolve_translate_config(
    file_values: dict[str, Any] | None = None,
    translator_presets: dict[str, dict[str, Any]] | None = None,
    **flags: Any,
) -> TranslateConfig:
    """Layer preset, the translator's preset options, config-file values and flags (None = not given)."""
    given = _merge(file_values or {}, {k: v for k, v in flags.items() if v is not None})
    preset = given.get("preset", "cpu")
    if preset not in PRESETS:
        raise MaskgenError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    if translator_presets is None:  # the translator's own widths for this preset, e.g. reduced for cpu
        from maskgen.plugins import get_registry

        spec = get_registry().get("translator", given.get("translator", "cocosnet"))
        translator_presets = spec.presets
    base = dict(PRESETS[preset])
    base["translator_options"] = dict(translator_presets.get(preset, {}))
    return validate_translate_config(_merge(base, given))


def validate_translate_config(values: dict[str, Any]) -> TranslateConfig:
    try:
        return TranslateConfig.model_validate(values)
    except ValidationError as exc:
        raise MaskgenError(f"bad config: {format_validation_error(exc)}") from None
