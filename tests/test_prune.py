"""`prune --raw-older-than DAYS`: old raw pages go, the latest version's and those a material change or an
alert refers to stay, texts and hashes stay, and the bytes are counted; on a history built by real checks."""

from __future__ import annotations

import sqlite3

from tests.history_helpers import BROKERS


def raw_sizes(history) -> dict[tuple[str, int], int]:
    db = sqlite3.connect(history.db.removeprefix("sqlite:///"))
    try:
        rows = db.execute("select source.name, version.seq, length(version.raw) from version join source "
                          "on source.id = version.source_id").fetchall()
    finally:
        db.close()
    return {(name, seq): size for name, seq, size in rows}


def texts(history) -> list[tuple]:
    db = sqlite3.connect(history.db.removeprefix("sqlite:///"))
    try:
        return db.execute("select source_id, seq, text, text_hash, raw_hash from version order by id").fetchall()
    finally:
        db.close()


# wemet v3 (typos only) and zw v1 (only a date stamp changed after it) are referred to by no material
# change; wemet v4 (a blink) is the old side of the sharing change v4 → v5, so it stays.
PRUNABLE = {("wemet", 3), ("zw", 1)}


def test_dry_run_reports_and_changes_nothing(history):
    before, texts_before = raw_sizes(history), texts(history)

    result = history.cli("prune", "--raw-older-than", "30", "--dry-run", "--json")

    assert result.exit_code == 0, result
    report = result.json()
    assert report["dry_run"] is True and report["raw_pages_emptied"] == 2
    assert report["bytes_freed"] == sum(before[k] for k in PRUNABLE)
    assert report["kept"] == {"latest": 2, "referenced": 4}
    assert raw_sizes(history) == before and texts(history) == texts_before


def test_prune_empties_old_raw_pages_but_never_the_latest_or_referenced_ones(history):
    before, texts_before = raw_sizes(history), texts(history)

    result = history.cli("prune", "--raw-older-than", "30")

    assert result.exit_code == 0, result
    after = raw_sizes(history)
    assert {k for k, size in after.items() if size == 0} == PRUNABLE
    assert all(after[k] == before[k] for k in before if k not in PRUNABLE)
    assert texts(history) == texts_before  # text, text hash and raw hash all stay
    freed = sum(before[k] for k in PRUNABLE)
    assert "emptied 2 raw pages captured before" in result.stdout
    assert f"{freed / 1000:,.1f} kB freed" in result.stdout
    assert "8 versions stored; per version: raw page" in result.stdout
    again = history.cli("prune", "--raw-older-than", "30", "--json").json()
    assert again["raw_pages_emptied"] == 0 and again["bytes_freed"] == 0


def test_after_pruning_reading_exporting_renormalizing_and_checking_still_work(history):
    history.cli("prune", "--raw-older-than", "30")

    shown = history.cli("show", "wemet", "3")
    diffed = history.cli("diff", "wemet", "2", "3", "--format", "json")
    exported = [line for line in history.cli("export", "wemet", "--format", "jsonl").stdout.splitlines()]
    renormalized = history.cli("renormalize", "--json")
    checked = history.check("wemet", BROKERS.replace("SMS providers", "SMS gateways"))

    assert shown.exit_code == 0 and "top prority" in shown.stdout
    assert diffed.exit_code == 0
    assert ['"raw_pruned": true' in line for line in exported] == [False, False, True, False, False]
    assert renormalized.exit_code == 0 and renormalized.json()["rederived"] == []  # pruned: said, not failed
    assert [(s["source"], s["version"], s["reason"]) for s in renormalized.json()["skipped"]] == [
        (name, seq, "its raw page was pruned (`prune`): nothing to re-derive the text from")
        for name, seq in (("wemet", 3), ("zw", 1))]
    assert checked["status"] == "changed" and checked["version"] == 6


def test_the_cutoff_is_the_capture_date(history):
    # 300 days before today reaches back to early February: only January's captures are older
    result = history.cli("prune", "--raw-older-than", "300", "--json")

    cutoff = result.json()["cutoff"]
    assert cutoff < "2026-03-01"  # the tests run on or after the history's dates
    emptied = {k for k, size in raw_sizes(history).items() if size == 0}
    assert emptied <= {("zw", 1)}
    assert emptied == ({("zw", 1)} if cutoff > "2026-01-05T09:01" else set())


def test_a_version_an_alert_refers_to_keeps_its_raw_page(history):
    from monitor.store.database import Alert, Store

    store = Store(history.db)
    with store.session() as session:
        wemet = Store.source(session, "wemet")
        v3 = Store.version(session, wemet.id, 3)
        session.add(Alert(source_id=wemet.id, channel="audit", event_type="policy.changed", idempotency_key="k1",
                          payload={}, version_id=v3.id))
    store.dispose()

    history.cli("prune", "--raw-older-than", "30")

    assert {k for k, size in raw_sizes(history).items() if size == 0} == {("zw", 1)}


def test_prune_bad_input_is_a_usage_error(history):
    negative = history.cli("prune", "--raw-older-than", "-1")
    missing = history.cli("prune")
    words = history.cli("prune", "--raw-older-than", "a month")

    assert negative.exit_code == 2 and "--raw-older-than must be a number of days" in negative.stderr
    assert missing.exit_code == 2 and "--raw-older-than" in missing.stderr
    assert words.exit_code == 2 and "Traceback" not in words.stderr


def test_prune_on_postgresql(site, tmp_path, postgres_url):
    from tests.history_helpers import SHORT, build_history

    history = build_history(site, tmp_path, postgres_url, SHORT)
    typos = BROKERS.replace("top priority", "top prority")
    history.check("wemet", typos, "2026-07-01T09:00")     # v4: form-only
    history.check("wemet", BROKERS, "2026-08-01T09:00")   # v5: a blink back to v3

    planned = history.cli("prune", "--raw-older-than", "30", "--dry-run", "--json").json()
    done = history.cli("prune", "--raw-older-than", "30", "--json").json()
    exported = [line for line in history.cli("export", "wemet", "--format", "jsonl").stdout.splitlines()]

    assert planned["raw_pages_emptied"] == 1 and planned["bytes_freed"] > 0
    assert done["raw_pages_emptied"] == 1 and done["bytes_freed"] == planned["bytes_freed"]
    assert done["storage_before"]["bytes"]["text"] > 5 * 15_000  # bytes, counted on PostgreSQL too
    assert ['"raw_pruned": true' in line for line in exported] == [False, False, False, True, False]
