"""No command ever ends in a traceback (docs/reliability.md, promise 9).

Every command and sub-command of the app, found from the app object (a command added tomorrow is
walked the day it lands), runs with hostile arguments derived from each parameter's type and name:
missing required arguments, empty strings, unwritable and missing paths, a file where a folder is
expected and the reverse, text renamed .png/.safetensors/.yaml/.json, nan/inf/negative/zero/huge
numbers, malformed seed and name lists, unknown plugin/feature/preset names, hf:// references that do
not parse or are not cached (offline). Each run must exit 0, or exit non-zero with exactly one
``error: ...`` line; a failed run must leave its folder as it found it, and no run may leave a
``.tmp-*`` file. Commands that need a checkpoint get real ones (a 16 px GAN, a 16 px translator, a
classifier), made once, so hostile values reach the code behind the argument parsing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
import torch
import typer
import typer.testing
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from maskgen.cli.main import app
from maskgen.cli.options import SEED_MAX, bounded_int, finite_float
from maskgen.errors import MaskgenError
from maskgen.images import parse_seeds
from maskgen.testing import cli_ending_problem, tiny_config_values, tiny_translate_values, tiny_upscale_values

pytestmark = pytest.mark.slow  # ~1,700 runs, a few of them training: about a minute on 2 busy cores

ROOT = typer.main.get_command(app)
PER_RUN_SECONDS = 20  # a run past this is a finding too (a hostile budget that was accepted)
TEXT = "this is not what the name says\n"


def leaf_commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, command) of every runnable command below ``command``: groups are walked, not listed."""
    children = getattr(command, "commands", None)
    if children is None:
        yield path, command
        return
    for name, child in sorted(children.items()):
        yield from leaf_commands(child, (*path, name))


COMMANDS = list(leaf_commands(ROOT))


# -- the things commands read: made once ------------------------------------------------------------


@dataclass
class World:
    root: Path
    images: Path  # 8 procedural 16 px masks with labels.csv (copied into every run's folder)
    gan_run: Path
    gan_checkpoint: Path
    translator: Path
    classifier: Path
    gan_config: Path
    translate_config: Path
    upscaler: Path
    upscale_config: Path
    unwritable: list[str] = field(default_factory=list)


def _invoke(args: list[str]) -> Any:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: more threads only add synchronisation
    root = tmp_path_factory.mktemp("hostile-world")
    images = root / "images"
    _invoke(["dataset", "synth", "--out", str(images), "--count", "8", "--size", "16"])
    gan_config = root / "gan.json"
    gan_config.write_text(json.dumps(tiny_config_values(kimg=0.004)), encoding="utf-8")
    translate_config = root / "translate.json"
    translate_config.write_text(json.dumps(tiny_translate_values(kimg=0.004)), encoding="utf-8")
    _invoke(["run", "--config", str(gan_config), "--out", str(root / "runs"), "--quiet"])
    (gan_run,) = (root / "runs").iterdir()
    _invoke(["translate", "train", "--config", str(translate_config), "--out", str(root / "tr"), "-q"])
    (translator,) = (root / "tr").iterdir()
    upscale_config = root / "upscale.json"
    upscale_config.write_text(json.dumps(tiny_upscale_values(kimg=0.004)), encoding="utf-8")
    _invoke(["upscale", "train", "--config", str(upscale_config), "--out", str(root / "up"), "-q"])
    (upscaler,) = (root / "up").iterdir()
    # The run's metrics, cached in it (eval.json): `report` of the run then only renders them.
    _invoke(["report", str(gan_run), "--num", str(_BUDGETS["num"]), "--out", str(root / "r.md"), "-q"])
    classifier = root / "classifier"
    _invoke(
        ["classify", "train", "--data", str(images), "--backbone", "masknet", "--epochs", "1"]
        + ["--batch", "2", "--out", str(classifier), "--device", "cpu", "--quiet"]
    )
    # Paths nobody can write to. A read-only folder only counts when it really is one (not for root).
    read_only = root / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)
    unwritable = []
    for candidate in ("/proc/maskgen-x.png", "/sys/maskgen-x.png", read_only / "x.png"):
        try:
            Path(candidate).write_bytes(b"")
        except OSError:
            unwritable.append(str(candidate))
        else:
            Path(candidate).unlink()
    torch.set_num_threads(threads)
    yield World(
        root, images, gan_run, gan_run / "checkpoints" / "latest", translator, classifier, gan_config,
        translate_config, upscaler, upscale_config, unwritable,
    )  # fmt: skip
    read_only.chmod(0o755)


