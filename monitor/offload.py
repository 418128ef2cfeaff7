"""A process pool for the CPU work of checks (normalizing, judging, comparing pages), beside the event loop.

Normalizing a changed page and rating its changes are pure CPU work (tens to hundreds of ms a page);
in the event loop's thread they stall every fetch in flight and use one core. `CpuPool.run(fn, *args)`
runs such a function in worker processes instead, so fetching goes on and every core works.

The workers are forked, all at once, when the pool is entered: before the fetcher opens sockets and
before any thread starts (forking a process with threads risks a lock held forever in the child), with
the normalizing and rating stages imported first so every worker shares them. Forked children are
reaped by the pool, so their CPU time counts in the command's own (`time`, wait4). They never touch the
parent's database connections. A pool of 0 workers runs the function inline (small checks, tests):
starting workers costs more than it saves below a few dozen pages (`pool_size`).

The daemon uses this pool; `check` of many sources on several hosts splits whole checks over
processes instead (`monitor.shards`), and keeps the pool for sources all on one host.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # imported when workers start: a check in one process never pays for them
    from concurrent.futures import ProcessPoolExecutor

T = TypeVar("T")

MIN_SOURCES_FOR_WORKERS = 20   # below this a `check` normalizes inline: the workers' start costs more
_PRELOAD = ("monitor.pipeline", "monitor.capture.normalize", "monitor.capture.pdf", "monitor.capture.guard",
            "monitor.meaning.significance", "monitor.text.sections")


def pool_size(configured: int | None, sources: int) -> int:
    """Processes to start beside this one: `daemon.cpu_processes` when set; else one per core but one (this
    process's event loop keeps a core busy itself) when there are at least MIN_SOURCES_FOR_WORKERS
    sources; 0 means everything in this process."""
    if configured is not None:
        return configured
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores - 1 if sources >= MIN_SOURCES_FOR_WORKERS else 0


class CpuPool:
    """Runs pure, picklable functions in `workers` processes (started on first use), or inline when 0."""

    def __init__(self, workers: int = 0):
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Fork the workers now (see the module docstring for why now); idempotent, a no-op for 0."""
        if self.workers <= 0 or self._executor is not None:
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        for module in _PRELOAD:
            importlib.import_module(module)
        self._executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"))
        self._executor.submit(int).result()  # with "fork", the first submit forks every worker

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        if self.workers <= 0:
            return fn(*args)
        self.start()
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> CpuPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> CpuPool:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
