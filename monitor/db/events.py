"""Event store: pending items, members, events, and the append-only escalation log.
The caller owns the transaction, so a level change, its log entry and its alert commit together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from monitor import metrics
from monitor.db.alerts import raise_alert
from monitor.db.models import Alert, Escalation, Event, EventGroup, EventItem, Item, ItemAnalysis, Outlet
from monitor.errors import DomainError, ErrorKind
from monitor.records import Member, is_negative
from monitor.states import AUTO, LEVELS, AlertStatus, EscalationKind, EventStatus, rank


@dataclass(frozen=True)
class PendingItem:
    id: int
    title: str
    text: str
    member: Member
    groups: frozenset[str] = frozenset()  # keyword groups hit: the watched subjects
    terms: frozenset[str] = frozenset()  # the words that hit, taken out before comparing stories


def hit_groups_and_terms(hits: list[dict] | None) -> tuple[frozenset[str], frozenset[str]]:
    hits = hits or []
    return (frozenset(h["group"] for h in hits), frozenset(t for h in hits for t in h.get("terms", ())))


def _member(row) -> Member:
    return Member(
        item_id=row.id, outlet_id=row.outlet_id, tier=row.tier, published_at=row.published_at,
        # the analysis's own call (the model's threshold), as the item's reasons and the report
        first_seen_at=row.first_seen_at, risk=row.risk, negative=is_negative(row.negative_prob),
        sensitivity=row.keyword_strength, joined_at=getattr(row, "joined_at", None),
        reprint_of=getattr(row, "reprint_of", None),
    )


def _member_columns():
    return (
        Item.id, Item.title, Item.text, Item.outlet_id, Outlet.tier, Item.published_at,
        Item.first_seen_at, ItemAnalysis.risk, ItemAnalysis.negative_prob, ItemAnalysis.keyword_strength,
    )


def pending_items(session: Session, *, limit: int) -> list[PendingItem]:
    """Analysed items with a keyword hit (risk > 0) that belong to no event yet, oldest first."""
    query = (
        select(*_member_columns())
        .join(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .join(Outlet, Outlet.id == Item.outlet_id)
        .outerjoin(EventItem, EventItem.item_id == Item.id)
        .where(EventItem.item_id.is_(None), ItemAnalysis.risk > 0)
        # In the order the outlets published, so a story's first item opens its event even
        # when a crawl stored the reprints first.
        .order_by(Item.first_seen_at, func.coalesce(Item.published_at, Item.first_seen_at), Item.id)
        .limit(limit)
    )
    return [
        PendingItem(row.id, row.title, row.text, _member(row), *hit_groups_and_terms(row.hits))
        for row in session.execute(query.add_columns(ItemAnalysis.hits))
    ]


def backlog_ages(session: Session, *, now: datetime, window: timedelta) -> tuple[float, float]:
    """How long the oldest item of the last `window` has waited to be scored, and the oldest
    relevant scored one to be grouped (seconds; 0 when none waits). Read from the database, so it
    covers every worker: a grading stage that fails on every batch shows here, whatever the cause.
    The window bounds the work (the index on first_seen_at) and caps the figure."""
    since = now - window
    unscored = session.scalar(
        select(func.min(Item.first_seen_at))
        .outerjoin(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .where(Item.first_seen_at >= since, ItemAnalysis.item_id.is_(None))
    )
    ungrouped = session.scalar(
        select(func.min(Item.first_seen_at))
        .join(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .outerjoin(EventItem, EventItem.item_id == Item.id)
        .where(Item.first_seen_at >= since, ItemAnalysis.risk > 0, EventItem.item_id.is_(None))
    )
    return tuple(max(0.0, round((now - oldest).total_seconds(), 3)) if oldest else 0.0
                 for oldest in (unscored, ungrouped))


def members(session: Session, *, event_id: int) -> list[Member]:
    query = (
        select(*_member_columns(), EventItem.joined_at, EventItem.reprint_of)
        .join(EventItem, EventItem.item_id == Item.id)
        .join(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .join(Outlet, Outlet.id == Item.outlet_id)
        .where(EventItem.event_id == event_id)
    )
    return [_member(row) for row in session.execute(query)]


def recent_members(session: Session, *, since: datetime) -> list[tuple]:
    """(item, event, title, text, first seen, groups, terms) of items of events active since
    `since`, oldest first: what the grouping index re-indexes at start-up."""
    query = (
        select(Item.id, EventItem.event_id, Item.title, Item.text, Item.first_seen_at, ItemAnalysis.hits)
        .join(EventItem, EventItem.item_id == Item.id)
        .join(Event, Event.id == EventItem.event_id)
        .outerjoin(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .where(Event.last_item_at >= since)
        .order_by(Item.first_seen_at, Item.id)
    )
    return [(*row[:5], *hit_groups_and_terms(row[5])) for row in session.execute(query)]


def closed_event_ids(session: Session, *, since: datetime) -> set[int]:
    return set(session.scalars(select(Event.id).where(Event.status == EventStatus.closed, Event.last_item_at >= since)))


def open_event(session: Session, *, first: PendingItem, now: datetime) -> Event:
    event = Event(
        title=first.title, level=None, status=EventStatus.open, first_item_id=first.id,
        first_outlet_id=first.member.outlet_id, first_at=first.member.at, opened_at=now,
        last_item_at=first.member.at, item_count=0, metrics={}, updated_at=now,
    )
    session.add(event)
    session.flush()
    return event


def add_member(
    session: Session, *, event_id: int, item_id: int, similarity: float, now: datetime,
    link: str | None = None, reprint_of: int | None = None,
) -> None:
    session.add(EventItem(
        event_id=event_id, item_id=item_id, joined_at=now, similarity=similarity, link=link, reprint_of=reprint_of,
    ))


def last_reopened_at(session: Session, *, event_id: int) -> datetime | None:
    """When the event last reopened (the start of its current episode), or None."""
    return session.scalar(
        select(func.max(Escalation.at)).where(Escalation.event_id == event_id, Escalation.kind == EscalationKind.reopen)
    )


def get_event(session: Session, *, event_id: int) -> Event | None:
    return session.get(Event, event_id)


def open_events_quiet_since(session: Session, *, cutoff: datetime) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.status == EventStatus.open, Event.last_item_at < cutoff)))


def log_transition(
    session: Session,
    *,
    event: Event,
    kind: str,
    to_level: str | None,
    at: datetime,
    actor: str,
    reason: str,
    reasons: list[str],
    channels: list[str] = (),
    hold: bool = False,
) -> Escalation:
    """Record a change and apply it to the event, in the caller's transaction; an escalation
    also raises its alert and queues its deliveries to `channels`."""
    entry = Escalation(
        event_id=event.id, at=at, kind=kind, from_level=event.level, to_level=to_level,
        actor=actor, reason=reason, reasons=reasons, metrics=dict(event.metrics or {}),
    )
    session.add(entry)
    event.level = to_level
    event.updated_at = at
    metrics.ESCALATIONS.labels(kind=kind, actor=AUTO if actor == AUTO else "operator").inc()
    if kind == EscalationKind.escalate:
        session.flush()  # the alert refers to its escalation
        raise_alert(session, event=event, escalation=entry, now=at, channels=channels, hold=hold)
        metrics.ALERTS.labels(level=to_level).inc()
    return entry


def escalation_log(
    session: Session,
    *,
    event_id: int | None = None,
    kind: str | None = None,
    to_level: str | None = None,
    by_hand: bool | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
) -> list[Escalation]:
    query = select(Escalation).order_by(Escalation.at, Escalation.id)
    if event_id is not None:
        query = query.where(Escalation.event_id == event_id)
    if kind is not None:
        query = query.where(Escalation.kind == kind)
    if to_level is not None:
        query = query.where(Escalation.to_level == to_level)
    if by_hand is not None:
        query = query.where((Escalation.actor != AUTO) if by_hand else (Escalation.actor == AUTO))
    if start is not None:
        query = query.where(Escalation.at >= start)
    if end is not None:
        query = query.where(Escalation.at < end)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def all_events(session: Session) -> list[Event]:
    return list(session.scalars(select(Event).order_by(Event.id)))


def list_events(session: Session, *, status: str | None, limit: int) -> list[Event]:
    query = select(Event).order_by(Event.last_item_at.desc(), Event.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Event.status == status)
    return list(session.scalars(query))


def event_items(session: Session, *, event_id: int) -> list[Item]:
    query = (
        select(Item).join(EventItem, EventItem.item_id == Item.id)
        .where(EventItem.event_id == event_id).order_by(Item.first_seen_at, Item.id)
    )
    return list(session.scalars(query))


# Which reports of a story a push lists first: the most authoritative publishers, then the earliest.
TIER_ORDER = ("central_media", "government", "local_media", "industry_media", "social", "self_media", "forum")


def top_items(session: Session, *, event_id: int, limit: int = 3) -> list[tuple[str, str, str]]:
    """(outlet name, title, url) of the event's most telling items, for chat messages."""
    from monitor.db.models import Outlet

    rows = session.execute(
        select(Outlet.name, Outlet.tier, Item.title, Item.url, Item.first_seen_at, Item.id)
        .join(EventItem, EventItem.item_id == Item.id).join(Outlet, Outlet.id == Item.outlet_id)
        .where(EventItem.event_id == event_id)
    ).all()
    rank = {tier: n for n, tier in enumerate(TIER_ORDER)}
    rows.sort(key=lambda r: (rank.get(r.tier, len(TIER_ORDER)), r.first_seen_at, r.id))
    return [(r.name, r.title, r.url) for r in rows[:limit]]


