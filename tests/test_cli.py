"""The `policy-monitor` command's listing and maintenance commands, as a user runs them."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import httpx

from tests.pages import edit, render_policy, seed_text


def test_sources_lists_configured_sources_with_their_state(cli, site, make_config, sqlite_url):
    config = make_config([
        {"name": "wemet", "url": site.set("/a", render_policy(seed_text(2))), "interval": "1d"},
        {"name": "later", "url": site.set("/b", render_policy(seed_text(0)))},
    ])
    cli("--config", config, "--db", sqlite_url, "check", "wemet")

    rows = cli("--config", config, "--db", sqlite_url, "sources", "--json").json()
    table = cli("--config", config, "--db", sqlite_url, "sources")

    assert [(r["name"], r["interval"], r["last_outcome"], r["versions"]) for r in rows] == [
        ("wemet", "1d", "new", 1), ("later", "6h", None, 0)]
    assert "wemet" in table.stdout and "never" in table.stdout


def test_renormalize_rederives_text_from_the_stored_page_and_records_it(cli, site, make_config, sqlite_url):
    config = make_config([{"name": "wemet", "url": site.set("/a", render_policy(seed_text(2)))}])
    cli("--config", config, "--db", sqlite_url, "check")
    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    good = db.execute("select text from version").fetchone()[0]
    with db:  # as if an older normalizer had produced different text
        db.execute("update version set text = 'old text', text_hash = 'old'")

    report = cli("--config", config, "--db", sqlite_url, "renormalize", "--json").json()
    again = cli("--config", config, "--db", sqlite_url, "renormalize", "--json").json()

    assert [(r["source"], r["version"], r["old_hash"]) for r in report["rederived"]] == [("wemet", 1, "old")]
    assert db.execute("select text from version").fetchone()[0] == good
    assert db.execute("select old_text from renormalization").fetchall() == [("old text",)]
    assert again == {"rederived": [], "skipped": []}


def test_renormalize_says_which_versions_a_select_that_matches_nothing_skipped(cli, site, make_config, sqlite_url,
                                                                                tmp_path):
    """The page has no #policy-body: as `check` rejects it, renormalize keeps the stored texts, says which
    versions and why, and exits 1."""
    text = seed_text(2)
    url = site.set("/a", render_policy(text))
    plain = make_config([{"name": "wemet", "url": url}])
    cli("--config", plain, "--db", sqlite_url, "check")
    site.set("/a", render_policy(edit(text, "top priority", "main concern")))
    cli("--config", plain, "--db", sqlite_url, "check")
    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    texts = db.execute("select text from version order by seq").fetchall()
    selecting = make_config([{"name": "wemet", "url": url, "select": "#policy-body"}])

    shown = cli("--config", selecting, "--db", sqlite_url, "renormalize")
    report = cli("--config", selecting, "--db", sqlite_url, "renormalize", "--json")

    assert shown.exit_code == 1, shown.stderr
    assert ("wemet: skipped 2 versions (v1, v2), stored text kept: select '#policy-body' matched no element "
            "of the page") in " ".join(shown.stdout.split())
    assert "0 versions re-derived, 2 skipped" in shown.stdout
    assert report.exit_code == 1 and report.json() == {"rederived": [], "skipped": [
        {"source": "wemet", "version": n, "reason": "select '#policy-body' matched no element of the page"}
        for n in (1, 2)]}
    assert db.execute("select text from version order by seq").fetchall() == texts


def test_python_dash_m_monitor_is_the_same_command(tmp_path):
    run = subprocess.run([sys.executable, "-m", "monitor", "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0 and "check" in run.stdout and "history" in run.stdout


def test_json_output_is_only_json_even_when_sources_fail(cli, make_config, sqlite_url):
    config = make_config([{"name": "dead", "url": "http://127.0.0.1:9/", "timeout": "1s"}])
    result = cli("--config", config, "--db", sqlite_url, "check", "--json")
    assert result.exit_code == 1
    assert result.json()["results"][0]["status"] == "error"


def test_check_json_is_the_indenting_encoders_text_for_every_kind_of_result(cli, site, make_config, sqlite_url):
    """`check --json` writes flat results through the C encoder (monitor.cli.main.indented_json): byte for byte
    what json.dumps(indent=2) writes, for unchanged, failed and changed results, and values of every kind."""
    import json
    from datetime import UTC, datetime

    from monitor.cli.main import indented_json

    text = seed_text(2)
    sources = [{"name": "same", "url": site.set("/same", render_policy(text))},
               {"name": "changes", "url": site.set("/changes", render_policy(text))},
               {"name": "down", "url": site.set("/down", "gone", status=500) + "?café=ç"}]
    config = make_config(sources)
    cli("--config", config, "--db", sqlite_url, "check", "--no-deliver")
    site.set("/changes", render_policy(edit(text, "top priority", "main concern")))
    result = cli("--config", config, "--db", sqlite_url, "check", "--json", "--no-deliver")

    assert result.stdout, result.stderr
    results = result.json()["results"]
    assert [r["status"] for r in results] == ["unchanged", "changed", "error"] and results[1]["changes"]
    expected = '{\n  "results": [\n' + ",\n".join(
        "    " + json.dumps(r, indent=2, ensure_ascii=False).replace("\n", "\n    ") for r in results) + "\n  ]\n}\n"
    assert result.stdout == expected
    odd = {"when": datetime(2026, 1, 2, tzinfo=UTC), "n": 1.5, "yes": True, "none": None, "empty": {}, "e": [],
           "text": 'a "quote",\n\tç ✓ \u2028', "é": 0}
    for data in (odd, {"k": [1]}, {"k": {"a": 1}}, {1: "int key"}, {}):
        assert indented_json(data) == json.dumps(data, indent=2, ensure_ascii=False, default=str)


def test_show_version_that_does_not_exist_is_one_line(cli, site, make_config, sqlite_url):
    config = make_config([{"name": "wemet", "url": site.set("/a", render_policy(seed_text(2)))}])
    cli("--config", config, "--db", sqlite_url, "check")
    result = cli("--config", config, "--db", sqlite_url, "show", "wemet", "7")
    assert result.exit_code == 2 and "wemet has no version 7" in result.stderr and "Traceback" not in result.stderr
    zero = cli("--config", config, "--db", sqlite_url, "show", "wemet", "0")
    assert zero.exit_code == 2 and "Traceback" not in zero.stderr, "version 0 is not a way to say 'latest'"


def test_renormalize_of_an_unknown_source_is_a_usage_error(cli, make_config, sqlite_url):
    config = make_config([{"name": "wemet", "url": "https://example.org/p"}])
    result = cli("--config", config, "--db", sqlite_url, "renormalize", "nope")
    assert result.exit_code == 2 and "unknown source 'nope'" in result.stderr


def test_diff_with_a_single_version_says_there_is_nothing_to_compare(cli, site, make_config, sqlite_url):
    config = make_config([{"name": "wemet", "url": site.set("/a", render_policy(seed_text(2)))}])
    cli("--config", config, "--db", sqlite_url, "check")
    result = cli("--config", config, "--db", sqlite_url, "diff", "wemet")
    assert result.exit_code == 2 and "only one version" in result.stderr


def test_diff_json_lists_the_changes_between_two_versions(cli, site, make_config, sqlite_url):
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/a", render_policy(text))}])
    cli("--config", config, "--db", sqlite_url, "check")
    site.set("/a", render_policy(edit(text, "top priority", "main concern")))
    cli("--config", config, "--db", sqlite_url, "check")

    result = cli("--config", config, "--db", sqlite_url, "diff", "wemet", "--format", "json")

    data = result.json()
    assert (data["old"], data["new"]) == (1, 2)
    assert any("main concern" in c["after"] for c in data["changes"])


def test_an_unreachable_database_is_one_clear_line_and_exit_code_3(cli, make_config):
    """Not 1 (a source failed) nor 2 (usage): the database could not be opened, and may come back."""
    config = make_config([])
    for command in (("history", "x"), ("sources",), ("check",)):
        result = cli("--config", config, "--db", "postgresql://nobody@127.0.0.1:1/none", *command)
        assert result.exit_code == 3, (command, result.stderr)
        assert "cannot open database postgresql://nobody@127.0.0.1:1/none" in result.stderr
        assert "Connection refused" in result.stderr and "Traceback" not in result.stderr


def test_a_sqlite_database_in_a_missing_directory_names_the_directory(cli, make_config, tmp_path):
    config = make_config([])
    url = f"sqlite:///{tmp_path}/gone/x.db"

    result = cli("--config", config, "--db", url, "check")

    assert result.exit_code == 3, result.stderr
    assert f"its directory {tmp_path}/gone does not exist" in result.stderr
    assert "migrate.lock" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "gone").exists()


def test_a_file_that_is_no_database_is_one_clear_line_and_not_the_retried_exit_code(cli, make_config, tmp_path):
    """Exit 3 says "it can come back" (systemd restarts `run` after it); a file that is no SQLite database will
    not, so it is an error (exit 1) with the driver's one line, and the file is left as it was."""
    config = make_config([])
    garbage = tmp_path / "notes.db"
    garbage.write_bytes(b"not a database, just some notes\n" * 200)

    result = cli("--config", config, "--db", f"sqlite:///{garbage}", "check")

    assert result.exit_code == 1, result.stderr
    assert f"cannot open database sqlite:///{garbage}" in result.stderr and "file is not a database" in result.stderr
    assert "Traceback" not in result.stderr
    assert garbage.read_bytes() == b"not a database, just some notes\n" * 200