def _prepare(cwd: Path, world: World) -> None:
    """A run's folder: a fresh copy of the images (commands may write next to them) and hostile files."""
    cwd.mkdir(parents=True)
    shutil.copytree(world.images, cwd / "images", copy_function=os.link)  # writes replace, not modify
    for suffix in (".png", ".safetensors", ".yaml", ".json"):
        (cwd / f"text{suffix}").write_text(TEXT, encoding="utf-8")
    (cwd / "afile.txt").write_text(TEXT, encoding="utf-8")
    (cwd / "adir").mkdir()


# -- arguments derived from each parameter ----------------------------------------------------------


def _annotation(param: Any) -> Any:
    desc = getattr(param, "type_descriptor", None)
    annotation = desc.annotation if desc is not None else getattr(getattr(param, "type", None), "name", str)
    return annotation


def _kind(param: Any) -> str:
    """float, int, path, str, keyvalue (repeatable KEY=VALUE), paths (a list of paths) or flag."""
    if getattr(param, "is_flag", False):
        return "flag"
    annotation = _annotation(param)
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        return "paths" if item is Path else "keyvalue"
    args = [a for a in get_args(annotation) if a is not type(None)]  # str | None
    annotation = args[0] if args else annotation
    return {float: "float", int: "int", Path: "path"}.get(annotation, "str")


def _is_option(param: Any) -> bool:
    return type(param).__name__.endswith("Option")


def _help(param: Any) -> str:
    return getattr(param, "help", None) or ""


def _min(param: Any) -> float | None:
    return getattr(param, "min", None)


# Where a command's own minimum is above the small budget (its parser, not click, holds the range).
_COMMAND_BUDGETS = {
    (("features", "train-masknet"), "count"): 14,
    (("features", "train-eye"), "count"): 16,
}
# Commands whose cheapest valid run needs the network: their baseline must fail with one line instead
# (pulling from a real Hub-compatible server is tested in test_hub_server.py).
_NEEDS_NETWORK = {("pull",)}

# Small budgets for the options that set how much work a command does.
_BUDGETS = {
    "num": 10,
    "eval_num": 2,
    "count": 2,
    "steps": 2,
    "frames": 2,
    "epochs": 1,
    "holdout": 7,
    "dataset_count": 8,
    "kimg": 0.004,
    "pairs": 1,
    "size": 16,
}


def _output_name(param: Any) -> str:
    """A fresh output path for an --out-like option: its default's name, else what its help names."""
    default = param.default
    if isinstance(default, (str, Path)) and str(default):
        return Path(default).name
    text = _help(param)
    folder = text.lower().find("folder")
    match = re.search(r"\.(png|gif|mp4|md|csv|json|safetensors|npz)\b", text)
    if match and (folder < 0 or match.start() < folder):
        return f"out.{match[1]}"
    return "out"


