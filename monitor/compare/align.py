"""Two versions aligned (part of the diff stage): matched sections, moves, clause and word alignment."""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict

from diff_match_patch import diff_match_patch

from monitor.text.clauses import Clause, canonical, fold_contractions, fold_spelling, is_dated_heading, may_hold_dates
from monitor.text.sections import Section, slugify

# ---------------------------------------------------------------------------------------------
# Preparation


class SideSection:
    """One section with its comparison forms, each worked out on first use.

    Most sections of a new version have their old body unchanged: the diff only asks whether the
    bodies are equal, and never splits or folds such a section's clauses. A section whose body the
    other version has too (`twin`) borrows its forms instead of computing them again.
    """

    __slots__ = ("index", "section", "parent", "_twin", "_title_key", "_clauses", "_keys", "_context_keys",
                 "_digest", "_heading_date", "_body_dates")

    def __init__(self, index: int, section: Section, parent: int | None, twin: SideSection | None = None) -> None:
        self.index = index
        self.section = section
        self.parent = parent
        self._twin = twin
        self._title_key = self._clauses = self._keys = self._context_keys = self._digest = None
        self._heading_date = self._body_dates = None

    @property
    def title_key(self) -> str:
        """The title without number, case or spelling variants (the key for an untitled section)."""
        if self._title_key is None:
            title = self.section.title
            self._title_key = fold_spelling(slugify(fold_contractions(title))) if title else self.section.key
        return self._title_key

    @property
    def clauses(self) -> list[Clause]:
        """Content clauses (dates excluded)."""
        if self._clauses is None:
            self._clauses = self._twin.clauses if self._twin is not None else \
                [c for c in self.section.clauses if not c.is_date]
        return self._clauses

    @property
    def keys(self) -> list[str]:
        """Canonical form per clause: what aligns clause lists."""
        if self._keys is None:
            self._keys = self._twin.keys if self._twin is not None else [canonical(c.text) for c in self.clauses]
        return self._keys

    @property
    def context_keys(self) -> list[str]:
        """The keys with the list lead-in: an item under another lead-in means something else."""
        if self._context_keys is None:
            self._context_keys = self._twin.context_keys if self._twin is not None else \
                [clause_key(c) for c in self.clauses]
        return self._context_keys

    @property
    def digest(self) -> str:
        """The whole body, canonical: equal digests mean an unchanged body."""
        if self._digest is None:
            self._digest = self._twin.digest if self._twin is not None else "".join(self.keys)
        return self._digest

    @property
    def heading_date(self) -> Clause | None:
        """The heading as a date line, when it carries one ("Privacy Policy (updated 5 May 2024)")."""
        if self._heading_date is None:
            dated = self.section.title and is_dated_heading(self.section.heading)
            self._heading_date = (Clause(self.section.heading, is_date=True),) if dated else ()
        return self._heading_date[0] if self._heading_date else None

    @property
    def body_dates(self) -> list[Clause]:
        if self._body_dates is None:
            if self._twin is not None:
                self._body_dates = self._twin.body_dates
            else:
                self._body_dates = [c for c in self.section.clauses if c.is_date] \
                    if may_hold_dates(self.section.text) else []
        return self._body_dates

    @property
    def dates(self) -> list[Clause]:
        """Date lines: the heading's, then the body's."""
        return [self.heading_date, *self.body_dates] if self.heading_date else self.body_dates

    def same_body(self, other: SideSection) -> bool:
        """Equal bodies: no clause changed (decided without splitting either)."""
        return self.section.text == other.section.text


def prepare_sides(sections: list[Section], known: list[SideSection] = ()) -> list[SideSection]:
    """Each section ready for comparison; one whose body is among the `known` sides' (the other
    version's, which share nearly every body with this one) borrows their comparison forms."""
    sides: list[SideSection] = []
    open_levels: list[tuple[int, int]] = []  # (level, index) of the current ancestors
    seen = {side.section.text: side for side in known}
    for i, section in enumerate(sections):
        while open_levels and open_levels[-1][0] >= section.level:
            open_levels.pop()
        parent = open_levels[-1][1] if open_levels else None
        open_levels.append((section.level, i))
        sides.append(SideSection(i, section, parent, seen.get(section.text)))
    return sides


def clause_key(clause: Clause) -> str:
    if clause.lead_in:
        return canonical(clause.text) + "\x1f" + canonical(clause.lead_in)
    return canonical(clause.text)


# ---------------------------------------------------------------------------------------------
# Section alignment


