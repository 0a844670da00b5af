"""The one metric table of maskgen's reports (Table 1 of Yan et al. 2023 and its like), shared by
``maskgen report`` (Tables 1 and 2) and ``maskgen compare``.

A row is a model with the ``{label: value}`` of each of its runs (several seeds: mean ± standard
deviation). Columns: the paper's (FID, KID x10^3, SSIM, MS-SSIM, declared by their evaluators'
``paper_column``) where asked for, then one per other metric label, keyed by :func:`metric_key`.
One rounding: a column whose values all lie within [-1, 1] shows 4 decimals, any other 2.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    scale: float = 1.0  # applied to values whose label does not say they are scaled already


def metric_key(label: str) -> tuple[str, bool, str]:
    """An evaluator's label -> (column key, value already x10^3, detail in parentheses).

    'FID[inception]' -> ('fid', False, ''): Inception's FID is the paper's FID. 'KD[masknet] x10^3'
    -> ('kd[masknet]', True, ''). 'MS-SSIM (window 7, 3 scales)' -> ('msssim', False, 'window 7, 3 scales').
    """
    base, _, detail = label.partition(" (")
    scaled = "x10^3" in base or "×10³" in base
    base = base.replace("x10^3", "").replace("×10³", "")
    key = "".join(ch for ch in base.lower() if ch.isalnum() or ch in "[]").replace("[inception]", "")
    return key, scaled, detail.rstrip(")")


def paper_columns() -> list[Column]:
    """The paper's Table 1 columns (FID, KID x10^3, SSIM, MS-SSIM), as maskgen's own evaluators
    declare them (``paper_column``): the table keeps its layout whichever evaluators a registry holds."""
    from maskgen.evaluation.metrics.base import Metric
    from maskgen.evaluation.plugin import maskgen_evaluators

    declared = []
    for spec in maskgen_evaluators():
        if isinstance(spec.factory, type) and issubclass(spec.factory, Metric) and spec.factory.paper_column:
            declared.append((spec.factory.paper_column, spec.name, spec.factory.shown_scale))
    return [Column(name, header, scale) for (_, header), name, scale in sorted(declared)]


def columns(runs: list[dict[str, float]], fixed: list[Column]) -> list[Column]:
    """``fixed`` first, then a column per other metric key of any run, in the order first seen."""
    out = list(fixed)
    known = {column.key for column in out}
    for values in runs:
        for label in values:
            key, scaled, _ = metric_key(label)
            if key not in known:
                known.add(key)
                out.append(
                    Column(
                        key, label.partition(" (")[0].replace(" x10^3", "") + (" (×10³)" if scaled else "")
                    )
                )
    return out


def details(runs: list[dict[str, float]]) -> list[str]:
    """'MS-SSIM: window 7, 3 scales' for labels that carry how they were computed."""
    found = {}
    for values in runs:
        for label in values:
            detail = metric_key(label)[2]
            if detail:
                found[label.partition(" (")[0]] = detail
    return [f"{name}: {detail}" for name, detail in found.items()]


def column_values(runs: list[dict[str, float]], column: Column) -> list[float]:
    """The runs' values of one column, brought to the column's scale unless their label says they are."""
    out = []
    for values in runs:
        for label, value in values.items():
            key, scaled, _ = metric_key(label)
            if key == column.key:
                out.append(value if scaled else value * column.scale)
    return out


def cell(values: list[float], digits: int) -> str:
    """'12.34' for one run, '12.34 ± 0.56' for several, 'n/a' for none."""
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def metric_table(
    rows: list[tuple[str, list[dict[str, float]]]],
    first_header: str,
    fixed: list[Column] | None = None,
    higher_is_better: dict[str, bool] | None = None,
) -> list[str]:
    """Markdown lines: a header, then one line per (model, runs). With ``higher_is_better`` (by column
    key), the best value of a column is bold where one model alone has it."""
    every_run = [values for _, runs in rows for values in runs]
    cols = columns(every_run, fixed or [])
    lines = [f"| {first_header} | " + " | ".join(c.header for c in cols) + " |", "|---|" + "---|" * len(cols)]
    table: list[list[str]] = [[] for _ in rows]
    for column in cols:
        per_row = [column_values(runs, column) for _, runs in rows]
        digits = 4 if all(abs(v) <= 1 for vs in per_row for v in vs) else 2
        texts = [cell(vs, digits) for vs in per_row]
        direction = (higher_is_better or {}).get(column.key)
        means = [statistics.mean(vs) if vs else None for vs in per_row]
        present = [m for m in means if m is not None]
        if direction is not None and len(rows) > 1 and present:
            best = max(present) if direction else min(present)
            if means.count(best) == 1:
                texts[means.index(best)] = f"**{texts[means.index(best)]}**"
        for row, text in zip(table, texts, strict=True):
            row.append(text)
    lines += [
        f"| {label} | " + " | ".join(cells) + " |" for (label, _), cells in zip(rows, table, strict=True)
    ]
    return lines
