"""Volume anomalies as alerts: a keyword group far above its baseline this hour raises one alert
of its own kind per burst, pushed through the outbox to the channels notify.yaml names for
anomalies (a real webhook on 127.0.0.1 here), with a link to the chart; the open events of the
group get one more reason in their grading log; a quiet group does not alarm on a few items."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from monitor.alerts.delivery import DeliveryWorker
from monitor.alerts.routing import load_routing
from monitor.analyze.trends import hour_of
from monitor.clock import FrozenClock
from monitor.db.models import Delivery, Escalation, Event, EventGroup, VolumeAnomaly
from monitor.stages.trends import VolumeWatch
from tests.api.test_trends import items_at
from tests.farm import Reply

NOW = datetime(2026, 11, 30, 6, 20, tzinfo=UTC)  # Monday 14:20 in Beijing
BEIJING = ZoneInfo("Asia/Shanghai")
LABELS = {"blue": "一级（蓝色）", "yellow": "二级（黄色）", "orange": "三级（橙色）", "red": "四级（红色）"}


@pytest.fixture
def routing(tmp_path, monkeypatch, farm):
    monkeypatch.setenv("DUTY_URL", farm.url("/hook"))
    notify = tmp_path / "notify.yaml"
    notify.write_text("channels: {duty: {kind: generic, url_env: DUTY_URL}}\nanomalies: [duty]\n", encoding="utf-8")
    return load_routing(notify)


def open_event(session, *, title, group, last_item_at, level="yellow"):
    event = Event(title=title, level=level, status="open", first_item_id=1, first_outlet_id="jcrb",
                  first_at=last_item_at, opened_at=last_item_at, last_item_at=last_item_at, item_count=5,
                  metrics={}, updated_at=last_item_at)
    session.add(event)
    session.flush()
    session.add(EventGroup(event_id=event.id, group_id=group))
    return event


@pytest.fixture
def loud_hour(sessions):
    """12 items an hour at this time of day for four weeks; 40 this hour so far; an open event of
    the group with an item this hour, and an older one quiet since yesterday."""
    this_hour = hour_of(NOW)
    with sessions.begin() as session:
        items_at(session, [(this_hour - timedelta(days=d), 12) for d in range(1, 29)] + [(this_hour, 40)])
        active = open_event(session, title="江城水务停水投诉", group="organisation", last_item_at=NOW - timedelta(minutes=5))
        quiet = open_event(session, title="旧事", group="organisation", last_item_at=NOW - timedelta(days=1))
        return active.id, quiet.id


async def test_a_burst_is_pushed_once_with_its_chart_and_noted_on_its_event(sessions, routing, loud_hour, farm):
    active, quiet = loud_hour
    farm.route("/hook", Reply(200, b"{}"))
    clock = FrozenClock(NOW)
    watch = VolumeWatch(sessions, routing, clock, BEIJING, group_names={"organisation": "本单位"},
                        public_url="https://yq.example.org")
    assert watch.run_once() == 1
    clock.current += timedelta(minutes=5)
    assert watch.run_once() == 0  # the same burst: no second alert
    # another worker (a new leader) with nothing in memory does not raise it again either
    assert VolumeWatch(sessions, routing, clock, BEIJING).run_once() == 0

    async with httpx.AsyncClient(timeout=5) as client:
        assert await DeliveryWorker(sessions, routing, clock, client, LABELS).run_once() == 1
    (pushed,) = [json.loads(body) for body in farm.received]
    assert pushed["kind"] == "anomaly"
    notice = pushed["notice"]
    assert notice["title"] == "声量异常：本单位"
    assert notice["lines"][0].startswith("11-30 14:00 起 40 条/小时，同一时段常态约 12 条")
    assert "涉及事件：江城水务停水投诉" in notice["lines"] and not any("旧事" in line for line in notice["lines"])
    assert notice["link"] == "https://yq.example.org/#/trends/group/organisation"

    with sessions() as session:
        (entry,) = session.scalars(select(Escalation).where(Escalation.kind == "anomaly")).all()
        assert entry.event_id == active and entry.from_level == entry.to_level == "yellow"
        assert entry.reason.startswith("声量异常：本单位 11-30 14:00 起 40 条/小时")
        assert session.get(Event, active).level == "yellow"  # a reason, not a grade
        (burst,) = session.scalars(select(VolumeAnomaly)).all()
        assert (burst.series_key, burst.peak_count, burst.expected, burst.events) == ("organisation", 40, 12, [active])


async def test_the_next_loud_hour_extends_the_burst_and_a_later_one_is_a_new_alert(sessions, routing, loud_hour):
    clock = FrozenClock(NOW)
    watch = VolumeWatch(sessions, routing, clock, BEIJING)
    assert watch.run_once() == 1
    next_hour = hour_of(NOW) + timedelta(hours=1)
    with sessions.begin() as session:
        items_at(session, [(next_hour, 60)], first_id=100_000)
    clock.current = next_hour + timedelta(minutes=55)
    assert watch.run_once() == 0
    with sessions() as session:
        (burst,) = session.scalars(select(VolumeAnomaly)).all()
        assert (burst.last_hour, burst.peak_count) == (next_hour, 60)
    # three quiet hours later the group is loud again: a new burst, a new alert
    later = next_hour + timedelta(hours=4)
    with sessions.begin() as session:
        items_at(session, [(later, 50)], first_id=200_000)
    clock.current = later + timedelta(minutes=30)
    assert watch.run_once() == 1
    with sessions() as session:
        assert session.scalar(select(Delivery.idempotency_key).order_by(Delivery.id.desc()).limit(1)) == \
            f"anomaly-group-organisation-{later:%Y%m%d%H}-duty"
        assert len(session.scalars(select(VolumeAnomaly)).all()) == 2


def test_a_quiet_group_does_not_alarm_on_a_few_items(sessions, routing):
    this_hour = hour_of(NOW)
    with sessions.begin() as session:
        items_at(session, [(this_hour, 8)])  # nothing before: expected 0, but 8 < min_count 10
    assert VolumeWatch(sessions, routing, FrozenClock(NOW), BEIJING).run_once() == 0
    with sessions() as session:
        assert session.scalars(select(Delivery)).all() == []


def test_notify_yaml_anomalies_must_name_a_channel(tmp_path):
    from monitor.config import ConfigError

    notify = tmp_path / "notify.yaml"
    notify.write_text("anomalies: [nowhere]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="anomalies names channel 'nowhere'"):
        load_routing(notify)


async def test_the_bursts_over_the_api(sessions, routing, loud_hour, db_settings):
    from monitor.api import create_app
    from tests.conftest import api_client

    clock = FrozenClock(NOW)
    VolumeWatch(sessions, routing, clock, BEIJING).run_once()
    api = api_client(create_app(db_settings, sessions, clock=clock), sessions, clock, role="viewer")
    (burst,) = (await api.get("/api/v1/trends/anomalies", params={"days": 1})).json()
    assert (burst["key"], burst["peak_count"], burst["expected"]) == ("organisation", 40, 12.0)
    assert burst["started_at"].startswith("2026-11-30T06:00") and burst["events"] == [loud_hour[0]]
    assert (await api.get("/api/v1/trends/anomalies", params={"key": "other"})).json() == []


async def test_the_pipeline_checks_volume_and_pushes_through_its_webhook(sessions, loud_hour, farm, tmp_path,
                                                                       monkeypatch, db_settings):
    """End to end as `fenghuo run` wires it: the scheduled step finds the burst and the push
    reaches the group chat's webhook (a real server on 127.0.0.1); the hot-story step ranks."""
    from monitor.db.trends import latest_trending
    from monitor.stages.pipeline import Pipeline

    farm.route("/hook", Reply(200, b"{}"))
    monkeypatch.setenv("DUTY_URL", farm.url("/hook"))
    (tmp_path / "notify.yaml").write_text("channels: {duty: {kind: generic, url_env: DUTY_URL}}\n"
                                          "anomalies: [duty]\n", encoding="utf-8")
    (tmp_path / "trending.yaml").write_text("regions: [江城]\n", encoding="utf-8")
    settings = db_settings.model_copy(update={"notify_file": tmp_path / "notify.yaml", "public_url": "https://yq.example.org",
                                              "trending_file": tmp_path / "trending.yaml"})
    pipeline = Pipeline.from_settings(settings, sessions, FrozenClock(NOW))
    try:
        await pipeline.volume_anomalies()
        await pipeline.volume_anomalies()
        await pipeline.hot_stories()
    finally:
        await pipeline.close()
    (pushed,) = [json.loads(body) for body in farm.received]
    assert pushed["kind"] == "anomaly" and pushed["notice"]["link"] == "https://yq.example.org/#/trends/group/organisation"
    with sessions() as session:
        assert latest_trending(session).items_indexed == 40  # this hour's items; older ones are past the window


def test_each_vendor_shows_an_anomaly_with_its_chart_link():
    from monitor.alerts.vendors import Notice, draft, markdown, slack_text

    notice = Notice("声量异常：本单位", ["11-30 14:00 起 40 条/小时，同一时段常态约 12 条（上限 25.86）"],
                    "同一波异常只提醒一次。", "https://yq.example.org/#/trends/group/organisation", "anomaly")
    assert draft(notice).preview == "声量异常：本单位"
    wecom = markdown(notice, 4096)
    assert wecom.split("\n")[0] == "### 📈 声量异常：本单位"
    assert "[查看声量图](https://yq.example.org/#/trends/group/organisation)" in wecom
    assert "<https://yq.example.org/#/trends/group/organisation|查看声量图>" in slack_text(notice)
