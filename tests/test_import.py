"""`import`: a new source's history filled from an archive of earlier captures (a folder of dated files, or a
file's history in git), read, judged and rated as checks do, dated as captured, never alerted. On a real
recorded history (Open Terms Archive, ODC-BY 1.0: tests/corpus/histories.tar.xz)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.capture.archive import read_archive
from monitor.errors import UsageError
from tests.conftest import write_config
from tests.pages import render_policy
from tests.replay import load_histories

SERVICE = "nordvpn"  # a train/dev history service (data/splits.json): its early captures hold bad recordings
CAPTURES = 16


@pytest.fixture(scope="module")
def whole_history() -> list:
    return load_histories(services=[SERVICE])[SERVICE]


@pytest.fixture(scope="module")
def recorded(whole_history) -> list:
    return whole_history[:CAPTURES]


@pytest.fixture
def archive(tmp_path: Path, recorded) -> Path:
    folder = tmp_path / "archive"
    folder.mkdir()
    for version in recorded:
        (folder / f"{version.name}.md").write_text(version.text, encoding="utf-8")
    (folder / ".DS_Store").write_bytes(b"\x00")  # hidden files are not captures
    return folder


@pytest.fixture
def config(tmp_path: Path, site, receiver) -> Path:
    return write_config(tmp_path / "sources.yaml", sources=[{"name": SERVICE, "url": site.url("/privacy")}],
                        channels={"siem": {"type": "webhook", "url": receiver.url}})


def test_an_archive_becomes_the_history_dated_as_captured_and_alerts_nobody(cli, archive, config, sqlite_url, site,
                                                                             receiver, recorded):
    imported = cli("--config", config, "--db", sqlite_url, "import", SERVICE, archive, "--json")

    assert imported.exit_code == 0, imported.stderr
    rows = imported.json()["results"]
    assert [r["from"] for r in rows] == [f"{v.name}.md" for v in recorded]
    assert rows[0]["captured_at"] == "2025-12-21T00:00:00+00:00" and rows[0]["status"] == "new"
    # the archive recorded error captures ("near-empty page"): left out, as a check leaves them out
    rejected = [r for r in rows if r["status"] == "rejected"]
    assert rejected and all("near-empty page" in r["error"] for r in rejected)
    assert all(r["version"] is None or r["status"] != "rejected" or r["version"] < 2 for r in rows)
    stored = [r for r in rows if r["status"] in ("new", "changed")]
    assert [r["version"] for r in stored] == list(range(1, len(stored) + 1))

    history = cli("--config", config, "--db", sqlite_url, "history", SERVICE, "--json").json()
    assert [v["version"] for v in history] == [r["version"] for r in stored]
    # each imported version says where its capture is kept, never the live address it was not fetched from
    assert all(v["imported"] and v["url"] == (archive / r["from"]).resolve().as_uri()
               for v, r in zip(history, stored, strict=True))
    assert "imported" in cli("--config", config, "--db", sqlite_url, "history", SERVICE).stdout
    assert [v["fetched_at"][:10] for v in history] == [r["captured_at"][:10] for r in stored]
    assert not cli("--config", config, "--db", sqlite_url, "alerts", "--json").json()

    # the next check compares the live page with the last imported text, and sends nothing about the past
    last = next(v for v in recorded if f"{v.name}.md" == stored[-1]["from"])
    site.set("/privacy", render_policy(last.text))
    checked = cli("--config", config, "--db", sqlite_url, "check", "--json").json()["results"][0]
    assert checked["status"] in ("unchanged", "changed") and checked["alert_topics"] == [], checked["error"]
    assert checked["version"] in (stored[-1]["version"], stored[-1]["version"] + 1)
    assert receiver.received == []


def test_a_source_with_versions_takes_no_archive(cli, archive, config, sqlite_url):
    assert cli("--config", config, "--db", sqlite_url, "import", SERVICE, archive).exit_code == 0

    again = cli("--config", config, "--db", sqlite_url, "import", SERVICE, archive)

    assert again.exit_code == 2
    assert f"{SERVICE} already has stored versions: an archive can only be imported before" in again.stderr


def test_a_dry_run_writes_nothing(cli, archive, config, tmp_path: Path):
    db = tmp_path / "never.db"
    dry = cli("--config", config, "--db", f"sqlite:///{db}", "import", SERVICE, archive, "--dry-run")

    assert dry.exit_code == 0, dry.stderr
    assert "would store" in dry.stdout and "no alert is sent for an imported change" in dry.stdout
    assert not db.exists()


def test_bad_archives_are_clear_usage_errors(cli, archive, config, sqlite_url, tmp_path: Path):
    def error(*args: object) -> str:
        result = cli("--config", config, "--db", sqlite_url, "import", *args)
        assert result.exit_code == 2, result
        return result.stderr

    (archive / "notes.md").write_text("about this archive", encoding="utf-8")
    assert "notes.md: no capture date in the file name" in error(SERVICE, archive)
    (archive / "notes.md").unlink()
    (archive / "2026-01-31.docx").write_bytes(b"PK")
    assert "2026-01-31.docx: unknown file type '.docx'" in error(SERVICE, archive)
    (archive / "2026-01-31.docx").unlink()
    (archive / "2026-02-30.md").write_text("x", encoding="utf-8")
    assert "2026-02-30.md: 2026-02-30 is not a date" in error(SERVICE, archive)
    assert "not a folder" in error(SERVICE, tmp_path / "missing")
    assert "unknown source 'other'" in error("other", archive)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no files to read" in error(SERVICE, empty)
    assert "not a git repository" in error(SERVICE, empty, "--git-path", "policy.md").lower()
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists() or _versions(sqlite_url) == 0


def test_links_pipes_and_what_they_point_to_are_never_read(cli, archive, config, sqlite_url, tmp_path: Path,
                                                          monkeypatch):
    """A capture is one of the folder's own regular files: a link could store any file the importer may read (the
    process's environment, with its secrets, from /proc) and a pipe never ends."""
    private = tmp_path / "elsewhere" / "private.html"
    private.parent.mkdir()
    private.write_text("<p>someone else's file</p>", encoding="utf-8")
    (archive / "2030-01-01.html").symlink_to(private)
    (archive / "2030-01-02.txt").symlink_to("/proc/self/environ")
    os.mkfifo(archive / "2030-01-03.html")
    monkeypatch.setenv("IMPORT_TEST_SECRET", "s3cr3t-value")
    result = cli("--config", config, "--db", sqlite_url, "import", SERVICE, archive, "--json")
    assert result.exit_code == 2, result.stdout
    assert "2030-01-01.html: a symbolic link, not a capture" in result.stderr
    assert "2030-01-02.txt: a symbolic link, not a capture" in result.stderr
    assert "2030-01-03.html: not a regular file" in result.stderr
    assert "s3cr3t-value" not in result.stdout + result.stderr and "someone else" not in result.stdout
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists() or _versions(sqlite_url) == 0
    # a file swapped for a link between listing and reading is not followed either
    (archive / "2030-01-01.html").unlink()
    (archive / "2030-01-02.txt").unlink()
    (archive / "2030-01-03.html").unlink()
    swapped = read_archive(archive)[-1]
    target = archive / swapped.label
    target.rename(tmp_path / "moved")
    target.symlink_to(private)
    with pytest.raises(OSError):
        swapped.read(10**6)


