"""Training configuration: presets < config file < command-line flags, validated by pydantic.

One schema, :class:`TrainConfig`, holds a run's settings, their defaults and their ranges. Its defaults
are the ``cpu`` preset's values (``PRESETS["cpu"]`` is the one place they are written), another preset
is layered by the schema itself, and the ranges and finiteness checks apply alike to a config file, a
saved ``config.json`` and the command-line flags (whose parsers in ``cli/options.py`` read the bounds
below).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Literal

import tomllib
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from maskgen.errors import MaskgenError

PresetName = Literal["cpu", "paper256"]
DEFAULT_PRESET = "cpu"

# -- the ranges that have a meaning, shared by config files and flags --------------------------------

SEED_MAX = 2**32 - 1  # seeds are 32-bit, what every random generator here accepts
KIMG_MAX = 1e6  # thousands of images; the paper's longest runs are 25,000 kimg
MINUTES_MAX = 60 * 24 * 365  # a year is the longest time budget taken
BATCH_MAX = 4096  # images per step; more fit on no device
IMAGES_MAX = 100_000  # images one command holds in memory (FID's standard set is 50,000)
LEARNING_RATE_MAX = 1.0  # Adam diverges far below a step size of 1
INTERVAL_MAX = 10_000  # minibatches between lazy regularization steps
WEIGHT_MAX = 10_000.0  # loss weights (R1 gamma, path length); the literature stays below 1,000

# The options that say how a run fine-tunes from its starting weights. A shipped base model may
# recommend values for them (its config's ``fine_tuning``), which a new run starting from it takes
# where its own config leaves them unset.
FINE_TUNING_OPTIONS = ("freeze_g", "freeze_g_to_rgb", "freeze_d", "cdc_weight")


def describe_options(options: dict[str, Any]) -> str:
    """{'freeze_g': 3, 'freeze_g_to_rgb': False} -> 'freeze_g 3, freeze_g_to_rgb false', as a config
    file writes the values."""
    return ", ".join(f"{key} {json.dumps(value)}" for key, value in options.items())


# Presets fill in everything a user did not set. `cpu` is small enough that the default run finishes
# in minutes on 2 cores, and its values are TrainConfig's defaults; `paper256` is the paper's 256 px
# setting (StyleGAN2 "auto"-like widths), which says wherever it differs from `cpu`.
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {
        "resolution": 32,
        "batch": 16,
        "kimg": 60.0,
        "max_minutes": 14.0,
        # The second stage (maskgen.upscaling.stage): the shipped 64 -> 256 px upscaler fine-tuned on
        # the collection's own masks for these minutes after the GAN, in the run's checkpoint.
        "upscale_minutes": 2.0,
        "lr_g": 0.002,
        "lr_d": 0.002,
        "augment_speed_kimg": 100.0,
        # The 0.0002 * res^2 / batch rule (0.0128 here) leaves these small nets' D so sharp that G
        # drifts into high-frequency speckle and back (FD[masknet] 25 -> 66-90 between 4 and 8 kimg in
        # 7 of 8 variants); gamma 4 trained steadily (FD 21 -> 19 -> 18 at 4/8/12 kimg).
        "r1_gamma": 4.0,
        "snapshot_kimg": 10.0,
        # Quality at every snapshot (maskgen.training.snapshot_metrics): FD[masknet] of 1000 masks
        # costs about 1% of a 64 px run on 2 cores; KD costs ten times more (docs/training.md,
        # "Watching a run").
        "metrics": ["fid"],
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
        "max_minutes": None,
        "upscale_minutes": None,  # a GPU run trains at 256 px itself
        "xflip": False,
        "r1_gamma": None,  # the reference's 0.0002 * res^2 / batch
        "lr_g": 0.0025,
        "lr_d": 0.0025,
        "augment_speed_kimg": 500.0,
        "snapshot_kimg": 200.0,
        "metrics": ["fid"],  # FD[masknet] every snapshot: seconds on a GPU, against hours of training
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


_CPU = PRESETS[DEFAULT_PRESET]


class TrainConfig(BaseModel):
    """Everything that defines a training run; saved as ``config.json`` in the run directory.

    A field not given takes its preset's value: the defaults below are the ``cpu`` preset's
    (:data:`PRESETS`), and ``preset: paper256`` layers that preset's values first.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    preset: PresetName = Field(DEFAULT_PRESET, description="Defaults for sizes and budget: cpu or paper256.")
    data: str = Field(
        "builtin",
        description="Image folder, or procedural masks: builtin, builtin-detailed, builtin-photographed.",
    )
    dataset_count: int = Field(2000, ge=1, le=IMAGES_MAX, description="Number of built-in procedural masks.")
    dataset_seed: int = Field(0, ge=0, le=SEED_MAX, description="Seed of the built-in procedural masks.")
    xflip: bool = Field(_CPU["xflip"], description="Add mirrored copies of the training images.")
    frame: bool = Field(
        _CPU["frame"],
        description="Find each mask of an image folder on its backdrop and frame it as the built-in "
        "masks are (centred, 88% of the height), as 'maskgen dataset frame' does.",
    )
    data_cache: bool = Field(
        True, description="Keep an image folder's decoded images in DATA/.maskgen-cache/ for the next run."
    )
    resolution: int = Field(_CPU["resolution"], description="Image size in pixels (power of two, 4-1024).")
    generator: str = Field("stylegan2", description="Generator plugin name.")
    generator_options: dict[str, Any] = Field(
        default_factory=lambda: copy.deepcopy(_CPU["generator_options"])
    )
    cond: bool = Field(
        False,
        description="Class-conditional on the seven colour characters (labels.csv or class sub-folders).",
    )
    augment: str = Field("ada", description="Augmenter plugin name ('none' for plain StyleGAN2).")
    augment_options: dict[str, Any] = Field(default_factory=dict)
    augment_speed_kimg: float = Field(
        _CPU["augment_speed_kimg"],
        gt=0,
        le=KIMG_MAX,
        description="Default speed of adaptive augmenters: kimg for strength 0 -> 1.",
    )
    batch: int = Field(_CPU["batch"], ge=2, le=BATCH_MAX, description="Minibatch size.")
    kimg: float = Field(
        _CPU["kimg"], gt=0, le=KIMG_MAX, description="Training length in thousands of real images shown to D."
    )
    max_minutes: float | None = Field(
        _CPU["max_minutes"],
        gt=0,
        le=MINUTES_MAX,
        description="Also stop (with a checkpoint) after this much training time; a kimg given without "
        "it is not cut short by the preset's.",
    )
    upscale_minutes: float | None = Field(
        _CPU["upscale_minutes"],
        ge=0,
        le=MINUTES_MAX,
        description="Second stage, for 64 px runs: minutes of fine-tuning the shipped 4x upscaler on the "
        "collection's masks at 256 px, so the run draws print-size masks (0: the upscaler as shipped; "
        "none: no second stage).",
    )
    seed: int = Field(0, ge=0, le=SEED_MAX, description="Random seed of the run.")
    lr_g: float = Field(_CPU["lr_g"], gt=0, le=LEARNING_RATE_MAX)
    lr_d: float = Field(_CPU["lr_d"], gt=0, le=LEARNING_RATE_MAX)
    beta1: float = Field(0.0, ge=0, lt=1)
    beta2: float = Field(0.99, ge=0, lt=1)
    r1_gamma: float | None = Field(
        _CPU["r1_gamma"], ge=0, le=WEIGHT_MAX, description="R1 weight; None: 0.0002 * res^2 / batch."
    )
    r1_interval: int = Field(
        16, ge=1, le=INTERVAL_MAX, description="Lazy R1 regularization interval (minibatches)."
    )
    pl_weight: float = Field(
        2.0, ge=0, le=WEIGHT_MAX, description="Path-length regularization weight (0 disables)."
    )
    pl_interval: int = Field(4, ge=1, le=INTERVAL_MAX)
    pl_batch_shrink: int = Field(2, ge=1, le=BATCH_MAX)
    pl_decay: float = Field(0.01, gt=0, lt=1)
    style_mixing_prob: float = Field(0.9, ge=0, le=1)
    ema_kimg: float | None = Field(
        None, gt=0, le=KIMG_MAX, description="G EMA half-life in kimg; None: batch * 10 / 32."
    )
    ema_rampup: float | None = Field(
        0.05, ge=0, le=1, description="EMA half-life at most this share of the images seen; None: no ramp."
    )
    snapshot_kimg: float = Field(
        _CPU["snapshot_kimg"],
        gt=0,
        le=KIMG_MAX,
        description="Sample grid and checkpoint every this many kimg.",
    )
    tick_kimg: float = Field(
        1.0, gt=0, le=KIMG_MAX, description="Losses and augment strength logged every N kimg."
    )
    metrics: list[str] = Field(
        default_factory=lambda: list(_CPU["metrics"]),
        description="Evaluators measured at every snapshot, by their 'maskgen eval -m' names (e.g. "
        "fid,c2st), on masknet features against the training images; empty or 'none': none.",
    )
    metrics_images: int = Field(
        1000, ge=2, le=IMAGES_MAX, description="Masks G draws for the snapshot metrics (seeds 0..N-1)."
    )
    tensorboard: bool = Field(
        True,
        description="Curves and sample grids in RUN/tensorboard/ when the tensorboard package is installed.",
    )
    keep_snapshots: int = Field(
        3, ge=1, le=IMAGES_MAX, description="Old checkpoints kept besides the latest."
    )
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
        0,
        ge=0,
        le=1000,  # D has as many blocks as halvings of the resolution: the check with D says how many
        description="Freeze D's first N blocks from the image side when fine-tuning (FreezeD).",
    )
    freeze_g: int = Field(
        0,
        ge=0,
        le=1000,  # G has as many synthesis blocks as doublings of 4 px: the check with G says how many
        description="Fine-tuning: keep G's mapping network (1) and then its first N-1 synthesis blocks "
        "from the 4 px side fixed, so the starting model's latents and coarse layouts stay (0: off; "
        "unset: what the starting base model recommends, else 0).",
    )
    freeze_g_to_rgb: bool = Field(
        True,
        description="With freeze_g: the fixed synthesis blocks' toRGB layers, which turn their features "
        "into colours, stay fixed too; false lets the colours follow the collection while the layouts stay.",
    )
    cdc_weight: float = Field(
        0.0,
        ge=0,
        le=WEIGHT_MAX,
        description="Fine-tuning: weight of the cross-domain correspondence term (Ojha et al. 2021), which "
        "keeps how alike the starting model's samples are to each other (0: off).",
    )
    mode_seeking_weight: float = Field(
        0.0,
        ge=0,
        le=WEIGHT_MAX,
        description="Weight of the mode-seeking term (Mao et al. 2019): two latents far apart should draw "
        "masks with different layouts (0: off).",
    )

    @model_validator(mode="before")
    @classmethod
    def _layer_preset(cls, values: Any) -> Any:
        """Fields not given take their preset's values (``cpu``'s are the defaults above); a training
        length given without a time budget is not cut short by the preset's budget."""
        if not isinstance(values, dict):
            return values
        layered = dict(values)
        preset = values.get("preset", DEFAULT_PRESET)
        if isinstance(preset, str) and preset in PRESETS:
            for key, value in PRESETS[preset].items():
                layered.setdefault(key, copy.deepcopy(value))
        if "kimg" in values and "max_minutes" not in values:
            layered["max_minutes"] = None
        return layered

    @field_validator("metrics", mode="before")
    @classmethod
    def _metric_names(cls, value: Any) -> Any:
        """'FID, c2st' or a list -> ['fid', 'c2st'], read as maskgen eval -m reads names; 'none': []."""
        if isinstance(value, str):
            value = [] if value.strip().lower() == "none" else value.split(",")
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            return value  # the schema's own error
        names = [name.strip().lower().replace("-", "").replace("_", "") for name in value]
        return list(dict.fromkeys(name for name in names if name))

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
    """Layer preset defaults, config-file values and flags (``None`` flags are 'not given').

    The flags win over the file, option by option inside ``generator_options`` too, and the schema
    fills in the rest from the preset (:meth:`TrainConfig._layer_preset`), so ``resolve_config(v)`` and
    ``validate_config(v)`` build the same run.
    """
    given = _merge(file_values or {}, {k: v for k, v in flags.items() if v is not None})
    preset = given.get("preset", DEFAULT_PRESET)
    if not isinstance(preset, str) or preset not in PRESETS:
        raise MaskgenError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    for key, value in PRESETS[preset].items():  # nested options: given ones over the preset's
        if isinstance(value, dict) and isinstance(given.get(key), dict):
            given[key] = _merge(value, given[key])
    return validate_config(given)


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
