"""Bench: the black-box IG estimator against the exact IG of a trained AnnexML model.

For IAPR TC-12 test captions, each embedder with its trained model, the top-5 labels by
brute-force score: cosine and top-10-feature overlap between the estimator's attributions
(``textig.attribution.integrated_gradients``, default settings and variants) and the exact
IG (``textig.annexml.exact``), the exact IG's completeness error and time per caption, and a
fine-grid cross-check (path scan + bisection on the brute-force scores: the BruteForceScorer,
or ``decision_function(search="brute")`` with ``--model-black-box``).
Baseline: the training-mean feature vector.

    python bench/estimator_vs_exact.py --model glove=/tmp/textig-models/glove.npz \\
        --model sbert=/tmp/textig-models/sbert.npz --captions 200 --fine-grid 20

    python bench/estimator_vs_exact.py --knn glove:10 --captions 200   # exact kNN IG

Features come from ``--features DIR`` (``{name}_train.npy``, ``{name}_test.npy``) or are
computed (and cached) with the embedder of that name.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from textig.annexml import AnnexML
from textig.annexml.exact import fine_grid_integrated_gradients
from textig.annexml.fast_path import BruteForceScorer
from textig.attribution import integrated_gradients
from textig.attribution.exact import exact_integrated_gradients
from textig.models import as_scorer

REPO = Path(__file__).resolve().parents[1]

VARIANTS = {
    "default (auto)": {},
    "piecewise scale=0.1": {"estimator": "piecewise", "scale": 0.1},
    "piecewise scale=0.5": {"estimator": "piecewise", "scale": 0.5},
    "piecewise middle": {"estimator": "piecewise", "method": "middle"},
    "smooth (tiny steps)": {"estimator": "smooth"},
}


def features(name: str, directory: Path | None, iapr: Path) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) features of one embedder and the validity of the test rows."""
    if directory is not None:
        return np.load(directory / f"{name}_train.npy"), np.load(directory / f"{name}_test.npy")
    from embeddings import get_embedder
    from textig.data import load_dataset
    from textig.features import dataset_features

    embedder, dataset = get_embedder(name), load_dataset(iapr)
    return (
        dataset_features(embedder, dataset, "train", progress=True),
        dataset_features(embedder, dataset, "test", progress=True),
    )


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of two vectors; nan when either is zero."""
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norm) if norm > 0 else float("nan")


def overlap(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    """Share of the k features with the largest |attribution| that both vectors agree on."""
    top_a = set(np.argsort(-np.abs(a), kind="stable")[:k].tolist())
    top_b = set(np.argsort(-np.abs(b), kind="stable")[:k].tolist())
    return len(top_a & top_b) / k


def summary(values: list[float]) -> str:
    """Mean and median, ignoring nan."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return f"{np.mean(v):8.3f} {np.median(v):8.3f}" if v.size else "     n/a      n/a"


def run(name: str, model_path: Path, args: argparse.Namespace) -> None:
    """Print the table for one embedder's AnnexML model."""
    model = AnnexML.load(model_path)
    train, test = features(name, args.features, args.iapr)
    scorer = BruteForceScorer.for_model(model)
    exact_results = table(name, as_scorer(model), scorer, train, test, args)
    if args.fine_grid <= 0:
        return
    baseline = train.mean(axis=0).astype(np.float64)
    black_box = None if args.model_black_box else scorer
    fine_grid(model, baseline, exact_results[: args.fine_grid], args.grid_points, black_box)


def run_knn(spec: str, args: argparse.Namespace) -> None:
    """Print the table for a uniform euclidean KNeighborsClassifier on one embedder's
    features of the training split (multi-label, one 0/1 output per label)."""
    from sklearn.neighbors import KNeighborsClassifier

    from textig.data import load_dataset

    name, _, k = spec.partition(":")
    train, test = features(name, args.features, args.iapr)
    labels = load_dataset(args.iapr).label_matrix("train").toarray().astype(np.int8)
    valid = np.any(train != 0, axis=1)
    knn = KNeighborsClassifier(n_neighbors=int(k or 10)).fit(train[valid], labels[valid])
    scorer = as_scorer(knn)
    table(f"{name} kNN k={scorer.k}", scorer, scorer, train, test, args)


