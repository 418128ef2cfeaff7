"""`export`: every version and change of a history built by real checks, in each format, parsed back; the
git export read with `git log`, and re-running it appends only what is new; memory stays flat."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.history_helpers import STEPS, TYPOS

VERSIONS = {"wemet": 5, "zw": 3}


def stored_texts(history) -> dict[tuple[str, int], str]:
    """Each version's text as the database holds it (read with the sqlite3 module)."""
    import sqlite3

    db = sqlite3.connect(history.db.removeprefix("sqlite:///"))
    try:
        rows = db.execute("select source.name, version.seq, version.text from version join source "
                          "on source.id = version.source_id").fetchall()
    finally:
        db.close()
    assert {(name, seq) for name, seq, _ in rows} == {(n, s) for n, c in VERSIONS.items() for s in range(1, c + 1)}
    return {(name, seq): text for name, seq, text in rows}


def test_jsonl_has_one_line_per_version_with_text_hashes_and_changes(history):
    result = history.cli("export", "--all", "--format", "jsonl")

    assert result.exit_code == 0, result
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(v["source"], v["version"]) for v in lines] == [("wemet", n) for n in range(1, 6)] + [
        ("zw", n) for n in range(1, 4)]
    texts = stored_texts(history)
    for v in lines:
        assert v["text"] == texts[(v["source"], v["version"])]
        assert v["text_sha256"] == hashlib.sha256(v["text"].encode()).hexdigest()
        assert len(v["raw_sha256"]) == 64 and v["raw_pruned"] is False and v["url"].endswith("/" + v["source"])
    by_version = {(v["source"], v["version"]): v for v in lines}
    assert [d for d, _ in [(s[2], s) for s in STEPS]] == sorted(v["fetched_at"][:16] for v in lines)
    age = by_version[("wemet", 2)]
    assert age["material"] is True and age["previous_version"] == 1
    [change] = age["changes"]
    assert change["summary"] == "age threshold 18 → 13" and change["topics"] == ["minors"]
    assert change["severity"] == "high" and change["substantive"] is True
    assert "under the age of 18" in change["before"] and "under the age of 13" in change["after"]
    typos = by_version[("wemet", 3)]
    assert typos["material"] is False and {c["substantive"] for c in typos["changes"]} == {False}
    assert by_version[("wemet", 4)]["reverts_to"] == 2 and by_version[("wemet", 4)]["material"] is False


def test_json_is_one_document_and_out_writes_one_file_per_source(history, tmp_path):
    whole = history.cli("export", "--all", "--format", "json")
    written = history.cli("export", "wemet", "zw", "--format", "json", "--out", tmp_path / "out")

    document = whole.json()
    assert document["format"] == "policy-monitor-export" and document["format_version"] == 1
    assert [(s["name"], len(s["versions"])) for s in document["sources"]] == list(VERSIONS.items())
    assert written.exit_code == 0, written
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["wemet.json", "zw.json"]
    zw = json.loads((tmp_path / "out" / "zw.json").read_text())
    assert [s["name"] for s in zw["sources"]] == ["zw"]
    assert zw["sources"][0]["versions"] == document["sources"][1]["versions"]
    assert f"{tmp_path / 'out' / 'zw.json'}: 3 versions" in written.stderr


def test_csv_parses_back_with_the_csv_module(history):
    result = history.cli("export", "wemet", "--format", "csv")

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    versions = [r for r in rows if r["record"] == "version"]
    changes = [r for r in rows if r["record"] == "change"]
    assert [r["version"] for r in versions] == ["1", "2", "3", "4", "5"]
    texts = stored_texts(history)
    assert all(r["text"] == texts[("wemet", int(r["version"]))] for r in versions)  # newlines survive
    jsonl = [json.loads(line) for line in history.cli("export", "wemet", "--format", "jsonl").stdout.splitlines()]
    assert len(changes) == sum(len(v["changes"]) for v in jsonl)
    [age] = [r for r in changes if r["version"] == "2"]
    assert (age["topics"], age["severity"], age["summary"], age["substantive"]) == (
        "minors", "high", "age threshold 18 → 13", "true")
    assert {r["material"] for r in versions if r["version"] in ("3", "4")} == {"false"}


