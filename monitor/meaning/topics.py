"""Clause → topics with the phrase that shows each: a trained model decides, rules supply evidence and facts."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal, NamedTuple

from monitor.meaning.facts import ages, periods
from monitor.meaning.model import TopicModel, knows_language, load_model, primary_language
from monitor.meaning.names import CONTEXT, MODELLED, TOPICS, WATCHED
from monitor.meaning.topic_prefixes import pattern_facts
from monitor.meaning.topic_words import TERMS as _TERMS
from monitor.meaning.topic_words import TRAPS as _TRAPS

__all__ = ["TOPICS", "WATCHED", "TopicHit", "classify", "decide", "knows_language", "model_finds", "rule_hits"]


Basis = Literal["text", "context", "audience", "model"]


@dataclass(frozen=True)
class TopicHit:
    """A topic found in a text: `evidence` is the phrase that triggered it, `confidence` in (0, 1].

    `basis` says where the evidence is: "text" (a rule read the text's own words), "context" (a rule
    read the heading or list lead-in, which lends its topic), "audience" (a heading naming an audience,
    "Children's Privacy", scopes everything under it) or "model" (the trained model alone).
    `probability` is the model's for a modelled topic (None for a context topic, which rules decide).
    """

    topic: str
    evidence: str
    confidence: float = 1.0
    basis: Basis = "text"
    probability: float | None = field(default=None, repr=False)  # (not shown: it moves with each trained model)


def _compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{pattern})(?!\w)", flags)


# Patterns run on the lower-cased text (several times faster than IGNORECASE); the case-insensitive
# twins serve the rare text whose lower-casing changes its length, so evidence offsets stay exact.
_TERM_RE = {name: _compile(p) for name, p in _TERMS.items()}
_TRAP_RE = tuple((_compile(p), families) for p, families in _TRAPS)


@lru_cache(maxsize=1)
def _anycase() -> tuple[dict[str, re.Pattern[str]], tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]]:
    """The twins, compiled on first need: a third of this module's import went to them, paid by every
    process that rates a change, and few ever meets such a text."""
    return ({name: _compile(p, re.IGNORECASE) for name, p in _TERMS.items()},
            tuple((_compile(p, re.IGNORECASE), families) for p, families in _TRAPS))


_TOKEN_RE = re.compile(r"\w+(?:['’-]\w+)*")

# One regex pass costs about the same per character whatever it finds: with every family scanned
# whole, a 57 KB page without headings took ~150 ms. In a long text a family is instead tried only at
# the word starts whose first two letters can begin it ("sh", "di", "re"... for "share").
_INDEX_FROM_CHARS = 2000
_CHARS_PER_TRY = 25  # one try at a word start costs about as much as scanning this many characters
_WORD_START = re.compile(r"\b\w")
# (two-letter start keys, three-letter ones, anchors) of each family and trap: one parse of each pattern
_TERM_FACTS = {name: pattern_facts(p) for name, p in _TERMS.items()}
_TRAP_FACTS = [pattern_facts(p) for p, _ in _TRAPS]
_TERM_KEYS = {name: keys for name, (keys, _, _) in _TERM_FACTS.items() if keys is not None}
_TERM_ANCHORS = {name: anchors for name, (_, _, anchors) in _TERM_FACTS.items() if anchors is not None}
_TRAP_ANCHORS = {i: anchors for i, (_, _, anchors) in enumerate(_TRAP_FACTS) if anchors is not None}


_Filter = tuple[frozenset[str] | None, frozenset[str], tuple[str, ...]]


def _filter_of(family: str) -> _Filter:
    """Anchors of `family`, one of which a short text must have for it to match: as two-letter words,
    first three letters of longer ones, or rare characters (None: no anchors known)."""
    anchors = _TERM_ANCHORS.get(family)
    if anchors is None:
        return None, frozenset(), ()
    words = [a for a in anchors if a[0].isalnum() or a[0] == "_"]
    return (frozenset(a for a in words if len(a) == 2), frozenset(a[:3] for a in words if len(a) >= 3),
            tuple(a for a in anchors if a not in words))


_TRAP_KEYS = {i: keys for i, (keys, _, _) in enumerate(_TRAP_FACTS) if keys is not None}
_FILTER = {family: _filter_of(family) for family in _TERMS}
_KEYS: dict[str | int, frozenset[str]] = {**_TERM_KEYS, **_TRAP_KEYS}  # families by name, traps by index
# the same up to three characters long: in a short text, "thi" tells "third" from "the", "this", "that"
_KEYS3: dict[str | int, frozenset[str]] = {
    **{name: keys for name, (_, keys, _) in _TERM_FACTS.items() if keys is not None},
    **{i: keys for i, (_, keys, _) in enumerate(_TRAP_FACTS) if keys is not None}}


@lru_cache(maxsize=8192)
def _starting_with(head: str) -> tuple[str | int, ...]:
    """The families and traps (by index) whose matches can start at a word beginning with `head`, its
    first three characters (fewer at the end of the text): those with a key `head` starts with."""
    return tuple(who for who, keys in _KEYS3.items() if head in keys or head[:2] in keys or head[:1] in keys)


@dataclass(frozen=True)
class _Rule:
    """`first` alone (`second` None) or `first` within `window` words of `second` → `topic`.

    `max_words` limits a rule to short texts (headings, list items) where a bare term is the subject.
    """

    topic: str
    first: str
    second: str | None = None
    window: int = 0
    confidence: float = 0.8
    max_words: int | None = None
    ordered: bool = False  # `first` must come before `second` ("retain your data", not "data ... retained")


_RULES: tuple[_Rule, ...] = (
    # sharing: sale or rental of data, data flowing to someone outside, trackers of others, legal demands
    _Rule("sharing", "sell", "data", 6, 0.9),
    _Rule("sharing", "share", "recipient", 10, 0.9),
    _Rule("sharing", "share", "brand", 6, 0.85),
    _Rule("sharing", "share", "data", 6, 0.8),
    _Rule("sharing", "flow", "recipient", 10, 0.75),
    _Rule("sharing", "tracker", "flow", 12, 0.75),
    _Rule("sharing", "bizsale", "data", 25, 0.75),
    _Rule("sharing", "bizsale", "flow", 12, 0.7),
    _Rule("sharing", "legal", confidence=0.7),
    _Rule("sharing", "giveto", confidence=0.75),
    _Rule("sharing", "sell", "recipient", 8, 0.85),
    _Rule("sharing", "sell", "brand", 6, 0.85),
    _Rule("sharing", "thirdparty", confidence=0.6),
    _Rule("sharing", "tracker", confidence=0.6),
    _Rule("sharing", "othersite", "practice", 12, 0.6),
    _Rule("sharing", "handover", "recipient", 6, 0.8),
    _Rule("sharing", "handover", "brand", 4, 0.8),
    _Rule("sharing", "others_receive", confidence=0.7),
    _Rule("sharing", "hosted_elsewhere", confidence=0.7),
    _Rule("sharing", "share_table", confidence=0.75),
    _Rule("sharing", "public", confidence=0.7),
    _Rule("sharing", "ownpolicy", "recipient", 14, 0.7),
    _Rule("sharing", "ownpolicy", "brand", 14, 0.7),
    _Rule("sharing", "ownpolicy", "handover", 14, 0.7),  # "collected by Ticketmaster under its own policy"
    _Rule("sharing", "share", confidence=0.6, max_words=8),
    _Rule("sharing", "disclose", confidence=0.6),
    _Rule("sharing", "recipient", confidence=0.55, max_words=8),
    # retention: explicit vocabulary, a storage word with a duration, deletion on a schedule, backups
    _Rule("retention", "retention_strong", confidence=0.95),
    _Rule("retention", "keep", "duration", 12, 0.85),
    _Rule("retention", "store", "duration", 10, 0.75),
    _Rule("retention", "keep", "data", 4, 0.75, ordered=True),
    _Rule("retention", "delete", "duration", 12, 0.75),
    _Rule("retention", "backup", "store", 10, 0.7),
    _Rule("retention", "backup", "delete", 10, 0.7),
    _Rule("retention", "backup", "keep", 10, 0.7),
    _Rule("retention", "backup", "duration", 10, 0.7),
    _Rule("retention", "keep_noun", confidence=0.6, max_words=8),
    _Rule("retention", "nostore", "data", 6, 0.7),
    _Rule("retention", "nostore", "duration", 10, 0.7),
    _Rule("retention", "storage_heading", confidence=0.6, max_words=10),
    _Rule("security", "security_word", confidence=0.6, max_words=8),  # headings: "Security", "How we protect…"
    _Rule("collection", "collect_word", confidence=0.6, max_words=8),  # "What we collect"
    _Rule("minors", "student", "school", 12, 0.75),  # school pupils, not university students
    # minors, and the context topics: their own word family alone
    *(_Rule(topic, topic, confidence=0.8 if topic in ("minors", "cookies", "transfers") else 0.7)
      for topic in ("minors", *CONTEXT)),
)
_RULES = tuple(sorted(_RULES, key=lambda rule: -rule.confidence))  # evidence from the strongest rule

# Context lends its topics, as weaker evidence: a list's lead-in always (an item completes the lead-in's
# sentence), a heading only to a clause with no firm topic of its own. On the seeds, lending the heading to
# every short clause (<= 14 words) as well scored the same on watched topics and worse on the others,
# and it would make "We use TLS." under "Sharing and security" a sharing clause.
_CONTEXT_DISCOUNT = 0.75
_OWN_VOICE = 0.7  # weaker own hits (a bare word in a short text) still let the heading speak


@lru_cache(maxsize=256)
def _by_first_two(anchors: frozenset[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Anchors grouped by their first two characters, the key of the word-start index."""
    groups: dict[str, list[str]] = {}
    for anchor in anchors:
        groups.setdefault(anchor[:2], []).append(anchor)
    return tuple((key, tuple(group)) for key, group in sorted(groups.items()))


