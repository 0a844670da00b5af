"""Option types the commands share: numbers that must mean something, KEY=VALUE pairs, and checkpoints.

A value with no meaning (nan, inf, a negative count, a truncation psi of 1e300, a seed no generator
takes, a budget that never ends) is refused where the option is declared, with the range and the reason,
as a one-line usage error (``cli/app.py``)::

    kimg: float = typer.Option(None, "--kimg", parser=KIMG, help="...")
    seed: int = typer.Option(0, "--seed", parser=SEED, help="...")

An option that names a checkpoint is declared with :func:`checkpoint_option` (or
:func:`gan_checkpoint_option`, :func:`upscaler_option`), so that every one says the same forms::

    init: str = checkpoint_option(None, "--init", what="Start from this GAN", more="'none': ...")
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import typer
import yaml

from maskgen.cli.completion import complete_checkpoint
from maskgen.config import (
    BATCH_MAX,
    IMAGES_MAX,
    KIMG_MAX,
    LEARNING_RATE_MAX,
    MINUTES_MAX,
    SEED_MAX,
)
from maskgen.errors import MaskgenError

# The bounds are the training schema's (maskgen.config): a flag and a config file accept the same numbers.


def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _bounds(gt: float | None, ge: float | None, lt: float | None, le: float | None) -> str:
    """'between 0 and 4,294,967,295', 'above 0 and at most 1,000,000', 'at least -1', ..."""
    if ge is not None and le is not None:
        return f"between {_number(ge)} and {_number(le)}"
    low = f"above {_number(gt)}" if gt is not None else f"at least {_number(ge)}" if ge is not None else ""
    high = f"below {_number(lt)}" if lt is not None else f"at most {_number(le)}" if le is not None else ""
    return " and ".join(part for part in (low, high) if part)


def _in_range(x: float, gt: float | None, ge: float | None, lt: float | None, le: float | None) -> bool:
    return not (
        (gt is not None and x <= gt)
        or (ge is not None and x < ge)
        or (lt is not None and x >= lt)
        or (le is not None and x > le)
    )


def finite_float(
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    why: str = "",
) -> Callable[[Any], float]:
    """A typer ``parser`` for a float option: a finite number in the range, else the range and ``why``."""

    def parse(value: Any) -> float:
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise typer.BadParameter(f"{value!r} is not a number") from None
        if not math.isfinite(x):
            raise typer.BadParameter(f"{value!r} is not a finite number" + (f" ({why})" if why else ""))
        if not _in_range(x, gt, ge, lt, le):
            reason = f"; {why}" if why else ""
            raise typer.BadParameter(
                f"{_number(x)} is out of range: it must be {_bounds(gt, ge, lt, le)}{reason}"
            )
        return x

    return parse


def bounded_int(*, ge: int | None = None, le: int | None = None, why: str = "") -> Callable[[Any], int]:
    """A typer ``parser`` for an int option: a whole number in [ge, le], else the range and ``why``."""

    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise typer.BadParameter(f"{value!r} is not a whole number")
        if isinstance(value, int):
            n = value
        else:
            text = str(value).strip()
            try:
                n = int(text)
            except ValueError:
                raise typer.BadParameter(f"{value!r} is not a whole number") from None
        if not _in_range(n, None, ge, None, le):
            reason = f"; {why}" if why else ""
            raise typer.BadParameter(f"{n} is out of range: it must be {_bounds(None, ge, None, le)}{reason}")
        return n

    return parse


# -- the ranges that have a meaning ------------------------------------------------------------------

SEED = bounded_int(ge=0, le=SEED_MAX, why="seeds are 32-bit, what every random generator here accepts")
KIMG = finite_float(
    gt=0, le=KIMG_MAX, why="thousands of images shown to D; the paper's longest runs are 25,000 kimg"
)
MINUTES = finite_float(gt=0, le=MINUTES_MAX, why="minutes of training; a year is the longest budget taken")
IMAGES = bounded_int(ge=1, le=IMAGES_MAX, why="a set of images is held in memory")
EVAL_IMAGES = bounded_int(
    ge=2, le=IMAGES_MAX, why="a metric compares at least 2 images; a set is held in memory"
)
BATCH = bounded_int(ge=1, le=BATCH_MAX, why=f"images per step; more than {BATCH_MAX} fit on no device")
EPOCHS = bounded_int(ge=1, le=10_000, why="passes over the data")
LEARNING_RATE = finite_float(gt=0, le=LEARNING_RATE_MAX, why="Adam diverges far below a step size of 1")
TRUNCATION_PSI = finite_float(
    ge=-1,
    le=2,
    why="psi 1 is no truncation, 0 the average mask, -1 its opposite; beyond [-1, 2] w leaves "
    "the region G was trained on",
)
# XDoG (data/sketch.py): sigma in px at 256 px, the outer/inner ratio, the outer weight, threshold, ramp.
XDOG_SIGMA = finite_float(gt=0, le=64, why="the inner Gaussian in px at 256 px; wider blurs every line away")
XDOG_K = finite_float(gt=1, le=10, why="the outer Gaussian must be wider than the inner one")
XDOG_TAU = finite_float(ge=0, lt=1, why="the weight of the outer Gaussian; p = tau/(1-tau)")
XDOG_EPSILON = finite_float(ge=-1, le=1, why="a threshold on D, which lies in [-1, 1]")
XDOG_PHI = finite_float(gt=0, le=10_000, why="the ramp's steepness; beyond that use --binary")


def truncation_psi(value: Any) -> float:
    """The parser of a --truncation option (the same range wherever psi is given)."""
    return TRUNCATION_PSI(value)


# -- KEY=VALUE options -------------------------------------------------------------------------------


def yaml_value(raw: str, flag: str, pair: str) -> Any:
    """The YAML scalar (or list/dict) after '=' in a KEY=VALUE option; bad YAML is one line."""
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise MaskgenError(f"{flag} {pair!r}: the value is not valid YAML ({problem})") from None


def parse_key_values(pairs: list[str], flag: str) -> dict[str, Any]:
    """['target=0.7', 'p=0.2'] -> {'target': 0.7, 'p': 0.2}; values parsed as YAML scalars."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise MaskgenError(f"{flag} expects KEY=VALUE, got {pair!r}")
        values[key.strip()] = yaml_value(raw, flag, pair)
    return values