def test_markdown_has_a_section_per_version_and_each_text_in_a_fence(history, tmp_path):
    history.cli("export", "--all", "--format", "markdown", "--out", tmp_path)

    document = (tmp_path / "wemet.md").read_text()
    assert document.startswith("# wemet\n")
    headings = re.findall(r"^## (v[\d → v]+) — (\S+ \S+) UTC$", document, re.M)
    assert [h for h, _ in headings] == ["v1", "v1 → v2", "v2 → v3", "v3 → v4", "v4 → v5"]
    assert [d[:16] for _, d in headings] == ["2026-01-05 09:00", "2026-02-10 09:00", "2026-03-01 09:00",
                                             "2026-03-15 09:00", "2026-06-20 09:00"]
    fences = re.findall(r"^```text\n(.*?)\n```$", document, re.M | re.S)
    texts = stored_texts(history)
    assert fences == [texts[("wemet", n)] for n in range(1, 6)]
    assert "- **high** · minors · 5. Protection of Minors' Information: age threshold 18 → 13\n" in document
    assert "- back to the text of v2 (a blink)" in document
    assert "(form only)" in document


def test_a_change_a_later_blink_back_undid_says_so_in_every_format(history, tmp_path):
    """wemet v6 returns to the text of v2: v5's change (data brokers) no longer stands, as the timeline says;
    v3 in between was form-only and v2 stands, so neither is marked."""
    from tests.history_helpers import AGE

    history.check("wemet", AGE, "2026-07-01T09:00")
    history.cli("export", "wemet", "--format", "markdown", "--out", tmp_path)

    lines = [json.loads(line) for line in history.cli("export", "wemet", "--format", "jsonl").stdout.splitlines()]
    [source] = history.cli("export", "wemet", "--format", "json").json()["sources"]
    rows = list(csv.DictReader(io.StringIO(history.cli("export", "wemet", "--format", "csv").stdout)))
    timeline = history.cli("timeline", "wemet", "--json").json()
    document = (tmp_path / "wemet.md").read_text()

    marks = [(v["version"], v["reverts_to"], v["reverted_in"]) for v in lines]
    assert marks == [(1, None, None), (2, None, None), (3, None, None), (4, 2, None), (5, None, 6), (6, 2, None)]
    assert [(e["version"], e["reverted_in"]) for e in timeline] == [(5, 6), (2, None)]  # the same fact
    assert [v["reverted_in"] for v in source["versions"]] == [v["reverted_in"] for v in lines]
    assert [(r["version"], r["reverted_in"]) for r in rows if r["record"] == "version"] == [
        ("1", ""), ("2", ""), ("3", ""), ("4", ""), ("5", "6"), ("6", "")]
    v5 = document[document.index("## v4 → v5"):document.index("## v5 → v6")]
    assert "- reverted in v6: the policy returned to the text before this change, which no longer stands\n" in v5
    assert document.count("reverted in v") == 1


def test_markdown_escapes_policy_text_outside_the_fences():
    from monitor.report.export import fenced, md_inline

    assert md_inline("<script>alert(1)</script> *x*\n# y") == "\\<script\\>alert\\(1\\)\\</script\\> \\*x\\* \\# y"
    assert fenced("a ```` b").startswith("`````text\n")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def test_git_export_has_one_dated_commit_per_version_and_reads_with_git_log(history, tmp_path):
    repo = tmp_path / "archive"

    result = history.cli("export", "--all", "--format", "git", "--out", repo)

    assert result.exit_code == 0, result
    assert "8 new commits" in result.stdout
    subjects = git(repo, "log", "--reverse", "--format=%aI %s").splitlines()
    assert subjects == [
        "2026-01-05T09:00:00+00:00 wemet v1: first version captured",
        "2026-01-05T09:01:00+00:00 zw v1: first version captured",
        "2026-02-10T09:00:00+00:00 wemet v2: age threshold 18 → 13",
        "2026-03-01T09:00:00+00:00 wemet v3: no change in substance: 2 form-only edits",
        "2026-03-15T09:00:00+00:00 wemet v4: back to the text of v2 (a blink back: never a change alert)",
        "2026-04-01T09:00:00+00:00 zw v2: no change in substance: date stamp updated",
        "2026-05-12T09:00:00+00:00 zw v3: retention period as long as necessary → 3 years",
        "2026-06-20T09:00:00+00:00 wemet v5: adds recipient: data brokers",
    ]
    patch = git(repo, "log", "-p", "--format=%s", "-1", "--skip=3", "--", "wemet.md")
    assert patch.startswith("wemet v2: age threshold 18 → 13")
    assert re.search(r"^-.*under the age of 18", patch, re.M) and re.search(r"^\+.*under the age of 13", patch, re.M)
    texts = stored_texts(history)
    assert (repo / "wemet.md").read_text() == texts[("wemet", 5)] + "\n"
    assert git(repo, "show", "HEAD~4:wemet.md") == texts[("wemet", 3)] + "\n"
    assert git(repo, "status", "--porcelain") == ""
    trailers = git(repo, "log", "-1", "--format=%(trailers)")
    assert "Policy-Monitor-Source: wemet\nPolicy-Monitor-Version: 5\n" in trailers


