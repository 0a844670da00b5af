"""The one exception type users see: its message is printed as a single line by the CLI."""


class MaskgenError(Exception):
    """A user-facing error (bad input, missing file, mismatched checkpoint).

    The CLI prints ``str(error)`` on one line of stderr and exits with a non-zero code, without a
    traceback. Anything that is *not* a MaskgenError is a bug and keeps its traceback.
    """
