"""Odd but valid input is a 4xx that says what is wrong, never a 500: times out
of range or without an offset, lone surrogates and NUL in text, signed links of the wrong shape.
And what every response carries: nosniff and a Content-Security-Policy."""

import re

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select

from monitor.alerts.links import PURPOSE, AckLinks
from monitor.analyze.holder import LibraryHolder
from monitor.api import create_app
from monitor.db import alerts as alert_store
from monitor.db import events as event_store
from monitor.db.models import Alert
from tests.conftest import api_client
from tests.events.test_scenarios import COMPLAINT, Timeline

SECRET = "hostile-link-secret"


@pytest.fixture
def story(sessions, clock, tmp_path):
    """One complaint published: an event with an alert on it."""
    timeline = Timeline(sessions, clock, tmp_path)
    timeline.publish("forum-a", *COMPLAINT)
    with sessions() as session:
        alert = session.scalar(select(Alert))
        return timeline, alert.id, alert.event_id


@pytest.fixture
def app(db_settings, sessions, clock, tmp_path, story):
    db_settings.link_secret = SECRET
    return create_app(db_settings, sessions, clock=clock, library=LibraryHolder(tmp_path / "keywords"))


@pytest.fixture
def operator(app, sessions, clock):
    return api_client(app, sessions, clock, role="operator")


@pytest.fixture
def reader(db_settings, sessions, clock):
    """A client of an empty database (parameters are checked before any row is read)."""
    return api_client(create_app(db_settings, sessions, clock=clock), sessions, clock, role="viewer")


def problem(response, status=422) -> dict:
    assert response.status_code == status, response.text
    (found,) = response.json()["detail"]
    return found


# -- times -------------------------------------------------------------------------------------

TIME_FILTERS = ["/api/v1/stats", "/api/v1/alerts", "/api/v1/escalations"]
BAD_TIMES = [  # (parameter, value, part of the message)
    ("to", "0001-01-01T00:00:00Z", "must be between 1900-01-01"),  # stats: a week before it overflowed
    ("from", "0001-01-01T00:00:00+00:00", "must be between 1900-01-01"),
    ("to", "9999-12-31T23:59:59-14:00", "and 2200-01-01"),  # has no UTC form in Python
    ("from", "2200-01-01T00:00:01Z", "and 2200-01-01"),
    ("from", "2026-01-01T00:00:00", "needs a time zone offset"),  # naive: in which zone?
    ("to", "2026-01-01T00:00:00", "e.g. 2026-11-23T08:00:00+08:00"),
]


async def test_a_time_out_of_range_or_without_an_offset_is_a_422_naming_it(reader):
    for path in TIME_FILTERS:
        for name, value, says in BAD_TIMES:
            found = problem(await reader.get(path, params={name: value}))
            assert found["loc"] == ["query", name] and says in found["msg"] and found["input"] == value, (path, value)


async def test_times_with_any_offset_inside_the_range_are_answered(reader):
    for path in TIME_FILTERS:
        for params in ({"from": "1900-01-01T00:00:00Z", "to": "2199-12-31T09:59:59-14:00"},
                       {"from": "2026-11-20T00:00:00+08:00", "to": "2026-11-24T00:00:00+05:45"}):
            assert (await reader.get(path, params=params)).status_code == 200, (path, params)


# -- text that cannot be stored ------------------------------------------------------------------

LONE_SURROGATE = '"\\ud800"'  # JSON text: the escape of half a UTF-16 pair, with no other half
NUL = '"a\\u0000b"'


def posts(alert_id: int, event_id: int, text: str) -> list[tuple[str, str, str]]:
    """(path, JSON body with `text` in one field, that field's name) for every text a client sends."""
    return [
        (f"/api/v1/alerts/{alert_id}/notes", f'{{"note": {text}}}', "note"),
        (f"/api/v1/alerts/{alert_id}/acknowledge", f'{{"note": {text}}}', "note"),
        (f"/api/v1/alerts/{alert_id}/assign", f'{{"assignee": {text}}}', "assignee"),
        (f"/api/v1/alerts/{alert_id}/resolve", f'{{"outcome": {text}}}', "outcome"),
        (f"/api/v1/events/{event_id}/level", f'{{"level": "red", "reason": {text}}}', "reason"),
        ("/api/v1/keywords/try", f'{{"title": "标题", "text": {text}}}', "text"),
        ("/api/v1/keywords/try", f'{{"title": {text}, "text": "正文"}}', "title"),
    ]


