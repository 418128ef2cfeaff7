"""Checks whose CPU work runs in worker processes find what inline checks find (real server, real SQLite)."""

from __future__ import annotations

import asyncio
import os

from monitor.offload import MIN_SOURCES_FOR_WORKERS, CpuPool, pool_size
from tests.pages import edit, render_policy, seed_text

TEXTS = {f"p{n}": seed_text(n) for n in (0, 2, 4)}


def run_all(config_path, sqlite_url):
    from monitor.config import load_config
    from monitor.pipeline import check_all
    from monitor.store.database import Store

    config = load_config(config_path)
    store = Store(sqlite_url)
    try:
        return asyncio.run(check_all(config.sources, config=config, store=store))
    finally:
        store.dispose()


def summary(results) -> list[tuple]:
    return [(r.source, r.status, r.version, r.alert_topics, [c.to_json() for c in r.changes]) for r in results]


def test_a_pool_of_workers_finds_the_same_versions_and_changes_as_inline(site, make_config, tmp_path):
    def passes(workers: int, db: str) -> list[list[tuple]]:
        for name, text in TEXTS.items():
            site.set(f"/{name}", render_policy(text))
        config = make_config([{"name": n, "url": site.url(f"/{n}")} for n in TEXTS],
                             daemon={"concurrency": 4, "per_host_delay": "0s", "cpu_processes": workers})
        first = run_all(config, db)
        site.set("/p2", render_policy(edit(TEXTS["p2"], "top priority", "main concern")))
        site.set("/p4", render_policy(TEXTS["p4"], noise=3))  # chrome only
        return [summary(first), summary(run_all(config, db))]

    pooled = passes(2, f"sqlite:///{tmp_path}/pooled.db")
    inline = passes(0, f"sqlite:///{tmp_path}/inline.db")

    assert pooled == inline
    assert [s[1] for s in pooled[0]] == ["new"] * 3
    assert [s[1] for s in pooled[1]] == ["unchanged", "changed", "unchanged"]


def test_workers_run_in_other_processes_and_are_reaped_on_close():
    with CpuPool(2) as pool:
        pids = {asyncio.run(pool.run(os.getpid)) for _ in range(4)}
        workers = list(pool._executor._processes.values())
    assert os.getpid() not in pids
    assert all(not w.is_alive() for w in workers)


def test_pool_size_is_the_setting_else_one_per_core_but_one_for_enough_sources():
    assert pool_size(0, 10_000) == 0 and pool_size(3, 1) == 3
    assert pool_size(None, MIN_SOURCES_FOR_WORKERS - 1) == 0
    cores = len(os.sched_getaffinity(0))
    assert pool_size(None, MIN_SOURCES_FOR_WORKERS) == cores - 1  # this process keeps the last core busy


def test_the_text_caches_stay_bounded_over_many_different_policies(monkeypatch):
    """A process that compares many policies does not keep every section body it ever split."""
    import monitor.pipeline
    from monitor.config import parse_config
    from monitor.store.database import VersionHead
    from monitor.text import clauses
    from tests.pages import seed_numbers

    monkeypatch.setattr(monitor.pipeline, "TEXT_CACHE_BODIES", 200)  # the bound, small enough to reach here
    source = parse_config("sources:\n  - name: x\n    url: https://x.example/privacy\n").sources[0]
    clauses.clear_caches()
    peak = 0
    latest = VersionHead(id=1, seq=1, url=source.url, text_hash="an earlier text")
    for round_ in range(3):  # hundreds of different section bodies in all
        for n in seed_numbers():  # the same policies, each made different: every section body is new
            before = seed_text(n).replace(".", f" (r{round_}).")
            after = before.replace(" (r", " (s")  # every section changed: both sides are split
            monitor.pipeline._analyse(after, source, source.url, before, latest)
            peak = max(peak, clauses.body_clauses.cache_info().currsize)
    assert 100 < peak <= 200  # used, and emptied whenever a comparison left it over the bound
