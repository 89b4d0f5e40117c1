"""User-facing errors: the CLI prints these as one line and exits 1, never a traceback.

``TextigError`` is defined in ``embeddings.errors`` (the lower layer) so that embedders raise
it too without importing textig: one error type reaches the user.
"""

from embeddings.errors import TextigError

__all__ = ["TextigError", "UsageError"]


class UsageError(TextigError):
    """The command line itself is wrong (missing or conflicting arguments): exit code 2."""
