"""The results folder of corpus runs: a Parquet dataset written shard by shard, each atomically.

``RESULTS/part-<hash16>-<ids16>.parquet``: a shard holds the rows of some captions explained
under one settings hash (``hash16``: its first 16 hex digits; ``ids16``: a digest of its
caption ids). A shard is written to a hidden temporary file and renamed into place, so a
killed run leaves whole shards only (Parquet readers skip names starting with "." or "_").
``RESULTS/_runs/<hash16>.json`` records each settings hash's full settings. Several runs
(e.g. one per embedder) share a folder; rows of different settings never mix because every
row carries its settings hash and a run resumes from its own hash's rows only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from textig._utils import atomic_open, atomic_write_text
from textig.corpus.job import SCHEMA_VERSION
from textig.corpus.rows import SCHEMA
from textig.errors import TextigError

RUNS_DIR = "_runs"
_METADATA = {b"textig.corpus.schema": str(SCHEMA_VERSION).encode()}


def _short(run_hash: str) -> str:
    return run_hash[:16]


def shard_path(out: Path, run_hash: str, caption_ids: Iterable[str]) -> Path:
    """Where the shard of these captions goes (named by its content, so names never clash)."""
    digest = hashlib.sha256("\n".join(caption_ids).encode("utf-8")).hexdigest()[:16]
    return out / f"part-{_short(run_hash)}-{digest}.parquet"


def write_shard(out: Path, table: pa.Table, run_hash: str) -> Path:
    """Write one shard atomically; returns its path."""
    if table.num_rows == 0:
        raise TextigError("refusing to write an empty shard")
    ids = list(dict.fromkeys(table.column("caption_id").to_pylist()))
    path = shard_path(out, run_hash, ids)
    with atomic_open(path, "wb") as handle:
        pq.write_table(table.cast(SCHEMA).replace_schema_metadata(_METADATA), handle)
    return path


def read_shard(path: Path, columns: list[str] | None = None) -> pa.Table:
    """One shard, checked to be a textig corpus shard of the current schema."""
    try:
        schema = pq.read_schema(path)
        table = pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowException) as error:
        raise TextigError(f"{path}: not a readable Parquet shard ({error})") from None
    if (schema.metadata or {}).get(b"textig.corpus.schema") != _METADATA[b"textig.corpus.schema"]:
        raise TextigError(f"{path}: not a textig corpus shard of schema {SCHEMA_VERSION}")
    if not schema.remove_metadata().equals(SCHEMA):
        raise TextigError(f"{path}: its columns are not the corpus schema's")
    return table


def shards(out: Path, run_hash: str | None = None) -> list[Path]:
    """The shard files in ``out`` (of one settings hash if given), in name order."""
    pattern = f"part-{_short(run_hash)}-*.parquet" if run_hash else "part-*.parquet"
    return sorted(out.glob(pattern))


def done_captions(out: Path, run_hash: str) -> set[str]:
    """Caption ids that already have rows under ``run_hash``."""
    done: set[str] = set()
    for path in shards(out, run_hash):
        table = read_shard(path, ["caption_id", "settings_hash"])
        hashes = table.column("settings_hash").to_pylist()
        ids = table.column("caption_id").to_pylist()
        done.update(i for i, h in zip(ids, hashes, strict=True) if h == run_hash)
    return done


def read_results(out: Path) -> pa.Table:
    """Every row of every shard in ``out``."""
    if not out.is_dir():
        raise TextigError(f"{out}: results folder not found")
    files = shards(out)
    if not files:
        raise TextigError(f"{out}: no corpus results (part-*.parquet) in this folder")
    return pa.concat_tables([read_shard(path) for path in files])


def record_run(out: Path, run_hash: str, resolved: dict[str, Any], job: dict[str, Any]) -> None:
    """Write ``_runs/<hash16>.json``: the settings behind a hash, for people and reports."""
    record = {"settings_hash": run_hash, "resolved": resolved, "job": job}
    text = json.dumps(record, indent=2, sort_keys=True, default=str) + "\n"
    atomic_write_text(out / RUNS_DIR / f"{_short(run_hash)}.json", text)