def test_diff_of_a_date_only_version_says_where_the_change_is(cli, site, make_config, sqlite_url):
    text = seed_text(3)
    config = make_config([{"name": "zw", "url": site.set("/a", render_policy(text))}])
    cli("--config", config, "--db", sqlite_url, "check")
    site.set("/a", render_policy(edit(text, "June 30, 2025", "July 1, 2026")))
    cli("--config", config, "--db", sqlite_url, "check")

    hidden = cli("--config", config, "--db", sqlite_url, "diff", "zw", "--format", "text")
    shown = cli("--config", config, "--db", sqlite_url, "diff", "zw", "--format", "text", "--all")

    assert hidden.exit_code == 0
    assert "no changes in substance (use --all to include form-only edits, moves and date stamps)" in hidden.stdout
    assert "[date changed]" in shown.stdout and "[-June 30-]{+July 1+}" in shown.stdout


def test_history_says_which_versions_changed_only_a_date_stamp_or_only_form_as_the_web_source_page(
        cli, site, make_config, sqlite_url):
    """A new user: a date-stamp-only version read `changes 1` with an empty note in `history`, `no changes` in
    `diff` and `form-only` on the web source page."""
    from tests.web_site import serve_thread

    text = seed_text(3)
    config = make_config([{"name": "zw", "url": site.set("/a", render_policy(text))}])
    cli("--config", config, "--db", sqlite_url, "check")
    dated = edit(text, "June 30, 2025", "July 1, 2026")
    site.set("/a", render_policy(dated))
    cli("--config", config, "--db", sqlite_url, "check")
    first = next(line for line in dated.splitlines() if line.count(" ") > 8 and not line.startswith("#"))
    words = first.split()
    site.set("/a", render_policy(dated.replace(first, " ".join([*words[:3], words[4], words[3], *words[5:]]))))
    cli("--config", config, "--db", sqlite_url, "check")

    rows = cli("--config", config, "--db", sqlite_url, "history", "zw", "--json").json()
    table = cli("--config", config, "--db", sqlite_url, "history", "zw").stdout
    with serve_thread(config, sqlite_url) as base:
        page = httpx.get(base + "/sources/zw", timeout=30).text

    assert [(r["changes"] > 0, r["without_substance"]) for r in rows] == [
        (False, None), (True, "date stamp only"), (True, "form only")]
    notes: list[str] = []  # the note column, its cells unwrapped (a narrow table wraps them)
    for cells in (line.split("│") for line in table.splitlines() if line.startswith("│")):
        if cells[1].strip():
            notes.append("")
        notes[-1] = f"{notes[-1]} {cells[-2].strip()}".strip()
    assert notes == ["", "date stamp only", "form only"], table
    assert '<span class="badge form-only">date stamp only</span>' in page
    assert '<span class="badge form-only">form only</span>' in page


