"""Significance: which changed clauses are substance, what they are about, how much they matter.

Changes are built by hand (the shape `monitor.compare.diff` produces) from real seed sentences where possible;
topics come from the real `monitor.meaning.topics.classify`.
"""

from __future__ import annotations

import functools
import os
import random

import pytest

from monitor.capture.normalize import normalize
from monitor.compare.diff import SectionChange, diff_sections
from monitor.meaning.facts import ages, periods, recipients, statements
from monitor.meaning.significance import FORM_ONLY_SUMMARY, RatedChange, rate_change, rate_changes
from monitor.text.sections import Clause, parse_sections
from monitor.text.wording import form_only
from tests.pages import edit, render_policy, seed_numbers, seed_text

WATCHED = ["sharing", "retention", "minors"]


def modified(before: str | list[str], after: str | list[str], heading: str = "Privacy", *,
             lead_in: str | None = None, kind: str = "modified") -> SectionChange:
    """A change as diff reports it: the removed and the added clauses of one section."""
    removed = tuple(Clause(t, lead_in) for t in ([before] if isinstance(before, str) else before))
    added = tuple(Clause(t, lead_in) for t in ([after] if isinstance(after, str) else after))
    return SectionChange(kind, heading, before=" ".join(c.text for c in removed),
                         after=" ".join(c.text for c in added), removed=removed, added=added, heading=heading)


def rate(before: str | list[str], after: str | list[str], heading: str = "Privacy", **kw) -> RatedChange:
    return rate_change(modified(before, after, heading, **kw))


def seed_sentence(seed: int, start: str) -> str:
    """The seed's sentence that starts with `start` (so tests edit real policy prose)."""
    text = seed_text(seed)
    i = text.index(start)
    end = text.index(".", i + len(start)) + 1
    return text[i:end]


def seed_paragraph(seed: int, start: str) -> str:
    """The seed's whole paragraph (line) that starts with `start`."""
    return next(line.strip() for line in seed_text(seed).splitlines() if line.strip().startswith(start))


# ---------------------------------------------------------------------------------------------
# Form-only edits are never substance, even inside clauses about watched topics
# ---------------------------------------------------------------------------------------------

SHARING = "We may share your personal information with our business partners, advertisers and affiliates."

FORM_ONLY_EDITS = {
    "british to american spelling": (
        "We analyse behaviour to personalise ads, and our organisation shares it with partners under licence.",
        "We analyze behavior to personalize ads, and our organization shares it with partners under license."),
    "hyphenation": ("We share your e-mail address with third-party advertisers.",
                    "We share your email address with third party advertisers."),
    "quote style": ("We share data with our \u201ctrusted partners\u201d.",
                    'We share data with our "trusted partners".'),
    "whitespace and punctuation": (SHARING, SHARING.replace(", ", " ,  ").replace(".", "")),
    "case": (SHARING, SHARING.upper()),
    "typo fix": ("We may share your personal informaton with our busines partners.",
                 "We may share your personal information with our business partners."),
    "typo fix in a key word": ("We may provie your data to our parnters or retian it.",
                               "We may provide your data to our partners or retain it."),
    "grammar fix": ("we retains your personal information while your account is in existence.",
                    "We retain your personal information while your account is in existence."),
    "contraction": ("We don't sell your personal information.", "We do not sell your personal information."),
    "list reordered inside the clause": (SHARING, "We may share your personal information with our "
                                                  "advertisers, affiliates and business partners."),
    "list enumerator renumbered": ("(3) When users interact with our advertising services;",
                                   "(4) When users interact with our advertising services;"),
    "cross-reference renumbered": ("If you are under 13, please refer to Section 6.b for our mailing address.",
                                   "If you are under 13, please refer to Section 7.b for our mailing address."),
    "date stamp": ("Last updated: March 3, 2024", "Last updated: 1 June 2025"),
    "link address in the text": ("Our partners are listed at https://example.org/partners?utm_source=mail.",
                                 "Our partners are listed at https://example.org/privacy/partners."),
    "ampersand": ("We share data with our advertising & analytics partners.",
                  "We share data with our advertising and analytics partners."),
    "synonym": ("We share your personal information with partners.", "We share your personal data with partners."),
    "modal of the same strength": ("You may opt out at any time.", "You can opt out at any time."),
    "filler word": ("We share data with our partners.", "We also share data with our partners."),
    "abbreviation spelled out": ("We share data with processors, e.g. hosting providers.",
                                 "We share data with processors, for example hosting providers."),
    "number written in words": ("We do not knowingly collect data from children under 13.",
                                "We do not knowingly collect data from children under thirteen."),
}


@pytest.mark.parametrize("before, after", FORM_ONLY_EDITS.values(), ids=FORM_ONLY_EDITS.keys())
def test_form_only_edit_in_a_topic_clause_is_not_substance(before: str, after: str) -> None:
    assert form_only(before, after)
    rated = rate(before, after, "Sharing and Retention")
    assert not rated.substantive
    assert rated.alert_topics(WATCHED) == []
    assert rated.severity == "low"
    assert rated.summary == FORM_ONLY_SUMMARY


def test_company_renamed_across_the_policy_is_not_substance() -> None:
    clauses = ["Wemet may share your data with advertisers.", "Wemet keeps your data for 30 days.",
               "Wemet does not knowingly collect data from children under 13."]
    changes = [modified(c, c.replace("Wemet", "Nimbus Social"), f"Section {i}") for i, c in enumerate(clauses)]
    assert [r.substantive for r in rate_changes(changes)] == [False, False, False]


def test_a_name_swapped_in_one_clause_only_is_substance() -> None:
    change = modified("We share your data with Wemet affiliates.", "We share your data with Acme affiliates.",
                      "Sharing")
    [rated] = rate_changes([change])
    assert rated.substantive and rated.alert_topics(WATCHED) == ["sharing"]


def test_a_consistent_swap_of_a_key_term_stays_substance() -> None:
    clauses = ["We share your data with partners.", "Partners receive your e-mail address.",
               "Our partners may contact you."]
    changes = [modified(c, c.replace("artners", "dvertisers"), f"Section {i}") for i, c in enumerate(clauses)]
    assert all(r.substantive for r in rate_changes(changes))


def test_nouns_swapped_in_a_clause_that_says_but_elsewhere_are_not_substance() -> None:
    before = ("These partners include, but are not limited to, companies providing technical services (such as "
              "cloud service providers and data storage vendors), payment processors, SMS providers, etc.")
    after = before.replace("cloud service providers and data storage vendors",
                           "data storage vendors and cloud service providers")
    assert form_only(before, after)
    assert form_only(before, before.replace("payment processors, SMS providers", "SMS providers, payment processors"))


def test_reordered_list_items_are_not_substance() -> None:
    lead_in = "We may retain your personal information even after your account is closed if necessary:"
    items = ["to comply with applicable laws;", "to resolve disputes;", "to detect fraud."]
    rated = rate(items, list(reversed(items)), "b. How Long Does we Keep My Information?", lead_in=lead_in)
    assert not rated.substantive and rated.alert_topics(WATCHED) == []


def test_help_link_and_learn_more_texts_are_not_substance() -> None:
    rated = rate("How is my data shared?", "How do we share and sell your data?", "Sharing")
    assert not rated.substantive
    rated = rate("Learn more about our partners.", "Learn more about how we share data with partners.", "Sharing")
    assert not rated.substantive


def test_same_period_said_differently_has_no_period_finding() -> None:
    rated = rate("We keep logs for 12 months, then delete them.", "We keep logs for one year, then erase them.",
                 "Retention")
    assert rated.substantive
    assert "period" not in rated.summary


def test_sentence_split_with_the_same_words_is_not_substance() -> None:
    before = "We keep your data for 30 days, and we then delete it."
    rated = rate(before, ["We keep your data for 30 days.", "And we then delete it."], "Retention")
    assert not rated.substantive


def test_whole_section_respelled_american_to_british_is_not_substance() -> None:
    american = [seed_paragraph(2, "We highly value"), seed_paragraph(2, "Before sharing"),
                seed_paragraph(2, "During your use of WeMeet")]
    british = [p.replace("iz", "is").replace("behavior", "behaviour") for p in american]
    assert british != american
    rated = rate(american, british, "3. Sharing and Disclosure of Personal Information")
    assert not rated.substantive and rated.alert_topics(WATCHED) == []


def _with_typos(text: str, seed: int, count: int = 4) -> str:
    """`text` with a few typos (a letter dropped, doubled or swapped) in long words, reproducibly."""
    rnd = random.Random(seed)
    tokens = text.split(" ")
    for _ in range(count * 10):
        i = rnd.randrange(len(tokens))
        word = tokens[i]
        if len(word) > 5 and word.isalpha() and count:
            j = rnd.randrange(1, len(word) - 2)
            tokens[i] = rnd.choice([word[:j] + word[j + 1:], word[:j] + word[j] + word[j:],
                                    word[:j] + word[j + 1] + word[j] + word[j + 2:]])
            count -= 1
    return " ".join(tokens)


@pytest.mark.parametrize("seed", seed_numbers())
def test_typo_fixes_across_a_real_policy_never_alert(seed: int) -> None:
    """Through the real normalize → sections → diff stages: typo-ridden version → fixed version."""
    fixed = seed_text(seed)
    old = parse_sections(normalize(render_policy(fixed)))
    for variant in range(3):
        with_typos = _with_typos(fixed, seed * 10 + variant)
        assert with_typos != fixed
        rated = rate_changes(diff_sections(parse_sections(normalize(render_policy(with_typos))), old))
        assert any(r.change.kind == "modified" for r in rated)              # the typos were seen ...
        assert [r.summary for r in rated if r.alert_topics(WATCHED)] == []  # ... and judged form only


TINY_BUT_SUBSTANTIVE = {
    "negation removed": ("We do not share your data with advertisers.", "We do share your data with advertisers."),
    "number changed": ("We keep your data for 30 days.", "We keep your data for 31 days."),
    "modal changed": ("We will delete your data after 30 days.", "We may delete your data after 30 days."),
    "recipient added to a list": (SHARING, SHARING.replace("advertisers", "advertisers, insurers")),
    "one-letter change of a key verb": ("We do not sell your data.", "We do not share your data."),
    "negative prefix": ("We prevent unauthorized disclosure of your data to third parties.",
                        "We prevent authorized disclosure of your data to third parties."),
    "quantifier changed": ("We share some of your data with partners.", "We share all of your data with partners."),
    "the two sides of a 'but not' swapped": ("We share data with advertisers but not with data brokers.",
                                            "We share data with data brokers but not with advertisers."),
    "the two sides of a 'rather than' swapped": ("We keep logs rather than profiles.",
                                                "We keep profiles rather than logs."),
    "what is and is not shared swapped": (
        "We do not share your email address with advertisers; we share your postal address with partners.",
        "We do not share your postal address with advertisers; we share your email address with partners."),
}


@pytest.mark.parametrize("before, after", TINY_BUT_SUBSTANTIVE.values(), ids=TINY_BUT_SUBSTANTIVE.keys())
def test_tiny_edit_of_a_number_negation_modal_or_recipient_is_substance(before: str, after: str) -> None:
    assert not form_only(before, after)
    rated = rate(before, after, "Your data")
    assert rated.substantive
    assert rated.alert_topics(WATCHED) != []


# ---------------------------------------------------------------------------------------------
# Rules: each with its literal summary
# ---------------------------------------------------------------------------------------------

def test_age_threshold_raised_is_a_medium_minors_change() -> None:
    before = seed_sentence(4, "The we App service is intended")        # "... children under the age of 13"
    rated = rate(before, edit(before, "13", "16"), "A Special Note about Children.")
    assert rated.summary == "age threshold 13 → 16"
    assert rated.alert_topics(WATCHED) == ["minors"]
    assert rated.severity == "medium"


def test_age_threshold_lowered_is_high() -> None:
    before = seed_sentence(2, "We explicitly prohibit minors")         # "under the age of 18"
    rated = rate(before, edit(before, "18", "13"), "5. Protection of Minors' Information")
    assert (rated.summary, rated.severity) == ("age threshold 18 → 13", "high")