@pytest.mark.parametrize(("text", "says"), [
    (LONE_SURROGATE, "contains a lone surrogate (U+D800), which is not a character"),
    (NUL, "contains a NUL character (U+0000), which cannot be stored"),
])
async def test_text_with_a_lone_surrogate_or_nul_is_a_422_and_changes_nothing(operator, story, sessions, text, says):
    _, alert_id, event_id = story
    with sessions() as session:
        before = (alert_store.get_alert(session, alert_id=alert_id).status,
                  len(alert_store.actions_of(session, alert_id=alert_id)),
                  len(event_store.escalation_log(session, event_id=event_id)))
    for path, body, field in posts(alert_id, event_id, text):
        response = await operator.post(path, content=body, headers={"Content-Type": "application/json"})
        found = problem(response)
        assert found["loc"] == ["body", field] and found["msg"] == says, path
        assert found["type"] == "text_not_storable"
    with sessions() as session:
        after = (alert_store.get_alert(session, alert_id=alert_id).status,
                 len(alert_store.actions_of(session, alert_id=alert_id)),
                 len(event_store.escalation_log(session, event_id=event_id)))
    assert after == before


async def test_blank_text_where_text_is_required_is_a_422_in_the_documented_shape(operator, story):
    """Found by the schema test once it had data: these came back as {"detail": "..."}, a string
    where the schema promises a list of problems."""
    _, alert_id, _ = story
    for action, body, field, says in [
        ("notes", {"note": " "}, "note", "a note needs text"),
        ("assign", {"assignee": " \t"}, "assignee", "say to whom: an assignee is required"),
        ("resolve", {"outcome": "  "}, "outcome", "say how it ended: an outcome is required to resolve"),
    ]:
        found = problem(await operator.post(f"/api/v1/alerts/{alert_id}/{action}", json=body))
        assert (found["loc"], found["msg"]) == (["body", field], says)
    missing = problem(await operator.post(f"/api/v1/alerts/{alert_id}/notes", json={}))
    assert missing["loc"] == ["body", "note"] and missing["type"] == "missing"


def test_every_body_model_refuses_unstorable_text_even_in_a_field_typed_plain_str():
    """The guard behind `Text`: a future field that forgets the type, or a dict, is still covered."""
    from pydantic import ValidationError

    from monitor.api.schemas import Input

    class Future(Input):
        label: str = ""
        data: dict = {}

    assert Future(label="🔥", data={"k": ["v"]}).label == "🔥"
    for fields, says in [
        ({"label": "a\ud800"}, "label contains a lone surrogate (U+D800)"),
        ({"data": {"k": ["ok", "a\x00"]}}, "data.k[1] contains a NUL character (U+0000)"),
        ({"data": {"\udc00": 1}}, "data (a key) contains a lone surrogate (U+DC00)"),
    ]:
        with pytest.raises(ValidationError, match=re.escape(says)):
            Future(**fields)


async def test_the_422_shows_a_lone_surrogate_as_a_replacement_character(operator, story):
    _, alert_id, _ = story
    response = await operator.post(
        f"/api/v1/alerts/{alert_id}/notes", content='{"note": "核实中\\udfff"}',
        headers={"Content-Type": "application/json"},
    )
    assert problem(response)["input"] == "核实中\ufffd"
    response.content.decode("utf-8")  # the whole answer is UTF-8