def baseline(path: tuple[str, ...], command: Any, cwd: Path, world: World) -> dict[str, list[str]]:
    """Values for the parameters that need one (required, budgets, config, output): a cheap run that
    works. Keyed by parameter name; each value is the argument list for that parameter."""
    values: dict[str, list[str]] = {}
    translate = "translate" in path
    upscale = "upscale" in path
    image = sorted((cwd / "images").glob("*.png"))[0]
    for param in command.params:
        name, kind, required = param.name, _kind(param), param.required
        value: Any = None
        if kind == "flag":
            if name == "quiet":
                values[name] = ["--quiet"]
            if name == "check_only":  # maskgen studio --check: everything but serving (which never ends)
                values[name] = ["--check"]
            continue
        if name == "device":
            value = "cpu"
        elif name in _BUDGETS and kind in ("int", "float") and (param.default is not None or name == "kimg"):
            budget = _COMMAND_BUDGETS.get((path, name), _BUDGETS[name])
            value = max(budget, _min(param) or budget) if kind == "int" else budget
        elif name in ("seeds", "rows", "cols") and kind == "str":
            value = "0-1" if name != "cols" else "2-3"
        elif name == "seed" and kind == "str":
            value = "0"
        elif name == "augment" and kind == "str":
            value = "none"
        elif name == "metrics" and kind == "str":
            value = "none" if "compare" in path else "ssim"  # compare: training is what it adds
        elif name == "backbone" and kind == "str":
            value = "masknet"  # the offline one, small
        elif name == "config_file":
            value = (
                world.upscale_config if upscale else world.translate_config if translate else world.gan_config
            )
        elif name == "size" and upscale:
            continue  # the config's size (its crops are as large)
        elif name == "dry_run_dir":
            value = cwd / "staged"
        elif kind == "paths":  # run directories (report): read, their cached eval.json matches
            value = [image] if upscale else [world.gan_run]
        elif name.startswith("out") and kind == "path":
            value = cwd / _output_name(param)
        elif name == "checkpoint" and path == ("translate", "apply"):
            value = world.translator  # optional there (default: a shipped base translator, maybe none)
        elif not required:
            continue
        elif "classify train" in _help(param):
            value = world.classifier
        elif name in ("checkpoint", "fake"):
            value = world.translator if translate else world.upscaler if upscale else world.gan_checkpoint
        elif name in ("data", "src", "folder", "real"):
            value = cwd / "images"
        elif name in ("target", "sketch_path") or (name == "reference" and kind == "path"):
            value = image
        elif name == "reference":
            value = "hf://nobody/nothing"
        elif name == "repo":
            value = "nobody/nothing"
        else:
            value = "0"
        items = value if isinstance(value, list) else [value]
        values[name] = [_render(param, str(item)) for item in items]
    return values


def _render(param: Any, value: str) -> str:
    return f"{param.opts[0]}={value}" if _is_option(param) else value


def assemble(command: Any, values: dict[str, list[str]]) -> list[str]:
    """Options first, then ``--`` and the positional arguments (a value such as -1 stays a value)."""
    options, positional = [], []
    for param in command.params:
        (options if _is_option(param) else positional).extend(values.get(param.name, []))
    return options + (["--", *positional] if positional else [])


_NUMBERS = ["", "abc", "nan", "inf", "-inf", "-1", "0", "1e300", "-1e300"]
_INTS = ["", "abc", "nan", "inf", "1e300", "-1", "0", "99999999999999999999"]
_SEED_LISTS = ["3-1", "a,b", "-", ",", "1,,2", "-5", "0-99999999999999", "4294967296", "0-1e3"]
# No numeric option may accept these: not finite, or beyond any budget or range a command has.
_MEANINGLESS = {"nan", "inf", "-inf", "1e300", "-1e300", "99999999999999999999"}
_NAMES = ["no-such-name", "none+", "+", "a,,b", ","]
_REFS = ["hf://", "hf://a", "hf://a/b@", "hf://a/b", "hf://a/b/c@main"]
_KEY_VALUES = ["noequals", "=1", "k=", "k=[", "k={a: ", "a.b=[", "no_such_option=1", "x.no_such=1"]


