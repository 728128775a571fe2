"""The alert feed reads its query string itself (FeedQuery in monitor/api/alerts.py: one pydantic
call instead of FastAPI's handling of each parameter). It must answer exactly as FastAPI's own
handling of the same parameters did: the same 422 bodies, the token checked first, and the same
parameters in the OpenAPI schema. The reference is a FastAPI route declaring them one by one, as
the feed's route did before."""

from typing import Annotated, Literal

import httpx
import pytest
from fastapi import FastAPI, Query
from fastapi.exceptions import RequestValidationError

from monitor.api import create_app
from monitor.api.guard import validation_error
from monitor.api.schemas import MAX_ID, QueryTime
from monitor.config import Tier
from monitor.events.levels import LEVELS
from monitor.states import AlertStatus, literal
from tests.conftest import api_client

reference = FastAPI()
reference.add_exception_handler(RequestValidationError, validation_error)


@reference.get("/api/v1/alerts")
async def declared_one_by_one(
    min_level: Annotated[Literal[LEVELS] | None, Query(description="This level and above")] = None,
    status: Annotated[literal(AlertStatus) | None, Query()] = None,
    event: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this event's alerts")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in the title")] = None,
    alerted_from: Annotated[QueryTime | None, Query(alias="from", description="Alerted at or after (ISO 8601 with an offset)")] = None,
    alerted_to: Annotated[QueryTime | None, Query(alias="to", description="Alerted before (ISO 8601 with an offset)")] = None,
    outlet: Annotated[str | None, Query(max_length=64, description="The story reached this outlet")] = None,
    tier: Annotated[Tier | None, Query(description="The story reached an outlet of this tier")] = None,
    region: Annotated[str | None, Query(max_length=64, description="The story reached an outlet of this region")] = None,
    group: Annotated[str | None, Query(max_length=64, description="The story's items hit this keyword group")] = None,
    drills: Annotated[Literal["hide", "only", "include"], Query(description="Drills' alerts (应急演练): hidden by default")] = "hide",
    since: Annotated[int | None, Query(ge=0, le=MAX_ID, description="Poll: alerts after this cursor, oldest first")] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Page back: alerts before this cursor; with since, the end of a window")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
):
    return {}


BAD_QUERIES = [
    "limit=0", "limit=501", "limit=abc", "limit=", "limit=5.5", "limit=5&limit=0",
    "min_level=purple", "min_level=", "status=bogus", "event=0", "event=x", f"event={MAX_ID + 1}",
    "q=" + "长" * 201, "region=" + "x" * 65, "outlet=" + "x" * 65, "group=" + "x" * 65,
    "from=2026-01-01T00:00:00", "from=0001-01-01T00:00:00Z", "to=yesterday", "to=9999-12-31T23:59:59-14:00",
    "tier=nope", "drills=all", "since=-1", "before=0",
    "limit=0&min_level=purple&since=-1&from=2026-01-01T00:00:00",  # every problem, in the declared order
]


@pytest.fixture
def feed(db_settings, sessions, clock):
    return api_client(create_app(db_settings, sessions, clock=clock), sessions, clock, role="viewer")


def declared() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=reference), base_url="http://fenghuo.test")


async def test_a_bad_parameter_is_the_422_fastapi_answers_for_it(feed):
    for query in BAD_QUERIES:
        ours, theirs = await feed.get("/api/v1/alerts?" + query), await declared().get("/api/v1/alerts?" + query)
        assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json()), query
        assert ours.status_code == 422, query


async def test_good_and_unknown_parameters_are_answered(feed):
    for query in ["", "limit=1&limit=2", "unknown=1", "q=", "from=2026-11-20T00:00:00%2B08:00&to=2026-11-24T00:00:00Z",
                  "min_level=orange&status=new&tier=forum&drills=include&since=0&before=9&limit=500"]:
        response = await feed.get("/api/v1/alerts?" + query)
        assert response.status_code == 200 and response.json() == {"alerts": [], "next": 0 if "since" in query else None}, query


