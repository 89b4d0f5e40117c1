"""Bench: IG estimators on kNN-vote models against their exact IG.

Models (brute-force votes, num_nn = 10, labels of the real IAPR TC-12 training split): "knn"
(one learner, one cluster, W = identity), "knnW" (a random linear embedding d -> 50) and "ens"
(15 learners, 2 random partition scorers each, random W: AnnexML's shape, untrained). Inputs
are the IAPR GloVe features (``--features``; d = 50) or, for d = 384, SBERT features when
present, else a random non-linear lift of GloVe. Baseline: the training mean. For each caption
the top-5 labels by score whose score differs from the baseline's are explained; the cosine
between estimated and exact attribution vectors and the time per caption are printed.

    python bench/ig_estimator.py --captions 20 --models knn knnW ens --dims 50 384

``--n N`` instead measures the shipped configuration: the AnnexML models textig trains on the
IAPR TC-12 train split (GloVe and SBERT, default parameters, cached), the first N valid test
captions, their top-5 labels, the training-mean baseline and the estimator's defaults (what
``--method estimate`` runs): the share of (caption, label) pairs whose **raw** completeness
error (before the rescaling) is <= 5 %, its median and max, the path nodes each label used
(located jumps, NODES_PER_JUMP nudged probe nodes each, more for jumps measured again,
when every label's jumps fit the budget of 256 x steps nodes; else the quotient estimator with
adaptive refinement), the model evaluations and time per caption, and the
cosine to the exact IG.

    python bench/ig_estimator.py --n 200 --embedders glove sbert
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp

from textig.annexml.fast_path import BruteForceScorer
from textig.attribution import integrated_gradients
from textig.attribution.exact import exact_integrated_gradients
from textig.models.annexml import AnnexMLVotes

FEATS = Path("/tmp/textig-feats")
IAPR = Path("/work/shared/iaprtc12")
VARIANTS = {
    "coarse c=0.3 m=50": dict(estimator="piecewise", scale=0.3, steps=50),
    "coarse c=0.5 m=50": dict(estimator="piecewise", scale=0.5, steps=50),
    "coarse c=0.2 m=50": dict(estimator="piecewise", scale=0.2, steps=50),
    "coarse c=0.2 m=100": dict(estimator="piecewise", scale=0.2, steps=100),
    "coarse c=0.1 m=50": dict(estimator="piecewise", scale=0.1, steps=50),
    "coarse c=0.1 m=100": dict(estimator="piecewise", scale=0.1, steps=100),
    "coarse c=0.1 m=200": dict(estimator="piecewise", scale=0.1, steps=200),
    "coarse c=(0.15,0.3) m=2x50": dict(estimator="piecewise", scale=(0.15, 0.3), steps=50),
    "default (auto)": dict(),
}


@dataclass
class _Cluster:
    W: np.ndarray
    E: np.ndarray
    ids: np.ndarray
    graph: None = None


@dataclass
class _Learner:
    centers: np.ndarray
    clusters: list


def _unit(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def _cluster(X: np.ndarray, ids: np.ndarray, W: np.ndarray) -> _Cluster:
    return _Cluster(W.astype(np.float32), _unit(X[ids] @ W).astype(np.float32), ids)


def build_model(kind: str, X: np.ndarray, Y: sp.csr_matrix, rng: np.random.Generator):
    """A fitted-AnnexML-shaped object that BruteForceScorer and the exact IG accept."""
    d = X.shape[1]
    U = _unit(X)
    all_ids = np.arange(len(X))
    if kind == "knn":
        learners = [_Learner(np.ones((1, d), np.float32), [_cluster(U, all_ids, np.eye(d))])]
    elif kind == "knnW":
        W = rng.normal(size=(d, 50)) / np.sqrt(d)
        learners = [_Learner(np.ones((1, d), np.float32), [_cluster(U, all_ids, W)])]
    elif kind == "ens":
        learners = []
        for _ in range(15):
            centers = rng.normal(size=(2, d)).astype(np.float32)
            home = np.argmax(U @ centers.T, axis=1)
            clusters = [
                _cluster(U, np.flatnonzero(home == c), rng.normal(size=(d, 50)) / np.sqrt(d))
                for c in range(2)
            ]
            learners.append(_Learner(centers, clusters))
    else:
        raise SystemExit(f"unknown model {kind}")
    return SimpleNamespace(learners_=learners, Y_=Y, num_nn=10, score="votes")


def load_features(dim: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) features of dimension dim."""
    train, test = np.load(FEATS / "glove_train.npy"), np.load(FEATS / "glove_test.npy")
    if dim == train.shape[1]:
        return train.astype(np.float64), test.astype(np.float64)
    if (FEATS / "sbert_train.npy").exists() and dim == 384:
        return (np.load(FEATS / "sbert_train.npy").astype(np.float64),
                np.load(FEATS / "sbert_test.npy").astype(np.float64))  # fmt: skip
    lift = rng.normal(size=(train.shape[1], dim))
    return np.tanh(train @ lift), np.tanh(test @ lift)


