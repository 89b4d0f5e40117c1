"""Corpus-run throughput as a user gets it: the local engine, Ray at 1 and 2 workers, side by side.

Usage: python bench/corpus_scale.py [--data /work/shared/iaprtc12] [--n N] [--shard-size 32]
       [--embedder glove] [--ceiling]

The same captions (default: the whole test split) go through each engine in one run of this
script, each into a fresh results folder, with the default method and one thread per worker,
exactly as `textig corpus run` calls ``run_corpus``: each Ray run starts its own local cluster
(this machine's CPUs) and stops it. Two figures per run, both printed:
- whole run: captions over the wall time of the call, which includes loading the driver's
  explainer, starting and stopping Ray, each actor's start (a Python process that imports Ray
  and textig, then loads the embedder and the model) and its first, slower captions;
- steady state: the captions after the first shard over the time from the first shard to the
  last (``RunStats``), the rate a longer run approaches; "start-up" is the time to that first
  shard.
``--ceiling`` adds what the two cores give without Ray: the local engine in two processes at
once, each on half the captions (steady state of the slower one). Peak memory per worker is
VmHWM from /proc (Linux): this process after the local run, and each Ray actor's. The load
average is printed beside each run: other jobs on the machine bias the 2-worker figures low.
Bar (issue 18): 2 Ray workers >= 1.7x the captions/s of 1 worker (whole run).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from embeddings import get_embedder
from textig.corpus import CorpusJob, RayOptions, RunStats, input_table, run_corpus
from textig.corpus.job import resolve_model, select_captions
from textig.data import load_dataset
from textig.settings import DEFAULT_SHARD_SIZE

SHARED = Path(__file__).resolve().parents[2] / "shared" / "iaprtc12"
BAR = 1.7


def _peak_kib(pid: int | str) -> int:
    """VmHWM (peak resident set) of a process in KiB, 0 if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1])


class ActorPeaks(threading.Thread):
    """Polls the Ray actors running CaptionExplainer and keeps each one's peak memory."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peaks: dict[str, int] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"CaptionExplainer" in cmdline:
                    self.peaks[pid] = max(self.peaks.get(pid, 0), _peak_kib(pid))


def _load() -> str:
    return "load {:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg())


def _run(job, captions, shard: int, workers: int | None) -> RunStats:
    """One fresh run: local (workers None) or Ray with its own cluster."""
    engine = "local" if workers is None else "ray"
    before = _load()
    with tempfile.TemporaryDirectory() as out:
        stats = run_corpus(
            job, captions, Path(out), engine=engine, shard_size=shard, progress=False,
            ray=RayOptions(workers=workers),
        )  # fmt: skip
    print(f"  {engine} x{stats.workers}: {stats.summary()}  [{before} -> {_load()}]")
    return stats


def _ray_run(job, captions, shard: int, workers: int) -> tuple[RunStats, list[int]]:
    watcher = ActorPeaks()
    watcher.start()
    try:
        stats = _run(job, captions, shard, workers)
    finally:
        watcher.stopped.set()
        watcher.join()
    return stats, sorted(watcher.peaks.values())


def _half(args: tuple) -> float | None:
    """A local run in a child process (for the ceiling): its steady captions/s."""
    job, captions, shard = args
    with tempfile.TemporaryDirectory() as out:
        stats = run_corpus(job, captions, Path(out), shard_size=shard, progress=False)
    return stats.steady_captions_per_second


def _ceiling(job, captions, shard: int) -> float:
    """Steady captions/s of two local engines at once, each on half the captions: what two
    cores give this work without Ray (twice the slower one's rate)."""
    half = captions.num_rows // 2
    parts = [(job, captions.slice(0, half), shard), (job, captions.slice(half), shard)]
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=spawn) as pool:
        rates = list(pool.map(_half, parts))
    return 2 * min(r for r in rates if r is not None)


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "n/a"


def _steady_ratio(a: RunStats, b: RunStats) -> str:
    return _ratio(a.steady_captions_per_second, b.steady_captions_per_second)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED if SHARED.is_dir() else None)
    parser.add_argument("--n", type=int, help="the first N test captions (default: all)")
    parser.add_argument("--embedder", default="glove")
    parser.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE)
    parser.add_argument("--ceiling", action="store_true", help="also two local processes")
    args = parser.parse_args()

    dataset = load_dataset(args.data)
    model = resolve_model(get_embedder(args.embedder), dataset, None)
    job = CorpusJob(data=str(dataset.path), embedder=args.embedder, model=model)
    captions = input_table(select_captions(dataset, "test", args.n), lambda c: "test")
    print(f"{captions.num_rows} {dataset.name} test captions, {args.embedder}, default method, "
          f"shards of at most {args.shard_size}, {os.cpu_count()} CPUs")  # fmt: skip
    local = _run(job, captions, args.shard_size, None)
    local_peak = _peak_kib("self")
    one, one_peaks = _ray_run(job, captions, args.shard_size, 1)
    two, two_peaks = _ray_run(job, captions, args.shard_size, 2)
    runs = {"local": local, "ray x1": one, "ray x2": two}
    print("\n         whole run c/s   start-up s   steady c/s")
    for name, s in runs.items():
        steady = s.steady_captions_per_second or 0.0
        print(f"{name:8} {s.captions_per_second:13.2f} {s.first_shard or 0:12.1f} {steady:12.2f}")
    whole = two.captions_per_second / one.captions_per_second
    verdict = "met" if whole >= BAR else "NOT met"
    print(f"ray x2 / ray x1: whole run {whole:.2f} (bar >= {BAR}: {verdict}), "
          f"steady {_steady_ratio(two, one)}; ray x1 / local: whole "
          f"{_ratio(one.captions_per_second, local.captions_per_second)}, "
          f"steady {_steady_ratio(one, local)}")  # fmt: skip
    if args.ceiling:
        ceiling = _ceiling(job, captions, args.shard_size)
        single = local.steady_captions_per_second
        print(f"ceiling, two local processes at once: steady {ceiling:.2f} c/s = "
              f"{_ratio(ceiling, single)} x one local ({_load()})")  # fmt: skip
    print(f"peak memory per worker (MiB): local process {local_peak / 1024:.0f}; "
          f"ray x1 actors {[round(p / 1024) for p in one_peaks]}; "
          f"ray x2 actors {[round(p / 1024) for p in two_peaks]}")  # fmt: skip


if __name__ == "__main__":
    main()
