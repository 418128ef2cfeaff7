"""The topic rules (evidence for `classify`) on written clauses, and `classify` on the older written sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.meaning.topics import TOPICS, WATCHED, TopicHit, classify, rule_hits

DEVSET = Path(__file__).parent / "fixtures" / "devset"


def topics_of(text: str, context: str = "") -> set[str]:
    """What the rules find: they give `classify` its evidence phrases and exact facts."""
    return set(rule_hits(text, context))


def hybrid_topics(text: str, context: str = "") -> set[str]:
    return {hit.topic for hit in classify(text, context)}


# --- sharing --------------------------------------------------------------------------------------

@pytest.mark.parametrize("clause", [
    "We may share your personal information with advertising partners and our affiliates.",
    "We do not sell your personal information.",
    "We will never rent or trade your email address.",
    "Under no circumstances will we hand over your personal details to marketers.",
    "We may disclose information to law enforcement in response to a subpoena or court order.",
    "If we are involved in a merger or acquisition, your data may be transferred to the buyer.",
    "Third-party SDKs in our app may collect your device identifiers.",
    "Service providers process data on our behalf under contract.",
    "We may make certain personal information available to data brokers.",
])
def test_disclosure_to_others_is_sharing(clause: str) -> None:
    assert "sharing" in topics_of(clause)


@pytest.mark.parametrize("clause", [
    "Share your feedback with us through the in-app form.",
    "Tap the Share button to send the article to a friend.",
    "Our company has a 25% market share in the region.",
    "We use encryption to protect data in transit.",
    "Information you share with us is used to answer your request.",
    "We receive information about you from our partners.",
    "Trademarks belong to their respective owners.",
])
def test_sharing_words_that_are_not_about_disclosure_do_not_fire(clause: str) -> None:
    assert "sharing" not in topics_of(clause)


# --- retention ------------------------------------------------------------------------------------

@pytest.mark.parametrize("clause", [
    "We retain your personal data only for as long as necessary to fulfil the purposes we collected it for.",
    "Server logs are automatically deleted after 90 days.",
    "We keep transaction records for seven years.",
    "Copies may remain in our backup systems for a limited period.",
    "When you close your account, we delete your data within 30 days.",
    "We won't hold onto your data any longer than we need to.",
    "Data Retention",
    "How long do we keep your information?",
])
def test_how_long_data_is_kept_is_retention(clause: str) -> None:
    assert "retention" in topics_of(clause)


@pytest.mark.parametrize("clause", [
    "We may retain a lawyer to represent us in legal proceedings.",
    "We retain all rights in the content of this website.",
    "Customer retention is our highest priority.",
    "Keep your password secret.",
    "The app store listing shows the size of the download.",
    "You can request deletion of your data at any time.",
    "Store hours may vary on public holidays.",
])
def test_retention_words_that_are_not_about_keeping_data_do_not_fire(clause: str) -> None:
    assert "retention" not in topics_of(clause)


# --- minors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("clause", [
    "Our services are not directed to children under 13.",
    "You must be at least 18 years old to create an account.",
    "If you are under 16, we need consent from your parent or guardian.",
    "We do not knowingly collect data from minors.",
    "Users must be 16 or older.",
    "Teen accounts are private by default.",
    "We comply with COPPA.",
])
def test_children_and_age_thresholds_are_minors(clause: str) -> None:
    assert "minors" in topics_of(clause)


@pytest.mark.parametrize("clause", [
    "Applicants should have at least 18 years of experience.",
    "We publish minor updates to the app every two weeks.",
    "Our parent company is headquartered in Delaware.",
    "Over 13 million people use our app every day.",
    "Refunds are available for under 30 days after purchase.",
])
def test_numbers_and_words_that_are_not_about_minors_do_not_fire(clause: str) -> None:
    assert "minors" not in topics_of(clause)


# --- negation, paraphrase, several topics -----------------------------------------------------------

def test_negated_statement_keeps_its_topic() -> None:
    assert topics_of("We do not share your data with third parties.") == topics_of(
        "We share your data with third parties.") == {"sharing"}


def test_a_clause_can_have_several_topics() -> None:
    found = topics_of("We never sell children's personal information and delete it after 30 days.")
    assert {"sharing", "minors", "retention"} <= found


@pytest.mark.parametrize(("clause", "topic"), [
    ("We will only pass your health information to your GP with your explicit consent.", "sharing"),
    ("If the company is acquired, customer records will pass to the new owner.", "sharing"),
    ("We are not in the business of selling it to others.", "sharing"),
    ("We are not responsible for the privacy practices of other sites.", "sharing"),
    ("Our website uses Facebook plugins.", "sharing"),
    ("The recipients or categories of recipients of the personal data, if any.", "sharing"),
    ("Anonymous, aggregated statistics may be published in our annual report.", "sharing"),
    ("Unless you opt out, we may share your name and address with other carefully screened companies.", "sharing"),
    ("The period for which the personal data will be stored, or the criteria used to determine it.", "retention"),
    ("Your information will be deleted once you cancel your account.", "retention"),
    ("Copies of identity documents are destroyed once verification is complete.", "retention"),
    ("We do not store your full card number.", "retention"),
    ("Our site is not intended for individuals under the age of thirteen.", "minors"),
    ("This website is intended for users 18 and over.", "minors"),
    ("We do not direct our services to persons under 18.", "minors"),
    ("Our service is intended for a general audience.", "minors"),
])
def test_paraphrases_of_watched_topics(clause: str, topic: str) -> None:
    assert topic in topics_of(clause)


@pytest.mark.parametrize(("clause", "topic"), [
    ("We use cookies to remember your preferences.", "cookies"),
    ("We use industry-standard encryption to protect your data.", "security"),
    ("You have the right to access and rectify your personal data.", "rights"),
    ("Your data may be transferred to countries outside the EEA.", "transfers"),
    ("If you have questions, contact us at privacy@example.com.", "contact"),
    ("We may update this privacy policy from time to time.", "changes"),
    ("We collect your name and email address when you register.", "collection"),
])
def test_context_topics(clause: str, topic: str) -> None:
    assert topic in topics_of(clause)


def test_security_only_clause_has_no_watched_topic() -> None:
    assert not topics_of("We use TLS encryption and strict access controls.") & set(WATCHED)


# --- context: list items and headings ---------------------------------------------------------------

def test_list_item_takes_retention_from_its_lead_in() -> None:
    hits = classify("to train our models", context="We may retain your data if necessary:")
    assert [h.topic for h in hits] == ["retention"]
    assert hits[0].evidence in "We may retain your data if necessary:"


def test_list_item_takes_sharing_from_its_lead_in() -> None:
    assert "sharing" in topics_of("advertising partners", context="We share data with:")


def test_lead_in_counts_whichever_order_heading_and_lead_in_come_in() -> None:
    assert "retention" in topics_of("to resolve disputes;", "We keep your data after closure if needed: 5. Other")
    assert "retention" in topics_of("to resolve disputes;", "5. Other\nWe keep your data after closure if needed:")


def test_heading_lends_its_topic_only_to_a_clause_without_one() -> None:
    assert "minors" in topics_of("We take extra steps to protect them.", context="Children")
    assert "minors" not in topics_of("We collect your name and email address.", context="Children")


def test_security_change_under_a_mixed_heading_is_not_sharing() -> None:
    assert topics_of("We use TLS encryption.", context="5. Sharing and security") == {"security"}


def test_lent_topic_is_weaker_than_a_stated_one() -> None:
    stated = classify("We retain your data for 30 days.")[0]
    lent = classify("to train our models", context="We retain your data for 30 days:")[0]
    assert lent.topic == stated.topic == "retention"
    assert lent.confidence < stated.confidence


def test_each_hit_says_where_its_evidence_is() -> None:
    """`basis`: the clause's own words, the context lending its topic, or an audience heading; modelled
    topics carry the model's probability, context topics (rules alone) none."""
    stated = classify("We retain your data for 30 days.")[0]
    lent = classify("to train our models", context="We retain your data for 30 days:")[0]
    audience = classify("We will delete it.", context="Children's Privacy")[0]
    assert (stated.basis, lent.basis, audience.basis) == ("text", "context", "audience")
    assert audience.topic == "minors"
    assert all(0 <= h.probability <= 1 for h in (stated, lent, audience))
    assert classify("Please contact us with any questions.")[0].probability is None


