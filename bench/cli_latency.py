"""Cold-start cost of the `textig explain` command: wall time of a fresh process vs the
explanation's own time.

Usage: python bench/cli_latency.py [--runs 5] [--embedders glove,sbert] [--caption TEXT]

Each embedder first runs once untimed, so its model, features, asset hashes and word list are
cached (as for a user's second command). Then, ``--runs`` times, interleaved so machine load
hits all alike: a bare ``python -c pass``, and one cold ``textig explain CAPTION`` process per
embedder. Prints medians: wall, the report's ``timings.total`` (the explanation proper), and
overhead = wall - total (start-up: imports, model and data loading, report writing), against
the targets (GloVe <= 1.0 s, SBERT <= 4 s on the project's 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"glove": 1.0, "sbert": 4.0}
CAPTION = "a palm tree on a sandy beach"


def _textig() -> list[str]:
    """The installed `textig` script beside this Python, else ``python -m textig``."""
    script = Path(sys.executable).with_name("textig")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "textig"]


def _run(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds and stdout of one process; a failure stops the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"cli_latency: {' '.join(command[:3])} ... failed:\n{done.stderr}")
    return wall, done.stdout


def _explain(embedder: str, caption: str, out: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, timings.total) of one `textig explain` process."""
    command = [*_textig(), "explain", caption, "--embedder", embedder, "--out", str(out)]
    wall, stdout = _run(command, env)
    report = next(line for line in stdout.splitlines() if line.endswith(".json"))
    total = float(json.loads(Path(report).read_text(encoding="utf-8"))["timings"]["total"])
    return wall, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--embedders", default="glove,sbert")
    parser.add_argument("--caption", default=CAPTION)
    args = parser.parse_args()
    embedders = args.embedders.split(",")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        for name in embedders:  # warm-up: train or load the model, fill the caches
            _explain(name, args.caption, out, env)
        bare: list[float] = []
        walls: dict[str, list[float]] = {name: [] for name in embedders}
        totals: dict[str, list[float]] = {name: [] for name in embedders}
        for _ in range(args.runs):
            bare.append(_run([sys.executable, "-c", "pass"], env)[0])
            for name in embedders:
                wall, total = _explain(name, args.caption, out, env)
                walls[name].append(wall)
                totals[name].append(total)
    print(f"textig explain {args.caption!r}, cached model, median of {args.runs} cold processes")
    print(f"python -c pass: {statistics.median(bare):.2f} s")
    print(f"{'embedder':10}{'wall s':>9}{'total s':>9}{'overhead s':>12}{'target s':>10}  met")
    for name in embedders:
        wall, total = statistics.median(walls[name]), statistics.median(totals[name])
        overheads = [w - t for w, t in zip(walls[name], totals[name], strict=True)]
        overhead = statistics.median(overheads)
        target = TARGETS.get(name)
        met = "-" if target is None else ("yes" if overhead <= target else "NO")
        shown = "-" if target is None else f"{target:.1f}"
        print(f"{name:10}{wall:9.2f}{total:9.2f}{overhead:12.2f}{shown:>10}  {met}")


if __name__ == "__main__":
    main()
