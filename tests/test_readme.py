"""Docs that run: every ```python block of README.md, executed as written on the demo corpus.

Each block runs in a fresh namespace, in a temporary working directory, with textig's cache in
a temporary folder, so what it writes (model files, caches) lands nowhere else.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```$", README.read_text(encoding="utf-8"), re.M | re.S)


def test_the_readme_has_python_blocks() -> None:
    assert BLOCKS, "README.md has no ```python block"


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i + 1}" for i in range(len(BLOCKS))])
def test_readme_python_block_runs(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TEXTIG_CACHE", str(tmp_path / "cache"))
    exec(compile(code, f"{README.name} (python block)", "exec"), {"__name__": "__readme__"})
    printed = capsys.readouterr().out
    assert printed  # the snippets show their results