def hostile_values(param: Any, cwd: Path, world: World) -> list[str]:
    kind, name = _kind(param), param.name
    paths = [
        "",
        str(cwd / "missing" / "x"),
        *world.unwritable,
        str(cwd / "afile.txt"),  # a file where a folder may be expected
        str(cwd / "adir"),  # a folder where a file may be expected
        *(str(cwd / f"text{suffix}") for suffix in (".png", ".safetensors", ".yaml", ".json")),
    ]
    if kind == "float":
        return _NUMBERS
    if kind == "int":
        return _INTS
    if kind in ("path", "paths"):
        return paths
    if kind == "keyvalue":
        return _KEY_VALUES
    values = ["", " ", "no-such-name"]
    if re.search(r"seed|rows|cols|styles|classes|frames", name):
        values += _SEED_LISTS
    if re.search(r"checkpoint|fake|real|init|data|sketch|reference|target|repo", name):
        values += _REFS + paths
    else:
        values += _NAMES
    return list(dict.fromkeys(values))


# -- one run and its judgement ----------------------------------------------------------------------


class _Overtime(BaseException):
    pass


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise _Overtime


def _state(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in folder.rglob("*")
        if not p.is_dir() or p.is_symlink()
    } | {str(p.relative_to(folder)) + "/": (0, 0) for p in folder.rglob("*") if p.is_dir()}


def _temporaries(*folders: Path) -> list[str]:
    return [str(p) for folder in folders for p in folder.rglob(".tmp-*")]


@dataclass
class Walk:
    world: World
    base: Path
    findings: list[str] = field(default_factory=list)
    runs: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per command, for the summary line
    baseline_failures: list[str] = field(default_factory=list)

    current: Path | None = None  # the run folder, reused while runs leave it as it was made
    pristine: dict[str, tuple[int, int]] = field(default_factory=dict)

    def workspace(self) -> Path:
        self.runs += 1
        if self.current is not None and _state(self.current) == self.pristine:
            return self.current
        if self.current is not None:
            shutil.rmtree(self.current, ignore_errors=True)
        self.current = self.base / f"{self.runs:05d}"
        _prepare(self.current, self.world)
        self.pristine = _state(self.current)
        return self.current

    def run(self, args: list[str], cwd: Path, label: str, meaningless: bool = False) -> Any:
        before = _state(cwd)
        os.chdir(cwd)  # outputs with relative defaults (runs/, report.md, ...) land here
        signal.setitimer(signal.ITIMER_REAL, PER_RUN_SECONDS)
        started = time.monotonic()
        try:
            result = CliRunner().invoke(app, args)
        except _Overtime:
            self.findings.append(f"{label}: still running after {PER_RUN_SECONDS} s (interrupted)")
            return None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            os.chdir(self.base)
        if result.exit_code == 0 and os.environ.get("MASKGEN_HOSTILE_VERBOSE"):
            print(f"accepted ({time.monotonic() - started:.2f} s): {label}")
        problem = cli_ending_problem(result)
        if problem:
            self.findings.append(f"{label}: {problem}")
        elif meaningless and result.exit_code == 0:
            self.findings.append(f"{label}: accepted a number that has no meaning (exit 0)")
        leftovers = _temporaries(cwd, self.world.root)
        if leftovers:
            self.findings.append(f"{label}: left temporary files {leftovers[:3]}")
            for leftover in leftovers:
                Path(leftover).unlink(missing_ok=True)
        if result.exit_code != 0 and not problem:
            after = _state(cwd)
            changed = sorted(k for k in after.keys() | before.keys() if after.get(k) != before.get(k))
            if changed:
                self.findings.append(f"{label}: failed but left or changed {changed[:4]}")
        command = label.split(" --")[0].split(" -- ")[0]
        self.seconds[command] = self.seconds.get(command, 0.0) + time.monotonic() - started
        if time.monotonic() - started > 10:
            self.findings.append(f"{label}: took {time.monotonic() - started:.0f} s to end")
        return result


