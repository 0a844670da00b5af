"""The Typer application object and the error handling every command shares."""

from __future__ import annotations

from typing import Any

import click
import typer
from typer.core import TyperGroup

from maskgen.errors import MaskgenError


class _OneLineErrors(TyperGroup):
    """Turns a MaskgenError raised anywhere below into one stderr line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MaskgenError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None


def new_app(help_text: str) -> typer.Typer:
    return typer.Typer(
        help=help_text,
        cls=_OneLineErrors,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )


app = new_app("maskgen: generate Peking opera facial masks (京剧脸谱) from small image collections.")
