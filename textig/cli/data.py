"""`textig data`: import the official IAPR TC-12 files to our JSONL, and print corpus statistics."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from textig.errors import TextigError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `data import` and `data stats`."""
    parser = subparsers.add_parser(
        "data",
        help="import the official IAPR TC-12 files; corpus statistics",
        description="Convert the official IAPR TC-12 layout to JSONL, or describe a corpus.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    imp = actions.add_parser(
        "import",
        help="official IAPR TC-12 layout -> train.jsonl, test.jsonl, dictionary.txt",
        description=(
            "Read annotations_complete_eng/DD/N.eng, the TagProp lists and dictionary, and the "
            "label matrices (.mat or TagProp csv) under SRC; write our JSONL format to --out. "
            "Listed images without an .eng file are skipped and reported."
        ),
    )
    imp.add_argument("src", metavar="SRC", help="folder holding annotations_complete_eng/")
    imp.add_argument("--out", required=True, metavar="DIR", help="output folder")
    imp.add_argument(
        "--lists",
        metavar="DIR",
        help="folder with iaprtc12_{train,test}_list.txt and iaprtc12_dictionary.txt "
        "(default: SRC, then its parent)",
    )
    imp.add_argument(
        "--labels",
        choices=("auto", "mat", "csv"),
        default="auto",
        help="label matrix files: IAPRTC-12_*Labels.mat or iaprtc12_*_annot.csv "
        "(default auto: .mat first)",
    )
    imp.add_argument(
        "--require-all",
        action="store_true",
        help="fail instead of skipping listed images that have no .eng file",
    )
    imp.set_defaults(func=run_import)

    stats = actions.add_parser(
        "stats",
        help="split sizes, labels, caption lengths, empty and duplicate captions",
        description="Print statistics of a data folder (default: the bundled demo corpus).",
    )
    stats.add_argument("--data", metavar="DIR", help="data folder (default: demo corpus)")
    stats.add_argument("--json", action="store_true", help="print the statistics as JSON")
    stats.set_defaults(func=run_stats)


def run_import(args: argparse.Namespace) -> int:
    """Import, refuse or report missing .eng files, then write the three files atomically."""
    from textig.data import import_official, write_dataset

    result = import_official(args.src, lists=args.lists, labels=args.labels)
    n_missing = sum(len(ids) for ids in result.missing.values())
    if n_missing and args.require_all:
        first = next(ids[0] for ids in result.missing.values() if ids)
        raise TextigError(
            f"{n_missing} listed image(s) have no .eng file under {args.src}, e.g. {first}"
        )
    out = write_dataset(args.out, result.vocabulary, result.train, result.test)
    for split, path in result.label_files.items():
        print(f"{split} labels from {path}")
    read = ", ".join(f"{n} as {encoding}" for encoding, n in sorted(result.encodings.items()))
    print(f"read {sum(result.encodings.values())} .eng file(s): {read or 'none'}")
    for split, ids in result.missing.items():
        if ids:
            shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
            print(f"skipped {len(ids)} {split} image(s) without an .eng file: {shown}")
    counts = f"{len(result.train)} train / {len(result.test)} test captions"
    print(f"wrote {Path(out).resolve()}: {counts}, {len(result.vocabulary)} labels")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    """Load the data folder and print its statistics."""
    from textig.data import dataset_stats, format_stats, load_dataset

    stats = dataset_stats(load_dataset(args.data))
    print(json.dumps(asdict(stats), indent=2) if args.json else format_stats(stats))
    return 0
