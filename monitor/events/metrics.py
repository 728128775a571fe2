"""An event's spread, from its own items: how much, where, how fast, how negative.

Levels are graded per story on these numbers, never on the volume of everything fetched: a busy
news day is not a crisis, one story reaching central media within hours may be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

KOL_TIERS = {"self_media", "social"}


@dataclass(frozen=True)
class Member:
    item_id: int
    outlet_id: str
    tier: str
    published_at: datetime | None
    first_seen_at: datetime
    risk: int
    negative: bool
    sensitivity: float  # highest group sensitivity among the item's hits

    @property
    def at(self) -> datetime:
        """When the item appeared: the outlet's claim if plausible, else when we saw it."""
        if self.published_at is not None and self.published_at <= self.first_seen_at:
            return self.published_at
        return self.first_seen_at


def event_metrics(members: list[Member], now: datetime) -> dict:
    if not members:
        return {"items": 0}
    ordered = sorted(members, key=lambda m: (m.at, m.item_id))
    first = ordered[0]
    last_hour = sum(1 for m in members if now - m.at <= timedelta(hours=1))
    previous_six = sum(1 for m in members if timedelta(hours=1) < now - m.at <= timedelta(hours=7))
    baseline = previous_six / 6
    tiers = sorted({m.tier for m in members})
    return {
        "items": len(members),
        "outlets": len({m.outlet_id for m in members}),
        "tiers": tiers,
        "tier_count": len(tiers),
        "central_media": "central_media" in tiers,
        "local_media": "local_media" in tiers,
        "government": "government" in tiers,
        "kol": bool(KOL_TIERS & set(tiers)),
        "items_last_hour": last_hour,
        "items_last_6h": sum(1 for m in members if now - m.at <= timedelta(hours=6)),
        # items in the last hour against the hourly average of the six before (1 when flat)
        "velocity": round(last_hour / baseline, 2) if baseline else float(last_hour),
        "negative_share": round(sum(m.negative for m in members) / len(members), 3),
        "max_risk": max(m.risk for m in members),
        "max_sensitivity": max(m.sensitivity for m in members),
        "first_item_id": first.item_id,
        "first_outlet_id": first.outlet_id,
        "first_tier": first.tier,
        "first_at": first.at.isoformat(),
    }


def spread_over_time(members: list[Member]) -> list[dict]:
    """Hour by hour since the first item: new items, total items, outlets and tiers reached."""
    if not members:
        return []
    ordered = sorted(members, key=lambda m: (m.at, m.item_id))
    start = ordered[0].at.replace(minute=0, second=0, microsecond=0)
    buckets: list[dict] = []
    outlets: set[str] = set()
    tiers: set[str] = set()
    index = 0
    hour = start
    while index < len(ordered):
        end = hour + timedelta(hours=1)
        new = 0
        while index < len(ordered) and ordered[index].at < end:
            outlets.add(ordered[index].outlet_id)
            tiers.add(ordered[index].tier)
            new += 1
            index += 1
        if new or buckets:
            buckets.append({
                "hour": hour.isoformat(), "new_items": new, "items": index,
                "outlets": len(outlets), "tiers": sorted(tiers),
            })
        hour = end
    return buckets
