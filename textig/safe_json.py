"""JSON from untrusted text: bounded length and nesting depth, checked before parsing.

``json.loads`` recurses once per bracket, so a line nested 100,000 deep raises a
RecursionError (or worse, in a thread with a small stack). The depth is measured first, without
recursion, by counting brackets outside strings. A text with no more opening brackets than the
allowed depth cannot nest deeper, so ordinary records (a few brackets each) skip that scan: it
was most of the time of reading a corpus.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from textig.limits import MAX_JSON_DEPTH, MAX_LINE_CHARS

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN, _CLOSE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


def nesting_depth(text: str) -> int:
    """Deepest bracket nesting of ``text`` outside JSON strings (0 for a scalar)."""
    if "[" not in text and "{" not in text:
        return 0
    code = np.frombuffer(_STRING.sub('""', text).encode("utf-8", "replace"), np.uint8)
    steps = np.isin(code, _OPEN).astype(np.int64) - np.isin(code, _CLOSE)
    return int(np.cumsum(steps).max(initial=0))


def loads(text: str, *, max_depth: int = MAX_JSON_DEPTH, max_chars: int = MAX_LINE_CHARS) -> Any:
    """Parse ``text``; ValueError (with the reason) when it is too long, too deep or invalid."""
    if len(text) > max_chars:
        raise ValueError(f"{len(text)} characters of JSON, more than the {max_chars} allowed")
    openers = text.count("[") + text.count("{")
    if openers > max_depth and (depth := nesting_depth(text)) > max_depth:
        raise ValueError(f"JSON nested {depth} deep, more than the {max_depth} allowed")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid JSON ({error.msg} at column {error.colno})") from None
    except RecursionError:  # cannot happen below max_depth; kept as the last line of defence
        raise ValueError("nested too deeply") from None