def table(name, exact_scorer, scorer, train, test, args: argparse.Namespace) -> list:
    """Exact IG of every label and the estimator on the top-5 labels of the test captions."""
    baseline = train.mean(axis=0).astype(np.float64)
    rows = [i for i in range(len(test)) if np.any(test[i])][: args.captions]
    scores = scorer(test[rows].astype(np.float64))
    stats: dict[str, list[float]] = {"exact time": [], "exact completeness": []}
    for variant in VARIANTS:
        stats[f"{variant}: cosine"], stats[f"{variant}: top-10 overlap"] = [], []
        stats[f"{variant}: time"] = []
    exact_results = []
    default_errors, all_zero = [], 0  # issue-5 bars of the default estimator
    for r, i in enumerate(rows):
        x = test[i].astype(np.float64)
        targets = np.lexsort((np.arange(scores.shape[1]), -scores[r]))[:5]
        start = time.perf_counter()
        every = exact_integrated_gradients(
            exact_scorer, x, baseline, targets=np.arange(scores.shape[1])
        )
        stats["exact time"].append(time.perf_counter() - start)
        gap = every.f_x - every.f_baseline  # every (caption, label) pair, not only the top 5
        stats["exact completeness"].append(
            float(np.max(np.abs(every.attributions.sum(axis=1) - gap)))
        )
        exact = replace(
            every,
            attributions=every.attributions[targets],
            targets=targets,
            completeness_error=every.completeness_error[targets],
            raw_completeness_error=every.raw_completeness_error[targets],
            steps_used=every.steps_used[targets],
            converged=every.converged[targets],
        )
        exact_results.append((x, exact))
        for variant, options in VARIANTS.items():
            if options and r >= args.variant_captions:
                continue
            start = time.perf_counter()
            est = integrated_gradients(scorer, x, baseline, targets=targets, **options)
            stats[f"{variant}: time"].append(time.perf_counter() - start)
            if not options:
                default_errors += est.raw_completeness_error.tolist()  # before rescaling
                moved = est.f_x[est.targets] != est.f_baseline[est.targets]
                all_zero += int(np.sum(moved & ~np.any(est.attributions, axis=1)))
            for a, b in zip(est.attributions, exact.attributions, strict=True):
                stats[f"{variant}: cosine"].append(cosine(a, b))
                stats[f"{variant}: top-10 overlap"].append(overlap(a, b))
        if (r + 1) % 20 == 0:  # a running figure for long runs
            print(f"  {r + 1} captions: default cosine median "
                  f"{np.nanmedian(stats['default (auto): cosine']):.3f}, raw <= 5% on "
                  f"{np.mean(np.asarray(default_errors) <= 0.05):.1%}", flush=True)  # fmt: skip
    print(f"\n== {name}: {len(rows)} test captions, top-5 labels, training-mean baseline ==")
    print(f"{'measure':48s} {'mean':>8s} {'median':>8s}")
    for key, values in stats.items():
        print(f"{key:48s} {summary(values)}")
    print(
        f"max exact completeness error |Σ attr - ΔF| over every (caption, label) pair: "
        f"{max(stats['exact completeness']):.2e}"
    )
    within = float(np.mean(np.asarray(default_errors) <= 0.05))
    print(
        f"default estimator: raw completeness error <= 5% on {within:.1%} of "
        f"{len(default_errors)} "
        f"(caption, label) pairs (bar >= 95%); all-zero rows with F(x) != F(x'): {all_zero}"
    )
    return exact_results


def fine_grid(model, baseline: np.ndarray, results: list, points: int, black_box) -> None:
    """Fine-grid cross-check: max |difference| and cosine to the exact IG per caption."""
    diffs, cosines, jumps = [], [], []
    for x, exact in results:
        grid, found = fine_grid_integrated_gradients(
            model, x, baseline, exact.targets, points=points, score=black_box
        )
        diffs.append(float(np.max(np.abs(grid - exact.attributions), initial=0.0)))
        cosines += [cosine(a, b) for a, b in zip(grid, exact.attributions, strict=True)]
        jumps.append((found, len(exact.jumps)))
    print(f"fine grid ({points} points + bisection) on {len(results)} captions:")
    print(f"  max |fine-grid - exact| per caption: max {max(diffs):.2e}, median "
          f"{np.median(diffs):.2e}; cosine {summary(cosines)}")  # fmt: skip
    print(f"  jump intervals located / exact jumps (summed): {sum(j[0] for j in jumps)} / "
          f"{sum(j[1] for j in jumps)}")  # fmt: skip


def main() -> None:
    """Parse arguments and run each embedder's table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", default=[], help="NAME=PATH, repeatable")
    parser.add_argument(
        "--knn",
        action="append",
        default=[],
        help="NAME[:K]: also a uniform euclidean kNN (K neighbours, default 10) on NAME's "
        "training features, repeatable",
    )
    parser.add_argument("--features", type=Path, default=None)
    parser.add_argument("--iapr", type=Path, default=REPO.parent / "shared" / "iaprtc12")
    parser.add_argument("--captions", type=int, default=20)
    parser.add_argument(
        "--variant-captions",
        type=int,
        default=50,
        help="captions on which the non-default estimator variants also run (they are slow)",
    )
    parser.add_argument("--fine-grid", type=int, default=20, help="captions cross-checked")
    parser.add_argument("--grid-points", type=int, default=2000)
    parser.add_argument(
        "--model-black-box",
        action="store_true",
        help="bisect on model.decision_function(search='brute') (slow) instead of the scorer",
    )
    args = parser.parse_args()
    for spec in args.model:
        name, _, path = spec.partition("=")
        run(name, Path(path), args)
    for spec in args.knn:
        run_knn(spec, args)


if __name__ == "__main__":
    main()
