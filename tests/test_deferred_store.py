"""`check`'s claim through the sqlite3 module (monitor.store.deferred): the store's own statements, the same
rows and answers as Store.claim in every case, and the store opened behind it for everything else.

Real parts: real SQLite files migrated by the real store, a loopback web site, the real `check` command.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.dialects import sqlite

from monitor.offload import CpuPool
from monitor.store.database import Source, Store, _finish_statement, _insert_source, _statements, utcnow
from monitor.store.deferred import (
    ADD_CHECK_SQL,
    CLAIM_SQL,
    FINISH_LITERALS,
    HEAD_SQL,
    INSERT_SOURCE_SQL,
    SOURCE_ID_SQL,
    DeferredStore,
    finish_sql,
    sqlite_time,
)
from monitor.store.plain import NOT_QUIET
from tests.pages import render_policy, seed_text


def compiled(statement) -> str:
    text = str(statement.compile(dialect=sqlite.dialect(paramstyle="named")))
    return " ".join(text.split()).replace(":param_1", "1").replace(":param_2", "0")


def test_the_quick_statements_are_the_stores_own_as_sqlalchemy_compiles_them():
    statements = _statements()
    assert CLAIM_SQL == compiled(statements.claim)
    assert HEAD_SQL == compiled(statements.head)
    assert SOURCE_ID_SQL == compiled(statements.source_id)
    columns = ["name", "url", "created_at", "consecutive_failures", "failing_reported", "unstable_reported"]
    insert = _insert_source("sqlite").compile(dialect=sqlite.dialect(paramstyle="named"), column_keys=columns)
    assert INSERT_SOURCE_SQL == " ".join(str(insert).split())
    moment = datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=UTC)
    stores_format = sqlite.DATETIME().bind_processor(sqlite.dialect())
    assert sqlite_time(moment) == stores_format(moment), "lock times compare as the store writes them"


def test_the_quick_write_is_the_stores_own_statements_with_their_literals():
    learned = ("etag", "final_url", "last_modified", "text_fingerprint")
    shapes = [(release, failed, tuple(name for bit, name in enumerate(learned) if mask >> bit & 1))
              for release in (True, False) for failed in (True, False) for mask in range(16)]
    for shape in shapes:
        compiled_ = _finish_statement(*shape).compile(dialect=sqlite.dialect(paramstyle="named"))
        assert finish_sql(*shape) == " ".join(str(compiled_).split()), shape
        literals = {k: v for k, v in compiled_.construct_params(_check=False).items() if k in FINISH_LITERALS}
        used = set(re.findall(r":(\w+)", finish_sql(*shape)))
        assert literals == {k: v for k, v in FINISH_LITERALS.items() if k in used}, shape
    columns = ["source_id", "started_at", "duration_ms", "outcome", "http_status", "error", "version_seq",
               "reverts_to"]
    insert = _statements().add_check.compile(dialect=sqlite.dialect(paramstyle="named"), column_keys=columns)
    assert ADD_CHECK_SQL == " ".join(str(insert).split())


@pytest.fixture
def db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    store = Store(url)
    with store.transaction() as conn:  # a source with a version and validators, as after a first check
        claim = Store.claim_source(conn, "p", "https://example.org/p", "setup:1", ttl=60)
        conn.execute(update(Source.__table__).where(Source.__table__.c.id == claim.id).values(
            lock_owner=None, lock_expires_at=None, etag='"v1"', last_modified="Tue, 03 Mar 2026 10:00:00 GMT",
            final_url="https://example.org/p/", text_fingerprint="fp2:abc"))
        conn.exec_driver_sql("INSERT INTO version (source_id, seq, fetched_at, url, http_status, content_type, "
                             "text_hash, raw_hash, raw, text, normalizer_version) VALUES "
                             f"({claim.id}, 1, '2026-03-03 10:00:00.000000', 'https://example.org/p/', 200, "
                             "'text/html', 'h1', 'r1', x'00', 'text', 1)")
    store.dispose()
    return url


def lock_of(url: str, name: str = "p") -> tuple:
    store = Store(url, migrate=False)
    with store.transaction() as conn:
        row = conn.execute(Source.__table__.select().where(Source.__table__.c.name == name)).one()
    store.dispose()
    return row.lock_owner, row.lock_expires_at


def quick_then_store(url: str, name: str, page_url: str, owner: str, ttl: float = 60):
    """The same claim through a fresh DeferredStore (quick) and then the store, the lock freed in between."""
    deferred = DeferredStore.open(url)
    assert isinstance(deferred, DeferredStore)
    quick = deferred.claim(name, page_url, owner, ttl)
    quick_lock = lock_of(url, name)
    store = deferred.opened()
    if quick is not None:
        with store.transaction() as conn:
            Store.release_source(conn, quick.id, owner)
    with store.transaction() as conn:
        slow = Store.claim_source(conn, name, page_url, owner, ttl)
    deferred.dispose()
    return quick, slow, quick_lock


def test_a_free_source_is_claimed_with_the_same_answer_and_lock_as_the_store_gives(db):
    quick, slow, (owner, expires) = quick_then_store(db, "p", "https://example.org/p", "me:1", ttl=600)

    assert quick == slow and quick.etag == '"v1"' and quick.text_fingerprint == "fp2:abc"
    assert quick.latest is not None and quick.latest.seq == 1 and quick.latest.text_hash == "h1"
    assert owner == "me:1"
    assert timedelta(seconds=590) < expires.replace(tzinfo=UTC) - utcnow() <= timedelta(seconds=600)


def test_a_new_address_forgets_validators_and_fingerprint_as_the_store_does(db):
    quick, slow, _ = quick_then_store(db, "p", "https://example.org/moved", "me:1")

    assert quick == slow
    assert (quick.etag, quick.last_modified, quick.text_fingerprint) == (None, None, None)


def test_a_lock_held_elsewhere_is_left_alone_and_an_expired_one_is_taken_over(db):
    store = Store(db, migrate=False)
    with store.transaction() as conn:
        source_id = Store.source_id(conn, "p", "https://example.org/p")
    assert store.try_lock(source_id, "elsewhere:1", ttl=600)

    held = DeferredStore.open(db)
    assert held.claim("p", "https://example.org/p", "me:1", 60) is None
    held.dispose()
    assert lock_of(db)[0] == "elsewhere:1", "the holder's lock was left alone"

    store.unlock(source_id, "elsewhere:1")
    assert store.try_lock(source_id, "elsewhere:2", ttl=-1)  # a lease that already ran out
    store.dispose()
    taken = DeferredStore.open(db)
    assert taken.claim("p", "https://example.org/p", "me:1", 60) is not None
    taken.dispose()
    assert lock_of(db)[0] == "me:1"


def test_a_source_seen_for_the_first_time_is_created_and_claimed_as_the_store_does(db, tmp_path):
    import shutil
    import sqlite3

    other = f"sqlite:///{tmp_path / 'other.db'}"
    shutil.copy(db.removeprefix("sqlite:///"), other.removeprefix("sqlite:///"))
    deferred = DeferredStore.open(db)
    claim = deferred.claim("new", "https://example.org/new", "me:1", 60)
    deferred.dispose()
    store = Store(other, migrate=False)
    with store.transaction() as conn:
        slow = Store.claim_source(conn, "new", "https://example.org/new", "me:1", 60)
    store.dispose()

    assert claim == slow and claim is not None and claim.latest is None
    assert lock_of(db, "new")[0] == "me:1"
    rows = []
    for url in (db, other):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            cursor = conn.execute("SELECT * FROM source WHERE name = 'new'")
            keep = [i for i, d in enumerate(cursor.description) if d[0] not in ("created_at", "lock_expires_at")]
            rows.append([tuple(row[i] for i in keep) for row in cursor.fetchall()])
    assert rows[0] == rows[1] and len(rows[0]) == 1


def test_anything_but_a_sqlite_file_at_head_opens_the_store_at_once(tmp_path, db):
    behind = f"sqlite:///{tmp_path / 'behind.db'}"
    older = Store(behind)
    older.downgrade("0006_distributed_workers")
    older.dispose()

    opened = [DeferredStore.open(url) for url in (behind, "sqlite://")]
    missing = DeferredStore.open(f"sqlite:///{tmp_path / 'new.db'}")

    assert all(isinstance(store, Store) for store in opened)
    assert [rev for rev, _ in opened[0].applied] == ["0007_text_fingerprint", "0008_alert_status_channel_id"], \
        "an older one is migrated as before"
    assert isinstance(missing, DeferredStore), "a new file is made at head (monitor.store.fresh), not migrated"
    assert missing.opened().applied == [], "and the store finds it at head"
    for store in (*opened, missing):
        store.dispose()


def test_the_claim_runs_before_sqlalchemy_is_imported_and_the_store_opens_once_the_check_yields(db):
    code = f"""
