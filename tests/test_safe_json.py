"""Bounded JSON parsing: the depth limit holds at its edge, with and without the quick count."""

from __future__ import annotations

import pytest

from textig import safe_json
from textig.limits import MAX_JSON_DEPTH


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_nesting_at_the_limit_parses_and_one_deeper_is_refused() -> None:
    assert safe_json.loads(_nested(MAX_JSON_DEPTH)) is not None
    with pytest.raises(ValueError, match=f"nested {MAX_JSON_DEPTH + 1} deep"):
        safe_json.loads(_nested(MAX_JSON_DEPTH + 1))


def test_many_shallow_brackets_and_brackets_in_strings_parse() -> None:
    shallow = "[" + ",".join(["[1]"] * (3 * MAX_JSON_DEPTH)) + "]"
    assert len(safe_json.loads(shallow)) == 3 * MAX_JSON_DEPTH
    in_string = '{"text": "' + "[{" * (4 * MAX_JSON_DEPTH) + '"}'
    assert safe_json.loads(in_string)["text"].startswith("[{")


def test_deep_nesting_after_many_shallow_brackets_is_refused() -> None:
    text = "[" + "[1]," * MAX_JSON_DEPTH + _nested(MAX_JSON_DEPTH) + "]"
    with pytest.raises(ValueError, match="deep"):
        safe_json.loads(text)
