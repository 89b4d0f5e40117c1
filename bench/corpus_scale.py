"""Corpus-run throughput: the local engine, and the Ray engine at 1 and 2 workers, side by side.

Usage: python bench/corpus_scale.py [--data /work/shared/iaprtc12] [--n 200] [--embedder glove]

The same captions go through each engine in one run (fresh results folders; one local Ray
cluster of --cpus CPUs for both Ray runs), all with the default method and one thread per
worker. Captions/s counts from the first batch submitted to the last shard written, so the
Ray figures include starting the actors (each loads the embedder and the model). Peak memory
per worker is VmHWM from /proc (Linux): the local engine's process, and each Ray actor's.
Bar (issue 18): 2 Ray workers >= 1.7x the captions/s of 1 worker on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
from pathlib import Path

from embeddings import get_embedder
from textig.corpus import CorpusJob, RayOptions, input_table, run_corpus
from textig.corpus.job import resolve_model, select_captions
from textig.data import load_dataset

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


def _ray_run(job, captions, shard, workers: int) -> tuple[float, list[int]]:
    watcher = ActorPeaks()
    watcher.start()
    with tempfile.TemporaryDirectory() as out:
        stats = run_corpus(
            job, captions, Path(out), engine="ray", shard_size=shard, progress=False,
            ray=RayOptions(workers=workers),
        )  # fmt: skip
    watcher.stopped.set()
    watcher.join()
    print(f"  ray x{workers}: {stats.summary()}")
    return stats.captions_per_second, sorted(watcher.peaks.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED if SHARED.is_dir() else None)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--embedder", default="glove")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray cluster")
    parser.add_argument("--shard-size", type=int, default=8)
    args = parser.parse_args()

    import ray

    dataset = load_dataset(args.data)
    model = resolve_model(get_embedder(args.embedder), dataset, None)
    job = CorpusJob(data=str(dataset.path), embedder=args.embedder, model=model)
    captions = input_table(select_captions(dataset, "test", args.n), lambda c: "test")
    print(f"{captions.num_rows} {dataset.name} test captions, {args.embedder}, default method")
    with tempfile.TemporaryDirectory() as out:
        local = run_corpus(job, captions, Path(out), shard_size=args.shard_size, progress=False)
    print(f"  local: {local.summary()}")
    local_peak = _peak_kib("self")
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    try:
        one, one_peaks = _ray_run(job, captions, args.shard_size, 1)
        two, two_peaks = _ray_run(job, captions, args.shard_size, 2)
    finally:
        ray.shutdown()
    loaded = os.getloadavg()[0]
    print(
        f"\ncaptions/s: local {local.captions_per_second:.2f}, ray x1 {one:.2f}, ray x2 {two:.2f}"
    )
    verdict = "met" if two / one >= BAR else "NOT met"
    print(f"ratios: ray x1 / local {one / local.captions_per_second:.2f}, "
          f"ray x2 / ray x1 {two / one:.2f} (bar >= {BAR}: {verdict})")  # fmt: skip
    print(f"peak memory per worker (MiB): local process {local_peak / 1024:.0f}; "
          f"ray x1 actors {[round(p / 1024) for p in one_peaks]}; "
          f"ray x2 actors {[round(p / 1024) for p in two_peaks]}")  # fmt: skip
    print(f"load average (1 min) at the end: {loaded:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