def test_git_export_run_again_appends_only_new_versions(history, tmp_path):
    repo = tmp_path / "archive"
    history.cli("export", "wemet", "--format", "git", "--out", repo)
    head = git(repo, "rev-parse", "HEAD").strip()

    again = history.cli("export", "wemet", "--format", "git", "--out", repo)
    assert again.exit_code == 0 and "0 new commits (already up to date)" in again.stdout
    assert git(repo, "rev-parse", "HEAD").strip() == head

    history.check("wemet", TYPOS.replace("payment processors, SMS providers", "SMS providers"))
    more = history.cli("export", "--all", "--format", "git", "--out", repo)

    assert more.exit_code == 0, more
    assert "4 new commits" in more.stdout  # zw's three versions, and wemet v6
    log = git(repo, "log", "--format=%H %s").splitlines()
    assert len(log) == 9 and log[-5].split(" ", 1)[0] == head  # the old commits stay as they were
    assert log[0].split(" ", 1)[1].startswith("wemet v6: ")
    assert git(repo, "log", "--format=%s", f"{head}..HEAD", "--", "zw.md").count("zw v") == 3


def test_git_export_refuses_a_directory_it_did_not_make(history, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine\n")

    result = history.cli("export", "--all", "--format", "git", "--out", busy)

    assert result.exit_code == 2 and "neither empty nor a git repository" in result.stderr
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("args, message", [
    (["--format", "json"], "name the sources to export or use --all"),
    (["wemet", "--all", "--format", "json"], "name the sources to export or use --all (not both)"),
    (["wemet"], "--format is required"),
    (["wemet", "--format", "git"], "--format git writes a repository: give its directory with --out DIR"),
    (["nosuch", "--format", "json"], "unknown source 'nosuch'"),
    (["wemet", "--format", "xml"], "Invalid value for '--format'"),
])
def test_export_bad_input_is_a_usage_error(history, args, message):
    result = history.cli("export", *args)

    assert result.exit_code == 2, result
    assert message in result.stderr and "Traceback" not in result.stderr


def test_export_out_into_a_file_is_refused(history, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("x")

    result = history.cli("export", "wemet", "--format", "csv", "--out", target)

    assert result.exit_code == 2 and "is a file, not a directory" in result.stderr


def test_export_memory_does_not_grow_with_the_number_of_versions(tmp_path):
    """Peak memory of a streamed export of 150 and of 1,500 versions: the same bound, not ten times more."""
    import tracemalloc

    from monitor.report.export import JsonLinesWriter
    from monitor.store.database import Store
    from monitor.store.reverts import undone_in_any_order
    from monitor.store.streams import stream_versions
    from tests.history_helpers import fill_database

    peaks, written = [], []
    for count in (150, 1500):
        store = Store(f"sqlite:///{tmp_path / f'{count}.db'}")
        fill_database(store, count)
        for measured in (False, True):  # a first export fills the process's caches (compiled statements,
            sink = _Counting()          # folded words): a cache dict resizing mid-run is not the export's memory
            if measured:
                tracemalloc.start()
            with store.session() as session:
                JsonLinesWriter(sink, None).source("big", "", stream_versions(session, sources=["big"]),
                                                   undone_in_any_order(()))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        store.dispose()
        assert sink.lines == count
        written.append(sink.characters)
    # Holding the 1,350 extra versions would cost at least what they write; streaming costs a bounded
    # amount more (process caches of compiled statements and folded words fill up to their size limits,
    # which is why a ratio of the two peaks proved order-dependent).
    assert peaks[1] - peaks[0] < (written[1] - written[0]) / 4, (peaks, written)


class _Counting(io.TextIOBase):
    def __init__(self):
        self.lines = 0
        self.characters = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        self.characters += len(text)
        return len(text)


def test_export_streams_from_postgresql_too(site, tmp_path, postgres_url):
    from tests.history_helpers import SHORT, build_history

    history = build_history(site, tmp_path, postgres_url, SHORT)

    lines = [json.loads(line) for line in history.cli("export", "wemet", "--format", "jsonl").stdout.splitlines()]
    exported = history.cli("export", "--all", "--format", "git", "--out", tmp_path / "repo")

    assert [(v["version"], [c["summary"] for c in v["changes"] if c["substantive"]]) for v in lines] == [
        (1, []), (2, ["age threshold 18 → 13"]), (3, ["adds recipient: data brokers"])]
    assert exported.exit_code == 0 and "3 new commits" in exported.stdout
    assert git(tmp_path / "repo", "log", "--format=%s").splitlines() == [
        "wemet v3: adds recipient: data brokers", "wemet v2: age threshold 18 → 13", "wemet v1: first version captured"]