def test_age_threshold_in_words() -> None:
    before = seed_sentence(0, "Wezonet will not collect information from children")   # "age of thirteen"
    rated = rate(before, edit(before, "thirteen", "sixteen"), "6. About children")
    assert rated.summary == "age threshold 13 → 16"
    assert "minors" in rated.alert_topics(WATCHED)


@pytest.mark.parametrize("text, expected", [
    ("Children under the age of thirteen may not register.", [13]),
    ("You must be 16 years old or older to use the app.", [16]),
    ("Users aged 13 to 17 need parental consent.", [13]),
    ("If you are a minor under 14 years old, ask your guardian.", [14]),
    ("Our team has at least 18 years of experience.", []),
    ("Over 18 partners help us deliver the service.", []),
    ("We reply within 13 days.", []),
    # a person under or over a number is of that age, with no word about minors (bbc's "personalisation" section)
    ("If you’re under 13 and create an account your personalisation is set to off.", [13]),
    ("Users under 16 need the consent of a parent.", [16]),
    ("Anyone over 18 may join the panel.", [18]),
    ("Users under 3 months of membership see fewer ads.", []),
    ("People over 50% of the time use the app.", []),
])
def test_age_extraction(text: str, expected: list[int]) -> None:
    assert ages(text) == expected


def test_a_changed_number_stated_twice_is_named_once() -> None:
    # bbc: "under 13" twice in a paragraph about personalisation became "under 16": the number, named once
    before = ("Allow Personalisation is set to on when you create an account. If your score is 13 it is off. "
              "With a score of 13 you do not need to do anything.")
    rated = rate(before, before.replace("13", "16"), "Personalisation")
    assert rated.summary == "number 13 → 16"


def test_retention_period_lengthened_is_high() -> None:
    rated = rate("We keep your data for 30 days.", "We keep your data for 2 years.", "Data Retention")
    assert rated.summary == "retention period 30 days → 2 years"
    assert (rated.alert_topics(WATCHED), rated.severity) == (["retention"], "high")


def test_a_period_in_a_security_clause_under_a_retention_heading_is_not_retention() -> None:
    rated = rate("We rotate encryption keys every 90 days.", "We rotate encryption keys every 180 days.",
                 "Data Retention and Security")
    assert rated.summary == "period 90 days → 180 days"
    assert rated.alert_topics(WATCHED) == []


def test_retention_period_shortened_is_medium() -> None:
    rated = rate("We keep your data for six months.", "We keep your data for thirty days.", "Data Retention")
    assert (rated.summary, rated.severity) == ("retention period 6 months → 30 days", "medium")


def test_retention_made_indefinite_is_high() -> None:
    rated = rate("We retain your data until you close your account.", "We retain your data indefinitely.",
                 "Retention")
    assert rated.summary == "retention period until account closure → indefinitely"
    assert rated.severity == "high"


def test_retention_period_added_to_a_vague_sentence() -> None:
    before = seed_sentence(2, "We retain your personal information in accordance")
    after = edit(before, "only for the minimum period necessary", "for 5 years")
    rated = rate(before, after, "4.4 Data Storage and Lifecycle Management")
    assert rated.summary == "retention period as long as necessary → 5 years"
    assert rated.alert_topics(WATCHED) == ["retention"]


@pytest.mark.parametrize("text, labels", [
    ("We keep data for no longer than is necessary.", ["as long as necessary"]),
    ("Logs are deleted after thirty (30) days.", ["30 days"]),
    ("We keep logs for 90 days and backups for one (1) year.", ["90 days", "1 year"]),
    ("We respond within 3 working days.", ["3 working days"]),
    ("Data is kept for as long as necessary, or indefinitely in backups.", ["indefinitely", "as long as necessary"]),
    ("We retain a lawyer to handle disputes.", []),
    ("You must be 18 years old.", []),
])
def test_period_extraction(text: str, labels: list[str]) -> None:
    assert [p.label for p in periods(text)] == labels


def test_promise_not_to_share_becoming_may_share_is_high() -> None:
    rated = rate("We will not share your personal information with third parties.",
                 "We may share your personal information with third parties.", "Sharing")
    assert rated.summary.startswith("now says data may be shared (it said it is not)")
    assert (rated.alert_topics(WATCHED), rated.severity) == (["sharing"], "high")


def test_promise_not_to_sell_replaced_by_may_sell() -> None:
    before = seed_sentence(2, "We highly value the protection")
    after = edit(before, "promise not to sell, rent, or illegally provide", "may sell, rent, or provide")
    rated = rate(before, after, "3. Sharing and Disclosure of Personal Information")
    assert rated.summary.startswith("now says data may be sold, rented or provided (it said it is not)")
    assert rated.severity == "high" and "sharing" in rated.alert_topics(WATCHED)


def test_we_do_not_sell_removed() -> None:
    rated = rate("We do not sell your personal information.", [], "Sharing")
    assert (rated.summary, rated.severity) == ("no longer says data is not sold", "high")
    assert rated.alert_topics(WATCHED) == ["sharing"]


@pytest.mark.parametrize("after", ["Under no circumstances will we sell your personal information.",
                                   "No personal information is ever sold.",
                                   "We neither sell nor rent your personal information."])
def test_promise_not_to_sell_said_another_way_is_no_loosening(after: str) -> None:
    rated = rate("We do not sell your personal information.", after, "Sharing")
    assert "no longer says" not in rated.summary
    assert rated.severity != "high"


def test_new_promise_not_to_sell_is_medium() -> None:
    rated = rate("We may sell your personal information to partners.",
                 "We will never sell your personal information to partners.", "Sharing")
    assert rated.summary.startswith("now says data is not sold")
    assert rated.severity == "medium"


def test_must_becoming_may_is_a_loosening_modality_flip() -> None:
    rated = rate("We must delete your data when you close your account.",
                 "We may delete your data when you close your account.", "Retention")
    assert (rated.summary, rated.severity) == ("'must delete' → 'may delete'", "high")


def test_negation_the_verb_rule_cannot_read_still_is_summarised() -> None:
    rated = rate("Children under 13 may not use the service.", "Children under 13 may use the service.",
                 "Children")
    assert rated.summary == "no longer says 'under 13 may not use the service'"
    assert rated.alert_topics(WATCHED) == ["minors"]


def test_new_recipients_in_a_list() -> None:
    before = "We share your data with advertisers."
    rated = rate(before, "We share your data with advertisers, data brokers and insurance companies.", "Sharing")
    assert rated.summary == "adds recipients: data brokers, insurance companies"
    assert (rated.alert_topics(WATCHED), rated.severity) == (["sharing"], "high")


def test_removed_recipient_is_medium() -> None:
    rated = rate("We share your data with partners and advertisers.", "We share your data with partners.",
                 "Sharing")
    assert (rated.summary, rated.severity) == ("removes recipient: advertisers", "medium")


def test_recipients_of_a_negated_sentence_are_not_recipients() -> None:
    rated = rate("We do not share your data.", "We do not share your data with data brokers.", "Sharing")
    assert "adds recipient" not in rated.summary


def test_purpose_added_to_a_retention_list_is_a_retention_change() -> None:
    lead_in = seed_sentence(4, "We may retain your personal information even after")
    change = SectionChange("modified", "4. Use › b.How Long Does we Keep My Information?",
                           after="- to train our models;", added=(Clause("- to train our models;", lead_in),),
                           heading="b.How Long Does we Keep My Information?")
    rated = rate_change(change)
    assert rated.summary == "adds purpose: to train our models"
    assert rated.alert_topics(WATCHED) == ["retention"]
    assert rated.severity == "high"


def test_guarantee_removed() -> None:
    rated = rate("We will not share your data without your consent.", "We will not share your data.", "Sharing")
    assert (rated.summary, rated.severity) == ("removes guarantee: with your consent", "high")


@pytest.mark.parametrize("after, exception", [
    ("We do not sell personal data, except to our affiliates.", "except to our affiliates"),
    ("We do not sell personal data other than in connection with a merger.", "other than in connection with a merger"),
    ("We do not sell personal data unless you opt in.", "unless you opt in"),
])
def test_a_carve_out_added_to_a_promise_is_a_high_loosening(after: str, exception: str) -> None:
    rated = rate("We do not sell personal data.", after, "Sharing")
    assert rated.severity == "high" and rated.alert_topics(WATCHED) == ["sharing"]
    assert rated.summary == f"adds an exception to a promise: {exception}"


def test_an_exception_to_sharing_itself_is_not_read_as_a_carve_out() -> None:
    rated = rate("We share data with partners except where you object.",
                 "We share data with partners except where you object or ask us not to.", "Sharing")
    assert "exception" not in rated.summary and rated.severity != "high"


@pytest.mark.parametrize("before, after", [
    ("We sign confidentiality agreements with all partners and require them to protect your data.",
     "We sign confidentiality agreements with all partners. We require them to protect your data."),
    ("We keep logs for 30 days. This lets us investigate abuse.",
     "We keep logs for 30 days, which lets us investigate abuse."),
])
def test_a_sentence_split_or_joined_is_form_only(before: str, after: str) -> None:
    assert form_only(before, after)


def test_who_does_something_is_substance_not_a_split() -> None:
    assert not form_only("They share your location with insurers.", "We share your location with insurers.")
    assert not form_only("You can see your purchase history.", "They can see your purchase history.")


def test_a_split_that_could_change_what_a_negation_covers_is_substance() -> None:
    assert not form_only("We do not share your data and sell it.", "We do not share your data. We sell it.")


def test_dropping_the_confidentiality_obligations_of_recipients_is_a_removed_guarantee() -> None:
    before = ["We share your details with our service providers.",
              "Every provider is bound by contract to keep your information confidential."]
    rated = rate(before, before[:1], "Sharing")
    assert rated.severity == "high" and rated.alert_topics(WATCHED) == ["sharing"]
    assert "removes guarantee: confidentiality obligations on recipients" in rated.summary


def test_asking_for_consent_replaced_by_may_is_a_removed_guarantee() -> None:
    rated = rate("Before sharing it with advertisers, we will obtain your explicit consent.",
                 "We may share it with advertisers.", "Sharing")
    assert rated.severity == "high" and "removes guarantee: with your consent" in rated.summary


def test_a_removed_section_says_so_before_the_details() -> None:
    from monitor.compare.diff import diff_sections
    from monitor.meaning.significance import rate_changes
    from monitor.text.sections import parse_sections

    text = seed_text(2)
    start = text.index("5. Protection of Minors")
    without = text[:start] + text[text.index("\n6.", start):]
    [rated] = rate_changes(diff_sections(parse_sections(text), parse_sections(without)))
    assert rated.change.kind == "removed" and rated.severity == "high"
    assert rated.summary.startswith("minors section removed; removes age threshold: 18")


def test_deletion_and_anonymisation_promise_removed() -> None:
    before = seed_sentence(2, "After the data retention period expires")
    rated = rate(before, [], "4.4 Data Storage and Lifecycle Management")
    assert rated.summary == "no longer says data will be deleted or anonymized"
    assert rated.alert_topics(WATCHED) == ["retention"] and rated.severity == "high"


def test_anonymised_form_dropped_from_a_sharing_clause() -> None:
    rated = rate("We share aggregated, non-personally identifiable information publicly.",
                 "We share personally identifiable information publicly.", "Sharing")
    assert (rated.summary, rated.severity) == ("removes guarantee: anonymised", "high")


def test_deletion_promise_replaced_by_retention() -> None:
    rated = rate("Your personal data will be deleted upon account closure.",
                 "Your personal data may be retained after account closure.", "Retention")
    assert (rated.summary, rated.severity) == ("no longer says data will be deleted", "high")


def test_minors_data_newly_shared_with_advertisers_alerts_both_topics() -> None:
    rated = rate([], "We may share information about minors with advertisers.",
                 "5. Protection of Minors' Information")
    assert set(rated.alert_topics(WATCHED)) == {"minors", "sharing"}
    assert (rated.summary, rated.severity) == ("now says data may be shared; adds recipient: advertisers", "high")


