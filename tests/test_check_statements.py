"""A check's own statements (SQLAlchemy Core, no ORM object on an unchanged page) on SQLite and PostgreSQL:
the claim (lock, first sight, a new URL), the write that releases the lock, and the fingerprint kept
without a parse for a page served byte for byte as before.

Real parts: a loopback web site, a real SQLite file and a throwaway PostgreSQL database, the real `check_all`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from monitor.store.database import Check, Source, Store, utcnow
from tests.pages import render_policy, seed_text


def run(config, store: Store, lock_wait: float = 0.0):
    from monitor.pipeline import check_all

    [result] = asyncio.run(check_all(config.sources, config=config, store=store, lock_wait=lock_wait))
    return result


def source_row(store: Store, name: str = "p") -> Source:
    with store.session() as session:
        return session.exec(select(Source).where(Source.name == name)).one()


@pytest.fixture
def store(db_url):
    store = Store(db_url)
    yield store
    store.dispose()


def config_for(make_config, url: str, **extra):
    from monitor.config import load_config

    return load_config(make_config([{"name": "p", "url": url, **extra}]))


def test_first_sight_creates_the_row_and_the_write_releases_the_lock_with_the_outcome(site, make_config, store):
    config = config_for(make_config, site.set("/p", render_policy(seed_text(1)), ETag='"v1"'))

    first, again = run(config, store), run(config, store)

    assert (first.status, again.status) == ("new", "unchanged")
    row = source_row(store)
    assert row.lock_owner is None and row.lock_expires_at is None
    assert (row.last_outcome, row.consecutive_failures, row.etag) == ("unchanged", 0, '"v1"')
    assert row.final_url == site.url("/p") and row.text_fingerprint.startswith("fp3:")
    with store.session() as session:
        checks = session.exec(select(Check.outcome, Check.version_seq).order_by(Check.id)).all()
    assert [tuple(c) for c in checks] == [("new", 1), ("unchanged", 1)]
    assert site.requests[1].headers.get("If-None-Match") == '"v1"', "the claim read the stored validators"


def test_a_lock_held_elsewhere_is_left_alone_and_an_expired_one_is_taken_over(site, make_config, store):
    config = config_for(make_config, site.set("/p", render_policy(seed_text(1))))
    run(config, store)
    source_id = source_row(store).id
    assert store.try_lock(source_id, "elsewhere:1", ttl=600)

    held = run(config, store)
    store.unlock(source_id, "elsewhere:1")
    assert store.try_lock(source_id, "elsewhere:2", ttl=-1)  # a lease that already ran out
    taken = run(config, store)

    assert held.status == "skipped" and len(site.requests) == 2, "nothing fetched while another process held it"
    assert taken.status == "unchanged"
    assert source_row(store).lock_owner is None


def test_a_failure_counts_on_the_row_and_a_success_resets_it(site, make_config, store):
    config = config_for(make_config, site.set("/p", render_policy(seed_text(1))))
    run(config, store)
    site.set("/p", "down", status=503)
    failures = [run(config, store).status for _ in range(2)]
    count_after_failures = source_row(store).consecutive_failures
    site.set("/p", render_policy(seed_text(1)))

    assert failures == ["error", "error"] and count_after_failures == 2
    assert run(config, store).status == "unchanged"
    assert source_row(store).consecutive_failures == 0


def test_a_new_url_for_the_source_forgets_its_validators_and_fingerprint(site, make_config, store):
    html = render_policy(seed_text(1))
    run(config_for(make_config, site.set("/old", html, ETag='"old"')), store)

    moved = run(config_for(make_config, site.set("/new", html)), store)

    assert moved.status == "unchanged", "the same text at the new address"
    assert site.requests[-1].path == "/new" and "If-None-Match" not in site.requests[-1].headers
    assert source_row(store).url == site.url("/new")


def test_a_page_served_byte_for_byte_again_is_not_parsed_and_a_nonce_page_is(site, make_config, store, monkeypatch):
    import monitor.capture.fingerprint as fingerprints  # the pipeline imports it when a page comes in

    parses: list[int] = []
    real = fingerprints.fingerprint

    def counted(body, **kwargs):
        parses.append(len(body))
        return real(body, **kwargs)

    monkeypatch.setattr(fingerprints, "fingerprint", counted)
    html = render_policy(seed_text(2))
    config = config_for(make_config, site.set("/p", html))

    statuses = [run(config, store).status for _ in range(3)]
    parses_for_same_bytes = len(parses)
    site.set("/p", html.replace("<body", '<body data-nonce="f00d"', 1))
    nonce = run(config, store)

    assert statuses == ["new", "unchanged", "unchanged"]
    assert parses_for_same_bytes == 1, "only the first page was parsed; the same bytes kept its fingerprint"
    assert nonce.status == "unchanged" and len(parses) == 2, "new bytes, same text: parsed, not normalized"


def test_a_check_that_lost_its_lock_writes_nothing(site, make_config, store):
    """The write's conditional update finds the lock taken by another process: no check row, no outcome."""
    from monitor.store.database import ClaimedSource

    config = config_for(make_config, site.set("/p", render_policy(seed_text(1))))
    run(config, store)
    before = source_row(store)
    with store.transaction() as conn:
        claim = Store.claim_source(conn, "p", config.sources[0].url, "me:1", ttl=600)
    assert isinstance(claim, ClaimedSource) and claim.latest is not None and claim.latest.seq == 1
    with store.transaction() as conn:  # our lease runs out and another process takes the source
        conn.execute(Source.__table__.update().where(Source.__table__.c.id == claim.id)
                     .values(lock_owner="other:2", lock_expires_at=utcnow() + timedelta(seconds=600)))

    with store.transaction() as conn:
        counters = Store.finish_check(conn, claim.id, owner="me:1", outcome="unchanged", failed=False,
                                      started_at=utcnow(), learned={"etag": '"x"'})

    assert counters is None
    after = source_row(store)
    assert (after.lock_owner, after.etag, after.last_checked_at) == ("other:2", before.etag, before.last_checked_at)