def test_a_files_git_history_is_read_commit_by_commit_renames_followed(cli, config, sqlite_url, tmp_path: Path,
                                                                       whole_history):
    repo = tmp_path / "versions"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=archiver", "-c", "user.email=archiver@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    texts = list(dict.fromkeys(v.text for v in whole_history if len(v.text) > 1000))[:3]
    name = "NordVPN Privacy Policy.md"
    for at, step in enumerate([texts[0], texts[1], "rename", texts[2]]):
        if step == "rename":  # the file renamed, its text kept: a capture of the same text
            subprocess.run([*git, "mv", "Privacy.md", name], check=True)
        else:
            (repo / (name if at > 2 else "Privacy.md")).write_text(step, encoding="utf-8")
        subprocess.run([*git, "add", "-A"], check=True)
        stamp = f"2024-0{at + 1}-15T08:30:00+02:00"
        subprocess.run([*git, "commit", "-q", "-m", f"capture {at}"], check=True,
                       env={**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"})
    (repo / "unrelated.md").write_text("another document", encoding="utf-8")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "unrelated"], check=True)

    rows = cli("--config", config, "--db", sqlite_url, "import", SERVICE, repo, "--git-path", name,
               "--json").json()["results"]

    assert [r["captured_at"] for r in rows] == [f"2024-0{month}-15T06:30:00+00:00" for month in (1, 2, 3, 4)]
    assert [r["from"].split(" ", 1)[1:] for r in rows] == [["Privacy.md"], ["Privacy.md"], [], []]
    assert [r["status"] for r in rows] == ["new", "changed", "unchanged", "changed"]
    assert _versions(sqlite_url) == 3


