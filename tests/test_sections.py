"""Section trees and clauses from normalized policy text: headings, messy numbering, lists, dates."""

from __future__ import annotations

import pytest

from monitor.capture.normalize import normalize
from monitor.text.sections import Section, is_date_line, parse_sections, split_clauses
from tests.pages import render_policy, seed_numbers, seed_text

NESTED = """Acme Privacy Notice

This notice explains what we do with your data.

Article 1 – Scope

This notice applies to all Acme services.

Article 2 – Data We Collect

We collect the following data.

2.1 Account data

We collect your name and e-mail address.

2.1.1 Optional profile fields

You may add a photo.

(a) Photos

Photos are stored for 30 days.

(b) Captions

Captions are public.

2.2 Usage data

We log your visits.

Section 3. Sharing

We share data with processors.

I. Processors

Our processors are listed below.

II. Advertisers

We do not share with advertisers.

4.Retention

We keep data for one year.
"""


def by_title(sections: list[Section]) -> dict[str, Section]:
    return {s.title: s for s in sections}


def test_numbering_styles_nest_to_any_depth() -> None:
    sections = by_title(parse_sections(NESTED))
    assert sections["Scope"].level == 1 and sections["Scope"].number == "Article 1"
    assert sections["Account data"].path == ("Article 2 – Data We Collect", "2.1 Account data")
    assert sections["Optional profile fields"].level == 3
    assert sections["Photos"].path[-2:] == ("2.1.1 Optional profile fields", "(a) Photos")
    assert sections["Captions"].level == sections["Photos"].level
    assert sections["Usage data"].level == 2
    assert sections["Sharing"].level == 1 and sections["Sharing"].number == "Section 3"
    assert sections["Advertisers"].path == ("Section 3. Sharing", "II. Advertisers")
    assert sections["Retention"].level == 1 and sections["Retention"].number == "4."
    assert sections["Photos"].display_path == (
        "Article 2 – Data We Collect › 2.1 Account data › 2.1.1 Optional profile fields › (a) Photos")


def test_preamble_holds_text_before_the_first_heading_and_is_named_by_the_title() -> None:
    preamble = parse_sections(NESTED)[0]
    assert preamble.key == "preamble" and preamble.level == 0
    assert preamble.title == "Acme Privacy Notice"
    assert [c.text for c in preamble.clauses] == ["This notice explains what we do with your data."]


def test_section_text_is_its_own_body_without_children() -> None:
    sections = by_title(parse_sections(NESTED))
    assert sections["Data We Collect"].text == "We collect the following data."
    assert "photo" not in sections["Account data"].text


def test_markdown_and_bold_headings() -> None:
    text = ("# Policy\n\nIntro text here.\n\n## Sharing\n\nWe share.\n\n### Partners\n\nPartners get data.\n\n"
            "**Retention**\n\nWe keep data.\n\n## Children\n\nNo kids.")
    sections = by_title(parse_sections(text))
    assert sections["Partners"].path == ("Sharing", "Partners")
    assert sections["Retention"].level == 3  # a bold heading sits below the current Markdown heading
    assert sections["Children"].level == 1


def test_restarted_numbering_nests_instead_of_making_siblings() -> None:
    sections = parse_sections(seed_text(3))
    titles = by_title(sections)
    inner = titles["Information you actively provide to us"]
    assert inner.path[0] == "1. Information We Collect and the Corresponding Purposes of Use"
    assert titles["How We Use COOKIES or Similar Technologies"].level == 1
    assert titles["Storage Period"].path[0] == "5. How We Store Your User Information"
    top = [s.number for s in sections if s.level == 1]
    assert top == [f"{n}." for n in range(1, 10)]


def test_numbered_paragraphs_and_lists_are_clauses_not_headings() -> None:
    sections = parse_sections(seed_text(3))
    titles = " | ".join(s.title for s in sections)
    assert "To achieve the purposes stated in this Policy" not in titles
    assert "In the following circumstances, we will be unable to respond" not in titles
    # the table of contents is a list in the preamble, not nine empty sections
    assert sum(s.title.lower() == "protection of minors" for s in sections) == 1
    preamble = sections[0]
    assert any(c.text == "How we use Cookies and similar technologies" and c.is_item for c in preamble.clauses)


