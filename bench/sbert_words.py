"""SBERT's word step ("ig" back-projection) inside real explanations, side by side with an
older revision.

Usage: python bench/sbert_words.py --data ../shared/iaprtc12 [--n 20] [--against REV]
       [--threads N]
The SBERT AnnexML model of the data (trained or loaded from the cache) explains n test
captions, top-5 labels, default settings: the word step gets the model's own label heads ḡ,
whose refinement is what costs (seeded heads along x - x' met the sum rule far more easily).
The first caption is a warm-up. Prints the word step's median wall and process CPU time, the
largest raw word gap over all (caption, label) pairs (the explanation's |Σ words - Σ features|
/ |Σ features|, never rescaled), and the gradient evaluations (path points x labels) per
caption, median and total: on a machine shared with other jobs, CPU time with ``--threads 1``
and the evaluation count measure the work. ``--against REV`` first runs the same script on REV
from a temporary git worktree.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _against import REPO, describe, revision_tree


def _count_evaluations() -> list[int]:
    """Wrap the word step's gradient pass so every (path point, label) is counted."""
    import embeddings.sbert_words as words

    counted, evaluations = words._label_gradients, [0]

    def counting(embedder, points, mask, heads):  # type: ignore[no-untyped-def]
        evaluations[0] += len(points) * len(heads)
        return counted(embedder, points, mask, heads)

    words._label_gradients = counting
    return evaluations


def measure(data: Path, n: int) -> str:
    from embeddings import get_embedder
    from textig.data import load_dataset
    from textig.explain import Explainer
    from textig.features import embed_split
    from textig.training import train_or_load

    dataset = load_dataset(data)
    embedder = get_embedder("sbert")
    train = embed_split(embedder, dataset, "train", warn_skipped=False)
    explainer = Explainer(
        embedder, train_or_load(embedder, dataset), training_features=train,
        labels=dataset.vocabulary,
    )  # fmt: skip
    texts = [c.text for c in dataset.test if c.text.strip()][: n + 1]
    evaluations = _count_evaluations()
    times, cpu, gaps, counts = [], [], [], []
    for text in texts:
        evaluations[0] = 0
        cpu_started = time.process_time()
        explanation = explainer.explain(text)
        cpu.append(time.process_time() - cpu_started)  # the whole explanation's CPU
        times.append(explanation.timings["words"])
        counts.append(evaluations[0])
        gaps.append(max((label.word_gap or 0.0) for label in explanation.labels))
    return (
        f"word step median {1000 * np.median(times[1:]):.0f} ms (explanation CPU "
        f"{1000 * np.median(cpu[1:]):.0f} ms), max word gap {max(gaps[1:]):.3%}, "
        f"gradient evaluations per caption median {np.median(counts[1:]):.0f}, "
        f"total {sum(counts[1:])}"
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
    print(f"{args.n} IAPR test captions, the model's top-5 labels (first caption untimed)")
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
