"""Where a checkpoint's weights come from: the runs it was fine-tuned from, oldest first.

A run started with ``--init`` (or from a shipped base model) records in its config the source's own
history plus one step for the source itself: ``lineage = [{"init": "base:builtin-64px", "kimg": 200.0,
"dataset": "..."}, ...]``. The record is made when the weights are loaded, because a reference such as
``base:NAME`` names whatever is shipped under that name today: a base model retrained and shipped
under its old name would otherwise describe itself as its own parent. Checkpoints from before the
record existed get their history derived from ``train.init`` where it names a shipped base model.
"""

from __future__ import annotations

from typing import Any

from maskgen.artifacts.base_models import BASE_SCHEME, base_model_path, read_base_config
from maskgen.errors import MaskgenError

MAX_DEPTH = 16  # a derived history longer than this is a cycle of references, not a history


def lineage_step(reference: str, source_config: dict[str, Any]) -> dict[str, Any]:
    """The step for a source checkpoint: what it was called, how long it trained, and on what."""
    kimg = source_config.get("kimg")
    dataset = source_config.get("dataset")
    return {
        "init": reference,
        "kimg": float(kimg) if isinstance(kimg, (int, float)) else None,
        "dataset": dataset.get("name") if isinstance(dataset, dict) else None,
    }


def lineage_of(config: dict[str, Any], _depth: int = 0) -> list[dict[str, Any]]:
    """The runs a checkpoint's weights came through before its own, oldest first ([] from scratch)."""
    recorded = config.get("lineage")
    if isinstance(recorded, list):
        return [step for step in recorded if isinstance(step, dict)]
    init = (config.get("train") or {}).get("init")
    if not isinstance(init, str) or not init.startswith(BASE_SCHEME):  # scratch, a path, hf://
        return []
    try:
        parent = read_base_config(base_model_path(init))
    except MaskgenError:  # a base model no longer shipped leaves the history unknown
        parent = None
    if parent is None or _depth >= MAX_DEPTH:
        return [{"init": init, "kimg": None, "dataset": None}]
    return [*lineage_of(parent, _depth + 1), lineage_step(init, parent)]


def extended_lineage(reference: str, source_config: dict[str, Any]) -> list[dict[str, Any]]:
    """The lineage a new run started from ``reference`` (whose config is ``source_config``) records."""
    return [*lineage_of(source_config), lineage_step(reference, source_config)]


def total_kimg(config: dict[str, Any]) -> float | None:
    """The kimg of every run in the history plus the checkpoint's own; None when one is unknown."""
    return _total(config.get("kimg"), lineage_of(config))


def _total(own: Any, steps: list[dict[str, Any]]) -> float | None:
    lengths = [own, *(step.get("kimg") for step in steps)]
    if any(not isinstance(k, (int, float)) for k in lengths):
        return None
    return float(sum(lengths))


def describe_lineage(config: dict[str, Any]) -> str | None:
    """'200 kimg as `base:builtin-64px`, 60 kimg as `base:builtin-64px-mirrored`, then 182 kimg in this
    run: 442 kimg in all', or None for a run from scratch."""
    steps = lineage_of(config)
    if not steps:
        return None

    def length(kimg: Any) -> str:
        if not isinstance(kimg, (int, float)):
            return "? kimg"
        return f"{kimg:.0f} kimg" if kimg >= 10 else f"{kimg:.3g} kimg"

    parts = [f"{length(step.get('kimg'))} as `{step.get('init')}`" for step in steps]
    parts.append(f"then {length(config.get('kimg'))} in this run")
    total = _total(config.get("kimg"), steps)
    return ", ".join(parts) + (f": {length(total)} in all" if total is not None else "")