def test_children_section_removed_is_high() -> None:
    sentences = [seed_sentence(0, "Wezonet will not collect"), seed_sentence(0, "If we become aware")]
    change = SectionChange("removed", "6. About children", before=" ".join(sentences),
                           removed=tuple(Clause(s) for s in sentences), heading="6. About children")
    rated = rate_change(change)
    assert rated.summary.startswith("minors section removed")
    assert rated.severity == "high" and "minors" in rated.alert_topics(WATCHED)


def test_fallback_summary_names_the_topic() -> None:
    rated = rate([], "We retain account data in accordance with our internal retention schedule.", "Retention")
    assert (rated.summary, rated.severity) == ("retention clause added", "medium")
    rated = rate("We share personal data with our partners under confidentiality agreements.",
                 "We share personal data with our partners under strict confidentiality agreements.",
                 "Sharing")
    assert (rated.summary, rated.severity) == ("sharing clause modified", "medium")


def test_sharing_newly_allowed_is_high() -> None:
    rated = rate([], "We may disclose your personal information when required to protect our rights.", "Sharing")
    assert (rated.summary, rated.severity) == ("now says data may be disclosed", "high")
    rated = rate("We collect your device identifiers.", "We collect and share your device identifiers.", "Data")
    assert (rated.summary, rated.severity) == ("now says data is shared", "high")


# ---------------------------------------------------------------------------------------------
# What never alerts a watched topic
# ---------------------------------------------------------------------------------------------

def test_security_only_change_has_no_watched_alert_topics() -> None:
    before = seed_paragraph(2, "We utilize advanced encryption")
    rated = rate(before, edit(before, "firewalls, ", "firewalls, hardware security modules, "),
                 "4.1 Technical Protection Measures")
    assert rated.substantive and "security" in rated.topics
    assert rated.alert_topics(WATCHED) == []
    assert rated.severity == "low"
    assert rated.summary == "security clause modified"


def test_a_non_watched_topic_is_medium_when_the_source_watches_it() -> None:
    before = seed_paragraph(2, "We utilize advanced encryption")
    change = modified(before, edit(before, "firewalls", "firewalls and audits"), "4.1 Technical Protection")
    [rated] = rate_changes([change], watched=["security"])
    assert rated.alert_topics(["security"]) == ["security"] and rated.severity == "medium"


@pytest.mark.parametrize("kind, summary", [("moved", "section moved"), ("renamed", "section renamed"),
                                           ("date", "date stamp updated"), ("split", "section split"),
                                           ("merged", "sections merged")])
def test_move_rename_and_date_stamp_are_never_substance(kind: str, summary: str) -> None:
    rated = rate_change(SectionChange(kind, "5. Protection of Minors", heading="5. Protection of Minors"))
    assert not rated.substantive and rated.alert_topics(WATCHED) == []
    assert (rated.severity, rated.summary) == ("low", summary)


def test_structural_change_with_paths_in_before_and_after_is_not_substance() -> None:
    change = SectionChange("split", "3. Sharing › 3.2 Partners", before="3. Sharing",
                           after="3. Sharing › 3.2 Partners", heading="3.2 Partners")
    rated = rate_change(change)
    assert not rated.substantive and rated.alert_topics(WATCHED) == []


def test_renamed_heading_with_its_headings_as_clauses_is_not_substance() -> None:
    change = SectionChange("renamed", "5. Children's Privacy", before="5. Protection of Minors' Information",
                           after="5. Children's Privacy", removed=(Clause("5. Protection of Minors' Information"),),
                           added=(Clause("5. Children's Privacy"),), heading="5. Children's Privacy")
    rated = rate_change(change)
    assert not rated.substantive and rated.alert_topics(WATCHED) == []
    assert "minors" in rated.topics


def test_renamed_heading_that_states_a_changed_age_is_substance() -> None:
    change = SectionChange("renamed", "Children under 16", before="Children under 13", after="Children under 16",
                           removed=(Clause("Children under 13"),), added=(Clause("Children under 16"),),
                           heading="Children under 16")
    rated = rate_change(change)
    assert (rated.summary, rated.alert_topics(WATCHED)) == ("age threshold 13 → 16", ["minors"])


def test_renamed_heading_summary_shows_both_headings() -> None:
    change = SectionChange("renamed", "5. Children", before="5. Minors", after="5. Children", heading="5. Children")
    assert rate_change(change).summary == "section renamed: 5. Minors → 5. Children"


def test_moved_section_with_the_same_clauses_is_not_substance() -> None:
    sentence = seed_sentence(2, "We may disclose your personal information in accordance")
    rated = rate(sentence, sentence, "3.3 Disclosure", kind="moved")
    assert not rated.substantive and rated.alert_topics(WATCHED) == []


def test_clauses_marked_as_date_lines_are_not_substance() -> None:
    change = SectionChange("modified", "Privacy", removed=(Clause("Effective: 1 May 2024; version 3", is_date=True),),
                           added=(Clause("Effective: 2 June 2025; version 4", is_date=True),), heading="Privacy")
    assert not rate_change(change).substantive


def test_date_kind_with_clauses_is_not_substance() -> None:
    rated = rate("Effective date: 2024-01-01", "Effective date: 2025-01-01", "Privacy Policy", kind="date")
    assert not rated.substantive


# ---------------------------------------------------------------------------------------------
# Bad and odd inputs
# ---------------------------------------------------------------------------------------------

def test_text_in_other_scripts_is_compared_not_ignored() -> None:
    rated = rate("我们不会出售您的个人信息。", "我们会出售您的个人信息。", "共享")
    assert rated.substantive
    assert not rate("Nous ne vendons pas vos données.", "Nous ne vendons pas vos données !", "Partage").substantive


def test_no_changes_rate_to_nothing() -> None:
    assert rate_changes([]) == []


def test_modified_change_without_clauses_falls_back_to_before_and_after_text() -> None:
    change = SectionChange("modified", "Retention", before="We keep data for 30 days.",
                           after="We keep data for 2 years.", heading="Retention")
    assert rate_change(change).summary == "retention period 30 days → 2 years"


@pytest.mark.parametrize("before, after", [("", ""), ("   ", "\n"), ("—", "–"), ("***", "")])
def test_empty_or_punctuation_only_clauses_are_not_substance(before: str, after: str) -> None:
    rated = rate(before, after)
    assert not rated.substantive and rated.alert_topics(WATCHED) == []


def test_very_long_rewrite_is_rated_quickly_and_sanely() -> None:
    text = seed_text(3)
    paragraphs = [p for p in text.split("\n") if len(p) > 40][:120]
    rewritten = [p.replace("user information", "personal data") for p in paragraphs]
    rated = rate(paragraphs, rewritten, "Everything")
    assert rated.substantive
    assert 0 < len(rated.summary) <= 200 and "\n" not in rated.summary


def test_to_json_has_the_public_fields() -> None:
    rated = rate("We keep your data for 30 days.", "We keep your data for 2 years.", "5. Retention")
    assert rated.to_json() == {"section": "5. Retention", "kind": "modified", "topics": ["retention"],
                               "severity": "high", "summary": "retention period 30 days → 2 years",
                               "substantive": True, "before": "We keep your data for 30 days.",
                               "after": "We keep your data for 2 years."}


def test_a_list_line_promoted_to_a_heading_is_structure_not_a_removed_clause() -> None:
    from monitor.capture.normalize import normalize
    from monitor.compare.diff import diff_sections
    from monitor.meaning.significance import rate_changes
    from monitor.text.sections import parse_sections

    text = seed_text(4)  # served as Markdown; "- A Special Note about Children." is a list line
    retitled = text.replace("- A Special Note about Children.", "- A Special Note About Children", 1)
    assert retitled != text
    old, new = (parse_sections(normalize(t, content_type="text/markdown")) for t in (text, retitled))

    rated = rate_changes(diff_sections(old, new))

    assert rated and all(r.alert_topics(WATCHED) == [] for r in rated), [(r.change.kind, r.summary) for r in rated]


# ---------------------------------------------------------------------------------------------
# Attribution against the whole policy (issue 12): what only moved, repeated or was navigation

def _alerts(old: str, new: str) -> list[tuple[str, list[str]]]:
    from monitor.meaning.significance import changes_between

    return [(r.summary, r.alert_topics(WATCHED)) for r in changes_between(old, new) if r.substantive]


def test_a_duplicated_paragraph_added_or_removed_is_no_news() -> None:
    text = seed_text(2)
    paragraph = next(p for p in text.split("\n\n") if "share" in p and len(p) > 150)
    doubled = text.replace(paragraph, paragraph + "\n\n" + paragraph, 1)
    assert _alerts(text, doubled) == [] and _alerts(doubled, text) == []


def test_a_new_section_keeps_its_boilerplate_even_if_the_policy_repeats_it_elsewhere() -> None:
    text = "# Policy\n\n## Newsletter\n\nWe keep your address for 6 months. We do not share it with anyone else.\n"
    grown = text + "\n## Support tickets\n\nWe keep tickets for 2 years. We do not share it with anyone else.\n"
    [(summary, topics)] = _alerts(text, grown)
    assert "retention" in topics and "2 years" in summary


def test_a_recipient_that_moves_to_another_paragraph_is_not_added_or_removed() -> None:
    text = ("# Policy\n\n## Sharing\n\nWe share your data with payment processors and advertising networks.\n\n"
            "## Advertising\n\nWe show ads in the app.\n")
    moved = ("# Policy\n\n## Sharing\n\nWe share your data with payment processors.\n\n"
             "## Advertising\n\nWe show ads in the app, and we share your data with advertising networks.\n")
    assert all("recipient" not in summary for summary, _ in _alerts(text, moved))
    brokers = moved.replace("advertising networks.", "advertising networks and data brokers.")
    assert any("adds recipient: data brokers" in summary for summary, _ in _alerts(moved, brokers))


def test_a_company_named_without_a_transfer_verb_is_no_recipient() -> None:
    """'service providers', 'at least' and 'passwords' used to read as sharing verbs."""
    rated = rate("Our service providers help us run the site.",
                 "Our service providers and suppliers help us run the site, at least once a year.")
    assert "recipient" not in rated.summary
    assert "adds recipient: data brokers" in rate("We share data with advertisers.",
                                                  "We share data with advertisers and data brokers.").summary


def test_a_leftover_table_of_contents_line_is_navigation() -> None:
    text = seed_text(2)
    heading = next(s.title for s in parse_sections(text) if "Children" in s.title or "Minors" in s.title)
    with_entry = text.replace("\n\n", f"\n\n{heading}\n\n", 1)
    assert _alerts(with_entry, text) == []


def test_an_email_address_replaced_by_the_normalizers_placeholder_is_form_only() -> None:
    rated = rate("To opt out of the sale of your data, email privacy@example.com. We reply within 30 days.",
                 "To opt out of the sale of your data, email [email] We reply within 30 days.", "Sharing")
    assert not rated.substantive


def test_a_sentence_cut_off_and_run_into_the_next_is_a_capture_artefact() -> None:
    """A capture that breaks off a sentence mid-way (and a later one that restores it) edits nothing."""
    whole = ("# Policy\n\n## Others' services\n\nYou may link your account to other services. Excerpts from your "
             "profile will also appear on the services of others. Subject to your settings, other services may "
             "look up your profile.\n")
    cut = whole.replace("your profile will also appear on the services of others. ", "")
    assert _alerts(whole, cut) == [] and _alerts(cut, whole) == []
    # an editor who drops a sentence whole still removes it
    dropped = whole.replace("Excerpts from your profile will also appear on the services of others. ", "")
    assert any("sharing" in topics for _, topics in _alerts(whole, dropped))


def test_a_lone_list_marker_left_by_a_layout_change_says_nothing() -> None:
    text = ("# Policy\n\n## Sharing\n\nWe share your data with payment processors.\n\n**d.\n\n"
            "We share an identifier with the maker of your TV.\n")
    assert _alerts(text, text.replace("**d.\n\n", "")) == []


