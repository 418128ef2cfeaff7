"""Rate each section change: its topics in context, whether it is substance, severity and a summary.

The stage reads the changed clauses of a `SectionChange` (what `diff` found removed and added) and:

1. drops form-only edits: clauses that only moved or were reordered, and edits inside a clause that
   only touch spelling (British/American), a typo, hyphenation, quotes, case, punctuation or grammar
   words; a change that touches a number, a negation, a modal verb or a sharing/retention term is
   always substance, however small (`monitor.text.wording.form_only`);
2. classifies each remaining clause in its context (list lead-in, section heading) with
   `monitor.meaning.topics.classify`;
3. runs the rules in `RULES` (ages, periods, negation and modality flips, recipients, purposes,
   guarantees, whole sections), each a small function returning an optional `Finding` by comparing
   what the two sides state (`monitor.meaning.facts`);
4. derives the severity (high when a finding loosens a watched topic) and a one-line summary.

Everything here is pure: no I/O, no state between calls.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import cached_property
from typing import Literal, TypeVar

from monitor.compare.diff import SectionChange, diff_sections
from monitor.meaning.facts import (
    MODAL_RANK,
    RETENTION_WORDS,
    VERBS,
    Period,
    age_mentions,
    ages,
    guarantees,
    named_recipients,
    periods,
    purposes,
    recipients,
    statements,
)
from monitor.meaning.material import is_material
from monitor.meaning.model import primary_language
from monitor.meaning.topics import WATCHED, TopicHit, classify, knows_language, model_finds
from monitor.text.clauses import body_clauses, split_sentences
from monitor.text.sections import Clause, Section, parse_sections
from monitor.text.wording import (
    ENUMERATOR,
    NEGATIONS,
    Rename,
    fold,
    pair_up,
    says_something,
    substantive_clauses,
    substitutions,
    words,
)

Severity = Literal["low", "medium", "high"]
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}
_Item = TypeVar("_Item")


def most_severe_first(items: Iterable[_Item], severity: Callable[[_Item], str | None]) -> list[_Item]:
    """Items high, medium, then low (unrated last), in their own order within a severity: a list of a
    version's changes cut to its first few must not leave out a high change that comes ninth."""
    return sorted(items, key=lambda item: -SEVERITY_RANK.get(severity(item) or "", -1))

FORM_ONLY_SUMMARY = "form-only edit, no change in substance"
NAVIGATION_SUMMARY = "table of contents or navigation changed"
RETITLED_SUMMARY = "a line became a heading, or a heading a line"
COLLAPSED_SUMMARY = "text folded behind a 'more' link, or unfolded: the page showed it differently"
MOVED_SUMMARY = "moved or repeated text: the other version states it elsewhere"
_WHOLE_EXCERPT = 2000  # characters of each side kept for a change that could not be computed
log = logging.getLogger("monitor.meaning.significance")


@dataclass(frozen=True)
class Finding:
    """One significant difference found by a rule, e.g. `age threshold 13 → 16`.

    `topic` is the topic the finding is evidence of (None: the change's own topics); `loosening`
    means the policy now protects less (longer retention, new recipients, a promise removed).
    """

    rule: str
    summary: str
    topic: str | None = None
    loosening: bool = False


@dataclass(frozen=True)
class RatedChange:
    """A section change with what it is about and how much it matters.

    `topics` are the topics of the changed clauses judged in context; `substantive` is False for
    form-only edits (reordering, spelling, quote style) and for moves, renames and date stamps.
    `findings` are what the significance rules found, most important first.
    """

    change: SectionChange
    topics: tuple[str, ...] = field(default=())
    substantive: bool = False
    severity: Severity | None = "low"
    summary: str = ""
    findings: tuple[Finding, ...] = field(default=())
    not_rated: str | None = None  # why the change has no rating ("error: KeyError", "language de")

    @classmethod
    def unrated(cls, change: SectionChange, why: str) -> RatedChange:
        """A change stored and shown, but never alerted: no topics, no severity."""
        return cls(change, (), False, None, "not rated: " + why, (), why)

    @property
    def material(self) -> bool:
        return is_material(self.substantive, self.not_rated)

    def alert_topics(self, watched: Iterable[str]) -> list[str]:
        """The watched topics this change is alert-worthy for."""
        if not self.substantive or self.not_rated:
            return []
        watched = set(watched)
        return [t for t in self.topics if t in watched]

    def to_json(self) -> dict:
        c = self.change
        out = {"section": c.section, "kind": c.kind, "topics": list(self.topics), "severity": self.severity,
               "summary": self.summary, "substantive": self.substantive, "before": c.before, "after": c.after}
        if self.not_rated:
            out["not_rated"] = self.not_rated
        return out


# ---------------------------------------------------------------------------------------------
# Clause pairing: which removed clause became which added clause.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Side:
    """The substantive clauses of one side of a change, with their context."""

    clauses: tuple[Clause, ...]
    heading: str

    @property
    def text(self) -> str:
        """The clauses' own words (lead-ins excluded: an unchanged lead-in is no news)."""
        return "\n".join(ENUMERATOR.sub("", c.text.strip()) for c in self.clauses)

    @property
    def context(self) -> str:
        """The words around the clauses: list lead-ins and the section heading."""
        return " ".join(dict.fromkeys([*(c.lead_in for c in self.clauses if c.lead_in), self.heading]))


RENAME_MIN_CLAUSES = 3  # a swap seen in this many edited clauses of one check is a terminology change


def policy_renames(changes: Iterable[SectionChange]) -> tuple[Rename, ...]:
    """Word swaps made consistently across a check ("Wemet" → "WeMeet"): form, not substance."""
    seen: Counter[Rename] = Counter()
    for change in changes:
        pairs, _, _ = pair_up([c for c in change.removed if says_something(c)],
                               [c for c in change.added if says_something(c)])
        for a, b in pairs:
            seen.update({_without_possessive(rename) for rename in substitutions(a.text, b.text)})
    kept = [rename for rename, count in seen.items() if count >= RENAME_MIN_CLAUSES]
    return tuple(kept) + tuple((old[:-1] + (old[-1] + "'s",), new[:-1] + (new[-1] + "'s",)) for old, new in kept)


def _without_possessive(rename: Rename) -> Rename:
    """"Better Stack's" → "Examplia's" counts as "Better Stack" → "Examplia": a rename of the name, however
    it is used."""
    (old, new) = rename
    if old and new and old[-1].endswith("'s") and new[-1].endswith("'s"):
        return old[:-1] + (old[-1][:-2],), new[:-1] + (new[-1][:-2],)
    return rename


# ---------------------------------------------------------------------------------------------
# Rules: each reads the change's two sides and returns an optional Finding.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Context:
    change: SectionChange
    before: _Side
    after: _Side
    topics: tuple[str, ...]
    section_topic: str | None
    pairs: tuple[tuple[Clause, Clause], ...] = ()
    policy: WholePolicy | None = None


def _arrow(old: list[str], new: list[str]) -> str:
    return f"{', '.join(old)} → {', '.join(new)}"


def _age_rule(cx: _Context) -> Finding | None:
    old, new = ages(cx.before.text, cx.before.context), ages(cx.after.text, cx.after.context)
    if set(old) == set(new):
        return None
    gone, came = [a for a in old if a not in new], [a for a in new if a not in old]
    if not (gone and came):  # one of several ages became another the text already states: "(a) under 13, (b)
        # under 16" → "(a) under 16, (b) under 16" changed 13 to 16, it did not only remove 13
        replaced = _replaced(age_mentions(cx.before.text, cx.before.context),
                             age_mentions(cx.after.text, cx.after.context))
        came += [b for a, b in replaced if a in gone and b not in came]
        gone += [a for a, b in replaced if b in came and a not in gone]
    if gone and came:
        return Finding("age", f"age threshold {_arrow([str(a) for a in gone], [str(a) for a in came])}",
                       "minors", loosening=min(came) < min(gone))
    if gone:
        return Finding("age", f"removes age threshold: {', '.join(map(str, gone))}", "minors", loosening=True)
    return Finding("age", f"adds age threshold: {', '.join(map(str, came))}", "minors")


