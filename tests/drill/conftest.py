"""A deployment to drill: the Pipeline object `fenghuo run` runs, with two chat channels on the
outlet farm (127.0.0.1): the duty room's generic webhook, and a WeCom robot whose key was revoked."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest

from monitor.clock import SystemClock
from monitor.drill import drill_report
from monitor.stages.pipeline import Pipeline
from tests.conftest import make_settings
from tests.farm import Reply

NOTIFY = """channels:
  duty: {kind: generic, url_env: DRILL_DUTY_URL}
  leaders: {kind: wecom, url_env: DRILL_LEADERS_URL}
routes:
  orange: [duty, leaders]
  red: [duty, leaders]
"""


@pytest.fixture
async def pipeline(tmp_path, database_url, sessions, farm, monkeypatch):
    notify = tmp_path / "notify.yaml"
    notify.write_text(NOTIFY, encoding="utf-8")
    monkeypatch.setenv("DRILL_DUTY_URL", farm.url("/duty"))
    monkeypatch.setenv("DRILL_LEADERS_URL", farm.url("/leaders"))
    farm.route("/duty", Reply(200, b"{}"))
    # the leaders' robot refuses: its key was revoked (WeCom 93000 invalid webhook url)
    farm.route("/leaders", Reply(200, json.dumps({"errcode": 93000, "errmsg": "invalid webhook url"}).encode()))
    settings = make_settings(tmp_path, database_url=database_url, notify_file=notify, delivery_lease=timedelta(seconds=2))
    pipeline = Pipeline.from_settings(settings, sessions, SystemClock())
    yield pipeline
    await pipeline.close()


async def run_until(pipeline, done, seconds=60):
    """What `fenghuo run` does on its schedule (analyse, group, grade, deliver), until `done`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await pipeline.analyse()
        if done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the drill did not get there in time")


def report(pipeline, drill_id):
    with pipeline.sessions() as session:
        return drill_report(session, drill_id=drill_id, now=pipeline.clock.now())


