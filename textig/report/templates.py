"""Find and load the jinja2 templates: installed package first, then the repository checkout.

The wheel force-includes the repository's ``templates/`` as ``textig/templates``; an editable
install reads ``templates/`` beside the package. Autoescaping is always on: captions are
untrusted text. As a safety net every printed value also passes ``printable``: control
characters (NUL, C0 but tab and newlines, DEL, C1) become spaces and lone surrogates U+FFFD,
so none reaches the HTML whatever path a caption took (``textig.explain`` already treats
control characters as word separators).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import jinja2
from markupsafe import Markup

from textig.errors import TextigError

_PACKAGE = Path(__file__).resolve().parents[1]
CANDIDATES = (_PACKAGE / "templates", _PACKAGE.parent / "templates")
REQUIRED = "explanation.html.j2"
_CONTROLS = dict.fromkeys(
    [*(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)), *range(0x7F, 0xA0)], " "
)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text.translate(_CONTROLS))


def printable(value: object) -> object:
    """A printed value without control characters or lone surrogates (which cannot be
    written as UTF-8: a refused caption's text is still listed); markup stays markup."""
    if isinstance(value, Markup):
        return Markup(_clean(str(value)))
    if isinstance(value, str):
        return _clean(value)
    return value


def templates_dir() -> Path:
    """The first candidate folder holding the report templates."""
    for candidate in CANDIDATES:
        if (candidate / REQUIRED).is_file():
            return candidate
    looked = ", ".join(str(c) for c in CANDIDATES)
    raise TextigError(f"report templates not found (looked in {looked}); reinstall textig")


@functools.cache
def environment() -> jinja2.Environment:
    """The shared jinja2 environment (autoescape on, undefined names are errors)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=printable,
    )
