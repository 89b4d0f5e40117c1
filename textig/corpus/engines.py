"""Run a corpus job with the local engine (this process) or the Ray engine (Ray Data).

Both engines feed batches of captions to the same ``CaptionExplainer`` and write each batch's
rows as one shard. The local engine is a loop in this process. The Ray engine builds a Ray
Dataset of the captions still to do and maps ``CaptionExplainer`` over it with an actor pool
(``map_batches`` with a callable class: each actor loads the embedder and the model once);
the driver writes the shards as results stream back. Actors ask for fractional CPUs by
default: with Ray 2.60 a pool whose actors take every CPU can starve Ray Data's own tasks
and hang.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from textig.corpus.job import CorpusJob
from textig.corpus.rows import INPUT_SCHEMA, CaptionExplainer
from textig.corpus.store import done_captions, record_run, write_shard
from textig.errors import TextigError
from textig.settings import DEFAULT_SHARD_SIZE

ENGINES = ("local", "ray")
# Environment the workers must share with the driver: where models and features are cached,
# and that nothing is downloaded (the stopword list ships with textig: no NLTK_DATA needed).
_WORKER_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TEXTIG_CACHE")


@dataclass(frozen=True)
class RunStats:
    """What a run did: captions explained now, skipped as already done, rows, shards.

    ``seconds`` is the whole run as its caller waits for it (reading the resume state, loading
    the driver's explainer, starting and stopping a Ray cluster, the actors' start-up);
    ``first_shard`` is when the first shard was on disk (the start-up, as seen from outside);
    ``steady_captions_per_second`` counts the captions after the first shard over the time
    after it: the rate a longer run approaches, which is what more workers multiply.
    """

    settings_hash: str
    explained: int
    skipped: int
    rows: int
    shards: int
    seconds: float
    engine: str
    workers: int
    first_shard: float | None = None
    steady_captions_per_second: float | None = None

    @property
    def captions_per_second(self) -> float:
        return self.explained / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """The final line of a run."""
        steady = ""
        if self.steady_captions_per_second is not None:
            steady = (
                f" (first shard after {self.first_shard:.1f} s, then "
                f"{self.steady_captions_per_second:.2f} captions/s)"
            )
        return (
            f"{self.explained} captions explained ({self.rows} rows, {self.shards} shards) in "
            f"{self.seconds:.1f} s: {self.captions_per_second:.2f} captions/s{steady} "
            f"[{self.engine}, {self.workers} worker(s)]; {self.skipped} already done "
            f"(settings {self.settings_hash[:16]})"
        )


@dataclass(frozen=True)
class RayOptions:
    """Ray engine resources: ``address`` of a cluster (None: start a local one and stop it
    after), actors (``workers``), CPUs and GPUs per actor (None: the default rule)."""

    address: str | None = None
    workers: int | None = None
    cpus_per_worker: float | None = None
    gpus_per_worker: float = 0.0


def input_table(captions: Sequence[Any], split_of: Callable[[Any], str]) -> pa.Table:
    """The captions as the batch input (``INPUT_SCHEMA``)."""
    return pa.Table.from_pylist(
        [
            {"caption_id": c.id, "caption": c.text, "split": split_of(c), "labels": list(c.labels)}
            for c in captions
        ],
        schema=INPUT_SCHEMA,
    )


def run_corpus(
    job: CorpusJob,
    captions: pa.Table,
    out: Path,
    *,
    engine: str = "local",
    shard_size: int = DEFAULT_SHARD_SIZE,
    ray: RayOptions | None = None,
    progress: bool = True,
    on_shard: Callable[[Path], None] | None = None,
) -> RunStats:
    """Explain the captions not yet done under this job's settings into shards in ``out``.

    ``captions``: ``input_table``; ``on_shard`` is called with each shard written.
    """
    started = time.perf_counter()
    if engine not in ENGINES:
        raise TextigError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    if shard_size < 1:
        raise TextigError(f"--shard-size must be at least 1, got {shard_size}")
    driver = CaptionExplainer(job.to_dict())
    out.mkdir(parents=True, exist_ok=True)
    record_run(out, driver.hash, driver.resolved, job.to_dict())
    todo = _todo(captions, done_captions(out, driver.hash))
    if engine == "local" or not todo.num_rows:
        results: Iterator[pa.Table] = map(driver, plan_batches(todo, shard_size, 1))
        workers = 1
    else:
        results, workers = _ray_results(
            job, driver.hash, todo, shard_size, ray or RayOptions(), progress
        )
    tally = _Tally(started)
    try:
        with _bar(todo.num_rows, progress, engine) as bar:
            for table in results:
                path = write_shard(out, table, driver.hash)
                bar.update(tally.add(table))
                if on_shard is not None:
                    on_shard(path)
    finally:
        if engine == "ray":
            _stop_ray()
    return RunStats(
        driver.hash, todo.num_rows, captions.num_rows - todo.num_rows, tally.rows,
        len(tally.times), time.perf_counter() - started, engine, workers, *tally.steady(),
    )  # fmt: skip


def _todo(captions: pa.Table, done: set[str]) -> pa.Table:
    """The captions without rows yet (ids must not repeat: rows are keyed by caption id)."""
    ids = captions.column("caption_id").to_pylist()
    if len(set(ids)) != len(ids):
        raise TextigError("caption ids repeat in the input: results are keyed by caption id")
    return captions.filter(pa.array([i not in done for i in ids], type=pa.bool_()))


def plan_batches(todo: pa.Table, shard_size: int, workers: int) -> list[pa.Table]:
    """The captions cut into batches (one shard each) of at most ``shard_size``, as even as
    possible and, captions allowing, as many as a multiple of ``workers``: the last round then
    keeps every worker busy (224 captions in shards of at most 32 for 2 workers: 8 batches of
    28, not 7 of 32, of which one worker would do 4 while the other waits for the last)."""
    n = todo.num_rows
    if n == 0:
        return []
    rounds = math.ceil(math.ceil(n / shard_size) / workers)
    count = min(n, rounds * workers)
    bounds = [i * n // count for i in range(count + 1)]
    return [todo.slice(start, stop - start) for start, stop in itertools.pairwise(bounds)]


class _Tally:
    """Rows, and when each shard (with how many captions) was written, from the run's start."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.rows = 0
        self.times: list[float] = []
        self.captions: list[int] = []

    def add(self, table: pa.Table) -> int:
        """Count a written shard; returns its number of captions."""
        captions = len(set(table.column("caption_id").to_pylist()))
        self.rows += table.num_rows
        self.times.append(time.perf_counter() - self.started)
        self.captions.append(captions)
        return captions

    def steady(self) -> tuple[float | None, float | None]:
        """(seconds to the first shard, captions/s after it); None where undefined."""
        if not self.times:
            return None, None
        after = self.times[-1] - self.times[0]
        rate = sum(self.captions[1:]) / after if len(self.times) > 1 and after > 0 else None
        return self.times[0], rate


