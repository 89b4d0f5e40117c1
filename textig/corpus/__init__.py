"""Corpus runs: explain whole splits with the local or the Ray engine into resumable Parquet
shards, and report what drives each label across them."""

from textig.corpus.engines import ENGINES, RayOptions, RunStats, input_table, run_corpus
from textig.corpus.job import CorpusJob
from textig.corpus.rows import SCHEMA, CaptionExplainer
from textig.corpus.store import read_results

__all__ = [
    "ENGINES",
    "SCHEMA",
    "CaptionExplainer",
    "CorpusJob",
    "RayOptions",
    "RunStats",
    "input_table",
    "read_results",
    "run_corpus",
]