def test_a_sentence_moved_under_a_heading_of_its_own_is_no_news() -> None:
    """A run-in heading that becomes a heading, its sentence split off and joined to the next one."""
    text = ("# Policy\n\n## AI providers\n\nWe use Anthropic and OpenAI to draft replies. International transfers: "
            "Anthropic and OpenAI may process data on servers in the US. The transfer relies on "
            "Standard Contractual Clauses\n\nand, where applicable, the EU-U.S. Data Privacy Framework.\n")
    moved = ("# Policy\n\n## AI providers\n\nWe use Anthropic and OpenAI to draft replies.\n\n"
             "## International transfers\n\nAnthropic and OpenAI may process data on servers in the U.S. The transfer "
             "relies on Standard Contractual Clauses and, where applicable, the EU-U.S. Data Privacy Framework.\n")
    assert _alerts(text, moved) == [] and _alerts(moved, text) == []
    # what the other version does not say is still news
    sold = moved.replace("may process data", "may process and sell data")
    assert any("sharing" in topics for _, topics in _alerts(text, sold))


def test_a_company_data_comes_from_or_that_is_given_no_data_is_no_recipient() -> None:
    rated = rate("We also receive information from advertising partners to provide research services.",
                 "We also receive information from partners to provide research services.")
    assert "recipient" not in rated.summary
    rated = rate("Gumb provides the app.", "Gumb merely provides the technical platform and the app.")
    assert "recipient" not in rated.summary
    assert "adds recipient: advertising partners" in rate(
        "We provide your information to partners.",
        "We provide your information to partners and advertising partners.").summary


def test_a_heading_without_text_of_its_own_states_nothing() -> None:
    """A list line promoted to a numbered heading over an unchanged subsection is structure."""
    text = ("# Policy\n\n## Data minimization\n\nWe collect little.\n\n### Summary - Data retention\n\n"
            "We keep logs for 180 days.\n")
    promoted = text.replace("### Summary", "## 14. Data retention\n\n### Summary")
    assert _alerts(text, promoted) == []


def test_a_section_of_labels_under_a_topic_heading_is_not_about_that_topic() -> None:
    text = ("# Policy\n\n## Cookies\n\nWe use cookies to run the site.\n\n## Who serves these cookies\n\n"
            "Alibaba.com\n\nGoogle\n\nCriteo\n\nBing\n")
    assert all("sharing" not in topics for _, topics in _alerts(text, text.split("## Who")[0]))
    shares = text.replace("Criteo\n", "We share your browsing data with these advertisers.\n")
    assert any("sharing" in topics for _, topics in _alerts(shares, shares.split("## Who")[0]))


def test_a_lone_conjunction_put_in_or_taken_out_is_grammar() -> None:
    assert form_only("Buyers or in connection with business transfer.", "Buyers in connection with business transfer.")
    assert form_only("We do not share and/or sell your profile.", "We do not share or sell your profile.")
    assert not form_only("We do not sell your data.", "We do not sell or share your data.")


def test_a_menu_captured_with_the_page_is_navigation_even_where_a_label_names_a_topic() -> None:
    policy = "## Privacy Policy\n\nWe do not knowingly collect data from children under 13.\n"
    menu = ("Home\n\nNews\n\nChildren and Safety\n\nParental Guidance\n\nTerms\n\n"
            "Do not sell my personal information\n\nCookies\n\n")
    assert _alerts(menu + policy, policy) == [] and _alerts(policy, menu + policy) == []
    listed = ("## Sharing\n\nWe share your data with:\n\n- advertisers\n- data brokers\n- insurers\n- banks\n")
    assert any("sharing" in topics for _, topics in _alerts(policy, policy + listed))


def test_what_the_user_does_is_no_promise_about_the_data() -> None:
    from monitor.meaning.facts import statements

    assert statements("This policy explains how you can update, manage, export and delete your information.") == {}
    assert statements("If you delete your account, we will delete your data.") == {"delete": {(False, "will")}}
    assert "share" in statements("You can ask us to share your data with your bank.")
    intro = ("# Policy\n\n## Introduction\n\nThis policy helps you understand how you can update, manage, export "
             "and delete your information.\n\n## Retention\n\nWe keep logs for 30 days.\n")
    without = intro.split("## Introduction")[0] + "## Retention" + intro.split("## Retention")[1]
    assert all(topics == [] for _, topics in _alerts(intro, without))


def test_text_folded_behind_a_more_link_is_not_removed() -> None:
    text = ("# Policy\n\n## Retention\n\nWe keep your data while your account is open. After you close your account, "
            "we keep your transaction details for 6 years.\n\n## Contact\n\nWrite to us.\n")
    folded = text.replace("After you close your account, we keep your transaction details for 6 years.", "See more")
    assert _alerts(text, folded) == [] and _alerts(folded, text) == []
    cut = text.replace(" After you close your account, we keep your transaction details for 6 years.", "")
    assert any("retention" in topics for _, topics in _alerts(text, cut))


def test_a_reworded_clause_is_about_what_both_versions_or_its_changed_words_are_about() -> None:
    from monitor.meaning.significance import reworded_topics

    old = Clause("You can learn more about how to opt out of personalized advertising by going to the Your Ads "
                 "Privacy Choices page.")
    new = Clause("You can learn more about how to opt out of personalized advertising by visiting Your Ads "
                 "Privacy Choices.")
    assert all("sharing" not in topics for topics in reworded_topics(old, new, "What about advertising?"))
    sold = Clause("You can learn more about how to opt out of the sale of your data to advertisers by visiting "
                  "Your Ads Privacy Choices.")
    assert "sharing" in reworded_topics(old, sold, "What about advertising?")[1]


def test_words_replaced_inside_a_sharing_sentence_are_rewording_unless_they_carry_sharing() -> None:
    # both versions are about sharing, but the edit only renames a product: no sharing news
    old = ("Messages you posted and posts made on timelines and bulletin boards will be made available to third "
           "parties according to your disclosure setting.")
    renamed = old.replace("timelines", "LINE VOOM")
    assert rate(old, renamed, "Provision of Personal Data").alert_topics(WATCHED) == []
    # a vendor swapped far from the sharing verb is a sharing change
    vendors = ("When you purchase Third Party Services through Nord (such as Incogni, Saily, or NordProtect), you "
               "agree that certain information (e.g., your email address, payment amount, and Subscription ID) will "
               "be shared with the provider of Third Party Services.")
    assert rate(vendors, vendors.replace("NordProtect", "Coveron"), "Purchases").alert_topics(WATCHED) == ["sharing"]
    # words only added widen what the clause says: one more case in which ride details are shared
    rides = ("If a ride is requested using a Lyft Business Profile account; a pass, code or coupon; or a corporate "
             "credit card linked to another account, we may share some or all of that ride's details with that "
             "other party.")
    family = rides.replace("account; a pass", "account; a Lyft Family account; a pass")
    assert rate(rides, family, "Rides").alert_topics(WATCHED) == ["sharing"]
    # a period changed away from the retention words still alerts, through the period rule
    kept = "We keep your invoices and the receipts we email to you for 4 years after your last payment."
    assert rate(kept, kept.replace("4 years", "6 years"), "Donations").alert_topics(WATCHED) == ["retention"]


def test_a_company_added_to_a_list_of_recipients_is_a_new_recipient() -> None:
    text = ("# Policy\n\n## Email\n\nOur email management vendors are SalesForce Marketing Cloud, Send in Blue or "
            "Mailchimp, and you can unsubscribe using the link at the bottom of the email.\n")
    added = text.replace("Send in Blue or Mailchimp", "Send in Blue, Mailchimp or Acoustic")
    assert ("adds recipient: Acoustic", ["sharing"]) in _alerts(text, added)
    # a company the policy already names elsewhere is no new recipient
    known = added.replace("the email.\n", "the email.\n\nAcoustic also hosts our newsletter archive.\n")
    assert all("Acoustic" not in summary for summary, _ in _alerts(text + "\nAcoustic hosts our archive.\n", known))


def test_a_summary_is_the_same_in_every_process():
    """The modal a summary quotes ("may be shared") does not depend on the process's hash seed (a set of
    (negated, modal) pairs once ordered None by its hash, so two runs could say "is shared" and "may be")."""
    import subprocess
    import sys

    script = (
        "from monitor.meaning.significance import changes_between\n"
        "a = '# P\\n\\n## Use\\n\\nWe use your email address to send you receipts for your orders.\\n'\n"
        "b = a.replace('orders.', 'orders, and we may share it and will disclose it and share your personal data'"
        " ' with our partners.')\n"
        "print([c.summary for c in changes_between(a, b)])\n"
    )
    summaries = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                                env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2, 4)}
    assert len(summaries) == 1 and "may be shared" in summaries.pop()


def test_words_added_to_a_sentence_keep_only_the_topics_its_own_words_show() -> None:
    """A topic only the heading lends (a cross-reference under "Retention") is what the section is about:
    words added to that sentence widen the sentence, not the section's topic. The clause's own words
    count whether a rule or the model (reading the sentence without its heading) shows the topic."""
    pointer = ('For more information about retention generally and protections for user content specifically, '
               'please see "How Does Grammarly Secure and Store Personal Data?" and our Technical Specifications.')
    widened = pointer.replace("Specifications.", "Specifications (as applicable).")
    assert rate(pointer, widened, "Retention").alert_topics(WATCHED) == []
    # the same kind of edit to a sentence whose own words keep data (a rule misses "retain …
    # conversations"; the model reads it): a new purpose of keeping it is retention news
    kept = "We retain support conversations to answer your questions."
    more = kept.replace("questions.", "questions and to train our support staff.")
    assert rate(kept, more, "Retention").alert_topics(WATCHED) == ["retention"]
    # a new sentence under the same heading is still about what the section is about
    assert rate([], "Support tickets are archived when they are closed.", "Retention").alert_topics(WATCHED) \
        == ["retention"]
    # a heading naming an audience scopes every sentence under it, widened ones too
    child = "If we learn that we have collected such information, we will delete it."
    assert rate(child, child.replace("delete it.", "delete it and tell the school."),
                "Children's Privacy").alert_topics(WATCHED) == ["minors"]


# ---------------------------------------------------------------------------------------------
# Fifth pass: a fact or a topic is read where it is stated (docs/significance-on-histories.md)
# ---------------------------------------------------------------------------------------------

def test_a_renamed_heading_states_only_its_numbers() -> None:
    """A heading names what its section is about: "Disclosure of …" → "Sharing your information" says
    nobody now shares anything; "Children under 13" → "under 16" still changes an age."""
    from monitor.meaning.significance import changes_between

    policy = ("# Policy\n\n## Disclosure of your information\n\nWe give your order details to the restaurant you "
              "order from.\n\n## Children under 13\n\nWe do not knowingly collect data from them.\n")
    renamed = changes_between(policy, policy.replace("Disclosure of", "Sharing"))
    assert [(c.change.kind, c.alert_topics(WATCHED), c.substantive) for c in renamed] == [("renamed", [], False)]
    older = changes_between(policy, policy.replace("under 13", "under 16"))
    assert [(c.alert_topics(WATCHED), c.summary) for c in older] == [(["minors"], "age threshold 13 → 16")]


def test_a_harm_the_text_guards_data_against_is_no_statement_that_it_happens() -> None:
    old = ("We adopt robust technologies and policies to ensure the personal information we hold about you is "
           "suitably protected.")
    new = ("We adopt robust technologies and policies to protect your information from being accidentally lost, "
           "used or accessed in an unauthorised way, altered or disclosed.")
    assert rate(old, new, "Security").alert_topics(WATCHED) == []
    # a purpose guarded against ("to prevent fraud") does not hide the sharing that serves it
    shared = rate(old, [new, "To prevent fraud, we may share your payment details with banks."], "Security")
    assert shared.alert_topics(WATCHED) == ["sharing"]
    assert "now says data may be shared" in shared.summary


