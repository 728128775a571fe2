"""Shift handover: when the night shift begins, its officer is @-mentioned in a summary of open
alerts, unacknowledged ones and the level changes of the day shift — once, however many workers
notice the change."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from monitor.alerts.delivery import DeliveryWorker
from monitor.alerts.routing import load_routing
from monitor.db.models import Delivery
from monitor.stages.grouping import EventStage
from monitor.stages.handover import Handover
from tests.alerts.test_roster import ROSTER
from tests.events.test_scenarios import COMPLAINT, Timeline, reprint
from tests.farm import Reply

BEIJING = ZoneInfo("Asia/Shanghai")
LABELS = {"blue": "一级（蓝色）", "yellow": "二级（黄色）", "orange": "三级（橙色）", "red": "四级（红色）"}


@pytest.fixture
def routing(tmp_path, monkeypatch, farm):
    monkeypatch.setenv("DUTY_HOOK", farm.url("/robot/send?access_token=t"))
    (tmp_path / "roster.yaml").write_text(ROSTER, encoding="utf-8")
    notify = tmp_path / "notify.yaml"
    notify.write_text(
        "channels: {duty-room: {kind: dingtalk, url_env: DUTY_HOOK}}\n"
        "routes: {orange: [duty-room]}\nroster: roster.yaml\nmentions: {orange: [on_duty]}\n",
        encoding="utf-8",
    )
    return load_routing(notify)


async def test_the_incoming_officer_gets_a_handover_once(sessions, clock, tmp_path, routing, farm):
    farm.route_prefix("/robot/send", Reply(200, json.dumps({"errcode": 0}).encode()))
    clock.current = datetime(2026, 11, 23, 17, 0, tzinfo=BEIJING)  # Monday, day shift (张三)
    timeline = Timeline(sessions, clock, tmp_path)
    timeline.stage = EventStage(sessions, timeline.levels, clock, routing)
    timeline.publish("forum-a", *COMPLAINT)
    for n, outlet in enumerate(["forum-b", "local-daily"]):
        timeline.publish(outlet, COMPLAINT[0], reprint(COMPLAINT[1], n))  # blue → yellow → orange

    async with httpx.AsyncClient(timeout=5) as client:
        worker = DeliveryWorker(sessions, routing, clock, client, LABELS)
        assert await worker.run_once() == 1  # the orange push, calling the day shift
        orange = json.loads(farm.received[-1])
        assert orange["at"]["atMobiles"] == ["13800000001"] and orange["markdown"]["text"].endswith("@13800000001")

        handover = Handover(sessions, routing, clock, LABELS, "https://yq.example.org")
        assert handover.run_once() == 0  # no shift began just now
        clock.current = datetime(2026, 11, 23, 20, 0, 40, tzinfo=BEIJING)
        assert handover.run_once() == 1
        assert handover.run_once() == 0  # once…
        assert Handover(sessions, routing, clock, LABELS).run_once() == 0  # …even from another worker

        assert await worker.run_once() == 1
    body = json.loads(farm.received[-1])
    text = body["markdown"]["text"]
    assert body["markdown"]["title"] == "交接班：夜班（11-23 20:00）"
    assert "> 未处置预警：三级（橙色） 1" in text
    assert "> 未确认 1 条：" in text and "> · 三级（橙色） 江城水务又停水了" in text
    assert "白班期间 3 次级别变化" in text and "二级（黄色） → 三级（橙色）" in text
    assert "[查看未确认预警](https://yq.example.org/api/v1/alerts?status=new)" in text
    assert body["at"]["atUserIds"] == ["li4"] and text.endswith("@li4")  # the night officer
    with sessions() as session:
        (notice,) = session.scalars(select(Delivery).where(Delivery.kind == "handover")).all()
        assert notice.status == "sent" and notice.idempotency_key == "handover-2026-11-23T20:00+08:00-duty-room"


def test_a_shift_change_noticed_too_late_gets_no_stale_handover(sessions, clock, routing):
    clock.current = datetime(2026, 11, 23, 20, 0, tzinfo=BEIJING) + timedelta(minutes=45)
    assert Handover(sessions, routing, clock, LABELS).run_once() == 0
