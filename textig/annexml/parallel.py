"""Learners run side by side: one thread per core, single-threaded BLAS inside each.

An ensemble's learners are independent and numpy releases the GIL in its kernels, so threads
give the cores real work; the per-learner matrices are small, and multi-threaded BLAS on them
stalls badly when the cores are shared.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from threadpoolctl import threadpool_limits

T = TypeVar("T")
R = TypeVar("R")


def workers() -> int:
    """Threads to use: one per available core (``TEXTIG_THREADS`` overrides)."""
    return max(1, int(os.environ.get("TEXTIG_THREADS") or len(os.sched_getaffinity(0))))


def parallel_map(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(item) for item in items]``, computed in threads, results in input order."""
    with threadpool_limits(1), ThreadPoolExecutor(workers()) as pool:
        return list(pool.map(fn, items))
