"""The web view's read side: source status, failing periods, material changes and the timeline, as plain objects."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from sqlalchemy import or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, func, select

from monitor.config import Config, SourceConfig
from monitor.meaning.significance import SEVERITY_RANK, in_reading_order
from monitor.notify.health import is_failing
from monitor.store import queries
from monitor.store.database import ChangeRow, Check, Source, Store, Version
from monitor.store.plain import VersionSection
from monitor.store.reverts import Reverts, blinks_of, undone_in

GOOD_OUTCOMES = ("new", "changed", "unchanged")
STATUSES = ("ok", "failing", "rejected", "error", "unchecked")
_BATCH = 200  # rows read at a time while looking for the latest material changes
VERSIONS_PER_PAGE = 200  # a page of a source's versions (a busy source has thousands)
TIMELINE_SHOWN = 50  # material changes listed on a source page; /api/timeline?source= has them all


@dataclass(frozen=True)
class ChangeItem:
    """One stored section change, as `check --json` names its fields."""

    section: str
    kind: str
    topics: list[str]
    alert_topics: list[str]
    severity: str | None
    summary: str
    before: str
    after: str
    not_rated: str | None = None
    substantive: bool = True

    @property
    def form_only(self) -> bool:
        return not self.substantive and not self.not_rated


@dataclass(frozen=True)
class MaterialChange:
    """A version with material changes (`ChangeRecord.material`, as `timeline` reads them: of substance, or not
    rated): what the source page's "Material changes" and the overview show."""

    source: str
    url: str
    version: int
    previous_version: int
    fetched_at: datetime
    changes: list[ChangeItem]  # the material ones, in document order
    reverted_in: int | None = None  # the later version that returned to the text before this change

    @property
    def topics(self) -> list[str]:
        """Its alert topics, else its other topics: what `timeline`'s topics column shows."""
        return sorted({t for c in self.changes for t in c.alert_topics}) or sorted({t for c in self.changes
                                                                                  for t in c.topics})

    def more(self, shown: int) -> int:
        """The changes not shown when the `shown` most severe are (`queries.not_shown`: every "+N more")."""
        listed = self.most_severe_first
        return queries.not_shown(listed, [c.summary for c in listed[:shown]], lambda c: c.summary)

    @property
    def severity(self) -> str:
        return max((c.severity or "low" for c in self.changes), key=SEVERITY_RANK.__getitem__)

    @property
    def headline(self) -> ChangeItem:
        """The change whose summary stands for the version where one line is shown (the overview): the first in
        reading order (`in_reading_order`: the most severe, and among equals one that says what changed before one
        named by its topic alone), so a high change never hides behind "(+2 more)"."""
        return self.most_severe_first[0]

    @property
    def most_severe_first(self) -> list[ChangeItem]:
        """The changes where only the first few are listed (a source's timeline): a high one first."""
        return in_reading_order(self.changes, lambda c: c.severity, lambda c: c.summary)


@dataclass(frozen=True)
class SourceStatus:
    """One configured source on the overview."""

    name: str
    url: str
    final_url: str | None
    topics: list[str]
    status: str  # ok | failing (as `status` says: health.is_failing) | rejected or error (its last check, not yet
    #             failing) | unchecked
    since: datetime | None  # first failed check of the current run of failures
    last_error: str | None
    consecutive_failures: int
    last_checked_at: datetime | None
    versions: int
    last_change: MaterialChange | None


@dataclass(frozen=True)
class VersionItem:
    """One stored version on a source page."""

    version: int
    fetched_at: datetime
    url: str
    chars: int
    reverts_to: int | None
    changes: int
    alert_topics: list[str]
    severity: str | None
    form_only: str | None  # "form only", "date stamp only", layout only: none of substance (without_substance)
    reverted_in: int | None = None  # its change was undone by this later version (a blink back)

    @property
    def note(self) -> str:
        if self.version == 1:
            return "baseline"
        if self.reverts_to:
            return f"blink back to v{self.reverts_to}"
        return self.form_only or "material"


@dataclass(frozen=True)
class FailingPeriod:
    """Failed checks in a row: from the first to the check that ended them (None: still failing)."""

    start: datetime
    end: datetime | None
    checks: int
    outcome: str  # error or rejected, of the last failed check
    last_error: str | None