def load_labels() -> sp.csr_matrix:
    lines = (IAPR / "train.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line)["label_ids"] for line in lines if line.strip()]
    n_labels = len((IAPR / "iaprtc12_dictionary.txt").read_text(encoding="utf-8").splitlines())
    indptr = np.cumsum([0] + [len(r) for r in rows])
    data = np.ones(indptr[-1])
    return sp.csr_matrix((data, np.concatenate(rows), indptr), shape=(len(rows), n_labels))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def run(kind: str, dim: int, captions: int, variants: dict, seed: int) -> None:
    rng = np.random.default_rng(seed)
    train, test = load_features(dim, rng)
    model = build_model(kind, train, load_labels(), rng)
    scorer = BruteForceScorer.for_model(model)
    baseline = train.mean(axis=0)
    picks = rng.choice(np.flatnonzero(np.abs(test).sum(axis=1) > 0), captions, replace=False)
    cases, exact_time, jumps = [], 0.0, 0
    for i in picks:
        x = test[i]
        scores = scorer(np.stack([baseline, x]))
        top = np.argsort(-scores[1], kind="stable")[:5]
        top = top[scores[1, top] != scores[0, top]]
        start = time.perf_counter()
        exact = exact_integrated_gradients(AnnexMLVotes(model), x, baseline, targets=top)
        exact_time += time.perf_counter() - start
        jumps += sum(any(int(t) in j.label_delta for t in top) for j in exact.jumps)
        cases.append((x, top, exact.attributions))
    n_pairs = sum(len(c[1]) for c in cases)
    print(flush=True)
    print(f"== model {kind}, d={dim}, {captions} captions, {n_pairs} (caption, label) pairs; "
          f"exact IG {exact_time / captions:.3f} s/caption, "
          f"{jumps / captions:.0f} target-changing jumps/caption")  # fmt: skip
    for name, kwargs in variants.items():
        cos, raw, evals = [], [], 0
        start = time.perf_counter()
        for x, top, exact in cases:
            result = integrated_gradients(scorer, x, baseline, targets=top, seed=seed, **kwargs)
            cos += [cosine(a, b) for a, b in zip(result.attributions, exact, strict=True)]
            raw += list(result.raw_completeness_error)
            evals += result.n_evaluations
        took = (time.perf_counter() - start) / len(cases)
        print(f"{name:42s} cos mean {np.mean(cos):.3f} median {np.median(cos):.3f} "
              f"p10 {np.percentile(cos, 10):.3f} | raw compl. err median {np.median(raw):.3f} "
              f"| {took:.3f} s/caption, {evals / len(cases):.0f} samples "
              f"[{result.estimator}]")  # fmt: skip


def shipped(name: str, n: int) -> None:
    """The estimator's raw completeness on the trained IAPR model of one embedder."""
    from embeddings import get_embedder
    from textig.data import load_dataset
    from textig.features import embed_split
    from textig.models import as_scorer
    from textig.ranking import rank_labels
    from textig.training import train_or_load

    embedder, dataset = get_embedder(name), load_dataset(IAPR)
    model = train_or_load(embedder, dataset, progress=False)
    test = embed_split(embedder, dataset, "test", progress=False)
    scorer, baseline = as_scorer(model), np.asarray(model.feature_mean_, dtype=np.float64)
    raw, used, converged, cosines, evaluations, methods = [], [], [], [], 0, []
    start = time.perf_counter()
    rows = np.flatnonzero(test.valid)[:n]
    for row in rows:
        x = test.X[row].astype(np.float64)
        f_x = scorer(x[None])[0]
        targets = np.array([t for t in rank_labels(f_x)[:5] if f_x[t] > 0])
        result = integrated_gradients(scorer, x, baseline, targets=targets)
        exact = exact_integrated_gradients(scorer, x, baseline, targets=result.targets)
        raw += result.raw_completeness_error.tolist()
        used += result.steps_used.tolist()
        converged += result.converged.tolist()
        cosines += [cosine(a, b) for a, b in zip(result.attributions, exact.attributions,
                                                  strict=True)]  # fmt: skip
        evaluations += result.n_evaluations
        methods.append(result.method)
        if len(methods) % 10 == 0:  # a running figure for long runs
            pace = (time.perf_counter() - start) / len(methods)
            print(f"  {len(methods)} captions: raw <= 5% on {np.mean(np.asarray(raw) <= 0.05):.1%}"
                  f" (median {np.median(raw):.4f}, max {np.max(raw):.3f}), nodes per label "
                  f"median {np.median(used):.0f} max {np.max(used)}, located "
                  f"{methods.count('located')}, cosine median {np.median(cosines):.3f}, "
                  f"{pace:.1f} s/caption", flush=True)  # fmt: skip
    took = (time.perf_counter() - start) / len(rows)
    raw_arr, used_arr = np.asarray(raw), np.asarray(used)
    print(f"== {name}: {len(rows)} captions, {len(raw)} (caption, top-5 label) pairs, "
          f"training-mean baseline, estimator defaults (budget {result.step_budget} "
          f"nodes per label)")  # fmt: skip
    print(f"raw completeness error <= 5%: {np.mean(raw_arr <= 0.05):.1%} of pairs (bar >= 95%); "
          f"median {np.median(raw_arr):.3f}, p90 {np.percentile(raw_arr, 90):.3f}, "
          f"max {raw_arr.max():.3f}; converged {np.mean(converged):.1%}")  # fmt: skip
    print(f"path nodes per label: median {np.median(used_arr):.0f}, mean {used_arr.mean():.0f}, "
          f"max {used_arr.max()}; {evaluations / len(rows):.0f} model evaluations and "
          f"{took:.2f} s per caption (estimate + exact)")  # fmt: skip
    kinds = ", ".join(f"{m} {methods.count(m)}" for m in sorted(set(methods)))
    print(f"estimator per caption: {kinds} (located: jumps found from the scores)")
    print(
        f"cosine to exact IG (rescaled estimate): median {np.median(cosines):.3f}, "
        f"p10 {np.percentile(cosines, 10):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=None, help="captions of the shipped models")
    parser.add_argument("--embedders", nargs="+", default=["glove", "sbert"])
    parser.add_argument("--captions", type=int, default=20)
    parser.add_argument("--models", nargs="+", default=["knn", "knnW", "ens"])
    parser.add_argument("--dims", nargs="+", type=int, default=[50, 384])
    parser.add_argument("--variants", nargs="*", default=None, help="names (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.n is not None:
        for name in args.embedders:
            shipped(name, args.n)
        return
    chosen = {k: v for k, v in VARIANTS.items() if args.variants is None or k in args.variants}
    for dim in args.dims:
        for kind in args.models:
            run(kind, dim, args.captions, chosen, args.seed)


if __name__ == "__main__":
    main()
