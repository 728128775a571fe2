"""A hot story that names a watched subject at last: its event starts where the story started.

Items without a keyword hit never open or join events, so a story first told on a forum without
the subject's name (南港厂区那边炸了) and named only hours later by the press would have its event
begin at the press report: the wrong origin (信息溯源), the wrong first-seen time, and its spread
understated. The hot stories (monitor/stages/trending.py) group every item, hit or not; when the
events stage opens an event for an item, `attach` asks them for the items of that item's story
seen before it and makes them members of the event (link `hotstory`), before the event is first
graded, and notes it in the event's history (escalation log kind `prehistory`, "关联此前热点 N 条").

What they count for: they are the story's spread, so they count in the event's measures like any
member (items, outlets, tiers, the windows) and its origin is the earliest of them. Grading sees
them at the event's first grade, in the same transaction as its opening: the event is graded once,
at the level the whole story has, and pushes once at that level (no climb through the levels in
the same minute). Not attached: items already in an event (an item belongs to at most one), items
not yet analysed (the measures read their analysis), drill items, and items older than the events
stage's window.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db import events as event_store
from monitor.db.models import Event, EventItem, Item, ItemAnalysis
from monitor.states import AUTO, EscalationKind

log = structlog.get_logger("fenghuo.events")

LINK = "hotstory"  # event_items.link of an attached earlier item (the column holds 8 characters)
CHUNK = 500  # item ids per query (SQLite bounds the parameters of one statement)


def attach(
    session: Session, *, event: Event, item_id: int, earlier: list[int], now: datetime, window: timedelta,
    index: Callable[[int, str, str, datetime], None] | None = None,
) -> list[int]:
    """Make `earlier` (the item's hot story before it, oldest first) members of `event`, which
    `item_id` has just opened, and log it. `index(item, title, text, seen)` is told of each, so
    the events stage's grouping knows them (a later reprint of the forum post joins the event).
    Returns the items attached."""
    if not earlier or event.drill_id is not None:
        return []
    rows = []
    for start in range(0, len(earlier), CHUNK):
        rows += session.execute(
            select(Item.id, Item.title, Item.text, Item.outlet_id, Item.first_seen_at)
            .join(ItemAnalysis, ItemAnalysis.item_id == Item.id)
            .outerjoin(EventItem, EventItem.item_id == Item.id)
            .where(Item.id.in_(earlier[start : start + CHUNK]), EventItem.item_id.is_(None),
                   Item.drill_id.is_(None), Item.first_seen_at >= now - window)
        ).all()
    order = {item: n for n, item in enumerate(earlier)}
    rows.sort(key=lambda row: order[row.id])
    if not rows:
        return []
    for row in rows:
        event_store.add_member(session, event_id=event.id, item_id=row.id, similarity=0.0, now=now, link=LINK)
        if index is not None:
            index(row.id, row.title, row.text, row.first_seen_at)
    first = rows[0]
    outlets = sorted({row.outlet_id for row in rows})
    event_store.log_transition(
        session, event=event, kind=EscalationKind.prehistory, to_level=event.level, at=now, actor=AUTO,
        reason=f"关联此前热点 {len(rows)} 条",
        reasons=[f"item {item_id} named the subject; its hot story had {len(rows)} earlier items "
                 f"from {len(outlets)} outlets ({', '.join(outlets[:5])}{' …' if len(outlets) > 5 else ''})",
                 f"earliest: item {first.id} from {first.outlet_id} seen {first.first_seen_at.isoformat()}"],
    )
    log.info("event_prehistory_attached", event_id=event.id, item_id=item_id, items=[row.id for row in rows])
    return [row.id for row in rows]
