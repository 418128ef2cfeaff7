"""Fault injection: a real loopback server misbehaves on purpose; nothing it does becomes a version or an alert.

Every case goes good page → fault → good page through `policy-monitor check` and asserts: the fault is
`error` or `rejected`, no version and no alert were stored, and the good page afterwards is
`unchanged` (the fault left no trace that would make it look like a change).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator

import pytest

from monitor.notify.health import failure_event, stability_event
from tests.faulty_server import FaultyServer
from tests.pages import edit, render_policy, seed_text

POLICY = render_policy(seed_text(4))
AGE_13 = 'under the age of 13 ("Children")'
AGE_16 = 'under the age of 16 ("Children")'

CLOUDFLARE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"><script src="/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1"></script>
</head><body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">www.example.org</h1><h2 class="h2" id="challenge-running">Checking if the site
connection is secure</h2><noscript><div class="h2"><span id="challenge-error-text">Enable JavaScript and cookies
to continue</span></div></noscript><div id="challenge-body-text" class="core-msg spacer">www.example.org needs to
review the security of your connection before proceeding.</div></div></div><div class="footer" role="contentinfo">
<div class="footer-inner"><div class="clearfix diagnostic-wrapper"><div class="ray-id">Ray ID:
<code>82a1b3c4d5e6f7a8</code></div></div><div class="text-center" id="footer-text">Performance &amp; security by
Cloudflare</div></div></div>
</body></html>"""

LOGIN = """<!DOCTYPE html><html><head><title>Sign in</title></head><body><main><div class="login-box">
<h1>Sign in to continue</h1><form method="post" action="/login"><label>Email or phone<input name="u"></label>
<label>Password<input type="password" name="p"></label><button>Sign in</button></form>
<p><a href="/reset">Forgot password?</a> · <a href="/join">Create account</a></p></div></main></body></html>"""

MAINTENANCE = """<!DOCTYPE html><html><head><title>Maintenance</title></head><body><main>
<h1>We&rsquo;re down for scheduled maintenance</h1><p>Our site is currently under maintenance.
We&rsquo;ll be back soon. Thank you for your patience.</p></main></body></html>"""

NOT_FOUND_200 = """<!DOCTYPE html><html><head><title>Oops</title></head><body><main>
<h1>Oops! Something went wrong.</h1><p>Page not found. The page you requested does not exist or has moved.</p>
<p><a href="/">Back to the home page</a></p></main></body></html>"""


@pytest.fixture
def server() -> Iterator[FaultyServer]:
    with FaultyServer() as srv:
        yield srv


@pytest.fixture
def monitor(cli, make_config, sqlite_url, server: FaultyServer) -> Monitor:
    return Monitor(cli, make_config, sqlite_url, server)


class Monitor:
    """One watched source on the faulty server, checked through the real CLI, with two alert channels."""

    def __init__(self, cli, make_config, db: str, server: FaultyServer, **source: object):
        self.cli, self.db, self.server = cli, db, server
        channels = {"team": {"type": "webhook", "url": "http://127.0.0.1:9/hook"},
                    "siem": {"type": "webhook", "url": "http://127.0.0.1:9/siem"}}
        self.config = make_config([{"name": "pol", "url": server.url("/p"), "timeout": "1s", **source}],
                                  channels=channels)

    def check(self) -> dict:
        result = self.cli("--config", self.config, "--db", self.db, "check", "--json", "--no-deliver", "pol")
        assert result.stdout, result.stderr
        assert "Traceback" not in result.stderr
        [r] = result.json()["results"]
        assert result.exit_code == (1 if r["status"] in ("error", "rejected") else 0)
        return r

    def rows(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.db.removeprefix("sqlite:///")) as db:
            return db.execute(sql).fetchall()

    def count(self, table: str, where: str = "1=1") -> int:
        return self.rows(f'select count(*) from "{table}" where {where}')[0][0]


