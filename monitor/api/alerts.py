"""The alert feed and the duty workflow: acknowledge, assign, note, resolve, mark as noise."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sse_starlette.sse import EventSourceResponse

from monitor.analyze.segment import Segmenter
from monitor.analyze.suggest import suggest_exclusions
from monitor.api.deps import ClockDep, IdPath, Operator, Reader, SessionDep, Viewer, authenticate, bearer, require
from monitor.api.schemas import (
    AUTH_ERRORS,
    CONFLICT,
    MAX_ID,
    NOT_FOUND,
    ActionOut,
    AlertDetail,
    AlertOut,
    AlertPage,
    AssignIn,
    NoteIn,
    NoteRequiredIn,
    QueryTime,
    ResolveIn,
)
from monitor.api.serialised import FeedPages, SerialisedRows
from monitor.api.stream import LiveFeed, StreamLimit, Subscriber, live_feed
from monitor.config import Tier
from monitor.db import alerts as alert_store
from monitor.db.alerts import feed_page_depends_only_on_alerts
from monitor.db.models import Alert
from monitor.db.tokens import hash_token
from monitor.states import AlertStatus, DeliveryStatus, DutyAction, literal
from monitor.events.levels import LEVELS

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], dependencies=[require("viewer")], responses=AUTH_ERRORS)

Level = Literal[LEVELS]
Status = literal(AlertStatus)


_FEED_JSON = SerialisedRows(AlertOut, Alert.__table__)  # one per process: rows are the same for every app

STREAM_RETRY_AFTER = "30"  # seconds: streams close as their clients go; no point hammering sooner


class _LiveResponse(EventSourceResponse):
    """The stream's response: whatever way it ends (the client goes, the server stops, an error),
    the stream leaves the notifier and gives its slot back."""

    def __init__(self, feed: LiveFeed, subscriber: Subscriber, token_name: str, **kwargs):
        super().__init__(feed.notifier.alerts(subscriber), **kwargs)
        self.feed, self.subscriber, self.token_name = feed, subscriber, token_name

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.feed.notifier.leave(self.subscriber)
            self.feed.slots.give_back(self.token_name)


_STREAM_LIMITS = {
    429: {"description": "This token has FENGHUO_STREAM_MAX_PER_TOKEN streams open; Retry-After says when to try again"},
    503: {"description": "The server has FENGHUO_STREAM_MAX_TOTAL streams open; Retry-After says when to try again"},
}


@router.get(
    "/stream",
    summary="Live feed (Server-Sent Events): one 'alert' event per new alert; resumes from Last-Event-ID; "
    "a last 'revoked' event ends it when its token is revoked",
    response_class=EventSourceResponse,
    responses=_STREAM_LIMITS,
)
async def stream(
    request: Request,
    who: Viewer,
    min_level: Annotated[Level | None, Query(description="This level and above")] = None,
    since: Annotated[int | None, Query(ge=0, le=MAX_ID, description="Start after this cursor (default: from now)")] = None,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0, le=MAX_ID)] = None,
):
    # The stream holds no database connection while it waits: the token was checked with a
    # session already closed, and new alerts come from the process's one notifier (stream.py).
    feed = live_feed(request.app.state)
    try:
        feed.slots.take(who.name)
    except StreamLimit as refused:
        raise HTTPException(refused.status, str(refused), headers={"Retry-After": STREAM_RETRY_AFTER}) from None
    try:
        # A reconnecting EventSource sends Last-Event-ID: continue exactly after it.
        cursor = last_event_id if last_event_id is not None else since
        credentials = await bearer(request)  # checked by `who`: present
        subscriber = await feed.notifier.join(
            min_level=min_level, cursor=cursor, token_hash=hash_token(credentials.credentials)
        )
    except BaseException:
        feed.slots.give_back(who.name)
        raise
    return _LiveResponse(feed, subscriber, who.name, ping=15)


class FeedQuery(BaseModel):
    """The feed's query string, validated in one call of pydantic. FastAPI's handling of the same
    parameters one by one was about 1,300 of a feed request's 3,500 Python calls (bench/feed.py
    --count-calls); the types are the same, so the answers and the 422s are the same. The OpenAPI
    parameters of the route are made from this model (`_query_parameters`)."""

    model_config = ConfigDict(frozen=True)

    min_level: Level | None = Field(None, description="This level and above")
    status: Status | None = None
    event: int | None = Field(None, ge=1, le=MAX_ID, description="Only this event's alerts")
    q: str | None = Field(None, max_length=200, description="Text in the title")
    alerted_from: QueryTime | None = Field(None, alias="from", description="Alerted at or after (ISO 8601 with an offset)")
    alerted_to: QueryTime | None = Field(None, alias="to", description="Alerted before (ISO 8601 with an offset)")
    outlet: str | None = Field(None, max_length=64, description="The story reached this outlet")
    tier: Tier | None = Field(None, description="The story reached an outlet of this tier")
    region: str | None = Field(None, max_length=64, description="The story reached an outlet of this region")
    group: str | None = Field(None, max_length=64, description="The story's items hit this keyword group")
    drills: Literal["hide", "only", "include"] = Field("hide", description="Drills' alerts (应急演练): hidden by default")
    since: int | None = Field(None, ge=0, le=MAX_ID, description="Poll: alerts after this cursor, oldest first")
    before: int | None = Field(
        None, ge=1, le=MAX_ID, description="Page back: alerts before this cursor; with since, the end of a window"
    )
    limit: int = Field(50, ge=1, le=500)

    @classmethod
    def of(cls, request: Request) -> FeedQuery:
        """The request's query, or the 422 FastAPI would answer: each problem at ("query", name).
        A repeated parameter counts with its last value, as in FastAPI; unknown ones are ignored."""
        try:
            return cls.model_validate(dict(request.query_params))
        except ValidationError as invalid:
            raise RequestValidationError(
                [{**problem, "loc": ("query", *problem["loc"])} for problem in invalid.errors(include_url=False)]
            ) from None

    def filters(self) -> alert_store.AlertFilter:
        return alert_store.AlertFilter(
            self.min_level, self.status, self.event, self.q, self.alerted_from, self.alerted_to, self.outlet,
            self.tier.value if self.tier else None, self.region, self.group, self.drills,
        )


def _query_parameters(model: type[BaseModel]) -> list[dict]:
    """The OpenAPI query parameters of `model`'s fields, as FastAPI writes a route's own."""
    schema = model.model_json_schema(by_alias=True)
    definitions = schema.get("$defs", {})

    def inline(node):  # the enums' definitions in place: the route has no components of its own
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    parameters = []
    for name, field in schema["properties"].items():
        field = {key: value for key, value in inline(field).items() if not (key == "default" and value is None)}
        parameter = {"name": name, "in": "query", "required": False, "schema": field}
        if "description" in field:
            parameter["description"] = field["description"]
        parameters.append(parameter)
    return parameters


# The feed is the most requested route: it takes no FastAPI parameters or dependencies (their
# handling cost more than the rest of the request), checks its token itself and reads its query
# with FeedQuery. What FastAPI would have documented is given to the OpenAPI schema here.
feed_router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], responses=AUTH_ERRORS)

_FEED_OPENAPI = {
    "security": [{"HTTPBearer": []}],
    "parameters": _query_parameters(FeedQuery),
    "responses": {"422": {"description": "Validation Error", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}}},
}


@feed_router.get(
    "", response_model=AlertPage, summary="The alert feed, newest first; or, with since, everything after a cursor",
    openapi_extra=_FEED_OPENAPI,
)
async def list_alerts(request: Request):
    await authenticate(request, "viewer")  # before the query is read, as a dependency would
    query = FeedQuery.of(request)
    limit, since = query.limit, query.since
    shape, values = alert_store.feed_parameters(filters=query.filters(), limit=limit, since=since, before=query.before)

    pages: FeedPages = request.app.state.feed_pages
    remembered = feed_page_depends_only_on_alerts(shape)
    key = (shape, tuple(values.items()))

    def page(connection, dialect, alerts_version: int | None) -> Response:
        remembered_here = remembered and alerts_version is not None
        if remembered_here:
            body = pages.get(key, alerts_version)
            if body is not None:
                return Response(body, media_type="application/json")
        ids, texts = _FEED_JSON.read(connection, dialect, shape, alert_store.feed_statement, values)
        if since is not None:
            # A poller keeps its cursor when nothing is new, so it never skips or repeats.
            next_cursor = ids[-1] if ids else since
        else:
            next_cursor = ids[-1] if len(ids) == limit else None
        # The page as AlertPage serialises it, from each alert's JSON (serialised.py); returning a
        # Response skips FastAPI validating it against response_model (kept for the OpenAPI schema).
        body = ('{"alerts":[' + ",".join(texts) + '],"next":' + json.dumps(next_cursor) + "}").encode()
        if remembered_here:
            pages.keep(key, alerts_version, body)
        return Response(body, media_type="application/json")

    return await Reader(request)(page)  # the query and the serialising in one thread hop


@router.get("/{alert_id}", response_model=AlertDetail, summary="One alert with its duty actions", responses=NOT_FOUND)
def get_alert(alert_id: IdPath, request: Request, session: SessionDep):
    alert = alert_store.get_alert(session, alert_id=alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert with id {alert_id}")
    return AlertDetail(
        **AlertOut.model_validate(alert).model_dump(),
        level_label=request.app.state.level_labels[alert.level],
        actions=[ActionOut.model_validate(a) for a in alert_store.actions_of(session, alert_id=alert_id)],
    )


@router.get(
    "/{alert_id}/exclusion-suggestions",
    summary="Words to exclude from the rules behind this alert: frequent in noise, rare otherwise",
    responses=NOT_FOUND,
)
def exclusion_suggestions(alert_id: IdPath, request: Request, session: SessionDep, clock: ClockDep) -> dict:
    found = alert_store.rule_texts_for_suggestions(
        session, alert_id=alert_id, since=clock.now() - timedelta(days=30)
    )
    if found is None:
        raise HTTPException(404, f"no alert with id {alert_id}")
    rules, groups, noise, others = found
    holder = request.app.state.library
    known = holder.library.all_terms if holder is not None else set()
    suggestions = suggest_exclusions(noise, others, _segmenter(request), known_terms=known)
    return {
        "rules": rules,
        "groups": groups,
        "noise_items": len(noise),
        "other_items": len(others),
        "suggestions": [s.__dict__ for s in suggestions],
        "how": "add a word to a group's `exclude:` list (an occurrence of a term inside it stops "
        "counting) or as `& !word` to a rule; try it first with `fenghuo keywords backtest`",
    }


def _segmenter(request: Request) -> Segmenter:
    if getattr(request.app.state, "segmenter", None) is None:
        segmenter = Segmenter()
        holder = request.app.state.library
        if holder is not None:
            segmenter.use_terms(holder.library.all_terms)
        request.app.state.segmenter = segmenter
    return request.app.state.segmenter


def _act(session, clock, alert_id: IdPath, action: str, actor: str, **fields) -> AlertOut:
    # A refused action raises ActionError (a domain error: the app's handler answers 404, 409 or
    # 422); the session closes uncommitted, so nothing of it is kept.
    alert = alert_store.act(session, alert_id=alert_id, action=action, actor=actor, now=clock.now(), **fields)
    session.commit()
    return AlertOut.model_validate(alert)


@router.post("/{alert_id}/acknowledge", response_model=AlertOut, summary="I have seen it and am on it", responses=NOT_FOUND | CONFLICT)
def acknowledge(alert_id: IdPath, body: NoteIn, session: SessionDep, clock: ClockDep, who: Operator):
    return _act(session, clock, alert_id, DutyAction.acknowledge, who.name, note=body.note)


@router.post("/{alert_id}/assign", response_model=AlertOut, summary="Hand it to someone", responses=NOT_FOUND | CONFLICT)
def assign(alert_id: IdPath, body: AssignIn, session: SessionDep, clock: ClockDep, who: Operator):
    return _act(session, clock, alert_id, DutyAction.assign, who.name, assignee=body.assignee, note=body.note)


@router.post("/{alert_id}/notes", response_model=AlertOut, summary="Add a note", responses=NOT_FOUND | CONFLICT)
def add_note(alert_id: IdPath, body: NoteRequiredIn, session: SessionDep, clock: ClockDep, who: Operator):
    return _act(session, clock, alert_id, DutyAction.note, who.name, note=body.note)


@router.post("/{alert_id}/resolve", response_model=AlertOut, summary="Close it with an outcome", responses=NOT_FOUND | CONFLICT)
def resolve(alert_id: IdPath, body: ResolveIn, session: SessionDep, clock: ClockDep, who: Operator):
    return _act(session, clock, alert_id, DutyAction.resolve, who.name, outcome=body.outcome, note=body.note)


@router.post("/{alert_id}/noise", response_model=AlertOut, summary="A false alarm: record it as such", responses=NOT_FOUND | CONFLICT)
def mark_noise(alert_id: IdPath, body: NoteIn, session: SessionDep, clock: ClockDep, who: Operator):
    return _act(session, clock, alert_id, DutyAction.noise, who.name, note=body.note)


deliveries_router = APIRouter(prefix="/api/v1/deliveries", tags=["deliveries"], dependencies=[require("viewer")], responses=AUTH_ERRORS)


@deliveries_router.get("", summary="The delivery log: every push to a chat channel and every attempt")
def list_deliveries(
    session: SessionDep,
    alert: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Annotated[literal(DeliveryStatus) | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict]:
    return [
        {
            "id": d.id, "alert_id": d.alert_id, "channel": d.channel, "kind": d.kind,
            "idempotency_key": d.idempotency_key, "status": d.status, "attempts": d.attempts,
            "created_at": d.created_at, "next_attempt_at": d.next_attempt_at, "sent_at": d.sent_at,
            "last_error": d.last_error,
            "log": [
                {"at": a.at, "ok": a.ok, "http_status": a.http_status, "vendor_code": a.vendor_code, "error": a.error}
                for a in attempts
            ],
        }
        for d, attempts in alert_store.delivery_log(session, alert_id=alert, status=status, limit=limit)
    ]