def align_sections(old: list[SideSection], new: list[SideSection]) -> dict[int, int]:
    """Match old sections to new ones: same key, same title, same body, shared clauses, shared children."""
    matched: dict[int, int] = {}
    taken: set[int] = set()

    def pair(o: int, n: int) -> None:
        matched[o] = n
        taken.add(n)

    def unmatched_old() -> list[SideSection]:
        return [s for s in old if s.index not in matched]

    def unmatched_new() -> list[SideSection]:
        return [s for s in new if s.index not in taken]

    by_key = {s.section.key: s.index for s in new}
    for s in old:
        n = by_key.get(s.section.key)
        if n is not None and n not in taken:
            pair(s.index, n)
    for attribute in ("title_key", "digest"):  # renumbered/re-parented, then renamed with the same body
        pool: dict[str, list[int]] = defaultdict(list)
        for s in unmatched_new():
            value = getattr(s, attribute)
            if value:
                pool[value].append(s.index)
        for s in unmatched_old():
            candidates = pool.get(getattr(s, attribute))
            if candidates:
                pair(s.index, candidates.pop(0))
    _align_by_clauses(old, new, matched, taken)
    _align_by_children(old, new, matched, taken)
    _align_by_position(old, new, matched, taken)
    return matched


def _words(text: str) -> set[str]:
    return set(_WORD.findall(fold_spelling(text.lower())))


_WORD = re.compile(r"[^\W\d_]{3,}")


def _align_by_position(old: list[SideSection], new: list[SideSection], matched: dict[int, int],
                       taken: set[int]) -> None:
    """Rewritten in place: unmatched old and new sections between the same matched neighbours, in the
    same order, at the same level, with a similar title or body, are sections edited (one such pair, or
    many when a whole policy was reworded, "personal information" → "personal data" in every heading)."""
    new_to_old = {n: o for o, n in matched.items()}
    gaps_old: dict[int, list[int]] = defaultdict(list)  # gap id (matched old index before it) → old sections
    last = -1
    for s in old:
        if s.index in matched:
            last = s.index
        else:
            gaps_old[last].append(s.index)
    gaps_new: dict[int, list[int]] = defaultdict(list)  # same gap ids, via the matched predecessor
    last = -1
    for s in new:
        if s.index in taken:
            last = new_to_old[s.index]
        else:
            gaps_new[last].append(s.index)
    for gap, olds in gaps_old.items():
        news = gaps_new.get(gap, [])
        if news and len(olds) * len(news) <= _MAX_GAP_PAIRS:
            for o, n in _similar_in_order([old[i] for i in olds], [new[i] for i in news]):
                matched[o] = n
                taken.add(n)


# A gap is every unmatched section between two matched ones; a whole policy rewritten in one term
# ("personal information" → "personal data" in every heading and sentence) leaves one gap of them all.
_MAX_GAP_PAIRS = 40_000


def _similar_in_order(olds: list[SideSection], news: list[SideSection]) -> list[tuple[int, int]]:
    """Pairs of old and new sections, in the same order on both sides and at the same level, each with
    a similar title or body; of all such pairings the one with the most similarity in total."""
    words = {id(s): (_words(s.section.title), _words(s.section.text)) for s in (*olds, *news)}

    def similarity(o: SideSection, n: SideSection) -> float:
        if o.section.level != n.section.level:
            return 0.0
        (old_title, old_body), (new_title, new_body) = words[id(o)], words[id(n)]
        title, body = _jaccard(old_title, new_title), _jaccard(old_body, new_body)
        return max(title, body) if title >= 0.5 or body >= 0.4 else 0.0

    # best[i][j]: the most total similarity pairing olds[i:] with news[j:] (a longest-common-subsequence table)
    best = [[0.0] * (len(news) + 1) for _ in range(len(olds) + 1)]
    scores = [[similarity(o, n) for n in news] for o in olds]
    for i in range(len(olds) - 1, -1, -1):
        for j in range(len(news) - 1, -1, -1):
            paired = best[i + 1][j + 1] + scores[i][j] if scores[i][j] else 0.0
            best[i][j] = max(paired, best[i + 1][j], best[i][j + 1])
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < len(olds) and j < len(news):
        if scores[i][j] and best[i][j] == best[i + 1][j + 1] + scores[i][j]:
            pairs.append((olds[i].index, news[j].index))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _align_by_clauses(old: list[SideSection], new: list[SideSection], matched: dict[int, int],
                      taken: set[int]) -> None:
    """Renamed and edited: most clauses shared. An inverted index keeps this linear, not all-pairs."""
    index: dict[str, list[int]] = defaultdict(list)
    for s in new:
        if s.index not in taken:
            for key in set(s.keys):
                index[key].append(s.index)
    scored: list[tuple[float, int, int]] = []
    for s in old:
        if s.index in matched or not s.keys:
            continue
        shared: Counter[int] = Counter()
        for key in set(s.keys):
            hits = index.get(key, ())
            if len(hits) <= 3:  # boilerplate repeated everywhere says nothing about identity
                shared.update(hits)
        for n, count in shared.items():
            score = count / max(len(set(s.keys)), len(set(new[n].keys)))
            if score >= 0.5:
                scored.append((score, s.index, n))
    for _score, o, n in sorted(scored, reverse=True):
        if o not in matched and n not in taken:
            matched[o] = n
            taken.add(n)