class _Match(NamedTuple):  # a tuple: built thousands of times per second
    start: int
    end: int
    first_token: int
    last_token: int
    sentence: int


# A pair of words only counts inside one sentence: "…advertisers). Please read…" pairs nothing.
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+(?=\S)|\n")


class _Terms:
    """Matches of each word family in one text (minus those inside its traps), found on first request:
    most rules need a rare word first ("sell", "retain"), so common families are often never scanned."""

    def __init__(self, text: str) -> None:
        lowered = text.lower()
        indexed = len(text) >= _INDEX_FROM_CHARS
        keyed = len(lowered) == len(text)
        if keyed:
            text, self._term_re, self._trap_re = lowered, _TERM_RE, _TRAP_RE
        else:  # the keys are lower-case: this rare text is scanned whole
            (self._term_re, self._trap_re), indexed = _anycase(), False
        self.text = text.translate(_FOLD)  # one character for one: offsets into the caller's text hold
        self.token_starts = [m.start() for m in _TOKEN_RE.finditer(self.text)]
        self.sentence_starts = [m.end() for m in _SENTENCE_END.finditer(self.text)]
        self._found: dict[str, list[_Match]] = {}
        self._trap_spans: dict[int, list[tuple[int, int]]] = {}
        self._long = indexed
        # Word starts by their first two characters (three in a short text): where a family is tried
        # (_finditer), and in a short text whether it has one of the family's anchors (_may_match).
        self._starts: dict[str, list[int]] | None = None
        self._twos: set[str] | None = None  # short text: first two letters of its words, on first request
        # short text: the word starts where each family or trap can begin a match (none listed: nowhere)
        self._tries: dict[str | int, list[int]] = {}
        if keyed:
            self._starts = starts = {}
            folded, width = self.text, 2 if indexed else 3
            for m in _WORD_START.finditer(folded):
                position = m.start()
                key = folded[position:position + width]
                group = starts.get(key)
                if group is None:
                    starts[key] = [position]
                else:
                    group.append(position)
            if not indexed:
                tries = self._tries
                for key, positions in starts.items():
                    for who in _starting_with(key):
                        group = tries.get(who)
                        tries[who] = positions if group is None else group + positions  # lists never changed
                # a family no word can start has no match: known now, not asked family by family
                self._found = {family: [] for family in _TERM_KEYS if family not in tries}

    @property
    def indexed(self) -> bool:
        """Whether this is a long text (2,000 characters or more): its strongest rule per topic is enough."""
        return self._long

    @property
    def words(self) -> int:
        return len(self.token_starts)

    def __getitem__(self, family: str) -> list[_Match]:
        found = self._found.get(family)
        if found is None:
            found = self._found[family] = self._scan(family)
        return found

    def _finditer(self, pattern: re.Pattern[str], who: str | int,
                  anchors: frozenset[str] | None) -> list[tuple[int, int]]:
        """Spans of `pattern`'s matches (family or trap `who`), as `finditer` finds them. The pattern is
        tried only at the word starts beginning with one of its start keys; in a long text, when those
        are many, it is scanned only in the sentences holding one of its `anchors` (a match never runs
        across sentences)."""
        text = self.text
        keys = _KEYS.get(who)
        if self._starts is None:
            return [m.span() for m in pattern.finditer(text)]
        if not self._long:
            if keys is None:
                return [m.span() for m in pattern.finditer(text)]
            # Measured on the bench's clauses: one try costs 4-25 characters of scanning, the big families
            # the least, so in a sentence trying every word start a match can begin at always wins.
            candidates = sorted(self._tries.get(who, ()))
        else:
            candidates = None if keys is None else self._candidates(keys)
            if candidates is None or len(candidates) * _CHARS_PER_TRY > len(text):  # too many tries
                spans = self._sentences_with(anchors) if anchors is not None else None
                if spans is None:
                    return [m.span() for m in pattern.finditer(text)]
                return [m.span() for begin, end in spans for m in pattern.finditer(text, begin, end)]
        spans: list[tuple[int, int]] = []
        reach = 0
        for position in candidates:
            if position < reach:  # finditer does not look inside a match it has found
                continue
            m = pattern.match(text, position)
            if m is not None:
                spans.append(m.span())
                reach = max(m.end(), position + 1)
        return spans

    def _sentences_with(self, anchors: frozenset[str]) -> list[tuple[int, int]] | None:
        """Spans of the sentences holding one of `anchors`, neighbours merged; None if that is most."""
        starts, text, marked = self.sentence_starts, self.text, set()
        assert self._starts is not None
        for key, group in _by_first_two(anchors):
            if key[0].isalnum() or key[0] == "_":
                positions = [p for p in self._starts.get(key, ()) if text.startswith(group, p)]
            else:  # a rare character ("@", "+"): a literal search
                positions, at = [], text.find(key)
                while at >= 0:
                    positions.append(at)
                    at = text.find(key, at + 1)
            marked.update(bisect.bisect_right(starts, p) for p in positions)
            if len(marked) * 2 > len(starts):
                return None
        spans: list[tuple[int, int]] = []
        for index in sorted(marked):
            begin = starts[index - 1] if index else 0
            end = starts[index] if index < len(starts) else len(text)
            if spans and spans[-1][1] >= begin:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((begin, end))
        return spans

    def _candidates(self, keys: frozenset[str]) -> list[int]:
        starts = self._starts
        assert starts is not None
        found: list[int] = []
        for key in keys:
            if len(key) == 2:
                found += starts.get(key, ())
            else:
                found += [p for k, positions in starts.items() if k[0] == key for p in positions]
        found.sort()
        return found

    def _traps(self, family: str) -> tuple[list[int], list[int]]:
        """Trap spans of a family's traps: their starts, sorted, and the running maximum of their ends."""
        spans: list[tuple[int, int]] = []
        for index in _TRAPS_OF.get(family, ()):
            if index not in self._trap_spans:
                self._trap_spans[index] = self._finditer(self._trap_re[index][0], index, _TRAP_ANCHORS.get(index))
            spans += self._trap_spans[index]
        spans.sort()
        ends, reach = [], -1
        for _, end in spans:
            reach = max(reach, end)
            ends.append(reach)
        return [start for start, _ in spans], ends

    def _may_match(self, family: str) -> bool:
        """False when no word of this short text is one of `family`'s anchors: then its pattern cannot
        match (set tests, cheaper than a regex scan). Start keys were checked when the text was read."""
        starts = self._starts
        assert starts is not None
        twos, threes, rare = _FILTER[family]
        if twos is None:
            return True
        if not starts.keys().isdisjoint(threes) or any(c in self.text for c in rare):
            return True
        if self._twos is None:
            self._twos = {key[:2] for key in starts}
        return not self._twos.isdisjoint(twos)

    def _scan(self, family: str) -> list[_Match]:
        if not self._long and self._starts is not None and not self._may_match(family):
            return []
        matches: list[_Match] = []
        traps: tuple[list[int], list[int]] | None = None
        token_starts, sentence_starts = self.token_starts, self.sentence_starts
        for start, end in self._finditer(self._term_re[family], family, _TERM_ANCHORS.get(family)):
            if traps is None:
                traps = self._traps(family)
            before = bisect.bisect_left(traps[0], end)  # traps starting before this match ends...
            if start == end or (before and traps[1][before - 1] > start):  # ...one of them reaching into it
                continue
            first = bisect.bisect_right(token_starts, start) - 1
            last = bisect.bisect_right(token_starts, max(start, end - 1)) - 1
            matches.append(_Match(start, end, first, last, bisect.bisect_right(sentence_starts, start)))
        return matches