def test_a_period_is_a_retention_period_only_where_a_sentence_keeps_data_for_it() -> None:
    """"During the past 12 months" in a California notice is a look-back, not how long data is kept, even
    next to a sentence about deleting data; the same change to a sentence that keeps data is retention."""
    rights = ["You can ask us to delete the personal information we collected from you.",
              "You can ask which categories of personal information we collected about you during the past "
              "12 months."]
    longer = [rights[0].replace("from you.", "from you, subject to exceptions."),
              rights[1].replace("12 months", "24 months")]
    looked_back = rate(rights, longer, "California Residents")
    assert "retention" not in looked_back.alert_topics(WATCHED)
    assert "period 12 months → 24 months" in looked_back.summary
    kept = rate("We keep your order history for 12 months.", "We keep your order history for 24 months.",
                "California Residents")
    assert kept.alert_topics(WATCHED) == ["retention"] and kept.summary == "retention period 12 months → 24 months"
    # a sentence without a keeping word still counts when the clause is about retention ("How long we keep")
    assert rate("Order records: 12 months.", "Order records: 24 months.",
                "How long we keep data").alert_topics(WATCHED) == ["retention"]


def test_a_topic_both_versions_carry_needs_the_edit_even_when_another_topic_comes_or_goes() -> None:
    """Words replaced far from a sentence's retention period are no retention news, whether or not the new
    words bring a topic of their own (here minors): the third pass applied this only when both versions
    read as the same topics, so a topic the edit brought kept every other one alive."""
    from monitor.meaning.significance import reworded_topics

    old = Clause("Each month our team uses SalesForce to email you a donation receipt, and as the law requires, "
                 "the records of these donations are then retained for four years.")
    new = Clause(old.text.replace("uses SalesForce to email you", "uses Acoustic to email children under 13 and you"))
    assert reworded_topics(old, new, "Donations") == ([], ["minors"])
    assert reworded_topics(old, Clause(old.text.replace("SalesForce", "Acoustic")), "Donations") == ([], [])


def test_an_ing_form_used_as_a_noun_is_no_statement() -> None:
    """"Opt out of sales, sharing, or targeted advertising" names an activity; "we are sharing" and "by
    selling it" state one."""
    from monitor.meaning.facts import statements

    agents = ("If you are an authorized agent seeking to make a request to opt out of sales, sharing, or targeted "
              "advertising on behalf of a consumer, please see our Privacy and Data Rights page.")
    assert "share" not in statements(agents)
    appeal = "If we deny your request, you may appeal our decision."
    assert rate(appeal, [appeal, agents], "Appeals").alert_topics(WATCHED) == []
    assert statements("We are sharing your order details with couriers.")["share"] == {(False, None)}
    assert statements("We make money by selling your data to brokers.")["sell"] == {(False, None)}


def test_a_recipient_is_named_by_its_noun_phrase_without_prepositions_or_verbs() -> None:
    """"Communication between buyers" and "within PayPal subsidiaries" name buyers and PayPal subsidiaries;
    "third parties" and "third-party" are one recipient: rewording around a recipient adds none."""
    from monitor.meaning.facts import recipients

    def keys(text: str) -> set[str]:
        return set(recipients([Clause(text)]))

    assert keys("We may share information within PayPal subsidiaries.") == {"paypal subsidiary"}
    assert keys("We share data to facilitate communication between buyers and sellers.") == {"buyer"}
    assert keys("We share your data with third parties.") == keys("We share your data with a third-party.")
    assert keys("We share data with unaffiliated third parties and advertising partners.") == {
        "unaffiliat thirdparty", "advertiz partner"}
    moved = rate("We may share information with PayPal subsidiaries.",
                 "We may share information within PayPal subsidiaries.", "Sharing")
    assert "recipient" not in moved.summary


def test_text_re_nested_by_formatting_alone_names_no_new_recipient():
    """alibaba.com 046 → 047 (recorded by Open Terms Archive contributors, ODC-BY 1.0), labelled cosmetic: bold
    headings turned plain and spaces changed, so the sections re-nest and a list flattened into one clause read
    "a sole trader Buyer" as a recipient. The old version states that clause word for word: no news."""
    from monitor.meaning.significance import changes_between
    from tests.replay import load_histories

    versions = {v.name: v.text for v in load_histories(services=["alibaba-com"])["alibaba-com"]}
    rated = changes_between(versions["046_2022-02-28"], versions["047_2022-03-05"])
    assert rated and not [f for c in rated for f in c.findings if f.rule == "recipients"]
    assert not [c for c in rated if c.substantive and "sharing" in c.topics]


# ---------------------------------------------------------------------------------------------
# Sixth pass: page chrome, link labels and names (docs/significance-on-histories.md). Real changes of the
# dev histories, recorded by Open Terms Archive contributors (ODC-BY 1.0), as a check sees them: each
# version dressed in changing page chrome and normalized (tests/replay.py), then rated.
# ---------------------------------------------------------------------------------------------

_SIXTH_PASS_SERVICES = ("123greetings", "alibaba-com", "coindesk", "line", "outbrain")


@functools.lru_cache(maxsize=1)
def _recorded() -> dict[str, dict[str, str]]:
    from tests.replay import load_histories

    return {name: {v.name: v.text for v in versions}
            for name, versions in load_histories(services=_SIXTH_PASS_SERVICES).items()}


def _as_checked(service: str, version: str) -> str:
    """A recorded version as `check` stores it: served in page chrome, normalized."""
    from monitor.capture.document import document_text
    from tests.replay import dress

    return document_text(dress(_recorded()[service][version], 1).encode(), content_type="text/html; charset=utf-8")


def _step_alerts(service: str, old: str, new: str) -> list[str]:
    from monitor.meaning.significance import changes_between

    rated = changes_between(_as_checked(service, old), _as_checked(service, new), WATCHED)
    assert rated, "the step changes something"
    return sorted({t for c in rated for t in c.alert_topics(WATCHED)})


def test_link_labels_run_together_in_one_line_are_a_menu() -> None:
    """coindesk 004 → 005, labelled cosmetic: the page's footer links, captured without spaces between
    them ("EthicsPrivacyTerms of UseCookie ConsentDo Not Sell My Info"), had "Cookie Consent" renamed
    "Cookie Settings". Five labels in a row are a footer, not a statement that data is not sold."""
    from monitor.meaning.significance import _without_menus

    assert _step_alerts("coindesk", "004_2025-04-03", "005_2025-04-04") == []
    footer = Clause("EthicsPrivacyTerms of UseCookie SettingsDo Not Sell My Info")
    assert _without_menus((footer,)) == ()
    # names written in camel case inside a sentence, or two labels alone, are no menu
    said = Clause("We share your data with LinkedIn and PayPal")
    assert _without_menus((said,)) == (said,)
    assert _without_menus((Clause("CoinDesk Podcast"),)) == (Clause("CoinDesk Podcast"),)
    # a sentence without a full stop is no run of labels because a brand in it is written in camel case
    sold = rate([], ["Sharing", "Your data is sold to eBay and iTunes"], "Sharing")
    assert "sharing" in sold.alert_topics(WATCHED)
    # the promise beside it still counts when it goes
    promise = "We do not sell your personal information."
    assert rate([promise, footer.text], [footer.text.replace("Settings", "Consent")],
                "Privacy").alert_topics(WATCHED) == ["sharing"]


def test_a_recipient_word_that_qualifies_the_users_or_data_after_it_names_no_recipient() -> None:
    """alibaba.com 056 → 057, labelled cosmetic: "visitors (i.e., non-registered Platform Users)" → "(i.e.,
    non-registered Users)" in a sentence that discloses information. "Platform" qualifies "Users": the head of
    a noun phrase is its last noun, so no recipient "non-registered platform" was removed."""
    from monitor.meaning.facts import recipients

    assert _step_alerts("alibaba-com", "056_2025-12-31", "057_2026-01-05") == []

    def keys(text: str) -> set[str]:
        return set(recipients([Clause(text)]))

    assert keys("We disclose information about visitors (i.e., non-registered Platform Users).") == set()
    assert keys("We disclose partner information to our service providers.") == {"servic provider"}
    # a plural before a data word is the recipient given it; a platform data goes to is one
    assert keys("We provide partners information about your orders.") == {"partner"}
    assert keys("We share your data with the platform you connect.") == {"platform"}


def test_list_items_under_an_ellipsis_link_are_link_labels() -> None:
    """123greetings 041 → 042 and 042 → 043, labelled cosmetic: the site's events menu ("Child Health Day
    (Oct 5, 2020)" under a "More..." link) changed day by day. An ellipsis ends a link, not a sentence, so the
    items are labels and the menu is navigation (before: minors, from "Child", and a number change)."""
    assert _step_alerts("123greetings", "041_2020-10-02", "042_2020-10-03") == []
    assert _step_alerts("123greetings", "042_2020-10-03", "043_2020-10-04") == []
    menu = ["Send a Smile Day", "Techies Day", "Child Health Day (Oct 5, 2020)", "Columbus Day (Oct 12, 2020)"]
    after = [*menu[:2], "Boss's Day", "Dessert Day (Oct 14, 2020)"]
    assert rate(menu, after, "Events", lead_in="More...").alert_topics(WATCHED) == []
    # a list a sentence announces is what the policy says, however short its items
    shared = rate(["Advertisers", "Analytics providers", "Payment processors", "Couriers"],
                  ["Advertisers", "Analytics providers", "Payment processors", "Data brokers"],
                  "Sharing", lead_in="We share your personal information with:")
    assert shared.alert_topics(WATCHED) == ["sharing"]
    # a sentence left open by an ellipsis announces its list too: only a link of a few words is a label
    for lead_in in ("We may sell your data to...", "We may sell your data to…"):
        sold = rate([], ["data brokers", "advertisers", "insurance companies", "your employer"], "Sharing",
                    lead_in=lead_in)
        assert sold.alert_topics(WATCHED) == ["sharing"], lead_in


def test_a_name_renamed_throughout_the_check_is_no_party_swapped() -> None:
    """gmail 035 → 036 (ODC-BY 1.0), labelled cosmetic: "Bard" became "Gemini Apps" in five clauses. Read with a
    topic model that had not seen Gmail's policy, one of them was a sharing sentence, and a name swapped in a
    sharing sentence counted as a new party. A swap the whole check makes in three or more clauses is a rename
    (`policy_renames`); the same swap made once is still a vendor replaced."""
    from monitor.meaning.significance import changes_between

    vendors = ("When you purchase Third Party Services through Nord (such as Incogni, Saily, or NordProtect), you "
               "agree that certain information (e.g., your email address, payment amount, and Subscription ID) will "
               "be shared with the provider of Third Party Services.")
    policy = (f"# Policy\n\n## Purchases\n\n{vendors}\n\n## Products\n\nNordProtect monitors the dark web for "
              "leaked passwords of the accounts you add.\n\nYou can cancel NordProtect in your account settings at "
              "any time.\n")
    # renamed throughout, and the sharing sentence also loses a "that" (as Gmail's lost a "to"): no party swapped
    renamed = changes_between(policy, policy.replace("NordProtect", "Coveron").replace("agree that", "agree"), WATCHED)
    assert renamed and not [c for c in renamed if c.alert_topics(WATCHED)]
    swapped = changes_between(policy, policy.replace("or NordProtect)", "or Coveron)").replace("agree that", "agree"),
                              WATCHED)
    assert sorted({t for c in swapped for t in c.alert_topics(WATCHED)}) == ["sharing"]


def test_a_quoted_link_text_after_click_is_a_pointer() -> None:
    """line 002 → 003 (labelled material, but for none of the watched topics): "Please click here to confirm the
    details regarding third-party modules." → "Please click "Embedding modules of other companies" to confirm …".
    The link's text stands where "here" stood: the sentence points to a page, it states no practice."""
    from monitor.text.wording import says_something

    assert _step_alerts("line", "002_2021-02-23", "003_2021-07-27") == []
    assert not says_something(Clause('Please click "Embedding modules of other companies" to confirm the details '
                                     'regarding third-party modules.'))
    # a statement that quotes a button is still a statement
    assert says_something(Clause('If you click "Accept", we share your browsing data with our advertising '
                                 'partners and their vendors.'))
    # only an instruction to click is a pointer: a short conditional statement quoting a button is not
    assert says_something(Clause('If you click "I agree", we share your data with advertisers.'))
    assert says_something(Clause('When you tap “Accept”, we sell your personal data to data brokers.'))


