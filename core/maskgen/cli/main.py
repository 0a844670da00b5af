"""Entry point of the ``maskgen`` console script: imports every command module onto one app."""

from __future__ import annotations

# Importing a command module registers its commands on the shared app.
from maskgen.cli import (  # noqa: F401
    compare_cmd,
    dataset_cmd,
    eval_cmd,
    explore_cmd,
    generate_cmd,
    hub_cmd,
    models_cmd,
    plugins_cmd,
    run_cmd,
    studio_cmd,
    translate_cmd,
    upscale_cmd,
)
from maskgen.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