_TRAPS_OF: dict[str, list[int]] = {}
for _index, (_pattern, _families) in enumerate(_TRAPS):
    for _family in _families:
        _TRAPS_OF.setdefault(_family, []).append(_index)


# Typographic variants matched as their plain forms: dashes, curly quotes, no-break and odd spaces.
_FOLD = str.maketrans({**dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212", "-"),
                       **dict.fromkeys("\u2018\u2019\u02bc", "'"), **dict.fromkeys("\u201c\u201d", '"'),
                       **dict.fromkeys("\t\u00a0\u2007\u202f\u2009\u200a", " ")})
_LONGEST_TERM = 16  # words; no vocabulary phrase is longer


def _nearest_pair(firsts: list[_Match], seconds: list[_Match], window: int,
                  ordered: bool) -> tuple[int, int] | None:
    best: tuple[int, int, int] | None = None
    starts = [b.first_token for b in seconds]  # ascending: matches come in text order
    for a in firsts:  # only look at `seconds` near `a`, so a whole policy stays linear, not quadratic
        lo = bisect.bisect_left(starts, a.first_token - window - _LONGEST_TERM)
        hi = bisect.bisect_right(starts, a.last_token + window)
        for b in seconds[lo:hi]:
            if a.start < b.end and b.start < a.end:  # the same words cannot be both halves
                continue
            if (ordered and b.start < a.start) or a.sentence != b.sentence:
                continue
            gap = b.first_token - a.last_token if a.start < b.start else a.first_token - b.last_token
            if gap <= window and (best is None or gap < best[0]):
                best = (gap, min(a.start, b.start), max(a.end, b.end))
    return (best[1], best[2]) if best else None