def _align_by_children(old: list[SideSection], new: list[SideSection], matched: dict[int, int],
                       taken: set[int]) -> None:
    """A renamed parent heading whose children were matched under one new parent is that parent."""
    votes: dict[int, Counter[int]] = defaultdict(Counter)
    children: Counter[int] = Counter()
    for s in old:
        if s.parent is not None and s.parent not in matched:
            children[s.parent] += 1
            n = matched.get(s.index)
            if n is not None and new[n].parent is not None and new[n].parent not in taken:
                votes[s.parent][new[n].parent] += 1
    for o, ballot in votes.items():
        n, count = ballot.most_common(1)[0]
        if count * 2 > children[o] and n not in taken and o not in matched:
            matched[o] = n
            taken.add(n)


def moved_sections(olds: list[SideSection], news: list[SideSection], matched: dict[int, int]) -> list[int]:
    """Old indices of matched sections that changed place, each reported once with its subtree.

    Among siblings that kept their parent, the fewest sections out of order moved (a longest
    increasing run stays). A section under a different parent moved only if its place in the
    whole document changed too: headings that merely changed level (h3 → bold div) did not move.
    """
    def same_parent(o: int) -> bool:
        op, np_ = olds[o].parent, news[matched[o]].parent
        return (op is None and np_ is None) or (op is not None and matched.get(op) == np_ and np_ is not None)

    groups: dict[int | None, list[int]] = defaultdict(list)
    reparented: list[int] = []
    for o, n in sorted(matched.items(), key=lambda item: item[1]):
        if same_parent(o):
            groups[news[n].parent].append(o)
        else:
            reparented.append(o)
    moved: set[int] = set()
    for siblings in groups.values():
        keep = _longest_increasing(siblings)
        moved.update(o for pos, o in enumerate(siblings) if pos not in keep)
    if reparented:
        document = [o for o, _n in sorted(matched.items(), key=lambda item: item[1])]
        keep = _longest_increasing(document)
        in_place = {document[pos] for pos in keep}
        moved.update(o for o in reparented if o not in in_place)
    return sorted(o for o in moved if not (olds[o].parent in moved and same_parent(o)))


def _longest_increasing(values: list[int]) -> set[int]:
    """Positions (into `values`) of one longest strictly increasing subsequence, O(n log n)."""
    tails: list[int] = []
    tail_pos: list[int] = []
    back: list[int] = [-1] * len(values)
    for pos, value in enumerate(values):
        k = bisect.bisect_left(tails, value)
        if k == len(tails):
            tails.append(value)
            tail_pos.append(pos)
        else:
            tails[k] = value
            tail_pos[k] = pos
        back[pos] = tail_pos[k - 1] if k else -1
    keep: set[int] = set()
    pos = tail_pos[-1] if tail_pos else -1
    while pos >= 0:
        keep.add(pos)
        pos = back[pos]
    return keep


# ---------------------------------------------------------------------------------------------
# Clause diff inside matched sections

_DMP = diff_match_patch()
_DMP.Diff_Timeout = 0.5


def sequence_changes(a: list[str], b: list[str]) -> list[tuple[int, int, int, int]]:
    """Changed stretches between two lists of hashable items: (a_start, a_end, b_start, b_end).

    Each distinct item becomes one character so diff-match-patch's Myers diff aligns the lists.
    """
    codes: dict[str, str] = {}

    def encode(items: list[str]) -> str:
        return "".join(codes.setdefault(item, chr(0x100 + len(codes))) for item in items)

    ea, eb = encode(a), encode(b)
    hunks: list[tuple[int, int, int, int]] = []
    i = j = 0
    start: tuple[int, int] | None = None
    for op, chunk in _DMP.diff_main(ea, eb, False):
        if op == 0:
            if start is not None:
                hunks.append((start[0], i, start[1], j))
                start = None
            i += len(chunk)
            j += len(chunk)
            continue
        if start is None:
            start = (i, j)
        if op < 0:
            i += len(chunk)
        else:
            j += len(chunk)
    if start is not None:
        hunks.append((start[0], i, start[1], j))
    return hunks



_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def word_diff(before: str, after: str) -> list[tuple[int, str]]:
    """Word-level diff of two texts: (op, text) pairs, op -1 deleted, 0 kept, 1 inserted.

    Words are mapped to single characters so diff-match-patch compares whole words; its semantic
    cleanup then merges scattered tiny matches into readable runs.
    """
    codes: dict[str, str] = {}
    tokens: list[str] = []

    def encode(text: str) -> str:
        out = []
        for token in _TOKEN.findall(text):
            code = codes.get(token)
            if code is None:
                code = chr(0x100 + len(tokens))
                codes[token] = code
                tokens.append(token)
            out.append(code)
        return "".join(out)

    diffs = _DMP.diff_main(encode(before), encode(after), False)
    _DMP.diff_cleanupSemantic(diffs)
    return [(op, "".join(tokens[ord(ch) - 0x100] for ch in chunk)) for op, chunk in diffs if chunk]
