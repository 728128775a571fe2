"""Hourly mention volume per keyword group or per tier, for the trends model (analyze/trends.py);
the bursts found above it (volume_anomalies); and the hot-story snapshots (trending_snapshots).

Counts are made in Python from (first_seen_at, hits) or (first_seen_at, tier) rows streamed in
pages: the same code on both engines, and a keyword group lives inside the analysis' JSON. A
group's volume is the items with a hit in that group; an item hitting two groups counts in both.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor.clock import hour_of
from monitor.db.drills import hide_drills
from monitor.db.models import Event, EventGroup, Item, ItemAnalysis, Outlet, TrendingSnapshot, VolumeAnomaly
from monitor.states import EventStatus

BY = ("group", "tier")


def hourly_counts(session: Session, *, start: datetime, end: datetime, by: str) -> dict[str, dict[datetime, int]]:
    if by not in BY:
        raise ValueError(f"by must be one of {', '.join(BY)}")
    hide_drills(session)  # a drill's burst is not a trend
    counts: dict[str, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    if by == "tier":
        query = select(Item.first_seen_at, Outlet.tier).join(Outlet, Outlet.id == Item.outlet_id)
    else:
        query = select(Item.first_seen_at, ItemAnalysis.hits).join(ItemAnalysis, ItemAnalysis.item_id == Item.id)
    query = query.where(Item.first_seen_at >= start, Item.first_seen_at < end).execution_options(yield_per=5000)
    for at, what in session.execute(query):
        hour = hour_of(at)
        keys = [what] if by == "tier" else set(hit["group"] for hit in what or [])
        for key in keys:
            counts[key][hour] += 1
    return {key: dict(hours) for key, hours in counts.items()}


# -- bursts -------------------------------------------------------------------------------------

def burst_of(session: Session, *, by: str, key: str, hour: datetime, gap: timedelta) -> VolumeAnomaly | None:
    """The burst an anomalous hour belongs to: the series' latest whose last anomalous hour is at
    most `gap` before it (or the hour itself), else None (a new burst)."""
    return session.scalars(
        select(VolumeAnomaly).where(
            VolumeAnomaly.series_by == by, VolumeAnomaly.series_key == key,
            VolumeAnomaly.last_hour >= hour - gap, VolumeAnomaly.started_at <= hour,
        ).order_by(VolumeAnomaly.last_hour.desc()).limit(1)
    ).first()


def open_burst(session: Session, *, by: str, key: str, hour: datetime, count: int, expected: float,
               upper: float, now: datetime) -> VolumeAnomaly:
    anomaly = VolumeAnomaly(series_by=by, series_key=key, started_at=hour, last_hour=hour, peak_count=count,
                            expected=expected, upper=upper, raised_at=now, events=[])
    session.add(anomaly)
    session.flush()
    return anomaly


def extend_burst(anomaly: VolumeAnomaly, *, hour: datetime, count: int, expected: float, upper: float) -> None:
    anomaly.last_hour = max(anomaly.last_hour, hour)
    if count > anomaly.peak_count:
        anomaly.peak_count, anomaly.expected, anomaly.upper = count, expected, upper


def active_group_events(session: Session, *, group: str, since: datetime) -> list[Event]:
    """Open events of a keyword group with an item since `since`: what a burst of the group concerns."""
    return list(session.scalars(
        select(Event).join(EventGroup, EventGroup.event_id == Event.id)
        .where(EventGroup.group_id == group, Event.status == EventStatus.open, Event.last_item_at >= since)
        .order_by(Event.id)
    ))


def event_group_ids(session: Session, *, event_id: int) -> list[str]:
    """The keyword groups an event's items hit: the volume series that concern it."""
    return sorted(session.scalars(select(EventGroup.group_id).where(EventGroup.event_id == event_id)))


def recent_anomalies(session: Session, *, since: datetime, by: str | None = None, key: str | None = None) -> list[VolumeAnomaly]:
    query = select(VolumeAnomaly).where(VolumeAnomaly.last_hour >= since).order_by(VolumeAnomaly.started_at)
    if by is not None:
        query = query.where(VolumeAnomaly.series_by == by)
    if key is not None:
        query = query.where(VolumeAnomaly.series_key == key)
    return list(session.scalars(query))


# -- hot stories --------------------------------------------------------------------------------

KEPT_SNAPSHOTS = 12
LEAD_CHARS = 600  # what the grouping reads of a body (events/cluster.py BODY_CHARS): no more is loaded


def items_after(session: Session, *, after_id: int, since: datetime, limit: int) -> list[tuple]:
    """Every item (keyword hit or not) with an id above `after_id` seen since `since`, in id order:
    (id, title, lead of the text, first_seen_at, outlet_id, tier, hit groups or None if not yet
    analysed)."""
    from sqlalchemy import func

    hide_drills(session)  # a drill is not what the web is talking about
    rows = session.execute(
        select(Item.id, Item.title, func.substr(Item.text, 1, LEAD_CHARS), Item.first_seen_at, Item.outlet_id,
               Outlet.tier, ItemAnalysis.hits)
        .join(Outlet, Outlet.id == Item.outlet_id)
        .outerjoin(ItemAnalysis, ItemAnalysis.item_id == Item.id)
        .where(Item.id > after_id, Item.first_seen_at >= since)
        .order_by(Item.id).limit(limit)
    )
    return [(i, title, lead or "", at, outlet, tier,
             None if hits is None else sorted({hit["group"] for hit in hits}))
            for i, title, lead, at, outlet, tier, hits in rows]


def save_trending(session: Session, *, stories: list[dict], items_indexed: int, now: datetime) -> None:
    """Store a ranking and drop all but the last few (each replaces the one before)."""
    session.add(TrendingSnapshot(made_at=now, items_indexed=items_indexed, stories=stories))
    session.flush()
    keep = select(TrendingSnapshot.id).order_by(TrendingSnapshot.id.desc()).limit(KEPT_SNAPSHOTS)
    session.execute(delete(TrendingSnapshot).where(TrendingSnapshot.id.not_in(list(session.scalars(keep)))))


def latest_trending(session: Session) -> TrendingSnapshot | None:
    return session.scalars(select(TrendingSnapshot).order_by(TrendingSnapshot.id.desc()).limit(1)).first()
