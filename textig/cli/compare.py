"""`textig compare`: two embedders (each with its own model) explain the same caption side by side.

Both sides explain the same labels (for topN, the union of each side's top N) from the same
baseline: the training-caption mean unless --baseline says otherwise (auto would give each
embedder its own, e.g. SBERT's masked caption against GloVe's mean). --captions FILE writes
one comparison per line and an index. --n/--ids run the corpus comparison instead
(``textig.evaluation.compare_corpus``, the code of bench/evaluate_corpus.py): each caption's
top-5 labels explained by both embedders with their default settings, every report, and
summary.html/.json with P@k, completeness, faithfulness and plausibility.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textig.cli.explain import (
    BatchItem,
    add_common_arguments,
    baseline_specs,
    batch_items,
    check_mode,
    check_true_labels,
    find_caption,
    load_data,
    make_explainer,
    parse_labels,
    read_model_file,
    run_batch,
    select_captions,
)
from textig.errors import TextigError

COMMON_BASELINE = "mean"  # the one baseline every embedder has: both sides answer one question

if TYPE_CHECKING:
    from textig.data import Caption, Dataset
    from textig.explain import Explainer
    from textig.explanation import Explanation
    from textig.report import IndexEntry


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `compare` subcommand."""
    parser = subparsers.add_parser(
        "compare",
        help="compare two embedders' explanations of a caption (one HTML report)",
        description="Explain a caption with two embedders, each with its own model, and show "
        "their predictions, word colourings and word-rank agreement side by side. Both sides "
        f"use the same baseline ({COMMON_BASELINE}, the training-caption mean) unless "
        "--baseline names another (auto: each embedder's own).",
    )
    add_common_arguments(parser)
    parser.add_argument("--embedders", default="glove,sbert", help="two specs, comma-separated")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="EMBEDDER=PATH",
        help="model file of one embedder (repeatable); others are trained/cached",
    )
    parser.set_defaults(func=run)


def _model_paths(specs: list[str], given: list[str]) -> dict[str, Path]:
    paths = {}
    for item in given:
        name, sep, path = item.partition("=")
        if not sep or name not in specs:
            raise TextigError(f"--model takes EMBEDDER=PATH with EMBEDDER in {', '.join(specs)}")
        paths[name] = Path(path)
    return paths


def _embedder_specs(spec: str) -> list[str]:
    specs = [s.strip() for s in spec.split(",") if s.strip()]
    if len(specs) != 2 or specs[0] == specs[1]:
        raise TextigError("--embedders takes two different embedders, e.g. glove,sbert")
    return specs


def compare_one(
    explainers: list[Explainer], text: str, labels: Any, known: Caption | None, out: Path, name: str
) -> tuple[Path, Path, tuple[Explanation, Explanation]]:
    """Explain ``text`` on both sides and write the comparison report."""
    from textig.explain import shared_labels
    from textig.report import compare, write_comparison

    check_true_labels(labels, known)
    chosen = shared_labels(explainers, text, labels)
    left, right = (
        explainer.explain(
            text,
            labels=chosen,
            true_labels=list(known.labels) if known else None,
            caption_id=known.id if known else None,
        )
        for explainer in explainers
    )
    html, data = write_comparison(compare(left, right), out, name)
    return html, data, (left, right)


def _corpus(dataset: Dataset, specs: list[str], models: dict[str, Path], args) -> int:
    """--n/--ids: the corpus comparison (``textig.evaluation.compare_corpus``, the code behind
    bench/evaluate_corpus.py): per-caption reports and the summary with P@k, completeness,
    faithfulness (comprehensiveness, sufficiency) and plausibility."""
    from textig.evaluation import compare_corpus

    given = args.data is not None
    loaded = {spec: read_model_file(path, dataset, given) for spec, path in models.items()}
    captions = select_captions(dataset, args) if args.ids else None
    seed = 0 if args.seed is None else args.seed
    compare_corpus(
        dataset, n=args.n, embedders=specs, out_dir=args.out, seed=seed, models=loaded,
        captions=captions,
    )  # fmt: skip
    for name in ("summary.html", "summary.json"):
        print((args.out / name).resolve())
    return 0


def run(args: argparse.Namespace) -> int:
    """Compare the two embedders on the caption (or the batch) and print the written paths."""
    from textig.report import IndexEntry, report_name

    batch = check_mode(args)
    args.baseline = args.baseline or [COMMON_BASELINE]
    if len(baseline_specs(args)) > 1:
        raise TextigError("compare takes one --baseline (a baseline study is `textig explain`)")
    specs = _embedder_specs(args.embedders)
    models = _model_paths(specs, args.model)
    labels = parse_labels(args.labels)
    dataset = load_data(args.data)
    if batch and args.captions is None:
        return _corpus(dataset, specs, models, args)
    explainers = [make_explainer(spec, models.get(spec), dataset, args) for spec in specs]
    if not batch:
        known = find_caption(dataset, args.caption, explainers)
        name = args.name or report_name(known.id if known else None, args.caption, "compare-")
        html, data, _ = compare_one(explainers, args.caption, labels, known, args.out, name)
        print(html)
        print(data)
        return 0

    def work(item: BatchItem, name: str) -> IndexEntry:
        _, _, sides = compare_one(explainers, item.text, labels, item.known, args.out, name)
        return IndexEntry.of(name, *sides, line=item.line)

    title = f"textig comparisons: {' vs '.join(specs)} on captions of {args.captions}"
    items = batch_items(dataset, args, explainers)
    for path in run_batch(items, work, args.out, title, "compare-"):
        print(path)
    return 0