# A shop's home page: long enough, with a footer that names the privacy policy, to pass as text alone.
HOME_PAGE = "<!DOCTYPE html><html><body><main><h1>Fresh flowers, delivered</h1>" + "".join(
    f"<h2>{name}</h2><p>Hand-tied {name.lower()} bouquets from local growers, delivered the same day across the "
    f"city. Order before two o'clock and choose a card message; every bouquet comes with care instructions and "
    f"a seven-day freshness promise.</p>"
    for name in ("Roses", "Tulips", "Peonies", "Lilies", "Orchids", "Sunflowers")
) + "</main><footer><a href='/p'>Privacy policy</a> · <a href='/c'>Cookies</a> · Terms of use · Contact us" \
    "</footer></body></html>"


def _moved_to_the_home_page(server: FaultyServer) -> None:
    server.redirect("/p", "/", status=301)
    server.page("/", HOME_PAGE)


FAULTS: dict[str, Callable[[FaultyServer], None]] = {
    "http 500": lambda s: s.status("/p", 500, "Internal Server Error"),
    "http 502": lambda s: s.status("/p", 502, "<h1>502 Bad Gateway</h1>"),
    "http 503": lambda s: s.status("/p", 503, "Service Unavailable", headers={"Retry-After": "1"}),
    "429 with retry-after": lambda s: s.retry_after("/p", 3600),
    "read timeout": lambda s: s.hang("/p", 10, after_headers=True),
    "reset mid-body": lambda s: s.reset_mid_body("/p", POLICY),
    "truncated body, wrong content-length": lambda s: s.truncated("/p", POLICY),
    "gzip bomb": lambda s: s.gzip_bomb("/p", 50_000_000),
    "redirect loop": lambda s: s.redirect_loop("/p", "/q"),
    "captcha page": lambda s: s.page("/p", CLOUDFLARE, status=200),
    "empty 200": lambda s: s.page("/p", ""),
    "maintenance page with 200": lambda s: s.page("/p", MAINTENANCE),
    "error page with 200": lambda s: s.page("/p", NOT_FOUND_200),
    "login page": lambda s: s.page("/p", LOGIN),
    "half the policy": lambda s: s.handler("/p", _half_then_whole()),
    "redirect to the home page": _moved_to_the_home_page,
}