def test_a_whole_section_is_not_about_a_topic_its_heading_lends_to_a_few_of_its_sentences() -> None:
    """coindesk 053 → 054, labelled cosmetic: the page's footer, captured after the policy ("DISCLOSURE &
    POLICES" over a note on CoinDesk's editorial independence), was gone. Its heading lent sharing to one
    sentence of six; that is not what the section is about. outbrain 024 → 025's new "Data Broker Requirements"
    section, whose every sentence speaks of data brokers, is still sharing."""
    assert _step_alerts("coindesk", "053_2025-04-28", "054_2025-04-28") == []
    assert _step_alerts("outbrain", "024_2026-04-30", "025_2026-06-03") == ["sharing"]


# ---------------------------------------------------------------------------------------------
# A new user's trial on real policies: facts read wrong. Sentences and steps from the train histories,
# recorded by Open Terms Archive contributors (ODC-BY 1.0).
# ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _trial_versions(service: str) -> dict[str, str]:
    from tests.replay import load_histories

    return {v.name: v.text for v in load_histories(services=[service])[service]}


def _step_findings(service: str, old: str, new: str, rule: str) -> list[str]:
    from monitor.meaning.significance import changes_between

    versions = _trial_versions(service)
    return [f.summary for c in changes_between(versions[old], versions[new]) for f in c.findings if f.rule == rule]


def test_a_possessive_belongs_to_the_recipient_it_names() -> None:
    """lyft 005 → 006 (Open Terms Archive, ODC-BY 1.0) said "adds recipient: s platform": the recipient's
    words started inside "Lyft’s". A possessive is part of the owner's name, curly or straight, and a party
    word that owns the next word ("partner's platform") is not a recipient of its own."""
    from monitor.meaning.facts import recipients

    lead_in = ("We disclose those categories of personal information to these other parties and service providers "
               "to fulfill the following purposes:")
    item = ("Providing marketing and advertising services, including targeted and cross-contextual behavioral "
            "advertising, that you may receive on or off Lyft’s Platform;")
    # "on or off Lyft's Platform" is where the ads are received, not a party (the place rule below)
    assert recipients([Clause(item, lead_in)]) == recipients([Clause(item.replace("’", "'"), lead_in)]) == {}
    assert recipients([Clause("We disclose your data to Lyft’s affiliates.")]) == {"lyft affiliat": "lyft's affiliates"}
    assert recipients([Clause("We may share your data with our partner's platform.")]) == {
        "partner platform": "partner's platform"}
    assert list(recipients([Clause("We share data with Amazon's subsidiaries.")]).values()) == [
        "amazon's subsidiaries"]
    assert not [s for s in _step_findings("lyft", "005_2023-12-13", "006_2025-12-10", "recipients")
                if "s platform" in s]


def test_a_word_that_opens_a_clause_never_starts_a_recipient() -> None:
    """grammarly 003 → 004 and 006 → 007 (Open Terms Archive, ODC-BY 1.0) said "adds/removes recipient: because
    another organization": the clause's subordinator was read into the name. Conjunctions, subordinators and
    verbs taking the party as object ("allow third parties") start no name; a party that is the subject of a
    reason ("because another organization is buying") is none."""
    from monitor.meaning.facts import recipients

    grammarly = ("If you receive our products because another organization is buying or making them available to "
                 "you, such as if you are a member of a Grammarly Business or Grammarly for Education team account, "
                 "we process your personal data on behalf of that organization in accordance with our contract with "
                 "them and this Privacy Policy does not apply.")
    assert not [p for p in recipients([Clause(grammarly)]).values() if p.split()[0] in ("because", "another")]
    for opener in ("and", "or", "that", "which", "because", "although"):
        phrases = recipients([Clause(f"We share your data with partners {opener} advertisers get it too.")])
        assert not [p for p in phrases.values() if p.startswith(opener)], opener
    assert list(recipients([Clause("We share your data and allow third parties to use it.")]).values()) == [
        "third parties"]
    assert list(recipients([Clause("We share your data with partners because partners need it.")])) == ["partner"]
    assert not [s for step in (("003_2023-09-21", "004_2024-06-21"), ("006_2024-07-10", "007_2024-11-07"))
                for s in _step_findings("grammarly", *step, "recipients") if "because" in s]


def test_third_party_before_a_noun_qualifies_it() -> None:
    """grammarly 006 → 007 (Open Terms Archive, ODC-BY 1.0) said "adds recipients: advertising partners,
    thirdparty": "on third-party websites" names websites, and "third-party" as a recipient is spelt so."""
    from monitor.meaning.facts import recipients

    grammarly = ("We also disclose certain categories of personal information to advertising partners in order to "
                 "promote Grammarly on third-party websites and services.")
    assert recipients([Clause(grammarly)]) == {"advertiz partner": "advertising partners"}
    assert recipients([Clause("We share your data with a third-party.")]) == {"thirdparty": "third-party"}
    assert recipients([Clause("We share your data with a third-party acting for us.")]) == {
        "thirdparty": "third-party"}
    assert recipients([Clause("We disclose data to third-party service providers.")]) == {
        "servic provider": "service providers"}
    assert not [s for s in _step_findings("grammarly", "006_2024-07-10", "007_2024-11-07", "recipients")
                if "thirdparty" in s]
    # the whole policy is searched for the phrase as its bodies are spelt: a third-party named elsewhere is found
    from monitor.meaning.significance import WholePolicy

    sections = parse_sections("# Privacy\n\n## Sharing\n\nWe share your data with a third-party.\n")
    assert WholePolicy(sections, sections).names_recipient(0, "thirdparty", "third-party")


def test_a_look_back_window_a_response_deadline_or_a_frequency_is_no_retention_period() -> None:
    """lyft 003 → 004 (Open Terms Archive, ODC-BY 1.0) said "removes period: 12 months" for a look-back and
    "removes retention period: 12 months, 1 year, 45 days" for a CCPA rights section: how far back a notice
    looks, how soon a request is answered and how often it may be made are not how long data is kept."""
    from monitor.meaning.facts import periods

    def roles(text: str) -> list[tuple[str, str]]:
        return [(p.label, p.role) for p in periods(text)]

    shared = ("Depending on whether you’re a Rider or a Driver, Lyft may share the following categories of your "
              "personal information for a business purpose (as we have done for the preceding 12 months) to "
              "provide you with a variety of the Lyft Platform’s features and services:")
    know = ("**Right to Know.** You have the right to know and see what data we have collected about you over the "
            "past 12 months, including:")
    once = "This request is free and may be made once a year."
    answer = ("**Response Timing and Format.** We aim to respond to a consumer request for access or deletion "
              "within 45 days of receiving that request.")
    assert roles(shared) == roles(know) == [("12 months", "look-back")]
    assert roles(once) == [("1 year", "frequency")]
    assert roles(answer) == [("45 days", "deadline")]
    assert roles("A response to your complaint within 45 days") == [("45 days", "deadline")]   # outbrain 008
    assert roles("We will process your request within 30 days.") == [("30 days", "deadline")]
    assert roles("You may ask what we collected in the 12 months preceding your request.") == [
        ("12 months", "look-back")]
    # a length stays one, also beside a request, and wins over a look-back of the same label
    assert roles("We delete your data within 30 days of your request.") == [("30 days", "length")]
    assert roles("We keep logs for 12 months. You can ask what we collected in the past 12 months.") == [
        ("12 months", "length")]

    rights = rate([know, once, answer], [], "B. State-Specific Rights")
    assert "retention" not in rights.alert_topics(WATCHED) and "period" in rights.summary
    assert "retention period" not in rights.summary
    looked_back = rate(shared, shared.replace("12 months", "24 months"), "Sharing")
    assert "look-back period 12 months → 24 months" in looked_back.summary
    sooner = rate(answer, answer.replace("45 days", "30 days"), "Your Rights")
    assert "response deadline 45 days → 30 days" in sooner.summary
    assert "retention" not in sooner.alert_topics(WATCHED)
    # a kept length beside a deadline is still retention, and the deadline is no part of it
    kept = rate(["We keep your order history for 12 months.", answer],
                ["We keep your order history for 24 months.", answer.replace("45 days", "30 days")], "Privacy")
    assert kept.summary.startswith("retention period 12 months → 24 months")
    assert not [s for s in _step_findings("lyft", "003_2022-09-20", "004_2022-12-12", "period")
                if "retention" in s]


def test_numbers_of_a_postal_address_are_no_fact() -> None:
    """nextdoor 001 → 002 (Open Terms Archive, ODC-BY 1.0) said "number 1801, 7 → 18, 1400, 4": Nextdoor Canada
    moved office. Street, suite and postcode numbers state no fact; the change has the generic summary."""
    before = ("If you reside in Canada, contact us at Nextdoor Canada Ltd, 1 Yonge Street Suite 1801 Toronto, "
              "Ontario M5E 1W7. Email: privacy@nextdoor.com.")
    after = ("If you reside in Canada, contact us at Nextdoor Canada Ltd, 18 King Street East, Suite 1400, Toronto, "
             "Ontario M5C 1C4. Email: privacy@nextdoor.com.")
    moved = rate(before, after, "Contact Us")
    assert not [f for f in moved.findings if f.rule == "number"]
    assert moved.summary == "contact clause modified"
    assert _step_findings("nextdoor", "001_2021-08-18", "002_2021-11-30", "number") == []
    # the Irish office (nextdoor 003), a US one, and a number that is no address still summarised
    dublin = ("If you reside in the EU, contact us at Nextdoor EMEA Limited, The Greenway, Ardilaun Court, 112-114 "
              "St. Stephen’s Green, Dublin 2, D02 TD28, Ireland.")
    assert not rate(dublin, dublin.replace("112-114", "110"), "Contact Us").findings
    us = "Write to us at 500 Howard St., Suite 300, San Francisco, CA 94105."
    assert not rate(us, us.replace("500", "600").replace("94105", "94107"), "Contact Us").findings
    assert rate("We keep 3 copies of your data.", "We keep 4 copies of your data.",
                "Security").summary == "number 3 → 4"


def test_a_discourse_marker_or_a_pointer_names_no_purpose() -> None:
    """grammarly 003 → 004 (Open Terms Archive, ODC-BY 1.0) said "adds purposes: for example, we process your
    user content …, for more details about what you instruct us to do with your" and "removes purposes: for
    the following specific purposes"; outbrain 012 → 013 "removes purpose: in order to do this". An opener that
    introduces an example, a pointer or a condition names no purpose, nor do words that only point at purposes
    named elsewhere; a list item's purpose ends with its phrase, not at the next clause."""
    from monitor.meaning.facts import purposes

    lead_in = "We use your personal data for the following purposes:"
    grammarly = ("For example, depending on your location and consent settings, we may use account information to "
                 "send you marketing emails about new products or offers, from which you can unsubscribe.")
    assert purposes([Clause(grammarly, lead_in)]) == {}
    assert purposes([Clause(lead_in)]) == {}
    assert purposes([Clause("We use your personal data for the following specific purposes:")]) == {}
    outbrain = ("In order to do this, we collect the following information from your device: (i) IP address; "
                "(ii) User Agent data: device type (e.g., iPhone), browser type (e.g., Chrome), operating system "
                "(e.g., iOS)")
    assert purposes([Clause(outbrain)]) == {}
    nordvpn = ("In order to delete all of your data, we would need to delete all of your Accounts associated with "
               "different Nord products (in order to do so, please contact our support team)")
    assert list(purposes([Clause(nordvpn)]).values()) == ["in order to delete all of your data"]
    # the pointer class, not a list of phrases: any purpose named only by determiners and pointers is none
    for pointer in ("for these purposes", "for the purposes described above", "for such purposes",
                    "for the purpose of this privacy policy", "for more information, see our cookie notice"):
        assert purposes([Clause(f"We may use your data {pointer}.")]) == {}, pointer
    assert list(purposes([Clause("We use your data for these advertising purposes.")]).values()) == [
        "for these advertising purposes"]
    line = ("In order to create an Account, you need to register your phone number or Facebook ID.")
    assert list(purposes([Clause(line, "We use your information as follows:")]).values()) == [
        "in order to create an account"]
    found = [s for step in (("003_2023-09-21", "004_2024-06-21"), ("006_2024-07-10", "007_2024-11-07"))
             for s in _step_findings("grammarly", *step, "purposes")]
    assert found and not [s for s in found if "for example" in s or "for the following" in s
                          or "for more details" in s], found
    assert not [s for s in _step_findings("outbrain", "012_2024-08-09", "013_2025-03-18", "purposes")
                if "in order to do this" in s or "this privacy policy" in s]