def parse_scoped_options(pairs: list[str], flag: str = "--augment-option") -> dict[str, dict[str, Any]]:
    """['apa.use_ema=true', 'ada.target=0.7'] -> {'apa': {'use_ema': True}, 'ada': {'target': 0.7}}."""
    options: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        name, dot, option = key.strip().partition(".")
        if not sep or not dot or not name or not option:
            raise MaskgenError(f"{flag} expects AUGMENTER.KEY=VALUE, got {pair!r}")
        options.setdefault(name, {})[option] = yaml_value(raw, flag, pair)
    return options


# -- checkpoint references ---------------------------------------------------------------------------

# What every option that names a checkpoint accepts: all of them resolve through
# maskgen.artifacts.checkpoint.resolve_checkpoint_dir, so they share one description.
# No square brackets: typer's rich help would read "[@REVISION]" as markup and drop it.
CHECKPOINT_FORMS = (
    "base:NAME (a model that ships with maskgen; see 'maskgen models'), hf://OWNER/REPO or "
    "hf://OWNER/REPO@REVISION (from the Hugging Face Hub), a checkpoint folder, or a run folder (its "
    "latest checkpoint)"
)


def checkpoint_help(what: str, more: str = "") -> str:
    """``WHAT: <the forms>. MORE``: the help of every option or argument that names a checkpoint."""
    return f"{what}: {CHECKPOINT_FORMS}." + (f" {more}" if more else "")


def checkpoint_option(default: Any, *flags: str, what: str, more: str = "") -> Any:
    """A typer option naming a checkpoint, with the shared help and base:/hf:// completion."""
    return typer.Option(
        default,
        *flags,
        help=checkpoint_help(what, more),
        metavar="CHECKPOINT",
        autocompletion=complete_checkpoint,
    )


GAN_CHECKPOINT = "The GAN that draws the masks"


def gan_checkpoint_option() -> Any:
    """The required --checkpoint of the commands that draw with a GAN (generate, mix, video, ...)."""
    return checkpoint_option(..., "--checkpoint", what=GAN_CHECKPOINT)


def upscaler_option(
    more: str = "Default: the one the checkpoint carries (for a shipped base model: the shipped upscaler).",
) -> Any:
    """--upscaler: another second stage than the GAN checkpoint's own."""
    return checkpoint_option(None, "--upscaler", what="Another upscaler for the second stage", more=more)
