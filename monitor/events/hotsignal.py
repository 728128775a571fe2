"""上了热搜 as a level signal: an event's story on the platforms' hot lists, as metrics levels.yaml
grades and as the words a duty officer reads ("微博热搜第7位，已在榜42分钟").

Which hot-list entries are an event's: the ones that are its items. Every hot-list entry is
stored as an item, is scored like any post, and joins an event by the same story grouping
(monitor/events/stories.py); the store finds the entries by the event's members
(monitor/db/hotlists.py `event_hotlist_status`). An entry whose title names no watched subject
has no keyword hit, so it joins no event: the signal sees only stories the title names us in.

The metrics, from the entries seen on a list in the event's current episode (an entry last seen
before the event reopened does not count; one seen since brings its whole record):
    on_hotlist          on a list in that list's latest snapshot
    best_rank           the best rank it reached on any list
    best_national_rank  the same over national lists (outlet region 全国, the default region): a
                        city's own list is not a national crisis, and levels.yaml tells them apart
    minutes_on_list     its longest time on one list
and `hotlist`, the list a message names (the best national presence, else the best of any) with
its rank now, best rank and minutes, and `hotlist_text`, the sentence a push carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

NATIONAL = "全国"
METRICS = ("on_hotlist", "best_rank", "best_national_rank", "minutes_on_list")


class Presence(Protocol):
    """One story on one list (monitor.db.hotlists.HotlistPresence)."""

    outlet_id: str
    outlet_name: str
    region: str
    on_list: bool
    best_rank: int
    last_rank: int
    minutes_on_list: float


def hotlist_metrics(presences: Sequence[Presence]) -> dict:
    if not presences:
        return {"on_hotlist": False, "best_rank": None, "best_national_rank": None, "minutes_on_list": 0.0,
                "hotlist": None, "hotlist_text": None}
    national = [p for p in presences if p.region == NATIONAL]
    lead = min(national or presences, key=lambda p: (p.best_rank, not p.on_list, -p.minutes_on_list))
    named = {
        "outlet_id": lead.outlet_id, "name": lead.outlet_name, "on_list": lead.on_list,
        "rank": lead.last_rank, "best_rank": lead.best_rank, "minutes": round(lead.minutes_on_list),
        "national": lead.region == NATIONAL,
    }
    return {
        "on_hotlist": any(p.on_list for p in presences),
        "best_rank": min(p.best_rank for p in presences),
        "best_national_rank": min((p.best_rank for p in national), default=None),
        "minutes_on_list": round(max(p.minutes_on_list for p in presences), 1),
        "hotlist": named,
        "hotlist_text": phrase(named),
    }


def _duration(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes}分钟"
    hours, rest = divmod(minutes, 60)
    return f"{hours}小时{rest}分钟" if rest else f"{hours}小时"


def phrase(hotlist: dict) -> str:
    """What a push says: "微博热搜第7位，已在榜42分钟"; the best rank too when it was higher; a
    story that has left the list says so ("曾上微博热搜，最高第3位，在榜1小时5分钟")."""
    name, minutes = hotlist["name"], _duration(hotlist["minutes"])
    if not hotlist["on_list"]:
        return f"曾上{name}，最高第{hotlist['best_rank']}位，在榜{minutes}"
    best = f"（最高第{hotlist['best_rank']}位）" if hotlist["best_rank"] < hotlist["rank"] else ""
    return f"{name}第{hotlist['rank']}位{best}，已在榜{minutes}"


def reason(metrics: dict) -> str:
    """The escalation log's reason for a grade the hot lists gave: the list and the rank it
    reached ("微博热搜第7位")."""
    hotlist = metrics.get("hotlist") or {}
    if not hotlist:
        return "上了热搜"
    return f"{hotlist['name']}第{hotlist['best_rank']}位"
