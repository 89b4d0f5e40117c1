"""`textig evaluate`: P@k, nDCG@k and PSP@k of a model on the test split."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from textig.errors import TextigError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `evaluate` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score a model on the test split",
        description="Print P@1..5, nDCG@1..5 and PSP@1..5 (ranking by score, then label id).",
    )
    parser.add_argument("--model", type=Path, required=True, help="model file (.npz)")
    parser.add_argument("--data", type=Path, help="data folder (default: bundled demo corpus)")
    parser.add_argument("--embedder", help="embedder (default: the one the model was trained on)")
    parser.add_argument(
        "--features", type=Path, help="precomputed test features: 'textig embed' npz, or svmlight"
    )
    parser.add_argument("--search", choices=("brute", "graph"), help="default: the model's")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(func=run)


def _embedder_spec(identity: str | None) -> str:
    """Built-in embedder name from a model's recorded identity."""
    from textig.cli.explain import builtin_spec

    spec = builtin_spec(identity) if identity else None
    if spec is None:
        raise TextigError("cannot tell which embedder the model was trained with: give --embedder")
    return spec


def _test_split(args: argparse.Namespace, model) -> tuple[np.ndarray, object, list[str]]:
    from textig.data import load_dataset

    dataset = load_dataset(args.data) if args.data or not args.features else None
    if dataset is not None and model.labels_ != list(dataset.vocabulary):
        raise TextigError(
            f"the model's {len(model.labels_)} labels differ from the {dataset.name} dataset's "
            f"{len(dataset.vocabulary)}: pass --data with the data the model was trained on"
        )
    if args.features:
        from textig.annexml.feature_files import load_features

        features = load_features(args.features, "test", dataset, len(model.labels_))
        model.check_compatible(features.identity, features.X.shape[1])
        return features.X, features.Y, features.left_out
    from embeddings import get_embedder
    from textig.features import embed_split

    embedder = get_embedder(args.embedder or _embedder_spec(model.embedder_identity_))
    model.check_compatible(embedder.identity, embedder.dim)
    split = embed_split(embedder, dataset, "test", progress=True, warn_skipped=False)
    left_out = [f"caption {i}" for i in split.skipped]
    return split.X[split.valid], dataset.label_matrix("test")[split.valid], left_out


def run(args: argparse.Namespace) -> int:
    """Evaluate and print one line per metric family; returns the exit code."""
    from textig.annexml import AnnexML
    from textig.annexml.metrics import evaluate

    model = AnnexML.load(args.model)
    X, Y, left_out = _test_split(args, model)
    if left_out:
        print(f"textig: {len(left_out)} test row(s) without features left out", file=sys.stderr)
    if len(X) == 0:
        raise TextigError("no test row has features")
    scores = model.decision_function(X, search=args.search)
    metrics = evaluate(scores, Y, train_labels=model.Y_)
    search = args.search or ("graph" if model.pred_type else "brute")
    if args.json:
        data = {"model": str(args.model.resolve()), "n_test": len(X), "search": search}
        print(json.dumps(data | {"left_out": len(left_out), "metrics": metrics}, indent=2))
        return 0
    print(f"{len(X)} test samples, search={search}")
    for family in ("P", "nDCG", "PSP"):
        print("  ".join(f"{family}@{k}={metrics[f'{family}@{k}']:.4f}" for k in range(1, 6)))
    return 0
