"""The Typer application object and the error handling every command shares.

No command ends in a traceback for something the user can fix (docs/reliability.md, promise 9): a
:class:`MaskgenError`, a usage error (a missing option, a value out of range), an OSError (a folder that
cannot be written, a full disk) and running out of memory each end in one ``error: ...`` line on stderr,
with exit code 2 for usage errors and 1 otherwise. Anything else is a bug and keeps its traceback.

``maskgen --help`` shows the commands in panels (:data:`PANELS`, in that order); every command names
its panel with ``rich_help_panel``. The top-level app offers shell completion (``--install-completion``,
``cli/completion.py``); while the shell asks for completions a command checks nothing of its own, as
the line is still being typed.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from maskgen.errors import MaskgenError

try:  # typer >= 0.20 carries its own copy of click, whose errors all derive from TyperException
    from typer import TyperException as ClickException
except ImportError:  # pragma: no cover - typer on top of click
    from click import ClickException  # type: ignore[assignment]

# The panels of `maskgen --help`, in the order they are shown: training first, as most users come for it.
TRAIN = "Train"
DRAW = "Draw and explore"
EVALUATE = "Evaluate"
TRANSLATE = "Translate"
DATA = "Data"
SHARE = "Share"
PANELS = (TRAIN, DRAW, EVALUATE, TRANSLATE, DATA, SHARE)

# Errors that only a write can meet; for the others the message names the path and the reason alone.
_WRITE_ERRNOS = {errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EEXIST}


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def os_error_line(exc: OSError) -> str:
    """``cannot write PATH: reason`` (a write-only errno), ``PATH: reason``, or the reason alone."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return _one_line(reason)
    path = str(exc.filename) + (f" -> {exc.filename2}" if exc.filename2 is not None else "")
    verb = "cannot write " if exc.errno in _WRITE_ERRNOS else ""
    return _one_line(f"{verb}{path}: {reason}")


def _shows_help(exc: BaseException) -> bool:
    """Whether ``exc`` is click's way of printing a group's help when it is given no command
    (``NoArgsIsHelpError``, click >= 8.2 and typer's copy). Neither exports the class, so it is known by
    its name, as typer itself knows it."""
    return type(exc).__name__ == "NoArgsIsHelpError"


def _usage_line(exc: ClickException) -> str:
    message = _one_line(exc.format_message())
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message += f" (see: {ctx.command_path} --help)"
    return message


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


class _OneLineErrors(TyperGroup):
    """Ends every failure below it that the user can fix in one stderr line (see the module doc)."""

    def list_commands(self, ctx: Any) -> list[str]:
        """The commands panel by panel (:data:`PANELS`), each panel in the order of registration."""
        names = super().list_commands(ctx)

        def rank(name: str) -> int:
            panel = getattr(self.commands[name], "rich_help_panel", None)
            return PANELS.index(panel) if panel in PANELS else len(PANELS)

        return sorted(names, key=rank)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except ClickException as exc:  # the top level's own options: maskgen --bogus
            if _shows_help(exc):
                raise
            raise _fail(_usage_line(exc), exc.exit_code) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except MaskgenError as exc:
            raise _fail(_one_line(str(exc)), 1) from None
        except ClickException as exc:  # usage errors of a command: a missing option, a bad value
            if _shows_help(exc):
                raise  # `maskgen dataset` prints the help of its commands
            raise _fail(_usage_line(exc), exc.exit_code) from None
        except OSError as exc:  # a write the one writer (maskgen.outputs) did not make, a full disk
            if exc.errno == errno.EPIPE:
                raise  # `maskgen ... | head`: typer ends quietly
            raise _fail(os_error_line(exc), 1) from None
        except MemoryError:
            raise _fail("out of memory: ask for fewer or smaller images", 1) from None


def _is_path_parameter(param: Any) -> bool:
    descriptor = getattr(param, "type_descriptor", None)  # typer >= 0.20
    if descriptor is not None:
        annotation = descriptor.annotation
        return Path in (annotation, *getattr(annotation, "__args__", ()))
    return type(getattr(param, "type", None)).__name__ == "Path"  # click's Path type


class _OneLineCommand(TyperCommand):
    """A command that refuses an empty path: ``--out ""`` (an unset shell variable) would otherwise be
    the current folder, silently."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if ctx.resilient_parsing:  # shell completion: an empty path may be the word being typed
            return super().parse_args(ctx, args)
        try:
            opts, _, _ = self.make_parser(ctx).parse_args(args=list(args))
        except ClickException:
            opts = {}  # the real parse below reports it
        for param in self.get_params(ctx):
            value = opts.get(param.name)
            values = value if isinstance(value, (list, tuple)) else [value]
            if _is_path_parameter(param) and any(isinstance(v, str) and not v.strip() for v in values):
                raise typer.BadParameter("the path is empty", ctx=ctx, param=param)
        return super().parse_args(ctx, args)


class _App(typer.Typer):
    """A Typer app whose commands are :class:`_OneLineCommand` unless they ask for another class."""

    def command(self, *args: Any, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or _OneLineCommand, **kwargs)


def new_app(help_text: str, completion: bool = False) -> typer.Typer:
    """An app of one-line errors; ``completion``: offer --install-completion/--show-completion (the
    top-level app only: a group added below it is completed through it)."""
    return _App(
        help=help_text,
        cls=_OneLineErrors,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=completion,
    )


app = new_app(
    "maskgen: generate Peking opera facial masks (京剧脸谱) from small image collections.", completion=True
)
