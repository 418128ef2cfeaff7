"""`web:` in sources.yaml: its validation, and the change-page links that e-mails and webhooks then carry."""

from __future__ import annotations

import pytest

from monitor.config import parse_config
from monitor.errors import ConfigError
from tests.alert_helpers import Receiver, SmtpServer, email_channel, validate_envelope
from tests.conftest import dedent
from tests.pages import edit, render_policy, seed_text


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(dedent(text), "sources.yaml")
    return [str(p) for p in info.value.problems]


def test_a_literal_token_is_refused_and_token_env_named():
    found = problems("""
        web:
          token: hunter2
    """)
    assert found == ["sources.yaml:2: web.token: secrets are never written in the config; put the value in an "
                     "environment variable and name it with `token_env:` instead"]


@pytest.mark.parametrize(("value", "message"), [
    ("ftp://example.org", "'ftp://example.org' is not an http(s) URL"),
    ("https://example.org/pm?x=1", "must not hold a query or fragment"),
])
def test_a_base_url_must_be_an_http_address(value, message):
    found = problems(f"""
        web: {{base_url: "{value}"}}
    """)
    assert len(found) == 1 and found[0].startswith("sources.yaml:1: web.base_url") and message in found[0]


def test_token_env_must_name_a_variable():
    found = problems("""
        web: {token_env: "not a name"}
    """)
    assert len(found) == 1 and found[0].startswith("sources.yaml:1: web.token_env")


def test_the_change_page_url_escapes_nothing_it_need_not_and_strips_a_trailing_slash():
    config = parse_config('web: {base_url: "https://policies.example.org/pm/"}\n')
    assert config.web.change_url("wemet", 1, 2) == "https://policies.example.org/pm/sources/wemet/changes/1..2"
    assert config.web.change_url("wemet", None, 1) is None
    assert parse_config("channels: {}\n").web.change_url("wemet", 1, 2) is None  # no `web:` at all


def test_emails_and_webhooks_link_to_the_change_page(tmp_path, make_config, site, cli, sqlite_url):
    text = seed_text(2)
    url = site.set("/p", render_policy(text))
    with SmtpServer() as smtp:
        receiver = Receiver().start()
        try:
            config = make_config(
                [{"name": "wemet", "url": url}],
                {"siem": {"type": "webhook", "url": receiver.url}, "team": email_channel(smtp.port)},
                web={"base_url": "https://policies.example.org"})
            assert cli("--config", config, "--db", sqlite_url, "check").exit_code == 0
            site.set("/p", render_policy(edit(text, "under the age of 18", "under the age of 13")))
            assert cli("--config", config, "--db", sqlite_url, "check").exit_code == 0
        finally:
            receiver.stop()
    link = "https://policies.example.org/sources/wemet/changes/1..2"
    [hook] = receiver.received
    validate_envelope(hook.json())
    assert hook.json()["data"]["change_url"] == link
    [mail] = smtp.received
    plain = mail.message.get_body(("plain",)).get_content()
    html = mail.message.get_body(("html",)).get_content()
    assert link in plain and f'<a href="{link}">' in html
    assert "policy-monitor diff wemet 1 2" in plain  # the command stays for those with a shell
