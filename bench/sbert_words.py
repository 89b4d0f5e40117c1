"""SBERT's word step alone ("ig" back-projection), side by side with an older revision.

Usage: python bench/sbert_words.py --data ../shared/iaprtc12 [--n 20] [--against REV]
       [--threads N]
Five label heads per caption with a clear component along x - x' (seeded), so the step does
not depend on a trained model. Prints the median time, the largest raw word gap (|Σ words -
heads·(x - x')| / |heads·(x - x')|, x from encode) and the gradient evaluations (path points x
labels) and the process CPU time per caption: on a machine shared with other jobs, CPU
time with ``--threads 1`` measures the work, while the wall time of a multi-threaded run also
counts threads waiting for each other. ``--against REV`` first runs the same script on REV
from a temporary git worktree.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _against import REPO, describe, revision_tree


def _heads(x: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    direction = (x - b) / np.linalg.norm(x - b) ** 2
    return direction * rng.uniform(1, 3, size=(5, 1)) + rng.normal(scale=0.05, size=(5, x.size))


def measure(data: Path, n: int) -> str:
    import embeddings.sbert_words as words
    from embeddings import get_embedder

    embedder = get_embedder("sbert")
    with open(data / "test.jsonl", encoding="utf-8") as handle:
        texts = [json.loads(line)["caption"] for _, line in zip(range(n + 1), handle, strict=False)]
    rng = np.random.default_rng(0)
    counted = words._label_gradients
    evaluations = [0]

    def counting(embedder, points, mask, heads):  # type: ignore[no-untyped-def]
        evaluations[0] += len(points) * len(heads)
        return counted(embedder, points, mask, heads)

    words._label_gradients = counting
    times, cpu, gaps = [], [], []
    for index, text in enumerate(texts):
        x = embedder.encode([text])[0].astype(np.float64)
        b = embedder.neutral_baseline(text).astype(np.float64)
        gbar = _heads(x, b, rng)
        evaluations[0] = 0 if index == 1 else evaluations[0]
        started, cpu_started = time.perf_counter(), time.process_time()
        rows = embedder.word_attributions(text, gbar, b)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        totals = np.array([sum(w.score for w in row) for row in rows])
        gaps.append(float(np.max(np.abs(totals - gbar @ (x - b)) / np.abs(gbar @ (x - b)))))
    return (
        f"median {1000 * np.median(times[1:]):.0f} ms (CPU {1000 * np.median(cpu[1:]):.0f} ms), "
        f"max word gap {max(gaps[1:]):.3%}, "
        f"{evaluations[0]} gradient evaluations"
    )


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "iaprtc12")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--against", metavar="REV")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    print(f"{args.n} IAPR test captions x 5 heads (first caption untimed)")
    if args.against:
        with revision_tree(args.against) as tree:
            env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{Path(__file__).parent}"}
            command = [sys.executable, __file__, "--data", str(args.data), "--n", str(args.n)]
            command += ["--threads", str(args.threads)] if args.threads else []
            before = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            figures = before.stdout.splitlines()[-1].split(": ", 1)[1]
            print(f"before ({describe(args.against)}): {figures}")
    print(f"after (this tree): {measure(args.data, args.n)}")


if __name__ == "__main__":
    main()
