"""The README's command lines stay true: every ``maskgen ...`` line in its code blocks names a command
that exists and options that command takes, and every file it links to exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from maskgen.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PROGRAMS = ("maskgen", "./scripts/maskgen", ".venv/bin/maskgen")


def _command_lines(text: str) -> list[str]:
    """Each ``maskgen`` invocation in the bash blocks, continuation lines joined, comments dropped."""
    lines: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = re.split(r"\s#\s", line, maxsplit=1)[0].strip()
            if command.split(" ", 1)[0] in PROGRAMS:
                lines.append(command)
    return lines


def test_the_readme_has_command_lines_to_check() -> None:
    assert len(_command_lines(README.read_text(encoding="utf-8"))) >= 10


@pytest.mark.parametrize("line", _command_lines(README.read_text(encoding="utf-8")))
def test_every_readme_command_line_parses(line: str) -> None:
    args = shlex.split(line)[1:]
    # Typer builds its commands on its own copy of click: reach the classes through the objects.
    command = typer.main.get_command(app)
    context = command.context_class(command, info_name="maskgen")
    while hasattr(command, "get_command") and args and not args[0].startswith("-"):
        name = args.pop(0)
        found = command.get_command(context, name)
        assert found is not None, f"{line}: no command {name!r}"
        command, context = found, found.context_class(found, info_name=name, parent=context)
    if hasattr(command, "get_command"):  # a group: only its own options (maskgen --version)
        assert args, f"{line}: names a group, not a command"
    # The parser alone: unknown options and options missing their value fail; values are not run.
    command.make_parser(context).parse_args(args=args)


def test_every_file_the_readme_links_to_exists() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text) + re.findall(r'<img src="([^"]+)"', text)
    local = [t for t in targets if not re.match(r"[a-z]+://", t)]
    assert local, "the README links to no file"
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README links to missing files: {missing}"