def test_diff_counts_form_only_edits_instead_of_listing_them(cli, site, make_config, sqlite_url):
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(text))}])
    cli("--config", config, "--db", sqlite_url, "check")
    typos = edit(edit(text, "top priority", "top prority"), "explicitly prohibit", "explicitly prohibits")
    site.set("/p", render_policy(edit(typos, "under the age of 18", "under the age of 13")))
    cli("--config", config, "--db", sqlite_url, "check")

    hidden = cli("--config", config, "--db", sqlite_url, "diff", "wemet", "--format", "text")
    listed = cli("--config", config, "--db", sqlite_url, "diff", "wemet", "--format", "json", "--all").json()
    counted = cli("--config", config, "--db", sqlite_url, "diff", "wemet", "--format", "json").json()

    assert "age threshold 18 → 13" in hidden.stdout
    assert "form-only edit" in hidden.stdout and "not shown: --all lists them)" in hidden.stdout
    assert counted["form_only_edits"] >= 1
    assert len(listed["changes"]) == len(counted["changes"]) + counted["form_only_edits"]
    # each change says whether it is of substance: the listed ones are, the ones --all adds are not
    assert [c["substantive"] for c in counted["changes"]] == [True] * len(counted["changes"])
    assert sum(not c["substantive"] for c in listed["changes"]) == counted["form_only_edits"]


