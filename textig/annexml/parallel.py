"""Learners run side by side: one thread per core, single-threaded BLAS inside each.

An ensemble's learners are independent and numpy releases the GIL in its kernels, so threads
give the cores real work; the per-learner matrices are small, and multi-threaded BLAS on them
stalls badly when the cores are shared.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from threadpoolctl import ThreadpoolController, threadpool_limits

T = TypeVar("T")
R = TypeVar("R")


def workers() -> int:
    """Threads to use: one per available core (``TEXTIG_THREADS`` overrides)."""
    return max(1, int(os.environ.get("TEXTIG_THREADS") or len(os.sched_getaffinity(0))))


def parallel_map(fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``[fn(item) for item in items]``, computed in threads, results in input order."""
    with threadpool_limits(1), ThreadPoolExecutor(workers()) as pool:
        return list(pool.map(fn, items))


class _OneBlasThread:
    """Single-threaded BLAS inside a block, cheap enough to enter per call.

    One caption's products are tiny (a row against a cluster's embeddings); waking BLAS
    threads for them costs more than the work and, on shared cores, stalls for milliseconds.
    The controller is made once (``threadpool_limits`` rescans the loaded libraries on each
    entry); nested or concurrent entries keep the limit until the last one leaves.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._controller: ThreadpoolController | None = None
        self._limiter = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._controller = self._controller or ThreadpoolController()
                self._limiter = self._controller.limit(limits=1, user_api="blas")
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._limiter is not None:
                    self._limiter.restore_original_limits()
                    self._limiter = None


one_blas_thread = _OneBlasThread()