def test_short_numbered_items_ending_like_sentences_are_not_headings() -> None:
    text = ("We collect data in these cases:\n\n(1) When users visit our website;\n\n"
            "(2) When users browse our ads;\n\n1. What we collect\n\nWe collect names.")
    sections = parse_sections(text)
    assert [s.title for s in sections] == ["", "What we collect"]
    assert [c.lead_in for c in sections[0].clauses[1:]] == ["We collect data in these cases:"] * 2


@pytest.mark.parametrize("seed", seed_numbers())
def test_keys_do_not_depend_on_numbers(seed: int) -> None:
    text = seed_text(seed)
    renumbered = "\n".join(_bump_number(line) for line in text.split("\n"))
    assert renumbered != text
    assert [s.key for s in parse_sections(text)] == [s.key for s in parse_sections(renumbered)]


def _bump_number(line: str) -> str:
    for prefix in ("### ", "## ", ""):
        rest = line[len(prefix):]
        if line.startswith(prefix) and rest[:1].isdigit() and rest[1:2] in ".)":
            return f"{prefix}{int(rest[0]) + 3}{rest[1:]}"
    return line


@pytest.mark.parametrize("seed", seed_numbers())
def test_keys_are_unique_within_a_version(seed: int) -> None:
    keys = [s.key for s in parse_sections(seed_text(seed))]
    assert len(keys) == len(set(keys))


def test_duplicate_titles_get_distinct_keys_from_their_parents() -> None:
    text = "1. Sharing\n\nA.\n\n1.1 Children\n\nB is long enough.\n\n2. Retention\n\nC.\n\n2.1 Children\n\nD is long."
    keys = [s.key for s in parse_sections(text)]
    assert keys == ["sharing", "sharing/children", "retention", "retention/children"]


@pytest.mark.parametrize("seed", seed_numbers())
def test_every_word_of_the_policy_lands_in_some_section(seed: int) -> None:
    text = seed_text(seed)
    sections = parse_sections(text)
    kept = " ".join(" ".join([*s.path[-1:], s.text]) for s in sections)
    for word in ("privacy", "information"):
        assert kept.lower().count(word) >= text.lower().count(word) * 0.95


# ---------------------------------------------------------------------------------------------
# Clauses


def test_sentence_splitting_respects_abbreviations() -> None:
    clauses = split_clauses("We share data with Acme Inc. and U.S. partners, e.g. cloud hosts. We never sell it.")
    assert [c.text for c in clauses] == ["We share data with Acme Inc. and U.S. partners, e.g. cloud hosts.",
                                         "We never sell it."]


def test_list_items_carry_the_sentence_that_introduces_them() -> None:
    body = ("We keep data for a year. We may retain your data if necessary:\n"
            "- to comply with the law;\n- to resolve disputes;\n  - including chargebacks\n\nAfter that we delete it.")
    clauses = split_clauses(body)
    items = [c for c in clauses if c.is_item]
    assert [c.text for c in items] == ["to comply with the law;", "to resolve disputes;", "including chargebacks"]
    assert items[0].lead_in == "We may retain your data if necessary:"
    assert items[1].lead_in == "We may retain your data if necessary:"
    assert items[2].lead_in == "to resolve disputes;"
    assert clauses[-1].text == "After that we delete it." and clauses[-1].lead_in is None


def test_wrapped_lines_join_into_one_sentence() -> None:
    assert [c.text for c in split_clauses("We share your data\nwith advertisers and\npartners.")] == [
        "We share your data with advertisers and partners."]


def test_bullet_glyphs_and_item_numbers_are_not_part_of_the_clause() -> None:
    clauses = split_clauses("Cases:\n\n· Directly related to security;\n\n(3) Other cases.")
    assert [c.text for c in clauses] == ["Cases:", "Directly related to security;", "Other cases."]