import asyncio, sys, threading
from monitor.store.deferred import DeferredStore

def heavy():
    return sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "sqlmodel"))

async def check():
    store = DeferredStore.open({db!r})
    claim = store.claim("p", "https://example.org/p", "me:1", 60)
    before, threads_before = heavy(), threading.active_count()
    await asyncio.sleep(0)  # the check's fetch yields: the store starts opening beside it
    threads_after = threading.active_count()
    with store.session() as session:  # what the check's write does: waits for the opening thread
        session.connection()
    print(claim.latest.seq, before, threads_before, threads_after, "sqlmodel" in heavy())
    store.dispose()

asyncio.run(check())
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["1", "[]", "1", "2", "True"]


def test_check_twice_on_the_command_line_sends_the_stored_validators_and_frees_the_lock(cli, site, make_config,
                                                                                       tmp_path):
    config = make_config([{"name": "p", "url": site.set("/p", render_policy(seed_text(1)), ETag='"v1"')}])
    db = f"sqlite:///{tmp_path / 'monitor.db'}"

    first = cli("--config", str(config), "--db", db, "check", "--no-deliver")
    again = cli("--config", str(config), "--db", db, "check", "--no-deliver", "--json")

    assert first.exit_code == 0 and again.exit_code == 0, again.stderr
    assert '"status": "unchanged"' in again.stdout
    assert site.requests[-1].headers.get("If-None-Match") == '"v1"', "the quick claim read the stored validators"
    assert lock_of(db) == (None, None)