async def test_a_surrogate_pair_is_a_character_and_is_kept(operator, story, sessions):
    _, alert_id, _ = story
    response = await operator.post(
        f"/api/v1/alerts/{alert_id}/notes", content='{"note": "\\ud83d\\udd25 火情"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200
    with sessions() as session:
        (note,) = alert_store.actions_of(session, alert_id=alert_id)
    assert note.note == "🔥 火情"


async def test_a_nul_in_the_url_is_a_400_before_any_query(reader):
    for url in ["/api/v1/alerts?q=%00", "/api/v1/outlets/%00", "/api/v1/items?outlet=a%00b", "/api/v1/alerts?region=%00"]:
        response = await reader.get(url)
        assert response.status_code == 400, url
        assert response.json() == {"detail": "the URL contains a NUL character (%00), which no parameter may hold"}


# -- signed acknowledge links of the wrong shape --------------------------------------------------

def signed(payload) -> str:
    """A token signed with the real secret: what a leaked secret or a future bug could produce."""
    return URLSafeTimedSerializer(SECRET, salt=PURPOSE, serializer_kwargs={"ensure_ascii": True}).dumps(payload)


WRONG_SHAPES = [
    {"alert": 2**70, "channel": "duty"},  # no 64-bit id: the database query overflowed
    {"alert": 2**63, "channel": "duty"},
    {"alert": 0, "channel": "duty"},
    {"alert": -1, "channel": "duty"},
    {"alert": "1", "channel": "duty"},
    {"alert": 1.0, "channel": "duty"},
    {"alert": True, "channel": "duty"},
    {"alert": None, "channel": "duty"},
    {"alert": 1},
    {"alert": 1, "channel": ["duty"]},
    {"alert": 1, "channel": ""},
    {"alert": 1, "channel": "\ud800"},
    {"alert": 1, "channel": "a\x00b"},
    {"alert": 1, "channel": "长" * 91},  # the acknowledgement's actor would not fit its column
    [1, "duty"],  # not an object
    "duty",
    1,
    None,
    {},
]


async def test_a_signed_link_of_the_wrong_shape_is_refused_and_acknowledges_nothing(app, story, sessions):
    _, alert_id, _ = story
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as browser:
        for payload in WRONG_SHAPES:
            token = signed(payload)
            for response in (await browser.get(f"/ack/{token}"), await browser.post(f"/ack/{token}")):
                assert response.status_code == 400, payload
                assert "this link is not valid: it does not name one alert and one channel" in response.text
    with sessions() as session:
        assert alert_store.get_alert(session, alert_id=alert_id).status == "new"


async def test_a_link_of_the_right_shape_still_acknowledges(app, story, sessions):
    _, alert_id, _ = story
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as browser:
        assert (await browser.post(f"/ack/{signed({'alert': alert_id, 'channel': '值班群'})}")).status_code == 200
    with sessions() as session:
        assert alert_store.get_alert(session, alert_id=alert_id).status == "acknowledged"


# -- headers on every response ---------------------------------------------------------------------

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


async def test_api_responses_say_nosniff_and_forbid_everything_as_a_document(app, operator):
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    responses = [
        await operator.get("/api/v1/alerts"),  # JSON
        await operator.get("/api/v1/alerts", params={"limit": 0}),  # 422
        await operator.get("/api/v1/alerts/999999"),  # 404
        await anonymous.get("/api/v1/alerts"),  # 401
        await operator.get("/api/v1/alerts?q=%00"),  # 400 from the guard
        await operator.get("/metrics"),  # text/plain
        await operator.get("/openapi.json"),
        await operator.get("/healthz"),
    ]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff", response.url
        assert response.headers["content-security-policy"] == API_CSP, response.url


async def test_the_ack_page_runs_nothing_and_allows_only_its_own_style(app, story):
    import base64
    import hashlib

    _, alert_id, _ = story
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as browser:
        for page in (await browser.get(f"/ack/{AckLinks(SECRET).token(alert_id, 'duty')}"), await browser.get("/ack/bad")):
            assert page.headers["x-content-type-options"] == "nosniff"
            assert page.headers["referrer-policy"] == "no-referrer"  # the token is in the address
            policy = page.headers["content-security-policy"]
            assert "default-src 'none'" in policy and "form-action 'self'" in policy and "script" not in policy
            (style,) = re.findall(r"<style>(.*?)</style>", page.text, re.S)
            digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
            assert f"style-src 'sha256-{digest}'" in policy
            assert "<script" not in page.text


async def test_the_console_keeps_its_own_policy(app):
    from monitor.api.console import CSP

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as browser:
        page = await browser.get("/")
    assert page.headers["content-security-policy"] == CSP
    assert page.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("params", [
    {"since": "0001-01-01T00:00:00+14:00"},
    {"until": "9999-12-31T23:59:59-14:00"},
    {"since": "2026-01-01T00:00:00"},  # no offset
    {"event": "99999999999999999999"},
    {"q": "(" * 300 + '"水务"' + ")" * 300},
    {"q": "!" * 1000 + '"水务"'},
    {"q": " | ".join(f'"词{n}"' for n in range(991))},
])
async def test_search_and_its_export_refuse_odd_queries_with_a_4xx(operator, params):
    """Found by probing after the search endpoints landed: each of these was a 500 (overflow,
    naive time, 64-bit id, recursion) or a second of CPU per request."""
    for path in ("/api/v1/search", "/api/v1/search/export"):
        answer = await operator.get(path, params=params)
        assert answer.status_code == 422, (path, params, answer.status_code, answer.text[:200])
        assert answer.json()["detail"]


@pytest.mark.parametrize("until", ["2026-01-01T00:00:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z"])
async def test_trends_refuse_odd_times_with_a_4xx(operator, until):
    answer = await operator.get("/api/v1/trends", params={"until": until})
    assert answer.status_code == 422, answer.text[:200]


async def test_an_unexpected_error_is_json_with_the_security_headers(app, operator):
    def broken():
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/broken", broken)
    answer = await operator.get("/api/v1/broken")
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal error: the server log has the details (request_failed)"}
    assert answer.headers["x-content-type-options"] == "nosniff" and "default-src 'none'" in answer.headers[
        "content-security-policy"]