def _versions(sqlite_url: str) -> int:
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as db:
        return db.execute("select count(*) from version").fetchone()[0]


def test_the_json_of_each_capture_is_checks_shape_with_when_and_from_where(cli, archive, config, sqlite_url):
    rows = cli("--config", config, "--db", sqlite_url, "import", SERVICE, archive, "--json").json()["results"]

    assert {"captured_at", "from", "source", "status", "version", "previous_version", "reverts_to", "error",
            "alert_topics", "changes"} <= set(rows[0])
    assert json.dumps(rows)  # plain JSON all through


def test_an_archive_imports_into_postgresql_too(cli, archive, config, postgres_url):
    rows = cli("--config", config, "--db", postgres_url, "import", SERVICE, archive, "--json").json()["results"]

    stored = [r for r in rows if r["status"] in ("new", "changed")]
    history = cli("--config", config, "--db", postgres_url, "history", SERVICE, "--json").json()
    assert [(v["version"], v["fetched_at"][:10]) for v in history] == [(r["version"], r["captured_at"][:10])
                                                                       for r in stored]
    assert cli("--config", config, "--db", postgres_url, "import", SERVICE, archive).exit_code == 2


# -- what the archive readers take (after a fresh-eyes review of the first version) --------------------

def git_repo(path: Path) -> Callable[..., None]:
    """A git repository at `path`; the function it returns commits its arguments: (file, text or None to
    delete, author date), or ("mv", old, new, date), or ("cp", old, new, date)."""
    path.mkdir()
    git = ["git", "-C", str(path), "-c", "user.name=archiver", "-c", "user.email=archiver@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)

    def commit(*step: object) -> None:
        if step[0] in ("mv", "cp"):
            _, old, new, when = step
            if step[0] == "mv":
                subprocess.run([*git, "mv", str(old), str(new)], check=True)
            else:
                (path / str(new)).parent.mkdir(parents=True, exist_ok=True)
                (path / str(new)).write_bytes((path / str(old)).read_bytes())
        else:
            name, text, when = step
            (path / str(name)).parent.mkdir(parents=True, exist_ok=True)
            (path / str(name)).write_text(str(text), encoding="utf-8")
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "capture"], check=True,
                       env={**os.environ, "GIT_AUTHOR_DATE": str(when), "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"})
    return commit


def test_a_copied_files_history_starts_at_the_copy_not_in_the_other_document(tmp_path: Path, whole_history):
    texts = list(dict.fromkeys(v.text for v in whole_history if len(v.text) > 1000))
    commit = git_repo(tmp_path / "versions")
    commit("Terms of Service.md", texts[0], "2025-01-01T00:00:00Z")
    commit("Terms of Service.md", texts[1], "2025-06-01T00:00:00Z")
    commit("cp", "Terms of Service.md", "Privacy Policy.md", "2026-03-02T00:00:00Z")  # one company, one text
    commit("Privacy Policy.md", texts[2], "2026-04-02T00:00:00Z")

    versions = read_archive(tmp_path / "versions", "Privacy Policy.md")

    assert [v.captured_at.isoformat() for v in versions] == ["2026-03-02T00:00:00+00:00", "2026-04-02T00:00:00+00:00"]
    assert [v.read(10**7).decode() for v in versions] == [texts[1], texts[2]]


def test_commits_of_one_moment_keep_their_order_in_history(tmp_path: Path, whole_history):
    texts = list(dict.fromkeys(v.text for v in whole_history if len(v.text) > 1000))
    commit = git_repo(tmp_path / "versions")
    for text in texts[:4]:  # four commits, one author date: hashes in any order
        commit("Privacy.md", text, "2026-03-01T00:00:00Z")

    assert [v.read(10**7).decode() for v in read_archive(tmp_path / "versions", "Privacy.md")] == texts[:4]