def _bar(total: int, progress: bool, engine: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=f"corpus ({engine})", unit="caption", file=sys.stderr,
        disable=not progress,
    )  # fmt: skip


_STARTED_HERE: list[bool] = []


def _start_ray(options: RayOptions) -> Any:
    """Attach to the cluster at ``options.address`` or start a local one (stopped by
    ``_stop_ray``); an already initialised Ray (e.g. a notebook's) is used as it is."""
    try:
        import ray
        import ray.data  # the data extra, not only the core
    except ImportError:
        raise TextigError("the Ray engine needs Ray Data: pip install 'textig[ray]'") from None
    env = {k: os.environ[k] for k in _WORKER_ENV if k in os.environ}
    if not ray.is_initialized():
        ray.init(
            address=options.address,
            runtime_env={"env_vars": env},
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
        _STARTED_HERE.append(True)
    return ray


def _stop_ray() -> None:
    if _STARTED_HERE:
        import ray

        _STARTED_HERE.clear()
        ray.shutdown()


def actor_resources(cluster_cpus: float, options: RayOptions) -> tuple[int, float]:
    """(actors, CPUs per actor): by default one actor per cluster CPU, together asking for
    one CPU less than the cluster has (at least half a CPU in all), so Ray Data's tasks and
    the driver always find a CPU."""
    workers = options.workers or max(1, int(cluster_cpus))
    if workers < 1:
        raise TextigError(f"--workers must be at least 1, got {workers}")
    cpus = options.cpus_per_worker
    if cpus is None:
        cpus = min(1.0, max(cluster_cpus - 1.0, 0.5) / workers)
    if cpus <= 0:
        raise TextigError(f"--cpus-per-worker must be positive, got {cpus}")
    return workers, cpus


def _ray_results(
    job: CorpusJob,
    run_hash: str,
    todo: pa.Table,
    shard_size: int,
    options: RayOptions,
    progress: bool,
) -> tuple[Iterator[pa.Table], int]:
    """Stream the batches' result tables back from a Ray Data actor pool."""
    ray = _start_ray(options)
    from ray.data import ActorPoolStrategy, DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = progress
    workers, cpus = actor_resources(float(ray.cluster_resources().get("CPU", 1)), options)
    batches = plan_batches(todo, shard_size, workers)
    dataset = ray.data.from_arrow(batches).map_batches(
        CaptionExplainer,
        fn_constructor_kwargs={"job": job.to_dict(), "expected_hash": run_hash},
        batch_format="pyarrow",
        batch_size=None,  # each block is one planned batch: never re-cut across blocks
        compute=ActorPoolStrategy(size=workers),
        num_cpus=cpus,
        num_gpus=options.gpus_per_worker or None,
    )
    tables = dataset.iter_batches(batch_size=None, batch_format="pyarrow")
    return (t for t in tables if t.num_rows), workers
