"""Merge and split over HTTP: operators only, a reason required, both events in the answer, the
log entry with who and why, and the clustering stage keeping to it afterwards."""

import pytest

from monitor.api import create_app
from tests.conftest import api_client
from tests.events.test_merge_split import FEES, two_events
from tests.events.test_scenarios import Timeline, reprint


@pytest.fixture
def timeline(sessions, clock, tmp_path):
    return Timeline(sessions, clock, tmp_path)


def clients(db_settings, timeline):
    app = create_app(db_settings, timeline.sessions, clock=timeline.clock)
    return (api_client(app, timeline.sessions, timeline.clock, role="viewer"),
            api_client(app, timeline.sessions, timeline.clock, role="operator"))


async def test_merge_then_split_over_the_api(db_settings, timeline):
    viewer, operator = clients(db_settings, timeline)
    a, b = two_events(timeline)
    assert (await viewer.post(f"/api/v1/events/{a}/merge", json={"other": b, "reason": "同一事件"})).status_code == 403
    merged = await operator.post(f"/api/v1/events/{a}/merge", json={"other": b, "reason": "同一事件"})
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert (body["event"]["id"], body["event"]["item_count"], body["event"]["status"]) == (a, 2, "open")
    assert (body["other"]["status"], body["other"]["merged_into"], body["other"]["item_count"]) == ("merged", a, 0)
    assert (body["entry"]["kind"], body["entry"]["reason"]) == ("merge", "同一事件")
    assert body["entry"]["actor"].startswith("test-operator")
    listed = (await viewer.get("/api/v1/events", params={"status": "merged"})).json()
    assert [e["id"] for e in listed] == [b]

    detail = (await viewer.get(f"/api/v1/events/{a}")).json()
    fee_item = next(i["id"] for i in detail["items"] if i["title"] == FEES[0])
    split = await operator.post(f"/api/v1/events/{a}/split", json={"items": [fee_item], "reason": "另一件事"})
    assert split.status_code == 200, split.text
    body = split.json()
    new = body["other"]["id"]
    assert body["event"]["item_count"] == 1 and body["other"]["item_count"] == 1
    assert body["other"]["first_item_id"] == fee_item and body["other"]["title"] == FEES[0]
    assert body["entry"]["reasons"][0] == f"moved items {fee_item} to new event {new}"

    timeline.publish("local-tv", FEES[0], reprint(FEES[1], 1))  # the running stage keeps to the split
    assert (await viewer.get(f"/api/v1/events/{new}")).json()["item_count"] == 2
    log = (await viewer.get("/api/v1/escalations", params={"kind": "split"})).json()
    assert [(e["event_id"], e["reason"]) for e in log] == [(new, "另一件事"), (a, "另一件事")]
    assert [e["event_id"] for e in (await viewer.get("/api/v1/escalations", params={"kind": "merge"})).json()] == [b, a]


async def test_refusals_say_why(db_settings, timeline):
    _, operator = clients(db_settings, timeline)
    a, b = two_events(timeline)
    cases = [
        (f"/api/v1/events/{a}/merge", {"other": a, "reason": "x"}, 409, "cannot be merged with itself"),
        (f"/api/v1/events/{a}/merge", {"other": 999, "reason": "x"}, 404, "no event with id 999"),
        ("/api/v1/events/999/merge", {"other": a, "reason": "x"}, 404, "no event with id 999"),
        (f"/api/v1/events/{a}/split", {"items": [999], "reason": "x"}, 409, "not items of event"),
        ("/api/v1/events/999/split", {"items": [1], "reason": "x"}, 404, "no event with id 999"),
    ]
    for url, body, status, message in cases:
        response = await operator.post(url, json=body)
        assert (response.status_code, message in response.json()["detail"]) == (status, True), (url, body)
    for url, body, field in [
        (f"/api/v1/events/{a}/merge", {"other": b, "reason": ""}, "reason"),
        (f"/api/v1/events/{a}/merge", {"reason": "x"}, "other"),
        (f"/api/v1/events/{a}/split", {"items": [], "reason": "x"}, "items"),
        (f"/api/v1/events/{a}/split", '{"items": [1], "reason": "x\\ud800"}', "reason"),  # a lone surrogate
    ]:
        response = await (operator.post(url, content=body, headers={"Content-Type": "application/json"})
                          if isinstance(body, str) else operator.post(url, json=body))
        assert response.status_code == 422 and response.json()["detail"][0]["loc"][:2] == ["body", field], body
    await operator.post(f"/api/v1/events/{a}/merge", json={"other": b, "reason": "同一事件"})
    again = await operator.post(f"/api/v1/events/{b}/merge", json={"other": a, "reason": "x"})
    assert again.status_code == 409 and f"merged into event {a}" in again.json()["detail"]