def test_a_check_that_stores_nothing_opens_no_orm_session_until_health_has_news(site, make_config, store):
    """Unchanged pages and errors below the failure threshold are written by two Core statements in one
    transaction; the failure that reaches the threshold goes through a Session, whose health rules report it."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    config = config_for(make_config, site.set("/p", render_policy(seed_text(1))))
    opened: list[str] = []

    def count(session, transaction, connection) -> None:
        opened.append("session")

    event.listen(Session, "after_begin", count)
    try:
        run(config, store)
        after_first = len(opened)
        unchanged = run(config, store)
        after_unchanged = len(opened)
        site.set("/p", "down", status=503)
        quiet_failures = [run(config, store).status for _ in range(2)]
        after_quiet_failures = len(opened)
        failing = run(config, store)  # the third in a row: failure_threshold
    finally:
        event.remove(Session, "after_begin", count)

    assert after_first >= 1, "a new version is stored through a Session"
    assert unchanged.status == "unchanged" and after_unchanged == after_first
    assert quiet_failures == ["error", "error"] and after_quiet_failures == after_first
    assert failing.status == "error" and len(opened) > after_first, "the failing event is recorded in a Session"
    with store.session() as session:
        checks = session.exec(select(Check.outcome, Check.http_status).order_by(Check.id)).all()
    assert [tuple(c) for c in checks] == [("new", 200), ("unchanged", 200), ("error", 503), ("error", 503),
                                          ("error", 503)]
    row = source_row(store)
    assert (row.consecutive_failures, row.failing_reported, row.lock_owner) == (3, True, None)


def test_the_quiet_write_keeps_nothing_when_the_lock_was_lost(site, make_config, store):
    config = config_for(make_config, site.set("/p", render_policy(seed_text(1))))
    run(config, store)
    with store.transaction() as conn:
        claim = Store.claim_source(conn, "p", config.sources[0].url, "me:1", ttl=600)
    with store.transaction() as conn:  # our lease runs out and another process takes the source
        conn.execute(Source.__table__.update().where(Source.__table__.c.id == claim.id)
                     .values(lock_owner="other:2", lock_expires_at=utcnow() + timedelta(seconds=600)))
    started = utcnow()

    written = store.record_quiet_check(
        claim.id, owner="me:1", outcome="unchanged", failed=False, started_at=started, learned={"etag": '"x"'},
        check={"started_at": started, "duration_ms": 1, "outcome": "unchanged", "http_status": 200, "error": None,
               "version_seq": 1, "reverts_to": None}, quiet=lambda counters: True)

    assert written is None
    with store.session() as session:
        assert len(session.exec(select(Check)).all()) == 1, "no check row beside the first check's"
    assert source_row(store).lock_owner == "other:2"