@pytest.mark.parametrize("line", [
    "Last updated: March 3, 2024", "Effective Date: [ June 30, 2025 ]", "Updated on:", "12/02/2015 released",
    "We released this Privacy Policy on 12th of February, 2015.", "Version 2.1 – effective 2023-01-01",
    "Last modified 5 May 2022",
])
def test_date_lines_are_recognised(line: str) -> None:
    assert is_date_line(line)


@pytest.mark.parametrize("line", [
    "We keep your data for 30 days after the effective date of termination.",
    "Children under 13 may not use the service.", "When changes occur, we will explain the effective date.",
    "Privacy Policy", "",
])
def test_content_is_not_taken_for_a_date_line(line: str) -> None:
    assert not is_date_line(line)


def test_date_clauses_are_flagged_in_sections() -> None:
    sections = parse_sections(seed_text(3))
    dates = [c.text for s in sections for c in s.clauses if c.is_date]
    assert dates == ["Update Date: [ June 30, 2025 ]", "Effective Date: [ June 30, 2025 ]"]


def test_empty_and_odd_inputs() -> None:
    (only,) = parse_sections("")
    assert only.key == "preamble" and only.clauses == ()
    assert parse_sections("   \n\n \t ")[0].clauses == ()
    assert [c.text for c in parse_sections("Just one sentence. And another.")[0].clauses] == [
        "Just one sentence.", "And another."]
    odd = parse_sections("1.\n\n(a)\n\n####\n\n**\n\n- \n\n§\n\n---\n\n" + "word " * 3000)
    assert odd and all(isinstance(s.key, str) and s.key for s in odd)
    assert split_clauses("") == []


# ---------------------------------------------------------------------------------------------
# Through the real normalizer


@pytest.mark.parametrize("seed", seed_numbers())
def test_html_headings_and_numbering_give_the_same_keys_as_text(seed: int) -> None:
    from_html = parse_sections(normalize(render_policy(seed_text(seed))))
    assert len(from_html) >= 8
    keys = {s.key.rsplit("/", 1)[-1] for s in from_html}
    numbered = [s for s in parse_sections(seed_text(seed)) if s.number and s.level == 1]
    assert {s.key.rsplit("/", 1)[-1] for s in numbered} <= keys


def test_numbered_paragraphs_get_a_lead_in_only_after_a_colon() -> None:
    body = ("You can cancel your account at any time. We keep nothing afterwards.\n\n"
            "5. Right to Cancellation If you decide to stop using the service, you can cancel your account.\n\n"
            "We may retain your data in these cases:\n\n1. to comply with the law;\n\n2. to resolve disputes.")
    clauses = split_clauses(body)
    cancel = next(c for c in clauses if c.text.startswith("Right to Cancellation"))
    assert cancel.lead_in is None
    assert [c.lead_in for c in clauses if c.text.startswith("to ")] == ["We may retain your data in these cases:"] * 2


@pytest.mark.parametrize(("seed", "top_level", "nested"), [
    (0, 9, []),
    (1, 8, ["Information storage methods and deadlines", "Personal information"]),
    (2, 8, ["Account Information", "Deleting Personal Information"]),
    (3, 9, ["Information you actively provide to us", "(1) Sharing", "Storage Period"]),
    (4, 6, ["How Does we Use My Information?", "How Long Does we Keep My Information?"]),
])
def test_seed_trees_keep_their_numbered_sections_and_subsections(seed: int, top_level: int,
                                                                 nested: list[str]) -> None:
    top = [s.number for s in parse_sections(seed_text(seed)) if s.level == 1]
    assert [n.rstrip(".") for n in top if n] == [str(n) for n in range(1, top_level + 1)]
    # in plain text, numbering alone nests them; in HTML, heading tags say where they sit
    for text, depth in ((seed_text(seed), 2), (normalize(render_policy(seed_text(seed))), 1)):
        sections = parse_sections(text)
        headings = {s.heading for s in sections if s.level >= depth} | {s.title for s in sections if s.level >= depth}
        for title in nested:
            assert title in headings or any(h.endswith(title) for h in headings), title


