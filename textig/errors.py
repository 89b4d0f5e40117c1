"""User-facing errors: the CLI prints these as one line and exits 1, never a traceback."""


class TextigError(Exception):
    """A problem the user can fix (bad input, missing or mismatched file)."""


class UsageError(TextigError):
    """The command line itself is wrong (missing or conflicting arguments): exit code 2."""