class TransitionError(DomainError):
    """An operator's level change, merge or split that cannot be made; the message says why (a
    conflict with the event's state unless the event does not exist)."""


def record_manual_level(
    session: Session,
    *,
    event_id: int,
    level: str | None,
    actor: str,
    reason: str,
    now: datetime,
    automatic_grade: str | None,
    channels: list[str] = (),
    hold: bool = False,
) -> Escalation:
    """Record an operator's escalation or downgrade, saying who and why; logged like any change.
    A downgrade below the automatic grade records that grade as overruled. Callers go through
    monitor.stages.grouping.set_level_by_hand, which measures the automatic grade and routes the pushes."""
    event = session.get(Event, event_id)
    if event is None:
        raise TransitionError(f"no event with id {event_id}", ErrorKind.not_found)
    if level is not None and level not in LEVELS:
        raise TransitionError(f"unknown level {level!r}: use one of {', '.join(LEVELS)}")
    if not actor.strip():
        raise TransitionError("say who: an operator name is required")
    if not reason.strip():
        raise TransitionError("say why: a reason is required for a manual change")
    if level == event.level:
        raise TransitionError(f"event {event_id} is already at {level or 'no level'}")
    kind = EscalationKind.escalate if rank(level) > rank(event.level) else EscalationKind.downgrade
    if kind == EscalationKind.downgrade and rank(automatic_grade) > rank(level):
        event.overruled_level = automatic_grade
    elif kind == EscalationKind.escalate:
        event.overruled_level = None
    return log_transition(
        session, event=event, kind=kind, to_level=level, at=now, actor=actor.strip(),
        reason=reason.strip(), reasons=[f"manual {kind} by {actor.strip()}"],
        channels=list(channels) if kind == EscalationKind.escalate else [], hold=hold,
    )


