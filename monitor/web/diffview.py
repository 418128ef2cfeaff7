"""The change page's model: each rated change as two word-diffed sides with long unchanged runs folded,
and each version's full text with its changed sections marked (pure functions, no I/O)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.compare.align import word_diff
from monitor.meaning.significance import RatedChange

if TYPE_CHECKING:
    from monitor.web.data import ChangeItem

FOLD_AT = 360  # an unchanged run longer than this is folded…
KEEP = 120  # …keeping about this much of it visible beside each change


@dataclass(frozen=True)
class Piece:
    """A run of text on one side of a change: `same`, `del`, `ins`, or `fold` (unchanged, folded away)."""

    kind: str
    text: str


@dataclass(frozen=True)
class Panel:
    """One section change as the change page shows it."""

    anchor: str  # the permalink's fragment, from the section's stable key
    section: str
    kind: str
    topics: tuple[str, ...]
    severity: str | None
    summary: str
    material: bool  # False: a form-only edit, move, rename or date stamp (hidden unless asked for)
    not_rated: str | None
    before: list[Piece]
    after: list[Piece]
    old_key: str | None
    new_key: str | None

    @property
    def old_anchor(self) -> str | None:
        """Where the changed section is in the old version's full text."""
        return "old-" + section_id(self.old_key) if self.old_key else None

    @property
    def new_anchor(self) -> str | None:
        return "new-" + section_id(self.new_key) if self.new_key else None


@dataclass(frozen=True)
class TextSection:
    """A section of a version's full text; `panel` names the change that touched it, if any."""

    anchor: str
    heading: str
    level: int
    text: str
    topics: list[str]
    panel: str | None
    material: bool


_NOT_ID = re.compile(r"[^A-Za-z0-9_-]+")


def section_id(key: str | None) -> str:
    """`s-<key>`: stable across renumbering (section keys do not depend on numbers)."""
    return "s-" + ((_NOT_ID.sub("-", key).strip("-") if key else "") or "preamble")


def anchor_for(key: str | None, taken: set[str]) -> str:
    """`section_id(key)`, made unique on the page."""
    base = section_id(key)
    anchor, n = base, 1
    while anchor in taken:
        n += 1
        anchor = f"{base}-{n}"
    taken.add(anchor)
    return anchor


def _cut(text: str, at: int, *, forward: bool) -> int:
    """A position near `at` on a word boundary, so a fold never splits a word."""
    space = text.find(" ", at) if forward else text.rfind(" ", 0, at)
    return at if space < 0 or abs(space - at) > 40 else space


def fold(pieces: list[Piece]) -> list[Piece]:
    """Fold unchanged runs longer than FOLD_AT, keeping KEEP characters beside each change.

    >>> [p.kind for p in fold([Piece("same", "x " * 400), Piece("ins", "new")])]
    ['fold', 'same', 'ins']
    """
    out: list[Piece] = []
    last = len(pieces) - 1
    for i, piece in enumerate(pieces):
        text = piece.text
        if piece.kind != "same" or len(text) <= FOLD_AT:
            out.append(piece)
            continue
        head = _cut(text, KEEP, forward=True) if i > 0 else 0
        tail = _cut(text, len(text) - KEEP, forward=False) if i < last else len(text)
        if tail - head < KEEP:  # not worth folding
            out.append(piece)
            continue
        if head:
            out.append(Piece("same", text[:head]))
        out.append(Piece("fold", text[head:tail]))
        if tail < len(text):
            out.append(Piece("same", text[tail:]))
    return out


def sides(before: str, after: str) -> tuple[list[Piece], list[Piece]]:
    """The before side with deleted words marked, the after side with inserted words marked.

    >>> old, new = sides("We keep data for 2 years.", "We keep data for 5 years.")
    >>> [(p.kind, p.text) for p in old]
    [('same', 'We keep data for '), ('del', '2'), ('same', ' years.')]
    >>> [(p.kind, p.text) for p in new]
    [('same', 'We keep data for '), ('ins', '5'), ('same', ' years.')]
    """
    if not before or not after:
        return ([Piece("del", before)] if before else []), ([Piece("ins", after)] if after else [])
    old: list[Piece] = []
    new: list[Piece] = []
    for op, text in word_diff(before, after):
        if op <= 0:
            old.append(Piece("del" if op else "same", text))
        if op >= 0:
            new.append(Piece("ins" if op else "same", text))
    return fold(old), fold(new)


@dataclass(frozen=True)
class ChangeView:
    """What a panel needs of a change, whether a check recorded it or it is computed now."""

    section: str
    kind: str
    topics: tuple[str, ...]
    severity: str | None
    summary: str
    before: str
    after: str
    material: bool
    not_rated: str | None = None
    old_key: str | None = None
    new_key: str | None = None


def from_rated(rated: RatedChange) -> ChangeView:
    """A change computed now (`diff`), which knows its sections' keys."""
    c = rated.change
    return ChangeView(c.section, c.kind, tuple(rated.topics), rated.severity, rated.summary, c.before, c.after,
                      rated.material, rated.not_rated, c.old_key, c.new_key)


def from_recorded(item: ChangeItem, old_keys: dict[str, str], new_keys: dict[str, str]) -> ChangeView:
    """A change as the check recorded it (`data.ChangeItem`); its sections are found by their path."""
    return ChangeView(item.section, item.kind, tuple(item.topics), item.severity, item.summary, item.before,
                      item.after, not item.form_only, item.not_rated,
                      old_keys.get(item.section) if item.kind != "added" else None,
                      new_keys.get(item.section) if item.kind != "removed" else None)


def panels(changes: Sequence[ChangeView]) -> list[Panel]:
    """One panel per change, in document order."""
    taken: set[str] = set()
    out = []
    for c in changes:
        before, after = sides(c.before, c.after)
        out.append(Panel(anchor_for(c.new_key or c.old_key or c.section, taken), c.section, c.kind, c.topics,
                         c.severity, c.summary, c.material, c.not_rated, before, after, c.old_key, c.new_key))
    return out


def full_text(sections: Sequence, shown: Sequence[Panel], *, side: str,
              language: str | None = None) -> list[TextSection]:
    """A version's sections (stored rows) with the ones a shown panel changed marked; `side` is
    "old" or "new" (which key of a change names a section of this version). With `language` (the
    source's), each section's topics, classified now where the check left them for later
    (`stored_section_topics`); without, none (the change page does not show them)."""
    from monitor.pipeline import stored_section_topics

    touched: dict[str, Panel] = {}
    for panel in shown:
        key = panel.old_key if side == "old" else panel.new_key
        if key is not None and (key not in touched or panel.material):
            touched[key] = panel
    taken: set[str] = set()
    out = []
    for s in sections:
        panel = touched.get(s.key)
        heading = s.path.split(" › ")[-1] if s.path and s.path != "(preamble)" else ""
        topics = stored_section_topics(s, language) if language is not None else []
        out.append(TextSection(f"{side}-" + anchor_for(s.key, taken), heading, s.level, s.text, topics,
                               panel.anchor if panel else None, bool(panel and panel.material)))
    return out
