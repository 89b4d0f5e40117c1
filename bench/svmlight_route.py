"""The original route (svmlight text in, prediction file out) against textig's in-process batch.

Usage: python bench/svmlight_route.py [--data DIR] [--embedder glove] [--repeat 3]
The IG samples of one caption (every point the estimator evaluates, with the fast path off so
the batch is materialised) are scored twice in the same run, and the whole IG is timed as textig
runs it (the fast path scores the nudges without materialising them):
  in-process: one call of the model's brute-force scorer on the (n, d) array;
  file route: write the samples as multi-label svmlight text, read them back, score them, write
  the scores in the reference prediction-file format and parse that back (textig.annexml.formats).
The original additionally started one process per path point that reloaded the model and
rebuilt its index (~15 s each); that cost is not included, so the printed ratio is a floor.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from embeddings import get_embedder
from textig.annexml import formats
from textig.annexml.fast_path import BruteForceScorer
from textig.attribution import integrated_gradients
from textig.data import load_dataset
from textig.features import embed_split
from textig.training import train_or_load


def ig_samples(scorer: BruteForceScorer, x: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Every point the IG estimator evaluates for one caption (top-5 labels)."""
    seen: list[np.ndarray] = []

    def recording(points: np.ndarray) -> np.ndarray:
        seen.append(np.array(points, copy=True))
        return scorer(points)

    f_x = scorer(x[None])[0]
    targets = np.argsort(-f_x, kind="stable")[:5]
    integrated_gradients(recording, x, baseline, targets=targets)
    return np.concatenate(seen)


def file_route(scorer: BruteForceScorer, samples: np.ndarray, folder: Path) -> np.ndarray:
    """Score the samples through svmlight and prediction text files, as the original did."""
    features, predictions = folder / "samples.svm", folder / "samples.pred"
    empty = [[] for _ in range(len(samples))]
    formats.write_svmlight(features, samples, empty)
    X = formats.read_svmlight(features, n_features=samples.shape[1]).X
    scores = scorer(X)
    top = np.argsort(-scores, axis=1, kind="stable")[:, :10]  # the reference keeps 10 labels
    formats.write_predictions(predictions, empty, top, np.take_along_axis(scores, top, axis=1))
    return formats.read_predictions(predictions)


def best_of(repeat: int, work) -> float:
    """Fastest of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="data dir (default: the demo corpus)")
    parser.add_argument("--embedder", default="glove")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    dataset = load_dataset(args.data)
    embedder = get_embedder(args.embedder)
    scorer = BruteForceScorer.for_model(train_or_load(embedder, dataset))
    train = embed_split(embedder, dataset, "train", warn_skipped=False)
    caption = next(c for c in dataset.test if embedder.unusable_reason(c.text) is None)
    x = embedder.encode([caption.text])[0].astype(np.float64)
    baseline = train.X[train.valid].mean(axis=0).astype(np.float64)
    samples = ig_samples(scorer, x, baseline)
    targets = np.argsort(-scorer(x[None])[0], kind="stable")[:5]
    fast = best_of(args.repeat, lambda: integrated_gradients(scorer, x, baseline, targets=targets))
    with tempfile.TemporaryDirectory() as tmp:
        in_process = best_of(args.repeat, lambda: scorer(samples))
        route = best_of(args.repeat, lambda: file_route(scorer, samples, Path(tmp)))
    print(f"{embedder.name}, caption {caption.id}: {len(samples)} IG samples x {samples.shape[1]}")
    print(f"in-process batch : {1000 * in_process:9.1f} ms")
    print(f"svmlight route   : {1000 * route:9.1f} ms")
    print(f"ratio            : {route / in_process:9.1f}x (floor: no per-point process start)")
    print(f"textig IG (fast path, same samples unmaterialised): {1000 * fast:9.1f} ms")
    print(f"ratio svmlight route / textig IG: {route / fast:9.1f}x")


if __name__ == "__main__":
    main()