FRENCH = ("# Politique de confidentialité\n\n## Vos données\n\nNous traitons vos données personnelles pour vous "
          "fournir le service et pour respecter nos obligations. Vous pouvez exercer vos droits d'accès et de "
          "suppression en nous écrivant.\n\n## Conservation\n\nLes données sont conservées pendant la durée de "
          "votre compte et ne sont pas vendues à des tiers. Nous les supprimons dans un délai de 30 jours.\n")


def test_diff_rates_changes_with_the_sources_own_topics_and_language(cli, site, make_config, sqlite_url):
    """`diff` recomputes the changes as the source's checks rated them, not with the default settings."""
    text = seed_text(2)
    config = make_config([
        {"name": "sharing-only", "url": site.set("/a", render_policy(text)), "topics": ["sharing"]},
        {"name": "french", "url": site.set("/b", render_policy(FRENCH)), "language": "fr"},
    ])
    cli("--config", config, "--db", sqlite_url, "check")
    site.set("/a", render_policy(edit(text, "under the age of 18", "under the age of 13")))
    site.set("/b", render_policy(edit(FRENCH, "30 jours", "5 ans")))
    checked = {r["source"]: r for r in cli("--config", config, "--db", sqlite_url, "check", "--json").json()["results"]}

    def rated(name: str) -> list[tuple]:
        data = cli("--config", config, "--db", sqlite_url, "diff", name, "--format", "json").json()
        return [(c["section"], c["severity"], c.get("not_rated")) for c in data["changes"]]

    def stored(name: str) -> list[tuple]:
        return [(c["section"], c["severity"], c.get("not_rated")) for c in checked[name]["changes"]
                if c["kind"] not in ("moved", "date")]

    # minors is not watched by `sharing-only`: the age change is low there, as its check rated it
    assert [severity for _, severity, _ in rated("sharing-only")] == ["low"]
    assert rated("sharing-only") == stored("sharing-only")
    # the classifier does not read French: shown, not rated, as the check stored it
    assert rated("french") == stored("french") == [(rated("french")[0][0], None, "language fr")]


def _notes(table: str) -> list[str]:
    """The note column of `history`'s table, its cells unwrapped (a narrow table wraps them)."""
    notes: list[str] = []
    for cells in (line.split("│") for line in table.splitlines() if line.startswith("│")):
        if cells[1].strip():
            notes.append("")
        notes[-1] = f"{notes[-1]} {cells[-2].strip()}".strip()
    return notes


def test_check_history_and_diff_call_a_date_stamp_version_the_same(cli, site, make_config, sqlite_url):
    """A reviewer: `check` said "1 change, form only" for a version `history` and the web call "date stamp only"."""
    text = seed_text(3)
    config = make_config([{"name": "zw", "url": site.set("/a", render_policy(text))}])
    cli("--config", config, "--db", sqlite_url, "check")
    site.set("/a", render_policy(edit(text, "June 30, 2025", "July 1, 2026")))

    checked = cli("--config", config, "--db", sqlite_url, "check").stdout
    table = cli("--config", config, "--db", sqlite_url, "history", "zw").stdout

    assert "1 change, date stamp only" in "".join(checked.replace("│", "").split("  ")), checked
    assert _notes(table) == ["", "date stamp only"], table


