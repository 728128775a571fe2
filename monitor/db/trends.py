"""Hourly mention volume per keyword group or per tier, for the trends model (analyze/trends.py).

Counts are made in Python from (first_seen_at, hits) or (first_seen_at, tier) rows streamed in
pages: the same code on both engines, and a keyword group lives inside the analysis' JSON. A
group's volume is the items with a hit in that group; an item hitting two groups counts in both.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.analyze.trends import hour_of
from monitor.db.drills import hide_drills
from monitor.db.models import Item, ItemAnalysis, Outlet

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
