"""The command line: error paths end in one line and exit code 1; the end-to-end user flow works."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskgen.cli.main import app
from maskgen.testing import assert_one_line_error


def test_missing_and_empty_data_folders(cli, tmp_path: Path) -> None:
    assert_one_line_error(cli.invoke(app, ["run", "--data", str(tmp_path / "nope")]), "not found")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(cli.invoke(app, ["run", "--data", str(tmp_path / "empty")]), "no images")


def test_bad_resolution_augment_and_config(cli, tmp_path: Path) -> None:
    assert_one_line_error(cli.invoke(app, ["run", "--resolution", "48"]), "power of two")
    assert_one_line_error(cli.invoke(app, ["run", "--augment", "magic"]), "unknown augmenter", "none")
    for stack in ("+", "ada+", "apa++ada"):  # an empty part is not 'no augmenter'
        assert_one_line_error(cli.invoke(app, ["run", "--augment", stack]), "a name is missing")
    bad = tmp_path / "bad.yaml"
    bad.write_text("batch: -3\n", encoding="utf-8")
    assert_one_line_error(cli.invoke(app, ["run", "--config", str(bad)]), "batch")
    bad.write_text("colour: red\n", encoding="utf-8")
    assert_one_line_error(cli.invoke(app, ["run", "--config", str(bad)]), "unknown option 'colour'")
    result = cli.invoke(app, ["run", "-A", "no-equals-sign"])
    assert_one_line_error(result, "KEY=VALUE")
    assert_one_line_error(cli.invoke(app, ["run", "--augment", "none", "-A", "p=0.3"]), "bad options")


def test_unreadable_and_mismatched_checkpoints(cli, tmp_path: Path) -> None:
    out = tmp_path / "g.png"
    assert_one_line_error(
        cli.invoke(app, ["generate", "--checkpoint", str(tmp_path / "x"), "--out", str(out)])
    )
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "model.safetensors").write_bytes(np.random.default_rng(0).bytes(100))
    (fake / "config.json").write_text("{}", encoding="utf-8")
    assert_one_line_error(cli.invoke(app, ["generate", "--checkpoint", str(fake), "--out", str(out)]))
    assert_one_line_error(
        cli.invoke(app, ["generate", "--checkpoint", str(tmp_path), "--seeds", "x", "--out", str(out)]),
        "seed",
    )


@pytest.mark.slow
def test_train_generate_resume_end_to_end(cli, tiny_config_file: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = cli.invoke(app, ["run", "--config", str(tiny_config_file), "--out", str(runs), "--quiet"])
    assert result.exit_code == 0, result.output
    (run_dir,) = runs.iterdir()
    assert (run_dir / "checkpoints" / "latest" / "model.safetensors").is_file()
    assert (run_dir / "samples" / "fakes_latest.png").is_file()
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["kimg"] == pytest.approx(0.016)
    assert {"loss/G", "loss/D", "augment/strength"} <= records[-1].keys()
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["resolution"] == 16 and saved["augment"] == "none"

    grid = tmp_path / "grid.png"
    args = ["generate", "--checkpoint", str(run_dir / "checkpoints" / "latest"), "--seeds", "0-3"]
    result = cli.invoke(app, [*args, "--truncation", "0.7", "--out", str(grid)])
    assert result.exit_code == 0, result.output
    assert Image.open(grid).size == (32, 32)  # 2 x 2 grid of 16 px masks
    folder = tmp_path / "masks"
    assert cli.invoke(app, [*args, "--out", str(folder)]).exit_code == 0
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["seed0000.png", "seed0001.png", "seed0002.png", "seed0003.png"]
    # Same seed, same mask: the folder's seed 0 equals the top-left cell of a psi=1 grid.
    grid1 = tmp_path / "grid1.png"
    assert cli.invoke(app, [*args, "--out", str(grid1)]).exit_code == 0
    np.testing.assert_array_equal(
        np.array(Image.open(grid1))[:16, :16], np.array(Image.open(folder / files[0]))
    )

    result = cli.invoke(app, ["run", "--resume", str(run_dir), "--kimg", "0.032", "--quiet"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["kimg"] == pytest.approx(0.032)
    assert json.loads((run_dir / "checkpoints" / "latest" / "config.json").read_text())[
        "kimg"
    ] == pytest.approx(0.032)

    # --minutes: a time budget, saved with the run; a run of 1000 kimg stops on it with a checkpoint
    args = ["run", "--resume", str(run_dir), "--kimg", "1000", "--minutes", "0.001", "--quiet"]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["max_minutes"] == pytest.approx(0.001) and saved["kimg"] == 1000
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert 0.032 < records[-1]["kimg"] < 1  # stopped by the clock after a step or a few


# A Ctrl-C that lands while the commands are being imported (torch takes seconds): the studio's Stop
# can send one then. Simulated deterministically by an import hook that raises it.
_INTERRUPT_DURING_IMPORT = """
import sys
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "maskgen.cli.main":
            raise KeyboardInterrupt
        return None
sys.meta_path.insert(0, Interrupt())
sys.argv = ["maskgen", "list-plugins"]
import runpy
runpy.run_module("maskgen", run_name="__main__")
"""


def test_ctrl_c_while_starting_is_one_line_and_exit_130() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _INTERRUPT_DURING_IMPORT], capture_output=True, text=True)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines() == ["interrupted while starting; nothing was written"]


def test_python_dash_m_maskgen_runs_the_app() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "maskgen", "list-plugins"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "ada" in done.stdout and "apa" in done.stdout