def test_a_deferred_store_answers_as_the_store_for_everything_else(db):
    deferred = DeferredStore.open(db)
    assert deferred.url == db and deferred.read_only is False
    with deferred.session() as session:  # opens the store
        assert session.get(Source, 1).name == "p"
    assert deferred.location.endswith("monitor.db")
    deferred.dispose()


def rows_after_a_quiet_write(url: str, *, quick: bool, failed: bool, quiet: bool = True):
    """Claim "p" and record one check that stores nothing, through sqlite3 or the store; what it answered and
    the source's and checks' rows as stored (raw sqlite3: the text of every value, times included)."""
    import sqlite3

    started = datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=UTC)
    learned = {} if failed else {"final_url": "https://example.org/p/", "etag": None, "last_modified": None,
                                  "text_fingerprint": "fp2:def"}
    check = {"started_at": started, "duration_ms": 12, "outcome": "error" if failed else "unchanged",
             "http_status": 503 if failed else 200, "error": "HTTP 503" if failed else None, "version_seq": 1,
             "reverts_to": None}
    deferred = DeferredStore.open(url, open_beside=False)
    claim = deferred.claim("p", "https://example.org/p", "me:1", 60)
    target = deferred if quick else deferred.opened()
    written = target.record_quiet_check(claim.id, owner="me:1", outcome=check["outcome"], failed=failed,
                                        started_at=started, learned=learned, check=check, quiet=lambda _: quiet)
    deferred.dispose()
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        source = conn.execute("SELECT url, final_url, etag, last_modified, last_checked_at, last_outcome, "
                              "consecutive_failures, failing_reported, unstable_reported, lock_owner, "
                              "lock_expires_at, text_fingerprint FROM source").fetchall()
        checks = conn.execute('SELECT * FROM "check"').fetchall()
    return written, source, checks


