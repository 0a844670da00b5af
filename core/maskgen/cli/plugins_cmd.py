"""``maskgen list-plugins``."""

from __future__ import annotations

import json
import re

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from maskgen.cli.app import SHARE, app
from maskgen.plugins import get_registry
from maskgen.plugins.interfaces import PLUGIN_KINDS


def citation_key(bibtex: str | None) -> str:
    """'@inproceedings{karras2020ada, ...' -> 'karras2020ada' (the full entry is in --json)."""
    match = re.match(r"\s*@\w+\s*\{\s*([^,\s]+)", bibtex or "")
    return match.group(1) if match else ""


@app.command("list-plugins", rich_help_panel=SHARE)
def list_plugins(
    as_json: bool = typer.Option(False, "--json", help="Print the same information as JSON."),
    checkpoints: bool = typer.Option(False, "--checkpoints", help="Also list named pretrained checkpoints."),
) -> None:
    """Show every registered generator, augmenter, translator and evaluator, and broken plugins."""
    registry = get_registry()
    rows = [
        {
            "kind": spec.kind,
            "name": spec.name,
            "distribution": spec.distribution,
            "version": spec.version,
            "summary": spec.summary,
            "label": spec.label or spec.name,
            "citation": spec.citation,
        }
        for kind in PLUGIN_KINDS
        for spec in registry.specs(kind)
    ]
    problems = [vars(p) for p in registry.problems]
    named = [
        {"name": name, "target": target, "distribution": dist}
        for name, (target, dist) in sorted(registry.pretrained_checkpoints().items())
    ]
    if as_json:
        payload = {"plugins": rows, "broken": problems}
        if checkpoints:
            payload["checkpoints"] = named
        typer.echo(json.dumps(payload, indent=2))
        return
    console = Console()
    table = Table(title="maskgen plugins")
    for column in ("kind", "name", "distribution", "version", "summary"):
        table.add_column(column, overflow="fold")
    for row in rows:
        name = row["name"] if row["label"] == row["name"] else f"{row['name']} ({row['label']})"
        key = citation_key(row["citation"])
        summary = row["summary"] + (f" [cite: {key}]" if key else "")
        table.add_row(
            *(escape(cell) for cell in (row["kind"], name, row["distribution"], row["version"], summary))
        )
    console.print(table)
    for problem in problems:
        console.print(
            f"[red]broken[/red] {problem['distribution']} ({problem['source']}): {problem['error']}"
        )
    if checkpoints:
        if not named:
            console.print("no named pretrained checkpoints are registered")
        for item in named:
            console.print(f"checkpoint {item['name']} -> {item['target']} ({item['distribution']})")
