"""API response models: separate from the ORM tables (STYLE item 9), so the wire format is ours."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    status: str  # ready | not_ready
    database: str
    scheduler: str  # alive | stalled | not_running | not_part_of_this_process
    last_sweep_at: datetime | None


class OutletOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: str
    tier: str
    region: str
    url: str
    enabled: bool
    healthy: bool
    last_status: str | None
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    next_fetch_at: datetime | None
    error_count: int
    interval_seconds: int
    encoding: str | None
    items_24h: int


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    outlet_id: str
    url: str
    canonical_url: str
    title: str
    text: str
    author: str | None
    language: str
    published_at: datetime | None
    first_seen_at: datetime
    pruned_at: datetime | None = Field(None, description="when retention emptied the text")


class AnalysisOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    library_version: str
    model: str
    risk: int
    negative_prob: float
    item_negative_prob: float
    keyword_strength: float
    hits: list[dict]
    reasons: list[dict]
    analysed_at: datetime


class ItemDetail(ItemOut):
    analysis: AnalysisOut | None


class LibraryOut(BaseModel):
    version: str
    folder: str
    groups: list[dict]
    rules: list[dict]
    last_problems: list[str]


class ReloadOut(BaseModel):
    loaded: bool
    changed: bool
    version: str  # the version in service after the call
    problems: list[str]


class EventOut(BaseModel):
    id: int
    title: str
    level: str | None  # blue | yellow | orange | red
    level_label: str | None  # e.g. 三级（橙色）, from levels.yaml
    status: str
    item_count: int
    first_item_id: int
    first_outlet_id: str
    first_at: datetime
    opened_at: datetime
    last_item_at: datetime
    closed_at: datetime | None
    metrics: dict

    @classmethod
    def from_event(cls, event, labels: dict[str, str]) -> EventOut:
        return cls(
            id=event.id, title=event.title, level=event.level,
            level_label=labels.get(event.level) if event.level else None, status=event.status,
            item_count=event.item_count, first_item_id=event.first_item_id,
            first_outlet_id=event.first_outlet_id, first_at=event.first_at, opened_at=event.opened_at,
            last_item_at=event.last_item_at, closed_at=event.closed_at, metrics=event.metrics,
        )


class EscalationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    at: datetime
    kind: str
    from_level: str | None
    to_level: str | None
    actor: str
    reason: str
    reasons: list[str]
    metrics: dict


class EventDetail(EventOut):
    items: list[dict]
    spread: list[dict]  # hour by hour: new items, items, outlets and tiers reached so far
    history: list[EscalationOut]
    # 信息溯源: the first item by publication time (else first seen) with its outlet and tier
    origin: dict | None = None
    # 传播路径: every item in order (at, outlet_id, tier, item_id, reprint_of) and when each tier
    # was first reached
    spread_path: list[dict] = []
    tiers_reached: list[dict] = []


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    level: str
    title: str
    reason: str
    status: str
    assignee: str | None
    outcome: str | None
    published_at: datetime
    fetched_at: datetime
    analysed_at: datetime | None
    alerted_at: datetime
    pushed_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None


class AlertPage(BaseModel):
    alerts: list[AlertOut]
    next: int | None  # pass as `since` (polling) or `before` (paging back); null at the end


class ActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    actor: str
    at: datetime
    note: str | None
    data: dict


class AlertDetail(AlertOut):
    level_label: str
    actions: list[ActionOut]


class NoteIn(BaseModel):
    note: str | None = Field(None, max_length=4000)


class AssignIn(NoteIn):
    assignee: str = Field(min_length=1, max_length=100)


class ResolveIn(NoteIn):
    outcome: str = Field(min_length=1, max_length=4000, description="how it ended")


class LevelIn(BaseModel):
    level: Literal["blue", "yellow", "orange", "red"] | None = Field(description="null removes the level")
    reason: str = Field(min_length=1, max_length=4000)


class ErrorOut(BaseModel):
    """Every error that is not a parameter problem: what went wrong, in a sentence."""

    detail: str


def _error(description: str) -> dict:
    return {"model": ErrorOut, "description": description}


AUTH_ERRORS = {
    400: _error("A malformed request (for example a body that is not JSON)"),
    401: _error("No token, or an unknown or revoked one"),
    403: _error("The token's role is too weak for this operation"),
}
NOT_FOUND = {404: _error("No such resource")}
CONFLICT = {409: _error("Not possible in the resource's current state")}

# Ids are 64-bit integers in the database: larger ones cannot exist, and are refused as such.
MAX_ID = 2**63 - 1
