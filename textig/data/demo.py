"""Where the bundled demo corpus lives: inside the installed package, or ``data/`` in a checkout.

The wheel ships the repository's ``data/`` directory as ``textig/demo_data`` (see pyproject), so
both an installed package and an editable checkout find the same files.
"""

from __future__ import annotations

from pathlib import Path

from textig.errors import TextigError

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
_CANDIDATES = (_PACKAGE_ROOT / "demo_data", _PACKAGE_ROOT.parent / "data")


def demo_data_dir() -> Path:
    """Directory of the demo corpus (train.jsonl, test.jsonl, dictionary.txt)."""
    for candidate in _CANDIDATES:
        if (candidate / "train.jsonl").is_file():
            return candidate
    looked = ", ".join(str(c) for c in _CANDIDATES)
    raise TextigError(f"demo corpus not found (looked in {looked}); pass --data DIR")