def test_a_generic_noun_left_over_or_a_bullet_letter_names_no_recipient() -> None:
    """grammarly 006 → 007 (Open Terms Archive, ODC-BY 1.0) said "adds recipients: similar authorities,
    authorities, company"; outbrain 007 → 008 "adds recipients: public authorities, organization"; alibaba-com
    047 lists "o payment service providers" with a bullet written as the letter o. A lone generic party noun
    ("that organization", "the company", "other organizations") refers back to a party or to anyone and names
    no kind of recipient; "similar", like "other", qualifies no new one; a one-letter word is never part of a
    name; a party word before the record it qualifies ("bank routing numbers") is none."""
    from monitor.meaning.facts import recipients

    grammarly = ("If you receive our products because another organization is buying or making them available to "
                 "you, such as if you are a member of a Grammarly Business or Grammarly for Education team account, "
                 "we process your personal data on behalf of that organization in accordance with our contract with "
                 "them and this Privacy Policy does not apply.")
    assert recipients([Clause(grammarly)]) == {}
    authorities = ("**Government, legal, and similar authorities.** We may disclose information about you to "
                   "governmental agencies, regulators, and other authorities or authorized parties to comply with "
                   "any applicable law, regulation, legal process, or appropriate governmental request.")
    assert "similar authorities" not in recipients([Clause(authorities)]).values()
    alibaba = ("o payment service providers who collect and process personal information to assist with settling "
               "the payments for transactions or process withdrawal requests for Sellers.")
    alibaba_lead_in = ("We may disclose (or provide access to) personal information to the following categories of "
                       "recipients:")
    assert list(recipients([Clause(alibaba, alibaba_lead_in)]).values()) == ["payment service providers"]
    lyft = ("Financial information, such as bank routing numbers, tax information, and any other payment "
            "information you provide us;")
    lead_in = ("Depending on whether you’re a Rider or a Driver, Lyft may share the following categories of your "
               "personal information for a business purpose (as we have done for the preceding 12 months) to "
               "provide you with a variety of the Lyft Platform’s features and services:")
    assert recipients([Clause(lyft, lead_in)]) == {}
    assert list(recipients([Clause("We may share your data with a bank.")]).values()) == ["bank"]
    assert list(recipients([Clause("We share data with affiliated companies.")]).values()) == ["affiliated companies"]
    assert not [s for s in _step_findings("grammarly", "006_2024-07-10", "007_2024-11-07", "recipients")
                if "company" in s or "similar" in s]
    assert not [s for s in _step_findings("outbrain", "007_2023-05-05", "008_2023-11-01", "recipients")
                if "organization" in s]


def test_a_platform_after_a_preposition_of_place_is_where_not_to_whom() -> None:
    """lyft (Open Terms Archive, ODC-BY 1.0): "advertising … that you may receive on or off Lyft's Platform"
    listed "Lyft's Platform" as a recipient."""
    from monitor.meaning.facts import recipients

    assert recipients([Clause("We share information with advertising partners to show you ads on and off "
                              "Lyft's Platform.")]) == {"advertiz partner": "advertising partners"}
    assert recipients([Clause("We share your data with social media platforms.")]) == {
        "social media platform": "social media platforms"}


def test_a_list_item_saying_whom_a_part_of_the_policy_is_for_names_no_purpose() -> None:
    """A scope ("For California residents", "For users in EEA, UK and Switzerland") is not what data is used for."""
    from monitor.meaning.facts import purposes

    lead_in = "We use your personal data:"
    for scope in ("For California residents", "For users in EEA, UK and Switzerland", "for EU users",
                  "for residents of the European Economic Area"):
        assert purposes([Clause(scope, lead_in)]) == {}, scope
    assert list(purposes([Clause("for marketing our products", lead_in)]).values()) == ["for marketing our products"]


def test_a_list_item_saying_where_data_goes_names_no_purpose() -> None:
    """deliveroo 001 → 002 (a new user's trial) listed "to countries that have been deemed to provide an adequate
    level of protection" as an added purpose: "to" before a plural noun or a determiner is a destination."""
    from monitor.meaning.facts import purposes

    lead_in = "We may transfer your personal data:"
    for destination in ("to countries that have been deemed to provide an adequate level of protection",
                        "to our partners", "to the authorities", "to analytics providers"):
        assert purposes([Clause(destination, lead_in)]) == {}, destination
    for purpose in ("to process your order", "to focus our marketing", "to access your account", "to assess risk"):
        assert list(purposes([Clause(purpose, "We use your data:")]).values()) == [purpose], purpose


def _edited_policy_changes(service: str, old: str, new: str) -> list[tuple[str, list[str]]]:
    """(summary, alert topics) of the substantive changes when `old` becomes `new` in a vendored real policy
    (Open Terms Archive contributors, ODC-BY 1.0), read as Markdown as `tests/policy_edits.py` reads them."""
    from monitor.meaning.significance import changes_between
    from tests.policy_edits import policies

    md = policies()[service]
    assert old in md, (service, old)
    before, after = (normalize(text, content_type="text/markdown") for text in (md, md.replace(old, new, 1)))
    return [(r.summary, r.alert_topics(WATCHED)) for r in changes_between(before, after) if r.substantive]


def test_a_recipient_listed_under_a_heading_that_discloses_data_is_named() -> None:
    """A new user's edits (2026-12-04): a list item naming a kind of party under "5. Disclosures of your personal
    data › Other Third Parties" (bold lines, no lead-in of its own) was "low: clause added", and parties added
    to "service providers such as …" under "4. Disclosing and transfer of data" were "sharing clause modified"."""
    assert _edited_policy_changes(
        "streamable", "*   Our affiliates and Hopin group companies.",
        "*   Our affiliates and Hopin group companies.\n*   Data brokers and credit reference agencies.") == [
        ("adds recipients: data brokers, credit reference agencies", ["sharing"])]
    assert _edited_policy_changes(
        "wordfeud", "data analyzers and business intelligence providers.",
        "data analyzers, business intelligence providers, advertising networks and data brokers.") == [
        ("adds recipients: advertising networks, data brokers", ["sharing"])]


def test_headings_lend_a_transfer_only_when_one_of_them_says_data_is_disclosed() -> None:
    """coindesk's "Other important information › Disclosure & Policies" (an editorial note naming its owner's
    investors) says nothing of data going anywhere: no recipient there; "Disclosures of your personal data" does."""
    from monitor.meaning.facts import recipients

    note = Clause("CoinDesk is part of the Bullish group, which owns and invests in digital asset businesses.")
    assert recipients([note], "Privacy › OTHER IMPORTANT INFORMATION › DISCLOSURE & POLICES") == {}
    item = Clause("Data brokers.", is_item=True)
    assert recipients([item], "5. Disclosures of your personal data › Other Third Parties") == {
        "data broker": "data brokers"}
    assert recipients([item], "Other Third Parties") == {}
    assert recipients([Clause("We never sell data to data brokers.")], "Disclosures of your data") == {}


def test_an_age_in_years_is_no_period_and_one_of_several_ages_changed_is_changed() -> None:
    """hugging-face: "children under the age of 13 years" → 16 also said "period 13 years → 16 years"; streamable:
    "(a) under 13 years old …; (b) under 16 years old …" with (a) raised to 16 said "removes age threshold: 13"."""
    assert _edited_policy_changes("hugging-face", "children under the age of 13 years",
                                  "children under the age of 16 years") == [("age threshold 13 → 16", ["minors"])]
    assert _edited_policy_changes("streamable", "(a) under 13 years old", "(a) under 16 years old") == [
        ("age threshold 13 → 16", ["minors"])]
    assert periods("children under the age of 13 years") == []
    assert [p.label for p in periods("we keep it for 13 years")] == ["13 years"]
    assert ages("(a) under 13 years old; (b) under 16 years old; (c) under 14 years old") == [13, 16, 14]


def test_a_company_added_to_a_list_of_service_providers_is_named() -> None:
    """hugging-face's "10. List of third-party service providers" lists "Subprocessor | Description | Location"
    rows; a row added was "medium: sharing clause added", naming no one."""
    from monitor.meaning.facts import named_recipients

    assert _edited_policy_changes(
        "hugging-face", "*   Stripe | Payment | United States",
        "*   Stripe | Payment | United States\n*   Meta Platforms, Inc. | Advertising measurement | United States") \
        == [("adds recipient: Meta Platforms, Inc.", ["sharing"])]
    row = Clause("Klaviyo – for the purposes of email marketing.", is_item=True)
    assert named_recipients([row], "5. Disclosures of your personal data › Service providers") == {
        "klaviyo": "Klaviyo"}
    assert named_recipients([row], "Contact us") == {}
    assert named_recipients([Clause("Klaviyo – for the purposes of email marketing.")], "Service providers") == {}


def test_sharing_allowed_is_no_news_in_a_section_that_already_allowed_it_a_sale_is() -> None:
    """A new user added "may share … with data brokers and advertising partners" to hugging-face's "3. Sharing of
    information", which already says the company "may also share other information": the summary opened with
    "now says data may be shared", as if sharing had been ruled out before."""
    added = "The Company may also share other information as provided by this Policy."
    assert _edited_policy_changes("hugging-face", added, added + " The Company may share your personal "
                                  "information with data brokers and advertising partners.") == [
        ("adds recipients: data brokers, advertising partners", ["sharing"])]
    [(sold, topics)] = _edited_policy_changes("hugging-face", added, added + " The Company may sell your personal "
                                              "information to data brokers.")
    assert sold.startswith("now says data may be sold") and topics == ["sharing"]


def test_headings_about_data_coming_in_or_the_users_rights_lend_no_transfer() -> None:
    """A reviewer's cases: parties under "Information you provide to us", an authority under "Your rights to
    access, delete or transfer your data", a category row under "Categories of personal information we disclose"
    and a table's header row are no recipients; a retention period of logs "aged over 90 days" is a period."""
    from monitor.meaning.facts import named_recipients, recipients

    item = Clause("Data about you that we obtain through our marketing partners and data brokers.", is_item=True)
    assert recipients([item], "Information you provide to us") == {}
    assert recipients([Clause("You may also lodge a complaint with your local supervisory authority.")],
                      "7. Your rights to access, delete or transfer your data") == {}
    assert recipients([Clause("Data brokers.", is_item=True)], "Who we share with") == {"data broker": "data brokers"}
    category = Clause("Geolocation Data: precise location of your device.", is_item=True)
    assert named_recipients([category], "Categories of personal information we disclose to third parties") == {}
    assert named_recipients([Clause("Purpose | Legal basis | Retention period")],
                            "How we share data with service providers") == {}
    label = Clause("Business Transfers: if we sell our business…", is_item=True)
    assert named_recipients([label], "Third parties") == {}
    assert [p.label for p in periods("We automatically delete server logs aged over 90 days.")] == ["90 days"]
    assert ages("children aged below 13 years") == [13] and periods("children aged below 13 years") == []


def test_a_promise_not_to_sell_turned_into_a_condition_is_not_called_a_permission() -> None:
    """"We will never sell…" → "If we sell or transfer … as part of a merger, we will notify you": the promise is
    gone (high), but the policy does not now say data is sold."""
    rated = rate("We will never sell your personal information.",
                 "If we sell or transfer your personal information as part of a merger, we will notify you first.",
                 "Sharing")
    assert rated.summary.startswith("no longer says data is not sold") and rated.severity == "high"