def refresh_groups(session: Session, *, event_id: int) -> set[str]:
    """Record which keyword groups the event's items hit (for filtering alerts by group); a group
    no item hits any more (its items were split out) is dropped."""
    hits = session.scalars(
        select(ItemAnalysis.hits).join(EventItem, EventItem.item_id == ItemAnalysis.item_id)
        .where(EventItem.event_id == event_id)
    )
    groups = {hit["group"] for item_hits in hits for hit in item_hits}
    known = set(session.scalars(select(EventGroup.group_id).where(EventGroup.event_id == event_id)))
    for group in groups - known:
        session.add(EventGroup(event_id=event_id, group_id=group))
    if known - groups:
        session.execute(delete(EventGroup).where(
            EventGroup.event_id == event_id, EventGroup.group_id.in_(known - groups)
        ))
    return groups


# -- merge and split by hand: the operator's correction of the grouping --------------------------

REGROUPING = ("merge", "split")  # escalation-log kinds that move items between events


def _event_to_change(session: Session, event_id: int, role: str = "") -> Event:
    # Locked (PostgreSQL) so that the events stage, adding an item to it at the same moment,
    # waits for the change rather than writing over it.
    event = session.get(Event, event_id, with_for_update=True)
    if event is None:
        raise TransitionError(f"no event with id {event_id}", ErrorKind.not_found)
    if event.status == EventStatus.merged:
        raise TransitionError(
            f"{role}event {event_id} was merged into event {event.merged_into}: use that one"
        )
    return event


