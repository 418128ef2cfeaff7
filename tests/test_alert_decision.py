"""The alert decision end to end: `policy-monitor check --json` on real seed pages, before and after an edit.

Each case serves a seed policy from a loopback site, checks once (the baseline: never an alert), edits
the policy (and varies the page chrome), checks again and reads what a user's script reads:
`alert_topics` and the changes' `topics`, `severity` and `summary`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.pages import edit, render_policy, seed_text


@dataclass(frozen=True)
class AlertCase:
    """One edit of a seed policy and what `check --json` must say about it."""

    name: str
    seed: int
    old: str
    new: str
    alert_topics: tuple[str, ...]
    topics: tuple[str, ...]  # topics the reported change must carry (at least these)
    severity: str
    summary: str  # the reported change's summary starts with this


CASES = [
    AlertCase("minors age raised", 4, "children under the age of 13", "children under the age of 16",
              ("minors",), ("minors",), "medium", "age threshold 13 → 16"),
    AlertCase("retention period added", 1, "We will store your information in a secure way",
              "We will store your information for up to 3 years in a secure way",
              ("retention",), ("retention",), "medium", "adds retention period: 3 years"),
    AlertCase("promise not to sell replaced by may sell", 2,
              "promise not to sell, rent, or illegally provide your personal information to any third party "
              "without your authorization", "may sell, rent, or provide your personal information to third parties",
              ("sharing",), ("sharing",), "high", "now says data may be sold, rented or provided (it said it is not)"),
    AlertCase("new recipients", 2, "payment processors, SMS providers",
              "payment processors, data brokers, insurance companies, SMS providers",
              ("sharing",), ("sharing",), "high", "adds recipients: data brokers, insurance companies"),
    AlertCase("retention sentence removed", 2,
              "We retain your personal information in accordance with laws and regulations, storing data only for "
              "the minimum period necessary to achieve the purpose for which it was collected. ", "",
              ("retention",), ("retention",), "high", "removes retention period: as long as necessary"),
    AlertCase("list item added to a retention purposes list", 4,
              "- to detect and deter unauthorized or fraudulent use of or abuse of the Service.",
              "- to detect and deter unauthorized or fraudulent use of or abuse of the Service; or\n"
              "- to train our models.",
              ("retention",), ("retention",), "high", "adds purpose: to train our models"),
    AlertCase("minors' data newly shared with advertisers", 2,
              "without the knowledge and consent of their guardians.",
              "without the knowledge and consent of their guardians. We may share minors' personal information "
              "with advertisers.",
              ("minors", "sharing"), ("minors", "sharing"), "high",
              "now says data may be shared; adds recipient: advertisers"),
    AlertCase("children's section removed", 0,
              "6. About children\n\nWezonet will not collect information from children under the age of thirteen. "
              "If we become aware that we have collected information from children under the age of thirteen, we "
              "will immediately delete this information from the database.\n", "",
              ("minors",), ("minors",), "high", "minors section removed"),
    AlertCase("security-only change", 2, "The platform also deploys firewalls, intrusion detection systems",
              "The platform also deploys firewalls, hardware security modules, intrusion detection systems",
              (), ("security",), "low", "security clause modified"),
    AlertCase("heading rename", 2, "5. Protection of Minors' Information", "5. Children's Privacy",
              (), (), "low", "section renamed: 5. Protection of Minors' Information → 5. Children's Privacy"),
]


def check(cli, config: object, db: str) -> dict:
    result = cli("--config", config, "--db", db, "check", "--json")
    assert result.exit_code == 0, result.stderr
    [source] = result.json()["results"]
    return source


def run_case(case: AlertCase, cli, site, make_config, db: str) -> dict:
    """Baseline check, edit, second check; return the second check's result for the source."""
    text = seed_text(case.seed)
    url = site.set("/privacy", render_policy(text))
    config = make_config([{"name": f"seed{case.seed}", "url": url}])
    baseline = check(cli, config, db)
    assert (baseline["status"], baseline["alert_topics"], baseline["changes"]) == ("new", [], [])
    site.set("/privacy", render_policy(edit(text, case.old, case.new), noise=3))
    return check(cli, config, db)


def reported_change(case: AlertCase, result: dict) -> dict:
    """The change the case is about: the one with its summary (each case makes exactly one such)."""
    matching = [c for c in result["changes"] if c["summary"].startswith(case.summary)]
    assert len(matching) == 1, [(c["kind"], c["summary"]) for c in result["changes"]]
    return matching[0]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_check_json_reports_alert_topics_and_rated_changes(case: AlertCase, cli, site, make_config,
                                                            sqlite_url) -> None:
    result = run_case(case, cli, site, make_config, sqlite_url)

    assert result["status"] == "changed" and result["version"] == 2 and result["previous_version"] == 1
    assert result["alert_topics"] == sorted(case.alert_topics)
    change = reported_change(case, result)
    assert set(case.topics) <= set(change["topics"])
    assert change["severity"] == case.severity
    others = [c for c in result["changes"] if c is not change]
    assert all(c["severity"] == "low" for c in others), others   # nothing else of note was reported


def test_heading_rename_reports_only_structure(cli, site, make_config, sqlite_url) -> None:
    [case] = [c for c in CASES if c.name == "heading rename"]
    result = run_case(case, cli, site, make_config, sqlite_url)
    assert [c["kind"] for c in result["changes"]] == ["renamed"]
    assert result["alert_topics"] == []


def test_british_spelling_across_the_whole_policy_alerts_nothing(cli, site, make_config, sqlite_url) -> None:
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/privacy", render_policy(text))}])
    check(cli, config, sqlite_url)
    british = (text.replace("authoriz", "authoris").replace("optimiz", "optimis").replace("behavior", "behaviour")
               .replace("minimiz", "minimis").replace("prioritiz", "prioritis").replace("utiliz", "utilis"))
    assert british.count("is") > text.count("is") + 10             # dozens of words respelled
    site.set("/privacy", render_policy(british, noise=1))

    result = check(cli, config, sqlite_url)

    assert result["alert_topics"] == []
    assert all(c["severity"] == "low" for c in result["changes"])


def test_company_renamed_throughout_the_policy_alerts_nothing(cli, site, make_config, sqlite_url) -> None:
    text = seed_text(2)
    config = make_config([{"name": "wemet", "url": site.set("/privacy", render_policy(text))}])
    check(cli, config, sqlite_url)
    site.set("/privacy", render_policy(text.replace("Wemet", "Nimbus Social").replace("WeMeet", "Nimbus Social")))

    result = check(cli, config, sqlite_url)

    assert result["status"] == "changed" and result["alert_topics"] == []


def test_a_source_watching_only_minors_is_not_alerted_for_sharing(cli, site, make_config, sqlite_url) -> None:
    [case] = [c for c in CASES if c.name == "new recipients"]
    text = seed_text(case.seed)
    config = make_config([{"name": "kids-only", "url": site.set("/privacy", render_policy(text)),
                           "topics": ["minors"]}])
    check(cli, config, sqlite_url)
    site.set("/privacy", render_policy(edit(text, case.old, case.new)))

    result = check(cli, config, sqlite_url)

    assert result["status"] == "changed" and result["alert_topics"] == []
    assert "sharing" in reported_change(case, result)["topics"]     # still described, just not alerted