def _apply_rules(text: str) -> tuple[dict[str, TopicHit], int]:
    """Topic hits of one text (best evidence per topic, confidence combined over rules), word count."""
    if not text.strip():
        return {}, 0
    terms = _Terms(text)
    words = terms.words
    hits: dict[str, TopicHit] = {}
    long_text = terms.indexed
    for rule in _RULES:
        if rule.max_words is not None and words > rule.max_words:
            continue
        if long_text and rule.topic in hits:  # a whole section: the strongest rule's word is enough
            continue
        firsts = terms[rule.first]
        if not firsts:
            continue
        if rule.second is None:
            span: tuple[int, int] | None = (firsts[0].start, firsts[0].end)
        else:
            span = _nearest_pair(firsts, terms[rule.second], rule.window, rule.ordered)
        if span is None:
            continue
        previous = hits.get(rule.topic)
        if previous is None:
            hits[rule.topic] = TopicHit(rule.topic, text[span[0]:span[1]], rule.confidence)
        else:  # independent rules agreeing make the topic surer; keep the first (strongest) evidence
            combined = 1 - (1 - previous.confidence) * (1 - rule.confidence)
            hits[rule.topic] = TopicHit(rule.topic, previous.evidence, round(min(combined, 0.99), 3))
    return hits, words


