"""Politeness across workers: per-host turns and the fleet's check slots, as PostgreSQL advisory locks.

In one daemon, `daemon.per_host_delay` spaces the requests to one host:port (never two at once, the
next no sooner than the delay after the last ended) and `daemon.concurrency` bounds the checks in
flight. Here the same two rules hold across every worker on every machine:

- a host:port's turn is a session advisory lock (class HOST_CLASS, key crc32 of "host:port") taken
  on the worker's one lock connection, and the time it may next be asked is a row of `host_turn`
  (PostgreSQL's clock, so machines' clocks need not agree). A Retry-After pushes that row too;
- a check takes one of `concurrency` slots (class SLOT_CLASS, keys 0..concurrency-1).

Advisory locks belong to a connection: a worker killed with `kill -9` drops its connection and
PostgreSQL frees its turns and slots at once, with no lease to wait out. Two hosts whose keys
collide share one turn: stricter than needed, never less polite.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import psycopg

from monitor.capture.fetch import Fetcher, FetchSettings

log = logging.getLogger("monitor.workers")

HOST_CLASS = 72_720
SLOT_CLASS = 72_721
POLL = 0.05   # seconds between tries for a busy turn or a free slot


def host_key(host_port: str) -> int:
    """The advisory lock key of a host:port (a signed 32-bit int, stable on every machine)."""
    return zlib.crc32(host_port.encode()) - 2**31


class SharedTurns:
    """The fleet's per-host turns and check slots, held on one PostgreSQL connection of this process."""

    def __init__(self, info: str, *, per_host_delay: float, slots: int):
        self.info = info
        self.per_host_delay = per_host_delay
        self.slots = slots
        self._conn: psycopg.AsyncConnection | None = None
        self._held_slots: set[int] = set()
        self._local_slots = asyncio.Semaphore(slots)  # never ask PostgreSQL for more slots than exist
        self._tasks: set[asyncio.Task] = set()

    async def __aenter__(self) -> SharedTurns:
        await self._connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()  # frees every lock still held
            self._conn = None

    async def _connect(self) -> None:
        self._conn = await psycopg.AsyncConnection.connect(self.info, autocommit=True)
        self._held_slots.clear()

    async def _value(self, query: str, params: tuple) -> object:
        if self._conn is None or self._conn.closed or self._conn.broken:
            log.warning("lock connection to PostgreSQL lost; reconnecting (held turns and slots were freed)")
            await self._connect()
        assert self._conn is not None
        cursor = await self._conn.execute(query, params)
        row = await cursor.fetchone()
        return row[0] if row else None

    # -- per-host turns ------------------------------------------------------------------------

    @asynccontextmanager
    async def host(self, host_port: str) -> AsyncIterator[None]:
        """Hold host_port's turn: wait for the lock, then until its next start; after, space the next one."""
        key = host_key(host_port)
        while not await self._value("SELECT pg_try_advisory_lock(%s, %s)", (HOST_CLASS, key)):
            await asyncio.sleep(POLL)
        try:
            while (wait := await self._value(
                    "SELECT EXTRACT(EPOCH FROM next_start_at - now())::float FROM host_turn WHERE host = %s",
                    (host_port,))) and wait > 0:
                await asyncio.sleep(wait)
            yield
        finally:
            try:
                await self.hold(host_port, self.per_host_delay)
            finally:
                await self._value("SELECT pg_advisory_unlock(%s, %s)", (HOST_CLASS, key))

    async def hold(self, host_port: str, seconds: float) -> None:
        """Nobody asks host_port again for `seconds` from now (never shortens a longer hold)."""
        await self._value(
            "INSERT INTO host_turn (host, next_start_at) VALUES (%s, now() + make_interval(secs => %s)) "
            "ON CONFLICT (host) DO UPDATE SET next_start_at = GREATEST(host_turn.next_start_at, "
            "EXCLUDED.next_start_at) RETURNING 1", (host_port, seconds))

    def hold_soon(self, host_port: str, seconds: float) -> None:
        """`hold` from synchronous code in the event loop (the fetcher's Retry-After)."""
        task = asyncio.get_running_loop().create_task(self.hold(host_port, seconds))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- check slots --------------------------------------------------------------------------

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[int]:
        """Hold one of the fleet's `concurrency` check slots for the block."""
        async with self._local_slots:
            number = await self._take_slot()
            try:
                yield number
            finally:
                self._held_slots.discard(number)
                if self._conn is not None and not self._conn.closed:
                    await self._value("SELECT pg_advisory_unlock(%s, %s)", (SLOT_CLASS, number))

    async def _take_slot(self) -> int:
        while True:
            for number in range(self.slots):
                if number in self._held_slots:  # advisory locks stack within a session: ask only for others
                    continue
                if await self._value("SELECT pg_try_advisory_lock(%s, %s)", (SLOT_CLASS, number)):
                    self._held_slots.add(number)
                    return number
            await asyncio.sleep(POLL)


class SharedFetcher(Fetcher):
    """The spine's Fetcher whose per-host turns are the fleet's: in-process order first, then PostgreSQL's."""

    def __init__(self, settings: FetchSettings, turns: SharedTurns):
        super().__init__(settings)
        self.turns = turns

    @asynccontextmanager
    async def _host_turn(self, target: httpx.URL) -> AsyncIterator[None]:
        async with super()._host_turn(target), self.turns.host(_host_port(target)):
            yield

    def _hold_host(self, target: httpx.URL, seconds: float) -> None:
        super()._hold_host(target, seconds)
        if seconds > self.turns.per_host_delay:  # a Retry-After: the whole fleet waits, not just us
            self.turns.hold_soon(_host_port(target), seconds)


def _host_port(url: httpx.URL) -> str:
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.host}:{port}"
