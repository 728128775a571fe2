"""An event's spread, from its own items: how much, where, how fast, how negative.

Levels are graded per story on these numbers, never on the volume of everything fetched: a busy
news day is not a crisis, one story reaching central media within hours may be.

Every spread measure has a window. The plain names (items, outlets, tier flags, negative_share…)
count the current *episode*: the items since the event opened, or since it last reopened, plus a
stated carry-over of what came before (`reopen_carry_over` in levels.yaml). A story that flares
again is graded on the flare, not on everything it ever had. Fixed windows (the last 6 h, 24 h)
are the same measures over members published that recently, named `outlets@24h` and so on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from monitor.records import Member

KOL_TIERS = {"self_media", "social"}


WINDOWED = ("items", "outlets", "tier_count", "central_media", "local_media", "government", "kol", "negative_share")


def _spread(members: list[Member]) -> dict:
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
        "negative_share": round(sum(m.negative for m in members) / len(members), 3) if members else 0.0,
    }


def window_key(metric: str, window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{metric}@{hours:g}h"


def event_metrics(
    members: list[Member],
    now: datetime,
    *,
    episode_start: datetime | None = None,
    carry_over: float = 0.0,
    windows: tuple[timedelta, ...] = (),
) -> dict:
    """The event's measures now. `episode_start`: when it last reopened (members that joined
    since then are the episode); `carry_over`: the share of earlier episodes' outlets and items
    that still counts; `windows`: fixed windows to measure as well (outlets@24h …)."""
    if not members:
        return {"items": 0}
    ordered = sorted(members, key=lambda m: (m.at, m.item_id))
    first = ordered[0]
    if episode_start is None:
        episode, before = members, []
    else:
        episode = [m for m in members if (m.joined_at or m.first_seen_at) >= episode_start]
        before = [m for m in members if (m.joined_at or m.first_seen_at) < episode_start]
    last_hour = sum(1 for m in episode if now - m.at <= timedelta(hours=1))
    previous_six = sum(1 for m in episode if timedelta(hours=1) < now - m.at <= timedelta(hours=7))
    baseline = previous_six / 6
    metrics = _spread(episode)
    if before and carry_over:
        outlets_now = {m.outlet_id for m in episode}
        earlier_outlets = {m.outlet_id for m in before} - outlets_now
        # rounded up: a story that had outlets before brings at least one (it has spread before)
        metrics["outlets"] += math.ceil(carry_over * len(earlier_outlets))
        metrics["items"] += math.ceil(carry_over * len(before))
    metrics.update({
        "items_total": len(members),
        "outlets_total": len({m.outlet_id for m in members}),
        "episode_start": episode_start.isoformat() if episode_start else None,
        "items_last_hour": last_hour,
        "items_last_6h": sum(1 for m in episode if now - m.at <= timedelta(hours=6)),
        # items in the last hour against the hourly average of the six before (1 when flat)
        "velocity": round(last_hour / baseline, 2) if baseline else float(last_hour),
        "max_risk": max(m.risk for m in episode) if episode else 0,
        "max_sensitivity": max(m.sensitivity for m in episode) if episode else 0.0,
        "first_item_id": first.item_id,
        "first_outlet_id": first.outlet_id,
        "first_tier": first.tier,
        "first_at": first.at.isoformat(),
    })
    for window in windows:
        recent = _spread([m for m in episode if now - m.at <= window])
        for name in WINDOWED:
            metrics[window_key(name, window)] = recent[name]
    return metrics


@dataclass(frozen=True)
class Spread:
    """An event's measures as the events stage stored them (`events.metrics`, written by
    event_metrics and the hot-list signal), read back typed: what a push, the weekly report and the
    CLI show of an event. Grading reads the stored mapping itself, by the names levels.yaml uses."""

    items: int = 0  # this episode, with the carry-over
    outlets: int = 0
    tiers: tuple[str, ...] = ()
    tier_count: int = 0
    central_media: bool = False
    local_media: bool = False
    government: bool = False
    kol: bool = False
    negative_share: float = 0.0
    items_total: int = 0  # every episode
    outlets_total: int = 0
    episode_start: str | None = None
    items_last_hour: int = 0
    items_last_6h: int = 0
    velocity: float = 0.0
    max_risk: int = 0
    max_sensitivity: float = 0.0
    first_item_id: int | None = None
    first_outlet_id: str | None = None
    first_tier: str | None = None
    first_at: str | None = None
    hotlist_text: str | None = None  # 上了热搜, in words (monitor/events/hotsignal.py); None when on no list

    @classmethod
    def of(cls, event: Any) -> Spread:
        """The one way from an event row to its spread. An event not yet measured (its metrics
        still empty) counts its stored items, from one outlet when it has any."""
        stored = event.metrics or {}
        items = event.item_count or 0
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in stored.items() if key in known and value is not None}
        values.setdefault("items", items)
        values.setdefault("items_total", items)
        values.setdefault("outlets", 1 if items else 0)
        values["tiers"] = tuple(values.get("tiers", ()))
        return cls(**values)


# The spread path's tiers, from where stories usually break to where they become national.
PATH_TIERS = ("forum", "social", "self_media", "industry_media", "local_media", "government", "central_media")


def spread_path(members: list[Member]) -> dict:
    """信息溯源 and 传播路径: the first item (by publication time, else first seen), every item in
    order with its outlet, tier and what it reprints, and when each tier was first reached."""
    if not members:
        return {"origin": None, "spread_path": [], "tiers_reached": []}
    ordered = sorted(members, key=lambda m: (m.at, m.item_id))
    first = ordered[0]
    reached: dict[str, datetime] = {}
    for m in ordered:
        reached.setdefault(m.tier, m.at)
    rank = {tier: n for n, tier in enumerate(PATH_TIERS)}
    return {
        "origin": {
            "item_id": first.item_id, "outlet_id": first.outlet_id, "tier": first.tier, "at": first.at,
            "by": "published_at" if first.published_at is not None and first.published_at <= first.first_seen_at else "first_seen_at",
        },
        "spread_path": [
            {"at": m.at, "outlet_id": m.outlet_id, "tier": m.tier, "item_id": m.item_id, "reprint_of": m.reprint_of}
            for m in ordered
        ],
        "tiers_reached": [
            {"tier": tier, "at": at}
            for tier, at in sorted(reached.items(), key=lambda kv: (kv[1], rank.get(kv[0], len(rank))))
        ],
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
