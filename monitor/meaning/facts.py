"""What clauses state, for significance: ages, periods, verb statements, recipients, purposes, guarantees."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from monitor.text.clauses import split_sentences
from monitor.text.sections import Clause
from monitor.text.wording import ENUMERATOR, MODALS, NEGATIONS, canon_word, fold, is_number, number_value, stem, words

_NUM = (r"(?:\d{1,4}(?:\.\d+)?|(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|"
        r"three|four|five|six|seven|eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
        r"twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|a|an)")
_MINORS_WORDS = re.compile(r"\b(?:child|children|minor|minors|kid|kids|teen|teens|teenagers?|young|youth|"
                           r"parent|parents|parental|guardian|guardians|age|aged|coppa|students?)\b")
# "under the age of", "aged at least", "ages": the number after it is an age, unless a unit shorter than a year
# follows ("logs aged over 90 days")
_AGE_LEAD = r"\b(?:age|aged|ages)\s+(?:of\s+)?(?:at\s+least\s+|over\s+|under\s+|below\s+)?"
_AGE_RES = [
    (re.compile(rf"{_AGE_LEAD}({_NUM})\b(?!\s*(?:%|(?:\(\d+\)\s*)?(?:minutes?|hours?|days?|weeks?|months?)\b))"),
     False),
    (re.compile(rf"\b({_NUM})\s*(?:\(\d+\)\s*)?(?:years?[- ]old|years?\s+of\s+age|yrs? old)\b"), False),
    (re.compile(rf"\b({_NUM})\s*(?:\+|or\s+(?:older|over|above|younger|under))"), True),
    # a person under or over a number is of that age: "if you're under 13", "users under 16", "anyone over 18"
    (re.compile(rf"\b(?:you'?re|you\s+are|users?|anyone|persons?|people|individuals?)\s+(?:who\s+are\s+)?"
                rf"(?:under|below|younger\s+than|over|above|older\s+than)\s+(?:the\s+age\s+of\s+)?({_NUM})\b"
                r"(?!\s*(?:%|percent|hours?|days?|weeks?|months?|years?(?![- ]old| of age)))"), False),
    (re.compile(rf"\b(?:under|below|younger than|older than|over|above)\s+({_NUM})\b"
                r"(?!\s*(?:\(\d+\)\s*)?(?:%|percent|hours?|days?|weeks?|months?|years?(?![- ]old| of age)))"),
     True),
]
_UNIT_DAYS = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1, "week": 7, "month": 30, "year": 365}
_PERIOD_RE = re.compile(rf"\b({_NUM})\s+(?:\(\d+\)\s+)?(?:(business|working|calendar)\s+)?"
                        r"(minute|hour|day|week|month|year)s?\b")
_OPEN_PERIODS = [
    (re.compile(r"\bindefinite(?:ly)?\b|\bpermanent(?:ly)?\b|\bforever\b|\bwithout (?:any |a )?time limit|"
                r"\bno (?:fixed |set )?(?:time limit|retention (?:period|limit))"), "indefinitely", math.inf),
    (re.compile(r"\buntil (?:you |the user )?(?:close|delete|cancel|terminate)s? (?:your |their |the )?account|"
                r"\buntil (?:your |the )?account (?:is )?(?:closure|closed|deletion|deleted|cancell?(?:ed|ation)|"
                r"terminat(?:ed|ion))"), "until account closure", None),
    (re.compile(r"\b(?:as long as|while) (?:your|the) account (?:is (?:active|open)|exists|remains)|"
                r"\bwhile (?::\s*)?your account is in existence"), "while the account exists", None),
    (re.compile(r"\b(?:as long as|for the (?:minimum |shortest )?(?:period|time)(?: of time)?|(?:the )?(?:minimum|"
                r"shortest) (?:period|time)(?: of time)?) (?:is |as )?(?:strictly |reasonably )?"
                r"(?:necessary|needed|required)\b|\bno longer than (?:is )?(?:strictly |reasonably )?"
                r"(?:necessary|needed|required)"), "as long as necessary", None),
]
RETENTION_WORDS = re.compile(r"\b(?:retain\w*|retention|keep|keeps|kept|stor(?:e|es|ed|ing|age)|hold|held|"
                              r"delet\w*|eras\w*|destroy\w*|preserv\w*|archiv\w*|anonymi[sz]\w*|purg\w*)\b")
_STATEMENT_END = re.compile(r"(?<=;)\s+")


def _fmt(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number)


def _sentences(text: str) -> list[str]:
    """The statements of a text, folded: its sentences (the one splitter, `split_sentences`, which needs the
    capitals that `fold` takes away: split first), each cut again at semicolons, which end a statement as far
    as facts are concerned ("we keep logs 30 days; we delete…")."""
    return [part for sentence in split_sentences(text) for part in _STATEMENT_END.split(fold(sentence))
            if part.strip()]


def ages(text: str, context: str = "") -> list[int]:
    """Age thresholds stated in a text ("under the age of thirteen" → [13]), in order, unique.

    Bare comparisons ("under 13") count only next to words about minors, in the sentence or `context`.
    """
    return list(dict.fromkeys(age_mentions(text, context)))


def age_mentions(text: str, context: str = "") -> list[int]:
    """Every statement of an age threshold in a text, in order, repeats included: "(a) under 13 …; (b) under 16"
    → [13, 16], so that one of several ages changed can be told from one removed (see `ages`)."""
    found: list[tuple[int, int, int]] = []  # (sentence, start, age)
    minors_context = bool(_MINORS_WORDS.search(fold(context)))
    for number, sentence in enumerate(_sentences(text)):
        taken: set[int] = set()  # a number two patterns read ("13 years old", "under 13") is one statement
        for pattern, needs_minors_words in _AGE_RES:
            if needs_minors_words and not (minors_context or _MINORS_WORDS.search(sentence)):
                continue
            for m in pattern.finditer(sentence):
                value = number_value(m.group(1))
                if m.group(1) not in ("a", "an") and value is not None and 1 < value < 100 \
                        and m.start(1) not in taken:
                    taken.add(m.start(1))
                    found.append((number, m.start(1), int(value)))
    return [age for _, _, age in sorted(found)]


# What a stated length of time measures: how long something lasts or is kept ("for 2 years"), a window
# looked back over ("in the preceding 12 months"), a deadline to answer a request ("we respond within 45
# days") or how often something may be done ("once a year"). Only a length can be how long data is kept.
PeriodRole = Literal["length", "look-back", "deadline", "frequency"]


@dataclass(frozen=True)
class Period:
    """A stated length of time: `label` as the policy words it, `days` (inf: indefinite, None: event),
    `role` what it measures (`PeriodRole`)."""

    label: str
    days: float | None
    role: PeriodRole = "length"


# "the preceding 12 months", "over the past twelve months", "the 12 months prior to your request"
_LOOK_BACK_BEFORE = re.compile(r"\b(?:preceding|past|last|prior|previous)\s+$")
_LOOK_BACK_AFTER = re.compile(r"^\s+(?:immediately\s+)?(?:preceding|prior to|before (?:the|your|a|our|we|receiv))")
# "once a year", "twice a year", "two times a year", "once every 12 months"
_FREQUENCY_BEFORE = re.compile(r"\b(?:once|twice|thrice|times)\s+(?:(?:in|per|every|each)\s+(?:any\s+|the\s+)?)?$")
# a deadline: "within 45 days", "within a term of twenty business days", "no later than 30 days", "an additional
# 45 days", in a sentence about answering someone ("we aim to respond to a consumer request … within 45 days",
# "a response to your complaint within 45 days") or handling a request that keeps or deletes nothing ("we will
# process your request within 30 days"; "we delete your data within 30 days of your request" is a length)
_DEADLINE_BEFORE = re.compile(r"\b(?:within|no later than|not later than|no more than|an? (?:additional|further)|"
                              r"another)\s+(?:(?:a|the) (?:term|period|maximum) of\s+)?(?:the\s+)?$")
_ANSWERING = re.compile(r"\b(?:respond\w*|responses?|repl(?:y|ies|ied)|answer\w*|acknowledg\w*)\b")
_REQUEST = re.compile(r"\b(?:requests?|inquir(?:y|ies)|enquir(?:y|ies)|complaints?|appeals?)\b")
_SENTENCE_BREAK = re.compile(r"[.;!?]\s")
_ROLE_REACH = 240  # characters before a period read for what it measures: its own sentence, as a rule


def _role(folded: str, start: int, end: int) -> PeriodRole:
    """What the period at folded[start:end] measures, from the words around it in its sentence."""
    before = _SENTENCE_BREAK.split(folded[max(0, start - _ROLE_REACH):start])[-1]
    after = folded[end:end + 40]
    if _LOOK_BACK_BEFORE.search(before) or _LOOK_BACK_AFTER.match(after):
        return "look-back"
    if _FREQUENCY_BEFORE.search(before):
        return "frequency"
    if _DEADLINE_BEFORE.search(before):
        sentence = before + _SENTENCE_BREAK.split(folded[start:start + _ROLE_REACH])[0]
        if _ANSWERING.search(sentence) or (_REQUEST.search(sentence) and not RETENTION_WORDS.search(sentence)):
            return "deadline"
    return "length"


_AGE_BEFORE = re.compile(_AGE_LEAD + "$")


def periods(text: str) -> list[Period]:
    """Periods stated in a text ("for six months" → 6 months), in order, unique by label; a label stated
    both as a length and as something else ("keep it 12 months", "the past 12 months") is a length."""
    found: dict[str, Period] = {}
    folded = fold(text)
    for m in _PERIOD_RE.finditer(folded):
        value = number_value(m.group(1))
        if value is None or re.search(r"(?:years?[- ]old|years? of age)", folded[m.end() - 6: m.end() + 8]) \
                or m.group(3) == "year" and _AGE_BEFORE.search(folded[max(0, m.start() - 40):m.start()]):
            continue                                   # an age: "13 years old", "under the age of 13 years"
        unit = m.group(3) + ("s" if value != 1 else "")
        label = f"{_fmt(value)} {m.group(2) + ' ' if m.group(2) else ''}{unit}"
        role = _role(folded, m.start(), m.end())
        if label not in found or (role == "length" and found[label].role != "length"):
            found[label] = Period(label, value * _UNIT_DAYS[m.group(3)], role)
    for pattern, label, days in _OPEN_PERIODS:
        if pattern.search(folded):
            found.setdefault(label, Period(label, days))
    return list(found.values())


# Verbs whose modality and negation matter: form → lemma; lemma → (participle, topic, risky).
# A "risky" verb is something done with the data (sell, share, keep); the others are protections.
VERBS: dict[str, tuple[str, str | None, bool]] = {
    "sell": ("sold", "sharing", True), "rent": ("rented", "sharing", True), "trade": ("traded", "sharing", True),
    "lease": ("leased", "sharing", True), "share": ("shared", "sharing", True),
    "disclose": ("disclosed", "sharing", True), "transfer": ("transferred", "sharing", True),
    "provide": ("provided", "sharing", True), "retain": ("retained", "retention", True),
    "keep": ("kept", "retention", True), "store": ("stored", "retention", True),
    "collect": ("collected", "collection", True), "use": ("used", None, True), "track": ("tracked", None, True),
    "delete": ("deleted", "retention", False), "erase": ("erased", "retention", False),
    "destroy": ("destroyed", "retention", False), "anonymize": ("anonymized", "retention", False),
    "notify": ("notified", None, False), "inform": ("informed", None, False), "ask": ("asked", None, False),
    "seek": ("sought", None, False),
}
VERB_FORMS: dict[str, str] = {}
for _lemma, (_participle, _topic, _risky) in VERBS.items():
    _stem_ = _lemma[:-1] if _lemma.endswith("e") else _lemma
    for _form in (_lemma, _lemma + "s", _participle, _stem_ + "ing", _lemma.replace("y", "ies")):
        VERB_FORMS[_form] = _lemma
VERB_FORMS.update({"sells": "sell", "selling": "sell", "keeps": "keep", "notifies": "notify",
                    "notifying": "notify", "transferring": "transfer"})
_DATA_WORDS = re.compile(r"\b(?:information|info|data|details|content|records?|messages|it|them|identifiers?|"
                         r"address(?:es)?|profiles?|location|history|logs?|photos?|images?|files?|"
                         r"numbers?|contacts?|pii)\b")
_NEGATIVE_OPENER = re.compile(r"^(?:no|none|nothing|neither)\b|\b(?:under no circumstances?|in no (?:event|case)|"
                              r"at no time|by no means)\b")
_NONE_WORDS = frozenset({"none", "no", "never", "nobody", "nothing"})  # "Data transfers: none"
_KEEPING = frozenset({"retain", "keep", "store"})
_LIMIT = re.compile(r"\b(?:any )?longer than\b|\bbeyond\b|\bmore than\b|\bin excess of\b")
_SCOPE_SKIP = frozenset({"is", "are", "was", "were", "get", "gets", ",", "and", "or", "to", "be", "been",
                         "being", "also", "ever", "further", "otherwise",
                         "do", "does", "did", "only", "then", "therefore", "generally", "either"})
MODAL_RANK = {"may": 1, "might": 1, "can": 1, "could": 1, "should": 2, "would": 2, "will": 3, "shall": 3,
               "must": 3, None: 3}


_PRONOUNS = frozenset({"you", "we", "us", "i", "they", "he", "she", "it"})
_SUBJECT_REACH = 12  # tokens back from a verb to its nearest pronoun ("you can update, manage, export and delete")


def _subject(tokens: list[str], verb: int) -> str | None:
    """The pronoun nearest before a verb in its sentence: its subject ("we will delete"), or the one it
    serves ("ask us to delete", "allow you to share"); None when there is none nearby."""
    return next((t for t in reversed(tokens[max(0, verb - _SUBJECT_REACH):verb]) if t in _PRONOUNS), None)


_HARM_MARKERS = frozenset({"unauthorized", "unauthorised", "unlawful", "unlawfully", "accidental", "accidentally",
                           "improper", "improperly", "inadvertent", "inadvertently", "against", "prevent",
                           "prevents", "preventing", "from"})
_HARM_REACH = 12


def _guarded_against(tokens: list[str], verb: int) -> bool:
    """Is the verb one of the harms a sentence guards data against ("protect it from being lost, used,
    altered or disclosed", "against unauthorised access or disclosure")? Walking back from it through
    a list (words, commas, "or", other verbs) to a guarding word, before any subject or modal."""
    for j in range(verb - 1, max(verb - _HARM_REACH, -1), -1):
        t = tokens[j]
        if t in _PRONOUNS or t in MODALS:
            return False
        if t in _HARM_MARKERS:
            return t != "from" or (j + 1 < verb and tokens[j + 1] == "being")
    return False


_GERUND_AS_VERB = frozenset({"is", "are", "was", "were", "be", "been", "am", "by", "when", "while", "before",
                             "after", "without", "not", "never", "start", "starts", "started", "stop", "stops",
                             "stopped", "continue", "continues", "keep", "keeps", "begin", "begins"})


def _verbal(tokens: list[str], verb: int) -> bool:
    """Is an -ing form a verb here ("we are sharing", "by selling it", "without sharing it") rather than a
    noun ("the use and sharing of data", "opt out of sales, sharing", a heading "Sharing your data")?"""
    j = verb - 1
    while j >= 0 and tokens[j].endswith("ly"):
        j -= 1
    return j >= 0 and tokens[j] in _GERUND_AS_VERB


def statements(text: str) -> dict[str, set[tuple[bool, str | None]]]:
    """What a text says about each key verb: lemma → {(negated, modal)} ("will not sell" → (True, will)).

    What the user does is no statement about the data's fate: a verb whose nearest pronoun is "you"
    ("you can export and delete your data", "if you share a post") is left out, and so is a harm the
    text guards data against ("protect it from being lost, altered or disclosed"), and an -ing form used
    as a noun ("the collection, use and sharing of data", "opt out of sales, sharing", a heading
    "Sharing your information")."""
    found: dict[str, set[tuple[bool, str | None]]] = {}
    for sentence in _sentences(text):
        tokens = re.findall(r"[a-z]+|[,:]", sentence)
        about_data = bool(_DATA_WORDS.search(sentence))
        for i, token in enumerate(tokens):
            lemma = VERB_FORMS.get(token)
            if lemma is None or (VERBS[lemma][2] and not about_data):   # "if we are sold or merged"
                continue
            if tokens[i + 1:i + 3] in ([":", word] for word in _NONE_WORDS):  # a label answered "Transfers: none"
                found.setdefault(lemma, set()).add((True, None))
                continue
            if token.endswith("ing") and not _verbal(tokens, i):
                continue                               # "opt out of sales, sharing": a noun, no statement
            negated, modal = False, None
            for j in range(i - 1, max(i - 10, -1), -1):
                t = tokens[j]
                if t in NEGATIONS or t == "never":
                    negated = True
                elif t in MODALS:
                    modal = modal or t
                elif not (t in _SCOPE_SKIP or t in VERB_FORMS or t.endswith("ly")):
                    break
            if token.endswith("ing") and tokens[i - 2:i] in (["not", "by"], ["never", "by"]):
                negated = True                         # "…, but not by selling or monetizing your content"
            if _subject(tokens, i) == "you":
                continue                               # "you can export and delete your data": the user acts
            if _guarded_against(tokens, i):
                continue                               # "protect it from being lost, altered or disclosed"
            # "Under no circumstances will we sell", "No personal data is sold"
            negated = negated or bool(_NEGATIVE_OPENER.search(" ".join(tokens[:i])))
            if negated and lemma in _KEEPING and _LIMIT.search(" ".join(tokens[i + 1:])):
                negated = False                        # "we will not retain it longer than necessary": it is kept
            found.setdefault(lemma, set()).add((negated, modal))
    return found


# A recipient: a kind of party with up to two words before it. A possessive belongs to the name ("lyft's
# platform", "our partners' vendors"): a match never starts inside one (the "s" of "lyft's") and a party
# word that owns the next ("partner's platform") is no head.
_RECIPIENT = re.compile(
    r"(?<![a-z]')\b((?:[a-z]+(?:'s|')? ){0,2}?(?:third part(?:y|ies)|thirdpart(?:y|ies)|partners?|affiliates?|"
    r"subsidiar(?:y|ies)|advertisers?|marketers?|brokers?|compan(?:y|ies)|vendors?|suppliers?|providers?|processors?|contractors?|"
    r"agenc(?:y|ies)|authorit(?:y|ies)|governments?|regulators?|courts?|police|law enforcement|insurers?|"
    r"employers?|researchers?|institutions?|networks?|platforms?|sponsors?|resellers?|purchasers?|buyers?|"
    r"acquirers?|successors?|investors?|lenders?|banks?|organizations?|entities|firms?|bureaus?|"
    r"businesses|analytics services|service providers))\b(?!'s\b)(?!' (?!(?:and|or)\b)[a-z])")
# Verb forms that send data somewhere. Only verbs: "service providers", "at least", "passwords",
# "given that" and "trademarks" name no transfer, and must not make a mentioned company a recipient.
_RECIPIENT_CONTEXT = re.compile(
    r"\b(?:shar(?:e|es|ed|ing)|disclos(?:e|es|ed|ing|ure|ures)|sell(?:s|ing)?|sold|rent(?:s|ed|ing)?|"
    r"transfer(?:s|red|ring)?|provid(?:e|es|ed|ing)|giv(?:e|es|ing)|given to|pass(?:es|ed|ing)? (?:it |them |data |"
    r"(?:your |personal )?information )?(?:on|along)|send(?:s|ing)?|sent|trad(?:e|es|ed|ing)|leas(?:e|es|ed|ing)|"
    r"mak\w* (?:it |them )?available|releas(?:e|es|ed|ing)|transmit(?:s|ted|ting)?|"
    r"(?:ha(?:ve|s)|gain(?:s|ed)?|get(?:s)?) (?:\w+ ){0,2}access to)\b")
_NP_STOP = frozenset("with to and or our the your their its his her such as including include includes other "
                     "certain selected trusted any all these those of for by from we may us it them this that "
                     "share disclose sell provide transfer some various relevant e g i e like also who which "
                     "not a an is are be".split())


# Closed word classes (prepositions, question words, modals, auxiliaries, pronouns) and verbs never
# qualify a recipient: "communication between buyers" names buyers, "within PayPal subsidiaries" subsidiaries.
_NOT_IN_A_NAME = frozenset(
    "within on through via into across among between about over under at in onto upon toward towards without "
    "per outside inside after before during when where how why whom whose what whether if unless while can could "
    "might will would should must shall do does did has have had was were been being you they he she off beyond "
    "behind near along around throughout".split())
# Nor does a word that opens a clause ("because another organization is buying"), or a verb whose object
# the party is ("allow third parties to", "help advertisers"): the name starts after it.
_OPENS_A_CLAUSE = frozenset(
    "because since although though whereas so nor but yet than once until unless as allow allows allowing "
    "enable enables enabling help helps helping let lets letting permit permits permitting require requires "
    "requiring ask asks asking instruct instructs instructing".split())
_GIVES_A_REASON = frozenset({"because", "since", "although", "though", "whereas"})
_NOT_MODIFIERS = frozenset({"information", "info", "personal", "user", "users", "customer", "details", "such",
                            "similar"})
# A singular party word after a demonstrative ("on behalf of that organization") refers back to a party
# named before; and a lone generic noun ("the company", "a company, organization, or other legal entity",
# "your employer or organization", "clients, business partners and other organizations") is the policy's
# writer, the customer it serves or anyone at all, left over once its qualifiers are cut: neither names a
# kind of recipient. Singular and plural alike, as they share a key: dropping only "organization" would
# make an "other organizations" the other version keeps read as news.
_REFERS_BACK = frozenset({"that", "this", "said", "same"})
_GENERIC_PARTY = frozenset({"company", "companies", "organization", "organizations", "organisation",
                            "organisations", "entity", "entities", "business", "businesses", "firm", "firms"})


_QUALIFIED = re.compile(r" (?:users?|members?|customers?|visitors?|accounts?|information|info|data|details|"
                        r"profiles?|content|activity|(?:routing |account )?numbers?|records?|statements?|"
                        # what a company offers or writes, not the company ("share partner opportunities")
                        r"opportunit(?:y|ies)|programs?|offers?|offerings?|features?|terms|polic(?:y|ies)|"
                        r"promotions?|events?|newsletters?)\b")


# "third-party" (folded "thirdparty") before a noun is an adjective: "on third-party websites", "third-party
# cookies"; before punctuation, a closed-class word or a verb ("with a third-party, who", "a third-party
# acting for us") it is the party itself.
_ADJECTIVE_OF = re.compile(r" (?!(?:" + "|".join(sorted(_NP_STOP | _NOT_IN_A_NAME | _OPENS_A_CLAUSE)) +
                           r")\b)[a-z]+\b(?<!ing)")


def _qualifies_next(phrase: list[str], after: str) -> bool:
    """Is a singular recipient word a modifier of the users or data named right after it ("Platform
    Users", "partner information")? The head of a noun phrase is its last noun; a plural before a data
    word is a recipient given it ("provide partners information")."""
    return bool(phrase) and not phrase[-1].endswith("s") and bool(_QUALIFIED.match(after))


def recipients(clauses: Iterable[Clause], headings: str = "") -> dict[str, str]:
    """Who clauses say data goes to: canonical key → display phrase ("data brokers").

    A recipient counts in a sentence that shares, sells, discloses… data (or under a lead-in that does),
    unless every sharing verb there is negated ("we never sell to data brokers"); a company data comes
    *from* is a source ("we receive information from advertising partners"), and one that is given
    something other than data is no recipient ("Gumb provides the technical platform"). A clause whose words
    (and lead-in) say no transfer is read under its section's `headings` (the path, "5. Disclosures of your
    personal data › Other Third Parties") as under a lead-in: "- Data brokers and credit reference agencies."
    there, or "they might be service providers such as … data brokers" under "Disclosing and transfer of data".
    """
    found: dict[str, str] = {}
    headings = fold(headings)
    headings = headings if _sends_data_out(headings) else ""
    for clause in clauses:
        lead_in = fold(clause.lead_in or "")
        for sentence in _sentences(ENUMERATOR.sub("", clause.text.strip())):
            transfers = _RECIPIENT_CONTEXT.search(sentence) or _RECIPIENT_CONTEXT.search(lead_in)
            context = lead_in if transfers else headings  # ("Externally," over a list says nothing either)
            says = statements(sentence) or statements(context)
            sharing = [s for lemma, s in says.items() if VERBS[lemma][1] == "sharing"]
            if not (transfers or _RECIPIENT_CONTEXT.search(context)) or \
                    (sharing and all(neg for s in sharing for neg, _ in s)) or \
                    not (_DATA_WORDS.search(sentence) or _DATA_WORDS.search(context)):
                continue                               # no transfer, a denied one, or none of data
            for m in _RECIPIENT.finditer(sentence):
                phrase = m.group(1).split()
                cut = max((i + 1 for i, w in enumerate(phrase)
                           if w in _NP_STOP or w in _NOT_MODIFIERS or w in _NOT_IN_A_NAME or w in VERB_FORMS
                           or w in _OPENS_A_CLAUSE or is_number(w) or len(w) == 1), default=0)
                before = phrase[cut - 1] if cut else (sentence[:m.start(1)].split() or [""])[-1]
                phrase = phrase[cut:]                  # "information with advertisers" → "advertisers"
                if _qualifies_next(phrase, sentence[m.end(1):]):
                    continue                           # "non-registered Platform Users": users, not a platform
                if phrase and phrase[-1] == "thirdparty" and _ADJECTIVE_OF.match(sentence[m.end(1):]):
                    continue                           # "third-party websites": a website, not a third party
                if len(phrase) == 1 and (phrase[0] in _GENERIC_PARTY or
                                         before in _REFERS_BACK and not phrase[0].endswith("s")):
                    continue                           # "that organization", "the company": no kind of recipient
                if before in _GIVES_A_REASON:          # "because another organization is buying them": the
                    continue                           # subject of a reason, not whom the sentence shares with
                if phrase and phrase[-1] in ("platform", "platforms") and _PLACE_BEFORE.search(
                        sentence[:m.end(1)].rstrip()[:-len(" ".join(phrase))]):
                    continue                           # "ads on and off Lyft's Platform": where, not to whom
                if phrase and before != "from":        # "we receive data from partners": a source
                    # "third parties" and "third-party" (folded "thirdparty") are one recipient
                    key = " ".join(stem(canon_word(w)) for w in phrase).replace("third party", "thirdparty")
                    found.setdefault(key, " ".join(phrase).replace("thirdpart", "third-part"))
    return found


# A heading that says data goes out: shared, sold, its recipients, its onward transfer (the Privacy Shield's and the
# DPF's word); or disclosed, where data is named ("Disclosure &
# Policies" over an editorial note discloses no data). Not one about data coming in ("Information you provide to
# us", "Third-party sources") or about the user's rights ("…delete or transfer your data").
_OUTBOUND_HEADING = re.compile(r"\b(?:shar(?:e|es|ed|ing)|sell(?:s|ing)?|sold|sales?|recipients?|onward transfers?)\b")
_DISCLOSURE_HEADING = re.compile(r"\bdisclos(?:e|es|ed|ing|ure|ures)\b")


def _sends_data_out(folded: str) -> bool:
    """Does one of a section's headings (its path, folded, " › " between them) say data goes out of the company?"""
    return any(_OUTBOUND_HEADING.search(heading)
               or (_DISCLOSURE_HEADING.search(heading) and _DATA_WORDS.search(heading))
               for heading in folded.split(" › "))


# Prepositions of place: a platform after them is where something happens, not a party data goes to
_PLACE_BEFORE = re.compile(r"\b(?:on|off|across|outside(?: of)?|within|throughout|through|via|onto)\s+"
                           r"(?:(?:the|a|an|our|your|their|its|this|that|[\w-]+'s)\s+)*$")

_KIND_OF_RECIPIENT = (r"(?:third[- ]part(?:y|ies)|partners?|affiliates?|subsidiar(?:y|ies)|advertisers?|brokers?|"
                      r"vendors?|suppliers?|providers?|processors?|sub-?processors?|contractors?|platforms?)")
# capitalised words, with the lower-case particles names carry ("Send in Blue", "Bank of America")
_PROPER_NAME = r"[A-Z][\w&'’.-]*(?: (?:(?:in|of|de|du|des|von|van|der|la|le|for|the) )?[A-Z][\w&'’.-]*)*"
# A kind of recipient, then the companies it lists: "vendors are Mailchimp, SocketLabs or Braze",
# "payment processors, including Stripe and PayPal", "partners (such as Incogni, Saily)".
_NAMED_LIST = re.compile(
    rf"(?i:\b{_KIND_OF_RECIPIENT}\b"
    rf"(?: is| are|,? including|,? such as|,? like|,? namely|,? e\.g\.,?| include| includes|:)"
    rf"\s*\(?(?:such as |including |e\.g\.,? )?)({_PROPER_NAME}(?:,? (?:and |or |and/or )?{_PROPER_NAME})*)")
_NAME_IN_LIST = re.compile(_PROPER_NAME)


# A row of a list of companies: its first cell a name ("Stripe | Payment | United States", "Meta Platforms,
# Inc. - advertising measurement"), a company form after a comma allowed
_NAME_CELL = re.compile(rf"^({_PROPER_NAME}(?:,? (?:Inc|LLC|L\.L\.C|Ltd|Limited|GmbH|SAS|SA|S\.A|BV|B\.V|AG|Corp|"
                        rf"Corporation|Co|plc|PLC|Pty|Oy|AB|AS|ApS|SRL|S\.r\.l|KK)\.?)?) ?(?:\||:| - | – )")


# Headings over a list of the parties data goes to ("List of third-party service providers", "Subprocessors"), not
# over a list of categories, sources, cookies or purposes (whose rows open with "Geolocation Data:", "Cookie |")
_LISTS_RECIPIENTS = re.compile(r"(?i:\b(?:sub-?processors?|processors|service providers?|vendors|recipients?|"
                               r"third[- ]part(?:y|ies)|partners)\b)")
_LISTS_SOMETHING_ELSE = re.compile(r"(?i:categor|sources?\b|cookie|purpose|collect|receiv|obtain|\bfrom\b)")
# ...and a row's first cell is no name when it holds a word of a table's header or of a category
_NOT_A_NAME = frozenset("data information info storage cookie cookies purpose purposes basis bases interest "
                        "interests decision decisions period periods category categories identifier identifiers "
                        "type types name names networks media providers provider partners partner vendors vendor "
                        "processor processors subprocessor subprocessors recipient recipients description location "
                        "country legal retention company companies affiliates affiliate contractors contractor "
                        "advertisers advertiser third party parties integrations integration links transfers "
                        "transfer notice account user users segment ex".split())


# Capitalised words that open a sentence or name a role rather than a company ("Each Party is an independent
# controller", "For This Purpose We are also a controller", "the Customer is also a controller")
_NOT_A_COMPANY = frozenset("we you i they our your their us each every either both any all this that these those the "
                           "a an for in on at as if when where such other party parties customer customers company "
                           "companies user users client clients partner partners merchant merchants controller "
                           "controllers purpose and of & or".split())


def _company(found: str) -> str | None:
    """A company's name from what the controller pattern matched: the words before it that open the sentence or
    name a role are left out ("We and Meta Platforms Ireland Limited" → "Meta Platforms Ireland Limited");
    None when no word of a name is left."""
    words = found.strip(" ,").split(" ")
    while words and words[0].lower().strip(",") in _NOT_A_COMPANY:
        words.pop(0)
    name = " ".join(words).strip(" ,")
    return name if name and any(w.lower().strip(",.") not in _NOT_A_COMPANY for w in words) else None


def named_recipients(clauses: Iterable[Clause], headings: str = "") -> dict[str, str]:
    """Companies a clause lists right after a kind of recipient ("Our email vendors are Mailchimp or
    Braze" → Mailchimp, Braze), and the names opening the rows of a list under headings naming a kind of
    recipient ("10. List of third-party service providers" over "- Stripe | Payment | United States"): key
    (letters and digits, lower case) → name as written."""
    found: dict[str, str] = {}
    rows_name = bool(_LISTS_RECIPIENTS.search(headings)) and not _LISTS_SOMETHING_ELSE.search(headings)
    for clause in clauses:
        names = [name.strip(" .") for m in _NAMED_LIST.finditer(clause.text)  # (a sentence's full stop)
                 for name in _NAME_IN_LIST.findall(m.group(1))]
        if rows_name and (clause.is_item or " | " in clause.text) and (row := _NAME_CELL.match(clause.text.strip())) \
                and not set(re.findall(r"[a-z]+", row.group(1).lower())) & _NOT_A_NAME:
            names.append(row.group(1))
        if "controller" in clause.text:  # (the pattern is tried only where it can match)
            names += [name for m in _ALSO_CONTROLLER.finditer(clause.text) if (name := _company(m.group(1)))]
        for name in names:
            if name:
                found.setdefault(re.sub(r"[\W_]+", "", name.lower()), name)
    return found


# Another company that decides about the data too ("DoorDash, Inc. is also a controller relating to your
# personal information", "Meta Platforms Ireland Limited is a joint controller"): it gets the data. The policy's
# owner calling itself "the controller" names nobody new, so an "also", "joint", "independent" or "separate" is
# asked for.
# a name of at most eight words, so that a page in capitals costs no more than one in lower case
_COMPANY = (r"[A-Z][\w&'-]*(?: (?:[A-Z][\w&'-]*|of|and|&)){0,7}"
            r"(?:,? (?:Inc|LLC|Ltd|GmbH|AG|SA|SE|BV|plc|Corp|Limited)\.?)?")
_ALSO_CONTROLLER = re.compile(
    rf"(?<![\w-])({_COMPANY}) (?:is|are|will be|becomes?|has become|have become) (?:also |now |each |both )*"
    r"(?:an? |the )?(?:(?:joint|independent|separate) |(?<=also )(?:an? |the )?)(?:data )?controllers?\b")


_PURPOSE_ITEM = re.compile(r"^(?:to|for|in order to|so that|so as to)\s+\S")
_INLINE_CAP = 80  # characters of an inline purpose read (its key): a long phrase's later words are no purpose of theirs
_PURPOSE_INLINE = re.compile(rf"\b(?:for the purposes? of|in order to)\s+([^,.;:]{{3,{_INLINE_CAP}}})|"
                             r"\bfor (?:[a-z]+ ){1,3}purposes\b")
# Openers that only look like a purpose: "for example", "for instance", "for more details/information",
# "to learn more" and "to the extent" are discourse markers that introduce an illustration, a pointer or a
# condition, never the reason data is used. A small closed list, because English has few of them and a
# list item starting so is never itself a purpose.
_DISCOURSE_MARKER = re.compile(r"^(?:for (?:example|instance|(?:more|further|additional|full) (?:details|information|"
                               r"info)|details|information)\b|in order to do (?:that|this|so|it)\b|"
                               r"to (?:learn|find out|read|see) more\b|to the extent\b|to (?:this|that) end\b|"
                               r"to do (?:so|this|that)\b|"
                               # "For most devices, …", "for some services": a scope a quantifier opens, no use
                               r"for (?:most|some|all|each|every|any|many|certain|these|those|such)\b"
                               r"(?! (?:[a-z]+ ){0,2}purposes?\b))")  # ("for these advertising purposes" names one)
# Words that point at a purpose named elsewhere ("for the following purposes", "for these purposes", "for the
# purposes described above", "for the purpose of this privacy policy", "in order to do that") and so name none:
# determiners, pointers, quantifiers and the document's own name. A purpose needs one word outside them.
_POINTS_ELSEWHERE = frozenset(
    "for to in order so that as of the a an these those this that such following above below same said "
    "aforementioned foregoing other various certain specific different respective new additional any all some "
    "several many what which two three four five described listed mentioned stated set out outlined specified "
    "identified explained indicated herein purpose purposes privacy policy notice statement section agreement "
    "terms document do it".split())
# A list item's purpose ends where its phrase does: at a sentence or statement end, or at a comma opening a
# new clause ("in order to create an account, you need to register") — not twelve words on.
_PURPOSE_END = re.compile(r"[.;:!?](?:\s|$)|,\s*(?=(?:we|you|they|please|if|when|where|which|unless|but|while|"
                          r"this|these|it)\b)")


# A list item naming whom a part of the policy is for ("For California residents", "For users in the EEA, UK
# and Switzerland") scopes what follows; it is no purpose.
# Before the noun only a determiner or a place ("for all EU users", "for California residents"), after it only
# where they are ("in the EEA, UK and Switzerland") or an age: no verb, so "for sending offers to customers" or
# "for profiling children under 13" stay purposes.
_AUDIENCE_SCOPE = re.compile(
    r"^for (?:(?:all|our|the|existing|new|registered|certain)\s+)?(?:[a-z][\w.-]*\s+){0,3}?"
    r"(?:residents?|users?|consumers?|individuals?|customers?|members?|visitors?|citizens?|people|persons"
    r"|employees|applicants|candidates|subscribers|players|parents|children|minors|teens|kids|account holders)"
    r"(?:\s+(?:(?:located |based |living )?(?:in|of|from|outside)\s+[^;:]{1,60}"
    r"|(?:under|over|aged)\s+(?:the age of\s+)?\d{1,2}))?$")


def _scope(phrase: str) -> bool:
    """An audience scope: the pattern, and no verb anywhere ("-ing", "to …")."""
    return bool(_AUDIENCE_SCOPE.match(phrase)) and " to " not in phrase and not re.search(r"\w+ing\b", phrase)


def _names_a_purpose(phrase: str) -> bool:
    """Does a purpose phrase say what data is used for, rather than introduce an example, point at
    purposes listed elsewhere ("for example, …", "for the following purposes", "in order to do that") or
    say whom a part of the policy is for ("for California residents")?"""
    return not _DISCOURSE_MARKER.match(phrase) and not _scope(phrase) and not _DESTINATION.match(phrase) and \
        any(w not in _POINTS_ELSEWHERE for w in re.findall(r"[a-z]+", phrase))


# "to" before a determiner or a plural noun says where data goes, not what for: "to countries deemed adequate",
# "to our partners", "to the authorities" (an infinitive rarely ends in a single s: "to process", "to focus")
_DESTINATION = re.compile(r"^to (?:the|a|an|our|your|their|its|his|her|any|all|other|these|those|such|certain|"
                          r"third|us|them|[a-z]+ies|[a-z]+(?<![su])s)\b")


_EXCLUDED = re.compile(r"\b(?:not|never|no longer|neither|nor)\b")


def _sentence_before(text: str, at: int) -> str:
    """The words of `text` before `at` in the same sentence."""
    return re.split(r"[.;!?](?:\s|$)", text[:at])[-1]


def purposes(clauses: Iterable[Clause]) -> dict[str, str]:
    """Purposes clauses state: list items like "to train our models" and "for the purpose of …"."""
    found: dict[str, str] = {}
    for clause in clauses:
        item = fold(ENUMERATOR.sub("", clause.text.strip())).strip()
        # a list item's purpose is its phrase, up to the end of its clause
        candidates = [(_PURPOSE_END.split(item, maxsplit=1)[0], False)] \
            if clause.lead_in and _PURPOSE_ITEM.match(item) else []
        # (an inline phrase is read up to its cap: one cut there goes on in the text)
        # (not one a negation excludes: "we do not use your content for advertising purposes")
        candidates += [(m.group(0), m.group(1) is not None and len(m.group(1)) == _INLINE_CAP)
                       for m in _PURPOSE_INLINE.finditer(item)
                       if not _EXCLUDED.search(_sentence_before(item, m.start()))]
        for phrase, cut in candidates:
            phrase = re.sub(r"[;,.]?\s*(?:and|or)?\s*$", "", phrase.strip()).strip(" ;,.")
            if phrase.endswith(")") and phrase.count(")") > phrase.count("("):
                phrase = phrase[:-1].rstrip(" ;,.")  # "…the safety of the users)": the bracket closes the text's
            if _names_a_purpose(phrase):
                shown = phrase.split()
                if cut:  # the last word may be cut in two
                    shown = shown[:-1]
                found.setdefault(" ".join(words(phrase)),
                                 " ".join(shown[:12]) + (" …" if cut or len(shown) > 12 else ""))
    return found


# Promises whose disappearance loosens a policy: pattern, label, topic.
_GUARANTEES = [
    (re.compile(r"\bparental consent|consent (?:of|from) (?:a |their |the |his or her )?(?:parents?|guardians?)"
                r"|verifiable consent"), "parental consent", "minors"),
    (re.compile(r"\b(?:with|without) (?:your |the user's |users' )?(?:prior |explicit |express |separate )?"
                r"(?:consent|authori[sz]ation|permission)|\b(?:obtain|ask for|seek|request|get)(?:s|ed|ing)? "
                r"(?:your |the user's |users' )?(?:prior |explicit |express |separate |specific )*"
                r"(?:consent|authori[sz]ation|permission)"), "with your consent", None),
    (re.compile(r"\bconfidentiality (?:agreements?|obligations?|undertakings?|clauses?|commitments?)"
                r"|\bnon-?disclosure agreements?|\b(?:bound|obliged|obligated|required|contractually required) "
                r"(?:by contract )?to (?:keep|treat|hold) (?:\w+ ){0,4}(?:confidential|secure)"),
     "confidentiality obligations on recipients", "sharing"),
    (re.compile(r"\b(?:we|will)\s+(?:will\s+|shall\s+|must\s+)?(?:promptly\s+|first\s+|always\s+)?"
                r"(?:notify|inform|tell|alert)\s+you"), "we will notify you", None),
    (re.compile(r"\banonymi[sz](?:ed|e|ation)|\bde-?identified|\bpseudonymi[sz]ed|\baggregated (?:form|data)|"
                r"\bnon-?(?:personally )?identifiable|\bnot personally identifiable"), "anonymised", None),
    (re.compile(r"\b(?:opt[- ]?out|unsubscribe|withdraw (?:your |their )?consent)"), "you can opt out", None),
    # (folded text: "european union" and the rest in lower case)
    # (what is kept there is the data, not a person: "if you are located in the EEA, see our notice" is no promise)
    (re.compile(r"\b(?:stor(?:e|es|ed)|keeps?|kept|host(?:s|ed)?|holds?|held|process(?:es|ed)?|remains?|stays?)"
                r" (?:(?!you\b|users?\b|residents?\b|customers?\b|individuals?\b|people\b|visitors?\b|persons?\b)"
                r"\w+ ){0,5}?(?:with)?in (?:the )?"
                r"(?:eu|eea|european union|european economic area|uk|united kingdom)\b"), "data kept in Europe",
     "transfers"),
]


def guarantees(text: str) -> dict[str, str | None]:
    """Promises stated in a text: label → topic."""
    folded = fold(text)
    return {label: topic for pattern, label, topic in _GUARANTEES if pattern.search(folded)}