def test_an_age_lowered_where_the_sentence_repeats_it_and_a_party_added_to_a_lettered_list() -> None:
    """A new user running the daemon (acuityads, Open Terms Archive, ODC-BY 1.0): "children under 18 years of
    age" → 16, the same sentence saying "children under 18" again, read "adds age threshold: 16"; "i) data brokers
    and advertising partners" added to the lettered list of providers under "Disclosure, onward transfer" read
    "sharing clause modified", medium."""
    assert _edited_policy_changes("acuityads", "children under 18 years of age", "children under 16 years of age") \
        == [("age threshold 18 → 16", ["minors"])]
    assert _edited_policy_changes(
        "acuityads", "h) auditing, debugging and security vendors.",
        "h) auditing, debugging and security vendors, i) data brokers and advertising partners.") == [
        ("adds recipients: data brokers, advertising partners", ["sharing"])]


def test_purposes_read_as_phrases_not_fragments() -> None:
    """A new user's timeline read "adds purposes: to assist each other, as service providers, in data processing
    operations, such, …": purposes (phrases with commas of their own) were joined by commas, an inline phrase cut
    at its cap ended mid-phrase ("…you've asked for under a"), and "For most devices," or "To this end we may"
    counted as purposes. Real sentences: adsense and cloudant (Open Terms Archive, ODC-BY 1.0)."""
    from monitor.meaning.facts import purposes
    from monitor.meaning.significance import _list_summary

    cut = purposes([Clause("We process your data in order to provide a service that you've asked for under a "
                           "contract, for example loading a YouTube video.")])
    assert list(cut.values()) == ["in order to provide a service that you've asked for under a …"]  # 12 words
    lead_in = "We use your information:"
    for scope in ("For most devices, you can turn this off in settings.",
                  "To this end we may, for example, process the login information of your account."):
        assert purposes([Clause(scope, lead_in)]) == {}, scope
    assert purposes([Clause("in order to protect the safety of the users)")]) == {
        "in order to protect the safety of the users": "in order to protect the safety of the users"}
    assert _list_summary("adds", "purpose", ["to assist each other, as service providers", "to make it safer"],
                         "; ") == "adds purposes: to assist each other, as service providers; to make it safer"


# ---------------------------------------------------------------------------------------------
# Facts read sentence by sentence (a new user's trial on noyb, a dev history, recorded by Open Terms Archive
# contributors, ODC-BY 1.0). `split_sentences` needs the capitals `fold` takes away: facts had been reading
# whole paragraphs as one sentence since the splitters were merged.
# ---------------------------------------------------------------------------------------------

def _noyb_step(old: str, new: str) -> list:
    from monitor.capture.document import document_text
    from monitor.meaning.significance import changes_between
    from tests.replay import dress, load_histories

    recorded = {v.name: v.text for v in load_histories(services=("noyb",))["noyb"]}
    checked = [document_text(dress(recorded[name], 1).encode(), content_type="text/html; charset=utf-8")
               for name in (old, new)]
    return changes_between(*checked, WATCHED)


def test_a_none_beside_a_promise_not_to_transfer_is_never_read_as_data_now_transferred() -> None:
    """noyb 002 → 003 adds a ticket-system section: "Other Recipients: None. We do not transfer your data to any
    other recipients. Third Country Transfers: None." Its summary had said "now says data is transferred"."""
    added = [c for c in _noyb_step("002_2022-02-19", "003_2022-03-10") if "ticket system" in c.change.section]
    assert added and all("now says data is transferred" not in c.summary for c in added), \
        [c.summary for c in added]
    assert any("adds retention period: 6 months" in c.summary for c in added)
    said = statements("Other Recipients: None. We do not transfer your data to any other recipients. "
                      "Third Country Transfers: None. We process your data within the EEA/EU.")
    assert said == {"transfer": {(True, None)}}
    assert statements("Data transfers: none. We keep your data in the EU.")["transfer"] == {(True, None)}
    assert statements("International data transfers: Our host may process data in the US.")["transfer"] == \
        {(False, None)}


def test_a_recipient_the_new_version_still_names_is_not_said_to_be_removed() -> None:
    """noyb 001 → 002: "Our bank (Erste Bank, for SEPA payments) and the postal service (to send you a welcome
    gift) needs to receive…" became "Our bank (Erste Bank der oesterreichischen Sparkassen AG, …) needs to
    receive…": the bank still gets the data; the hosting provider Hetzner, named no more, is gone."""
    summaries = " | ".join(c.summary for c in _noyb_step("001_2021-09-27", "002_2022-02-19"))
    assert "removes recipient: Hetzner" in summaries and "bank" not in summaries.lower(), summaries


def test_an_excerpt_shows_a_clause_between_two_changes_once_and_never_stacks_cuts() -> None:
    """noyb 001 → 002: "The particular provider may be subject to change over time." sat between two changed
    clauses and was printed twice ("… over time. … The particular provider may be …"), and two cut contexts in a
    row read "between… … …and" in the e-mail, `diff` and the web page."""
    excerpts = [side for c in _noyb_step("001_2021-09-27", "002_2022-02-19") for side in (c.change.before,
                                                                                          c.change.after)]
    assert excerpts
    for text in excerpts:
        assert text.count("The particular provider may be subject to change over time.") <= 1, text
        assert "… …" not in text and "…  …" not in text, text


def test_a_list_of_changes_says_its_facts_before_the_changes_named_by_topic_and_each_once() -> None:
    """A new user's trial on lyft read "sharing clauses modified (3 sections); sharing clause modified (2
    sections); age threshold 13 → 16": the fact third, the same words twice."""
    from monitor.meaning.significance import said_in_order

    changes = [("sharing clauses modified", "medium"), ("sharing clause modified", "medium"),
               ("sharing clauses modified", "medium"), ("age threshold 13 → 16", "medium"),
               ("retention clause added", "low"), ("sale of data no longer excluded", "high")]
    said, said_as = said_in_order(changes, lambda c: c[1], lambda c: c[0])
    assert list(said.items()) == [("sale of data no longer excluded", 1), ("age threshold 13 → 16", 1),
                                  ("sharing clauses modified", 3), ("retention clause added", 1)]
    assert said_as(changes[1]) == "sharing clauses modified" and said_as(changes[4]) == "retention clause added"


def test_a_summary_too_long_for_its_line_is_cut_between_words() -> None:
    from monitor.meaning.significance import SUMMARY_MAX_CHARS, _one_line

    long = "adds purpose: " + "to protect the rights property and safety of our users and the public " * 4
    line = _one_line([long])
    assert len(line) <= SUMMARY_MAX_CHARS and line.endswith("…")
    assert line[:-1].split()[-1] in long.split(), line  # a whole word before the cut


def test_another_company_named_a_controller_of_the_data_is_a_new_recipient() -> None:
    """deliveroo 007 → 008 (dev, labelled sharing; a new user's trial): "Deliveroo is now part of the DoorDash,
    Inc. group of companies. … DoorDash, Inc. is also a controller relating to your personal information" was
    rated "changes clauses added", low. The owner calling itself the controller names nobody."""
    from monitor.capture.document import document_text
    from monitor.meaning.facts import named_recipients
    from monitor.meaning.significance import changes_between
    from tests.replay import dress, load_histories

    recorded = {v.name: v.text for v in load_histories(services=("deliveroo",))["deliveroo"]}
    old, new = (document_text(dress(recorded[name], 1).encode(), content_type="text/html; charset=utf-8")
                for name in ("007_2025-07-17", "008_2025-11-10"))
    alerted = [c for c in changes_between(old, new, WATCHED) if c.alert_topics(WATCHED)]
    assert [(c.alert_topics(WATCHED), c.summary) for c in alerted] == [(["sharing"], "adds recipient: DoorDash, Inc.")]
    assert named_recipients([Clause("Deliveroo is the controller of the personal information we process.")]) == {}
    for role in ("Each Party is an independent controller of the data.", "For This Purpose We are also a controller.",
                 "the Customer is also a controller."):  # a sentence's opening words and roles name no company
        assert named_recipients([Clause(role)]) == {}, role
    assert list(named_recipients([Clause("We and Meta Platforms Ireland Limited are joint controllers.")]).values()) \
        == ["Meta Platforms Ireland Limited"]
    assert list(named_recipients([Clause("Google LLC is an independent controller of the data it collects. "
                                         "London. Viaplay Group UK is a joint data controller.")]).values()) == \
        ["Google LLC", "Viaplay Group UK"]


def test_a_dropped_promise_that_data_stays_in_europe_is_said() -> None:
    """deliveroo 003 → 004 (dev; a new user's trial) dropped "stored on our servers located within the EU" from
    its sharing section: the summary said only "sharing clauses modified"."""
    from monitor.meaning.facts import guarantees

    assert guarantees("The information we collect is stored on our servers located within the EU.") == \
        {"data kept in Europe": "transfers"}
    assert guarantees("We process your data within the EEA/EU.") == {"data kept in Europe": "transfers"}
    assert guarantees("We store data in the United States.") == {}
    # a person located in Europe is pointed to a notice: no promise about where data stays (grammarly, linkedin)
    assert guarantees("If you are located in the EEA, UK or Switzerland, please see our European Regional Privacy "
                      "Notice.") == {}
    assert guarantees("We process the data of users in the EEA under the GDPR.") == {}
    before = ("## 9. Sharing your information\n\nThe information we collect about you is transferred to and stored on "
              "our servers located within the EU. We are very careful about who else your information is shared with.")
    after = "## 9. Sharing your information\n\nWe are very careful about who else your information is shared with."
    from monitor.meaning.significance import changes_between

    [change] = changes_between(before, after, WATCHED)
    assert "removes guarantee: data kept in Europe" in change.summary and "transfers" in change.topics


def test_a_party_that_has_access_to_the_data_is_a_recipient() -> None:
    """noyb 005 → 006 (a new user's trial): "Other Recipients: Usually none. The only exceptions are (1) our external
    technical support (…) that can have unavoidable access to information … and (2) the Austrian tax authority";
    the summary said only that data was no longer said not to be transferred."""
    summaries = " | ".join(c.summary for c in _noyb_step("005_2022-05-30", "006_2024-03-14"))
    assert "adds recipient: austrian tax authority" in summaries, summaries
    assert "austrian tax authority" in recipients((Clause("These partners and the Austrian tax authority only have "
                                                          "access to data strictly necessary."),), "")


def test_negations_the_trial_found_read_as_their_opposite() -> None:
    """A regulator's trial on grammarly, deliveroo and linkedin (dev histories): "not by selling or monetizing your
    content" read as "now says data may be … sold"; "we will not retain your information for any longer than we
    think is necessary" as a promise not to keep it (so "we will retain it as long as necessary" read as the
    promise dropped); "does not … use the content for advertising purposes" as an added purpose; a capture that
    lost its apostrophes ("dont") as a negation gone."""
    from monitor.meaning.facts import purposes
    from monitor.text.wording import fold

    assert statements("We use your content to improve the service, but not by selling or monetizing your "
                      "content.")["sell"] == {(True, None)}
    assert statements("We will not retain your information for any longer than we think is necessary.") == \
        {"retain": {(False, "will")}}
    assert statements("We will not retain your information after you close your account.") == \
        {"retain": {(True, "will")}}  # a promise still: "after" is no limit on how long
    assert purposes([Clause("Grammarly does not sell your content or use it for advertising purposes.")]) == {}
    assert list(purposes([Clause("We use it for advertising purposes.")]).values()) == ["for advertising purposes"]
    assert fold("You dont have to provide it") == fold("You don't have to provide it") == \
        "you do not have to provide it"


def test_a_heading_renamed_to_the_same_printed_words_is_said_to_be_restyled() -> None:
    """bbc (a regulator's trial): ten "section renamed: X → X" lines with the same names (only the heading's style
    changed)."""
    from monitor.meaning.significance import _structure_summary

    same = SectionChange("renamed", "Who we share with", before="Who we share with ", after="Who  we share with")
    assert _structure_summary(same) == "section heading restyled"
    other = SectionChange("renamed", "Who we share with", before="Sharing", after="Who we share with")
    assert _structure_summary(other) == "section renamed: Sharing → Who we share with"


def test_a_company_word_before_what_it_offers_names_no_recipient() -> None:
    """lyft (a regulator's trial): "share partner opportunities" was read as "adds recipient: partner"."""
    assert recipients((Clause("We may share partner opportunities and promotions with you."),), "") == {}
    assert recipients((Clause("We share your data with our partners."),), "") == {"partner": "partners"}