_LEAD_IN_END = re.compile(r":\s*(?:\n|$)|:\s+(?=\S)")
_SENTENCE_START = re.compile(r"(?:^|\n|[.!?]\s+)(?=[^.!?\n]*$)")


def _split_context(context: str) -> tuple[str, str]:
    """(lead-in, heading) of a context: the lead-in is the sentence ending in a colon, if any."""
    ends = list(_LEAD_IN_END.finditer(context))
    if not ends:
        return "", context
    end = ends[-1].start() + 1
    # the lead-in starts after the last sentence end before its colon; "(e.g.:" has none: whole text
    sentence = _SENTENCE_START.search(context[:end])
    start = sentence.end() if sentence else 0
    return context[start:end].strip(), (context[:start] + " " + context[end:]).strip()


@lru_cache(maxsize=4096)
def _lent_hits(context_part: str) -> tuple[TopicHit, ...]:
    """Hits a heading or lead-in lends, discounted; cached since many clauses share one heading."""
    hits, _ = _apply_rules(context_part)
    return tuple(TopicHit(h.topic, h.evidence, round(h.confidence * _CONTEXT_DISCOUNT, 3), "context")
                 for h in hits.values())


def rule_hits(text: str, context: str = "") -> dict[str, TopicHit]:
    """What the rules alone find: every topic with the phrase that triggered it (evidence for `classify`).

    `context` is the text around a clause: its section heading and/or the lead-in sentence of its
    list (the lead-in is the sentence ending in a colon). The lead-in lends its topics to the clause
    (a list item completes its sentence); the heading lends its topics only to a clause with no firm
    topic of its own. Lent topics have lower confidence and their evidence comes from `context`.
    Confidence grows when several rules agree, except in a long text (2,000 characters or more),
    where further rules are not tried, which keeps a 50 KB page fast.
    """
    if not text.strip():
        return {}  # nothing said: context alone does not make an empty clause about anything
    hits, words = _apply_rules(text)
    lead_in, heading = _split_context(context)
    lenders = [lead_in]  # a list item completes its lead-in's sentence
    if all(h.confidence < _OWN_VOICE for h in hits.values()):  # a heading speaks for the voiceless only
        lenders.append(heading)
    for lender in lenders:
        for hit in _lent_hits(lender):
            if hit.topic not in hits:
                hits[hit.topic] = hit
    return hits


