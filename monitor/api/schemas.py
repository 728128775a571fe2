"""API response models: separate from the ORM tables, so the wire format is ours."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, get_type_hints

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from monitor.db.outlets import OutletHealth
from monitor.states import WarningLevel, literal

# -- input types: every value a client sends is checked here, so odd input is a 422 that says what
# is wrong, never a crash deeper down -----------------------------------------------------------

# Times the service can do arithmetic on (a week back from `to`, conversion to UTC) and every
# database can store; outside this, Python's datetime overflows. Far wider than any real data.
EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)


def _sane_time(value: datetime) -> datetime:
    # A time without an offset is refused rather than read in some zone: the same string means
    # a different instant on the server and in the client, and a wrong window is silent.
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "time_without_offset",
            "needs a time zone offset, e.g. 2026-11-23T08:00:00+08:00 or 2026-11-23T00:00:00Z",
        )
    # Compared before any conversion: 9999-12-31T23:59:59-14:00 has no UTC form in Python.
    if not EARLIEST <= value <= LATEST:
        raise PydanticCustomError(
            "time_out_of_range", "must be between {earliest} and {latest}",
            {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()},
        )
    return value


QueryTime = Annotated[datetime, AfterValidator(_sane_time)]
"""An ISO 8601 time with an offset, between EARLIEST and LATEST: the type of every time parameter."""


def _problem_in_text(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character (U+0000), which cannot be stored"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        # Only a lone surrogate (JSON "\ud800" without its pair) fails here: it is no character.
        return f"contains a lone surrogate (U+{ord(value[error.start]):04X}), which is not a character"
    return None


def _clean_text(value: Any) -> Any:
    # Before pydantic's own check, which refuses a lone surrogate with a vaguer message.
    problem = _problem_in_text(value) if isinstance(value, str) else None
    if problem:
        raise PydanticCustomError("text_not_storable", problem)
    return value


Text = Annotated[str, BeforeValidator(_clean_text)]
"""A string that can be stored and sent on: no lone surrogates (invalid in UTF-8), no NUL."""


def _strings(value: Any, where: str):
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _strings(getattr(value, name), f"{where}.{name}" if where else name)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, f"{where} (a key)")
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


class Input(BaseModel):
    """The base of every request body: whatever its fields, no string in it may be unstorable
    (the guard behind `Text`, for a field that forgets it or a nested dict)."""

    @model_validator(mode="after")
    def _storable(self):
        for where, value in _strings(self, ""):
            problem = _problem_in_text(value)
            if problem:
                raise PydanticCustomError("text_not_storable", "{field} {problem}", {"field": where, "problem": problem})
        return self


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    status: str  # ready | degraded (working, on the last good configuration) | not_ready
    database: str
    scheduler: str  # alive | stalled | not_running | not_part_of_this_process
    last_sweep_at: datetime | None
    # How overdue the oldest due outlet not yet claimed is (now - its next_fetch_at); 0 when the
    # fetchers keep up. Read from the database, so it covers every worker. None: not known.
    fetch_lag_seconds: float | None = None
    # How long the oldest item of the last hour has waited to be scored, and the oldest relevant
    # scored item to join an event: past BACKLOG_DEGRADED the pipeline is stuck ("degraded").
    analysis_lag_seconds: float | None = None
    grouping_lag_seconds: float | None = None
    # How long the oldest item queued for the search index has waited (searches scan the queue
    # meanwhile, so a growing one slows them): past BACKLOG_DEGRADED no worker is indexing.
    search_lag_seconds: float | None = None
    # Configuration on disk that was rejected (the last good one is in service), since when.
    problems: list[str] = []
    problems_since: datetime | None = None


# An outlet's fetch health on the wire: the store's OutletHealth field for field (one list of the
# 17 fields, in monitor/db/outlets.py), as a response model of its own name.
OutletOut = create_model(
    "OutletOut", __config__=ConfigDict(from_attributes=True),
    **{name: (kind, ...) for name, kind in get_type_hints(OutletHealth).items()},
)


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    outlet_id: str
    url: str
    canonical_url: str
    title: str
    text: str
    author: str | None
    source: str | None = Field(None, description="the outlet the page credits (来源), for reprints")
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
    folder: str | None  # the server's path: admins only
    groups: list[dict]
    rules: list[dict]
    # Why the files on disk were rejected (the version above stays in service), and since when.
    last_problems: list[str]
    problems_since: datetime | None = None


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
    merged_into: int | None = None  # status "merged": merged by hand into this event

    @classmethod
    def from_event(cls, event, labels: dict[str, str]) -> EventOut:
        return cls(
            id=event.id, title=event.title, level=event.level,
            level_label=labels.get(event.level) if event.level else None, status=event.status,
            item_count=event.item_count, first_item_id=event.first_item_id,
            first_outlet_id=event.first_outlet_id, first_at=event.first_at, opened_at=event.opened_at,
            last_item_at=event.last_item_at, closed_at=event.closed_at, metrics=event.metrics,
            merged_into=event.merged_into,
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


def _required(message: str) -> AfterValidator:
    """Text that must say something: blank is refused with `message` (422, as a body problem)."""

    def check(value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("blank", message)
        return value

    return AfterValidator(check)


class NoteIn(Input):
    note: Text | None = Field(None, max_length=4000)


class NoteRequiredIn(Input):
    """The body of POST …/notes: there the note is the whole point."""

    note: Annotated[Text, _required("a note needs text")] = Field(max_length=4000)


class AssignIn(NoteIn):
    assignee: Annotated[Text, _required("say to whom: an assignee is required")] = Field(min_length=1, max_length=100)


class ResolveIn(NoteIn):
    outcome: Annotated[Text, _required("say how it ended: an outcome is required to resolve")] = Field(
        min_length=1, max_length=4000, description="how it ended"
    )


class LevelIn(Input):
    level: literal(WarningLevel) | None = Field(description="null removes the level")
    reason: Text = Field(min_length=1, max_length=4000)


class MergeIn(Input):
    other: int = Field(ge=1, le=2**63 - 1, description="The event merged into this one: its items move here")
    reason: Text = Field(min_length=1, max_length=4000)


class SplitIn(Input):
    items: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        min_length=1, max_length=10000, description="Items of this event to move out into a new event"
    )
    reason: Text = Field(min_length=1, max_length=4000)


class RegroupOut(BaseModel):
    """A merge or split by hand: both events as they are now, and the log entry with who and why."""

    event: EventOut  # the survivor of a merge, or the event items were split out of
    other: EventOut  # the event merged (status "merged"), or the new event of a split
    entry: EscalationOut  # `merge` or `split`, on `event`


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
