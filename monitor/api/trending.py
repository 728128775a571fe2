"""Hot stories (热点): GET /api/v1/trending — the stories over the whole intake, keyword hit or
not, as last ranked by the leader every few minutes (monitor/stages/trending.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from monitor.api.deps import SessionDep, require
from monitor.api.schemas import AUTH_ERRORS
from monitor.db.trends import latest_trending

router = APIRouter(prefix="/api/v1/trending", tags=["trends"], dependencies=[require("viewer")], responses=AUTH_ERRORS)


class HotStoryOut(BaseModel):
    rank: int
    title: str = Field(description="its first item's title")
    score: float = Field(description="items in the last 3 h × √growth × (1 + ln outlets) × (1 + ¼ (tiers − 1))")
    first_item: int = Field(description="the item that started it (GET /api/v1/items/{id})")
    first_at: datetime
    last_at: datetime
    items: int
    outlets: int
    tiers: list[str]
    last_hour: int = Field(description="items in the current hour")
    last_3h: int
    growth: float = Field(description="(last hour + 1) / (hourly average of the 3 h before + 1), at most 9")
    groups: list[str] = Field(description="keyword groups its items hit: a watched subject is named")
    flagged: bool = Field(description="mentions a region or industry term of trending.yaml: worth a look")
    terms: list[str]


class TrendingOut(BaseModel):
    made_at: datetime | None = Field(description="when it was ranked; null before the first ranking")
    items_indexed: int = Field(description="items the grouping holds (the window, at most max_items)")
    stories: list[HotStoryOut]


@router.get("", response_model=TrendingOut, summary="Hot stories across the whole intake, hottest first")
def trending(
    session: SessionDep,
    flagged: Annotated[bool, Query(description="only those touching a region or industry term")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
):
    snapshot = latest_trending(session)
    if snapshot is None:
        return TrendingOut(made_at=None, items_indexed=0, stories=[])
    stories = [story for story in snapshot.stories if story["flagged"] or not flagged][:limit]
    return TrendingOut(made_at=snapshot.made_at, items_indexed=snapshot.items_indexed, stories=stories)
