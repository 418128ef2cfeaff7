"""Form-only edits of whole real policies never alert (through the real normalize → diff → significance path).

The edits are `tests/form_edits.py`'s (spelling swapped, a term replaced throughout, contractions,
paragraphs split or swapped, headings inserted or renumbered…), made on real policies (Open Terms
Archive contributors, ODC-BY 1.0): a quarter of the train and dev policies here, all of them in
`benchmarks/bench_form_edits.py`.
"""

from __future__ import annotations

import random

import pytest

from monitor.text.clauses import canonical, fold_contractions
from tests.form_edits import EDITS, edited_outcomes, policies, services_of

SAMPLE = services_of("train", "dev")[::4]


@pytest.fixture(scope="module")
def outcomes():
    return [o for service in SAMPLE for o in edited_outcomes(service)]


def test_the_sample_is_real_policies_and_every_edit_changes_some_of_them(outcomes):
    assert len(SAMPLE) >= 40
    assert not set(SAMPLE) & set(services_of("test"))
    edited = {o.edit for o in outcomes if o.verdict != "same"}
    assert edited == set(EDITS), set(EDITS) - edited        # each edit changed the text of some policy


def test_no_form_only_edit_of_a_real_policy_alerts(outcomes):
    alerted = [(o.service, o.edit, o.alerts) for o in outcomes if o.verdict == "alert"]
    assert alerted == []
    assert len(outcomes) >= 40 * 12


@pytest.mark.parametrize("edit", ["term_replaced", "contractions", "ampersands"])
def test_edits_that_touch_headings_and_text_alike_used_to_alert_and_now_keep_the_sections_matched(edit):
    """A term replaced in every heading and sentence left whole sections unmatched ("sharing section
    removed" + "sharing section added"); contractions and `&` in a heading did the same."""
    service = "netflix" if edit == "term_replaced" else "xfinity" if edit == "ampersands" else "wikipedia"
    [outcome] = edited_outcomes(service, {edit: EDITS[edit]})
    assert outcome.verdict == "quiet", outcome.alerts


def test_an_edit_is_reproducible_and_leaves_the_recorded_text_alone():
    md = policies()["netflix"]
    first = EDITS["paragraph_split"](md, random.Random("netflix:paragraph_split"))
    assert first == EDITS["paragraph_split"](md, random.Random("netflix:paragraph_split")) != md
    assert policies()["netflix"] == md


def test_contractions_and_ampersands_compare_equal_to_the_words_they_stand_for():
    assert canonical("We don't sell & won't share; you can't opt out, we'll tell you") == \
        canonical("We do not sell and will not share; you cannot opt out, we will tell you")
    assert fold_contractions("The company's data, AT&T & co, it's") == "The company's data, AT&T and co, it's"
    assert canonical("We do not sell your data.") != canonical("We do sell your data.")