def test_a_layout_only_version_reads_the_same_in_every_view(cli, site, make_config, sqlite_url):
    """A reviewer: `check` said "no clause changed", `timeline` "no section changed", `history` nothing and
    `diff --all` "no changes" for the same version."""
    from tests.web_site import serve_thread

    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/p", render_policy(text))}])
    cli("--config", config, "--db", sqlite_url, "check")
    site.set("/p", render_policy(text, style="bold"))  # headings become bold divs: new text, same clauses
    checked = cli("--config", config, "--db", sqlite_url, "check").stdout

    rows = cli("--config", config, "--db", sqlite_url, "history", "wemet", "--json").json()
    table = cli("--config", config, "--db", sqlite_url, "history", "wemet").stdout
    diff = cli("--config", config, "--db", sqlite_url, "diff", "wemet", "--format", "text", "--all").stdout
    timeline = cli("--config", config, "--db", sqlite_url, "timeline", "--all").stdout
    with serve_thread(config, sqlite_url) as base:
        page = httpx.get(base + "/sources/wemet", timeout=30).text

    said = "layout only: no clause changed"
    assert said in checked and said in diff and said in timeline, (checked, diff, timeline)
    assert [r["without_substance"] for r in rows] == [None, said]
    assert _notes(table) == ["", said], table
    assert f'<span class="badge form-only">{said}</span>' in page


def test_diff_of_the_same_text_twice_says_no_changes_and_hints_at_nothing_hidden(cli, site, make_config,
                                                                                  sqlite_url):
    text = seed_text(3)
    config = make_config([{"name": "zw", "url": site.set("/a", render_policy(text))}])
    cli("--config", config, "--db", sqlite_url, "check")
    site.set("/a", render_policy(edit(text, "June 30, 2025", "July 1, 2026")))
    cli("--config", config, "--db", sqlite_url, "check")
    site.set("/a", render_policy(text))  # a blink back to v1: the same text
    cli("--config", config, "--db", sqlite_url, "check")

    result = cli("--config", config, "--db", sqlite_url, "diff", "zw", "1", "3", "--format", "text")

    assert result.stdout == "zw: v1 → v3\n\nno changes\n\n", result.stdout


def test_a_bad_choice_is_said_without_pydantics_prefix(cli, make_config):
    config = make_config([])
    for args, said in ((("export", "--format", "html"), "'html' is not one of 'json'"),
                       (("--log-format", "x", "sources"), "'x' is not one of 'text', 'json'")):
        result = cli("--config", config, *args)
        assert result.exit_code == 2 and said in result.stderr, result.stderr
        assert "Value error" not in result.stderr


def test_a_policy_in_parts_shows_every_parts_url_where_its_address_is_shown(cli, site, make_config, sqlite_url):
    """A new user: `sources`, /api/sources, the web page and `export` named only the first of three pages."""
    from tests.web_site import serve_thread

    text = seed_text(2)
    half = len(text.splitlines()) // 2
    parts = [site.set("/p1", render_policy("\n".join(text.splitlines()[:half]))),
             site.set("/p2", render_policy("\n".join(text.splitlines()[half:])))]
    config = make_config([{"name": "wemet", "url": parts}])
    cli("--config", config, "--db", sqlite_url, "check")

    [listed] = cli("--config", config, "--db", sqlite_url, "sources", "--json").json()
    table = cli("--config", config, "--db", sqlite_url, "sources").stdout
    exported = cli("--config", config, "--db", sqlite_url, "export", "wemet", "--format", "json").json()
    with serve_thread(config, sqlite_url) as base:
        api = httpx.get(base + "/api/sources", timeout=30).json()
        page = httpx.get(base + "/sources/wemet", timeout=30).text

    assert listed["url"] == parts[0] and listed["urls"] == parts
    assert all(p.rsplit(":", 1)[1] in table for p in parts), table  # "41969/p2": a narrow column folds URLs
    assert exported["sources"][0]["url"] == parts[0] and exported["sources"][0]["urls"] == parts
    assert api[0]["urls"] == parts
    assert all(f'href="{p}"' in page for p in parts)
