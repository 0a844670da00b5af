"""Entry point of the ``maskgen`` console script: imports every command module onto one app."""

from __future__ import annotations

# Importing a command module registers its commands on the shared app. `maskgen --help` shows them in
# panels (cli/app.py PANELS); inside a panel, in the order imported here (commands before groups).
# isort: off
from maskgen.cli import run_cmd, compare_cmd, upscale_cmd  # noqa: F401  (Train: run first)
from maskgen.cli import generate_cmd, models_cmd  # noqa: F401  (Draw and explore)
from maskgen.cli import eval_cmd, explore_cmd, studio_cmd  # noqa: F401  (Evaluate: eval before audit)
from maskgen.cli import translate_cmd, dataset_cmd, hub_cmd, plugins_cmd  # noqa: F401

# isort: on
from maskgen.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
