"""Training configuration: presets < config file < command-line flags, validated by pydantic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import tomllib
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from maskgen.errors import MaskgenError

PresetName = Literal["cpu", "paper256"]

# Presets fill in everything a user did not set. `cpu` is small enough that the default run finishes
# in minutes on 2 cores; `paper256` is the paper's 256 px setting (StyleGAN2 "auto"-like widths).
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {
        "resolution": 32,
        "batch": 16,
        "kimg": 60.0,
        "max_minutes": 14.0,
        "lr_g": 0.002,
        "lr_d": 0.002,
        "augment_speed_kimg": 100.0,
        # The 0.0002 * res^2 / batch rule (0.0128 here) leaves these small nets' D so sharp that G
        # drifts into high-frequency speckle and back (FD[masknet] 25 -> 66-90 between 4 and 8 kimg in
        # 7 of 8 variants); gamma 4 trained steadily (FD 21 -> 19 -> 18 at 4/8/12 kimg).
        "r1_gamma": 4.0,
        "snapshot_kimg": 10.0,
        # Mirrored copies: most lianpu are symmetric, and small collections need every image (ADA's
        # x-flips). Part of the real-masks recipe measured in docs/training.md.
        "xflip": True,
        # Image folders: each mask found on its backdrop, centred and scaled as the built-in masks
        # are (maskgen.data.framing). On photographed masks FD[masknet] 1.79 framed against 4.15
        # unframed at equal kimg, measured alike (docs/training.md); G's mirror needs centred masks.
        "frame": True,
        "generator_options": {
            "z_dim": 128,
            "w_dim": 128,
            "mapping_layers": 2,
            "channel_base": 1024,
            "channel_max": 128,
            # On a few hundred intricate masks the 64 px noise inputs carry coloured speckle instead
            # of linework (docs/training.md); the shipped base model base:builtin-64px has none above
            # 16 px either, so 64 px runs start from it by default.
            "noise_max_resolution": 16,
            # Mirror G exactly when the data is mirror-symmetric (maskgen.data.symmetry decides and
            # the run says so): crisper patterns on lianpu, crooked faces kept when the data has them.
            "symmetric": "auto",
        },
    },
    "paper256": {
        "resolution": 256,
        "batch": 32,
        "kimg": 25000.0,
        "lr_g": 0.0025,
        "lr_d": 0.0025,
        "augment_speed_kimg": 500.0,
        "snapshot_kimg": 200.0,
        "frame": True,
        "generator_options": {
            "z_dim": 512,
            "w_dim": 512,
            "mapping_layers": 8,
            "channel_base": 16384,
            "channel_max": 512,
            # The reference's num_fp16_res: the top 4 resolutions in 16 bits (bf16 where supported).
            "mixed_precision_resolutions": 4,
            "symmetric": "auto",
        },
    },
}


class TrainConfig(BaseModel):
    """Everything that defines a training run; saved as ``config.json`` in the run directory."""

    model_config = ConfigDict(extra="forbid")

    preset: PresetName = Field("cpu", description="Defaults for sizes and budget: cpu or paper256.")
    data: str = Field(
        "builtin",
        description="Image folder, or procedural masks: builtin, builtin-detailed, builtin-photographed.",
    )
    dataset_count: int = Field(2000, ge=1, description="Number of built-in procedural masks.")
    dataset_seed: int = Field(0, description="Seed of the built-in procedural masks.")
    xflip: bool = Field(False, description="Add mirrored copies of the training images.")
    frame: bool = Field(
        False,
        description="Find each mask of an image folder on its backdrop and frame it as the built-in "
        "masks are (centred, 88% of the height), as 'maskgen dataset frame' does.",
    )
    data_cache: bool = Field(
        True, description="Keep an image folder's decoded images in DATA/.maskgen-cache/ for the next run."
    )
    resolution: int = Field(32, description="Image size in pixels (power of two, 4-1024).")
    generator: str = Field("stylegan2", description="Generator plugin name.")
    generator_options: dict[str, Any] = Field(default_factory=dict)
    cond: bool = Field(
        False,
        description="Class-conditional on the seven colour characters (labels.csv or class sub-folders).",
    )
    augment: str = Field("ada", description="Augmenter plugin name ('none' for plain StyleGAN2).")
    augment_options: dict[str, Any] = Field(default_factory=dict)
    augment_speed_kimg: float = Field(
        500.0, gt=0, description="Default speed of adaptive augmenters: kimg for strength 0 -> 1."
    )
    batch: int = Field(16, ge=2, description="Minibatch size.")
    kimg: float = Field(60.0, gt=0, description="Training length in thousands of real images shown to D.")
    max_minutes: float | None = Field(
        None, gt=0, description="Also stop (with a checkpoint) after this much training time."
    )
    seed: int = Field(0, description="Random seed of the run.")
    lr_g: float = Field(0.002, gt=0)
    lr_d: float = Field(0.002, gt=0)
    beta1: float = Field(0.0, ge=0, lt=1)
    beta2: float = Field(0.99, ge=0, lt=1)
    r1_gamma: float | None = Field(None, ge=0, description="R1 weight; None: 0.0002 * res^2 / batch.")
    r1_interval: int = Field(16, ge=1, description="Lazy R1 regularization interval (minibatches).")
    pl_weight: float = Field(2.0, ge=0, description="Path-length regularization weight (0 disables).")
    pl_interval: int = Field(4, ge=1)
    pl_batch_shrink: int = Field(2, ge=1)
    pl_decay: float = Field(0.01, gt=0, lt=1)
    style_mixing_prob: float = Field(0.9, ge=0, le=1)
    ema_kimg: float | None = Field(None, gt=0, description="G EMA half-life in kimg; None: batch * 10 / 32.")
    ema_rampup: float | None = Field(0.05, ge=0)
    snapshot_kimg: float = Field(10.0, gt=0, description="Sample grid and checkpoint every this many kimg.")
    tick_kimg: float = Field(1.0, gt=0, description="Losses and augment strength logged every N kimg.")
    keep_snapshots: int = Field(3, ge=1, description="Old checkpoints kept besides the latest.")
    grid_size: int = Field(8, ge=1, le=32, description="The sample grid is grid_size x grid_size.")
    device: str = Field("auto", description="'auto', 'cpu', 'cuda', 'cuda:1', 'mps'.")
    allow_tf32: bool = Field(True, description="On CUDA: TF32 matmuls and convolutions (Ampere and later).")
    init: str | None = Field(
        None,
        description="Start G, D and G_ema from this checkpoint (fine-tuning; base:NAME for a shipped "
        "base model); unset: the shipped base model of the same architecture if there is one; "
        "'none': from scratch.",
    )
    freeze_d: int = Field(
        0, ge=0, description="Freeze D's first N blocks from the image side when fine-tuning (FreezeD)."
    )

    @field_validator("resolution")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value < 4 or value > 1024 or value & (value - 1):
            raise ValueError(f"resolution must be a power of two between 4 and 1024, got {value}")
        return value

    def effective_r1_gamma(self) -> float:
        if self.r1_gamma is not None:
            return self.r1_gamma
        return 0.0002 * self.resolution**2 / self.batch

    def effective_ema_kimg(self) -> float:
        return self.ema_kimg if self.ema_kimg is not None else self.batch * 10 / 32


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML, TOML or JSON config file into a dict; any problem is one MaskgenError line."""
    path = Path(path)
    if not path.is_file():
        raise MaskgenError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise MaskgenError(f"cannot parse config file {path}: {' '.join(str(exc).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MaskgenError(f"config file {path} must contain a mapping of option names to values")
    return data


def file_values_for(config_file: Path | None, resume: Path | None) -> dict[str, Any]:
    """Options from ``--config`` layered over a resumed run's saved ``config.json`` (file wins)."""
    values = read_config_file(config_file) if config_file else {}
    if resume is None:
        return values
    previous = Path(resume) / "config.json"
    if not previous.is_file():
        raise MaskgenError(f"cannot resume: {previous} not found (is {resume} a run directory?)")
    saved = read_config_file(previous)
    options = saved.get("generator_options")
    if isinstance(options, dict) and "symmetric" not in options:
        # Saved before the presets chose symmetric=auto: the run was trained unmirrored, and a resumed
        # run must not decide again.
        saved["generator_options"] = {**options, "symmetric": False}
    return saved | values


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def resolve_config(file_values: dict[str, Any] | None = None, **flags: Any) -> TrainConfig:
    """Layer preset defaults, config-file values and flags (``None`` flags are 'not given')."""
    given = _merge(file_values or {}, {k: v for k, v in flags.items() if v is not None})
    preset = given.get("preset", "cpu")
    if preset not in PRESETS:
        raise MaskgenError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    defaults = dict(PRESETS[preset])
    if "kimg" in given:  # a length the user chose is not cut short by the preset's time budget
        defaults.pop("max_minutes", None)
    return validate_config(_merge(defaults, given))


def validate_config(values: dict[str, Any]) -> TrainConfig:
    try:
        return TrainConfig.model_validate(values)
    except ValidationError as exc:
        raise MaskgenError(f"bad config: {format_validation_error(exc)}") from None


def format_validation_error(exc: ValidationError) -> str:
    """The first problem of a pydantic error as one short line: 'field: message (got value)'."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "config"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"unknown option {where!r}"
    return f"{where}: {message} (got {err.get('input')!r})"
