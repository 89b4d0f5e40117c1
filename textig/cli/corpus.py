"""`textig corpus run|report`: explain a whole split into a Parquet dataset (local or Ray
engine, resumable) and report what drives each label across it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from textig.cli.arguments import positive_int
from textig.errors import TextigError
from textig.settings import DEFAULT_SHARD_SIZE, DEFAULTS, METHOD_HELP, METHODS, STEPS_HELP

_RUN_EPILOG = """\
Rows (one per caption and explained label) go to RESULTS/part-*.parquet, one shard per batch,
each written atomically. Rerunning with the same settings skips the captions already done;
other settings (another embedder, model, method...) write rows under their own settings hash
beside them. Ray engine: --address attaches to a running cluster (every node must read
--data and the model file at the same paths); without it a local cluster is started and
stopped. Actors default to one per CPU, together asking for one CPU less than the cluster
has, so Ray Data's own tasks are never starved.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `corpus` subcommand with `run` and `report`."""
    parser = subparsers.add_parser(
        "corpus",
        help="explain a whole split into Parquet (local or Ray), and report per label",
        description="Corpus runs: explain every caption of a split (resumable, on one machine "
        "or a Ray cluster) and report which words drive each label across the corpus.",
    )
    commands = parser.add_subparsers(dest="corpus_command", metavar="{run,report}", required=True)
    run = commands.add_parser(
        "run",
        help="explain a split's captions into a Parquet dataset",
        epilog=_RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--data", type=Path, help="data folder (default: bundled demo corpus)")
    run.add_argument("--split", choices=("test", "train", "all"), default="test",
                     help="captions to explain (default: test)")  # fmt: skip
    run.add_argument("--n", type=positive_int, help="only the first N captions of the split")
    run.add_argument("--embedder", default="glove", help="glove (default), sbert, plug-in")
    run.add_argument("--model", type=Path,
                     help="model file (default: the cached model trained on --data)")  # fmt: skip
    run.add_argument("--out", type=Path, required=True, help="results folder (RESULTS)")
    run.add_argument("--top", type=positive_int, default=5,
                     help="explain the top N labels (default 5)")  # fmt: skip
    run.add_argument("--method", choices=METHODS, default=DEFAULTS.method, help=METHOD_HELP)
    run.add_argument("--steps", type=positive_int, default=DEFAULTS.steps, help=STEPS_HELP)
    run.add_argument("--baseline", default="auto", help="auto (default), mean, neutral")
    run.add_argument("--no-evaluate", dest="evaluate", action="store_false",
                     help="skip faithfulness and the original back-projection (about half "
                     "the work)")  # fmt: skip
    run.add_argument("--engine", choices=("local", "ray"), default="local",
                     help="local (default): this process; ray: Ray Data actors")  # fmt: skip
    run.add_argument("--address", help="ray: address of a running cluster (default: local)")
    run.add_argument("--workers", type=positive_int,
                     help="ray: actors (default: one per cluster CPU)")  # fmt: skip
    run.add_argument("--cpus-per-worker", type=float, help="ray: CPUs per actor (fractional ok)")
    run.add_argument("--gpus-per-worker", type=float, default=0.0, help="ray: GPUs per actor")
    run.add_argument("--threads", type=positive_int, default=1,
                     help="BLAS/torch threads per worker, both engines (default 1)")  # fmt: skip
    run.add_argument("--shard-size", type=positive_int, default=DEFAULT_SHARD_SIZE,
                     help=f"most captions per batch and shard (default {DEFAULT_SHARD_SIZE}; "
                     "batches are evened out over the workers)")  # fmt: skip
    run.set_defaults(func=run_command)
    report = commands.add_parser(
        "report", help="what drives each label across a results folder (HTML + JSON)"
    )
    report.add_argument("results", type=Path, help="results folder of `corpus run`")
    report.add_argument("--out", type=Path, help="output folder (default: RESULTS/report)")
    report.add_argument("--words", type=positive_int, default=10,
                        help="words listed per side (default 10)")  # fmt: skip
    report.set_defaults(func=report_command)


def run_command(args: argparse.Namespace) -> int:
    """Run the corpus job and print the final line and the results folder."""
    from embeddings import get_embedder
    from textig.corpus import CorpusJob, RayOptions, input_table, run_corpus
    from textig.corpus.job import resolve_model, select_captions
    from textig.data import load_dataset

    if args.engine == "local" and (args.address or args.workers or args.cpus_per_worker):
        raise TextigError("--address, --workers and --cpus-per-worker need --engine ray")
    dataset = load_dataset(args.data)
    captions = select_captions(dataset, args.split, args.n)
    model = resolve_model(get_embedder(args.embedder), dataset, args.model)
    job = CorpusJob(
        data=str(dataset.path.resolve()),
        embedder=args.embedder,
        model=model,
        settings={"method": args.method, "steps": args.steps, "baseline": args.baseline},
        top_k=args.top,
        evaluate=args.evaluate,
        threads=args.threads,
    )
    test_ids = {c.id for c in dataset.test}
    table = input_table(captions, lambda c: "test" if c.id in test_ids else "train")
    options = RayOptions(args.address, args.workers, args.cpus_per_worker, args.gpus_per_worker)
    stats = run_corpus(
        job, table, args.out, engine=args.engine, shard_size=args.shard_size, ray=options
    )
    print(stats.summary(), file=sys.stderr)
    print(args.out.resolve())
    return 0


def report_command(args: argparse.Namespace) -> int:
    """Write the corpus report and print its paths."""
    from textig.corpus.report import write_report

    out = args.out or args.results / "report"
    for path in write_report(args.results, out, words=args.words):
        print(path.resolve())
    return 0