def test_odd_names_in_git_and_a_folder_as_git_path(cli, config, sqlite_url, tmp_path: Path, whole_history):
    commit = git_repo(tmp_path / "versions")
    name = 'Tom "T" \\ Co/Política de privacidad.md'  # quoted by git unless read with -z
    commit(name, whole_history[0].text, "2026-03-01T00:00:00Z")

    [only] = read_archive(tmp_path / "versions", name)
    assert only.read(10**7).decode() == whole_history[0].text
    folder = cli("--config", config, "--db", sqlite_url, "import", SERVICE, tmp_path / "versions", "--git-path",
                 'Tom "T" \\ Co')
    assert folder.exit_code == 2 and "is not a file in the last commit (tree)" in folder.stderr


def test_dates_in_file_names(tmp_path: Path):
    folder = tmp_path / "archive"
    folder.mkdir()
    names = ["10_2026-02-16.md", "9_2026-02-16.md", "2026-01-12T10-00-00+02:00.md", "2026-01-12T07:30Z.md",
             "web.archive.org_20260322101500.html"]
    for name in names:
        (folder / name).write_text("x", encoding="utf-8")

    versions = read_archive(folder, now=datetime(2026, 12, 4, tzinfo=UTC))

    assert [(v.label, v.captured_at.isoformat()) for v in versions] == [
        ("2026-01-12T07:30Z.md", "2026-01-12T07:30:00+00:00"),
        ("2026-01-12T10-00-00+02:00.md", "2026-01-12T08:00:00+00:00"),  # its zone, not taken for UTC
        ("9_2026-02-16.md", "2026-02-16T00:00:00+00:00"),  # numbers read as numbers: 9 before 10
        ("10_2026-02-16.md", "2026-02-16T00:00:00+00:00"),
        ("web.archive.org_20260322101500.html", "2026-03-22T10:15:00+00:00"),  # a Wayback Machine timestamp
    ]
    (folder / "2062-01-12.md").write_text("x", encoding="utf-8")
    with pytest.raises(UsageError, match="2062-01-12.md: captured 2062-01-12 00:00 UTC, which is still to come"):
        read_archive(folder, now=datetime(2026, 12, 4, tzinfo=UTC))


def test_a_capture_over_max_bytes_is_rejected_unread(cli, archive, site, sqlite_url, tmp_path: Path):
    config = write_config(tmp_path / "small.yaml", sources=[{"name": SERVICE, "url": site.url("/privacy"),
                                                             "max_bytes": 5000}])
    rows = cli("--config", config, "--db", sqlite_url, "import", SERVICE, archive, "--json").json()["results"]

    big = [r for r in rows if r["error"] and "larger than max_bytes (5,000 bytes)" in r["error"]]
    assert big and all(r["status"] == "rejected" for r in big)


def test_select_reads_html_captures_only_and_renormalize_reads_them_the_same(cli, archive, site, sqlite_url,
                                                                             tmp_path: Path, recorded):
    # the live page needs `select`; the archive's Markdown is the policy already extracted; one HTML capture too
    config = write_config(tmp_path / "select.yaml", sources=[{"name": SERVICE, "url": site.url("/privacy"),
                                                              "select": "main"}])
    text = next(v.text for v in reversed(recorded) if len(v.text) > 1000)
    (archive / "2026-12-01.html").write_text(f"<nav>Menu</nav><main>{render_policy(text)}</main>", encoding="utf-8")
    rows = cli("--config", config, "--db", sqlite_url, "import", SERVICE, archive, "--json").json()["results"]
    assert not [r for r in rows if r["error"] and "select" in r["error"]]

    again = cli("--config", config, "--db", sqlite_url, "renormalize", SERVICE, "--json")

    assert again.exit_code == 0, again.stdout
    assert again.json() == {"rederived": [], "skipped": []}


def test_an_import_waits_for_no_check_it_refuses_while_one_holds_the_source(cli, archive, config, sqlite_url):
    from monitor.store.database import Store

    store = Store(sqlite_url)
    assert store.claim(SERVICE, "https://example.org/p", "another-host:1", 600) is not None

    busy = cli("--config", config, "--db", sqlite_url, "import", SERVICE, archive)

    assert busy.exit_code == 2 and f"another process is checking {SERVICE} right now" in busy.stderr
    assert _versions(sqlite_url) == 0


