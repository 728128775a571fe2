"""Events, the escalation log, and manual escalation or downgrade with a reason."""

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
)
from monitor.db import events as event_store
from monitor.events.metrics import spread_over_time, spread_path
from monitor.stages.events import set_level_by_hand

router = APIRouter(prefix="/api/v1", tags=["events"], dependencies=[require("viewer")], responses=AUTH_ERRORS)


def _labels(request: Request) -> dict[str, str]:
    return request.app.state.level_labels


@router.get("/events", response_model=list[EventOut], summary="Events, most recently active first")
def list_events(
    request: Request,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
):
    events = event_store.list_events(session, status=status, limit=limit)
    return [EventOut.from_event(event, _labels(request)) for event in events]


@router.get("/events/{event_id}", response_model=EventDetail, summary="One event: items, metrics, first source, history", responses=NOT_FOUND)
def get_event(event_id: IdPath, request: Request, session: SessionDep):
    event = event_store.get_event(session, event_id=event_id)
    if event is None:
        raise HTTPException(404, f"no event with id {event_id}")
    members = event_store.members(session, event_id=event_id, negative_risk=request.app.state.levels.negative_risk)
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
    kind: Annotated[Literal["escalate", "downgrade", "close", "reopen"] | None, Query()] = None,
    level: Annotated[Literal["blue", "yellow", "orange", "red"] | None, Query(description="Changes to this level")] = None,
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
    try:
        entry = set_level_by_hand(
            session, levels=request.app.state.levels, routing=request.app.state.routing,
            event_id=event_id, level=body.level, actor=who.name, reason=body.reason, now=clock.now(),
        )
        session.commit()
    except event_store.TransitionError as error:
        session.rollback()
        status = 404 if str(error).startswith("no event") else 409
        raise HTTPException(status, str(error)) from None
    return EscalationOut.model_validate(entry)