def _label(path: tuple[str, ...], args: list[str], cwd: Path) -> str:
    text = " ".join(["maskgen", *path, *args]).replace(str(cwd), ".")
    return text if len(text) < 200 else text[:200] + "..."


def test_every_command_survives_hostile_arguments(world: World, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv("MASKGEN_WEIGHTS", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    # CliRunner rebuilds the click command from the app for every run (~15 ms: most of the time of a run
    # that fails at parsing); the console script builds it once per process, and so does this test.
    build = typer.testing._get_command
    monkeypatch.setattr(typer.testing, "_get_command", lambda a: ROOT if a is app else build(a))
    previous_alarm = signal.signal(signal.SIGALRM, _on_alarm)
    previous_sigint = signal.getsignal(signal.SIGINT)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    walk = Walk(world, tmp_path / "runs")
    walk.base.mkdir()
    started = time.monotonic()
    try:
        for group in ("", "dataset"):  # an unknown command is one line too
            cwd = walk.workspace()
            walk.run([*group.split(), "no-such-command"], cwd, f"maskgen {group} no-such-command")
        for path, command in COMMANDS:
            cwd = walk.workspace()
            good = baseline(path, command, cwd, world)
            args = assemble(command, good)
            result = walk.run([*path, *args], cwd, _label(path, args, cwd))
            if result is not None and result.exit_code != 0 and tuple(path) not in _NEEDS_NETWORK:
                walk.baseline_failures.append(f"{' '.join(path)}: {result.output.strip()[-200:]}")
            for param in command.params:
                if param.required:  # missing
                    cwd = walk.workspace()
                    values = baseline(path, command, cwd, world)
                    values.pop(param.name, None)
                    args = assemble(command, values)
                    walk.run([*path, *args], cwd, _label(path, args, cwd))
                if _kind(param) == "flag":
                    continue
                for index in range(len(hostile_values(param, walk.base, world))):
                    cwd = walk.workspace()
                    values = baseline(path, command, cwd, world)
                    value = hostile_values(param, cwd, world)[index]
                    values[param.name] = [_render(param, value)]
                    args = assemble(command, values)
                    meaningless = _kind(param) in ("int", "float") and value in _MEANINGLESS
                    walk.run([*path, *args], cwd, _label(path, args, cwd), meaningless)
    finally:
        signal.signal(signal.SIGALRM, previous_alarm)
        signal.signal(signal.SIGINT, previous_sigint)
        torch.set_num_threads(threads)
    seconds = time.monotonic() - started
    slowest = [(k, round(v, 1)) for k, v in sorted(walk.seconds.items(), key=lambda item: -item[1])]
    print(f"\n{walk.runs} runs of {len(COMMANDS)} commands in {seconds:.1f} s; slowest:", slowest)
    report = "\n".join(walk.findings)
    if walk.baseline_failures:  # then hostile values of the other options never got past this error
        report += "\nthe derived baseline of these commands fails (teach baseline() their options):\n"
        report += "\n".join(walk.baseline_failures)
    assert not walk.findings and not walk.baseline_failures, f"{len(walk.findings)} findings:\n{report}"


def test_walk_finds_every_registered_command() -> None:
    """The walk is over the app object: every command typer knows is in it, sub-commands included."""
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"generate", "run", "eval", "dataset synth", "translate apply", "classify eval"} <= names
    assert all(path and command.callback is not None for path, command in COMMANDS)


# -- the parsers themselves, fuzzed -----------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789-, ax", max_size=24))
def test_seed_lists_parse_or_say_why(text: str) -> None:
    try:
        seeds = parse_seeds(text)
    except MaskgenError as exc:
        assert "\n" not in str(exc)
        return
    assert seeds and all(0 <= seed < 2**32 for seed in seeds)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=12),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
    )
)
def test_number_options_parse_in_range_or_say_why(text: str) -> None:
    """The declared option types: a value in range, or typer.BadParameter (one usage line), nothing else."""
    for parse, low, high in (
        (finite_float(ge=-1, le=2, why="psi"), -1, 2),
        (finite_float(gt=0, le=1e6), 0, 1e6),
        (bounded_int(ge=0, le=SEED_MAX), 0, SEED_MAX),
    ):
        try:
            value = parse(text)
        except typer.BadParameter as exc:
            assert "\n" not in str(exc)
            continue
        assert low <= value <= high and value == value