def _half_then_whole():
    """A page that is cut short once (a half-loaded capture); the confirming re-fetch sees the whole page."""
    from tests.faulty_server import Reply

    calls = {"n": 0}

    def answer(_request) -> Reply:
        calls["n"] += 1
        cut = POLICY[: len(POLICY) // 3] + "</main></body></html>"
        body = cut if calls["n"] == 1 else POLICY.replace("We", "we", 1)
        return Reply(200, body, {"Content-Type": "text/html; charset=utf-8"})

    return answer


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_is_an_error_or_rejection_never_a_version_and_the_next_good_fetch_is_unchanged(monitor, fault):
    monitor.server.page("/p", POLICY)
    assert monitor.check()["status"] == "new"

    FAULTS[fault](monitor.server)
    failed = monitor.check()

    assert failed["status"] in ("error", "rejected"), failed
    assert failed["error"] and failed["version"] == 1 and failed["alert_topics"] == []
    assert monitor.count("version") == 1
    monitor.server.page("/p", POLICY)
    again = monitor.check()
    assert again["status"] == "unchanged" and again["version"] == 1
    assert monitor.count("alert") == 0
    assert monitor.rows('select outcome from "check" order by id') == [("new",), (failed["status"],), ("unchanged",)]


@pytest.mark.parametrize("fault", ["captcha page", "login page", "maintenance page with 200", "empty 200"])
def test_a_wall_as_the_very_first_fetch_is_rejected_and_the_real_page_then_becomes_version_one(monitor, fault):
    FAULTS[fault](monitor.server)
    first = monitor.check()
    monitor.server.page("/p", POLICY)
    real = monitor.check()

    assert first["status"] == "rejected" and first["version"] is None
    assert real["status"] == "new" and real["version"] == 1


def test_a_policy_moved_to_a_new_address_with_its_text_is_unchanged(monitor):
    monitor.server.page("/p", POLICY)
    monitor.check()
    monitor.server.redirect("/p", "/legal/privacy-policy", status=301)
    monitor.server.page("/legal/privacy-policy", POLICY)

    moved = monitor.check()

    assert moved["status"] == "unchanged" and moved["version"] == 1


def test_a_redirect_to_another_page_that_replaces_the_policy_is_rejected_not_confirmed(monitor):
    monitor.server.page("/p", POLICY)
    monitor.check()
    monitor.server.redirect("/p", "/shop/flowers", status=302)
    monitor.server.page("/shop/flowers", HOME_PAGE)

    moved = monitor.check()

    assert moved["status"] == "rejected" and "/shop/flowers" in moved["error"] and "update `url`" in moved["error"]
    assert monitor.count("version") == 1 and monitor.count("alert") == 0


def test_rejections_say_why(monitor):
    monitor.server.page("/p", POLICY)
    monitor.check()
    reasons = {}
    for fault in ("captcha page", "login page", "maintenance page with 200"):
        FAULTS[fault](monitor.server)
        reasons[fault] = monitor.check()["error"]

    assert "captcha" in reasons["captcha page"]
    assert "login" in reasons["login page"]
    assert "maintenance" in reasons["maintenance page with 200"]


def test_invalid_charset_bytes_are_replaced_without_crash_or_alert(monitor):
    body = POLICY.encode("utf-8").replace(b"Children", b"Chil\xff\xfedren", 1)
    monitor.server.page("/p", body, content_type="text/html; charset=utf-8")

    first, second = monitor.check(), monitor.check()

    assert first["status"] == "new" and second["status"] == "unchanged"
    [(text,)] = monitor.rows("select text from version")
    assert "\ufffd" in text and "children" in text.lower()
    assert monitor.count("alert") == 0


def test_a_page_back_to_earlier_content_is_a_blink_with_no_alert(monitor):
    text = seed_text(4)
    a, b = render_policy(text), render_policy(edit(text, AGE_13, AGE_16))
    monitor.server.page("/p", a)
    monitor.check()
    monitor.server.page("/p", b)
    to_b = monitor.check()
    monitor.server.page("/p", a)

    back = monitor.check()

    assert to_b["status"] == "changed" and to_b["reverts_to"] is None
    assert back["status"] == "changed" and back["version"] == 3 and back["previous_version"] == 2
    assert back["reverts_to"] == 1 and back["alert_topics"] == []
    history = monitor.cli("--config", monitor.config, "--db", monitor.db, "history", "pol", "--json").json()
    assert [(h["version"], h["reverts_to"]) for h in history] == [(1, None), (2, None), (3, 1)]
    table = monitor.cli("--config", monitor.config, "--db", monitor.db, "history", "pol").stdout
    assert "blink" in table and "v1" in table
    v3 = "version_id = (select id from version where seq = 3)"
    assert monitor.count("alert", f"{v3} and event_type = 'policy.changed'") == 0  # a blink is never a change
    # ... and it undid v2's change before either channel received its alert (checks here never deliver):
    # those alerts are superseded, never sent late, and no revert withdraws what nobody was told of
    # (a delivered one is named by policy.reverted: tests/test_reverts.py)
    assert monitor.count("alert", f"{v3} and event_type = 'policy.reverted'") == 0 and back["reverted_alerts"] == []
    assert monitor.rows("select status from alert where event_type = 'policy.changed'") == [("superseded",)] * 2


def test_failing_is_reported_once_per_channel_after_the_threshold_and_recovery_once(monitor):
    monitor.server.page("/p", POLICY)
    monitor.check()
    monitor.server.status("/p", 503, "down")

    events_after = []
    for _ in range(5):  # threshold is 3 in the test config
        assert monitor.check()["status"] == "error"
        events_after.append(monitor.count("alert", "event_type = 'source.failing'"))
    monitor.server.page("/p", POLICY)
    assert monitor.check()["status"] == "unchanged"
    monitor.check()

    assert events_after == [0, 0, 2, 2, 2]  # two channels, once each, at the third failure
    assert monitor.count("alert", "event_type = 'source.recovered'") == 2
    [(payload,)] = monitor.rows("select payload from alert where event_type = 'source.failing' and channel = 'team'")
    assert '"consecutive_failures": 3' in payload and "503" in payload


def test_checks_that_crash_are_failing_checks_too_and_report_the_source_failing(monitor, monkeypatch):
    """An unexpected exception (a bug on some page) counts like a dead URL: `source.failing` at the threshold."""
    import monitor.pipeline as pipeline

    monitor.server.page("/p", POLICY)
    monitor.check()

    def normalizer_bug(*args: object, **kwargs: object) -> str:
        raise RuntimeError("a normalizer bug on this page")

    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "_fingerprint", normalizer_bug)  # runs on every fetched page
        crashed, failing_after = [], []
        for _ in range(4):  # threshold is 3 in the test config
            crashed.append(monitor.check()["error"])
            failing_after.append(monitor.count("alert", "event_type = 'source.failing'"))
    recovered = monitor.check()

    assert crashed == ["internal error: RuntimeError: a normalizer bug on this page"] * 4
    assert failing_after == [0, 0, 2, 2]  # two channels, once each, at the third crash
    [(payload,)] = monitor.rows("select payload from alert where event_type = 'source.failing' and channel = 'team'")
    assert '"consecutive_failures": 3' in payload and "RuntimeError: a normalizer bug" in payload
    assert recovered["status"] == "unchanged"
    assert monitor.count("alert", "event_type = 'source.recovered'") == 2
    assert monitor.rows("select outcome from \"check\" order by id") == [("new",), *[("error",)] * 4, ("unchanged",)]


