"""Blue and yellow alerts batched into digests (notify.yaml `digest`, `quiet_hours`): a storm of
small stories is one message per channel and period, night-time digests wait for the morning,
and orange and red are never held."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from monitor.alerts.delivery import DeliveryWorker
from monitor.alerts.routing import load_routing
from monitor.config import ConfigError
from monitor.db.models import Delivery
from monitor.stages.grouping import EventStage
from tests.events.test_scenarios import COMPLAINT, Timeline, reprint
from tests.farm import Reply

BEIJING = ZoneInfo("Asia/Shanghai")
LABELS = {"blue": "一级（蓝色）", "yellow": "二级（黄色）", "orange": "三级（橙色）", "red": "四级（红色）"}
STORIES = [
    COMPLAINT,
    ("江城水务集团被曝违规收费 多收居民二次供水费",
     "多名居民向记者反映，江城水务集团在水费中违规收取二次供水费用，涉及上千户，居民要求退还。"),
    ("江城水务客服电话长期打不通 市民投诉无门",
     "市民反映拨打江城水务集团客服热线多次无人接听，报修漏水问题一周未得到处理，对服务态度表示强烈不满。"),
    ("江城水务施工占道 解放路拥堵严重商户叫苦",
     "江城水务集团在解放路开挖管道施工，围挡占用两条车道，早晚高峰拥堵严重，附近商户抱怨生意受到影响。"),
]


def routing_file(tmp_path, monkeypatch, farm, extra=""):
    monkeypatch.setenv("DUTY_HOOK", farm.url("/hook"))
    path = tmp_path / "notify.yaml"
    path.write_text(
        "channels: {duty: {kind: generic, url_env: DUTY_HOOK}}\n"
        "routes: {blue: [duty], yellow: [duty], orange: [duty], red: [duty]}\n"
        "digest: {blue: 30m, yellow: 30m}\n" + extra, encoding="utf-8",
    )
    return load_routing(path)


@pytest.fixture
def setup(sessions, clock, tmp_path, monkeypatch, farm):
    def make(extra=""):
        routing = routing_file(tmp_path, monkeypatch, farm, extra)
        timeline = Timeline(sessions, clock, tmp_path)
        timeline.stage = EventStage(sessions, timeline.levels, clock, routing)
        farm.route("/hook", Reply(200, b"{}"))
        return timeline, routing
    return make


def statuses(sessions):
    with sessions() as session:
        return [(d.kind, d.status) for d in session.scalars(select(Delivery).order_by(Delivery.id))]


def posted(farm):
    return [json.loads(body) for body in farm.received]


async def test_a_storm_of_small_stories_is_one_digest(setup, sessions, clock, farm):
    timeline, routing = setup()
    clock.current = datetime(2026, 11, 23, 10, 0, tzinfo=BEIJING)
    for title, text in STORIES:
        timeline.publish("forum-a", title, text, after=timedelta(minutes=1))
    assert statuses(sessions) == [("fire", "held")] * 4
    async with httpx.AsyncClient(timeout=5) as client:
        worker = DeliveryWorker(sessions, routing, clock, client, LABELS, public_url="https://yq.example.org")
        assert await worker.run_once() == 0  # the oldest has waited 4 minutes of 30
        clock.advance(timedelta(minutes=27))
        assert await worker.run_once() == 1
        assert await worker.run_once() == 0  # and only once
    (digest,) = posted(farm)
    assert digest["kind"] == "digest"
    assert digest["notice"]["title"] == "舆情摘要：4 条预警（11-23 10:01 起）"
    assert len(digest["notice"]["lines"]) == 4 and all(line.startswith("一级（蓝色）") for line in digest["notice"]["lines"])
    assert digest["notice"]["link"] == "https://yq.example.org/api/v1/alerts"
    assert statuses(sessions) == [("fire", "batched")] * 4 + [("digest", "sent")]


async def test_orange_is_pushed_at_once_and_the_story_leaves_the_digest(setup, sessions, clock, farm):
    timeline, routing = setup()
    timeline.publish("forum-a", *COMPLAINT)  # blue: held
    timeline.publish("forum-b", COMPLAINT[0], reprint(COMPLAINT[1], 1))  # yellow: held
    timeline.publish("local-daily", COMPLAINT[0], reprint(COMPLAINT[1], 2))  # orange: at once
    async with httpx.AsyncClient(timeout=5) as client:
        worker = DeliveryWorker(sessions, routing, clock, client, LABELS)
        assert await worker.run_once() == 1
        assert posted(farm)[0]["alert"]["level"] == "orange"
        clock.advance(timedelta(hours=1))
        assert await worker.run_once() == 0  # blue and yellow were superseded: nothing to digest
    assert statuses(sessions) == [("fire", "batched"), ("fire", "batched"), ("fire", "sent")]


async def test_quiet_hours_hold_the_digest_until_morning(setup, sessions, clock, farm):
    timeline, routing = setup('quiet_hours: {start: "22:00", end: "07:30"}\n')
    clock.current = datetime(2026, 11, 23, 23, 0, tzinfo=BEIJING)
    timeline.publish("forum-a", *COMPLAINT)
    async with httpx.AsyncClient(timeout=5) as client:
        worker = DeliveryWorker(sessions, routing, clock, client, LABELS)
        clock.current = datetime(2026, 11, 24, 7, 29, tzinfo=BEIJING)
        assert await worker.run_once() == 0
        clock.current = datetime(2026, 11, 24, 7, 30, tzinfo=BEIJING)
        assert await worker.run_once() == 1
    assert posted(farm)[0]["notice"]["title"].startswith("舆情摘要：1 条预警（11-23 23:")


def test_orange_and_red_cannot_be_batched(tmp_path, monkeypatch, farm):
    monkeypatch.setenv("DUTY_HOOK", farm.url("/hook"))
    path = tmp_path / "notify.yaml"
    path.write_text("channels: {duty: {kind: generic, url_env: DUTY_HOOK}}\ndigest: {orange: 30m}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="orange alerts are pushed at once, never batched"):
        load_routing(path)


async def test_a_storm_of_500_reprints_in_a_minute_is_a_handful_of_messages(setup, sessions, clock, farm):
    from monitor.db import items as item_store
    from monitor.fetch.parsed import ParsedEntry
    from tests.events.test_scenarios import TIERS

    timeline, routing = setup()
    outlets = list(TIERS)
    async with httpx.AsyncClient(timeout=5) as client:
        worker = DeliveryWorker(sessions, routing, clock, client, LABELS)
        for batch in range(10):  # 50 reprints every 6 seconds, the pipeline and pushes after each
            clock.advance(timedelta(seconds=6))
            with sessions.begin() as session:
                for n in range(batch * 50, batch * 50 + 50):
                    outlet = outlets[n % len(outlets)]
                    entry = ParsedEntry(url=f"http://{outlet}.invalid/storm/{n}", title=COMPLAINT[0],
                                        text=reprint(COMPLAINT[1], n), published_at=clock.now() - timedelta(seconds=30))
                    item_store.store_entries(session, outlet_id=outlet, entries=[entry], now=clock.now())
            timeline.run()
            await worker.run_once()
        clock.advance(timedelta(minutes=31))  # …and the digest period passes
        await worker.run_once()
    (event,) = timeline.events()
    assert event.item_count == 500 and event.level == "red"
    messages = posted(farm)
    # One push per level change, never one per item: the pushes are exactly the escalations to
    # orange and red (blue and yellow, superseded within the minute, need no digest line).
    urgent = [to for _, kind, _, to in timeline.log() if kind == "escalate" and to in ("orange", "red")]
    assert [m["alert"]["level"] for m in messages if m["kind"] == "fire"] == urgent
    assert urgent[-1] == "red" and 1 <= len(messages) <= 4
