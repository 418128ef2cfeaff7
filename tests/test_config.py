"""sources.yaml validation: every problem named with its file, line and field; secrets only from env."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import (
    load_config,
    parse_config,
    parse_duration,
    parse_size,
    resolve_database_url,
    topic_warnings,
)
from monitor.errors import ConfigError
from tests.conftest import dedent


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(dedent(text), "sources.yaml")
    return [str(p) for p in info.value.problems]


def test_a_valid_file_gives_typed_sources_with_defaults_applied():
    config = parse_config(dedent("""
        defaults:
          interval: 1d
          topics: [minors]
        sources:
          - name: wemet
            url: https://example.org/privacy
          - name: other
            url: http://example.com/p
            interval: 30m
            select: main
            remove: [.cookie-banner, "#nav"]
    """))
    wemet, other = config.sources
    assert wemet.interval == 86400 and wemet.topics == ("minors",) and wemet.language == "en"
    assert other.interval == 1800 and other.select == "main" and other.remove == (".cookie-banner", "#nav")
    assert wemet.max_bytes == 10_000_000 and wemet.timeout == 30


def test_a_source_is_found_by_name_in_the_config_and_in_a_copy_with_other_sources():
    config = parse_config(dedent("""
        sources:
          - name: wemet
            url: https://example.org/privacy
          - name: other
            url: http://example.com/p
    """))

    found = [config.source(n) for n in ("other", "wemet", "missing")]
    fewer = config.model_copy(update={"sources": config.sources[:1]})

    assert found == [config.sources[1], config.sources[0], None]
    assert fewer.source("other") is None and fewer.source("wemet") == config.sources[0]
    assert config.source("other") is config.sources[1] and fewer == config.model_copy(update={"sources": fewer.sources})


def test_every_problem_is_listed_with_line_and_field_not_only_the_first():
    found = problems("""
        sources:
          - name: ok
            url: https://example.org/a
          - name: bad-url
            url: ftp://example.org/b
          - name: no-url
          - name: bad-interval
            url: https://example.org/c
            interval: sometimes
          - name: ok
            url: https://example.org/d
            colour: blue
    """)
    assert "sources.yaml:5: sources[1].url: 'ftp://example.org/b' is not an http(s) URL" in found
    assert "sources.yaml:6: sources[2].url: required key is missing" in found
    assert any(p.startswith("sources.yaml:9: sources[3].interval: 'sometimes' is not a duration") for p in found)
    assert any(p.startswith("sources.yaml:10: sources[4].name: duplicate source name 'ok' (first defined on line 2)")
               for p in found)
    assert "sources.yaml:12: sources[4].colour: unknown key" in found
    assert len(found) == 5


def test_unknown_channel_names_are_refused_with_the_known_ones():
    found = problems("""
        channels:
          team: {type: webhook, url: https://hooks.example.org/x}
        sources:
          - name: a
            url: https://example.org/a
            channels: [team, tema]
    """)
    assert found == ["sources.yaml:6: sources[0].channels[1]: unknown channel 'tema'; defined channels: team"]


def test_bad_selectors_are_refused():
    found = problems("""
        sources:
          - name: a
            url: https://example.org/a
            select: "main >> p"
            remove: ["div[", ok]
    """)
    assert any(p.startswith("sources.yaml:4: sources[0].select: invalid CSS selector 'main >> p'") for p in found)
    assert any(p.startswith("sources.yaml:5: sources[0].remove[0]: invalid CSS selector 'div['") for p in found)


def test_a_literal_password_is_refused_with_an_explanation():
    found = problems("""
        channels:
          mail:
            type: email
            to: [a@example.org]
            smtp: {host: smtp.example.org, password: hunter2}
    """)
    assert any("sources.yaml:5: channels.mail.smtp.password: secrets are never written in the config; "
               "put the value in an environment variable and name it with `password_env:`" in p for p in found)
    assert not any("hunter2" in p for p in found)


def test_a_literal_secret_is_one_problem_whose_fix_names_a_real_key():
    found = problems("""
        channels:
          hook: {type: webhook, url: "https://hooks.example.org/x", secret: abc, token: def}
    """)
    assert len(found) == 2, found
    assert "name it with `secret_env:` (webhook channels) instead" in found[0] + found[1]
    assert not any("unknown key" in p or "token_env" in p for p in found)


def test_a_user_and_password_in_any_configured_url_is_refused_without_echoing_it():
    found = problems("""
        web: {base_url: "https://admin:HUNTER2base@monitor.example.org"}
        sources:
          - name: a
            url: "http://reader:HUNTER2source@example.org/privacy"
        channels:
          hook: {type: webhook, url: "https://admin:HUNTER2hook@hooks.example.org/x", secret_env: HOOK_SECRET}
          odd: {type: webhook, url: "ftp://u:HUNTER2ftp@x.org/"}
          spaced: {type: webhook, url: "https://bob:HUNTER2 spaced@hooks.example.org/x", secret_env: S}
          two_ats: {type: webhook, url: "https://bob:HUNTER2@after@hooks.example.org/x", secret_env: S}
    """)
    assert len(found) == 6, found
    assert not any("HUNTER2" in p for p in found), found
    assert any(p.startswith("sources.yaml:4: sources[0].url: 'http://***@example.org/privacy' holds a user name or "
                            "password before `@`: secrets go in environment variables") for p in found), found
    assert any("channels.hook.url: 'https://***@hooks.example.org/x' holds a user name" in p and "`url_env:`" in p
               for p in found)
    assert any("'ftp://***@x.org/' is not an http(s) URL" in p for p in found)


def test_a_webhook_takes_its_address_from_url_env_or_url_never_both():
    config = parse_config(dedent("""
        channels:
          hook: {type: webhook, url_env: HOOK_URL, secret_env: HOOK_SECRET}
    """))
    assert config.channels["hook"].secret_variables() == {"HOOK_URL": "url_env", "HOOK_SECRET": "secret_env"}
    for both_or_none in ('{type: webhook, url: "https://h.example.org/x", url_env: HOOK_URL}', "{type: webhook}"):
        found = problems(f"""
            channels:
              hook: {both_or_none}
        """)
        assert len(found) == 1 and "one of the two" in found[0], found


def test_a_database_url_with_a_password_is_refused_without_echoing_it():
    found = problems("""
        database: postgresql://monitor:hunter2@db.example.org/pm
    """)
    assert found == ["sources.yaml:1: database: the URL holds a password, which must not be written in the config: "
                     "give the whole URL in POLICY_MONITOR_DB instead, or the password in PGPASSWORD or ~/.pgpass"]


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://monitor@db.example.org:5433/pm?sslmode=require&password=hunter2",
    "postgresql+psycopg://monitor@db.example.org/pm?PASSWORD=hunter2",
    "postgresql+psycopg://monitor@db.example.org/pm?pass%77ord=hunter2",  # percent-encoded, as libpq decodes it
    "postgresql+psycopg://:hunter2@db.example.org/pm",  # no user name
    "postgresql+psycopg://monitor:hunt/er2@db.example.org/pm",  # a slash in the password
])
def test_a_password_anywhere_in_the_url_is_refused_too(url: str):
    found = problems(f"""
        database: {url}
    """)
    assert len(found) == 1 and "the URL holds a password" in found[0] and "hunter2" not in found[0], found


def test_a_url_without_a_password_is_accepted():
    config = parse_config(dedent("""
        database: postgresql+psycopg://monitor@db.example.org:5433/pm?sslmode=require&passfile=/etc/pm/pgpass
        sources:
          - {name: a, url: "https://example.org/privacy"}
    """), "sources.yaml")
    assert config.database.endswith("passfile=/etc/pm/pgpass")


def test_smtp_settings_that_cannot_work_or_would_leak_the_password_are_refused():
    found = problems("""
        channels:
          both: {type: email, to: [a@example.org], smtp: {host: smtp.example.org, ssl: true, starttls: true}}
          clear: {type: email, to: [a@example.org],
                  smtp: {host: smtp.example.org, starttls: false, username: bot, password_env: SMTP_PASSWORD}}
          relay: {type: email, to: [a@example.org], smtp: {host: 127.0.0.1, port: 25, starttls: false}}
          typo: {type: email, to: [notanemail], smtp: {host: smtp.example.org}}
          named: {type: email, to: ["Privacy Team <privacy@example.org>"], from: "Monitor <pm@example.org>",
                  smtp: {host: smtp.example.org}}
    """)
    assert any(p.startswith("sources.yaml:2: channels.both.smtp: choose one: `ssl: true`") for p in found), found
    assert any(p.startswith("sources.yaml:4: channels.clear.smtp: refusing to send a password in clear text")
               for p in found), found
    assert any(p.startswith("sources.yaml:6: channels.typo.to: 'notanemail' is not an e-mail address") for p in found)
    assert len(found) == 3, "a plain relay on loopback without a password, and display names, are fine"


def test_an_inherited_bad_default_points_at_the_defaults_line():
    found = problems("""
        defaults:
          interval: 5 minutes
        sources:
          - name: a
            url: https://example.org/a
    """)
    assert found[0].startswith("sources.yaml:2: defaults.interval: '5 minutes' is not a duration")


def test_broken_yaml_names_the_line():
    found = problems("""
        sources:
          - name: a
            url: [unclosed
    """)
    assert found[0].startswith("sources.yaml:4: yaml: not valid YAML")


def test_channel_of_unknown_type_is_refused():
    found = problems("""
        channels:
          pager: {type: sms, to: "+100"}
    """)
    assert found == ["sources.yaml:2: channels.pager.type: channel `type` must be `email`, `webhook` or `apprise`"]


def test_a_typo_in_a_channel_type_or_a_topic_names_the_line_of_the_value_and_the_closest_valid_one():
    found = problems("""
        channels:
          hook:
            url: https://hooks.example.org/x
            type: webhok
          team:
            type: webhook
            url: https://hooks.example.org/y
            topics:
              - sharing
              - Minors
            min_severity: hihg
        sources:
          - name: a
            url: https://example.org/p
            topics: [sharing, minor, nonsense]
    """)
    assert found == [
        "sources.yaml:4: channels.hook.type: channel `type` must be `email`, `webhook` or `apprise`; "
        "did you mean 'webhook'?",
        "sources.yaml:10: channels.team.topics[1]: unknown topic 'Minors'; did you mean 'minors'?",
        "sources.yaml:11: channels.team.min_severity: must be 'low', 'medium' or 'high', not 'hihg'; "
        "did you mean 'high'?",
        "sources.yaml:15: sources[0].topics[1]: unknown topic 'minor'; did you mean 'minors'?",
        "sources.yaml:15: sources[0].topics[2]: unknown topic 'nonsense'; the topics are sharing, retention, "
        "minors, ads_ai, collection, security, rights, cookies, transfers, contact, changes",
    ]
    # a list whose only item is a typo is not also "empty": its item's problem says it all
    assert problems("""
        defaults: {topics: [minor]}
        sources:
          - {name: a, url: "https://example.org/p"}
    """) == ["sources.yaml:1: defaults.topics[0]: unknown topic 'minor'; did you mean 'minors'?"]
    # the words people use for a topic lead to its name
    assert problems("""
        defaults: {topics: [children, storage, third parties]}
        sources:
          - {name: a, url: "https://example.org/p"}
    """) == ["sources.yaml:1: defaults.topics[0]: unknown topic 'children'; did you mean 'minors'?",
             "sources.yaml:1: defaults.topics[1]: unknown topic 'storage'; did you mean 'retention'?",
             "sources.yaml:1: defaults.topics[2]: unknown topic 'third parties'; did you mean 'sharing'?"]


def test_empty_sources_and_topics_lists_are_refused_with_their_line(cli, tmp_path):
    assert problems("sources: []\n") == [
        "sources.yaml:1: sources: needs at least one source; a config only for the commands that read the history "
        "or deliver alerts leaves `sources:` out"]
    assert problems("database: sqlite:///pm.db\nsources:\n")[0].startswith(
        "sources.yaml:2: sources: needs at least one source;")
    found = problems("""
        defaults:
          topics: []
        channels:
          hook: {type: webhook, url: "https://hooks.example.org/x", topics: []}
        sources:
          - {name: a, url: "https://example.org/a"}
          - name: b
            url: https://example.org/b
            topics: []
          - {name: c, url: "https://example.org/c", topics: [sharing]}
    """)
    assert found == [
        "sources.yaml:2: defaults.topics: needs at least one topic: a source that watches no topic never alerts",
        "sources.yaml:4: channels.hook.topics: needs at least one topic: leave `topics:` out for every topic the "
        "channel's sources watch",
        "sources.yaml:9: sources[1].topics: needs at least one topic: a source that watches no topic never alerts",
    ]
    # what the commands that only read the history or deliver alerts use: a config without `sources:`
    assert parse_config("database: sqlite:///pm.db\n").sources == ()

    path = tmp_path / "sources.yaml"
    path.write_text("channels: {}\nsources: []\n", encoding="utf-8")
    result = cli("--config", path, "validate")
    assert result.exit_code == 2 and "OK" not in result.stdout
    assert f"{path}:2: sources: needs at least one source" in result.stderr


@pytest.mark.parametrize("text, what", [
    ("", "the file is empty or only comments"),
    ("# sources:\n#   - name: wemet\n\n", "the file is empty or only comments"),
    ("---\n", "the file is empty or only comments"),
    ("{}\n", "an empty mapping"),
])
def test_an_empty_or_comments_only_config_is_refused_as_sources_without_items_is(cli, tmp_path, text, what):
    """Accepted, it would say `OK - 0 sources` and `check` would watch nothing."""
    assert problems(text) == [f"sources.yaml: (top level): holds no keys ({what}); needs at least one source under "
                              f"`sources:`; a config only for the commands that read the history or deliver alerts "
                              f"leaves `sources:` out and holds the keys they read, such as `database:` or `channels:`"]
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    for command in ("validate", "check"):
        result = cli("--config", path, "--db", f"sqlite:///{tmp_path / 'pm.db'}", command)
        assert result.exit_code == 2 and "OK" not in result.stdout, command
        assert f"{path}: (top level): holds no keys" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "pm.db").exists()


def test_a_language_that_is_not_a_language_tag_is_refused_with_the_tag_of_a_language_name(cli, tmp_path):
    """`language: english` used to pass, with a warning, and then leave every change of the source unrated."""
    found = problems("""
        defaults:
          language: German
        sources:
          - name: a
            url: https://example.org/a
            language: english
          - name: b
            url: https://example.org/b
            language: Englsh
          - name: c
            url: https://example.org/c
            language: en-
          - name: d
            url: https://example.org/d
            language: klingon
          - name: e
            url: https://example.org/e
    """)
    use = "is not a language tag; use a BCP 47 tag such as en, de-AT or zh-Hans"
    assert found == [
        f"sources.yaml:2: defaults.language: 'German' {use}; did you mean 'de'?",
        f"sources.yaml:6: sources[0].language: 'english' {use}; did you mean 'en'?",
        f"sources.yaml:9: sources[1].language: 'Englsh' {use}; did you mean 'en'?",
        f"sources.yaml:12: sources[2].language: 'en-' {use}",
        f"sources.yaml:15: sources[3].language: 'klingon' {use}",
    ]
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: a\n    url: https://example.org/a\n    language: english\n")
    result = cli("--config", path, "validate")
    assert result.exit_code == 2 and "OK" not in result.stdout
    assert f"{path}:4: sources[0].language: 'english' {use}; did you mean 'en'?" in result.stderr
    # Norwegian's own tag, not `no`, which YAML reads as false unquoted
    assert problems("sources:\n  - {name: a, url: 'https://example.org/a', language: Norwegian}\n") == [
        f"sources.yaml:2: sources[0].language: 'Norwegian' {use}; did you mean 'nb'?"]


@pytest.mark.parametrize("tag", ["en", "EN", "en-GB", "en_US", "de", "de-AT", "zh-Hans", "zh-Hant-TW", "sr-Latn-RS",
                                 "es-419", "de-CH-1901", "yue", "en-US-x-twain"])
def test_a_well_formed_language_tag_is_valid_whether_or_not_a_topic_model_knows_it(tag):
    """A language without a topic model stays valid: `validate` warns, its changes are stored unrated."""
    config = parse_config(f"sources:\n  - name: a\n    url: https://example.org/a\n    language: {tag}\n")
    assert config.sources[0].language == tag


@pytest.mark.parametrize("tag, stored", [(" en", "en"), ("de-AT ", "de-AT"), ("\\ten_US\\t", "en_US")])
def test_a_language_tag_is_stored_without_the_spaces_around_it(tag, stored):
    """` en` used to be kept with its space: the tag sent as Accept-Language and the one diffs name."""
    config = parse_config(f'defaults:\n  language: "{tag}"\nsources:\n  - name: a\n    url: https://example.org/a\n'
                          f'  - name: b\n    url: https://example.org/b\n    language: "{tag}"\n')
    assert [source.language for source in config.sources] == [stored, stored]


@pytest.mark.parametrize("tag, current", [("iw", "he"), ("in", "id"), ("ji", "yi"), ("iw-IL", "he-IL")])
def test_a_withdrawn_language_code_is_refused_with_the_code_that_replaced_it(tag, current):
    """`iw` passed the tag check, and neither the topic model nor the guard knows it: every change unrated."""
    with pytest.raises(ConfigError) as refused:
        parse_config(f"sources:\n  - name: a\n    url: https://example.org/a\n    language: {tag}\n")
    assert f"'{tag}' is a withdrawn language code: use '{current}'" in str(refused.value)


def test_a_three_letter_code_of_a_language_with_a_two_letter_code_is_refused_with_that_code(cli, tmp_path):
    """BCP 47 takes the two-letter code where there is one; `eng` passed and left every change unrated."""
    found = problems("""
        defaults:
          language: ger
        sources:
          - {name: a, url: "https://example.org/a", language: eng}
          - {name: b, url: "https://example.org/b", language: FRE}
          - {name: c, url: "https://example.org/c", language: nob-NO}
          - {name: d, url: "https://example.org/d", language: zho_Hant}
          - {name: e, url: "https://example.org/e", language: rus}
          - {name: f, url: "https://example.org/f", language: " dan "}
          - {name: g, url: "https://example.org/g", language: de}
          - {name: h, url: "https://example.org/h"}
    """)
    assert found == [
        "sources.yaml:2: defaults.language: 'ger' is not a BCP 47 tag for German: use 'de'",
        "sources.yaml:4: sources[0].language: 'eng' is not a BCP 47 tag for English: use 'en'",
        "sources.yaml:5: sources[1].language: 'FRE' is not a BCP 47 tag for French: use 'fr'",
        "sources.yaml:6: sources[2].language: 'nob-NO' is not a BCP 47 tag for Norwegian: use 'nb-NO'",
        "sources.yaml:7: sources[3].language: 'zho_Hant' is not a BCP 47 tag for Chinese: use 'zh_Hant'",
        "sources.yaml:8: sources[4].language: 'rus' is not a BCP 47 tag: use 'ru'",  # guard names no Cyrillic language
        "sources.yaml:9: sources[5].language: 'dan' is not a BCP 47 tag for Danish: use 'da'",
    ]
    for code in ("deu", "fra", "spa", "ita", "por", "nld", "dut", "swe", "pol", "ces", "cze", "tur", "ron", "rum",
                 "hun", "fin", "ind", "vie", "jpn", "kor", "chi", "ukr", "ell", "gre", "ara", "heb", "tha", "nor"):
        assert problems(f"sources:\n  - {{name: a, url: 'https://example.org/a', language: {code}}}\n")[0].startswith(
            f"sources.yaml:2: sources[0].language: {code!r} is not a BCP 47 tag"), code
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: a\n    url: https://example.org/a\n    language: eng\n")
    result = cli("--config", path, "validate")
    assert result.exit_code == 2 and "OK" not in result.stdout
    assert f"{path}:4: sources[0].language: 'eng' is not a BCP 47 tag for English: use 'en'" in result.stderr


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no config file at"):
        load_config(tmp_path / "nope.yaml")


def test_a_missing_config_says_where_it_looked_and_how_to_name_another(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POLICY_MONITOR_CONFIG", raising=False)
    default = cli("check")
    given = cli("--config", "elsewhere.yaml", "validate")
    monkeypatch.setenv("POLICY_MONITOR_CONFIG", str(tmp_path / "env.yaml"))
    from_env = cli("run")

    assert default.exit_code == given.exit_code == from_env.exit_code == 2
    hint = "name the config with --config PATH or the POLICY_MONITOR_CONFIG environment variable"
    assert default.stderr.strip() == (f"error: no config file at {tmp_path / 'sources.yaml'} (the default when "
                                      f"neither --config nor POLICY_MONITOR_CONFIG is given); {hint}, "
                                      f"or create this one")
    assert given.stderr.strip() == (f"error: no config file at {tmp_path / 'elsewhere.yaml'} (the path given with "
                                    f"--config); {hint}")
    assert from_env.stderr.strip() == (f"error: no config file at {tmp_path / 'env.yaml'} (the path given in "
                                       f"POLICY_MONITOR_CONFIG); {hint}")
    assert "invalid config" not in default.stderr and not list(tmp_path.iterdir())   # nothing written


def test_unknown_keys_get_the_closest_allowed_key_at_their_level():
    found = problems("""
        chanels:
          team: {type: email, to: [a@example.org], smtp: {host: localhost}}
        daemon: {concurency: 4}
        sources:
          - name: a
            url: https://example.org/p
            intervall: 1d
            colour: blue
    """)
    assert found == [
        "sources.yaml:1: chanels: unknown key; did you mean 'channels'?",
        "sources.yaml:3: daemon.concurency: unknown key; did you mean 'concurrency'?",
        "sources.yaml:7: sources[0].intervall: unknown key; did you mean 'interval'?",
        "sources.yaml:8: sources[0].colour: unknown key",                          # nothing close: no guess
    ]
    in_channels = problems("""
        defaults: {topic: [minors]}
        channels:
          team: {type: email, to: [a@example.org], smtp: {host: localhost, prot: 25}}
          hook: {type: webhook, url: "https://example.org/h", secret: x, tiemout: 5s}
        sources:
          - {name: a, url: "https://example.org/p"}
    """)
    assert "sources.yaml:1: defaults.topic: unknown key; did you mean 'topics'?" in in_channels
    assert "sources.yaml:3: channels.team.smtp.prot: unknown key; did you mean 'port'?" in in_channels
    assert "sources.yaml:4: channels.hook.tiemout: unknown key; did you mean 'timeout'?" in in_channels


def test_list_and_value_errors_are_said_in_plain_words_not_pydantic_jargon():
    found = problems("""
        channels:
          f: {type: email, to: [], smtp: {host: localhost, starttls: maybe, port: many}}
          g: {type: apprise, urls_env: []}
        sources:
          - {name: a, url: "https://example.org/p"}
    """)
    assert found == [
        "sources.yaml:2: channels.f.smtp.port: expected a whole number",
        "sources.yaml:2: channels.f.smtp.starttls: expected true or false",
        "sources.yaml:2: channels.f.to: needs at least one address",
        "sources.yaml:3: channels.g.urls_env: needs at least one variable name",
    ]


@pytest.mark.parametrize("text,seconds", [("30m", 1800), ("6h", 21600), ("1d", 86400), ("45s", 45), (90, 90),
                                          ("500ms", 0.5)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["0s", "-1h", "soon", "1y", True])
def test_bad_durations(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_sizes():
    assert parse_size("10MB") == 10_000_000 and parse_size("512KiB") == 524288 and parse_size(100) == 100


def test_database_url_precedence(monkeypatch):
    config = parse_config("database: sqlite:///from-config.db\n")
    monkeypatch.delenv("POLICY_MONITOR_DB", raising=False)
    assert resolve_database_url(None, None) == "sqlite:///policy-monitor.db"
    assert resolve_database_url(None, config) == "sqlite:///from-config.db"
    monkeypatch.setenv("POLICY_MONITOR_DB", "sqlite:///from-env.db")
    assert resolve_database_url(None, config) == "sqlite:///from-env.db"
    assert resolve_database_url("sqlite:///from-flag.db", config) == "sqlite:///from-flag.db"


def test_validate_command_exits_2_and_prints_every_problem(cli, tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(dedent("""
        sources:
          - name: a
            url: notaurl
          - name: a
            url: https://example.org
            interval: 1x
    """))
    result = cli("--config", path, "validate")
    assert result.exit_code == 2
    assert f"{path}:3: sources[0].url: 'notaurl' is not an http(s) URL" in result.stderr
    assert f"{path}:4: sources[1].name: duplicate source name 'a'" in result.stderr
    assert f"{path}:6: sources[1].interval: '1x' is not a duration" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_path_comes_from_the_environment_when_no_flag(cli, tmp_path, monkeypatch):
    path = tmp_path / "elsewhere.yaml"
    path.write_text("sources:\n  - name: a\n    url: https://example.org/p\n")
    monkeypatch.setenv("POLICY_MONITOR_CONFIG", str(path))
    result = cli("validate")
    assert result.exit_code == 0 and "OK - 1 source, 0 channels" in result.stdout


def test_the_shipped_sources_file_is_valid(cli):
    shipped = Path(__file__).parents[1] / "sources.yaml"
    result = cli("--config", shipped, "validate")
    assert result.exit_code == 0, result.stderr
    assert len(load_config(shipped).sources) >= 10


def test_wrong_shapes_and_bad_names_are_explained_in_words_not_pydantic_types():
    assert problems("sources: foo") == ["sources.yaml:1: sources: expected a list of sources"]
    found = problems("""
        channels: []
        sources:
          - name: "bad name!"
            url: https://example.org/p
    """)
    assert found == ["sources.yaml:1: channels: expected a mapping of keys",
                     "sources.yaml:3: sources[0].name: use letters, digits, `.`, `_` and `-` only, starting with a "
                     "letter or digit"]


def test_topic_warnings_name_the_channel_topic_line_and_every_source_that_does_not_watch_it():
    text = dedent("""
        channels:
          team: {type: webhook, url: "https://example.org/h", topics: [sharing, cookies]}
        sources:
          - {name: a, url: "https://example.org/a"}
          - {name: b, url: "https://example.org/b", topics: [sharing, retention]}
    """)
    config = parse_config(text, "sources.yaml")

    assert topic_warnings(config, text) == [
        "sources.yaml:2: channels.team.topics[1]: channel team: topic 'cookies' is not watched by any of its 2 "
        "sources (a, b), so it never fires: a channel's `topics:` only narrows its sources' topics; add 'cookies' "
        "to the sources' `topics:` (or to `defaults: topics:`)"]
    watched = parse_config(text.replace("topics: [sharing, retention]", "topics: [sharing, cookies]"))
    assert topic_warnings(watched, text) == []          # one source watching it is enough: it fires for b


def test_a_source_with_an_empty_channels_list_is_valid_but_validate_says_it_alerts_no_channel(tmp_path, cli):
    config = tmp_path / "sources.yaml"
    config.write_text(dedent("""
        channels:
          siem: {type: webhook, url: "https://hooks.example.org/x", secret_env: HOOK_SECRET}
        sources:
          - name: quiet
            url: https://example.org/privacy
            channels: []
          - name: loud
            url: https://example.org/terms
    """))

    result = cli("--config", config, "validate")

    assert result.exit_code == 0, result
    warned = [line for line in (result.stdout + result.stderr).splitlines() if "channels: []" in line]
    assert len(warned) == 1 and "source quiet:" in warned[0] and "loud" not in warned[0], warned
    assert "alert no channel" in warned[0]
