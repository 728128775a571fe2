"""Events, the escalation log, and the operator's corrections with a reason: a level by hand, a merge, a split."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from monitor.api.deps import ClockDep, IdPath, Operator, SessionDep, require
from monitor.api.schemas import (
    AUTH_ERRORS,
    CONFLICT,
    MAX_ID,
    NOT_FOUND,
    QueryTime,
    EscalationOut,
    EventDetail,
    EventOut,
    LevelIn,
    MergeIn,
    RegroupOut,
    SplitIn,
)
from monitor.db import events as event_store
from monitor.events.levels import LEVELS
from monitor.events.spread import spread_over_time, spread_path
from monitor.stages.grouping import merge_by_hand, set_level_by_hand, split_by_hand
from monitor.states import EscalationKind, EventStatus, literal

router = APIRouter(prefix="/api/v1", tags=["events"], dependencies=[require("viewer")], responses=AUTH_ERRORS)


def _labels(request: Request) -> dict[str, str]:
    return request.app.state.level_labels


@router.get("/events", response_model=list[EventOut], summary="Events, most recently active first")
def list_events(
    request: Request,
    session: SessionDep,
    status: Annotated[literal(EventStatus) | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
):
    events = event_store.list_events(session, status=status, limit=limit)
    return [EventOut.from_event(event, _labels(request)) for event in events]


@router.get("/events/{event_id}", response_model=EventDetail, summary="One event: items, metrics, first source, history", responses=NOT_FOUND)
def get_event(event_id: IdPath, request: Request, session: SessionDep):
    event = event_store.get_event(session, event_id=event_id)
    if event is None:
        raise HTTPException(404, f"no event with id {event_id}")
    members = event_store.members(session, event_id=event_id)
    return EventDetail(
        **EventOut.from_event(event, _labels(request)).model_dump(),
        items=[
            {"id": item.id, "outlet_id": item.outlet_id, "title": item.title, "url": item.url,
             "published_at": item.published_at, "first_seen_at": item.first_seen_at}
            for item in event_store.event_items(session, event_id=event_id)
        ],
        spread=spread_over_time(members),
        history=[EscalationOut.model_validate(e) for e in event_store.escalation_log(session, event_id=event_id)],
        **spread_path(members),
    )


@router.get("/escalations", response_model=list[EscalationOut], summary="The escalation log: every level and status change")
def list_escalations(
    session: SessionDep,
    event: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this event's entries")] = None,
    kind: Annotated[literal(EscalationKind) | None, Query()] = None,
    level: Annotated[Literal[LEVELS] | None, Query(description="Changes to this level")] = None,
    by_hand: Annotated[bool | None, Query(description="true: operators' changes only; false: automatic only")] = None,
    start: Annotated[QueryTime | None, Query(alias="from", description="At or after (ISO 8601 with an offset)")] = None,
    end: Annotated[QueryTime | None, Query(alias="to", description="Before (ISO 8601 with an offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
):
    return event_store.escalation_log(
        session, event_id=event, kind=kind, to_level=level, by_hand=by_hand, start=start, end=end, limit=limit
    )


@router.post(
    "/events/{event_id}/level",
    response_model=EscalationOut,
    summary="Escalate or downgrade by hand, with a reason; logged with who",
    responses=NOT_FOUND | CONFLICT,
)
def set_level(event_id: IdPath, body: LevelIn, request: Request, session: SessionDep, clock: ClockDep, who: Operator):
    # A refused change raises TransitionError, a domain error the app answers as 404 or 409; the
    # session closes uncommitted.
    entry = set_level_by_hand(
        session, levels=request.app.state.levels, routing=request.app.state.routing,
        event_id=event_id, level=body.level, actor=who.name, reason=body.reason, now=clock.now(),
    )
    session.commit()
    return EscalationOut.model_validate(entry)


@router.post(
    "/events/{event_id}/merge",
    response_model=RegroupOut,
    summary="Merge another event into this one by hand, with a reason; logged with who",
    responses=NOT_FOUND | CONFLICT,
)
def merge(event_id: IdPath, body: MergeIn, request: Request, session: SessionDep, clock: ClockDep, who: Operator):
    """The other event's items move here and it is closed as `merged`, pointing at this one; this
    event keeps the higher level and is regraded on all its items. The grouping follows: items of
    the merged story join this event from now on."""
    entry = merge_by_hand(
        session, levels=request.app.state.levels, routing=request.app.state.routing, event_id=event_id,
        other_id=body.other, actor=who.name, reason=body.reason, now=clock.now(),
    )
    session.commit()
    labels = _labels(request)
    return RegroupOut(
        event=EventOut.from_event(event_store.get_event(session, event_id=event_id), labels),
        other=EventOut.from_event(event_store.get_event(session, event_id=body.other), labels),
        entry=EscalationOut.model_validate(entry),
    )


@router.post(
    "/events/{event_id}/split",
    response_model=RegroupOut,
    summary="Move items out of this event into a new one by hand, with a reason; logged with who",
    responses=NOT_FOUND | CONFLICT,
)
def split(event_id: IdPath, body: SplitIn, request: Request, session: SessionDep, clock: ClockDep, who: Operator):
    """The items move into a new event, graded on its own (it may raise its own alert); this
    event is measured again on what is left and keeps its level. The grouping follows: reprints of
    a moved item join the new event from now on."""
    entry, new = split_by_hand(
        session, levels=request.app.state.levels, routing=request.app.state.routing, event_id=event_id,
        item_ids=body.items, actor=who.name, reason=body.reason, now=clock.now(),
    )
    session.commit()
    labels = _labels(request)
    return RegroupOut(
        event=EventOut.from_event(event_store.get_event(session, event_id=event_id), labels),
        other=EventOut.from_event(new, labels),
        entry=EscalationOut.model_validate(entry),
    )
