"""What an event brief (研判报告) and a post-incident review (复盘) are built from: the event, its
items with their outlets and scores, its escalation log and its alerts with the duty actions; and
the review's lessons, the one thing here that people write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db.models import (
    Alert,
    AlertAction,
    Escalation,
    Event,
    EventItem,
    EventReview,
    Item,
    ItemAnalysis,
    Outlet,
)


@dataclass(frozen=True)
class BriefItem:
    id: int
    title: str
    text: str  # empty once the retention has pruned it
    url: str
    outlet_id: str
    outlet_name: str
    tier: str
    published_at: datetime | None
    first_seen_at: datetime
    similarity: float  # to the most similar member when it joined; 1 for the first
    negative_prob: float | None
    risk: int | None
    hits: list[dict]

    @property
    def at(self) -> datetime:
        """When it appeared: the outlet's own time when plausible, else when we first saw it (as
        the spread metrics do)."""
        if self.published_at is not None and self.published_at <= self.first_seen_at:
            return self.published_at
        return self.first_seen_at


@dataclass(frozen=True)
class BriefMaterial:
    event: Event
    items: list[BriefItem]  # in order of appearance
    escalations: list[Escalation]
    alerts: list[Alert]
    actions: list[AlertAction]


def brief_material(session: Session, *, event_id: int) -> BriefMaterial | None:
    event = session.get(Event, event_id)
    if event is None:
        return None
    # Columns, not Item entities: a brief reads thousands of items once, and building ORM objects
    # (and decoding each analysis' reasons, which no document shows) was a third of a 5,000-item
    # brief (bench/brief.py).
    rows = session.execute(
        select(Item.id, Item.title, Item.text, Item.url, Item.outlet_id, Outlet.name, Outlet.tier,
               Item.published_at, Item.first_seen_at, EventItem.similarity, ItemAnalysis.negative_prob,
               ItemAnalysis.risk, ItemAnalysis.hits)
        .join(EventItem, EventItem.item_id == Item.id)
        .join(Outlet, Outlet.id == Item.outlet_id)
        .outerjoin(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .where(EventItem.event_id == event_id)
    ).all()
    items = sorted(
        (BriefItem(id_, title, text or "", url, outlet_id, name, tier, published_at, first_seen_at, similarity,
                   negative_prob, risk, hits or [])
         for id_, title, text, url, outlet_id, name, tier, published_at, first_seen_at, similarity, negative_prob,
         risk, hits in rows),
        key=lambda i: (i.at, i.id),
    )
    escalations = list(session.scalars(
        select(Escalation).where(Escalation.event_id == event_id).order_by(Escalation.at, Escalation.id)))
    alerts = list(session.scalars(select(Alert).where(Alert.event_id == event_id).order_by(Alert.id)))
    actions = list(session.scalars(
        select(AlertAction).where(AlertAction.alert_id.in_([a.id for a in alerts])).order_by(AlertAction.at)
    )) if alerts else []
    return BriefMaterial(event, items, escalations, alerts, actions)


def get_review(session: Session, *, event_id: int) -> EventReview | None:
    return session.get(EventReview, event_id)


def save_lessons(session: Session, *, event_id: int, lessons: str, by: str, now: datetime) -> EventReview | None:
    """Write (or rewrite) an event's lessons; None when there is no such event."""
    if session.get(Event, event_id) is None:
        return None
    review = session.get(EventReview, event_id)
    if review is None:
        review = EventReview(event_id=event_id, lessons=lessons, written_by=by, updated_at=now)
        session.add(review)
    else:
        review.lessons, review.written_by, review.updated_at = lessons, by, now
    return review
