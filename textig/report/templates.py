"""Find and load the jinja2 templates: installed package first, then the repository checkout.

The wheel force-includes the repository's ``templates/`` as ``textig/templates``; an editable
install reads ``templates/`` beside the package. Autoescaping is always on: captions are
untrusted text.
"""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from textig.errors import TextigError

_PACKAGE = Path(__file__).resolve().parents[1]
CANDIDATES = (_PACKAGE / "templates", _PACKAGE.parent / "templates")
REQUIRED = "explanation.html.j2"


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
    )
