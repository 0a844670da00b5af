"""Entry point of the ``maskgen`` console script: imports every command module onto one app."""

from __future__ import annotations

from maskgen.cli import compare_cmd, dataset_cmd, eval_cmd, generate_cmd, hub_cmd, plugins_cmd, run_cmd  # noqa: F401  (register commands)
from maskgen.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