def test_first_heading_among_equals_is_a_section_not_the_title() -> None:
    sections = parse_sections("Short intro.\n\n## Information We Collect\n\nNames.\n\n## Sharing\n\nNone.")
    assert [s.title for s in sections] == ["", "Information We Collect", "Sharing"]
    titled = parse_sections("# Acme Privacy Policy\n\nShort intro.\n\n## Sharing\n\nNone.")
    assert [s.title for s in titled] == ["Acme Privacy Policy", "Sharing"]


@pytest.mark.parametrize("line", [
    "Data collected before May 25, 2018 is deleted after the effective date of the contract.",
    "Since January 2020 our partners have amended their processing.",
])
def test_content_mentioning_dates_is_not_a_date_line(line: str) -> None:
    assert not is_date_line(line)


def test_an_edit_announced_with_its_date_is_content() -> None:
    assert not is_date_line("We updated our retention period to 30 days on 1 May 2024.")
    assert is_date_line("This Privacy Policy was last updated on March 3, 2024.")


def test_a_lead_in_nested_in_one_item_does_not_announce_the_next_top_level_item():
    """nordvpn (Open Terms Archive, ODC-BY 1.0): item 8's nested list had a lead-in; item 9's text
    ("We do not sell personal data…") took it as its own, so a change there read as about retention."""
    body = ("  Secure disposal\n"
            "  When we no longer have a valid reason to retain your personal data, it will either be:\n"
            "  - Permanently and securely deleted using industry-standard data destruction methods, or\n"
            "  - Irreversibly anonymized so it can no longer be linked to you.\n"
            "- Country-specific provisions\n"
            "  We do not sell personal data to third parties.")
    clauses = split_clauses(body)
    assert [c.text for c in clauses] == [
        "Secure disposal", "When we no longer have a valid reason to retain your personal data, it will either be:",
        "Permanently and securely deleted using industry-standard data destruction methods, or",
        "Irreversibly anonymized so it can no longer be linked to you.", "Country-specific provisions",
        "We do not sell personal data to third parties."]
    assert [c.lead_in is not None for c in clauses] == [False, False, True, True, False, False]


def test_a_line_broken_inside_a_sentence_is_still_one_sentence():
    assert [c.text for c in split_clauses("We may share your data with our partners and\nAdvertisers in some cases.")] \
        == ["We may share your data with our partners and Advertisers in some cases."]


def test_bold_labels_between_numbered_chapters_are_their_subheadings() -> None:
    """streamable (Open Terms Archive contributors, ODC-BY 1.0) writes every heading as a bold line: numbered
    chapters with unnumbered labels under them. A label was the parent of the next chapter ("Children ›
    3. How is your personal data collected?"), and a change under "Other Third Parties" lost its chapter
    "5. Disclosures of your personal data"."""
    text = "\n\n".join([
        "**Table of Contents**", "- Important information and who we are",
        "**1. Important information and who we are**", "This privacy policy gives you information.",
        "**Purpose of this privacy policy**", "It explains how we collect your personal data.",
        "**2. The personal data we collect about you**", "Personal data means any information about you.",
        "**Children**", "We do not knowingly collect personal data from children.",
        "**3. How is your personal data collected?**", "We use different methods to collect data.",
        "**4. How we use your personal data**", "We use your personal data to provide the Services.",
        "**5. Disclosures of your personal data**", "We will share your personal data with these recipients.",
        "**Service providers**", "- Providers of our cloud services such as AWS and Google.",
        "**Other Third Parties**", "- Our affiliates and Hopin group companies.",
        "**6. International transfers**", "We will transfer your personal data outside your country.",
    ])
    assert [" › ".join(s.path) for s in parse_sections(text)] == [
        "Table of Contents",
        "1. Important information and who we are",
        "1. Important information and who we are › Purpose of this privacy policy",
        "2. The personal data we collect about you",
        "2. The personal data we collect about you › Children",
        "3. How is your personal data collected?",
        "4. How we use your personal data",
        "5. Disclosures of your personal data",
        "5. Disclosures of your personal data › Service providers",
        "5. Disclosures of your personal data › Other Third Parties",
        "6. International transfers",
    ]