def _say_who_and_why(actor: str, reason: str) -> tuple[str, str]:
    if not actor.strip():
        raise TransitionError("say who: an operator name is required")
    if not reason.strip():
        raise TransitionError("say why: a reason is required for a manual change")
    return actor.strip(), reason.strip()


def merge_events(
    session: Session, *, event_id: int, other_id: int, actor: str, reason: str, now: datetime
) -> tuple[Escalation, Event]:
    """Move every item of `other_id` into `event_id` and close the other as merged, pointing at
    it; both get a `merge` entry with who and why. The other's alerts move too (one story, one
    thread), and of the open ones only the most recent at the highest level stays to act on.
    The survivor keeps the higher of the two levels. Returns the survivor's entry and the other
    event. The caller regrades the survivor."""

    actor, reason = _say_who_and_why(actor, reason)
    if event_id == other_id:
        raise TransitionError("an event cannot be merged with itself")
    event = _event_to_change(session, event_id)
    other = _event_to_change(session, other_id, "the other ")
    moved = list(session.scalars(select(EventItem.item_id).where(EventItem.event_id == other.id)))
    session.execute(update(EventItem).where(EventItem.event_id == other.id).values(event_id=event.id))
    session.execute(update(Alert).where(Alert.event_id == other.id).values(event_id=event.id))
    open_alerts = list(session.scalars(
        select(Alert).where(Alert.event_id == event.id, Alert.status == AlertStatus.new).order_by(Alert.alerted_at, Alert.id)
    ))
    if open_alerts:
        keep = max(open_alerts, key=lambda a: (rank(a.level), a.alerted_at, a.id))
        for alert in open_alerts:
            if alert is not keep:
                alert.status = AlertStatus.superseded
    reasons = [f"merged event {other.id} into this one: {len(moved)} items", f"by {actor}"]
    if event.status == EventStatus.closed and other.status == EventStatus.open:
        event.status, event.closed_at = EventStatus.open, None
        reasons.append("open again: the merged event was open")
    event.last_item_at = max(event.last_item_at, other.last_item_at)
    level = max(event.level, other.level, key=rank)
    log_transition(
        session, event=other, kind=EscalationKind.merge, to_level=other.level, at=now, actor=actor, reason=reason,
        reasons=[f"merged into event {event.id}: {len(moved)} items moved there", f"by {actor}"],
    )
    other.status, other.closed_at, other.merged_into, other.item_count = EventStatus.merged, now, event.id, 0
    if level != event.level:
        reasons.append(f"level {level} carried over from event {other.id}")
    entry = log_transition(
        session, event=event, kind=EscalationKind.merge, to_level=level, at=now, actor=actor, reason=reason, reasons=reasons,
    )
    session.flush()
    return entry, other


