"""`textig embed`: features of a whole dataset, as npz (default) or multi-label svmlight."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from textig._utils import atomic_open
from textig.errors import TextigError

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

_SPLITS = ("train", "test")

_EPILOG = """\
Captions the embedder cannot encode (e.g. an empty caption, or only stopwords for GloVe) are
always named on stderr. In npz output they get an all-zero row and valid_<split>[i] = False
(keys per split: X_<split>, ids_<split>, valid_<split>; plus identity, checksum). svmlight
has no room for such a flag and AnnexML would drop an empty line silently, so svmlight output
fails listing them, unless --drop-unusable leaves them out of the file.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `embed` subcommand."""
    parser = subparsers.add_parser(
        "embed",
        help="embed a dataset's captions into feature vectors",
        description="Embed every caption of a dataset (cached by embedder identity and data).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--embedder", default="glove", help="glove, sbert, sbert:/path, a plug-in")
    parser.add_argument("--data", type=Path, help="data folder (default: bundled demo corpus)")
    parser.add_argument("--out", type=Path, required=True, help="output file")
    parser.add_argument(
        "--format",
        choices=("npz", "svmlight"),
        default="npz",
        help="npz (all splits, with validity flags) or multi-label svmlight",
    )
    parser.add_argument(
        "--split",
        choices=("all", *_SPLITS),
        default="all",
        help="split(s) to embed; svmlight with 'all' writes OUT-stem.train.EXT and .test.EXT",
    )
    parser.add_argument("--drop-unusable", action="store_true", help="svmlight: omit them")
    parser.add_argument("--no-cache", action="store_true", help="recompute, do not cache")
    parser.set_defaults(func=run)


def _svmlight_path(out: Path, split: str, single: bool) -> Path:
    return out if single else out.with_name(f"{out.stem}.{split}{out.suffix or '.svm'}")


def _write_svmlight(path: Path, X: np.ndarray, labels: csr_matrix, keep: np.ndarray) -> None:
    from sklearn.datasets import dump_svmlight_file

    with atomic_open(path, "wb") as handle:
        dump_svmlight_file(X[keep], labels[keep], handle, multilabel=True, zero_based=False)


def run(args: argparse.Namespace) -> int:
    """Embed the requested splits and write them; returns the exit code."""
    from embeddings import get_embedder
    from textig.data import load_dataset
    from textig.features import embed_split

    dataset = load_dataset(args.data)
    embedder = get_embedder(args.embedder)
    splits = _SPLITS if args.split == "all" else (args.split,)
    results = {
        s: embed_split(
            embedder, dataset, s, cache=not args.no_cache, progress=True, warn_skipped=False
        )
        for s in splits
    }
    for split, features in results.items():
        for caption_id, reason in features.skipped.items():
            print(f"textig: {split} caption {caption_id} {reason}: not encoded", file=sys.stderr)
    if args.format == "npz":
        arrays = {"identity": np.array(embedder.identity), "checksum": np.array(dataset.checksum())}
        for split, f in results.items():
            arrays |= {
                f"X_{split}": f.X,
                f"ids_{split}": np.array(f.ids, dtype=str),
                f"valid_{split}": f.valid,
            }
        with atomic_open(args.out, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        print(f"wrote {Path(args.out).resolve()} ({embedder.identity})")
        return 0
    unusable = sum(len(f.skipped) for f in results.values())
    if unusable and not args.drop_unusable:
        raise TextigError(
            f"{unusable} caption(s) cannot be encoded (listed above); svmlight cannot flag them: "
            "use --format npz, or --drop-unusable to leave them out"
        )
    for split, f in results.items():
        path = _svmlight_path(args.out, split, single=len(results) == 1)
        _write_svmlight(path, f.X, dataset.label_matrix(split), f.valid)
        print(f"wrote {path.resolve()} ({int(f.valid.sum())} rows)")
    return 0