async def test_the_token_is_checked_before_the_query(db_settings, sessions, clock):
    app = create_app(db_settings, sessions, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fenghuo.test") as anonymous:
        for headers in ({}, {"Authorization": "Bearer fh_not_a_token"}, {"Authorization": "Basic abc"}):
            response = await anonymous.get("/api/v1/alerts?limit=0", headers=headers)
            assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer", headers


def _resolved(schema: dict, components: dict):
    """`schema` with references replaced by what they name, titles left out (a title is no rule)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _resolved(components[schema["$ref"].rsplit("/", 1)[1]], components)
        return {key: _resolved(value, components) for key, value in schema.items() if key != "title"}
    if isinstance(schema, list):
        return [_resolved(value, components) for value in schema]
    return schema


async def test_the_openapi_schema_documents_every_parameter_as_fastapi_would(feed):
    ours, theirs = (await feed.get("/openapi.json")).json(), reference.openapi()

    def parameters(schema) -> list:
        components = schema.get("components", {}).get("schemas", {})
        return [_resolved(p, components) for p in schema["paths"]["/api/v1/alerts"]["get"]["parameters"]]

    assert parameters(ours) == parameters(theirs)
    operation = ours["paths"]["/api/v1/alerts"]["get"]
    assert operation["security"] == [{"HTTPBearer": []}]
    assert {"200", "401", "403", "422"} <= set(operation["responses"])


async def test_each_shape_of_query_answers_what_the_orm_reads(db_settings, sessions, clock, tmp_path):
    """The feed sends each query shape's SQL, compiled once, straight to the driver
    (monitor/api/serialised.py); `list_alerts` runs the same statement through the ORM. Every
    criterion, alone and together, on both engines: the same alerts, in the same order."""
    from monitor.api.alerts import FeedQuery
    from monitor.api.schemas import AlertOut, AlertPage
    from monitor.db import alerts as alert_store
    from tests.events.test_scenarios import COMPLAINT, Timeline, reprint

    timeline = Timeline(sessions, clock, tmp_path)
    timeline.publish("forum-a", *COMPLAINT)
    for n, outlet in enumerate(["forum-b", "local-daily"]):
        timeline.publish(outlet, COMPLAINT[0], reprint(COMPLAINT[1], n))
    timeline.publish("gov", "江城水务集团被曝违规收费 多收居民二次供水费",
                     "多名居民向记者反映，江城水务集团在水费中违规收取二次供水费用，涉及上千户，居民愤怒投诉。")
    viewer = api_client(create_app(db_settings, sessions, clock=clock), sessions, clock, role="viewer")
    with sessions() as session:
        everything = alert_store.list_alerts(session, filters=alert_store.AlertFilter(drills="include"), limit=500)
    assert len(everything) >= 4
    first, newest = everything[-1], everything[0]
    day = first.alerted_at.astimezone().isoformat()
    queries = [
        {}, {"limit": 1}, {"limit": 2, "before": newest.id}, {"since": 0}, {"since": first.id, "before": newest.id},
        {"min_level": "yellow"}, {"min_level": "red"}, {"status": "superseded"}, {"event": first.event_id},
        {"q": "江城"}, {"q": "%"}, {"q": "_"}, {"from": day}, {"to": day},
        {"from": "2000-01-01T08:00:00+08:00", "to": "2199-01-01T00:00:00-05:00"},
        {"outlet": "gov"}, {"tier": "local_media"}, {"region": "全国"}, {"group": "complaints"}, {"group": "incidents"},
        {"drills": "only"}, {"drills": "include"},
        {"min_level": "blue", "status": "new", "q": "江城", "outlet": "forum-a", "tier": "forum", "region": "全国",
         "group": "complaints", "drills": "include", "from": "2000-01-01T00:00:00Z", "to": "2199-01-01T00:00:00Z",
         "since": 0, "before": newest.id + 1, "limit": 3},
    ]
    found = []
    for params in queries:
        query = FeedQuery.model_validate(params)
        with sessions() as session:
            rows = alert_store.list_alerts(session, filters=query.filters(), limit=query.limit, since=query.since,
                                           before=query.before)
        answered = (await viewer.get("/api/v1/alerts", params=params)).json()
        found.append(len(answered["alerts"]))
        assert answered["alerts"] == AlertPage(alerts=[AlertOut.model_validate(a) for a in rows], next=None).model_dump(mode="json")["alerts"], params
    assert sum(1 for n in found if n) >= 15  # most criteria select some alerts, not none


async def test_another_tokens_revocation_costs_the_feed_one_lookup_not_an_answer(db_settings, sessions, clock):
    """The feed confirms a remembered token by reading the tokens' version on its own DBAPI
    connection (deps.Reader); when the version moved because another token was revoked, it looks
    its token up again in a session of its own and answers."""
    from sqlalchemy import event

    from monitor.db.tokens import create_token, revoke_token

    app = create_app(db_settings, sessions, clock=clock)
    viewer = api_client(app, sessions, clock, role="viewer")
    with sessions.begin() as session:
        create_token(session, name="leaver", role="viewer", now=clock.now())
    assert (await viewer.get("/api/v1/alerts")).status_code == 200  # remembered from here on
    with sessions.begin() as session:
        revoke_token(session, name="leaver", now=clock.now())
    lookups = []
    event.listen(sessions.kw["bind"], "before_cursor_execute",
                 lambda connection, cursor, statement, *args: lookups.append(statement) if "FROM api_tokens" in statement else None)
    for _ in range(2):
        assert (await viewer.get("/api/v1/alerts")).status_code == 200
    assert len(lookups) == 1  # looked up again once, under the new version; then remembered