def test_a_bare_word_is_evidence_of_a_word_and_the_model_judges_the_clause() -> None:
    """A weak rule's hit (a bare "third party" in a long sentence) passes only at the model's own
    threshold; a firm one (a verb with what it acts on) at the lower gate, as before."""
    from monitor.meaning import topics
    from monitor.meaning.model import load_model

    model = load_model("en")
    gate, threshold = model.gates["sharing"], model.thresholds["sharing"]
    governed = ("Any data collection via web analytics software is governed by such client's and/or third party's "
                "privacy policy.")
    surveys = "We use a third-party tool to send surveys."
    assert rule_hits(governed)["sharing"].confidence < 0.7 <= rule_hits(surveys)["sharing"].confidence
    between = (gate + threshold) / 2  # where the two differ, whatever the model makes of these sentences
    assert gate < between < threshold
    assert topics._decide(model, "sharing", True, between, surveys, weak=False)
    assert not topics._decide(model, "sharing", True, between, governed, weak=True)
    assert topics._decide(model, "sharing", True, threshold, governed, weak=True)
    assert model.probabilities(governed)["sharing"] < threshold
    assert "sharing" not in {h.topic for h in classify(governed)}


def test_context_does_not_remove_a_clause_topic() -> None:
    assert "sharing" in topics_of("We sell your personal information.", context="Security")


