"""A rich progress bar for `check` on a terminal (stderr), silent otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def check_progress(total: int, *, enabled: bool) -> Iterator[Callable[[object], None]]:
    if not enabled or total < 2:
        yield lambda _result: None
        return
    with Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("check", total=total)
        yield lambda _result: progress.advance(task)