@pytest.mark.parametrize("failed", [False, True])
def test_a_quiet_write_through_sqlite3_leaves_the_rows_the_store_leaves(tmp_path, db, failed):
    import shutil

    other = tmp_path / "other.db"
    shutil.copy(db.removeprefix("sqlite:///"), other)

    quick = rows_after_a_quiet_write(db, quick=True, failed=failed)
    slow = rows_after_a_quiet_write(f"sqlite:///{other}", quick=False, failed=failed)

    assert quick == slow
    written, source, checks = quick
    assert (written.consecutive_failures, written.failing_reported) == ((1, False) if failed else (0, False))
    assert source[0][9] is None and len(checks) == 1, "the lock is released and the check recorded"


def test_a_write_that_is_not_quiet_writes_nothing_through_sqlite3(db):
    written, source, checks = rows_after_a_quiet_write(db, quick=True, failed=True, quiet=False)

    assert written is NOT_QUIET and checks == []
    assert source[0][9] == "me:1", "the lock is still held: the Session path writes it all again"


def _sharded_check(site, make_config, tmp_path, first_seed: int):
    """Four sources on two hosts (so two checking processes) and a function that checks them all in a fresh
    process through the deferred store, returning its statuses and whether SQLAlchemy was imported."""
    sources = [{"name": f"p{n}", "url": site.set(f"/p{n}", render_policy(seed_text(n % 3 + first_seed)))}
               for n in range(4)]
    sources[1]["url"] = sources[1]["url"].replace("localhost", "127.0.0.1", 1)  # two hosts: two processes
    sources[3]["url"] = sources[3]["url"].replace("localhost", "127.0.0.1", 1)
    config = make_config(sources, daemon={"concurrency": 4, "per_host_delay": "0s", "cpu_processes": 1})
    url = f"sqlite:///{tmp_path / 'monitor.db'}"
    code = f"""
import asyncio, sys
from monitor.config import load_config
from monitor.pipeline import check_all
from monitor.store.deferred import DeferredStore

config = load_config({str(config)!r})
store = DeferredStore.open({url!r})
results = asyncio.run(check_all(config.sources, config=config, store=store))
print(" ".join(r.status for r in results), "sqlalchemy" in sys.modules)
"""

    def run() -> list[str]:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        return done.stdout.split() or [done.stderr]

    return run


def test_an_unchanged_sharded_check_never_loads_sqlalchemy(site, make_config, tmp_path):
    from monitor.cli.main import main as _  # noqa: F401 — the same entry point, run below in a fresh process

    check = _sharded_check(site, make_config, tmp_path, first_seed=0)
    first, again = check(), check()

    assert first == ["new"] * 4 + ["False"]  # the database is made at head without SQLAlchemy too
    assert again == ["unchanged"] * 4 + ["False"]


def test_the_daemons_store_claims_and_writes_through_sqlite3_beside_the_open_store(db, tmp_path):
    store = Store(db)
    in_memory = Store("sqlite://")
    beside = DeferredStore.beside(store)

    claim = beside.claim("p", "https://example.org/p", "daemon:1", 60)
    with beside.session() as session:  # anything else is the open store's
        name = session.get(Source, claim.id).name

    assert DeferredStore.beside(in_memory) is in_memory, "no file: the store itself"
    assert isinstance(beside, DeferredStore) and beside.opened() is store
    assert claim.latest is not None and claim.latest.seq == 1 and name == "p"
    assert lock_of(db)[0] == "daemon:1"
    beside.dispose()
    in_memory.dispose()


def test_the_new_version_statements_are_the_stores_own_as_sqlalchemy_compiles_them():
    from monitor.store.database import ChangeRow, Version
    from monitor.store.deferred import ADD_CHANGE_SQL, ADD_VERSION_SQL, EARLIEST_SEQ_SQL, VERSION_TEXT_SQL
    from monitor.store.plain import CHANGE_COLUMNS, VERSION_COLUMNS

    assert VERSION_TEXT_SQL == compiled(_statements().version_text)
    assert EARLIEST_SEQ_SQL == compiled(_statements().earliest_seq)
    # the INSERTs the Session flushes a Version and its ChangeRows with (every column set: none is left out)
    version = Version.__table__.insert().compile(dialect=sqlite.dialect(paramstyle="named"),
                                                 column_keys=list(VERSION_COLUMNS))
    change = ChangeRow.__table__.insert().compile(
        dialect=sqlite.dialect(paramstyle="named"),
        column_keys=["source_id", "old_version_id", "new_version_id", *CHANGE_COLUMNS])
    assert ADD_VERSION_SQL == " ".join(str(version).split())
    assert ADD_CHANGE_SQL == " ".join(str(change).split())
    assert set(VERSION_COLUMNS) == {c.name for c in Version.__table__.columns} - {"id"}
    assert set(CHANGE_COLUMNS) == {c.name for c in ChangeRow.__table__.columns} - {
        "id", "source_id", "old_version_id", "new_version_id"}


