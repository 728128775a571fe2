"""Event store: pending items, members, events, and the append-only escalation log.
The caller owns the transaction, so a level change, its log entry and its alert commit together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor import metrics
from monitor.db.alerts import raise_alert
from monitor.db.models import Escalation, Event, EventGroup, EventItem, Item, ItemAnalysis, Outlet
from monitor.events.metrics import Member


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


def _member(row, negative_risk: int) -> Member:
    return Member(
        item_id=row.id, outlet_id=row.outlet_id, tier=row.tier, published_at=row.published_at,
        first_seen_at=row.first_seen_at, risk=row.risk, negative=row.risk >= negative_risk,
        sensitivity=row.keyword_strength, joined_at=getattr(row, "joined_at", None),
        reprint_of=getattr(row, "reprint_of", None),
    )


def _member_columns():
    return (
        Item.id, Item.title, Item.text, Item.outlet_id, Outlet.tier, Item.published_at,
        Item.first_seen_at, ItemAnalysis.risk, ItemAnalysis.keyword_strength,
    )


def pending_items(session: Session, *, negative_risk: int, limit: int) -> list[PendingItem]:
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
        PendingItem(row.id, row.title, row.text, _member(row, negative_risk), *hit_groups_and_terms(row.hits))
        for row in session.execute(query.add_columns(ItemAnalysis.hits))
    ]


def members(session: Session, *, event_id: int, negative_risk: int) -> list[Member]:
    query = (
        select(*_member_columns(), EventItem.joined_at, EventItem.reprint_of)
        .join(EventItem, EventItem.item_id == Item.id)
        .join(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .join(Outlet, Outlet.id == Item.outlet_id)
        .where(EventItem.event_id == event_id)
    )
    return [_member(row, negative_risk) for row in session.execute(query)]


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
    return set(session.scalars(select(Event.id).where(Event.status == "closed", Event.last_item_at >= since)))


def open_event(session: Session, *, first: PendingItem, now: datetime) -> Event:
    event = Event(
        title=first.title, level=None, status="open", first_item_id=first.id,
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
        select(func.max(Escalation.at)).where(Escalation.event_id == event_id, Escalation.kind == "reopen")
    )


def get_event(session: Session, *, event_id: int) -> Event | None:
    return session.get(Event, event_id)


def open_events_quiet_since(session: Session, *, cutoff: datetime) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.status == "open", Event.last_item_at < cutoff)))


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
    metrics.ESCALATIONS.labels(kind=kind, actor="auto" if actor == "auto" else "operator").inc()
    if kind == "escalate":
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
        query = query.where((Escalation.actor != "auto") if by_hand else (Escalation.actor == "auto"))
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


class TransitionError(ValueError):
    """An operator's level change that cannot be made; the message says why."""


def set_level_by_hand(
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
    """An operator escalates or downgrades an event, saying who and why; logged like any change.
    A downgrade below the automatic grade records that grade as overruled."""
    from monitor.events.levels import LEVELS, rank

    event = session.get(Event, event_id)
    if event is None:
        raise TransitionError(f"no event with id {event_id}")
    if level is not None and level not in LEVELS:
        raise TransitionError(f"unknown level {level!r}: use one of {', '.join(LEVELS)}")
    if not actor.strip():
        raise TransitionError("say who: an operator name is required")
    if not reason.strip():
        raise TransitionError("say why: a reason is required for a manual change")
    if level == event.level:
        raise TransitionError(f"event {event_id} is already at {level or 'no level'}")
    kind = "escalate" if rank(level) > rank(event.level) else "downgrade"
    if kind == "downgrade" and rank(automatic_grade) > rank(level):
        event.overruled_level = automatic_grade
    elif kind == "escalate":
        event.overruled_level = None
    return log_transition(
        session, event=event, kind=kind, to_level=level, at=now, actor=actor.strip(),
        reason=reason.strip(), reasons=[f"manual {kind} by {actor.strip()}"],
        channels=list(channels) if kind == "escalate" else [], hold=hold,
    )


def refresh_groups(session: Session, *, event_id: int) -> set[str]:
    """Record which keyword groups the event's items hit (for filtering alerts by group)."""
    hits = session.scalars(
        select(ItemAnalysis.hits).join(EventItem, EventItem.item_id == ItemAnalysis.item_id)
        .where(EventItem.event_id == event_id)
    )
    groups = {hit["group"] for item_hits in hits for hit in item_hits}
    known = set(session.scalars(select(EventGroup.group_id).where(EventGroup.event_id == event_id)))
    for group in groups - known:
        session.add(EventGroup(event_id=event_id, group_id=group))
    return groups
