"""Per-caption explain latency of both embedders: feature IG vs back-projection vs total.

Usage: python bench/explain_latency.py [--data DIR] [--n 10] [--embedders glove,sbert]
Models are trained (or loaded from the cache) on the data's train split; the first caption is
explained once untimed (warm-up), then n test captions are timed. Prints medians in ms.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from embeddings import get_embedder
from textig.data import load_dataset
from textig.explain import Explainer
from textig.features import embed_split
from textig.training import train_or_load

PARTS = ("encode", "baseline", "ig", "words", "total")


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="data dir (default: the demo corpus)")
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--embedders", default="glove,sbert")
    args = parser.parse_args()
    dataset = load_dataset(args.data)
    captions = [c for c in dataset.test if c.text.strip()][: args.n + 1]
    print(f"{dataset.name}: {len(captions) - 1} test captions, top-5 labels, median ms")
    print(f"{'embedder':10}" + "".join(f"{p:>10}" for p in PARTS))
    for spec in args.embedders.split(","):
        embedder = get_embedder(spec)
        model = train_or_load(embedder, dataset)
        train = embed_split(embedder, dataset, "train", warn_skipped=False)
        explainer = Explainer(embedder, model, training_features=train, labels=dataset.vocabulary)
        timings = [explainer.explain(c.text).timings for c in captions]
        medians = {
            p: 1000 * float(np.median([t.get(p, np.nan) for t in timings[1:]])) for p in PARTS
        }
        print(f"{spec:10}" + "".join(f"{medians[p]:10.1f}" for p in PARTS))


if __name__ == "__main__":
    main()