def test_a_second_failing_episode_is_reported_again(monitor):
    monitor.server.page("/p", POLICY)
    monitor.check()
    for _ in range(2):
        monitor.server.status("/p", 500, "down")
        for _ in range(3):
            monitor.check()
        monitor.server.page("/p", POLICY)
        monitor.check()

    assert monitor.count("alert", "event_type = 'source.failing'") == 4
    assert monitor.count("alert", "event_type = 'source.recovered'") == 4
    assert monitor.count("alert", "channel = 'team'") == 4


def test_failures_below_the_threshold_report_nothing(monitor):
    monitor.server.page("/p", POLICY)
    monitor.check()
    for _ in range(2):
        monitor.server.page("/p", CLOUDFLARE)
        monitor.check()
        monitor.server.page("/p", POLICY)
        monitor.check()

    assert monitor.count("alert") == 0


def test_a_source_that_keeps_alternating_is_reported_unstable_once(monitor):
    text = seed_text(4)
    a, b = render_policy(text), render_policy(edit(text, "general audience", "broad audience"))
    statuses = []
    for page in (a, b, a, b, a, b, a, b):
        monitor.server.page("/p", page)
        statuses.append((monitor.check()["reverts_to"], monitor.count("alert", "event_type = 'source.unstable'")))

    # the third blink back makes it unstable: one alert per channel, none for later flips
    assert statuses == [(None, 0), (None, 0), (1, 0), (2, 0), (1, 2), (2, 2), (1, 2), (2, 2)]
    [(payload,)] = monitor.rows("select payload from alert where event_type = 'source.unstable' and channel = 'siem'")
    assert "returned to earlier content 3 times" in payload


def test_an_unstable_source_that_settles_can_be_reported_again_later(monitor):
    text = seed_text(4)
    a, b = render_policy(text), render_policy(edit(text, "general audience", "broad audience"))
    for page in (a, b, a, b, a):
        monitor.server.page("/p", page)
        monitor.check()
    for _ in range(10):  # settles: ten quiet checks
        monitor.check()
    for page in (b, a, b):
        monitor.server.page("/p", page)
        monitor.check()

    assert monitor.count("alert", "event_type = 'source.unstable'") == 4



