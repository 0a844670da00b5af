"""What users of click/typer tools expect of `maskgen`: grouped help, one description of a checkpoint
reference, and shell completion that works through maskgen's own command classes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from maskgen import PluginSpec, hookimpl
from maskgen.artifacts.base_models import list_base_models
from maskgen.cli.main import app
from maskgen.cli.options import CHECKPOINT_FORMS
from maskgen.plugins import PluginRegistry, get_registry, set_registry
from maskgen.testing import registry_of

# The panels of `maskgen --help` and their commands, in the order a user should read them.
EXPECTED_PANELS = {
    "Train": ["run", "compare", "upscale"],
    "Draw and explore": ["generate", "models", "project", "mix", "video", "studio"],
    "Evaluate": ["eval", "report", "audit", "classify", "features"],
    "Translate": ["translate"],
    "Data": ["dataset"],
    "Share": ["pull", "push", "list-plugins"],
}

# Every parameter that names a checkpoint (resolved by artifacts.checkpoint.resolve_checkpoint_dir).
CHECKPOINT_PARAMS = {
    ("generate", "checkpoint"),
    ("generate", "upscaler"),
    ("project", "checkpoint"),
    ("project", "upscaler"),
    ("mix", "checkpoint"),
    ("mix", "upscaler"),
    ("video", "checkpoint"),
    ("video", "upscaler"),
    ("audit", "checkpoint"),
    ("studio", "checkpoint"),
    ("studio", "translator"),
    ("run", "init"),
    ("translate train", "init"),
    ("translate apply", "checkpoint"),
    ("translate apply", "upscaler"),
    ("upscale train", "init"),
    ("upscale apply", "checkpoint"),
    ("push", "checkpoint"),
}
# A --checkpoint that is no model checkpoint: the folder 'maskgen classify train' writes.
NOT_A_MODEL = {("classify eval", "checkpoint")}
GAN_COMMANDS = ("generate", "project", "mix", "video", "audit")


def _commands(group: Any, prefix: str = "") -> dict[str, Any]:
    """'generate' -> its click command, 'translate apply' -> ..., for every leaf command."""
    found = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            found |= _commands(command, path + " ")
        else:
            found[path] = command
    return found


ROOT = typer.main.get_command(app)
COMMANDS = _commands(ROOT)


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], prog_name="maskgen", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def _flat(text: str) -> str:
    """Rich's help boxes gone, whitespace collapsed: a wrapped help text reads as one line."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def test_help_shows_every_command_in_one_panel_in_order() -> None:
    panels: dict[str, list[str]] = {}
    current = None
    for line in _help().splitlines():
        title = re.match(r"╭─ (.+?) ─", line)
        if title:
            current = title.group(1)
            panels[current] = []
            continue
        row = re.match(r"│ (\S+)\s", line)  # a command's first line; wrapped lines start with spaces
        if row and current not in (None, "Options"):
            panels[current].append(row.group(1))
    panels.pop("Options")
    assert list(panels.items()) == list(EXPECTED_PANELS.items())  # the panels' order too
    listed = [name for names in panels.values() for name in names]
    assert sorted(listed) == sorted(ROOT.commands), "a command is missing from the panels, or is twice"
    assert listed[0] == "run"


def _checkpoint_params() -> dict[tuple[str, str], Any]:
    """Each command's parameters that take a checkpoint reference or look as if they did."""
    found = {}
    for path, command in COMMANDS.items():
        for param in command.params:
            if param.name in ("checkpoint", "init", "upscaler") or (path, param.name) in CHECKPOINT_PARAMS:
                found[(path, param.name)] = param
    return found


