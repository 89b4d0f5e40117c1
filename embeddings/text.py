"""Caption text as the embedders see it: control characters separate words.

A tokenizer keeps ``tree\\x01`` as one token, which is not alphabetic, so the word ``tree``
would vanish without even being marked unknown. Every C0 and C1 control character (NUL
included) and DEL is therefore replaced by a space before tokenising: it acts as a word
separator. The replacement is one character for one, so token spans stay valid on the
original text.
"""

from __future__ import annotations

_CONTROLS = dict.fromkeys([*range(0x00, 0x20), *range(0x7F, 0xA0)], " ")


def controls_as_spaces(text: str) -> str:
    """``text`` with every control character replaced by a space (same length)."""
    return text.translate(_CONTROLS)
