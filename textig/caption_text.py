"""What a caption's text must be before anything embeds it: valid Unicode, bounded length.

Python decodes command-line arguments with ``surrogateescape``, so invalid UTF-8 in a CAPTION
argument arrives as lone surrogates (byte 0xff -> U+DCFF); a JSON string can spell one out
(``"\\udcff"``). Neither can be encoded, tokenised or written to a report, so they are refused
here with one line naming the caption, before a model is loaded. Control characters are not
refused: the embedders treat them as word separators (``embeddings.text``) and reports show
them as spaces.
"""

from __future__ import annotations

import re

from textig.errors import TextigError
from textig.limits import MAX_CAPTION_CHARS

_SURROGATE = re.compile("[\ud800-\udfff]")


def caption_problem(text: object) -> str | None:
    """Why ``text`` cannot be a caption, or None."""
    if not isinstance(text, str):
        return f"is a {type(text).__name__}, not text"
    if len(text) > MAX_CAPTION_CHARS:
        return f"has {len(text)} characters; textig reads at most {MAX_CAPTION_CHARS}"
    if found := _SURROGATE.search(text):
        code = ord(found.group())
        if 0xDC80 <= code <= 0xDCFF:  # surrogateescape's spelling of a byte that is not UTF-8
            return f"is not valid UTF-8 (byte 0x{code - 0xDC00:02x} at character {found.start()})"
        return f"is not valid Unicode (lone surrogate U+{code:04X} at character {found.start()})"
    return None


def check_caption(text: object, where: str = "the caption") -> str:
    """``text`` if it can be a caption, else a TextigError naming ``where`` and why."""
    if problem := caption_problem(text):
        raise TextigError(f"{where} {problem}")
    return text  # type: ignore[return-value]