# -- config files: every field of the schema from a YAML file ----------------------------------------

# What a new user might write for a number: not a number, no end, absurdly large, below zero, and the
# wrong kind of value (a list where text is expected, text everywhere else).
_FILE_VALUES: dict[str, Any] = {"nan": float("nan"), "inf": float("inf"), "huge": 1e300, "negative": -1}


def _wrong_type(annotation: Any) -> Any:
    args = get_args(annotation) or (annotation,)
    texts = any(a is str or get_origin(a) is Literal or a is Literal for a in args) or annotation is str
    return [1, 2] if texts else "lots"


def _config_file_cases() -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, config values with one hostile value): every field of ``TrainConfig``, and every option
    of the generator and of each augmenter, found through the registry (a plugin added tomorrow is
    walked the day it is installed)."""
    from maskgen.config import TrainConfig
    from maskgen.plugins import get_registry

    base = tiny_config_values(kimg=0.004, snapshot_kimg=0.004, init="none")

    def hostile(annotation: Any) -> Iterator[tuple[str, Any]]:
        yield from _FILE_VALUES.items()
        yield "wrong type", _wrong_type(annotation)

    for name, info in TrainConfig.model_fields.items():
        for kind, value in hostile(info.annotation):
            yield f"{name}: {kind}", base | {name: value}
    registry = get_registry()
    generator = registry.get("generator", base.get("generator", "stylegan2"))
    for name, info in generator.options.model_fields.items():
        for kind, value in hostile(info.annotation):
            options = dict(base["generator_options"]) | {name: value}
            yield f"generator_options.{name}: {kind}", base | {"generator_options": options}
    for spec in registry.specs("augmenter"):
        for name, info in spec.options.model_fields.items():
            for kind, value in hostile(info.annotation):
                values = base | {"augment": spec.name, "augment_options": {name: value}}
                yield f"{spec.name} augment_options.{name}: {kind}", values


def test_every_config_file_field_is_checked_like_a_flag(tmp_path: Path, monkeypatch) -> None:
    """A config file passes the same ranges and finiteness checks as the flags: each hostile value of
    each field ends in one ``error:`` line, a non-zero exit, and no run directory."""
    import yaml

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    previous_alarm = signal.signal(signal.SIGALRM, _on_alarm)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    findings: list[str] = []
    cases = list(_config_file_cases())
    try:
        for index, (label, values) in enumerate(cases):
            path = tmp_path / f"c{index}.yaml"
            path.write_text(yaml.safe_dump(values), encoding="utf-8")
            out = tmp_path / f"runs{index}"
            signal.setitimer(signal.ITIMER_REAL, PER_RUN_SECONDS)
            try:
                result = CliRunner().invoke(app, ["run", "--config", str(path), "--out", str(out), "-q"])
            except _Overtime:
                findings.append(f"{label}: still running after {PER_RUN_SECONDS} s (interrupted)")
                continue
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            problem = cli_ending_problem(result)
            if problem:
                findings.append(f"{label}: {problem}")
            elif result.exit_code == 0:
                findings.append(f"{label}: accepted, trained a run (exit 0)")
            if out.exists() and any(out.iterdir()):
                findings.append(f"{label}: left a run directory")
            shutil.rmtree(out, ignore_errors=True)
    finally:
        signal.signal(signal.SIGALRM, previous_alarm)
        torch.set_num_threads(threads)
    assert len(cases) > 200
    assert not findings, f"{len(findings)} findings:\n" + "\n".join(findings)