def test_archive_mistakes_are_named_all_at_once_and_a_repository_needs_its_file(cli, archive, config, sqlite_url,
                                                                                tmp_path: Path, whole_history):
    for name in ("notes.md", "2026-02-30.md", "scan.docx"):
        (archive / name).write_text("x", encoding="utf-8")
    listed = cli("--config", config, "--db", sqlite_url, "import", SERVICE, archive)
    assert listed.exit_code == 2
    assert "3 files of" in listed.stderr and all(n in listed.stderr for n in ("notes.md", "2026-02-30.md", "scan.docx"))

    commit = git_repo(tmp_path / "versions")
    commit("NordVPN/Privacy Policy.md", whole_history[0].text, "2026-03-01T00:00:00Z")
    whole = cli("--config", config, "--db", sqlite_url, "import", SERVICE, tmp_path / "versions")
    assert whole.exit_code == 2 and "is a git repository: name the policy's file in it with --git-path" in whole.stderr
    # a path given from a folder inside the repository is read from there, as git reads it
    inside = cli("--config", config, "--db", sqlite_url, "import", SERVICE, tmp_path / "versions" / "NordVPN",
                 "--git-path", "Privacy Policy.md", "--json")
    assert inside.exit_code == 0, inside.stderr
    [row] = inside.json()["results"]
    assert row["status"] == "new"
    history = cli("--config", config, "--db", sqlite_url, "history", SERVICE, "--json").json()
    assert history[0]["url"].endswith(":NordVPN/Privacy Policy.md") and "#" in history[0]["url"]


def test_an_import_rewrites_the_feed_file_and_old_changes_follow_new_ones(cli, site, sqlite_url, tmp_path: Path,
                                                                           whole_history):
    everything = tmp_path / "everything"
    everything.mkdir()
    for version in whole_history:  # the whole history: its rewrite of February 2026 is alert-worthy
        (everything / f"{version.name}.md").write_text(version.text, encoding="utf-8")
    feed = tmp_path / "feed.xml"
    config = write_config(tmp_path / "feed.yaml", sources=[{"name": SERVICE, "url": site.url("/privacy")}],
                          feed=str(feed))
    assert cli("--config", config, "--db", sqlite_url, "import", SERVICE, everything).exit_code == 0

    printed = cli("--config", config, "--db", sqlite_url, "feed").stdout
    assert feed.exists() and feed.read_text(encoding="utf-8") == printed
    updated = re.findall(r"<entry>.*?<updated>([^<]+)</updated>", printed, re.S)
    assert updated and updated == sorted(updated, reverse=True)  # newest capture first



def test_a_git_capture_over_max_bytes_and_a_file_gone_before_reading_are_rejected_not_read(tmp_path: Path,
                                                                                           whole_history, site):
    from monitor.backfill import backfill
    from monitor.config import load_config

    texts = list(dict.fromkeys(v.text for v in whole_history if len(v.text) > 1000))
    commit = git_repo(tmp_path / "versions")
    commit("Privacy.md", texts[0], "2026-01-01T00:00:00Z")
    commit("Privacy.md", texts[1] + "\n\n" + "padding " * 2000, "2026-02-01T00:00:00Z")  # over the cap
    config = load_config(write_config(tmp_path / "cap.yaml", sources=[
        {"name": SERVICE, "url": site.url("/privacy"), "max_bytes": max(len(texts[0]), len(texts[1])) + 100}]))
    source = config.sources[0]
    read = []
    captures = [replace(v, read=lambda limit, v=v: read.append(v.label) or v.read(limit))
                for v in read_archive(tmp_path / "versions", "Privacy.md")]

    done = backfill(source, captures, config=config, store=None, dry_run=True)

    assert [b.result.status for b in done] == ["new", "rejected"]
    assert "larger than max_bytes" in done[1].result.error and read == [captures[0].label]  # never read

    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "2026-01-01.md").write_text(texts[0], encoding="utf-8")
    (folder / "2026-02-01.md").write_text(texts[1], encoding="utf-8")
    listed = read_archive(folder)
    (folder / "2026-02-01.md").unlink()  # gone between the listing and the reading

    gone = backfill(source, listed, config=config, store=None, dry_run=True)

    assert [b.result.status for b in gone] == ["new", "rejected"]
    assert gone[1].result.error.startswith("cannot be read (FileNotFoundError")