def test_every_checkpoint_option_has_the_one_help() -> None:
    found = _checkpoint_params()
    assert set(found) == CHECKPOINT_PARAMS | NOT_A_MODEL
    for key in CHECKPOINT_PARAMS:
        assert CHECKPOINT_FORMS in found[key].help, key
    for key in NOT_A_MODEL:
        assert CHECKPOINT_FORMS not in found[key].help, key
    # The commands that draw with a GAN describe --checkpoint and --upscaler word for word alike.
    for name in ("checkpoint", "upscaler"):
        helps = {found[(c, name)].help for c in GAN_COMMANDS if (c, name) in found}
        assert len(helps) == 1, helps
    # Each command's --help shows the forms once per such parameter, however rich wraps them.
    for path in sorted({path for path, _ in CHECKPOINT_PARAMS}):
        shown = _flat(_help(*path.split())).count(_flat(CHECKPOINT_FORMS))
        assert shown == sum(1 for key in CHECKPOINT_PARAMS if key[0] == path), path


def test_each_form_the_help_names_is_one_the_resolver_takes(tmp_path: Path) -> None:
    from maskgen.artifacts.checkpoint import resolve_checkpoint_dir
    from maskgen.artifacts.hub_pull import parse_reference

    assert "[" not in CHECKPOINT_FORMS  # rich help reads [...] as markup and drops it
    for form in (
        "base:NAME",
        "hf://OWNER/REPO ",
        "hf://OWNER/REPO@REVISION",
        "checkpoint folder",
        "run folder",
    ):
        assert form in CHECKPOINT_FORMS
    shipped = list_base_models(kind=None)[0]
    assert resolve_checkpoint_dir(f"base:{shipped.name}") == shipped
    assert parse_reference("hf://owner/repo@v1").revision == "v1"
    snapshot = tmp_path / "run" / "checkpoints" / "latest"
    snapshot.mkdir(parents=True)
    for name in ("model.safetensors", "config.json"):
        (snapshot / name).write_bytes(b"")
    assert resolve_checkpoint_dir(snapshot) == snapshot  # a checkpoint folder
    assert resolve_checkpoint_dir(tmp_path / "run") == tmp_path / "run" / "checkpoints" / "latest"


# -- shell completion --------------------------------------------------------------------------------


