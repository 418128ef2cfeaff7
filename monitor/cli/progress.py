"""A rich progress bar for `check` on a terminal (stderr), silent otherwise."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

REFRESH_EVERY = 0.1  # seconds between redraws at most


@contextmanager
def check_progress(total: int, *, enabled: bool) -> Iterator[Callable[[object], None]]:
    """Redrawn as results arrive, never by a thread of its own: `check` forks its checking processes
    while the bar is up, and a thread writing to the terminal at that instant could leave a lock held in
    the children (monitor.shards)."""
    if not enabled or total < 2:
        yield lambda _result: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True, auto_refresh=False,
                  redirect_stdout=False, redirect_stderr=False) as progress:  # the children inherit sys.std*
        task = progress.add_task("check", total=total)
        drawn = 0.0

        def advance(_result: object) -> None:
            nonlocal drawn
            progress.advance(task)
            if (now := time.monotonic()) - drawn >= REFRESH_EVERY:
                drawn = now
                progress.refresh()

        progress.refresh()
        yield advance
