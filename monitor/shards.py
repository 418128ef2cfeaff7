"""Work split into shards, one forked child process per shard, each item streamed back to the parent over a pipe.

`check` over many sources is whole checks on every core: fetching, fingerprinting and the database
are per check and run in the event loop of whoever checks, so one process uses one core whatever pool
it hands its normalizing to. `run_sharded` forks one child per shard; the child runs `work(shard,
send)` (its own event loop, fetcher and database connections: nothing of the parent's is used after
the fork) and `send(index, item)` pickles each finished item back at once, so the parent shows
progress as items finish and puts them back in input order. The parent may do one share itself.

Fork before any socket, thread or event loop of your own exists (the same care as `monitor.offload`):
a child starts as a copy of the parent, and a lock held by another thread at that instant is held in
the child forever. The children are reaped here, so their CPU time counts in the parent's (`time`,
wait4). A child that dies (killed, out of memory, a bug) loses only its unfinished items: they come
back from `run_sharded` with why, for the caller to report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import struct
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("monitor.shards")

_HEADER = struct.Struct("!iI")  # item index (-1: the child finished its shard), payload length
Send = Callable[[int, Any], None]


class Claims:
    """Groups of work, each taken once by whichever process gets to it first; made before the forks, shared
    with the children (an anonymous shared mapping, one byte per group, and a POSIX lock on an unnamed file,
    which a process that dies lets go of).

    Each process is given its own groups in order (`take` hands those out first) and, once all of them are
    taken, takes the others' that nobody has started yet, last ones first: a process whose share turned out
    lighter (unchanged pages while another's changed) does not sit idle while the other still has a queue, and
    a worker of one whose last groups are under way helps at once rather than after they are done (each group
    is worked through in order by one worker: its last items would otherwise leave most of a process idle).
    The groups of a process that has not started yet (just forked, not scheduled) are taken only by a process
    with nothing left of its own (`unstarted`): the first process to run would otherwise take everything.
    """

    def __init__(self, shares: Sequence[Sequence[int]]):
        import mmap
        import tempfile

        self._groups = sum(len(s) for s in shares)
        # MAP_SHARED, seen by forked children: one byte per group (taken), then one per share (its process started)
        self._taken = mmap.mmap(-1, self._groups + len(shares) or 1)
        self._lock = tempfile.TemporaryFile()
        self._shares = [list(s) for s in shares]
        self._mine: list[int] = []
        self._others: list[tuple[int, int]] = []
        self._share = 0

    def start(self, share: int) -> None:
        """In each process, before its first `take`: which of the shares is its own."""
        self._mine = list(reversed(self._shares[share]))  # popped from the end: in order
        self._others = [(i, g) for i, s in enumerate(self._shares) if i != share for g in s]  # last ones first
        self._share = share

    def take(self, *, unstarted: bool = True) -> int | None:
        """The next group of this process's own, else another's that nobody has taken (with `unstarted`, also one
        of a process that has not started yet); None when there is none."""
        import fcntl

        fcntl.lockf(self._lock, fcntl.LOCK_EX)
        try:
            self._taken[self._groups + self._share] = 1  # this process has started taking its groups
            while self._mine:
                group = self._mine.pop()
                if not self._taken[group]:
                    self._taken[group] = 1
                    return group
            for at in range(len(self._others) - 1, -1, -1):
                share, group = self._others[at]
                if self._taken[group]:
                    del self._others[at]
                elif unstarted or self._taken[self._groups + share]:
                    del self._others[at]
                    self._taken[group] = 1
                    return group
            return None
        finally:
            fcntl.lockf(self._lock, fcntl.LOCK_UN)


def split_by_key(keys: Sequence[str], shards: int) -> list[list[int]]:
    """The indices of `keys` in at most `shards` shards, equal keys always in the same shard (pure).

    Groups of equal keys go largest first to the shard with the fewest items, so shards come out about
    even; empty shards are left out, and each shard lists its indices in input order."""
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    bins: list[list[int]] = [[] for _ in range(max(shards, 1))]
    for group in sorted(groups.values(), key=len, reverse=True):
        min(bins, key=len).extend(group)
    return [sorted(b) for b in bins if b]


@dataclass
class _Child:
    pid: int
    indices: list[int]
    done: set[int] = field(default_factory=set)
    finished: bool = False   # the child said its shard is done (not merely: its pipe closed)
    status: int | None = None


async def run_sharded(shards: Sequence[Sequence[int]], work: Callable[[Sequence[int], Send], None],
                      on_item: Callable[[int, Any], None],
                      here: Callable[[], Awaitable[None]] | None = None,
                      pids: list[int] | None = None, clean: set[int] | None = None) -> dict[int, tuple[str, int]]:
    """Fork one child per shard (now), run `work(shard, send)` in each, call `on_item(index, item)` in this
    process as each item arrives; returns {index: (why, the child's pid)} for the items whose child died
    before sending them.

    `here()`, this process's own share of the work, runs once every child is forked, beside the reading:
    on N cores, N - 1 children and this process make N processes, not N + 1 copies of it in memory.
    If this coroutine is cancelled or `here()` raises, the children still running are ended. `pids`, when
    given, gets each child's pid as it is forked (to clean up after them whatever happens); `clean`, when given,
    the pids of the children that finished their work and exited with 0 (nothing of theirs left to clean up)."""
    import ctypes  # noqa: F401 — each child's _end_with uses it: imported once, before the forks

    loop = asyncio.get_running_loop()
    children: list[_Child] = []
    readers: list[asyncio.Task] = []
    try:
        for shard in shards:
            read_end, write_end = os.pipe()
            sys.stdout.flush()
            sys.stderr.flush()  # nothing buffered before the fork is written twice
            parent = os.getpid()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(read_end)
                _child_main(list(shard), work, write_end, parent)
            os.close(write_end)
            if pids is not None:
                pids.append(pid)
            child = _Child(pid, list(shard))
            children.append(child)
            readers.append(loop.create_task(_read(child, read_end, on_item)))
        await asyncio.gather(*readers, *([here()] if here else []))
    finally:
        for task in readers:
            task.cancel()
        for child in children:
            if child.status is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGTERM)
                _, child.status = os.waitpid(child.pid, 0)
    lost: dict[int, tuple[str, int]] = {}
    for child in children:
        if child.finished and child.status == 0:
            if clean is not None:
                clean.add(child.pid)
            continue
        why = _ended(child.status)
        for index in child.indices:
            if index not in child.done:
                lost[index] = (why, child.pid)
    return lost


async def _read(child: _Child, fd: int, on_item: Callable[[int, Any], None]) -> None:
    """Read `child`'s items until its pipe closes, then reap it."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**20)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                os.fdopen(fd, "rb", buffering=0))
    try:
        while True:
            try:
                index, length = _HEADER.unpack(await reader.readexactly(_HEADER.size))
                payload = await reader.readexactly(length)
            except asyncio.IncompleteReadError:  # the pipe closed: the child exited (or died)
                break
            if index < 0:
                child.finished = True
                continue
            child.done.add(index)
            on_item(index, pickle.loads(payload))
    finally:
        transport.close()
    while (reaped := os.waitpid(child.pid, os.WNOHANG))[0] == 0:  # it closed its pipe: it is exiting
        await asyncio.sleep(0.005)
    child.status = reaped[1]


def _ended(status: int | None) -> str:
    """Why a child's unfinished items were lost, for people."""
    if status is None:
        return "the process checking it did not finish"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"the process checking it was killed ({name})"
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return "the process checking it exited before finishing it"
    return f"the process checking it failed (exit code {code}; see its log lines)"


def _child_main(shard: list[int], work: Callable[[Sequence[int], Send], None], fd: int, parent: int) -> None:
    """The child's life: run the shard, stream items, exit without running the parent's clean-ups."""
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's way to end a child early
        # Ctrl-C reaches the whole process group: Python's own handler here (not the parent's event loop's),
        # so the child's asyncio.run cancels its checks, which release their locks
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _end_with(parent)
        with contextlib.suppress(ValueError):  # a wake-up fd is the parent's event loop's: not ours to write
            signal.set_wakeup_fd(-1)

        def send(index: int, item: Any) -> None:
            _write(fd, index, pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))

        work(shard, send)
        _write(fd, -1, b"")
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the work was cancelled, the parent says so
        code = 130
    except BaseException as exc:  # noqa: BLE001 — said in the log; the parent reports the lost items
        code = 1
        with contextlib.suppress(Exception):
            log.error(f"a checking process failed: {type(exc).__name__}: {exc}", exc_info=True)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)  # never the parent's atexit handlers, finalizers or connections


def _end_with(parent: int) -> None:
    """Be ended (SIGTERM) when the parent ends, however it ends (Linux); elsewhere, or should that fail, a
    child whose parent is gone fails at its next item, on the closed pipe."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it ended before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _write(fd: int, index: int, payload: bytes) -> None:
    view = memoryview(_HEADER.pack(index, len(payload)) + payload)
    while view:
        view = view[os.write(fd, view):]
