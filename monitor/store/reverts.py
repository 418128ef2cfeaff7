"""Which changes a blink back undid and which stay undone: the rule of `policy.reverted` and of the views' marks.

A version V whose text equals an earlier version E's (`Version.reverts_to = E`, a *blink back*) puts the
policy back in E's state: the changes that stood at E stand again, every other one does not. So a blink
undoes the change of every version after E and before V (`undone_by`, what `policy.reverted` names), and
a later blink back to the text of a version at which a change stood restores it: a return to the changed
text itself, to a later version built on it before it was undone, or to any version whose state carries it
(a text reached by a chain of such returns). Going back to some other version after E that never carried
the change restores nothing, though it is "after the undone change" by number. Why the state and not
the number: the blink's text is E's word for word, so the policy says exactly what it said at E, no more.

The views (timeline, `history`, the web view, the feed, `export`) mark a change *reverted in vB* only while
it stays undone at the source's latest version, and name B, the blink that began the current stretch in
which it is undone: a change undone in v4, restored in v5 and undone again in v6 reads "reverted in v6",
whose diff (v5 → v6) shows the undoing (the mark says since when the change has not been the policy; v4's
undoing was itself undone); one restored for good carries no mark. Alerts keep their own rule
(outbox.py): each undone alert gets at most one `policy.reverted`, and later flapping stays silent, so a
mark may name a later blink than the alert did.

How it is computed. Between two blinks the changes that stand only grow, so a change's standing can only
change at a blink. Blink B to E stands in the *state tree*: it hangs into the run of ordinary versions
holding E (between the blinks around E), and its subtree holds every later blink whose chain of returns
passes through B. A change of version S (in the run ending at blink U) stands after blink B exactly when B
lies in the subtree of a blink C hanging into S's run with E_C >= S. So the last blink after which S stood
is the largest subtree maximum M(C) over those C; S stands now when that is the newest blink; otherwise it
is undone since the blink after that one (or since U, when no such C exists). Every answer depends only on
the blinks after S, so a history read newest first, as the timeline and the web view read it, is answered
as it streams, holding the blinks (not the versions).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from heapq import heappop, heappush

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
    """The blinks back of one source, newest first, and for each change the blink since which it is undone.

    Asked newest first (`undone_in` with ever smaller versions), as the timeline and the web view read a
    history: `blinks` (version, reverts_to), newest first, are read as needed; `add` gives them one at a
    time instead (a stream of versions that holds them). It holds the blinks still hanging below the
    versions asked about (each with the newest blink of its subtree), never the versions.
    """

    def __init__(self, blinks: Iterable[tuple[int, int]] = ()):
        self._blinks: Iterator[tuple[int, int]] = iter(blinks)
        self._next = next(self._blinks, None)
        self._newest: int | None = None  # the first blink added: a change that stands after it stands now
        self._oldest: int | None = None  # the last blink added
        self._later: dict[int, int] = {}  # each blink → the next blink after it
        # blinks hanging below the versions asked so far, as (-reverts_to, newest blink of the subtree): a heap,
        # the highest return first; and those returning to a version at or after the last one asked
        self._below: list[tuple[int, int]] = []
        self._reached: list[tuple[int, int]] = []  # (reverts_to, newest blink of the subtree)
        self._reached_newest = 0

    def add(self, blink: int, reverts_to: int) -> None:
        """A blink back older than every one added before, added once its own version has been asked about
        (it undoes older versions only; `undone_in` of the versions after it are answered). One not older
        (a clock set back misordered the stream) is left out: a few marks may then be missing or stale."""
        if self._oldest is not None and blink >= self._oldest:
            return
        subtree_newest = blink
        kept: list[tuple[int, int]] = []
        waiting = [(-target, newest) for target, newest in self._reached]
        self._reached, self._reached_newest = [], 0
        while self._below and -self._below[0][0] >= blink:
            waiting.append(heappop(self._below))
        for negated, newest in waiting:
            target = -negated
            if target > blink:  # returns into the run after this blink: its chain passes through this one
                subtree_newest = max(subtree_newest, newest)
            elif target == blink:  # back to a blink's text is back to the text that blink returned to
                kept.append((reverts_to, newest))
            else:
                kept.append((target, newest))
        for target, newest in [*kept, (reverts_to, subtree_newest)]:
            heappush(self._below, (-target, newest))
        if self._oldest is not None:
            self._later[blink] = self._oldest
        self._newest = blink if self._newest is None else self._newest
        self._oldest = blink

    def undone_in(self, seq: int) -> int | None:
        """The blink since which the change of version `seq` has been undone; None while it stands (and for
        a blink back itself, which has no change of its own to undo)."""
        while self._next is not None and self._next[0] > seq:
            self.add(*self._next)
            self._next = next(self._blinks, None)
        if self._next is not None and self._next[0] == seq:
            return None
        if self._oldest is None or seq >= self._oldest:
            return None
        while self._below and -self._below[0][0] >= seq:  # blinks back to seq's text or a later one of its run
            negated, newest = heappop(self._below)
            self._reached.append((-negated, newest))
            self._reached_newest = max(self._reached_newest, newest)
        if not self._reached:
            return self._oldest  # no return to a text carrying it: undone since the first blink after it
        if self._reached_newest == self._newest:
            return None  # the newest blink's chain of returns carries it: it stands now
        return self._later[self._reached_newest]


def undone_in_any_order(blinks: Iterable[tuple[int, int]]) -> Callable[[int], int | None]:
    """`Reverts.undone_in` for versions asked in any order (`export` reads them oldest first), holding only
    the blinks back (`blinks` newest first, as `blinks_of` reads them), not an answer per version.

    The answer for a version can only change at a blink (its run of ordinary versions ends) or just after a
    version some blink returns to (a return that carried it no longer does), so `Reverts` is asked there
    (newest first, as it wants) and every other version is looked up between two of those edges.
    """
    blinks = list(blinks)
    edges = sorted({1} | {edge for blink, reverts_to in blinks
                          for edge in (blink, blink + 1, reverts_to, reverts_to + 1)}, reverse=True)
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
    """For versions of one source, the blink since which each one's change is undone (those standing left out)."""
    wanted = sorted(set(seqs), reverse=True)
    if not wanted:
        return {}
    return undoers(blinks_of(session, source_id, after=wanted[-1]), wanted)


def undoers(blinks: Iterable[tuple[int, int]], seqs: Iterable[int]) -> dict[int, int]:
    """`undone_in` over blinks back already read (newest first, as `blinks_of` gives them)."""
    reverts = Reverts(blinks)
    return {seq: by for seq in sorted(set(seqs), reverse=True) if (by := reverts.undone_in(seq)) is not None}