def _replaced(old: list[int], new: list[int]) -> list[tuple[int, int]]:
    """The (old, new) pairs where one sequence has another value in place of the other's: by position when
    both are as long ("under 18 …, children under 18" → "under 16 …, children under 18": 18 → 16), else where
    a stretch of one stands for a stretch as long of the other."""
    if len(old) == len(new):
        return [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    return [(a, b) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag == "replace" and i2 - i1 == j2 - j1
            for a, b in zip(old[i1:i2], new[j1:j2], strict=True) if a != b]


def _same_length(a: Period, b: Period) -> bool:
    if a.label == b.label:
        return True
    if a.days is None or b.days is None or math.inf in (a.days, b.days):
        return False
    return abs(a.days - b.days) <= 0.05 * max(a.days, b.days)


# What a changed period is called when it is not how long data is kept (`Period.role`)
_PERIOD_NAMES = {"look-back": "look-back period", "deadline": "response deadline"}


def _period_rule(cx: _Context) -> Finding | None:
    old, new = periods(cx.before.text), periods(cx.after.text)
    old_changed = [p for p in old if not any(_same_length(p, q) for q in new)]
    new_changed = [p for p in new if not any(_same_length(p, q) for q in old)]
    if not old_changed and not new_changed:
        return None                                    # "12 months" → "one year" says the same
    # about keeping data? judged on the sentences stating a changed period (with their lead-ins), not the
    # rest of the change: "during the past 12 months" in a California notice that also says "we store
    # cookies" is no retention period; nor the heading ("Retention and Security" must not make "keys
    # rotate every 90 days" one). Only a length can be: a look-back ("the preceding 12 months"), a response
    # deadline ("we respond to requests for deletion within 45 days") or a frequency ("once a year") never is.
    lengths = {p.label for p in (*old_changed, *new_changed) if p.role == "length"}
    retention = bool(lengths) and any(_keeps_for(clause, lengths, cx.before.heading)
                                      for clause in (*cx.before.clauses, *cx.after.clauses))
    if retention:
        name, topic = "retention period", "retention"
        gone = [p for p in old_changed if p.role == "length"]
        came = [p for p in new_changed if p.role == "length"]
    else:
        roles = {p.role for p in (*old_changed, *new_changed)}
        name = _PERIOD_NAMES.get(next(iter(roles)), "period") if len(roles) == 1 else "period"
        topic, gone, came = None, old_changed, new_changed

    def longer(new: list[Period], old: list[Period]) -> bool:
        """Is the new period longer? A fixed length beats an event ("until closure") only when shorter."""
        old_days = [p.days for p in old if p.days is not None]
        if any(p.days == math.inf for p in new) or (any(p.days is None for p in new) and old_days):
            return True
        new_days = [p.days for p in new if p.days is not None]
        return bool(old_days and new_days and max(new_days) > max(old_days))

    if gone and came:
        loosening = retention and longer(came, gone)
        return Finding("period", f"{name} {_arrow([p.label for p in gone], [p.label for p in came])}", topic,
                       loosening)
    if gone:
        return Finding("period", f"removes {name}: {', '.join(p.label for p in gone)}", topic, retention)
    return Finding("period", f"adds {name}: {', '.join(p.label for p in came)}", topic,
                   retention and any(p.days == math.inf for p in came))


def _keeps_for(clause: Clause, labels: set[str], heading: str) -> bool:
    """Does a clause state one of these periods (labels) as a length of time data is kept: in a sentence
    about keeping or deleting data (with its lead-in), or in a clause about retention? "We delete your data
    within 30 days of your request" is; "We answer within 30 days" next to "we store cookies" is not, and
    nor is "we respond to requests to delete your data within 30 days" (a deadline, `Period.role`)."""
    lead_in = fold(clause.lead_in or "")
    if _row_of_a_retention_table(clause.text, heading) and \
            {p.label for p in periods(clause.text) if p.role == "length"} & labels:
        return True                            # "… | 13 months from your last activity" under "… | Retention periods"
    stated = False
    for sentence in map(fold, split_sentences(ENUMERATOR.sub("", clause.text.strip()))):
        if {p.label for p in periods(sentence) if p.role == "length"} & labels:
            stated = True
            if RETENTION_WORDS.search(sentence) or RETENTION_WORDS.search(lead_in):
                return True
    return stated and "retention" in clause_topics(clause, heading)


def _row_of_a_retention_table(text: str, heading: str) -> bool:
    """Is this clause (part of) a table row whose section heading is the table's header row, one of its
    columns about keeping data? The normalizer writes rows as cells joined by " | ", and a row of long
    cells is cut into sentences, so which cell is which column is not known: the table says it."""
    headers = heading.split(" | ")
    return " | " in text and len(headers) >= 2 and any(_HOW_LONG_KEPT.search(fold(h)) for h in headers)


# a column saying how long data is kept ("Retention periods", "How long we keep it", "Storage period"); not
# one that only names a storage word ("Storage location", "Deleted?", "Held by")
_HOW_LONG_KEPT = re.compile(r"\b(?:retention|retain\w*|how long|(?:storage|keeping|deletion) "
                            r"(?:periods?|duration|times?|limits?)|kept (?:for|until)|deleted (?:after|when))\b")


def _join_or(items: list[str]) -> str:
    items = list(dict.fromkeys(items))  # two verbs can share a participle
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


_NEWLY_ALLOWED = ("sell", "rent", "trade", "lease", "share", "disclose", "transfer")  # not "provide", "use"
# kinds of allowing: a section that already says data may be disclosed says nothing new by "may share" (a sale is
# still news there)
_ALLOWING_KINDS = (("share", "disclose", "transfer"), ("sell", "rent", "trade", "lease"))


def _kind_of_allowing(lemma: str) -> tuple[str, ...]:
    return next(kind for kind in _ALLOWING_KINDS if lemma in kind)


def _negation_rule(cx: _Context) -> Finding | None:
    """A promise not to do something with data dropped or added, sharing newly allowed, or a modal changed."""
    old, new = statements(cx.before.text), statements(cx.after.text)
    shared_before = any(not n for lemma in _NEWLY_ALLOWED for n, _ in old.get(lemma, ()))
    found: dict[str, list[tuple[str, str | None, str | None]]] = {
        "dropped": [], "newly": [], "promise": [], "weaker": [], "negated": [], "stronger": []}
    for lemma in dict.fromkeys([*old, *new]):
        participle, verb_topic, risky = VERBS[lemma]
        was, now = old.get(lemma, set()), new.get(lemma, set())
        was_neg, now_neg = any(n for n, _ in was), any(n for n, _ in now)
        # sorted: a set of (negated, modal) orders None by its hash, which changes from process to process
        now_pos = sorted((m for n, m in now if not n), key=lambda m: (m is None, m or ""))
        if risky and was_neg and not now_neg:  # (with the modal now allowing it, if one does: a flip)
            found["dropped"].append((participle, verb_topic, (now_pos[0] or "") if now_pos else None))
        elif risky and now_neg and not was_neg and was:
            found["negated"].append((participle, verb_topic, None))
        elif now_pos and not was and not shared_before and lemma in _NEWLY_ALLOWED and not (
                cx.policy is not None and cx.policy.section_allows(0, cx.change.old_key, _kind_of_allowing(lemma))):
            found["newly"].append((participle, verb_topic, now_pos[0]))
        elif verb_topic == "retention" and not risky and not now and any(not n and MODAL_RANK[m] == 3
                                                                          for n, m in was):
            found["promise"].append((participle, verb_topic, None))   # "we will delete" is gone
        elif was and now and len(was) == len(now) == 1 and was != now:
            (n0, m0), (n1, m1) = next(iter(was)), next(iter(now))
            if n0 == n1 and m0 and m1 and MODAL_RANK[m0] != MODAL_RANK[m1]:
                protection_drops = (MODAL_RANK[m1] < MODAL_RANK[m0]) == (n0 or not risky)
                pair = (f"'{' '.join(filter(None, [m0, 'not' if n0 else '', lemma]))}' → "
                        f"'{' '.join(filter(None, [m1, 'not' if n1 else '', lemma]))}'")
                found["weaker" if protection_drops else "stronger"].append((pair, verb_topic, None))

    def topic_of(kind: str) -> str | None:
        return next((t for _, t, _ in found[kind] if t), None)

    def verbs(kind: str) -> str:
        return _join_or([p for p, _, _ in found[kind]])

    if found["dropped"]:
        allowing = {modal for _, _, modal in found["dropped"]}
        # "will not sell" → "may sell": say what it says now, when every verb says it with one modal ("If we sell
        # … in a merger" has none: a condition, not a permission)
        if len(allowing) == 1 and (modal := allowing.pop()):
            return Finding("negation", f"now says data {modal} be {verbs('dropped')} (it said it is not)",
                           topic_of("dropped"), True)
        return Finding("negation", f"no longer says data is not {verbs('dropped')}", topic_of("dropped"), True)
    if found["newly"]:
        modal = found["newly"][0][2]
        verb = f"{modal} be" if modal else "is"
        return Finding("negation", f"now says data {verb} {verbs('newly')}", topic_of("newly"), True)
    if found["promise"]:
        return Finding("negation", f"no longer says data will be {verbs('promise')}", topic_of("promise"), True)
    if found["weaker"]:
        return Finding("modality", "; ".join(p for p, _, _ in found["weaker"]), topic_of("weaker"), True)
    if found["negated"]:
        return Finding("negation", f"now says data is not {verbs('negated')}", topic_of("negated"))
    if found["stronger"]:
        return Finding("modality", "; ".join(p for p, _, _ in found["stronger"]), topic_of("stronger"))
    return None


def _polarity_rule(cx: _Context) -> Finding | None:
    """Fallback for negations the verb rule cannot read ("children may not use" → "may use")."""
    for before, after in cx.pairs:
        if statements(before.text) or statements(after.text):
            continue                                   # the verb rule has read this clause
        old, new = words(before.text), words(after.text)
        if sum(w in NEGATIONS for w in old) == sum(w in NEGATIONS for w in new):
            continue                                   # "not" ↔ "never": reworded, same polarity
        for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if tag in ("delete", "replace") and set(old[i1:i2]) & NEGATIONS:
                return Finding("polarity", f"no longer says '{' '.join(old[max(i1 - 3, 0):i2 + 3])}'")
            if tag in ("insert", "replace") and set(new[j1:j2]) & NEGATIONS:
                return Finding("polarity", f"now says '{' '.join(new[max(j1 - 3, 0):j2 + 3])}'")
    return None


_EXCEPTION = re.compile(r"\b(?:except(?: for| to| with| in| where| when| as)?|unless|other than|apart from|save for|"
                        r"with the exception of|excluding|but (?:may|we may|will|can))\b[^.;:]{0,80}")


def _exception_rule(cx: _Context) -> Finding | None:
    """A carve-out added to a promise: "we do not sell your data" → "…, except to our affiliates"."""
    for before, after in cx.pairs:
        old_text, new_text = fold(before.text), fold(after.text)
        old_starts = {words(m.group(0))[:3] for m in _EXCEPTION.finditer(old_text)}
        added = [m.group(0).strip(" ,") for m in _EXCEPTION.finditer(new_text)
                 if words(m.group(0))[:3] not in old_starts          # not an old exception reworded or extended
                 and set(words(new_text[:m.start()])) & NEGATIONS]  # a promise ("we do not …") before it
        if added:
            return Finding("exception", f"adds an exception to a promise: {' '.join(added[0].split()[:12])}",
                           None, True)
    return None


def _list_summary(verb: str, noun: str, items: list[str], separator: str = ", ") -> str:
    items = list(dict.fromkeys(items))  # a recipient found both as a kind and by name is listed once
    shown = separator.join(items[:4]) + (f" and {len(items) - 4} more" if len(items) > 4 else "")
    return f"{verb} {noun}{'s' if len(items) > 1 else ''}: {shown}"


def _recipient_rule(cx: _Context) -> Finding | None:
    path = cx.change.section
    old, new = recipients(cx.before.clauses, path), recipients(cx.after.clauses, path)
    came = [v for k, v in new.items() if k not in old]
    gone = [v for k, v in old.items() if k not in new]
    if cx.policy is not None and (came or gone):   # news only if the policy as a whole gained or lost them
        # ... and only from a clause the other version does not state word for word (text re-nested by
        # formatting alone, a list flattened into one clause, can read as naming a recipient it named before)
        said_new = recipients([c for c in cx.after.clauses if not cx.policy.states(0, c)], path) if came else {}
        said_old = recipients([c for c in cx.before.clauses if not cx.policy.states(1, c)], path) if gone else {}
        came = [v for k, v in new.items()
                if k not in old and k in said_new and not cx.policy.names_recipient(0, k, v)]
        # (a recipient still named anywhere in the new version, in whatever words, is not said to be gone: "our
        # bank needs to receive it" names no transfer verb, yet the bank still gets the data)
        gone = [v for k, v in old.items() if k not in new and k in said_old
                and not cx.policy.names_recipient(1, k, v) and not cx.policy.mentions(1, v)]
    if cx.policy is not None:  # a company listed as one, which the other version never names at all
        old_names, new_names = named_recipients(cx.before.clauses, path), named_recipients(cx.after.clauses, path)
        came += [v for k, v in new_names.items() if k not in old_names and not cx.policy.mentions(0, v)]
        gone += [v for k, v in old_names.items() if k not in new_names and not cx.policy.mentions(1, v)]
    parts = ([_list_summary("adds", "recipient", came)] if came else []) + \
            ([_list_summary("removes", "recipient", gone)] if gone else [])
    return Finding("recipients", "; ".join(parts), "sharing", bool(came)) if parts else None


def _purpose_rule(cx: _Context) -> Finding | None:
    old, new = purposes(cx.before.clauses), purposes(cx.after.clauses)
    came = [v for k, v in new.items() if k not in old]
    gone = [v for k, v in old.items() if k not in new]
    # purposes are phrases with commas of their own ("to assist each other, as service providers, in …"): "; "
    parts = ([_list_summary("adds", "purpose", came, "; ")] if came else []) + \
            ([_list_summary("removes", "purpose", gone, "; ")] if gone else [])
    # a purpose listed under "… retaining the information is necessary for us to:" is a reason data is kept
    # (even in a paragraph about deletion requests, whose topic is the user's rights)
    changed = set(old) ^ set(new)
    keeping = any(_KEEPING_DATA.search(fold(sentences[-1]))
                  for c in (*cx.before.clauses, *cx.after.clauses)
                  if c.lead_in and (sentences := split_sentences(c.lead_in)) and set(purposes([c])) & changed)
    return Finding("purposes", "; ".join(parts), "retention" if keeping else None, bool(came)) if parts else None


# a lead-in about keeping data: a keeping verb with data as its object ("retaining the information", "we may
# keep your personal data"), or retention itself; not "to keep our services safe", "if you hold an account"
_KEEPING_DATA = re.compile(r"\bretention\b|\b(?:retain|keep|hold|preserv|stor)(?:e|es|s|ed|ing)?\s+"
                           r"(?:(?:the|your|this|that|such|these|some|certain|any|all|our|personal|of)\s+){0,3}"
                           r"(?:information|data|records?|details|it|them)\b")



def _guarantee_rule(cx: _Context) -> Finding | None:
    old, new = guarantees(cx.before.text), guarantees(cx.after.text)
    gone = [label for label in old if label not in new]
    if "anonymize" in statements(cx.before.text):      # the verb rule already says it
        gone = [label for label in gone if label != "anonymised"]
    came = [label for label in new if label not in old]
    if gone:
        return Finding("guarantees", _list_summary("removes", "guarantee", gone), old[gone[0]], True)
    if came:
        return Finding("guarantees", _list_summary("adds", "guarantee", came), new[came[0]])
    return None


def _section_rule(cx: _Context) -> Finding | None:
    kind = cx.change.kind
    if kind not in ("added", "removed") or cx.section_topic is None:
        return None
    return Finding("section", f"{cx.section_topic} section {kind}", cx.section_topic, kind == "removed")


_STREET_TYPE = (r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Way|Place|Pl|Court|Ct|Parkway|"
                r"Pkwy|Highway|Hwy|Square|Sq|Plaza|Terrace|Green|Row|Quay|Circle|Broadway)")
# Marks of a postal address: a street number before a street ("18 King Street East", "112-114 St. Stephen's
# Green"), a suite, floor, unit or box number ("Suite 1400", "5th Floor", "P.O. Box 12"), a US state and ZIP
# code ("CA 94107-1234", ", California 94107"), a Canadian, British or Irish postcode ("M5C 1C4", "EC1A 1BB",
# "D02 TD28").
_POSTAL_ADDRESS = re.compile(
    rf"\b\d+[A-Za-z]?(?:\s*[-–]\s*\d+[A-Za-z]?)?,?\s+(?:[A-Z][\w'’.-]*\s+){{0,4}}{_STREET_TYPE}\b"
    r"|\b(?i:suite|ste|floor|fl|unit|room|apt|apartment|building|bldg|p\.?\s?o\.?\s?box|box)\.?\s*"
    r"(?:#|(?i:no)\.?)?\s*\d+[A-Za-z]?\b"
    r"|\b\d+(?:st|nd|rd|th)\s+(?i:floor)\b"
    r"|(?:\b[A-Z]{2}|,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)\s+\d{5}(?:-\d{4})?\b"
    r"|\b[A-Z]\d[A-Z]\s?\d[A-Z]\d\b"
    r"|\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b"
    r"|\b[AC-FHKNPRTV-Y]\d{2}\s[AC-FHKNPRTV-Y\d]{4}\b")


def _stated_numbers(text: str) -> list[str]:
    """The numbers a text states, but for those of a sentence giving a postal address: a company that moves
    office ("1 Yonge Street Suite 1801" → "18 King Street East, Suite 1400") states no new fact."""
    return [w for line in text.splitlines() for sentence in split_sentences(line)
            if not _POSTAL_ADDRESS.search(sentence) for w in words(sentence) if w[0].isdigit()]


def _number_rule(cx: _Context) -> Finding | None:
    old = _stated_numbers(cx.before.text)
    new = _stated_numbers(cx.after.text)
    if not old or not new or Counter(old) == Counter(new):
        return None
    gone = list(dict.fromkeys(w for w in old if w not in new))  # "under 13 … under 13" → 16 twice: 13 → 16
    came = list(dict.fromkeys(w for w in new if w not in old))
    return Finding("number", f"number {_arrow(gone, came)}") if gone and came else None


Rule = Callable[[_Context], Finding | None]
# Order matters: the first findings lead the summary, and the number fallback is skipped when an
# age or period rule already explained the numbers.
RULES: tuple[Rule, ...] = (_section_rule, _age_rule, _period_rule, _negation_rule, _exception_rule,
                           _recipient_rule, _purpose_rule, _guarantee_rule, _polarity_rule, _number_rule)
# A heading names what its section is about; the only facts it states are numbers ("Children under 13" →
# "Children under 16"). "Disclosure of your information" → "Sharing your information" says nobody now shares.
HEADING_RULES: tuple[Rule, ...] = (_age_rule, _period_rule, _number_rule)


# ---------------------------------------------------------------------------------------------
# Rating
# ---------------------------------------------------------------------------------------------

def clause_topics(clause: Clause, heading: str) -> list[str]:
    """Topics of one clause judged in context: its list lead-in and its section heading."""
    return list(clause_hits(clause, heading))


def clause_hits(clause: Clause, heading: str) -> dict[str, TopicHit]:
    """`clause_topics` with each topic's hit, which says where its evidence is (`TopicHit.basis`): a
    lead-in read with its item is the item's own sentence, so evidence there is the clause's own."""
    context = " ".join(part for part in (clause.lead_in, heading) if part)
    hits = {hit.topic: hit for hit in classify(clause.text, context=context)}
    if clause.lead_in:                                 # an item completes its lead-in's sentence
        for hit in classify(f"{clause.lead_in} {clause.text}"):
            if hit.topic not in hits or hits[hit.topic].basis == "context":
                hits[hit.topic] = hit
    return hits


EDIT_REACH = 6  # words kept on each side of an edit inside a clause: the phrase it sits in
_RAW_WORD = re.compile(r"\S+")


def reworded_topics(before: Clause, after: Clause, heading: str,
                    renames: tuple[Rename, ...] = ()) -> tuple[list[str], list[str]]:
    """Topics of each version of a reworded clause: what its edit is about (lead-in and heading as context).

    Words only added or only taken out widen or narrow what the clause says ("a merger, bankruptcy, or
    sale of our assets"), so it keeps the topics of its versions. Words *replaced* are rewording unless
    the replacement carries the topic: its changed words, with `EDIT_REACH` words around them, are
    about it, or (for sharing) it swaps one named party for another ("We use SalesForce to email
    receipts" → "We use Acoustic …"). So a topic both versions carry is no news when only the wording
    around it changed ("please go to the … page" → "please visit …", a product renamed in a sharing
    sentence), and a topic only one version reaches is not either. That holds whether or not the two
    versions read as the same topics otherwise: a vendor swapped in a sentence that also states a
    retention period is news about sharing, not retention, even when the model reads one version as
    about a third topic too. Exact facts (an age, a period, a recipient, a negation or modal) add
    their topic through the rules' findings in any case. A name the whole check replaces the same way
    in several clauses (`renames`: "Bard" → "Gemini Apps" five times over) is a product or company
    renamed, not one party swapped for another.
    """
    old_hits, new_hits = clause_hits(before, heading), clause_hits(after, heading)
    old, new = list(old_hits), list(new_hits)
    old_raw, new_raw, edits = _word_edits(before, after)
    same = set(old) == set(new)
    if same and {tag for tag, *_ in edits} in ({"insert"}, {"delete"}, set()):
        # words only added, or only taken out: the clause keeps what its own words are about
        return _own_topics(before, old_hits), _own_topics(after, new_hits)
    edited = {t for part in edited_parts(before, after, (old_raw, new_raw, edits))
              for t in clause_topics(part, heading)}
    if any(tag == "replace" and _swapped(_names(old_raw[max(i1, 1):i2]), _names(new_raw[max(j1, 1):j2]))
           and not _renamed(old_raw[i1:i2], new_raw[j1:j2], renames)
           for tag, i1, i2, j1, j2 in edits):          # (a clause's first word is capitalised anyway)
        edited.add("sharing")
    return [t for t in old if t in edited], [t for t in new if t in edited]


def _renamed(old_raw: list[str], new_raw: list[str], renames: tuple[Rename, ...]) -> bool:
    """Is this replacement one of the check's consistent renames (compared as canonical words)?"""
    swap = (tuple(w for raw in old_raw for w in words(raw)), tuple(w for raw in new_raw for w in words(raw)))
    return swap in renames


def _own_topics(clause: Clause, hits: dict[str, TopicHit]) -> list[str]:
    """The topics of a clause its own words show: a rule read them, or the model reading the clause
    without its heading finds the topic. A topic only the context lends ("Retention" over "For more
    information about retention, please see …") is what the section is about: words added to or taken
    from one of its sentences widen or narrow that sentence, not the section's topic."""
    words_of = f"{clause.lead_in} {clause.text}" if clause.lead_in else clause.text
    return [t for t, hit in hits.items() if hit.basis != "context" or model_finds(t, words_of)]


_NAME = re.compile(r"[\"'(“‘]*([A-Z][\w&'’-]*)")


def _names(raw: list[str]) -> set[str]:
    """The capitalised words among some words as written: names of companies, products, places."""
    return {m.group(1) for w in raw if (m := _NAME.match(w))}


def _swapped(old: set[str], new: set[str]) -> bool:
    """Was a name replaced by another (not merely one added next to a common noun, "timelines" → "LINE VOOM")?"""
    return bool(old - new and new - old)


def _word_edits(before: Clause, after: Clause) -> tuple[list[str], list[str], list[tuple[str, int, int, int, int]]]:
    """Both clauses' words as written, and the edits (difflib opcodes, equal runs left out) from one to the other."""
    old_raw, new_raw = _RAW_WORD.findall(before.text), _RAW_WORD.findall(after.text)
    opcodes = SequenceMatcher(None, [words(w) for w in old_raw], [words(w) for w in new_raw],
                              autojunk=False).get_opcodes()
    return old_raw, new_raw, [op for op in opcodes if op[0] != "equal"]


def edited_parts(before: Clause, after: Clause,
                 word_edits: tuple[list[str], list[str], list[tuple[str, int, int, int, int]]] | None = None,
                 ) -> tuple[Clause, Clause]:
    """The changed words of each side of a reworded clause with `EDIT_REACH` words around them, as
    clauses with the original's lead-in ("…store records" of "We use SalesForce to email receipts and
    store records, which are retained for four years" → "We use Acoustic …"). `word_edits`: what
    `_word_edits(before, after)` returned, when the caller has it already (the word diff is the cost)."""
    old_raw, new_raw, edits = word_edits or _word_edits(before, after)

    def part(raw: list[str], spans: list[tuple[int, int]], clause: Clause) -> Clause:
        keep = sorted({i for a, b in spans for i in range(max(0, a - EDIT_REACH), min(len(raw), b + EDIT_REACH))})
        if len(keep) == len(raw):
            return clause
        return Clause(" ".join(raw[i] for i in keep), clause.lead_in, clause.is_item, clause.is_date)

    return (part(old_raw, [(i1, i2) for _, i1, i2, _, _ in edits], before),
            part(new_raw, [(j1, j2) for _, _, _, j1, j2 in edits], after))


def _heading_of(change: SectionChange) -> str:
    return change.heading or change.section.split(" › ")[-1]


def _fallback_clauses(text: str) -> tuple[Clause, ...]:
    return tuple(Clause(p) for p in re.split(r"\n\s*\n|\n(?=\s*[-*•])", text) if p.strip())


def _section_topic(change: SectionChange, topics: list[str], watched: Iterable[str]) -> str | None:
    """What a whole added or removed section is about: what its statements are about, read with its
    heading as their context (a heading over labels and links, "Who serves these cookies" above a
    list of company names, makes no sharing section); its heading's topic when none is watched."""
    for topic in topics:
        if topic in watched:
            return topic
    heading_topics = [h.topic for h in classify(_heading_of(change)) if h.topic not in watched]
    return heading_topics[0] if heading_topics else None


def _fallback_summary(change: SectionChange, topics: list[str], watched: set[str], old: list, new: list) -> str:
    topic = next((t for t in topics if t in watched), topics[0] if topics else "")
    if change.kind in ("added", "removed"):
        return f"{topic or 'policy'} section {change.kind}"
    action = "modified" if old and new else "added" if new else "removed"
    many = len(old) > 1 or len(new) > 1
    return f"{topic + ' ' if topic else ''}clause{'s' if many else ''} {action}"


_GENERIC_SUMMARY = re.compile(r"^(?:(\w+) )?clauses? (modified|added|removed)$")


def generic_summary(summary: str) -> str | None:
    """The one wording of a summary that names a change by its topic alone ("sharing clause modified" and
    "sharing clauses modified" → "sharing clauses modified"), for lists that count them; None for one that
    says what changed."""
    found = _GENERIC_SUMMARY.match(summary)
    return f"{found[1] + ' ' if found[1] else ''}clauses {found[2]}" if found else None


def said_in_order(items: Iterable[_Item], severity: Callable[[_Item], str | None],
                  summary: Callable[[_Item], str]) -> tuple[Counter[str], Callable[[_Item], str]]:
    """What a list of changes says, each summary once (with how many changes said it), in the order a reader
    wants: most severe first; within a severity, the facts ("age threshold 13 → 16") before the changes named by
    their topic alone, which are said once ("sharing clause modified" beside "sharing clauses modified": "sharing
    clauses modified"). Also how each item is said, for `not_shown(items, shown, said)`."""
    items = list(items)
    wordings: dict[str, set[str]] = defaultdict(set)
    for item in items:
        wordings[generic_summary(summary(item)) or summary(item)].add(summary(item))

    def said(item: _Item) -> str:
        key = generic_summary(summary(item)) or summary(item)
        return key if len(wordings[key]) > 1 else summary(item)

    return Counter(said(item) for item in in_reading_order(items, severity, summary)), said


def in_reading_order(items: Iterable[_Item], severity: Callable[[_Item], str | None],
                     summary: Callable[[_Item], str]) -> list[_Item]:
    """Most severe first; within a severity the changes that say what changed before those named by their topic
    alone (`generic_summary`); document order within each."""
    return sorted(items, key=lambda item: (-SEVERITY_RANK.get(severity(item) or "", -1),
                                           generic_summary(summary(item) or "") is not None))


SUMMARY_MAX_CHARS = 200


def _one_line(parts: list[str]) -> str:
    """The findings' summaries, most important first, as many as fit in one line."""
    line = ""
    for part in dict.fromkeys(parts):
        candidate = f"{line}; {part}" if line else part
        if len(candidate) > SUMMARY_MAX_CHARS:
            return line or _cut_at_word(part, SUMMARY_MAX_CHARS - 1) + "…"
        line = candidate
    return line


def _cut_at_word(text: str, limit: int) -> str:
    """At most `limit` characters of `text`, never ending inside a word ("… to prot…")."""
    head = text[:limit]
    if len(text) > limit and text[limit].isalnum() and " " in head[limit // 2:]:
        head = head[:head.rindex(" ")]
    return head.rstrip(" ,;:")


# Kinds that are about where text sits, not what it says. Their own clauses (if diff gives any) are
# still compared, so text edited on the way is not lost; a date stamp never is substance.
_STRUCTURE_SUMMARY = {"date": "date stamp updated", "moved": "section moved", "renamed": "section renamed",
                      "split": "section split", "merged": "sections merged"}
_TEXT_KINDS = ("modified", "added", "removed")   # before/after hold clause text, not headings or paths


def _structure_summary(change: SectionChange) -> str:
    summary = _STRUCTURE_SUMMARY.get(change.kind, FORM_ONLY_SUMMARY)
    if change.kind == "renamed" and change.before and change.after and len(change.before + change.after) < 200:
        old, new = change.before.strip(), change.after.strip()
        # (the same words as printed: the heading changed in what does not show, its case, spacing or marks)
        summary = f"section renamed: {old} → {new}" if " ".join(old.split()) != " ".join(new.split()) \
            else "section heading restyled"
    return summary


def rate_change(change: SectionChange, watched: Iterable[str] = WATCHED, renames: tuple[Rename, ...] = (),
                retitled: frozenset[tuple[str, ...]] = frozenset(),
                titles: SectionTitles | None = None,
                policy: WholePolicy | None = None) -> RatedChange:
    """Rate one change: topics in context, substance, findings, severity and summary.

    `renames` are word swaps the whole check makes consistently (see `policy_renames`); `retitled`
    are the words of lines that became headings or stopped being headings in the same check (see
    `retitled_lines`): such a line leaving or joining a section's clauses is structure, not substance.
    `titles` are the words of every section title of both versions: clauses that only list them
    are a table of contents or other navigation, not statements. `policy` (the recipients each whole
    version names and states) keeps a recipient or a clause that only changed place from being
    reported added or removed.
    """
    watched = set(watched)
    heading = _heading_of(change)
    if words(change.section.split(" › ")[-1]) in NAVIGATION_HEADINGS:
        return RatedChange(change, (), False, "low", NAVIGATION_SUMMARY)
    removed, added = change.removed, change.added
    if change.kind == "modified" and removed and added and (_expander_only(added) or _expander_only(removed)):
        return RatedChange(change, (), False, "low", COLLAPSED_SUMMARY)
    if change.kind in ("added", "removed") and not removed and not added:  # a title states nothing
        return RatedChange(change, (), False, "low", f"heading {change.kind}, without text of its own")
    if policy is not None and change.kind in _TEXT_KINDS:     # stated elsewhere in the other version: moved
        # (a whole new section keeps its boilerplate: "we share it with no one else" under a new
        # processing activity says something about that activity, however often the policy says it)
        removed = tuple(c for c in removed if _clause_text(c) not in policy.clauses_after)
        if change.kind != "added":
            added = tuple(c for c in added if _clause_text(c) not in policy.clauses_before)
        if (change.removed or change.added) and not (removed or added):
            return RatedChange(change, (), False, "low", MOVED_SUMMARY)
    if change.kind in _TEXT_KINDS:
        removed, added = _without_menus(removed), _without_menus(added)
        if (change.removed or change.added) and not (removed or added):
            return RatedChange(change, (), False, "low", NAVIGATION_SUMMARY)
    else:                                # a renamed heading's clauses are the headings themselves
        titles = None
    removed = _statements(tuple(c for c in removed if words(c.text) not in retitled), titles)
    added = _statements(tuple(c for c in added if words(c.text) not in retitled), titles)
    if (change.removed or change.added) and not (removed or added):
        if titles and _statements(change.removed + change.added, titles) != change.removed + change.added:
            return RatedChange(change, (), False, "low", NAVIGATION_SUMMARY)
        return RatedChange(change, (), False, "low", RETITLED_SUMMARY)
    if not removed and not added and change.kind in _TEXT_KINDS:
        removed, added = _fallback_clauses(change.before), _fallback_clauses(change.after)
    old, new, pairs = substantive_clauses(removed, added, renames)
    if policy is not None and change.kind in _TEXT_KINDS and (old or new):
        old, new = _unmoved(old, new, pairs, policy, whole_added=change.kind == "added")
        if not (old or new):
            return RatedChange(change, (), False, "low", MOVED_SUMMARY)
    substantive = bool(old or new) and change.kind != "date"
    shown = (old + new) if substantive else [*removed, *added]
    reworded = {id(c): t for a, b in (pairs if substantive else ())
                for c, t in zip((a, b), reworded_topics(a, b, heading, renames), strict=True)}
    hits = {id(c): clause_hits(c, heading) for c in shown if id(c) not in reworded}  # each clause classified once
    topics = list(dict.fromkeys(t for c in shown for t in (reworded[id(c)] if id(c) in reworded else hits[id(c)])))
    if change.kind in ("added", "removed") and len(shown) > 1:
        topics = _whole_section_topics([hits[id(c)] if id(c) in hits else clause_hits(c, heading) for c in shown],
                                       topics)
    if not shown and change.kind in _STRUCTURE_SUMMARY:
        topics = [h.topic for h in classify(heading)]
    findings: list[Finding] = []
    if substantive:
        cx = _Context(change, _Side(tuple(old), heading), _Side(tuple(new), heading), tuple(topics),
                      _section_topic(change, topics, watched) if change.kind in ("added", "removed") else None,
                      tuple(pairs), policy)  # (only a whole section's topic is read: spare classifying the heading)
        findings = [f for f in (rule(cx) for rule in (RULES if change.kind in _TEXT_KINDS else HEADING_RULES))
                    if f is not None]
        # A renamed heading is wording unless it states a fact that changed ("Children under 13" → "16").
        substantive = change.kind in _TEXT_KINDS or bool(findings)
    if not substantive:
        return RatedChange(change, tuple(topics), False, "low", _structure_summary(change))
    if any(f.rule in ("age", "period") for f in findings):
        findings = [f for f in findings if f.rule != "number"]
    if any(f.rule in ("negation", "guarantees") for f in findings):
        findings = [f for f in findings if f.rule != "polarity"]
    if change.kind in ("added", "removed"):  # a whole section: say so first, then what it held
        findings.sort(key=lambda f: f.rule != "section")
    for f in findings:  # a rule's evidence adds its topic; a guarantee's only when one of a topic's is dropped
        if f.topic and f.topic not in topics and (f.rule != "guarantees" or f.loosening):
            topics.append(f.topic)
    relevant = [t for t in topics if t in watched]
    if not relevant:
        severity: Severity = "low"
    elif any(f.loosening and (f.topic in relevant if f.topic else True) for f in findings):
        severity = "high"
    else:
        severity = "medium"
    summary = _one_line([f.summary for f in findings]) or _fallback_summary(change, topics, watched, old, new)
    return RatedChange(change, tuple(topics), True, severity, summary, tuple(findings))


def _whole_section_topics(statements: list[dict[str, TopicHit]], topics: list[str]) -> list[str]:
    """The topics of a whole section added or removed, from its statements' `clause_hits`: a topic its heading
    alone lends to fewer than half of its statements (a footer's "DISCLOSURE & POLICES" over a note on
    editorial independence) is not what the section is about; one its statements' own words show, or most
    of them take from it, is."""
    lent: Counter[str] = Counter()
    own: set[str] = set()
    for hits in statements:
        for topic, hit in hits.items():
            if hit.basis == "context":
                lent[topic] += 1
            else:
                own.add(topic)
    return [t for t in topics if t in own or t not in lent or 2 * lent[t] >= len(statements)]


def _unmoved(old: list[Clause], new: list[Clause], pairs: list[tuple[Clause, Clause]], policy: WholePolicy,
             *, whole_added: bool) -> tuple[list[Clause], list[Clause]]:
    """The changed clauses without those that only moved: an unpaired removed clause whose words the
    new version still has somewhere (joined to another sentence, split off under a heading of its own,
    turned into table cells), and the same for an added clause and the old version. A whole new
    section moved only if all of it did: else it keeps its boilerplate (see `rate_change`). An edited
    pair is an edit wherever its words are."""
    paired = {id(c) for pair in pairs for c in pair}
    kept_new = [c for c in new if id(c) in paired or not policy.states(0, c)]
    return ([c for c in old if id(c) in paired or not policy.states(1, c)],
            new if whole_added and kept_new else kept_new)


def rate_changes(changes: list[SectionChange], watched: Iterable[str] = WATCHED,
                 titles: SectionTitles | None = None,
                 policy: WholePolicy | None = None) -> list[RatedChange]:
    """Rate every change of one check; `watched` (default sharing/retention/minors) drives severity.

    >>> from monitor.text.sections import Clause
    >>> change = SectionChange("modified", "Children", removed=(Clause("We do not serve children under 13."),),
    ...                        added=(Clause("We do not serve children under 16."),), heading="Children")
    >>> rated = rate_changes([change])[0]
    >>> rated.summary, rated.severity, rated.alert_topics(["minors"])
    ('age threshold 13 → 16', 'medium', ['minors'])
    """
    watched = tuple(watched)
    try:
        renames, retitled = policy_renames(changes), retitled_lines(changes)
    except Exception as exc:  # noqa: BLE001 — a rating failure must never stop a source (see changes_between)
        log.error(f"rating failed: {type(exc).__name__}: {exc}", exc_info=True)
        return [RatedChange.unrated(change, f"error: {type(exc).__name__}") for change in changes]
    rated = []
    for change in changes:
        try:
            rated.append(rate_change(change, watched, renames, retitled, titles, policy))
        except Exception as exc:  # noqa: BLE001 — the change is kept, unrated, and the error logged
            log.error(f"rating {change.section!r} failed: {type(exc).__name__}: {exc}", exc_info=True)
            rated.append(RatedChange.unrated(change, f"error: {type(exc).__name__}"))
    return rated


def changes_between(old_text: str, new_text: str, watched: Iterable[str] = WATCHED,
                    language: str = "en") -> list[RatedChange]:
    """The rated section changes from one normalized text to the next; never raises.

    In a language the classifier does not know, changes are found and shown but not rated
    (`not_rated: "language de"`). Should sectioning or the diff itself fail on some text, the whole
    text is one unrated change, so the new version is still stored and shown, and the error is logged.
    """
    try:
        old_sections, new_sections = parse_sections(old_text), parse_sections(new_text)
        found = diff_sections(old_sections, new_sections)
        titles = section_titles(old_sections, new_sections)
    except Exception as exc:  # noqa: BLE001
        log.error(f"comparing versions failed: {type(exc).__name__}: {exc}", exc_info=True)
        whole = SectionChange("modified", "(whole policy)", before=old_text[:_WHOLE_EXCERPT],
                              after=new_text[:_WHOLE_EXCERPT])
        return [RatedChange.unrated(whole, f"error: {type(exc).__name__}")]
    if not knows_language(language):
        return [RatedChange.unrated(change, f"language {primary_language(language)}") for change in found]
    return rate_changes(found, watched, titles,
                        WholePolicy(old_sections, new_sections, found, texts=(old_text, new_text)))


# Headings of blocks that only point into the policy: what changes under them is navigation.
NAVIGATION_HEADINGS = frozenset(words(h) for h in (
    "Table of contents", "Contents", "Summary of contents", "On this page", "In this policy", "In this notice",
    "Jump to", "Jump to section", "Quick links", "Skip to", "Sections", "Navigation"))
_NAV_SEPARATOR = re.compile(r"\s*(?:[*•|·»]|\n|\s-\s)\s*")
_NAV_SHARE = 0.8     # of the pieces that must be section titles
_NAV_MIN_ITEMS = 3   # a list of fewer titles may be a real list of things that happen to be titles
_NAV_TITLE_CHARS = 120  # a lone line longer than this is a sentence, even if some heading repeats it


class WholePolicy:
    """What each whole version says, worked out on first use, for judging one change against the rest.

    - `names_recipient`: whether a version says data goes to someone. A recipient named in a changed
      clause is news only when the policy as a whole starts or stops naming it:
      "service providers" leaving one paragraph and arriving in another (a paragraph moved, merged
      or split, a section restructured) is no new recipient.
    - `clauses_before`/`clauses_after`: every clause's text. A removed clause the new version still
      states elsewhere (a paragraph moved under another heading, a duplicate removed) is no removal;
      an added clause the old version stated elsewhere is no addition.

    `changes` (those about to be rated) say which clauses will be looked up, so that a 10 MB policy
    is not split into clauses whole: only the bodies that could hold them are (see `_StatedClauses`).
    """

    def __init__(self, old: Iterable[Section], new: Iterable[Section], changes: Iterable[SectionChange] = (),
                 texts: tuple[str, str] | None = None) -> None:
        self._sides = (tuple(old), tuple(new))
        self._texts = texts  # the two versions' texts, when the caller has them (no copy of 10 MB made)
        self._named: dict[tuple[int, str], bool] = {}
        self._allowed: dict[tuple[int, str | None], set[str]] = {}  # section → the verbs its body says positively
        self._plain: tuple[list[str], _Bodies] | None = None
        self._every: dict[int, frozenset[str]] = {}
        changes = tuple(changes)
        self._asked = (tuple(c for ch in changes for c in ch.added), tuple(c for ch in changes for c in ch.removed))

    def names_recipient(self, side: int, key: str, phrase: str) -> bool:
        """Does version `side` (0 old, 1 new) anywhere say data goes to this recipient? Statements are
        costly to read on a 10 MB policy, so only clauses holding the phrase's longest word (the most
        telling; without its ending, "company" ~ "companies") are read, up to the first that names
        it, and each answer is kept. (A clause holds it only if its section's body does.)"""
        if (side, key) not in self._named:
            longest = max(_plain(phrase).split(), key=len)  # spelt as bodies are ("third-party" → "thirdparty")
            head = longest[:max(4, len(longest) - 3)]
            if self._plain is None:  # the bodies of both versions (most are the same), spelt as phrases are
                bodies = list(dict.fromkeys(s.text for sides in self._sides for s in sides))
                self._plain = bodies, _Bodies([_plain(b) for b in bodies])  # (one by one: most are ASCII)
            bodies, plain = self._plain
            holding = {bodies[i] for i in plain.holding(head)}
            sections = [s for s in self._sides[side] if s.text in holding] if holding else []
            self._named[side, key] = any(key in recipients((c,), " › ".join(s.path)) for s in sections
                                         for c in s.clauses if head in _plain(c.text))
        return self._named[side, key]

    def section_allows(self, side: int, key: str | None, lemmas: Iterable[str]) -> bool:
        """Does the section `key` of version `side` say anywhere in its body that data is (or may be) done
        with as one of `lemmas` says ("We may disclose your information to…")?"""
        if (side, key) not in self._allowed:  # (asked once a verb of a change: the body read once)
            body = next((s.text for s in self._sides[side] if s.key == key), None) if key is not None else None
            self._allowed[side, key] = set() if body is None else {
                lemma for lemma, said in statements(body).items() if any(not negated for negated, _ in said)}
        return not self._allowed[side, key].isdisjoint(lemmas)

    def mentions(self, side: int, name: str) -> bool:
        """Does version `side` name this company anywhere (up to case, spacing and punctuation)?"""
        return self._has(side, name)

    def states(self, side: int, clause: Clause) -> bool:
        """Does version `side` (0 old, 1 new) have this clause's words, in order, anywhere (up to case,
        spacing and punctuation; a list item with its lead-in)? Too short a clause proves nothing."""
        if len(_squash(clause.text)) < _STATED_MIN_CHARS:
            return False
        return self._has(side, clause.text) and (not clause.lead_in or self._has(side, clause.lead_in))

    def _has(self, side: int, text: str) -> bool:
        """Is `text` in version `side` up to case, spacing and punctuation? Found through its longest word
        (as written, in lower case, capitalised or in capitals): only the stretches around that word's
        occurrences are squashed, never a whole 10 MB policy."""
        needle = _squash(text)
        anchor = max(_ALNUM_RUN.findall(text), key=len, default="")
        if not needle or not anchor:
            return False
        haystack = self._texts[side] if self._texts else self._joined[side]
        reach, tries = 2 * len(text) + 16, 0
        for written in dict.fromkeys((anchor, anchor.lower(), anchor.capitalize(), anchor.upper())):
            at = haystack.find(written)
            while at >= 0 and tries < _STATED_MAX_TRIES:
                if needle in _squash(haystack[max(0, at - reach):at + reach]):
                    return True
                at, tries = haystack.find(written, at + 1), tries + 1
        return False

    @cached_property
    def _joined(self) -> tuple[str, str]:
        return tuple("\n".join(f"{s.title}\n{s.text}" for s in sections)  # type: ignore[return-value]
                     for sections in self._sides)

    @cached_property
    def clauses_before(self) -> _StatedClauses:
        return _StatedClauses(self, 0)

    @cached_property
    def clauses_after(self) -> _StatedClauses:
        return _StatedClauses(self, 1)

    @cached_property
    def _asked_texts(self) -> tuple[frozenset[str], frozenset[str]]:
        return frozenset(map(_clause_text, self._asked[0])), frozenset(map(_clause_text, self._asked[1]))

    @cached_property
    def _found(self) -> tuple[frozenset[str], frozenset[str]]:
        """Per version, the texts of the clauses of every body that could state a clause asked about
        (a superset of the asked clauses the version states; all of them truly stated there).

        A body can state a clause only if the whitespace-separated words inside the clause's text
        (not the first or last, which a sentence split or a list marker may have cut from a longer
        word) are words of the body, one after the other: one scan of the bodies of both versions
        (most are the same body) finds those, and only they are split. A clause of one or two words
        is looked for as a substring; a clause of no words at all could be anywhere."""
        bodies = [dict.fromkeys(s.text for s in sides) for sides in self._sides]
        every = list(dict.fromkeys(itertools.chain(*bodies)))
        # each clause is filed under its rarest inner word (as counted in a sample of the bodies)
        sample = Counter(w for body in every[::max(1, len(every) // _RARITY_SAMPLE)] for w in set(body.split()))
        inner: list[dict[str, list[tuple[set[str], str]]]] = [defaultdict(list), defaultdict(list)]
        short: list[set[str]] = [set(), set()]
        for side, asked in enumerate(self._asked):
            for clause in asked:
                words_of = " ".join(ENUMERATOR.sub("", clause.text.strip()).split()).split(" ")
                if not words_of[0]:
                    short[side].add("")
                elif len(words_of) <= 2:
                    short[side].add(max(words_of, key=len))
                else:
                    needed = set(words_of[1:-1])
                    rarest = min(sorted(needed), key=lambda w: (sample[w], -len(w)))
                    inner[side][rarest].append((needed, " ".join(words_of[1:-1])))
        candidates: list[set[str]] = [set(), set()]
        wanted = inner[0].keys() | inner[1].keys()

        def states(tokens: list[str], hits: set[str], side: int) -> bool:
            """Does a body (its words) hold every inner word of an asked clause, then those words in a row?"""
            words_of_body: set[str] | None = None
            for word in hits:
                for needed, in_a_row in inner[side].get(word, ()):
                    words_of_body = set(tokens) if words_of_body is None else words_of_body
                    if needed <= words_of_body and in_a_row in " ".join(tokens):
                        return True
            return False

        if wanted:
            for body in every:
                tokens = body.split()
                hits = wanted.intersection(tokens)
                for side in (0, 1):
                    if hits and body in bodies[side] and states(tokens, hits, side):
                        candidates[side].add(body)
        for side in (0, 1):
            if "" in short[side]:
                candidates[side] = set(bodies[side])
            elif short[side]:
                texts = list(bodies[side])
                joined = _Bodies(texts)
                candidates[side].update(texts[i] for word in short[side] for i in joined.holding(word))
        return tuple(frozenset(_clause_text(c) for body in found for c in body_clauses(body))
                     for found in candidates)

    def _all(self, side: int) -> frozenset[str]:
        if side not in self._every:
            self._every[side] = frozenset(_clause_text(c) for s in self._sides[side] for c in s.clauses)
        return self._every[side]


_RARITY_SAMPLE = 1000  # bodies sampled to tell rare words from common ones


class _Bodies:
    """Texts joined into one, to find which of them hold a string with one search instead of one each."""

    def __init__(self, texts: list[str]) -> None:
        self.starts = list(itertools.accumulate((len(t) + 1 for t in texts[:-1]), initial=0))
        self.joined = "\x00".join(texts)

    def holding(self, part: str) -> list[int]:
        """Indices of the texts holding `part` (which holds no NUL), in order."""
        found: list[int] = []
        at = self.joined.find(part)
        while at >= 0:
            i = bisect.bisect_right(self.starts, at) - 1
            found.append(i)
            if i + 1 == len(self.starts):
                break
            at = self.joined.find(part, self.starts[i + 1])
        return found


class _StatedClauses:
    """Whether one version states a clause (compared by `_clause_text`): `text in stated`. A clause
    of the changes being rated is looked up among the few bodies that could state it, any other among
    all the version's clauses."""

    def __init__(self, policy: WholePolicy, side: int) -> None:
        self._policy, self._side = policy, side

    def __contains__(self, text: object) -> bool:
        policy, side = self._policy, self._side
        if text in policy._asked_texts[side]:
            return text in policy._found[side]
        return text in policy._all(side)


_STATED_MIN_CHARS = 24  # letters and digits: shorter clauses ("Cookies", "We sell data") recur by chance
_STATED_MAX_TRIES = 500  # occurrences of a clause's longest word looked at before giving up (no move then)
_ALNUM_RUN = re.compile(r"[^\W_]+")
_NOT_ALNUM = re.compile(r"[\W_]+")  # \w is alnum or "_": what is left out is what isalnum() refuses


# ASCII's characters other than letters and digits: what _NOT_ALNUM matches in an ASCII text
_ASCII_NOT_ALNUM = bytes(c for c in range(128) if not chr(c).isalnum())


def _squash(text: str) -> str:
    """Lower-case letters and digits only: "U.S." and "US", "third-party" and "third party" agree."""
    if text.isascii():  # most windows of most policies: bytes.translate deletes in one C loop, ~20x the regex
        return text.lower().encode("ascii").translate(None, _ASCII_NOT_ALNUM).decode("ascii")
    return _NOT_ALNUM.sub("", text.lower())


def _plain(text: str) -> str:
    """Lower case without hyphens, as recipient phrases are spelt ("third-party" → "thirdparty")."""
    return text.lower().replace("-", "")


def _clause_text(clause: Clause) -> str:
    """A clause's words and its lead-in's: the same item under another lead-in says something else."""
    text = " ".join(ENUMERATOR.sub("", clause.text.strip()).split())
    return f"{text}\x1f{' '.join(clause.lead_in.split())}" if clause.lead_in else text


class SectionTitles:
    """The section titles of some versions, for asking whether a line is one of them.

    A line is a title when its canonical words are a title's. Titles are indexed by their letters and
    digits alone (cheap), and only a title sharing a line's letters has its words folded: a 10 MB
    policy has 40,000 titles, and folding them all costs more than the rest of the rating."""

    def __init__(self, *versions: Iterable[Section]) -> None:
        self._by_letters: dict[str, list[str]] = {}
        for title in dict.fromkeys(s.title for sections in versions for s in sections):  # each title once:
            if title:                                                   # two versions share nearly all
                self._by_letters.setdefault(_squash(title), []).append(title)

    def __bool__(self) -> bool:
        return bool(self._by_letters)

    def names(self, line: str) -> bool:
        """Is `line` one of the titles (up to case, punctuation, spelling and list markers)?"""
        candidates = self._by_letters.get(_squash(ENUMERATOR.sub("", line)))
        return bool(candidates) and any(words(title) == words(line) for title in candidates)


def section_titles(*versions: Iterable[Section]) -> SectionTitles:
    """The words of every section title of the given versions (for recognising navigation)."""
    return SectionTitles(*versions)


def _statements(clauses: tuple[Clause, ...], titles: SectionTitles | None) -> tuple[Clause, ...]:
    """The clauses that state something: without a table of contents (a run of the policy's own
    section titles, one per clause or several run together in one broken line)."""
    if not titles or not clauses:
        return clauses

    def title_share(pieces: list[str]) -> float:
        return sum(titles.names(p) for p in pieces) / len(pieces)

    def navigation(clause: Clause) -> bool:
        pieces = [p for p in _NAV_SEPARATOR.split(clause.text) if p.strip()]
        if len(pieces) >= _NAV_MIN_ITEMS:
            return title_share(pieces) >= _NAV_SHARE
        # one line that is nothing but a heading of the policy: a table-of-contents entry left over
        # (or a heading that became a line); an item under a lead-in sentence ("We share with:") is a
        # list entry, not navigation, but one under a parent entry (a nested contents list) is
        announced = bool(clause.lead_in) and clause.lead_in.rstrip().endswith((":", "："))
        return (not announced and len(pieces) == 1 and len(clause.text) <= _NAV_TITLE_CHARS
                and titles.names(pieces[0]))

    kept = tuple(c for c in clauses if not navigation(c))
    if len(kept) >= _NAV_MIN_ITEMS and title_share([c.text for c in kept]) >= _NAV_SHARE:
        return ()  # a table of contents, one title per line
    return kept


_EXPANDER = re.compile(r"(?:see|read|show|view|load) (?:more|all|less)|(?:expand|collapse)(?: all)?|more")


def _expander_only(clauses: tuple[Clause, ...]) -> bool:
    """Are these clauses nothing but an expander link ("See more")? Text that a page folds behind one
    was not captured, not removed (and text unfolded again was not added)."""
    return all(_EXPANDER.fullmatch(" ".join(words(c.text))) for c in clauses)


_MENU_RUN = 4       # labels in a row that make a menu, a footer or a language picker
_LABEL_WORDS = 6    # "Do not sell my personal information" as a footer link, "Parental Guidance"
_LINK_WORDS = 3     # a lead-in ending in an ellipsis that is itself a link: "More...", "Read more…", "See all events…"
_SENTENCE_END = (".", ";", ":", "!", "?", "。", "；", "：")


def _is_label(clause: Clause) -> bool:
    """A few words without sentence punctuation, not announced by a lead-in sentence: a link's text."""
    text, lead_in = clause.text.strip(), (clause.lead_in or "").strip()
    # an ellipsis ends a link ("More...", "Read more…"), not a sentence: such a lead-in is a label too; a
    # longer one is a sentence left open ("We may sell your data to...") that announces its list
    link = lead_in.endswith(("...", "…")) and len(words(lead_in)) <= _LINK_WORDS
    sentence = lead_in.endswith((*_SENTENCE_END, "…")) and not link
    announced = bool(lead_in) and (sentence or len(words(lead_in)) > _LABEL_WORDS)
    return not announced and len(words(text)) <= _LABEL_WORDS and not text.endswith(_SENTENCE_END)


# a lower-case letter then a capital inside a word: two link labels captured without a space between
# them ("EthicsPrivacyTerms of UseCookie SettingsDo Not Sell My Info" is five footer links)
_GLUED = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _labels_in(clause: Clause) -> int:
    """How many link labels a clause is: 1 for a label, n for n labels run together in one line
    without sentence punctuation (each piece a label), 0 for anything else."""
    if _is_label(clause):
        return 1
    text = clause.text.strip()
    if text.endswith(_SENTENCE_END) or any(p in text for p in ",;"):
        return 0
    pieces = _GLUED.split(text)
    if len(pieces) < 2 or not all(_is_label(Clause(p, lead_in=clause.lead_in)) for p in pieces):
        return 0
    # labels are title-cased: each starts with a capital and ends in a capitalised word ("Terms of Use"),
    # so a brand inside a sentence ("sold to eBay and iTunes": "…to e" | "Bay and i" | "Tunes") is no run
    if not all(p[:1].isupper() and _capitalised_word(p.split()[-1]) for p in pieces[:-1]) \
            or not pieces[-1][:1].isupper():
        return 0
    return len(pieces)


def _capitalised_word(word: str) -> bool:
    return len(word) >= 2 and word[0].isupper()


def _without_menus(clauses: tuple[Clause, ...]) -> tuple[Clause, ...]:
    """The clauses without runs of link labels ("Home", "News", "Children and Safety", "Parental
    Guidance"…): a menu, a footer or a language picker captured with the page says nothing the policy
    states, even where a label names a topic. Labels run together in one line (a footer captured without
    spaces) count one each. A list announced by a sentence ("We share with:") is kept."""
    labels = [_labels_in(c) for c in clauses]
    menu: set[int] = set()
    start = 0
    for end in range(len(clauses) + 1):
        if end == len(clauses) or not labels[end]:
            if sum(labels[start:end]) >= _MENU_RUN:
                menu.update(range(start, end))
            start = end + 1
    return tuple(c for i, c in enumerate(clauses) if i not in menu) if menu else clauses


def retitled_lines(changes: Iterable[SectionChange]) -> frozenset[tuple[str, ...]]:
    """Titles of sections that appeared or disappeared in a check: a line promoted to a heading ("- A
    Special Note about Children." → a heading of its own) or a heading demoted to a line."""
    return frozenset(words(c.section.split(" › ")[-1]) for c in changes
                     if c.kind in ("added", "removed", "split", "merged") and c.section)
