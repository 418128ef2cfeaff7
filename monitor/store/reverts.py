"""Which changes a blink back undid: the one rule behind `policy.reverted`, the timeline, the web view and the feed.

A version V whose text equals an earlier version E's (`Version.reverts_to = E`, a *blink back*) undoes
the change of every version after E and before V: the policy says again what it said before them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.database import Version


def undone_by(blink: int, reverts_to: int) -> range:
    """The versions whose changes the blink back `blink` (to the text of `reverts_to`) undid.

    >>> list(undone_by(5, 3))
    [4]
    """
    return range(reverts_to + 1, blink)


class Reverts:
    """The blinks back of one source, newest first, and the first of them that undid each change.

    Asked newest first (`undone_in` with ever smaller versions), as the timeline and the web view read
    a history, it keeps only the blinks that can still answer: a stack whose size is the number of
    nested reverts, not of versions. `blinks` (version, reverts_to), newest first, are read as needed;
    `add` gives them one at a time instead (a stream of versions that holds them).
    """

    def __init__(self, blinks: Iterable[tuple[int, int]] = ()):
        self._blinks: Iterator[tuple[int, int]] = iter(blinks)
        self._next = next(self._blinks, None)
        self._open: list[tuple[int, int]] = []  # (blink, reverts_to): blinks falling, reverts_to rising

    def add(self, blink: int, reverts_to: int) -> None:
        """A blink back older than every one added before, added once its own version has been asked about
        (it undoes older versions only; `undone_in` of the versions after it are answered)."""
        # one that returns to an older text undoes all a later one does, and is the first to
        while self._open and self._open[-1][1] >= reverts_to:
            self._open.pop()
        self._open.append((blink, reverts_to))

    def undone_in(self, seq: int) -> int | None:
        """The first later version that undid the change of version `seq`; None while it stands."""
        while self._next is not None and self._next[0] > seq:
            self.add(*self._next)
            self._next = next(self._blinks, None)
        while self._open and self._open[-1][1] >= seq:  # back to a text after seq: never undoes an older one
            self._open.pop()
        return next((blink for blink, reverts_to in reversed(self._open) if seq in undone_by(blink, reverts_to)),
                    None)


def undone_in_any_order(blinks: Iterable[tuple[int, int]]) -> Callable[[int], int | None]:
    """`Reverts.undone_in` for versions asked in any order (`export` reads them oldest first), holding only
    the blinks back (`blinks` newest first, as `blinks_of` reads them), not an answer per version.

    Which blink first undid a version can only change where a blink's range of undone versions starts
    or ends, so `Reverts` is asked there (newest first, as it wants) and every other version is looked up
    between two of those edges.
    """
    blinks = list(blinks)
    edges = sorted({edge for blink, reverts_to in blinks
                    for edge in (undone_by(blink, reverts_to).start, blink)}, reverse=True)
    reverts = Reverts(blinks)
    answers = [reverts.undone_in(edge) for edge in edges][::-1]
    edges.reverse()

    def undone_in(seq: int) -> int | None:
        at = bisect_right(edges, seq) - 1
        return answers[at] if at >= 0 else None

    return undone_in


def blinks_of(session: Session, source_id: int, *, after: int = 0) -> Iterator[tuple[int, int]]:
    """The blinks back of a source after version `after`, newest first, as (version, reverts_to)."""
    rows = session.execute(select(Version.seq, Version.reverts_to)
                           .where(Version.source_id == source_id, Version.reverts_to.is_not(None),
                                  Version.seq > after)
                           .order_by(Version.seq.desc()).execution_options(yield_per=1000))
    return ((seq, reverts_to) for seq, reverts_to in rows)


def undone_in(session: Session, source_id: int, seqs: Iterable[int]) -> dict[int, int]:
    """For versions of one source, the version that undid each one's change (those still standing left out)."""
    wanted = sorted(set(seqs), reverse=True)
    if not wanted:
        return {}
    return first_undoers(blinks_of(session, source_id, after=wanted[-1]), wanted)


def first_undoers(blinks: Iterable[tuple[int, int]], seqs: Iterable[int]) -> dict[int, int]:
    """`undone_in` over blinks back already read (newest first, as `blinks_of` gives them)."""
    reverts = Reverts(blinks)
    return {seq: by for seq in sorted(set(seqs), reverse=True) if (by := reverts.undone_in(seq)) is not None}
