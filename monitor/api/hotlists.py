"""Hot lists as they stand: each list's latest snapshot in rank order, and every entry's rank
history, for the duty console's hot-list view and for anyone asking "what is 上了热搜 now". An
entry that joined an event (it names a watched subject) carries the event and its level: ours."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from monitor.api.deps import ClockDep, SessionDep, require
from monitor.api.schemas import AUTH_ERRORS
from monitor.db import hotlists as hotlist_store

router = APIRouter(prefix="/api/v1/hotlists", tags=["hotlists"], dependencies=[require("viewer")], responses=AUTH_ERRORS)


class RankPointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    rank: int
    heat: float | None


class HotlistEntryOut(BaseModel):
    rank: int
    heat: float | None
    title: str
    url: str
    first_seen_at: datetime
    first_rank: int
    best_rank: int
    minutes_on_list: float
    history: list[RankPointOut]
    event_id: int | None = None  # ours: the entry joined this event (it names a watched subject)
    event_level: str | None = None


class HotlistOut(BaseModel):
    outlet_id: str
    name: str
    region: str
    taken_at: datetime
    entries: list[HotlistEntryOut]


@router.get("", response_model=list[HotlistOut], summary="Each hot list's latest snapshot, with rank history")
def list_hotlists(
    session: SessionDep,
    clock: ClockDep,
    hours: Annotated[int, Query(ge=1, le=24 * 14, description="Rank history of this many hours")] = 24,
    outlet: Annotated[str | None, Query(description="Only this hot-list outlet")] = None,
):
    lists = hotlist_store.current_hotlists(
        session, history_since=clock.now() - timedelta(hours=hours), outlet_id=outlet
    )
    return [
        HotlistOut(
            outlet_id=current.outlet_id, name=current.outlet_name, region=current.region,
            taken_at=current.taken_at,
            entries=[
                HotlistEntryOut(
                    rank=entry.rank, heat=entry.heat, title=entry.presence.title, url=entry.presence.url,
                    first_seen_at=entry.presence.first_seen_at, first_rank=entry.presence.first_rank,
                    best_rank=entry.presence.best_rank, minutes_on_list=entry.presence.minutes_on_list,
                    history=[RankPointOut.model_validate(point) for point in entry.history],
                    event_id=entry.event_id, event_level=entry.event_level,
                )
                for entry in current.entries
            ],
        )
        for current in lists
    ]
