"""The second stage of a GAN run: the upscaler fine-tuned on the collection's own masks at print size.

After ``maskgen run`` has trained its GAN at 64 px, the shipped base upscaler (64 -> 256 px) is
fine-tuned on the same folder's masks read at 256 px for the stage's minutes, and its inference
weights go into the GAN's latest checkpoint as ``upscaler/``, so the run's checkpoint draws print-size
masks. The upscaler's own run lives in ``RUN/upscaler/`` and resumes like any run. A collection whose
pictures are mostly smaller than 256 px has no linework at that size to learn from: the run says so
and keeps its 64 px output. Runs on the built-in masks get the base upscaler as it is (it was trained
on them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from maskgen.artifacts.base_models import BASE_SCHEME, base_models_dir, read_base_config
from maskgen.artifacts.layout import LATEST
from maskgen.artifacts.upscaler import attach_upscaler, base_upscaler_for
from maskgen.data.datasets import is_builtin_set
from maskgen.data.folder import find_images
from maskgen.training.scaffold import MessageCallback
from maskgen.upscaling.config import validate_upscale_config

SCALE = 4
STAGE_DIR = "upscaler"
# What a fine-tuning run keeps of its base upscaler's training settings.
INHERITED = ("upscaler", "upscaler_options", "batch", "lr", "adversarial_weight", "ema_kimg", "degradation")


@dataclass(frozen=True)
class StagePlan:
    """What the second stage of a run will do, decided before it starts (and said by the CLI)."""

    base: Path | None  # the shipped base upscaler for this resolution
    fine_tune: bool  # on the collection's own large masks
    reason: str  # one line for the user

    @property
    def runs(self) -> bool:
        return self.base is not None


def share_smaller_than(folder: Path, size: int) -> float:
    """The share of a folder's pictures whose shorter side is below ``size`` (read from headers)."""
    paths = find_images(folder)
    small = 0
    for path in paths:
        try:
            with Image.open(path) as header:
                small += min(header.size) < size
        except (OSError, UnidentifiedImageError, ValueError):
            continue  # unreadable files are the first stage's to report
    return small / max(1, len(paths))


def plan_stage(data: str | None, resolution: int, minutes: float) -> StagePlan:
    """Whether and how a run on ``data`` at ``resolution`` gets an upscaler."""
    size = resolution * SCALE
    base = base_upscaler_for(resolution)
    if base is None:
        return StagePlan(
            None, False, f"no print-size stage: maskgen ships no upscaler for {resolution} px masks"
        )
    if is_builtin_set(data):
        return StagePlan(base, False, f"masks at {size} px through the shipped upscaler {base.name}")
    if minutes <= 0:
        return StagePlan(
            base, False, f"masks at {size} px through the shipped upscaler {base.name} (not fine-tuned)"
        )
    smaller = share_smaller_than(Path(str(data)), size)
    if smaller > 0.5:
        return StagePlan(
            None,
            False,
            f"keeping {resolution} px masks: {smaller:.0%} of the pictures are smaller than {size} px, "
            "too small to teach an upscaler print-size linework",
        )
    return StagePlan(base, True, f"fine-tuning the upscaler {base.name} on the collection at {size} px")


def run_stage(
    run_dir: Path,
    data: str | None,
    resolution: int,
    minutes: float,
    say: MessageCallback,
    seed: int = 0,
    device: str = "auto",
) -> Path | None:
    """Run (or resume, or only re-attach) the second stage of the GAN run in ``run_dir``; returns the
    upscaler folder now in the latest checkpoint, or None when the run keeps its GAN's size."""
    from maskgen.upscaling.trainer import train

    plan = plan_stage(data, resolution, minutes)
    say(plan.reason)
    gan_checkpoint = (run_dir / "checkpoints" / LATEST).resolve()
    if plan.base is None:
        return None
    if not plan.fine_tune:
        return _attach(gan_checkpoint, plan.base)
    stage_dir = run_dir / STAGE_DIR
    # The base upscaler's own architecture and training settings, on the collection's masks.
    base_train = (read_base_config(plan.base) or {}).get("train") or {}
    size = resolution * SCALE
    shipped = plan.base.parent.resolve() == base_models_dir().resolve()
    values = {
        **{key: base_train[key] for key in INHERITED if key in base_train},
        "crop": min(int(base_train.get("crop", size)), size),
        "data": str(data),
        "size": size,
        "scale": SCALE,
        "init": f"{BASE_SCHEME}{plan.base.name}" if shipped else str(plan.base),
        "max_minutes": minutes,
        "kimg": 1e5,  # the minutes decide
        "adversarial_start_kimg": 0.0,
        "snapshot_kimg": 1.0,
        "seed": seed,
        "device": device,
    }
    config = validate_upscale_config(values)
    resume = stage_dir if (stage_dir / "checkpoints" / LATEST).exists() else None
    train(config, resume_dir=resume, run_dir=None if resume else stage_dir, on_message=say)
    return _attach(gan_checkpoint, stage_dir / "checkpoints" / LATEST)


def _attach(gan_checkpoint: Path, upscaler: Path) -> Path:
    """The upscaler into the GAN checkpoint, and the checkpoint's card rewritten to say so."""
    import contextlib

    from maskgen.artifacts.checkpoint import read_checkpoint_json
    from maskgen.artifacts.layout import CONFIG_FILE, README_FILE, SAMPLES_FILE
    from maskgen.artifacts.modelcard import model_card
    from maskgen.errors import MaskgenError
    from maskgen.outputs import write_text

    attached = attach_upscaler(gan_checkpoint, upscaler)
    config = read_checkpoint_json(gan_checkpoint / CONFIG_FILE)
    with_samples = (gan_checkpoint / SAMPLES_FILE).is_file()
    card = model_card(
        config,
        sample_image=SAMPLES_FILE if with_samples else None,
        with_training_state=True,
        upscaler=read_checkpoint_json(attached / CONFIG_FILE),
    )
    with contextlib.suppress(MaskgenError):  # the card is a convenience; the weights are what count
        write_text(gan_checkpoint / README_FILE, card)
    return attached
