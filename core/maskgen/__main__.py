"""``python -m maskgen``: the same as the ``maskgen`` command."""

from maskgen.cli.entry import main

if __name__ == "__main__":
    main()
