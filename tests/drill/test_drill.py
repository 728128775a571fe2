"""Drills (应急演练): a marked story played through the real pipeline (the Pipeline object the
service runs) to real webhook receivers on 127.0.0.1, timed to its acknowledgement, and kept out
of everything that counts."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from monitor.db import alerts as alert_store
from monitor.db import drills as drill_store
from monitor.db.models import Alert, Drill, Event, Item, Outlet
from monitor.drill import load_story, start_drill
from tests.drill.conftest import report, run_until

async def test_a_red_drill_runs_end_to_end_and_reports_every_step(pipeline, farm, sessions):
    drill_id = start_drill(sessions, story=load_story("red"), level="red", started_by="值班长王",
                           now=pipeline.clock.now())
    assert drill_id == 1
    first = report(pipeline, drill_id)
    assert first["items"] == 9 and first["waiting_for"].startswith("the analysis stage")

    await run_until(pipeline, lambda: report(pipeline, drill_id)["steps"][4]["at"] is not None)
    before_ack = report(pipeline, drill_id)
    assert before_ack["level_reached"] == "red" and not before_ack["raised_by_drill"]  # graded by levels.yaml
    assert before_ack["waiting_for"] == "the duty officer to acknowledge the alert"

    with sessions.begin() as session:
        alert_store.act(session, alert_id=before_ack["alert"]["id"], action="acknowledge", actor="李四",
                        now=pipeline.clock.now())
    done = report(pipeline, drill_id)
    assert done["done"] and done["acknowledged_by"] == "李四"
    steps = {s["step"]: s for s in done["steps"]}
    assert list(steps) == ["fetched", "analysed", "event", "alert", "push", "acknowledged"]
    seconds = [s["seconds"] for s in done["steps"]]
    assert all(s is not None for s in seconds) and seconds == sorted(seconds)
    channels = {c["channel"]: c for c in done["channels"]}
    assert channels["duty"]["status"] == "sent"
    assert channels["leaders"]["status"] == "failed" and "93000" in channels["leaders"]["error"]
    assert done["failed_channels"] == ["leaders"]

    # every push says it is a drill; so does every item, event and alert
    pushes = [body.decode() for body in farm.received]
    assert pushes and all("演练/DRILL" in json.loads(body)["alert"]["title"] for body in pushes
                          if json.loads(body).get("alert"))
    with sessions() as session:
        assert all(i.title.startswith("【演练/DRILL】") and i.text.startswith("【演练/DRILL】")
                   for i in session.scalars(select(Item)))
        assert all(a.title.startswith("【演练/DRILL】") for a in session.scalars(select(Alert)))
        assert {e.drill_id for e in session.scalars(select(Event))} == {drill_id}


async def test_a_story_graded_below_the_drill_level_is_raised_by_the_drill_and_says_so(pipeline, sessions):
    # the orange story is played as a red drill: levels.yaml grades it orange
    drill_id = start_drill(sessions, story=load_story("orange"), level="red", started_by="test",
                           now=pipeline.clock.now())
    await run_until(pipeline, lambda: report(pipeline, drill_id)["steps"][4]["at"] is not None)
    done = report(pipeline, drill_id)
    assert done["level_reached"] == "red" and done["raised_by_drill"]
    assert done["alert"]["level"] == "red"
    assert any("raised it by hand" in note for note in done["notes"])


async def test_drill_clear_removes_every_trace(pipeline, sessions):
    drill_id = start_drill(sessions, story=load_story("red"), level="red", started_by="test", now=pipeline.clock.now())
    await run_until(pipeline, lambda: report(pipeline, drill_id)["alert"] is not None)
    with sessions.begin() as session:
        cleared = drill_store.clear(session)
    assert cleared == {"drills": 1, "events": cleared["events"], "items": 9} and cleared["events"] >= 1
    with sessions() as session:
        for table in (Drill, Item, Event, Alert):
            assert session.scalar(select(func.count()).select_from(table)) == 0
        assert session.scalar(select(func.count()).select_from(Outlet).where(Outlet.kind == "drill")) == 0


async def test_the_admin_api_starts_a_drill_reports_it_and_clears_it(pipeline, sessions, tmp_path):
    from monitor.api import create_app
    from tests.conftest import api_client

    app = create_app(pipeline.settings, sessions, clock=pipeline.clock)
    async with api_client(app, sessions, pipeline.clock, role="operator") as operator:
        refused = await operator.post("/api/v1/drills/start", json={"level": "red"})
        assert refused.status_code == 403  # drills are the admin's
    async with api_client(app, sessions, pipeline.clock) as admin:
        bad = await admin.post("/api/v1/drills/start", json={"level": "orange", "story": [
            {"at": 0, "outlet": "newspaper", "title": "t", "text": "x"}]})
        assert bad.status_code == 422 and "must be a tier" in bad.text
        started = await admin.post("/api/v1/drills/start", json={"level": "orange"})
        assert started.status_code == 202
        drill_id = started.json()["drill"]
        await run_until(pipeline, lambda: report(pipeline, drill_id)["steps"][4]["at"] is not None)
        read = (await admin.get(f"/api/v1/drills/{drill_id}")).json()
        assert read["started_by"].startswith("test-admin") and read["alert"]["level"] == "orange"
        assert read["failed_channels"] == ["leaders"]
        assert (await admin.get("/api/v1/drills/999")).status_code == 404
        assert [d["drill"] for d in (await admin.get("/api/v1/drills")).json()] == [drill_id]
        assert (await admin.post("/api/v1/drills/clear")).json()["drills"] == 1
        assert (await admin.get(f"/api/v1/drills/{drill_id}")).status_code == 404
