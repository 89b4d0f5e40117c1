"""The one error type a user can fix (bad input, missing or mismatched file).

It is defined here, in the lowest layer, so that embedders raise the very type textig reports
(one line on stderr, exit 1, no traceback) while ``embeddings`` imports nothing of ``textig``;
``textig.errors`` re-exports it.
"""


class TextigError(Exception):
    """A problem the user can fix (bad input, missing or mismatched file)."""
