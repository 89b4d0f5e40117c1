"""Cold start: a `textig explain` with a cached model imports only what it uses.

Timing lives in bench/cli_latency.py; here the imports themselves are checked, in a fresh
process, so a new eager import of a heavy library fails a test instead of slowing every command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("scipy.stats", "pyarrow", "nltk", "sklearn", "pandas", "transformers")
HEAVY += ("sentence_transformers", "huggingface_hub", "datasets", "accelerate")

RUN = """
import json, sys
from textig.cli import main
code = main(["explain", "a palm tree on a sandy beach", "--embedder", *sys.argv[1:]])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _explain_in_a_fresh_process(out: Path, env: dict[str, str], embedder: str = "glove") -> dict:
    done = subprocess.run(
        [sys.executable, "-c", RUN, embedder, "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=600,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_glove_explain_with_a_cached_model_imports_no_heavy_library(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NLTK_DATA"}
    env["TEXTIG_CACHE"] = str(tmp_path / "cache")
    first = _explain_in_a_fresh_process(tmp_path / "first", env)  # trains and caches the model
    assert first["code"] == 0
    cached = _explain_in_a_fresh_process(tmp_path / "second", env)
    assert cached["code"] == 0
    assert list((tmp_path / "second").glob("*.html")), "the report was written"
    assert _heavy(cached["modules"], (*HEAVY, "torch")) == []


def _heavy(modules: list[str], heavy: tuple[str, ...]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in heavy or m.startswith(heavy)]


def test_sbert_explain_with_a_cached_model_imports_torch_but_not_transformers(
    tmp_path: Path,
) -> None:
    """SBERT needs torch (its encoder) and the tokenizers library, nothing of the
    sentence-transformers / transformers stack, nor spaCy (GloVe's tokeniser), nor the other
    heavy libraries."""
    env = {k: v for k, v in os.environ.items() if k != "NLTK_DATA"}
    env["TEXTIG_CACHE"] = str(tmp_path / "cache")
    first = _explain_in_a_fresh_process(tmp_path / "first", env, "sbert")
    assert first["code"] == 0
    cached = _explain_in_a_fresh_process(tmp_path / "second", env, "sbert")
    assert cached["code"] == 0
    assert list((tmp_path / "second").glob("*.html")), "the report was written"
    assert {"torch", "tokenizers", "safetensors"} <= set(cached["modules"])
    assert _heavy(cached["modules"], (*HEAVY, "spacy")) == []
