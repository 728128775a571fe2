"""Drill store: the drill runs (应急演练), their outlets and items, what hides them, and clearing.

A drill's items are stored through the fetch stage's own store step (items.store_entries) from
built-in outlets that are never fetched (kind "drill", disabled); they and the events they open
carry the drill's id. Everything that counts — the weekly figures, the duty KPIs, search and
trends — reads through `hide_drills(session)`, one choke point: a criterion added by the ORM to
every SELECT of items, events, alerts and escalations in that session, so a query written
tomorrow is covered without knowing drills exist. The alert feed hides them by its own filter
(its default view), since an operator may ask for them there.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from monitor.db.models import Alert, Drill, Escalation, Event, Item, Outlet

OUTLET_KIND = "drill"
OUTLET_PREFIX = "drill-"
# Never resolvable (RFC 2606 reserves .invalid): a link in a drill push leads nowhere real.
URL_BASE = "https://drill.fenghuo.invalid"
# Every drill item's title and text begin with this: whoever reads one knows it is not real.
MARKER = "【演练/DRILL】"

# Core columns, not the ORM entity: the criteria below apply to ORM entities, and a subquery on
# the entity would be filtered by them too (and find nothing).
_EVENTS = Event.__table__.c
_DRILL_EVENTS = select(_EVENTS.id).where(_EVENTS.drill_id.is_not(None))


def unmarked(text: str) -> str:
    return text.removeprefix(MARKER)


def outlet_id(tier: str, suffix: str = "") -> str:
    return f"{OUTLET_PREFIX}{tier}{'-' + suffix if suffix else ''}"


def ensure_outlets(session: Session, *, outlets: dict[str, str], now: datetime) -> None:
    """The drill outlets a story needs (id → tier), created once. Disabled: the scheduler never
    fetches them, and the mirror of outlets.yaml leaves disabled outlets alone."""
    have = set(session.scalars(select(Outlet.id).where(Outlet.id.in_(list(outlets)))))
    for oid, tier in outlets.items():
        if oid in have:
            continue
        session.add(Outlet(
            id=oid, name=f"演练媒体 DRILL ({tier})", kind=OUTLET_KIND, url=f"{URL_BASE}/{oid}", tier=tier,
            region="演练", enabled=False, config={}, interval_seconds=86400, next_fetch_at=None, error_count=0,
        ))
    session.flush()


def start(session: Session, *, level: str, story: str, started_by: str, now: datetime, items: int) -> Drill:
    drill = Drill(level=level, story=story[:200], started_by=started_by[:100], started_at=now, items=items)
    session.add(drill)
    session.flush()
    return drill


def mark_items(session: Session, *, drill_id: int, item_ids: list[int]) -> None:
    session.execute(update(Item).where(Item.id.in_(item_ids)).values(drill_id=drill_id))


def drill_of_items(session: Session, *, item_ids: list[int]) -> dict[int, int]:
    """item → drill, for the drill items among `item_ids` (the events stage asks per batch)."""
    if not item_ids:
        return {}
    query = select(Item.id, Item.drill_id).where(Item.id.in_(item_ids), Item.drill_id.is_not(None))
    return dict(session.execute(query).all())


def get(session: Session, *, drill_id: int) -> Drill | None:
    return session.get(Drill, drill_id)


def latest(session: Session, *, limit: int = 20) -> list[Drill]:
    return list(session.scalars(select(Drill).order_by(Drill.id.desc()).limit(limit)))


def started_since(session: Session, *, since: datetime) -> list[int]:
    return list(session.scalars(select(Drill.id).where(Drill.started_at >= since).order_by(Drill.id)))


def of_drill(drill: Drill):
    """WHERE clause for a drill's items. Every one was first seen at the drill's start (stored in
    one go), which the index on first_seen_at finds; items.drill_id has no index of its own."""
    return (Item.first_seen_at == drill.started_at) & (Item.drill_id == drill.id)


def items_of(session: Session, *, drill: Drill) -> list[Item]:
    return list(session.scalars(select(Item).where(of_drill(drill)).order_by(Item.id)))


def events_of(session: Session, *, drill_id: int) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.drill_id == drill_id).order_by(Event.id)))


def clear(session: Session) -> dict[str, int]:
    """Remove every drill's data. Events first: their escalations, alerts, duty actions and
    deliveries go with them (ON DELETE CASCADE); then the items (their analyses and memberships
    cascade), the drill outlets and the runs."""
    events = session.execute(delete(Event).where(Event.drill_id.is_not(None))).rowcount
    drill_outlets = select(Outlet.id).where(Outlet.kind == OUTLET_KIND)  # the (outlet, time) index finds them
    items = session.execute(
        delete(Item).where(Item.outlet_id.in_(drill_outlets), Item.drill_id.is_not(None))
    ).rowcount
    session.execute(delete(Outlet).where(Outlet.kind == OUTLET_KIND))
    drills = session.execute(delete(Drill)).rowcount
    return {"drills": drills, "events": events, "items": items}


# -- keeping drills out of what counts -----------------------------------------------------------

def hide_drills(session: Session) -> Session:
    """From now on, this session's SELECTs see no drill items, events, alerts or escalations."""
    session.info["hide_drills"] = True
    return session


def not_drill_alert():
    """A WHERE clause for alerts that are not a drill's (the feed's default view)."""
    return Alert.event_id.not_in(_DRILL_EVENTS)


def only_drill_alert():
    return Alert.event_id.in_(_DRILL_EVENTS)


@event.listens_for(Session, "do_orm_execute")
def _hide(state: ORMExecuteState) -> None:
    if not state.is_select or not state.session.info.get("hide_drills"):
        return
    state.statement = state.statement.options(
        with_loader_criteria(Item, lambda item: item.drill_id.is_(None), include_aliases=True),
        with_loader_criteria(Event, lambda e: e.drill_id.is_(None), include_aliases=True),
        with_loader_criteria(Alert, lambda a: a.event_id.not_in(_DRILL_EVENTS), include_aliases=True),
        with_loader_criteria(Escalation, lambda e: e.event_id.not_in(_DRILL_EVENTS), include_aliases=True),
    )
