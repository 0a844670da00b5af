"""The ``maskgen`` command line."""
