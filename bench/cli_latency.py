"""Cold-start cost of the `textig explain` command: wall time of a fresh process vs the
explanation's own time.

Usage: python bench/cli_latency.py [--runs 5] [--embedders glove,sbert] [--caption TEXT]
                                   [--against REV] [--threads N]

Each embedder first runs once untimed, so its model, features, asset hashes and word list are
cached (as for a user's second command). Then, ``--runs`` times, interleaved so machine load
hits all alike: a bare ``python -c pass``, and one cold ``textig explain CAPTION`` process per
embedder. Prints medians: wall, CPU (user + system: less sensitive to machine load), the
report's ``timings.total`` (the explanation proper, wall), and overhead = wall - total (start-up:
imports, model and data loading, report writing), against the targets (GloVe <= 1.0 s, SBERT
<= 4 s on the project's 2-core machine). ``--against REV`` adds rows for textig at git revision
REV (a temporary worktree first on ``PYTHONPATH``), run in the same interleaved rounds; both
sides then start as ``python -m textig``. ``--threads N`` sets ``OMP_NUM_THREADS`` for every
process: on a machine loaded by other work, torch's threads spin waiting for each other and the
figures measure that noise; one thread measures the work.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _against import REPO, describe, revision_tree

TARGETS = {"glove": 1.0, "sbert": 4.0}
CAPTION = "a palm tree on a sandy beach"


def _textig() -> list[str]:
    """The installed `textig` script beside this Python, else ``python -m textig``."""
    script = Path(sys.executable).with_name("textig")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "textig"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: list[str], env: dict[str, str], cwd: Path = REPO) -> tuple[float, float, str]:
    """Wall and CPU seconds and stdout of one process; a failure stops the benchmark."""
    started, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"cli_latency: {' '.join(command[:3])} ... failed:\n{done.stderr}")
    return wall, _children_cpu() - cpu, done.stdout


def _explain(side: Side, embedder: str, caption: str, out: Path) -> list[float]:
    """[wall, CPU, timings.total] of one `textig explain` process."""
    command = [*side.command, "explain", caption, "--embedder", embedder, "--out", str(out)]
    wall, cpu, stdout = _run(command, side.env, side.tree)
    report = next(line for line in stdout.splitlines() if line.endswith(".json"))
    total = float(json.loads(Path(report).read_text(encoding="utf-8"))["timings"]["total"])
    return [wall, cpu, total]


@dataclass(frozen=True)
class Side:
    """How to start one textig: a label for its rows, the command, its environment and the
    tree it runs in (``python -m`` puts the working directory first on the import path)."""

    label: str
    command: list[str]
    env: dict[str, str]
    tree: Path = REPO


def _rounds(sides: list[Side], embedders: list[str], caption: str, runs: int, out: Path) -> dict:
    """Warm-up (train or load each model, fill the caches), then ``runs`` interleaved rounds:
    a bare ``python -c pass`` and one process per (side, embedder). Raw rows per key."""
    for side in sides:
        for name in embedders:
            _explain(side, name, caption, out)
    rows: dict[str, list[list[float]]] = {"bare": []}
    for _ in range(runs):
        rows["bare"].append([_run([sys.executable, "-c", "pass"], sides[0].env)[0]])
        for side in sides:
            for name in embedders:
                rows.setdefault(f"{name}{side.label}", []).append(
                    _explain(side, name, caption, out)
                )
    return rows


def _print(rows: dict[str, list[list[float]]], embedders: list[str], sides: list[Side]) -> None:
    print(f"python -c pass: {statistics.median(r[0] for r in rows['bare']):.2f} s wall")
    header = ("wall s", 9), ("cpu s", 8), ("total s", 9), ("overhead s", 12), ("target s", 10)
    print(f"{'embedder':16}" + "".join(f"{title:>{width}}" for title, width in header))
    for name in embedders:
        for side in sides:
            runs = rows[f"{name}{side.label}"]
            wall, cpu, total = (statistics.median(column) for column in zip(*runs, strict=True))
            overhead = statistics.median(w - t for w, _, t in runs)
            target = TARGETS.get(name)
            verdict = "" if target is None else ("  met" if overhead <= target else "  NOT met")
            shown = "-" if target is None else f"{target:.1f}"
            row = f"{wall:9.2f}{cpu:8.2f}{total:9.2f}{overhead:12.2f}{shown:>10}{verdict}"
            print(f"{name + side.label:16}{row}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--embedders", default="glove,sbert")
    parser.add_argument("--caption", default=CAPTION)
    parser.add_argument("--against", metavar="REV", help="also time textig at git revision REV")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS of the processes")
    args = parser.parse_args()
    embedders = args.embedders.split(",")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    threads = f", OMP_NUM_THREADS={args.threads}" if args.threads else ""
    print(
        f"textig explain {args.caption!r}, cached model, median of {args.runs} cold processes"
        f"{threads}"
    )
    with contextlib.ExitStack() as stack:
        out = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        sides = [Side("", _textig(), env)]
        if args.against:
            tree = stack.enter_context(revision_tree(args.against))
            module = [sys.executable, "-m", "textig"]
            here = {**env, "PYTHONPATH": str(REPO)}
            sides = [
                Side("", module, here),
                Side(" @REV", module, {**env, "PYTHONPATH": str(tree)}, tree),
            ]
            print(f"@REV = {describe(args.against)}, both started as python -m textig")
        rows = _rounds(sides, embedders, args.caption, args.runs, out)
    _print(rows, embedders, sides)


if __name__ == "__main__":
    main()
