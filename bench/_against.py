"""Side-by-side benchmarks against an older revision of textig, measured in one run.

``revision_tree(REV)`` checks REV out into a temporary ``git worktree``; a ``Worker`` runs the
*current* bench script (``SCRIPT --worker``) in a subprocess whose ``PYTHONPATH`` puts either
tree's ``textig``/``embeddings`` first. The bench code is the same on both sides, only the
library differs, and the parent can interleave requests (old, new, new, old, ...) so both sides
see the same machine load. Workers answer JSON-line requests on stdin/stdout (``serve``).

Bench scripts that use it: ``explain_latency.py``, ``long_caption.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def revision_tree(rev: str) -> Iterator[Path]:
    """A temporary checkout of ``rev`` (any git revision), removed afterwards."""
    parent = Path(tempfile.mkdtemp(prefix="textig-against-"))
    tree = parent / "tree"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(tree), rev],
        check=True,
    )
    try:
        yield tree
    finally:
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False
        )
        with contextlib.suppress(OSError):
            parent.rmdir()


def describe(rev: str) -> str:
    """``rev`` as a short commit id with its subject, for the printed header."""
    result = subprocess.run(
        ["git", "-C", str(REPO), "log", "-1", "--format=%h %s", rev],
        capture_output=True,
        text=True,
        check=False,
    )
    line = result.stdout.strip() or rev
    return line if len(line) <= 72 else line[:71] + "…"


class Worker:
    """``python SCRIPT --worker ARGS`` with ``tree`` first on the import path."""

    def __init__(self, script: str | Path, args: list[str], tree: Path, name: str) -> None:
        self.name = name
        self._log = tempfile.TemporaryFile(mode="w+", prefix=f"textig-{name}-")  # noqa: SIM115
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(Path(script).parent)])}
        env.setdefault("HF_HUB_OFFLINE", "1")
        env.setdefault("TRANSFORMERS_OFFLINE", "1")
        self._process = subprocess.Popen(
            [sys.executable, str(script), "--worker", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            cwd=tree,
            env=env,
        )
        where = Path(self.ask({"op": "where"})["textig"]).resolve()
        if not where.is_relative_to(Path(tree).resolve()):
            self.close()
            raise RuntimeError(f"{name} worker imported textig from {where}, not from {tree}")

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request and wait for its answer (a worker error is raised here)."""
        assert self._process.stdin and self._process.stdout
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            self._log.seek(0)
            tail = "".join(self._log.read().splitlines(keepends=True)[-20:])
            raise RuntimeError(f"{self.name} worker died:\n{tail}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{self.name} worker: {answer['error']}")
        return answer

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        self._process.wait(timeout=60)
        self._log.close()


def _where() -> dict[str, str]:
    """Where this worker's textig comes from (the parent checks it is the tree it asked for)."""
    import textig

    return {"textig": str(Path(textig.__file__).parent)}


def serve(handle: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Worker loop: one JSON request per stdin line, one JSON answer per stdout line.

    Everything else the library prints goes to stderr, so stdout carries only answers. The
    request {"op": "where"} is answered here: the directory textig was imported from."""
    answers: IO[str] = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        try:
            request = json.loads(line)
            answer = _where() if request.get("op") == "where" else handle(request)
        except Exception as error:  # reported to the parent, which stops the bench
            answer = {"error": f"{type(error).__name__}: {error}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