def _complete(line: str, shell: str = "bash") -> list[str]:
    """What `maskgen` answers the shell for the words of ``line`` (its last word is the one typed,
    empty after a trailing space), by the protocol of typer's completion scripts."""
    words = line.split(" ")
    if shell == "bash":
        env = {"COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    else:
        env = {"_TYPER_COMPLETE_ARGS": line}
    env["_MASKGEN_COMPLETE"] = f"complete_{shell}"
    result = CliRunner().invoke(app, [], prog_name="maskgen", env=env)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return [word for word in result.stdout.splitlines() if word]


def test_commands_and_options_complete() -> None:
    assert _complete("maskgen ge") == ["generate"]
    assert _complete("maskgen r") == [name for name in ROOT.list_commands(None) if name.startswith("r")]
    assert _complete("maskgen dataset s") == ["synth", "sketch"]
    assert {"--augment", "--augment-option"} <= set(_complete("maskgen run --aug"))
    assert all(word.startswith("--aug") for word in _complete("maskgen run --aug"))
    # A line that would not run still completes, quietly: the one-line errors wait for Enter.
    assert {"--augment", "--augment-option"} <= set(_complete("maskgen run --bogus --aug"))
    assert "--augment" in _complete("maskgen run --out '' --aug")  # an empty path being typed


class _Zebra:
    @hookimpl
    def maskgen_augmenters(self) -> list[PluginSpec]:
        return [PluginSpec("augmenter", "zebra", "stripes", lambda options, context: None)]


def test_augmenter_names_complete_from_the_registry() -> None:
    installed = get_registry().names("augmenter")
    assert {"ada", "apa", "none"} <= set(installed)
    assert _complete("maskgen run --augment ") == installed
    assert _complete("maskgen run -a ap") == [n for n in installed if n.startswith("ap")]
    assert _complete("maskgen run --augment apa+") == [f"apa+{n}" for n in installed if n != "apa"]
    assert _complete("maskgen compare --augment none,ada,apa+a") == ["none,ada,apa+ada"]
    # A plugin registered now completes too: the names are the registry's, not a list in the CLI.
    set_registry(registry_of(_Zebra()))
    assert "zebra" in _complete("maskgen run --augment ")
    assert _complete("maskgen run --augment z") == ["zebra"]
    set_registry(PluginRegistry(entry_points=False))
    assert _complete("maskgen run --augment ") == []


class _NamesCheckpoints:
    @hookimpl
    def maskgen_pretrained_checkpoints(self) -> dict[str, str]:
        return {"tiny-16": "owner/tiny@v1", "other-32": "owner/other@v2"}


def test_checkpoint_references_complete_where_the_shell_keeps_colons() -> None:
    shipped = [f"base:{d.name}" for d in list_base_models(kind=None)]
    assert shipped
    # zsh passes the whole line; bash splits words at ':' and completes folders there instead.
    answer = "\n".join(_complete("maskgen generate --checkpoint base:", shell="zsh"))
    for ref in shipped:
        assert ref.replace(":", "\\\\:") in answer
    assert _complete("maskgen generate --checkpoint ", shell="zsh") == ["_files"]  # folders, as usual
    assert _complete("maskgen generate --checkpoint ") == []  # bash: its default, file names
    # A plugin's named checkpoints complete after hf://, with where they point.
    set_registry(registry_of(_NamesCheckpoints()))
    answer = "\n".join(_complete("maskgen run --init hf://ti", shell="zsh"))
    assert '"hf\\\\://tiny-16":"owner/tiny@v1 (' in answer, answer  # zsh escapes the colon
    assert "other-32" not in answer


def test_show_completion_prints_a_script_for_the_maskgen_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import shellingham

    monkeypatch.setattr(shellingham, "detect_shell", lambda: ("bash", "/bin/bash"))  # as from a bash prompt
    result = CliRunner().invoke(app, ["--show-completion"], prog_name="maskgen")
    assert result.exit_code == 0, result.output
    assert "_MASKGEN_COMPLETE=complete_bash" in result.stdout
    assert "complete -o default -F _maskgen_completion maskgen" in result.stdout
    assert "--install-completion" in _help()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_through_the_installed_script(tmp_path: Path) -> None:
    """The whole path a user takes: bash loads `maskgen --show-completion`, then TAB runs maskgen."""
    maskgen = Path(sys.executable).parent / "maskgen"
    if not maskgen.is_file():
        pytest.skip("the maskgen console script is not installed next to this python")
    script = """
        eval "$(maskgen --show-completion)"
        COMP_WORDS=(maskgen ge); COMP_CWORD=1; _maskgen_completion maskgen
        echo "ge: ${COMPREPLY[*]}"
        COMP_WORDS=(maskgen run --augment ap); COMP_CWORD=3; _maskgen_completion maskgen
        echo "ap: ${COMPREPLY[*]}"
    """
    env = {**os.environ, "PATH": f"{maskgen.parent}{os.pathsep}{os.environ.get('PATH', '')}", "SHELL": "bash"}
    done = subprocess.run(
        ["bash", "--norc", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    expected_ap = " ".join(n for n in get_registry().names("augmenter") if n.startswith("ap"))
    assert done.stdout.splitlines() == ["ge: generate", f"ap: {expected_ap}"]


# -- maskgen models ----------------------------------------------------------------------------------


def test_models_says_how_long_each_model_trained_and_how_to_use_it() -> None:
    import json

    result = CliRunner().invoke(app, ["models"], prog_name="maskgen")
    assert result.exit_code == 0, result.output
    blocks = re.split(r"\n(?=base:)", result.stdout.strip())
    for directory in list_base_models(kind=None):
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        (block,) = [b for b in blocks if b.startswith(f"base:{directory.name} ")]
        # The runs its weights came through (lineage) and its own, as its model card counts them.
        total = config["kimg"] + sum(step["kimg"] for step in config.get("lineage", []))
        assert f"({round(total)} kimg in all)" in block, block
        recipe = config.get("fine_tuning") or {}
        said = [line for line in block.splitlines() if "a run from it fine-tunes with" in line]
        if recipe:
            assert len(said) == 1 and all(f"{k} {json.dumps(v)}" in said[0] for k, v in recipe.items())
        else:
            assert not said
        if config["kind"] == "gan":
            assert f"maskgen generate --checkpoint base:{directory.name} " in block
            assert f"maskgen run --init base:{directory.name} " in block
