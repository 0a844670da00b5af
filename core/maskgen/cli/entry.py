"""The ``maskgen`` console script and ``python -m maskgen``.

Importing the commands takes seconds (torch); a Ctrl-C in that time, or the studio's Stop before its
run got going, ends in one line and exit code 130 rather than a traceback from inside an import.
Once the app runs, Typer handles Ctrl-C itself and the training loop checkpoints before it stops.
"""

from __future__ import annotations

import sys

INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT, as shells report it


def main() -> None:
    try:
        from maskgen.cli.main import main as run_app
    except KeyboardInterrupt:
        sys.stderr.write("interrupted while starting; nothing was written\n")
        raise SystemExit(INTERRUPTED_EXIT_CODE) from None
    run_app()
