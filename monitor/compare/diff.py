"""Two versions' sections → section changes: align moved/renumbered/renamed sections, diff clauses."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from os.path import commonprefix
from typing import Literal

from monitor.compare.align import (
    SideSection,
    align_sections,
    moved_sections,
    prepare_sides,
    sequence_changes,
    word_diff,
)
from monitor.text.clauses import canonical
from monitor.text.sections import Clause, Section

__all__ = ["ChangeKind", "SectionChange", "diff_sections", "word_diff"]

ChangeKind = Literal["added", "removed", "modified", "moved", "renamed", "split", "merged", "date"]

CONTEXT_CHARS = 80  # how much of a neighbouring clause frames a change
EDIT_CONTEXT = 300  # characters kept around the edit in a long clause reworded
MAX_SIDE_CHARS = 2000  # before/after of a whole added/removed section are capped (clauses stay whole)


@dataclass(frozen=True)
class SectionChange:
    """One change to one section between two versions.

    `section` is the display path (new side when it exists) joined by " › ".
    `before`/`after` hold the changed clauses with a little context, not whole sections.
    `removed`/`added` are the changed clauses themselves (with their list lead-in), for topic judgement;
    `heading` is the section heading they sit under (new side, else old).
    """

    kind: ChangeKind
    section: str
    before: str = ""
    after: str = ""
    removed: tuple[Clause, ...] = field(default=())
    added: tuple[Clause, ...] = field(default=())
    heading: str = ""
    old_key: str | None = None
    new_key: str | None = None


def _shorten(text: str, limit: int, *, keep_end: bool) -> str:
    """At most about `limit` characters of `text`, cut at a word boundary, with "…" where it was cut."""
    if len(text) <= limit:
        return text
    if keep_end:
        tail = text[-limit:]
        cut = tail.find(" ") if text[-limit - 1] != " " else 0  # drop a word cut in two
        return "…" + (tail[cut:] if 0 <= cut < limit // 2 else tail).lstrip()
    head = text[:limit]
    cut = head.rfind(" ") if text[limit] != " " else limit
    return (head[:cut] if cut > limit // 2 else head).rstrip() + "…"


@dataclass
class _Hunks:
    """Changed clause stretches of one matched section pair, before relocation is netted out."""

    old: SideSection
    new: SideSection
    spans: list[tuple[int, int, int, int]]
    removed: list[int] = field(default_factory=list)  # old clause indices
    added: list[int] = field(default_factory=list)  # new clause indices


def _clause_hunks(o: SideSection, n: SideSection) -> _Hunks | None:
    if o.same_body(n) or o.digest == n.digest:  # the first test spares splitting the unchanged bodies
        return None
    spans = sequence_changes(o.keys, n.keys)
    if not spans:
        return None
    hunks = _Hunks(o, n, spans)
    for a0, a1, b0, b1 in spans:
        hunks.removed.extend(range(a0, a1))
        hunks.added.extend(range(b0, b1))
    # A clause that only changed place inside the section (paragraphs reordered) is no change.
    # (Same text under another list lead-in did change meaning: compare with the lead-in here.)
    shared = Counter(o.context_keys[ci] for ci in hunks.removed) & Counter(n.context_keys[ci] for ci in hunks.added)
    if shared:
        hunks.removed = _drop_keys(hunks.removed, o.context_keys, shared.copy())
        hunks.added = _drop_keys(hunks.added, n.context_keys, shared)
    return hunks if hunks.removed or hunks.added else None


def _drop_keys(indices: list[int], keys: list[str], budget: Counter[str]) -> list[int]:
    kept = []
    for ci in indices:
        if budget[keys[ci]] > 0:
            budget[keys[ci]] -= 1
        else:
            kept.append(ci)
    return kept


# ---------------------------------------------------------------------------------------------
# The diff


def diff_sections(old: list[Section], new: list[Section]) -> list[SectionChange]:
    """Compare two versions' sections; return what changed, per section, in new-document order.

    Renumbered sections are matched by their number-free key or title; a section whose place in
    the document changed is `moved`; a changed heading over a similar body is `renamed`; clauses
    that only moved between sections (a section split in two, two merged) are not reported as
    removed and added. Cosmetic differences (case, whitespace, quotes, dashes, bullets, list
    numbers, British/American spelling) are no change. Date lines yield one `date` change.
    """
    olds = prepare_sides(old)
    news = prepare_sides(new, known=olds)
    matched = align_sections(olds, news)
    changes: list[tuple[float, SectionChange]] = []

    for o in moved_sections(olds, news, matched):
        n = matched[o]
        changes.append((n, _change("moved", news[n].section, olds[o].section,
                                   before=olds[o].section.display_path, after=news[n].section.display_path)))

    for o, n in matched.items():
        old_title, new_title = olds[o].section.title, news[n].section.title
        if old_title != new_title and old_title and new_title and olds[o].title_key != news[n].title_key:
            # the headings ride along as clauses: "Children under 13" → "Children under 16" says something
            old_heading, new_heading = olds[o].section.heading, news[n].section.heading
            changes.append((n + 0.1, _change("renamed", news[n].section, olds[o].section, before=old_heading,
                                             after=new_heading, removed=(Clause(old_heading),),
                                             added=(Clause(new_heading),))))

    # Clause-level differences, then net out clauses that merely changed section.
    hunks = [h for o, n in matched.items() if (h := _clause_hunks(olds[o], news[n])) is not None]
    kept_new = set(matched.values())
    gone = [s for s in olds if s.index not in matched]
    fresh = [s for s in news if s.index not in kept_new]
    moves = _Relocations()
    for h in hunks:
        for ci in h.removed:
            moves.offer(h.old, ci)
    for s in gone:
        for ci in range(len(s.keys)):
            moves.offer(s, ci)
    for h in hunks:
        for ci in h.added:
            moves.take(h.new, ci, exclude=h.old.index)
    for s in fresh:
        for ci in range(len(s.keys)):
            moves.take(s, ci, exclude=None)
    relocated_from, relocated_to, arrivals = moves.relocated_from, moves.relocated_to, moves.arrivals
    demoted = _relabelled_headings(hunks, gone, fresh, moves)

    fresh_ids = {s.index for s in fresh}
    gone_ids = {s.index for s in gone}
    for s in fresh:
        if s.parent in fresh_ids:
            continue  # reported with its added parent
        subtree = [i for i in _subtree(news, s.index) if i in fresh_ids]
        total = sum(len(news[i].keys) for i in subtree)
        arrived = sum(sum(arrivals[i].values()) for i in subtree)
        if total and arrived * 2 >= total:
            sources = Counter()
            for i in subtree:
                sources.update(arrivals[i])
            source = olds[sources.most_common(1)[0][0]]
            kind = "split" if source.index in matched else "moved"
            changes.append((s.index, _change(kind, s.section, source.section,
                                             before=source.section.display_path, after=s.section.display_path)))
            extra = [(i, ci) for i in subtree for ci in range(len(news[i].keys)) if (i, ci) not in relocated_to]
            if extra:
                added = tuple(news[i].clauses[ci] for i, ci in extra)
                changes.append((s.index + 0.2, _change("modified", s.section, None, after=_join(added),
                                                       added=added)))
            continue
        added = tuple(c for i in subtree for c in news[i].clauses)
        changes.append((s.index, _change("added", s.section, None, after=_section_text(news, subtree),
                                         added=added)))

    new_position = _new_positions(olds, matched)
    for s in gone:
        if s.parent in gone_ids:
            continue
        subtree = [i for i in _subtree(olds, s.index) if i in gone_ids]
        total = sum(len(olds[i].keys) for i in subtree)
        left = [(i, ci) for i in subtree for ci in range(len(olds[i].keys)) if (i, ci) not in relocated_from]
        kept_children = [matched[i] for i in _subtree(olds, s.index) if i in matched]
        if (total and len(left) * 2 <= total) or (not total and kept_children):
            targets = Counter(relocated_from[(i, ci)] for i in subtree for ci in range(len(olds[i].keys))
                              if (i, ci) in relocated_from)
            if targets:
                target = news[targets.most_common(1)[0][0]]
            else:  # an emptied heading whose subsections now sit under another heading
                first = news[min(kept_children)]
                target = news[first.parent] if first.parent is not None else first
            changes.append((target.index + 0.3, _change("merged", target.section, s.section,
                                                        before=s.section.display_path,
                                                        after=target.section.display_path)))
            if left:
                removed = tuple(olds[i].clauses[ci] for i, ci in left)
                changes.append((target.index + 0.4, _change("modified", target.section, s.section,
                                                            before=_join(removed), removed=removed)))
            continue
        if s.index in demoted:  # its label survives as a line of another section: text was removed there
            target = demoted[s.index]
            if left:
                removed = tuple(olds[i].clauses[ci] for i, ci in left)
                changes.append((target.index + 0.4, _change("modified", target.section, s.section,
                                                            before=_join(removed), removed=removed)))
            continue
        removed = tuple(c for i in subtree for c in olds[i].clauses)
        changes.append((new_position[s.index], _change("removed", None, s.section,
                                                       before=_section_text(olds, subtree), removed=removed)))

    for h in hunks:
        change = _modified(h, relocated_from, relocated_to)
        if change is not None:
            changes.append((h.new.index + 0.5, change))
    _report_clause_moves(changes, olds, news, matched, relocated_from, fresh_ids)

    date_change = _date_change(olds, news, matched)
    if date_change is not None:
        changes.append(date_change)
    changes.sort(key=lambda item: item[0])
    return [c for _pos, c in changes]


class _Relocations:
    """Clauses removed in one place and added in another: moved text, not a removal and an addition.

    Matched by canonical text with its list lead-in first, then by text alone (a list cut in two
    loses its lead-in for the second half).
    """

    def __init__(self) -> None:
        self.by_key: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.by_text: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.used: set[tuple[int, int]] = set()
        self.relocated_from: dict[tuple[int, int], int] = {}  # (old section, clause) → new section
        self.relocated_to: set[tuple[int, int]] = set()  # (new section, clause)
        self.arrivals: dict[int, Counter[int]] = defaultdict(Counter)  # new section → old sources

    def offer(self, side: SideSection, ci: int) -> None:
        self.by_key[side.context_keys[ci]].append((side.index, ci))
        self.by_text[side.keys[ci]].append((side.index, ci))

    def take(self, side: SideSection, ci: int, exclude: int | None) -> bool:
        for pool, key in ((self.by_key, side.context_keys[ci]), (self.by_text, side.keys[ci])):
            for old in pool.get(key, ()):
                if old[0] != exclude and old not in self.used:
                    self.used.add(old)
                    self.relocated_from[old] = side.index
                    self.relocated_to.add((side.index, ci))
                    self.arrivals[side.index][old[0]] += 1
                    return True
        return False


def _relabelled_headings(hunks: list[_Hunks], gone: list[SideSection], fresh: list[SideSection],
                         moves: _Relocations) -> dict[int, SideSection]:
    """A short label stops being a heading when the text under it goes (and becomes one when text
    arrives under it): its words did not change. Net them out; return demoted old sections → the
    new section whose line they became."""
    gone_by_heading = {canonical(s.section.heading): s for s in gone if s.section.heading}
    fresh_by_heading = {canonical(s.section.heading): s for s in fresh if s.section.heading}
    demoted: dict[int, SideSection] = {}
    for h in hunks:
        for ci in h.added:
            old = gone_by_heading.get(h.new.keys[ci])
            if old is not None and old.index not in demoted and (h.new.index, ci) not in moves.relocated_to:
                demoted[old.index] = h.new
                moves.relocated_to.add((h.new.index, ci))
        for ci in h.removed:
            promoted = fresh_by_heading.pop(h.old.keys[ci], None)
            if promoted is not None and (h.old.index, ci) not in moves.relocated_from:
                moves.relocated_from[(h.old.index, ci)] = promoted.index
    return demoted


def _report_clause_moves(changes: list[tuple[float, SectionChange]], olds: list[SideSection], news: list[SideSection],
                         matched: dict[int, int], relocated_from: dict[tuple[int, int], int],
                         fresh_ids: set[int]) -> None:
    """Clauses that left one kept section for another kept section: one `moved` per destination."""
    by_route: dict[tuple[int, int], list[int]] = defaultdict(list)
    for (old_index, ci), new_index in relocated_from.items():
        if old_index in matched and new_index not in fresh_ids:
            by_route[(old_index, new_index)].append(ci)
    for (old_index, new_index), indices in sorted(by_route.items(), key=lambda item: item[0][1]):
        text = _join(tuple(olds[old_index].clauses[ci] for ci in sorted(indices)))
        changes.append((new_index + 0.6, _change(
            "moved", news[new_index].section, olds[old_index].section,
            before=f"{olds[old_index].section.display_path}: {text}",
            after=f"{news[new_index].section.display_path}: {text}")))


def _modified(h: _Hunks, relocated_from: dict[tuple[int, int], int],
              relocated_to: set[tuple[int, int]]) -> SectionChange | None:
    """One `modified` change for a section pair: its changed stretches, each framed by context."""
    removed: list[Clause] = []
    added: list[Clause] = []
    changed_old, changed_new = set(h.removed), set(h.added)
    old_stretches: list[tuple[int, int, bool]] = []
    new_stretches: list[tuple[int, int, bool]] = []
    old_shown: dict[int, str] = {}  # a changed clause shown as less than all of it
    new_shown: dict[int, str] = {}
    for a0, a1, b0, b1 in h.spans:
        gone = [ci for ci in range(a0, a1) if ci in changed_old and (h.old.index, ci) not in relocated_from]
        came = [ci for ci in range(b0, b1) if ci in changed_new and (h.new.index, ci) not in relocated_to]
        if not gone and not came:
            continue
        removed.extend(h.old.clauses[ci] for ci in gone)
        added.extend(h.new.clauses[ci] for ci in came)
        old_stretches.append((a0, a1, bool(gone)))
        new_stretches.append((b0, b1, bool(came)))
        if len(gone) == 1 and len(came) == 1:  # one long clause reworded: show where, not its first 4,000 characters
            old_shown[gone[0]], new_shown[came[0]] = _around_the_edit(h.old.clauses[gone[0]].text,
                                                                      h.new.clauses[came[0]].text)
    if not removed and not added:
        return None
    before = _shorten(_excerpt(h.old.clauses, old_stretches, old_shown), 2 * MAX_SIDE_CHARS, keep_end=False)
    after = _shorten(_excerpt(h.new.clauses, new_stretches, new_shown), 2 * MAX_SIDE_CHARS, keep_end=False)
    return _change("modified", h.new.section, h.old.section, before=before, after=after, removed=tuple(removed),
                   added=tuple(added))


def _around_the_edit(old: str, new: str) -> tuple[str, str]:
    """Two versions of one clause, each cut to what differs with EDIT_CONTEXT characters around it when the
    words they share before or after it are longer than that (mozilla's 4,000-character clause had its changed
    words past the excerpt's end)."""
    prefix = len(commonprefix([old, new]))
    suffix = len(commonprefix([old[prefix:][::-1], new[prefix:][::-1]]))
    if prefix <= EDIT_CONTEXT and suffix <= EDIT_CONTEXT:
        return old, new

    def window(text: str) -> str:
        head, middle, tail = text[:prefix], text[prefix:len(text) - suffix], text[len(text) - suffix:]
        return _shorten(head, EDIT_CONTEXT, keep_end=True) + middle + _shorten(tail, EDIT_CONTEXT, keep_end=False)

    return window(old), window(new)


def _excerpt(clauses: list[Clause], stretches: list[tuple[int, int, bool]], shown: dict[int, str]) -> str:
    """One side of a modified section: each changed stretch (start, end, whether this side changed there)
    framed by a truncated neighbour on each side, the stretches joined by " … ". A side that did not change in a
    stretch (a pure insertion on the other side, or clauses that only moved) shows the neighbours it went
    between. Two stretches one clause apart share that clause: it is shown once, between them (whole, or its
    two ends when long), not as one's trailing and the other's leading context."""
    pieces: list[tuple[int, list[str], int]] = []  # (index before, texts, index after) per stretch
    for start, end, changed in stretches:
        pieces.append((start - 1, [shown.get(i, clauses[i].text) for i in range(start, end)] if changed else [], end))
    out: list[str] = []
    for k, (before, texts, after) in enumerate(pieces):
        shares_before = k > 0 and pieces[k - 1][2] == before and before >= 0
        if before >= 0 and not shares_before:
            out.append((" … " if out else "") + _shorten(clauses[before].text, CONTEXT_CHARS, keep_end=True))
        elif shares_before:  # the clause between this stretch and the one before, once
            out.append(_middle(clauses[before].text, 2 * CONTEXT_CHARS))
        out.extend(texts)
        shares_after = k + 1 < len(pieces) and pieces[k + 1][0] == after
        if after < len(clauses) and not shares_after:
            out.append(_shorten(clauses[after].text, CONTEXT_CHARS, keep_end=False))
    # two cut contexts in a row ("…the contract between…" and "…and may process…") read as one cut
    return _CUTS_IN_A_ROW.sub(" … ", " ".join(part for part in out if part))


_CUTS_IN_A_ROW = re.compile(r"\s*…(?:\s+…)+\s*")


def _middle(text: str, limit: int) -> str:
    """`text`, or its two ends around one "…" when longer than `limit`."""
    if len(text) <= limit:
        return text
    return _shorten(text, limit // 2, keep_end=False).removesuffix("…") + " … " + \
        _shorten(text, limit // 2, keep_end=True).removeprefix("…")


def _date_change(olds: list[SideSection], news: list[SideSection],
                 matched: dict[int, int]) -> tuple[float, SectionChange] | None:
    if not _dates_differ(olds, news, matched):
        return None
    old_dates = [c for s in olds for c in s.dates]
    new_dates = [c for s in news for c in s.dates]
    new_side = next((s for s in news if s.dates), None)
    old_side = next((s for s in olds if s.dates), None)
    shown = new_side or old_side
    assert shown is not None
    return (new_side.index if new_side else 0, SectionChange(
        kind="date", section=shown.section.display_path, before="\n".join(c.text for c in old_dates),
        after="\n".join(c.text for c in new_dates), heading=shown.section.heading,
        old_key=old_side.section.key if old_side else None, new_key=new_side.section.key if new_side else None))


def _dates_differ(olds: list[SideSection], news: list[SideSection], matched: dict[int, int]) -> bool:
    """Do the two versions' date lines differ (up to order and form)? A matched pair of sections with
    the same body and heading holds the same date lines on both sides, so only the other sections'
    are compared (and split): the whole sets differ exactly when these do."""
    same = {o for o, n in matched.items() if olds[o].section.text == news[n].section.text
            and olds[o].section.path == news[n].section.path
            and bool(olds[o].section.title) == bool(news[n].section.title)}
    kept = {matched[o] for o in same}
    old_dates = sorted(canonical(c.text) for s in olds if s.index not in same for c in s.dates)
    new_dates = sorted(canonical(c.text) for s in news if s.index not in kept for c in s.dates)
    return old_dates != new_dates


def _change(kind: ChangeKind, new: Section | None, old: Section | None, *, before: str = "", after: str = "",
            removed: tuple[Clause, ...] = (), added: tuple[Clause, ...] = ()) -> SectionChange:
    shown = new if new is not None else old
    assert shown is not None
    return SectionChange(kind=kind, section=shown.display_path, before=before, after=after, removed=removed,
                         added=added, heading=shown.heading, old_key=old.key if old else None,
                         new_key=new.key if new else None)


def _subtree(sides: list[SideSection], index: int) -> list[int]:
    level = sides[index].section.level
    out = [index]
    for s in sides[index + 1:]:
        if s.section.level <= level:
            break
        out.append(s.index)
    return out


def _section_text(sides: list[SideSection], subtree: list[int]) -> str:
    parts = []
    for i in subtree:
        section = sides[i].section
        if section.path:
            parts.append(section.heading)
        if section.text:
            parts.append(section.text)
    return _shorten("\n\n".join(parts), MAX_SIDE_CHARS, keep_end=False)


def _join(clauses: tuple[Clause, ...]) -> str:
    return _shorten(" ".join(c.text for c in clauses), MAX_SIDE_CHARS, keep_end=False)


def _new_positions(olds: list[SideSection], matched: dict[int, int]) -> dict[int, float]:
    """Where a removed old section would sit in the new document: just after its matched predecessor."""
    positions: dict[int, float] = {}
    last = -1.0
    for s in olds:
        if s.index in matched:
            last = float(matched[s.index])
        else:
            positions[s.index] = last + 0.05
    return positions