@pytest.mark.parametrize("failed, count, reported, expected", [
    (True, 1, False, None),
    (True, 2, False, None),
    (True, 3, False, "source.failing"),
    (True, 4, True, None),            # already reported: not on every check
    (False, 0, True, "source.recovered"),
    (False, 0, False, None),
])
def test_failure_rules(failed, count, reported, expected):
    assert failure_event(failed=failed, consecutive_failures=count, failing_reported=reported, threshold=3) == expected


@pytest.mark.parametrize("blinks, reported, expected", [
    ([False, True, False, True], False, None),            # two blinks: not yet
    ([True, False, True, False, True], False, "unstable"),
    ([True, True, True, False], False, None),             # only a blinking check raises it
    ([True, True, True, True], True, None),               # reported once, not on every flip
    ([False] * 9, True, None),                            # not settled before a full quiet window
    ([False] * 10, True, "settled"),
    ([True] + [False] * 10, True, "settled"),             # the old blink left the window
])
def test_stability_rules(blinks, reported, expected):
    assert stability_event(blinks, unstable_reported=reported) == expected


def test_failing_recovered_and_blinks_on_both_databases(cli, make_config, db_url, server):
    text = seed_text(4)
    a, b = render_policy(text), render_policy(edit(text, AGE_13, AGE_16))
    config = make_config([{"name": "pol", "url": server.url("/p"), "timeout": "1s"}],
                         channels={"team": {"type": "webhook", "url": "http://127.0.0.1:9/hook"}})

    def check() -> dict:
        return cli("--config", config, "--db", db_url, "check", "--json", "--no-deliver").json()["results"][0]

    server.page("/p", a)
    check()
    server.status("/p", 502, "bad gateway")
    failures = [check()["status"] for _ in range(3)]
    server.page("/p", b)
    to_b = check()
    server.page("/p", a)
    back = check()
    alerts = cli("--config", config, "--db", db_url, "alerts", "--json").json()

    assert failures == ["error"] * 3
    assert to_b["alert_topics"] == ["minors"] and back["reverts_to"] == 1 and back["alert_topics"] == []
    events = sorted((alert["type"], alert["status"]) for alert in alerts)
    # the change alert was never delivered (no delivery pass ran) when the page went back: superseded
    assert events == [("policy.changed", "superseded"), ("source.failing", "pending"), ("source.recovered", "pending")]


def test_another_policy_at_the_address_is_stored_only_after_a_confirming_refetch_and_the_log_says_so(monitor):
    monitor.server.page("/p", POLICY)
    monitor.check()
    monitor.server.page("/p", render_policy(seed_text(0)))   # another company's policy (real seeds)

    result = monitor.cli("--config", monitor.config, "--db", monitor.db, "check", "--json", "--no-deliver", "pol")

    [replaced] = result.json()["results"]
    assert replaced["status"] == "changed" and replaced["version"] == 2
    [said] = [line for line in result.stderr.splitlines() if "confirmed by an immediate re-fetch" in line]
    assert "warning pol: only" in said and "of the previous version's" in said, said  # the guard's reason
    assert said.endswith("so stored as a new version")
    # …and the result says so too, in `check --json` and in the table's details
    assert replaced["drastic"].startswith("only ") and replaced["drastic"].endswith(
        "(confirmed by an immediate re-fetch)")
    monitor.server.page("/p", POLICY)
    table = monitor.cli("--config", monitor.config, "--db", monitor.db, "check", "--no-deliver", "pol").stdout
    details = " ".join(re.sub(r"[│┃|]", " ", table).split())   # the details column's lines, unwrapped
    # (going back to the first policy is as drastic, here by its headings, and a blink back too)
    assert "of the previous version's headings are left (confirmed by an immediate re-fetch); back to the text " \
        "of v1" in details, table
    steady = monitor.cli("--config", monitor.config, "--db", monitor.db, "check", "--json", "--no-deliver", "pol")
    assert steady.json()["results"][0]["drastic"] is None       # an unchanged check says nothing of it