DEFAULT_GATE = 0.15  # "gated": a rule's hit stands unless the model finds its topic less likely than this
# A heading naming an audience scopes everything under it: in "Children's Privacy", "we will delete it"
# is about children's data. Practice headings ("How we share") lend only to clauses with no topic of
# their own (see rule_hits), since such sections hold clauses about other things too.
AUDIENCES = ("minors",)


def classify(text: str, context: str = "", language: str = "en") -> list[TopicHit]:
    """Topics of a clause or paragraph of a privacy policy, each with the phrase that shows it.

    The watched topics (sharing, retention, minors) and `ads_ai` (advertising, profiling, AI
    training) are decided by a model trained on real policies labelled by people, combined per
    topic with the rules as measured best on held-out policies (`models/en.json`: "combination");
    the rules supply the evidence phrase. Context topics (collection, security, rights, cookies,
    transfers, contact, changes) come from the rules alone. A topic says what a clause is about,
    not what it promises: "we do not sell your data" is about sharing.

    `context` is the clause's section heading and/or the lead-in sentence of its list (the sentence
    ending in a colon): the lead-in is read with the clause, the heading as its heading. A heading
    about children makes every clause under it about minors.
    `evidence` is always an exact substring of `text` or `context`. Hits come in `TOPICS` order.
    Raises LookupError for a language without a model (see `knows_language`). Pure and deterministic.

    >>> [h.topic for h in classify("We do not sell your personal information to data brokers.")]
    ['sharing']
    >>> [h.topic for h in classify("to train our models", context="We may retain your data if necessary:")]
    ['retention']
    >>> classify("Applicants need at least 18 years of experience.")
    []
    """
    if not isinstance(text, str) or not isinstance(context, str):
        raise TypeError("classify() takes text and context as str")
    if not text.strip():
        return []  # nothing said: context alone does not make an empty clause about anything
    if not knows_language(language):
        raise LookupError(f"no topic model for language {language!r}")
    return list(_classify(text, context, primary_language(language)))


@lru_cache(maxsize=16384)
def _classify(text: str, context: str, language: str) -> tuple[TopicHit, ...]:
    """`classify` once per text: a new version repeats most sections and clauses of the last one."""
    return classify_with(load_model(language), text, context)


