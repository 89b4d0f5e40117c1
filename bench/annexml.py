"""AnnexML on real IAPR TC-12 features: train time, predict ms/sample, P@k (brute vs graph),
and the mini-batch size of the embedding learner against accuracy.

    .venv/bin/python bench/annexml.py --data ../shared/iaprtc12 [--embedders glove,sbert]
        [--learners 15] [--batches 8,64] [--predict-n 20000] [--load sbert=MODEL.npz]

Features come from textig.features (cached under $TEXTIG_CACHE). Figures are measured here,
in one run, side by side; nothing is hard-coded.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from embeddings import get_embedder
from textig.annexml import AnnexML, evaluate
from textig.annexml import learner as learner_module
from textig.data import load_dataset
from textig.features import embed_split


def _split(embedder, dataset, name: str):
    f = embed_split(embedder, dataset, name, progress=True)
    return f.X[f.valid], dataset.label_matrix(name)[f.valid]


def _row(name: str, metrics: dict[str, float]) -> str:
    keys = ("P@1", "P@3", "P@5", "nDCG@5")
    return name + "  " + "  ".join(f"{k}={metrics[k]:.4f}" for k in keys)


def bench_embedder(
    spec: str, dataset, learners: int, batches: list[int], predict_n: int, load: Path | None
) -> None:
    embedder = get_embedder(spec)
    X, Y = _split(embedder, dataset, "train")
    Xt, Yt = _split(embedder, dataset, "test")
    print(f"== {spec}: train {X.shape}, test {Xt.shape}")
    for batch in batches if load is None else [None]:
        if load is None:
            learner_module.BATCH = batch
            start = time.perf_counter()
            model = AnnexML(num_learner=learners).fit(X, Y, labels=dataset.vocabulary)
            print(f"batch={batch}: train {time.perf_counter() - start:.1f} s")
        else:
            model = AnnexML.load(load)
            print(f"loaded {load} (no training)")
        for search in ("brute", "graph"):
            start = time.perf_counter()
            scores = model.decision_function(Xt, search=search)
            ms = 1000 * (time.perf_counter() - start) / len(Xt)
            print(_row(f"  {search:5s} {ms:.3f} ms/sample", evaluate(scores, Yt)))
    rng = np.random.default_rng(0)
    big = Xt[rng.integers(0, len(Xt), predict_n)] + 0.01 * rng.standard_normal(
        (predict_n, X.shape[1])
    )
    for search in ("graph", "brute"):
        start = time.perf_counter()
        model.decision_function(big, search=search)
        seconds = time.perf_counter() - start
        print(f"decision_function {predict_n} x {X.shape[1]} ({search}): {seconds:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/iaprtc12"))
    parser.add_argument("--embedders", default="glove,sbert")
    parser.add_argument("--learners", type=int, default=15)
    parser.add_argument("--batches", default=str(learner_module.BATCH))
    parser.add_argument("--predict-n", type=int, default=20000)
    parser.add_argument(
        "--load", action="append", default=[], metavar="NAME=PATH", help="skip training: a model"
    )
    args = parser.parse_args()
    dataset = load_dataset(args.data)
    batches = [int(b) for b in args.batches.split(",")]
    loaded = dict(item.split("=", 1) for item in args.load)
    for spec in args.embedders.split(","):
        load = Path(loaded[spec]) if spec in loaded else None
        bench_embedder(spec, dataset, args.learners, batches, args.predict_n, load)


if __name__ == "__main__":
    main()