def test_numbers_that_start_again_or_sit_under_markdown_headings_are_no_chapters() -> None:
    """A first numbering that starts again (a numbered contents list, then the chapters) or one under Markdown
    headings (a numbered list of rights inside "## E. Your rights") leaves the usual nesting: a bold label is
    the sibling of the label before it."""
    restarting = "\n\n".join(["**1. One**", "Text.", "**2. Two**", "Text.", "**1. One**", "Text.", "**Label**",
                              "Text.", "**Other label**", "Text."])
    assert [" › ".join(s.path) for s in parse_sections(restarting)][-1] == "2. Two › 1. One › Other label"
    under_markdown = "\n\n".join(["# Privacy", "Text.", "## D. Sharing", "Text.", "## E. Your rights",
                                  "**Your state rights**", "Text.",
                                  "**1. Access**", "Text.", "**2. Deletion**", "Text.", "**3. Opt out**", "Text.",
                                  "**Appeals**", "Text."])
    assert [" › ".join(s.path) for s in parse_sections(under_markdown)][-2:] == [
        "E. Your rights › Your state rights › 3. Opt out", "E. Your rights › Appeals"]


def test_plain_numbered_lines_or_a_sparse_contents_list_are_no_chapters() -> None:
    """watch-hockey (Open Terms Archive, ODC-BY 1.0) numbers the trackers it lists in plain lines between bold
    labels, and toyota-connected-services opens with a contents list numbered 1, 6, 8, 10, 12: neither numbering
    is the page's chapters, so the bold labels after them do not become their subheadings."""
    trackers = "\n\n".join(["**Privacy Policy**", "Intro.", "**Cookies**", "We use these tools:",
                            "1. Google Analytics", "It measures visits.",
                            "2. Hotjar", "It records sessions.", "3. Facebook pixel", "It measures ads.",
                            "**Sharing of your data**", "We share data with processors."])
    assert [" › ".join(s.path) for s in parse_sections(trackers)][-1] == "Sharing of your data"
    sparse = "\n\n".join(["**Privacy Policy**", "Intro.", "**Quick guide**", "Text.", "**1. Information**", "Text.",
                          "**6. Retention**", "Text.", "**8. Children**", "Text."])
    assert "Quick guide › 1. Information" in [" › ".join(s.path) for s in parse_sections(sparse)]  # not chapters


def test_bold_numbered_headings_that_name_a_site_are_chapters_like_the_others() -> None:
    """noyb (a dev history, Open Terms Archive, ODC-BY 1.0; a new user's trial): "**(1) When you browse our main
    page https://noyb.eu**" was refused a number for its URL, so "(3)" to "(6)" nested under "(2)" and its
    alerts were headed "(2) …supporting member › (5) When you send us a message via our ticket system"."""
    from monitor.capture.normalize import normalize
    from tests.replay import load_histories

    [first, *_] = load_histories(services=("noyb",))["noyb"]
    sections = parse_sections(normalize(first.text, content_type="text/markdown"))
    numbered = [s for s in sections if s.number]
    assert len(numbered) >= 5 and [s.number for s in numbered] == [f"({n})" for n in range(1, len(numbered) + 1)]
    assert {s.level for s in numbered} == {1} and all(s.parent is None for s in numbered)


def test_a_line_in_brackets_is_an_aside_not_a_heading() -> None:
    """grammarly (a regulator's trial): "([View previous version](…))" under the title became a heading, so the
    whole introduction sat under "Superhuman Privacy Policy › (View previous version)"."""
    text = ("## Superhuman Privacy Policy\n\n(View previous version)\n\nWelcome to Superhuman. A little bit about us: "
            "we are the productivity platform that brings AI to you everywhere you work.\n\n## Information We Collect"
            "\n\nWe collect what you give us.")
    assert [s.display_path for s in parse_sections(text)] == ["Superhuman Privacy Policy", "Information We Collect"]