def split_event(
    session: Session, *, event_id: int, item_ids: list[int], actor: str, reason: str, now: datetime
) -> tuple[Escalation, Event]:
    """Move `item_ids` out of `event_id` into a new event (open if the old one is, else closed),
    titled after its first item; both get a `split` entry with who and why. A reprint link that
    now crosses the two events is dropped. Returns the old event's entry and the new event; the
    caller regrades both."""
    actor, reason = _say_who_and_why(actor, reason)
    event = _event_to_change(session, event_id)
    wanted = list(dict.fromkeys(item_ids))
    if not wanted:
        raise TransitionError("name the items to move out")
    rows = session.execute(
        select(EventItem.item_id, Item.title, Item.outlet_id, Item.published_at, Item.first_seen_at)
        .join(Item, Item.id == EventItem.item_id).where(EventItem.event_id == event.id)
    ).all()
    members = {row.item_id: row for row in rows}
    strangers = [item for item in wanted if item not in members]
    if strangers:
        raise TransitionError(f"not items of event {event.id}: {', '.join(map(str, strangers))}")
    if len(wanted) == len(members):
        raise TransitionError(f"that is every item of event {event.id}: nothing would be left")

    def at(row) -> datetime:  # as Member.at: the outlet's time if plausible, else first seen
        published = row.published_at
        return published if published is not None and published <= row.first_seen_at else row.first_seen_at

    first = min((members[item] for item in wanted), key=lambda row: (at(row), row.item_id))
    new = Event(
        title=first.title, level=None, status=EventStatus.open if event.status == EventStatus.open else EventStatus.closed,
        first_item_id=first.item_id, first_outlet_id=first.outlet_id, first_at=at(first), opened_at=now,
        last_item_at=max(at(members[item]) for item in wanted), closed_at=None if event.status == EventStatus.open else now,
        item_count=len(wanted), metrics={}, updated_at=now,
    )
    session.add(new)
    session.flush()
    session.execute(update(EventItem).where(EventItem.item_id.in_(wanted)).values(event_id=new.id))
    kept = [item for item in members if item not in set(wanted)]
    session.execute(update(EventItem).where(EventItem.item_id.in_(wanted), EventItem.reprint_of.in_(kept))
                    .values(reprint_of=None))
    session.execute(update(EventItem).where(EventItem.item_id.in_(kept), EventItem.reprint_of.in_(wanted))
                    .values(reprint_of=None))
    event.last_item_at = max(at(members[item]) for item in kept)
    listed = ", ".join(map(str, wanted))
    log_transition(
        session, event=new, kind=EscalationKind.split, to_level=None, at=now, actor=actor, reason=reason,
        reasons=[f"split from event {event.id}: items {listed}", f"by {actor}"],
    )
    entry = log_transition(
        session, event=event, kind=EscalationKind.split, to_level=event.level, at=now, actor=actor, reason=reason,
        reasons=[f"moved items {listed} to new event {new.id}", f"by {actor}"],
    )
    session.flush()
    return entry, new


def surviving(session: Session, event: Event) -> Event:
    """The event a merged one now lives in (following merges of merges)."""
    seen = set()
    while event.status == EventStatus.merged and event.merged_into is not None and event.id not in seen:
        seen.add(event.id)
        event = session.get(Event, event.merged_into)
    return event


def regrouped_since(session: Session, *, after: int) -> tuple[int, dict[int, int], dict[int, str]]:
    """What merges and splits logged after escalation id `after` changed, for the grouping index:
    (the last log id seen, item → event for every item of the events concerned, event → status)."""
    last = last_log_id(session)
    changed = set(session.scalars(
        select(Escalation.event_id).where(Escalation.id > after, Escalation.kind.in_(REGROUPING))
    ))
    if not changed:
        return last, {}, {}
    items = dict(session.execute(
        select(EventItem.item_id, EventItem.event_id).where(EventItem.event_id.in_(changed))
    ).all())
    status = dict(session.execute(select(Event.id, Event.status).where(Event.id.in_(changed))).all())
    return last, items, status


def last_log_id(session: Session) -> int:
    return session.scalar(select(func.max(Escalation.id))) or 0


def stray_members(session: Session) -> list[tuple[int, int]]:
    """(item, merged event) for items that joined an event after it was merged (the events stage
    matched it a moment before the merge committed): they belong to the survivor."""
    return list(session.execute(
        select(EventItem.item_id, EventItem.event_id).join(Event, Event.id == EventItem.event_id)
        .where(Event.status == EventStatus.merged)
    ).all())


def move_members(session: Session, *, item_ids: list[int], event_id: int) -> None:
    session.execute(update(EventItem).where(EventItem.item_id.in_(item_ids)).values(event_id=event_id))