@dataclass(frozen=True)
class SourcePage:
    """Everything the source page shows: one page of its versions, its material changes, failing periods."""

    name: str
    config: SourceConfig | None
    url: str
    final_url: str | None
    status: SourceStatus | None
    versions: list[VersionItem]  # newest first, this page's
    timeline: list[MaterialChange]  # newest first, at most TIMELINE_SHOWN
    failing: list[FailingPeriod]  # newest first
    checks: int = 0
    total_versions: int = 0
    page: int = 1
    more_material: bool = False  # the timeline was cut
    urls: tuple[str, ...] = ()  # every part's (`queries.source_urls`); `url` is the first

    @property
    def pages(self) -> int:
        return max(1, -(-self.total_versions // VERSIONS_PER_PAGE))


_CHANGE_COLUMNS = (ChangeRow.section, ChangeRow.kind, ChangeRow.topics, ChangeRow.alert_topics, ChangeRow.severity,
                   ChangeRow.summary, ChangeRow.before, ChangeRow.after, ChangeRow.not_rated, ChangeRow.substantive)


# the rule of `meaning.material.is_material`, in SQL, so the database leaves out the (many) form-only changes
MATERIAL = or_(ChangeRow.substantive, ChangeRow.not_rated.is_not(None))


def _change(row) -> ChangeItem:
    """A ChangeItem from the columns of _CHANGE_COLUMNS (plain tuples: ORM objects cost ten times more)."""
    section, kind, topics, alert_topics, severity, summary, before, after, not_rated, substantive = row
    return ChangeItem(section, kind, list(topics or ()), list(alert_topics or ()), severity, summary, before, after,
                      not_rated, bool(substantive))


def material_changes(session: Session, source: Source, topic: str | None = None) -> Iterator[MaterialChange]:
    """The source's versions with material changes (about `topic`, if given), newest first, each with the
    later version that undid it, if one did. Streamed (with the source's blinks back beside it): taking
    the first few never reads the whole history."""
    reverts = Reverts(blinks_of(session, source.id))
    old = aliased(Version)
    rows = session.exec(
        select(Version.seq, Version.fetched_at, old.seq, *_CHANGE_COLUMNS)
        .select_from(ChangeRow).join(Version, ChangeRow.new_version_id == Version.id)
        .join(old, ChangeRow.old_version_id == old.id)
        .where(ChangeRow.source_id == source.id, MATERIAL, Version.reverts_to.is_(None))
        .order_by(Version.seq.desc(), ChangeRow.position)
        .execution_options(yield_per=_BATCH))
    current: MaterialChange | None = None
    for seq, fetched_at, previous, *columns in rows:
        change = _change(columns)
        if topic is not None and topic not in change.topics:  # as `timeline --topic`
            continue
        if current is None or current.version != seq:
            if current is not None:
                yield current
            current = MaterialChange(source.name, source.url, seq, previous, fetched_at, [], reverts.undone_in(seq))
        current.changes.append(change)
    if current is not None:
        yield current


def _failure_run(session: Session, row: Source) -> tuple[datetime | None, str | None]:
    """When the current run of failed checks began, and its latest error."""
    if not row.consecutive_failures:
        return None, None
    recent = session.exec(select(Check.started_at, Check.error).where(Check.source_id == row.id)
                          .order_by(Check.started_at.desc(), Check.id.desc())
                          .limit(row.consecutive_failures)).all()
    return (recent[-1][0], recent[0][1]) if recent else (None, None)


def _status(session: Session, cfg: SourceConfig, row: Source | None, versions: int,
            topic: str | None, failure_threshold: int) -> SourceStatus:
    if row is None:
        return SourceStatus(cfg.name, cfg.url, None, list(cfg.topics), "unchecked", None, None, 0, None, 0, None)
    since, error = _failure_run(session, row)
    if row.last_outcome is None:
        status = "unchecked"
    elif row.last_outcome in GOOD_OUTCOMES:
        status = "ok"
    elif is_failing(consecutive_failures=row.consecutive_failures, failing_reported=row.failing_reported,
                    threshold=failure_threshold):  # what `policy-monitor status` lists, rejected checks included
        status = "failing"
    else:  # failed, fewer times in a row than make a source failing
        status = "rejected" if row.last_outcome == "rejected" else "error"
    last = next(material_changes(session, row, topic), None)
    return SourceStatus(cfg.name, cfg.url, row.final_url, list(cfg.topics), status, since, error,
                        row.consecutive_failures, row.last_checked_at, versions, last)


def overview(store: Store, config: Config, *, topic: str | None = None,
             status: str | None = None) -> list[SourceStatus]:
    """Every configured source with its status and last material change; `topic` keeps the sources with
    a material change about it (and shows that one), `status` those in that state."""
    with store.session() as session:
        rows = {s.name: s for s in session.exec(select(Source))}
        counts = dict(session.exec(select(Version.source_id, func.count()).group_by(Version.source_id)).all())
        found = [_status(session, cfg, rows.get(cfg.name), counts.get(getattr(rows.get(cfg.name), "id", None), 0),
                         topic, config.daemon.failure_threshold) for cfg in config.sources]
    if topic:
        found = [s for s in found if s.last_change is not None]
    if status:
        found = [s for s in found if s.status == status]
    return found


def _failing_periods(session: Session, source: Source) -> tuple[list[FailingPeriod], int]:
    checks = session.exec(select(Check.started_at, Check.outcome, Check.error).where(Check.source_id == source.id)
                          .order_by(Check.started_at, Check.id)).all()
    periods: list[FailingPeriod] = []
    start, count, outcome, error = None, 0, "", None
    for started_at, result, message in checks:
        if result in GOOD_OUTCOMES:
            if start is not None:
                periods.append(FailingPeriod(start, started_at, count, outcome, error))
                start, count = None, 0
            continue
        start = start or started_at
        count, outcome, error = count + 1, result, message
    if start is not None:
        periods.append(FailingPeriod(start, None, count, outcome, error))
    return periods[::-1], len(checks)


def source_page(store: Store, config: Config, name: str, page: int = 1) -> SourcePage | None:
    """Everything the source page shows (its versions VERSIONS_PER_PAGE at a time, newest first); None for
    a source neither configured nor ever checked. A source checked once but since removed from
    sources.yaml keeps its page: its history is still there."""
    cfg = config.source(name)
    with store.session() as session:
        row = Store.source(session, name)
        if row is None and cfg is None:
            return None
        if row is None:
            return SourcePage(name, cfg, cfg.url, None, _status(session, cfg, None, 0, None, 0), [], [], [],
                              urls=tuple(queries.source_urls(config, name, cfg.url)))
        total = session.exec(select(func.count()).select_from(Version).where(Version.source_id == row.id)).one()
        versions = session.exec(
            select(Version.id, Version.seq, Version.fetched_at, Version.url, func.length(Version.text),
                   Version.reverts_to).where(Version.source_id == row.id).order_by(Version.seq.desc())
            .offset((page - 1) * VERSIONS_PER_PAGE).limit(VERSIONS_PER_PAGE)).all()
        changes: dict[int, list] = {}
        for change in session.exec(select(ChangeRow.new_version_id, ChangeRow.alert_topics, ChangeRow.severity,
                                          ChangeRow.substantive, ChangeRow.not_rated, ChangeRow.kind)
                                   .where(ChangeRow.new_version_id.in_([v[0] for v in versions]))):
            changes.setdefault(change[0], []).append(change)
        items = []
        undone = undone_in(session, row.id, [v[1] for v in versions if any(c[1] for c in changes.get(v[0], ()))])
        for version_id, seq, fetched_at, url, chars, reverts_to in versions:
            mine = changes.get(version_id, [])
            alerting = [c for c in mine if c[1]]
            items.append(VersionItem(
                seq, fetched_at, url, chars, reverts_to, len(mine), sorted({t for c in alerting for t in c[1]}),
                max((c[2] or "low" for c in alerting), key=SEVERITY_RANK.__getitem__) if alerting else None,
                None if seq == 1 else queries.without_substance([(c[5], c[3], c[4]) for c in mine]),
                undone.get(seq)))
        timeline = list(islice(material_changes(session, row), TIMELINE_SHOWN + 1))
        failing, checks = _failing_periods(session, row)
        status = _status(session, cfg, row, total, None, config.daemon.failure_threshold) if cfg else None
    return SourcePage(name, cfg, cfg.url if cfg else row.url, row.final_url, status, items,
                      timeline[:TIMELINE_SHOWN], failing, checks, total, page, len(timeline) > TIMELINE_SHOWN,
                      tuple(queries.source_urls(config, name, row.url)))


@dataclass(frozen=True)
class VersionHead:
    """A stored version without its text."""

    seq: int
    fetched_at: datetime
    url: str
    reverts_to: int | None


def version_heads(store: Store, source: Source, seqs: Sequence[int]) -> dict[int, VersionHead]:
    with store.session() as session:
        rows = session.exec(select(Version.seq, Version.fetched_at, Version.url, Version.reverts_to)
                            .where(Version.source_id == source.id, Version.seq.in_(list(seqs)))).all()
    return {r[0]: VersionHead(*r) for r in rows}


def recorded_changes(store: Store, source: Source, old: int, new: int) -> list[ChangeItem] | None:
    """The changes the check that stored version `new` recorded against `old`, rated as they were
    alerted; None when no check compared these two (versions further apart: compute them with `diff`)."""
    with store.session() as session:
        ids = dict(session.exec(select(Version.seq, Version.id)
                                .where(Version.source_id == source.id, Version.seq.in_([old, new]))).all())
        if len(ids) != 2 or new != old + 1:
            return None
        rows = session.exec(select(*_CHANGE_COLUMNS).where(ChangeRow.new_version_id == ids[new],
                                                           ChangeRow.old_version_id == ids[old])
                            .order_by(ChangeRow.position)).all()
    return [_change(r) for r in rows]


def version_sections(store: Store, source: Source, seqs: Sequence[int]) -> dict[int, list[VersionSection]]:
    """The section rows of some versions of a source, by version number: those stored with a version, or
    derived from its text (`queries.version_sections`)."""
    with store.session() as session:
        versions = session.exec(select(Version.seq, Version.id, Version.text)
                                .where(Version.source_id == source.id, Version.seq.in_(list(seqs)))).all()
        return {seq: queries.version_sections(session, version_id, text) for seq, version_id, text in versions}