# --- the hits themselves ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "context"), [
    ("We do NOT Sell Your Personal Information to Data Brokers.", ""),
    ("Daten: we keep İstanbul office records for 5 years.", ""),
    ("- for fraud prevention;", "We may retain your information after you close your account:"),
    ("Payment data", "Retention periods"),
])
def test_evidence_is_an_exact_substring_of_text_or_context(text: str, context: str) -> None:
    hits = classify(text, context)
    assert hits
    for hit in hits:
        assert isinstance(hit, TopicHit)
        assert hit.evidence and (hit.evidence in text or hit.evidence in context)
        assert 0 < hit.confidence <= 1
        assert hit.topic in TOPICS


@pytest.mark.parametrize(("text", "topic"), [
    ("We share data with third\u2011parties.", "sharing"),             # non-breaking hyphen
    ("We won\u2019t sell your personal\u00a0information.", "sharing"),  # curly apostrophe, no-break space
    ("Children\u2019s accounts are deleted after 30\u00a0days.", "retention"),
    ("WE DO NOT SELL YOUR PERSONAL INFORMATION.", "sharing"),
    ("Data is anonymised after twelve months.", "retention"),          # British spelling
])
def test_typographic_and_spelling_variants_are_recognised(text: str, topic: str) -> None:
    hits = classify(text)
    assert topic in {h.topic for h in hits}
    assert all(h.evidence in text for h in hits)


def test_hits_come_in_topics_order_once_each() -> None:
    hits = classify("We share and sell data of children, keep it 2 years, and use cookies; contact us.")
    order = [h.topic for h in hits]
    assert order == sorted(order, key=TOPICS.index)
    assert len(order) == len(set(order))


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "12/02/2015", "—", "a" * 5000])
def test_empty_or_meaningless_text_has_no_topics(text: str) -> None:
    assert classify(text) == []


def test_empty_clause_gets_nothing_from_its_context() -> None:
    assert classify("  ", context="We share your data with:") == []


