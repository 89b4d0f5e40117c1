"""`textig train`: fit AnnexML on a dataset's features (or a precomputed feature file)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from textig.errors import TextigError

_EPILOG = """\
parameters (reference names and defaults): emb_size=50 num_learner=15 num_nn=10 cls_type=1
cls_iter=10 emb_iter=10 label_normalize=1 eta0=0.1 lambda=4.0 gamma=10.0 pred_type=1
num_edge=50 search_eps=0.0 seed=0 score=votes (score=similarity: cosine-weighted votes,
a textig extension). Captions or lines without features are left out and listed on stderr.
"""


def _param(text: str) -> tuple[str, str]:
    from textig.training import resolve_params

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        resolve_params({key: value})
    except TextigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return key, value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `train` subcommand."""
    parser = subparsers.add_parser(
        "train",
        help="train an AnnexML model",
        description="Train AnnexML on the training split's features and save the model (npz).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--embedder", default="glove", help="glove, sbert, sbert:/path, a plug-in")
    parser.add_argument("--data", type=Path, help="data folder (default: bundled demo corpus)")
    parser.add_argument("--out", type=Path, required=True, help="model file to write (.npz)")
    parser.add_argument(
        "--features",
        type=Path,
        help="precomputed features instead of the embedder: 'textig embed' npz, or svmlight",
    )
    parser.add_argument(
        "--param",
        type=_param,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an AnnexML parameter, repeatable (names and defaults below), e.g. num_learner=5",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="retrain: reuse no cached features or model"
    )
    parser.set_defaults(func=run)


def _report(left_out: list[str]) -> None:
    if left_out:
        shown = ", ".join(left_out[:10]) + (" ..." if len(left_out) > 10 else "")
        print(f"textig: {len(left_out)} row(s) without features left out: {shown}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Train and save; returns the exit code."""
    from textig.annexml import AnnexML, check_params
    from textig.data import load_dataset
    from textig.training import resolve_params, train_or_load

    params = resolve_params(dict(args.param))
    check_params(params)  # before any data is read: a NaN eta0 would train an all-NaN model
    dataset = load_dataset(args.data) if args.data or not args.features else None
    if args.features:
        from textig.annexml.feature_files import load_features

        features = load_features(args.features, "train", dataset)
        _report(features.left_out)
        labels = list(dataset.vocabulary) if dataset is not None else None
        model = AnnexML(**params).fit(
            features.X, features.Y, labels=labels, embedder=features.identity, progress=True
        )
    else:
        from embeddings import get_embedder

        model = train_or_load(
            get_embedder(args.embedder), dataset, params=params, cache=not args.no_cache
        )
    model.save(args.out)
    out = args.out.resolve()
    print(f"wrote {out} ({len(model.learners_)} learners, {model.Y_.shape[0]} samples)")
    return 0