def classify_with(model: TopicModel, text: str, context: str = "") -> tuple[TopicHit, ...]:
    """`classify` with a given model (uncached): how `make model` tries a model before it ships it."""
    hits = rule_hits(text, context)
    lead_in, heading = _split_context(context)
    probabilities = model.probabilities(f"{lead_in} {text}" if lead_in else text, heading)
    audience = {hit.topic for hit in _lent_hits(heading)} & set(AUDIENCES)
    for topic in MODELLED:
        hit = hits.get(topic)
        weak = hit is not None and hit.basis == "text" and hit.confidence < _OWN_VOICE
        found = _decide(model, topic, topic in hits, probabilities[topic], text, weak) or topic in audience
        probability = round(probabilities[topic], 3)
        if not found:
            hits.pop(topic, None)
        elif topic in hits:  # a heading naming an audience lends more than context: it scopes the clause
            basis = "audience" if hits[topic].basis == "context" and topic in audience else hits[topic].basis
            hits[topic] = replace(hits[topic], basis=basis, probability=probability)
        else:
            alone = decide(model.combination.get(topic, "model"), False, probabilities[topic],
                           model.thresholds[topic], model.gates.get(topic, DEFAULT_GATE))
            hits[topic] = TopicHit(topic, _model_evidence(model, text, context, topic), probability,
                                   "model" if alone else "audience", probability)
    return tuple(hits[t] for t in TOPICS if t in hits)


@lru_cache(maxsize=4096)
def model_finds(topic: str, text: str, language: str = "en") -> bool:
    """Whether the model, reading `text` alone (no heading, no lead-in), finds it about `topic`: its
    probability reaches the topic's threshold. False for a topic the model does not decide."""
    model = load_model(primary_language(language))
    if topic not in model.thresholds or not text.strip():
        return False
    return model.probabilities(text)[topic] >= model.thresholds[topic]


def states_exact_fact(topic: str, text: str) -> bool:
    """Whether `text` states the exact fact a rule of `topic` reads: a length of time (retention; not a
    look-back, a response deadline or a frequency, `Period.role`), an age (minors)."""
    if topic == "retention":
        return any(p.role == "length" for p in periods(text))
    if topic == "minors":
        return bool(ages(text))
    return False


def _decide(model: TopicModel, topic: str, rule_found: bool, probability: float, text: str,
            weak: bool = False) -> bool:
    """`decide` for one topic of `text`. A `weak` rule's hit (a bare word: "third-party" alone, a short
    text's "disclose") is evidence of a word, not of what the clause says: for it the gate rises to the
    model's own threshold, so the model's judgement decides (an exact fact still passes)."""
    gate = model.gates.get(topic, DEFAULT_GATE)
    if weak:
        gate = max(gate, model.thresholds[topic])
    # the exact fact matters only to a rule's hit the gate would stop: look for it only then (a regex pass)
    fact = rule_found and probability < gate and states_exact_fact(topic, text)
    return decide(model.combination.get(topic, "model"), rule_found, probability, model.thresholds[topic], gate,
                  fact)


def decide(way: str, rule_found: bool, probability: float, threshold: float, gate: float,
           fact: bool = False) -> bool:
    """Whether a topic is found, the `way` model and rules combine: "model" (probability over the
    threshold), "rules", "gated" (a rule's hit the model finds at least `gate` likely, or that states an
    exact `fact`) or "either" (the model's hit or the gated one).

    An exact fact passes the gate because the model, trained on paragraphs, scores a short clause near the
    base rate whatever it says: "Emails to our support team are archived for three years." is retention
    at 0.14. Judgement stays with the model; a period or an age the rule read is not a judgement."""
    if way == "rules":
        return rule_found
    gated = rule_found and (probability >= gate or fact)
    if way == "gated":
        return gated
    if way == "either":
        return probability >= threshold or gated
    return probability >= threshold


def _model_evidence(model: TopicModel, text: str, context: str, topic: str) -> str:
    """The phrase of `text` (else of `context`) that weighs most for the topic, as written there."""
    for source in (text, context):
        feature = model.strongest_feature(source, "", topic)
        if feature:
            words = [re.escape(w) if w != "0" else r"\d+" for w in feature.split()]
            found = re.search(r"\b" + r"\W+".join(words) + r"\b", source, re.IGNORECASE)
            if found:
                return found.group(0)
    return text.strip()[:60]