def table_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of the tables a check writes, as sqlite3 reads them, but the columns holding the time it ran."""
    import sqlite3

    timed = {"fetched_at", "started_at", "duration_ms", "last_checked_at", "created_at", "lock_expires_at"}
    found = {}
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        for table in ("source", "version", "change", '"check"', "alert"):
            cursor = conn.execute(f"SELECT * FROM {table} ORDER BY id")
            keep = [i for i, d in enumerate(cursor.description) if d[0] not in timed]
            found[table] = [tuple(row[i] for i in keep) for row in cursor.fetchall()]
    return found


# a policy in a language the classifier does not know: its changes are stored unrated (severity NULL)
GERMAN = ("# Datenschutzerklärung\n\nWir verarbeiten Ihre personenbezogenen Daten nur, wenn Sie uns Ihre "
          "Einwilligung geben oder wenn das Gesetz es erlaubt. Die Daten werden nicht an Dritte weitergegeben, "
          "es sei denn, wir sind dazu verpflichtet. Sie haben das Recht auf Auskunft, Berichtigung und "
          "Löschung der Daten, die wir über Sie speichern. Wenn Sie Fragen haben, schreiben Sie uns.\n\n") * 3


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_new_version_through_sqlite3_leaves_the_rows_the_session_leaves(site, make_config, tmp_path, language):
    """First, changed, changed again, then a blink back (which the Session writes either way): the same rows
    from a `check` through the DeferredStore (sqlite3, SQLAlchemy never imported) and through the Store; in
    English the changes are rated, in German stored unrated (severity NULL either way)."""
    from monitor.config import load_config
    from monitor.pipeline import check_all

    base = seed_text(1) if language == "en" else GERMAN
    sentence = ("We may share your personal data with advertising partners for marketing purposes." if language == "en"
                else "Wir geben Ihre Daten an Werbepartner weiter.")
    paragraph = next(line for line in base.splitlines() if len(line) > 80)
    texts = [base, base.replace(paragraph, paragraph + " " + sentence, 1),
             base.replace(paragraph, paragraph + " " + sentence + " You may opt out at any time.", 1), base]
    config = make_config([{"name": "p", "url": site.set("/p", render_policy(texts[0])), "language": language,
                           "topics": ["sharing", "ads_ai", "retention"]}],
                         daemon={"per_host_delay": "0s"})
    urls = {"quick": f"sqlite:///{tmp_path / 'quick.db'}", "session": f"sqlite:///{tmp_path / 'session.db'}"}
    for url in urls.values():
        Store(url).dispose()
    statuses: dict[str, list[tuple]] = {name: [] for name in urls}
    for text in texts:
        site.set("/p", render_policy(text))
        for name, url in urls.items():
            store = DeferredStore.open(url) if name == "quick" else Store(url)
            assert isinstance(store, DeferredStore) == (name == "quick")
            results = asyncio.run(check_all(load_config(config).sources, config=load_config(config), store=store,
                                            cpu=CpuPool(0)))
            store.dispose()
            statuses[name] += [(r.status, r.version, r.previous_version, r.reverts_to, r.alert_topics,
                                [c.to_json() for c in r.changes]) for r in results]

    assert statuses["quick"] == statuses["session"]
    assert [s[:4] for s in statuses["quick"]] == [("new", 1, None, None), ("changed", 2, 1, None),
                                                 ("changed", 3, 2, None), ("changed", 4, 3, 1)]
    assert statuses["quick"][1][5], "the change was stored"
    assert table_rows(urls["quick"]) == table_rows(urls["session"])
    assert len(table_rows(urls["quick"])["change"]) >= 3
    import sqlite3

    for url in urls.values():
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            stored = {row[0] for row in conn.execute("SELECT severity FROM change")}
        assert stored == {None} if language == "de" else None not in stored, (url, stored)


def test_a_sharded_check_storing_changed_pages_never_loads_sqlalchemy(site, make_config, tmp_path):
    check = _sharded_check(site, make_config, tmp_path, first_seed=1)
    first = check()
    for n in (0, 1):  # one changed page in each process
        site.set(f"/p{n}", render_policy(seed_text(n % 3 + 1) + "\n\nWe sell your personal data to data brokers."))
    again = check()

    assert first == ["new"] * 4 + ["False"]
    assert again == ["changed", "changed", "unchanged", "unchanged", "False"]


def test_a_quick_write_held_up_by_another_writer_waits_for_it_and_then_writes_through_sqlite3(db):
    """SQLite's own busy handler is off on the quick connection (it sleeps 1, 2, 5, 10… ms): the write is tried
    again until the other process's transaction ends, and is then written through sqlite3, not handed over."""
    import sqlite3
    import threading

    deferred = DeferredStore.open(db, open_beside=False)
    claim = deferred.claim("p", "https://example.org/p", "me:1", 60)
    other = sqlite3.connect(db.removeprefix("sqlite:///"), check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process's write transaction holds the write lock
    other.execute("UPDATE source SET final_url = 'https://example.org/held' WHERE name = 'p'")
    tried = threading.Event()
    original = deferred._quick

    class Watching:  # tells the holder when the write has met the lock, so it lets go only then
        def __getattr__(self, name):
            return getattr(original, name)

        def execute(self, *args):
            try:
                return original.execute(*args)
            except sqlite3.OperationalError:
                tried.set()
                raise

    deferred._quick = Watching()
    releaser = threading.Thread(target=lambda: (tried.wait(30), other.commit()))
    releaser.start()
    started = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    written = deferred.record_quiet_check(
        claim.id, owner="me:1", outcome="unchanged", failed=False, started_at=started, learned={}, quiet=lambda _: True,
        check={"started_at": started, "duration_ms": 1, "outcome": "unchanged", "http_status": 200, "error": None,
               "version_seq": 1, "reverts_to": None})
    releaser.join()
    deferred._quick = original
    assert tried.is_set(), "the write met the other's lock"
    assert written is not NOT_QUIET and written is not None and written.consecutive_failures == 0
    assert deferred._store is None, "written through sqlite3: the store was never opened"
    deferred.dispose()
    other.close()
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        assert conn.execute("SELECT final_url, lock_owner FROM source WHERE name = 'p'").fetchone() == (
            "https://example.org/held", None)
        assert conn.execute('SELECT count(*) FROM "check"').fetchone()[0] == 1


def test_after_a_failed_quick_write_the_store_writes_it_and_the_next_write_is_quick_again(db):
    """A quick write that fails (here its connection was lost) is rolled back and handed to the store, which
    writes it; the next write opens a new sqlite3 connection instead of staying on the slow path for good."""
    import sqlite3

    deferred = DeferredStore.open(db, open_beside=False)
    claim = deferred.claim("p", "https://example.org/p", "me:1", 60)
    started = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)

    def write() -> object:
        again = deferred.claim("p", "https://example.org/p", "me:1", 60) if deferred._quick else claim
        return deferred.record_quiet_check(
            (again or claim).id, owner="me:1", outcome="unchanged", failed=False, started_at=started, learned={},
            quiet=lambda _: True,
            check={"started_at": started, "duration_ms": 1, "outcome": "unchanged", "http_status": 200,
                   "error": None, "version_seq": 1, "reverts_to": None})

    lost = deferred._quick
    lost.close()                                       # the connection is gone: sqlite3.ProgrammingError
    first = write()
    assert first is not NOT_QUIET and first is not None and deferred._store is not None, "the store wrote it"
    second = write()
    assert second is not NOT_QUIET and second is not None
    assert deferred._quick is not None and deferred._quick is not lost, "a new quick connection"
    deferred.dispose()
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        assert conn.execute('SELECT count(*) FROM "check"').fetchone()[0] == 2
        assert conn.execute("SELECT lock_owner FROM source WHERE name = 'p'").fetchone() == (None,)
