"""textig's brute-force scores of a reference C++ AnnexML model against the reference's own.

Usage: python bench/reference_parity.py [--cxx ../shared/annexml-cxx] [--data ../shared/iaprtc12]
Reads ``glove-cxx.bin`` with ``textig.annexml.reference_file``, scores every caption of
``glove.test.svm`` with textig's brute-force scorer and compares the top 10 with
``glove-cxx.brute.txt`` (``annexml predict ... pred_type=0``). Prints the captions whose
labels, votes and order are equal; those that differ only in the order of tied labels (the
reference sorts an unordered map); and those whose votes differ, each with its cause:
- "duplicate tie": identical training embeddings tie exactly at the num_nn boundary; textig
  keeps the earlier one, the reference whichever its top-k heap (std::push_heap/pop_heap)
  leaves; the bench replays that heap to confirm it accounts for the whole difference;
- "float32 tie": two different training keys agree to float32 rounding (relative gap < 1e-6),
  which the reference compares in float32, textig in float64.
Then the largest vote difference, and P@1/3/5 of the reference file, of textig's ranking
(ties to the lower label id) and of the reference file re-ranked by that same tie rule.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from textig.annexml.fast_path import BruteForceScorer
from textig.annexml.formats import read_predictions, read_svmlight
from textig.annexml.reference_file import read_reference_model, top_k_status
from textig.data import load_dataset
from textig.ranking import rank_labels

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
NEAR = 1e-6  # relative key gap below which float32 and float64 may order two keys differently


def _sift_up(heap: list, hole: int, top: int, item: tuple) -> None:
    parent = (hole - 1) // 2
    while hole > top and heap[parent][1] > item[1]:
        heap[hole] = heap[parent]
        hole, parent = parent, (parent - 1) // 2
    heap[hole] = item


def _sift_down(heap: list, n: int, item: tuple) -> None:
    """libstdc++'s __adjust_heap from the root over heap[:n], then the sift-up of ``item``."""
    hole = child = 0
    while child < (n - 1) // 2:
        child = 2 * (child + 1)
        if heap[child][1] > heap[child - 1][1]:
            child -= 1
        heap[hole], hole = heap[child], child
    if n % 2 == 0 and child == (n - 2) // 2:
        child = 2 * (child + 1)
        heap[hole], hole = heap[child - 1], child - 1
    _sift_up(heap, hole, 0, item)


def heap_top(keys: np.ndarray, k: int) -> list[int]:
    """Positions the reference's brute-force search keeps: a min-heap of k (position, key)
    scanned in member order, a key not above the heap's minimum skipped."""
    heap: list[tuple[int, float]] = []
    for position, key in enumerate(keys.tolist()):
        if len(heap) >= k:
            if key <= heap[0][1]:
                continue
            last = heap[-1]
            heap[-1] = heap[0]
            _sift_down(heap, len(heap) - 1, last)
            heap.pop()
        heap.append((position, key))
        _sift_up(heap, len(heap) - 1, 0, heap[-1])
    return sorted(position for position, _ in heap)


def learner_keys(model, x: np.ndarray) -> list[tuple[object, np.ndarray]]:
    """Per learner: the cluster x falls in and every member's key, in float64."""
    out = []
    for learner in model.learners_:
        cluster = learner.clusters[int(np.argmax(learner.centers.astype(np.float64) @ x))]
        keys = cluster.E.astype(np.float64) @ (x @ cluster.W.astype(np.float64))
        out.append((cluster, keys))
    return out


def diagnose(model, x: np.ndarray, reference: list[tuple[int, float]]) -> str:
    """Why textig's votes for x differ from the reference's."""
    k, Y = model.num_nn, model.Y_
    causes, votes = set(), np.zeros(Y.shape[1])
    for cluster, keys in learner_keys(model, x):
        ranked = np.sort(keys)[::-1]
        if len(keys) > k:
            gap = ranked[k - 1] - ranked[k]
            if gap == 0:
                causes.add("duplicate tie")
            elif gap <= NEAR * abs(ranked[k - 1]):
                causes.add("float32 tie")
        for position in heap_top(keys, k):
            votes[
                Y.indices[Y.indptr[cluster.ids[position]] : Y.indptr[cluster.ids[position] + 1]]
            ] += 1
    replayed = top_k_status(votes, reference) != "differs"
    if causes == {"duplicate tie"} and replayed:
        return "duplicate tie (heap replay matches the reference)"
    return " + ".join(sorted(causes)) or "unexplained"


def ranked_ids(scores: np.ndarray, k: int = 10) -> list[int]:
    """textig's top k label ids with a positive score, ties to the lower label id."""
    order = rank_labels(scores, k)
    return [int(label) for label in order if scores[label] > 0]


def precision(ranked: list[list[int]], truth: list[tuple[int, ...]], k: int) -> float:
    """P@k of ranked label lists."""
    return float(
        np.mean([len(set(r[:k]) & set(t)) / k for r, t in zip(ranked, truth, strict=True)])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cxx", type=Path, default=SHARED / "annexml-cxx")
    parser.add_argument("--data", type=Path, default=SHARED / "iaprtc12", help="names the labels")
    args = parser.parse_args()
    model = read_reference_model(args.cxx / "glove-cxx.bin", load_dataset(args.data).vocabulary)
    X = read_svmlight(args.cxx / "glove.test.svm", n_features=model.dim_).X.astype(np.float64)
    truth, reference = read_predictions(args.cxx / "glove-cxx.brute.txt")
    started = time.perf_counter()
    scores = BruteForceScorer(model)(X)
    print(f"{len(X)} captions scored in {time.perf_counter() - started:.1f} s")
    status = [top_k_status(s, r) for s, r in zip(scores, reference, strict=True)]
    ties = [i for i, s in enumerate(status) if s == "tie_order"]
    differs = [i for i, s in enumerate(status) if s == "differs"]
    print(f"top-10 labels, votes and order equal: {status.count('exact')} / {len(X)}")
    picks = [i for i in ties if {lab for lab, _ in reference[i]} != set(ranked_ids(scores[i]))]
    print(
        f"tie-order differences only (same votes): {len(ties)}, of which {len(picks)} also keep "
        "another label tied at the 10th score"
    )
    print(f"vote differences: {len(differs)}")
    for i in differs:
        print(f"  caption {i}: {diagnose(model, X[i], reference[i])}")
    print(f"  tie-order captions: {ties}")
    gap = max(abs(scores[i][label] - s) for i, r in enumerate(reference) for label, s in r)
    print(f"max |textig - reference| vote over the reference's top-10 labels: {gap:g}")
    ranked = {
        "reference file": [[label for label, _ in r] for r in reference],
        "textig": [ranked_ids(s) for s in scores],
        "reference re-ranked by textig's tie rule": [
            [label for label, _ in sorted(r, key=lambda p: (-p[1], p[0]))] for r in reference
        ],
    }
    for name, lists in ranked.items():
        figures = " / ".join(f"{precision(lists, truth, k):.4f}" for k in (1, 3, 5))
        print(f"P@1/3/5 {name}: {figures}")


if __name__ == "__main__":
    main()