def test_non_string_input_is_refused() -> None:
    with pytest.raises(TypeError):
        classify(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        classify("We sell data.", context=None)  # type: ignore[arg-type]


def test_long_paragraph_is_classified_as_a_whole() -> None:
    paragraph = ("We collect your email address when you sign up. " * 40
                 + "We may disclose it to law enforcement when required by law.")
    assert {"collection", "sharing"} <= topics_of(paragraph)


# --- paragraphs in the phrasing of real policies (OPP-115 conventions) --------------------------------

@pytest.mark.parametrize(("paragraph", "topic"), [
    ("We may provide your name, delivery address and phone number to the courier that delivers your order.",
     "sharing"),
    ("Customer data is hosted by Amazon Web Services in data centres in Frankfurt.", "sharing"),
    ("Your reviews, including your display name, are published and can be seen by anyone.", "sharing"),
    ("The embedded YouTube videos on our pages may set cookies once you click play.", "sharing"),
    ("Your personal data will never be passed to marketing companies.", "sharing"),
    ("The hotel you book with receives your name and dates of stay.", "sharing"),
    ("When you pay, your order details are sent to PayPal. PayPal's use of your information is governed by its "
     "own privacy policy.", "sharing"),
    ("The information you provide when you apply will be shared with the hiring manager.", "sharing"),
    ("Your information will be stored on servers operated by our hosting company.", "sharing"),
    ("Users of our community forums should be aware that posts are public.", "sharing"),
    ("Your GP will be informed of the results of your test.", "sharing"),
    ("Backups are rotated every 30 days.", "retention"),
    ("Temporary files created during conversion are removed within one hour.", "retention"),
    ("Messages are deleted from our servers once they have been delivered.", "retention"),
    ("We hold CCTV footage for 31 days unless it is needed for an investigation.", "retention"),
    ("When we no longer have a legitimate business need to process your information, we delete it.", "retention"),
    ("If you are a student at a participating school, your teacher may create an account for you.", "minors"),
    ("Your chess rating and game history can be viewed by all other members of the club site.", "sharing"),
    ("Photos you submit to the contest may be displayed in our gallery together with your first name.", "sharing"),
    ("Subscriber records are kept on Salesforce's cloud for as long as you subscribe.", "sharing"),
    ("Occasionally we make our mailing list (postal addresses only) available to carefully chosen charities.",
     "sharing"),
    ("Your résumé will be forwarded to the recruiting agency handling the vacancy.", "sharing"),
    ("Embedded map widgets let the map provider log your IP address.", "sharing"),
    ("Booking details are processed by the airline under its own privacy notice.", "sharing"),
    ("We share the make, model and mileage of your car with the garage you choose.", "sharing"),
    ("Signed consent forms are shredded six months after the study ends.", "retention"),
    ("Call recordings are wiped after 90 days.", "retention"),
    ("Some of your details stay on file after you close your account, to meet our legal obligations.", "retention"),
    ("Tutors can view your homework uploads and the marks you received.", "sharing"),
    ("Members who opt in are listed in the online members' directory with their town and profession.", "sharing"),
    ("Appointment records are processed by our booking provider on our behalf.", "sharing"),
    ("The site includes YouTube and Instagram widgets, which may tell those companies which page you viewed.",
     "sharing"),
    ("We send your prescription and latest lab results to the pharmacy you choose.", "sharing"),
    ("Session tokens live in memory for the duration of your visit and are discarded when you log out.", "retention"),
    ("The verification partner checks the document and deletes the scan immediately after.", "retention"),
    ("We will erase your details within 30 days of the end of your contract.", "retention"),
    ("Members aged between the ages of 13 and 17 get a restricted profile.", "minors"),
    ("We may exchange our mailing list with other like-minded organisations.", "sharing"),
    ("We report late payments to the credit bureaus.", "sharing"),
    ("Your name, date of birth and allergies, are given to the camp nurse.", "sharing"),
    ("If the parent does not confirm within seven (7) days, we will delete the child's e-mail address.", "retention"),
    ("The Company may entrust the processing of your personal information to specialised contractors.", "sharing"),
    ("Your score and online status are visible to your followers.", "sharing"),
    ("Delivery details will be provided to that courier so it can reach you.", "sharing"),
    ("We may provide your ID number and card details to licensed credit reporting institutions.", "sharing"),
    ("Records are destroyed without delay once the purpose of processing has been achieved.", "retention"),
    ("For joint marketing with other financial companies. Does Harbour Credit Union share? Yes", "sharing"),
    ("Precise location. Collected: yes. Shared: no. Optional: yes.", "sharing"),
    ("Our sub-processors and where they process data are listed below.", "sharing"),
    ("We do not share with nonaffiliates so they can market to you.", "sharing"),
    ("On termination of the agreement, we delete the customer's files within 30 days.", "retention"),
    ("This app follows the Google Play Families Policy.", "minors"),
    ("When you book a repair, we send your registration number, postcode and fault description to the garage.",
     "sharing"),
    ("For a viewing we give the letting agent your name and phone number.", "sharing"),
    ("Each participating retailer can see what you bought there and the points you earned.", "sharing"),
    ("Sponsors never get your e-mail address.", "sharing"),
    ("The open register can be sold to any organisation that asks for it.", "sharing"),
    ("The high-score table shows your nickname to everyone who plays.", "sharing"),
    ("If we ever sell the app, the new owner would get the player accounts.", "sharing"),
    ("We may share this with your GP, with your consent.", "sharing"),
    ("We pass the relevant details - your name and dates - to the hotel you booked.", "sharing"),
    ("Passenger data is transferred to the border agency before departure.", "sharing"),
    ("We use Sentry to collect crash reports.", "sharing"),
    ("Registered employers will be able to view your CV.", "sharing"),
    ("The recording is discarded immediately after processing.", "retention"),
    ("Invoices stay in our accounting system for seven years.", "retention"),
    ("Billing details are retained while your subscription is active.", "retention"),
    ("We may use photos from the open day on our website and in our annual report.", "sharing"),
    ("Your CV can be searched and downloaded by employers who subscribe to our database.", "sharing"),
    ("We submit your name and meter number to your electricity distributor.", "sharing"),
    ("A payments company stores your card details for us.", "sharing"),
    ("We keep copies of the returns and the related records for at least three years.", "retention"),
])
def test_paraphrases_without_the_usual_topic_word(paragraph: str, topic: str) -> None:
    assert topic in topics_of(paragraph)


@pytest.mark.parametrize(("paragraph", "topic"), [
    ("Candidates must hold a degree and have at least 5 years of experience.", "retention"),
    ("The balance will be held in a segregated client account until you withdraw it.", "retention"),
    ("Please remember that you are responsible for keeping your login details secure.", "retention"),
    ("Our children's clothing range is available in sizes from 0 to 14 years.", "minors"),
    ("We provide our services to businesses of all sizes.", "sharing"),
    ("Third-party trademarks mentioned on this site remain the property of their owners.", "sharing"),
    ("Our newsletter is published every Thursday.", "sharing"),
    ("The revised privacy policy will be posted on our website.", "sharing"),
    ("The Service is not available to anyone below the age of digital consent.", "sharing"),
    ("The user will be notified of the results of the review.", "sharing"),
    ("If a security incident occurs, we will take remedial measures and report it to the competent authorities.",
     "sharing"),
    ("If you think your child has sent us personal data without your permission, please get in touch.", "sharing"),
    ("You may ask us to disclose what personal information we hold about you.", "sharing"),
    ("Members of our affiliate programme earn a commission on each sale they refer.", "sharing"),
    ("We receive your name and profile picture from the social network you sign in with.", "sharing"),
    ("We check your identity with data from fraud prevention databases.", "sharing"),
    ("Please wipe down the screen before handing the device back.", "retention"),
    ("Never share your password or verification codes with anyone, even if they claim to work for us.", "sharing"),
    ("Worker threads and child processes are restarted after each update.", "minors"),
    ("A minor delay in processing may occur during public holidays.", "minors"),
    ("We receive your staff number and department from your employer when they enrol you.", "sharing"),
    ("Some of the countries we send data to may not have laws as strict as those in your country.", "sharing"),
    ("The retention dashboard lets administrators see how many mailboxes are archived.", "retention"),
    ("Our web servers automatically log your IP address, browser type and internet service provider.", "sharing"),
    ("Your orders are listed in your account dashboard with your name and shipping address.", "sharing"),
    ("We share your enthusiasm for good design with a growing team of volunteers.", "sharing"),
    ("The regional district office handles our billing enquiries for students.", "minors"),
    ("We send this notice every year for as long as you remain a customer.", "retention"),
    ("We want our website to be accessible to all users, including people with disabilities.", "sharing"),
    ("Browse our kid-friendly recipes for school lunches.", "minors"),
    ("The shop also lists goods sold by independent sellers.", "sharing"),
    ("If you are a victim of identity theft, file a report with your local police and the FTC.", "sharing"),
    ("You have the right to learn the third parties to whom your data are transferred.", "sharing"),
    ("You may ask for information on the purposes, the categories of data and the recipients.", "sharing"),
    ("Consent to the processing of your data is given by ticking the box.", "sharing"),
    ("Minors need the consent of a person with parental authority before using the Service.", "sharing"),
    ("Our range includes children's car seats and prams.", "minors"),
    ("Processor shall assist Customer in responding to requests from individuals.", "sharing"),
    ("We obtain data from you directly, from your devices and from third parties such as data brokers.", "sharing"),
    ("We limit collection to what is necessary for the purposes we disclose in this notice.", "sharing"),
    ("Your data is transferred over an encrypted connection.", "sharing"),
    ("We will send a confirmation message to the e-mail address you gave us.", "sharing"),
    ("Tap Share to send the article to a friend.", "sharing"),
    ("The signed lease and deposit records are kept for six years.", "sharing"),
    ("By using the site you consent to the collection, use and disclosure of your personal information.", "sharing"),
    ("Your order history helps us give you better offers.", "sharing"),
    ("As a processor, we process subscriber data only on the account holder's instructions.", "sharing"),
    ("Children may not post comments on the site.", "sharing"),
    ("Please send your request to the Data Protection Officer.", "sharing"),
    ("Give your consent to the processing of your data by ticking the box.", "sharing"),
    ("We may transfer your call to the appropriate department.", "sharing"),
    ("We display maintenance notices to all users.", "sharing"),
    ("Gift cards may not be sold to any other person.", "sharing"),
    ("Retailers can see stock levels.", "sharing"),
    ("In an emergency, call the emergency services.", "sharing"),
    ("You can store files in your drive while your account is active.", "retention"),
    ("Meal requests may reveal information about your health.", "sharing"),
])
def test_topic_words_in_other_senses_do_not_fire(paragraph: str, topic: str) -> None:
    assert topic not in topics_of(paragraph)


@pytest.mark.parametrize("paragraph", [
    "Government agencies may request that we disclose your personal information, and we will comply.",
    "Advertisers may ask us to disclose your browsing history.",
    "We may disclose your name and email to you and to the event organiser.",
])
def test_disclosure_to_others_is_sharing_even_near_words_of_the_right_to_know(paragraph: str) -> None:
    assert "sharing" in topics_of(paragraph)


def test_a_long_section_finds_what_its_paragraphs_find() -> None:
    # Long texts are matched only where a pattern can start: it must find exactly what the paragraphs do.
    rows = [json.loads(line) for line in (DEVSET / "blind2.jsonl").read_text(encoding="utf-8").splitlines()]
    paragraphs = [row["text"] for row in rows if len(row["text"].split()) > 12]
    section = "\n".join(paragraphs)
    assert len(section) > 20_000
    found = {(topic, hit.evidence) for topic, hit in rule_hits(section).items()}
    assert {topic for topic, _ in found} == set().union(*(topics_of(p) for p in paragraphs))
    assert all(evidence in section for _, evidence in found)


# --- quality floor on the labelled dev set ----------------------------------------------------------

def _f1(rows: list[dict], predictions: list[set[str]], topic: str) -> float:
    tp = fp = fn = 0
    for row, found in zip(rows, predictions, strict=True):
        predicted = topic in found
        gold = topic in row["topics"]
        tp += predicted and gold
        fp += predicted and not gold
        fn += gold and not predicted
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


# The written sets are regression checks, no longer the measure (real labelled policies are: see
# tests/test_topic_model.py). Their floors (fixtures/devset/floors.json) are the hybrid classifier's figure
# when it shipped, minus 0.05, set once (issue 11) and never tuned upward. Every file of the set has its floors.
FLOORS = json.loads((DEVSET / "floors.json").read_text(encoding="utf-8"))["floors"]
MIN_ROWS = {
    'blind10.jsonl': 120,
    'blind11.jsonl': 150,
    'blind12.jsonl': 150,
    'blind2.jsonl': 208,
    'blind3.jsonl': 101,
    'blind4.jsonl': 160,
    'blind5.jsonl': 150,
    'blind6.jsonl': 150,
    'blind7.jsonl': 140,
    'blind8.jsonl': 140,
    'blind9.jsonl': 120,
    'mixed.jsonl': 50,
    'paragraphs.jsonl': 40,
    'seeds.jsonl': 714,
    'written.jsonl': 176,
}


@pytest.mark.parametrize("filename", sorted(FLOORS))
def test_dev_set_quality_stays_above_the_floor(filename: str) -> None:
    rows = [json.loads(line) for line in (DEVSET / filename).read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) >= MIN_ROWS[filename]
    predictions = [hybrid_topics(row["text"], row["context"]) for row in rows]
    scores = {topic: round(_f1(rows, predictions, topic), 3) for topic in FLOORS[filename]}
    below = {t: (s, FLOORS[filename][t]) for t, s in scores.items() if s < FLOORS[filename][t]}
    assert not below, f"F1 under the floor (measured, floor): {below}"


def test_dev_set_rows_are_well_formed() -> None:
    for path in DEVSET.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            assert set(row) - {"labelled"} == {"seed", "text", "context", "topics"}
            assert row["text"].strip()
            assert set(row["topics"]) <= set(row.get("labelled", TOPICS)) <= set(TOPICS)
