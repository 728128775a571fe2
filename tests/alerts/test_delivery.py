"""The outbox and the delivery worker against a real webhook receiver on 127.0.0.1."""

import hashlib
import hmac
import json
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from monitor.alerts.delivery import DeliveryWorker
from monitor.alerts.routing import Channel, Routing, load_routing
from monitor.alerts.vendors import Message
from monitor.config import ConfigError
from monitor.db import alerts as alert_store
from monitor.db.models import Alert, Delivery, DeliveryAttempt
from monitor.stages.grouping import EventStage
from tests.events.test_scenarios import COMPLAINT, Timeline, reprint
from tests.farm import Reply

SECRET = "s3cret-signing-key"


@pytest.fixture
def routed(sessions, clock, tmp_path, farm):
    timeline = Timeline(sessions, clock, tmp_path)
    routing = Routing(
        {"duty": Channel("duty", "generic", farm.url("/hook"), SECRET)},
        {"yellow": ["duty"], "orange": ["duty"], "red": ["duty"]},
    )
    timeline.stage = EventStage(sessions, timeline.levels, clock, routing)
    return timeline, routing


@pytest.fixture
async def worker(routed, sessions, clock):
    _timeline, routing = routed
    async with httpx.AsyncClient(timeout=5) as client:
        yield DeliveryWorker(sessions, routing, clock, client, {"yellow": "二级（黄色）", "orange": "三级（橙色）"})


def deliveries(sessions):
    with sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def to_yellow(timeline):
    timeline.publish("forum-a", *COMPLAINT)  # blue: not routed
    timeline.publish("forum-b", COMPLAINT[0], reprint(COMPLAINT[1], 1))  # yellow: routed


async def test_an_escalation_is_pushed_signed_once_and_stamped(routed, worker, farm, sessions):
    timeline, _ = routed
    farm.route("/hook", Reply(200, b"{}"))
    to_yellow(timeline)
    (pending,) = deliveries(sessions)
    assert (pending.status, pending.channel) == ("pending", "duty")  # written with the alert
    assert await worker.run_once() == 1
    path, headers = farm.requests[-1]
    body = json.loads(farm.received[-1])
    assert path == "/hook" and body["alert"]["level"] == "yellow" and body["alert"]["level_label"] == "二级（黄色）"
    # Signed over "<timestamp>.<body>", the timestamp in its own header: a replay is refused.
    stamp = headers["x-fenghuo-timestamp"]
    assert abs(int(stamp) - time.time()) < 60
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + farm.received[-1], hashlib.sha256).hexdigest()
    assert headers["x-fenghuo-signature"] == f"sha256={expected}"
    assert headers["idempotency-key"] == pending.idempotency_key == body["idempotency_key"]
    assert await worker.run_once() == 0 and farm.hits["/hook"] == 1  # sent means sent: never again
    with sessions() as session:
        alert = session.get(Alert, pending.alert_id)
        assert alert.pushed_at == timeline.clock.now()


async def test_a_receiver_that_is_down_is_retried_with_backoff_and_nothing_is_lost(routed, worker, farm, sessions):
    timeline, _ = routed
    farm.route("/hook", Reply(503))
    to_yellow(timeline)
    assert await worker.run_once() == 0
    (delivery,) = deliveries(sessions)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 503")
    assert delivery.next_attempt_at > timeline.clock.now()
    assert await worker.run_once() == 0 and farm.hits["/hook"] == 1  # not before its time
    farm.route("/hook", Reply(200))
    timeline.clock.advance(timedelta(minutes=1))
    assert await worker.run_once() == 1
    with sessions() as session:
        attempts = list(session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)))
    assert [(a.ok, a.http_status) for a in attempts] == [(False, 503), (True, 200)]


async def test_retry_after_is_honoured(routed, worker, farm, sessions):
    timeline, _ = routed
    farm.route("/hook", Reply(429, headers={"Retry-After": "600"}))
    to_yellow(timeline)
    await worker.run_once()
    (delivery,) = deliveries(sessions)
    assert delivery.next_attempt_at >= timeline.clock.now() + timedelta(seconds=600)


async def test_a_worker_that_dies_mid_send_is_taken_over_with_the_same_key(routed, worker, farm, sessions):
    timeline, _ = routed
    farm.route("/hook", Reply(200))
    to_yellow(timeline)
    (claimed,) = worker.claim()  # this worker "dies" after claiming, before recording anything
    assert worker.claim() == []  # leased: nobody else sends it meanwhile
    timeline.clock.advance(timedelta(minutes=3))  # the lease runs out
    assert await worker.run_once() == 1
    (delivery,) = deliveries(sessions)
    assert delivery.status == "sent" and farm.requests[-1][1]["idempotency-key"] == claimed[2]


async def test_noise_cancels_pushes_and_mutes_the_story(routed, worker, farm, sessions):
    timeline, _ = routed
    farm.route("/hook", Reply(200))
    to_yellow(timeline)
    with sessions.begin() as session:
        yellow = session.scalar(select(Alert).where(Alert.level == "yellow"))
        alert_store.act(session, alert_id=yellow.id, action="noise", actor="值班员", now=timeline.clock.now())
    timeline.publish("local-daily", COMPLAINT[0], reprint(COMPLAINT[1], 2))  # orange, but muted
    assert [d.status for d in deliveries(sessions)] == ["cancelled"]
    assert await worker.run_once() == 0 and farm.hits["/hook"] == 0


def test_notify_yaml_reads_credentials_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "notify.yaml"
    path.write_text(
        "channels:\n  duty: {kind: generic, url_env: DUTY_URL, secret_env: DUTY_SECRET}\n"
        "routes:\n  red: [duty]\n", encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="DUTY_URL"):
        load_routing(path)
    monkeypatch.setenv("DUTY_URL", "http://127.0.0.1:9/hook")
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n", encoding="utf-8")
    monkeypatch.setenv("DUTY_SECRET_FILE", str(secret_file))
    routing = load_routing(path)
    assert routing.channels_for("red") == ["duty"] and routing.channels_for("blue") == []
    assert routing.channels["duty"].secret == "from-a-file"
    assert "from-a-file" not in repr(routing) and "127.0.0.1:9" not in repr(routing)
    path.write_text("routes:\n  red: [nowhere]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="names channel 'nowhere'"):
        load_routing(path)


async def test_the_delivery_log_over_the_api(routed, worker, farm, sessions, db_settings):
    from monitor.api import create_app
    from tests.conftest import api_client

    timeline, routing = routed
    farm.route("/hook", Reply(503))
    to_yellow(timeline)
    await worker.run_once()
    api = api_client(create_app(db_settings, sessions, clock=timeline.clock, routing=routing), sessions, timeline.clock, role="viewer")
    (entry,) = (await api.get("/api/v1/deliveries")).json()
    assert (entry["channel"], entry["status"], entry["attempts"]) == ("duty", "pending", 1)
    assert entry["log"][0]["http_status"] == 503 and entry["log"][0]["ok"] is False
    assert farm.url("/hook") not in str(entry)  # the webhook URL is a credential


async def test_a_vendor_refusal_under_http_200_is_a_visible_failure_not_a_success(sessions, clock, tmp_path, farm):
    timeline = Timeline(sessions, clock, tmp_path)
    routing = Routing({"wecom": Channel("wecom", "wecom", farm.url("/wecom"))}, {"yellow": ["wecom"]})
    timeline.stage = EventStage(sessions, timeline.levels, clock, routing)
    farm.route("/wecom", Reply(200, b'{"errcode": 93000, "errmsg": "invalid webhook url"}'))
    to_yellow(timeline)
    async with httpx.AsyncClient(timeout=5) as client:
        worker = DeliveryWorker(sessions, routing, clock, client, {"yellow": "二级（黄色）"})
        assert await worker.run_once() == 0
    (delivery,) = deliveries(sessions)
    assert delivery.status == "failed" and "93000" in delivery.last_error
    with sessions() as session:
        assert session.get(Alert, delivery.alert_id).pushed_at is None  # not pushed, and it says so


async def test_a_channel_at_its_rate_limit_queues_instead_of_dropping(sessions, clock, tmp_path, farm):
    timeline = Timeline(sessions, clock, tmp_path)
    routing = Routing({"wecom": Channel("wecom", "wecom", farm.url("/wecom"), per_minute=2)}, {"blue": ["wecom"]})
    timeline.stage = EventStage(sessions, timeline.levels, clock, routing)
    farm.route("/wecom", Reply(200, b'{"errcode": 0}'))
    stories = [
        ("江城水务集团被曝违规收费 多收居民二次供水费", "多名居民向记者反映，江城水务集团在水费中违规收取二次供水费用，居民愤怒投诉。"),
        ("江城净水厂被指污染物超标排放 环保部门介入", "附近村民举报江城净水厂排放污水超标，江城水务集团回应称正在配合调查，村民非常愤怒。"),
        ("网友曝光江城水务员工态度恶劣 上门抄表还骂人", "视频显示江城水务一名抄表员与居民发生争执并出言不逊，引发网友愤怒，纷纷投诉。"),
    ]
    for title, text in stories:
        timeline.publish("forum-a", title, text)
    assert len(deliveries(sessions)) == 3
    async with httpx.AsyncClient(timeout=5) as client:
        worker = DeliveryWorker(sessions, routing, clock, client, {})
        assert await worker.run_once() == 2  # the third waits for the minute to pass
        waiting = [d for d in deliveries(sessions) if d.status == "pending"]
        assert len(waiting) == 1 and waiting[0].next_attempt_at > clock.now()
        assert await worker.run_once() == 0
        clock.advance(timedelta(seconds=61))
        assert await worker.run_once() == 1
    assert [d.status for d in deliveries(sessions)] == ["sent", "sent", "sent"] and farm.hits["/wecom"] == 3


async def test_unacknowledged_orange_is_pushed_again_to_the_next_group_then_followed_up(sessions, clock, tmp_path, farm):
    timeline = Timeline(sessions, clock, tmp_path)
    routing = Routing(
        {"duty": Channel("duty", "generic", farm.url("/duty")), "leaders": Channel("leaders", "generic", farm.url("/leaders"))},
        {"orange": ["duty"]},
        repeat_after={"orange": timedelta(minutes=30)},
        escalate_to={"orange": ["leaders"]},
    )
    timeline.stage = EventStage(sessions, timeline.levels, clock, routing)
    farm.route("/duty", Reply(200))
    farm.route("/leaders", Reply(200))
    timeline.publish("forum-a", *COMPLAINT)
    timeline.publish("forum-b", COMPLAINT[0], reprint(COMPLAINT[1], 1))
    timeline.publish("local-daily", COMPLAINT[0], reprint(COMPLAINT[1], 2))  # orange
    async with httpx.AsyncClient(timeout=5) as client:
        worker = DeliveryWorker(sessions, routing, clock, client, {"orange": "三级（橙色）"})
        assert await worker.run_once() == 1 and farm.hits["/leaders"] == 0
        clock.advance(timedelta(minutes=20))
        assert await worker.run_once() == 0  # inside the time limit: nothing more
        clock.advance(timedelta(minutes=11))  # 31 minutes, still not acknowledged
        assert await worker.run_once() == 2  # again to duty, and up to the leaders
        assert [json.loads(b)["kind"] for b in farm.received[-2:]] == ["repeat", "repeat"]
        clock.advance(timedelta(minutes=30))
        assert await worker.run_once() == 0  # repeated once, not every sweep
        with sessions.begin() as session:
            orange = session.scalar(select(Alert).where(Alert.level == "orange"))
            alert_store.act(session, alert_id=orange.id, action="acknowledge", actor="值班员张三", now=clock.now())
        assert await worker.run_once() == 2  # both groups hear it is handled
    acks = [json.loads(b) for b in farm.received[-2:]]
    assert {a["kind"] for a in acks} == {"ack"} and farm.hits["/duty"] == 3 and farm.hits["/leaders"] == 2


def test_follow_up_and_repeat_messages_read_as_such():
    from monitor.alerts.vendors import markdown
    from tests.alerts.test_vendors import MESSAGE

    ack = markdown(Message(**{**MESSAGE.__dict__, "kind": "ack", "by": "值班员张三"}), 4096)
    assert ack.startswith("✅ 已确认：三级（橙色）") and "值班员张三" in ack
    done = markdown(Message(**{**MESSAGE.__dict__, "kind": "resolve", "by": "李四", "outcome": "已发布致歉说明"}), 4096)
    assert "已处置" in done and "处置结果：已发布致歉说明" in done
    assert "仍未确认，再次提醒" in markdown(Message(**{**MESSAGE.__dict__, "kind": "repeat"}), 4096)


async def test_a_push_names_the_first_source_and_lists_the_weightiest_reports_first(routed, worker):
    timeline, _ = routed
    timeline.publish("forum-a", *COMPLAINT)
    timeline.publish("central-0", COMPLAINT[0], reprint(COMPLAINT[1], 1))
    timeline.publish("local-daily", COMPLAINT[0], reprint(COMPLAINT[1], 2))
    with timeline.sessions() as session:
        alert = session.scalars(select(Alert).order_by(Alert.id.desc())).first()
    message = worker.message(alert.id, "fire")
    assert message.first_outlet == "forum-a"  # the outlet's name (the test outlets are named by id)
    assert [outlet for outlet, _, _ in message.top_items] == ["central-0", "local-daily", "forum-a"]
    assert all(url.startswith("http://") for _, _, url in message.top_items)
    assert worker.message(alert.id, "ack").top_items == ()  # follow-ups stay short


@pytest.mark.parametrize("status", [401, 404, 410])
async def test_a_receiver_that_refuses_for_good_fails_with_its_words_and_is_not_retried(
        status, routed, worker, farm, sessions):
    timeline, _ = routed
    farm.route("/hook", Reply(status, b"webhook  deleted\nby admin"))
    to_yellow(timeline)
    assert await worker.run_once() == 0
    (delivery,) = deliveries(sessions)
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error == f"HTTP {status}: webhook deleted by admin"
    timeline.clock.advance(timedelta(hours=2))
    assert await worker.run_once() == 0 and farm.hits["/hook"] == 1  # never again


def test_the_documented_receiver_check_accepts_ours_and_refuses_a_replay():
    """The check README.md tells receivers to make, run against what we send."""
    from monitor.alerts.delivery import generic_signature

    body = b'{"version": "1"}'
    now = 1_790_000_000

    def receiver_accepts(headers: dict, body: bytes, at: int) -> bool:
        stamp = headers["X-Fenghuo-Timestamp"]
        if abs(at - int(stamp)) > 300:
            return False  # stale: a replay
        expected = "sha256=" + hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers["X-Fenghuo-Signature"])

    headers = {"X-Fenghuo-Timestamp": str(now), "X-Fenghuo-Signature": generic_signature(SECRET, str(now), body)}
    assert receiver_accepts(headers, body, now + 5)
    assert not receiver_accepts(headers, body, now + 3600)  # the same request an hour later
    assert not receiver_accepts({**headers, "X-Fenghuo-Timestamp": str(now + 3600)}, body, now + 3600)  # re-stamped


# -- rate limits under a burst: counted per HTTP request, per robot ------------------------------

LEVEL_LABELS = {"blue": "一级（蓝色）", "yellow": "二级（黄色）", "orange": "三级（橙色）", "red": "四级（红色）"}


def raise_burst(sessions, clock, levels, channels):
    """Alerts raised straight into the outbox, as the event stage raises them."""
    from monitor.db.models import Escalation, Event

    now = clock.now()
    with sessions.begin() as session:
        for n, level in enumerate(levels):
            event = Event(title=f"突发事件第{n}号", level=level, status="open", first_item_id=n, first_outlet_id="forum-a",
                          first_at=now, opened_at=now, last_item_at=now, item_count=1, metrics={}, updated_at=now)
            session.add(event)
            session.flush()
            escalation = Escalation(event_id=event.id, at=now, kind="escalate", from_level=None, to_level=level,
                                    actor="auto", reason=f"{level}: 测试", reasons=[], metrics={})
            session.add(escalation)
            session.flush()
            alert_store.raise_alert(session, event=event, escalation=escalation, now=now, channels=channels)


class FakeVendor:
    """A vendor that enforces its documented limits: per minute on the test clock (which the
    worker's own count reads), per second on the real one (where the worker paces)."""

    def __init__(self, clock, per_minute, per_second, refusal, ok):
        self.clock, self.per_minute, self.per_second, self.refusal, self.ok = clock, per_minute, per_second, refusal, ok
        self.minute, self.second, self.refused = [], [], 0

    def __call__(self, headers):
        now, real = self.clock.now(), time.monotonic()
        if (self.per_minute and len([t for t in self.minute if now - t < timedelta(minutes=1)]) >= self.per_minute) or (
                self.per_second and len([t for t in self.second if real - t < 1.0]) >= self.per_second):
            self.refused += 1
            return self.refusal
        self.minute.append(now)
        self.second.append(real)
        return self.ok


VENDORS = {  # kind: (per minute, per second, the vendor's "too fast", its "ok", alerts in the burst)
    "wecom": (20, None, Reply(200, b'{"errcode": 45009, "errmsg": "api freq out of limit"}'), Reply(200, b'{"errcode": 0}'), 50),
    "dingtalk": (20, None, Reply(200, b'{"errcode": 130101, "errmsg": "send too fast"}'), Reply(200, b'{"errcode": 0}'), 50),
    "feishu": (100, 5, Reply(200, b'{"code": 11232, "msg": "frequency limited"}'), Reply(200, b'{"code": 0}'), 50),
    "slack": (60, 1, Reply(429, b"rate_limited", {"Retry-After": "1"}), Reply(200, b"ok"), 6),  # 1/s: kept short
}


def _level_of(kind, body):
    text = {"wecom": lambda b: b["markdown"]["content"] if b["msgtype"] == "markdown" else None,
            "dingtalk": lambda b: b["markdown"]["title"], "feishu": lambda b: b["card"]["header"]["title"]["content"],
            "slack": lambda b: b["text"]}[kind](body)
    return None if text is None else next(level for level, label in LEVEL_LABELS.items() if label in text)


@pytest.mark.parametrize("kind", list(VENDORS))
async def test_a_burst_stays_within_the_vendor_limits_and_goes_out_most_severe_first(kind, sessions, clock, farm):
    per_minute, per_second, refusal, ok, count = VENDORS[kind]
    vendor = FakeVendor(clock, per_minute, per_second, refusal, ok)
    farm.route_prefix("/robot", vendor)
    # Two channels on one robot share its limits; red calls everyone (for WeCom: a second request).
    url = farm.url("/robot/send?access_token=t")
    routing = Routing({"duty": Channel("duty", kind, url), "leaders": Channel("leaders", kind, url)},
                      {}, mentions={"red": ["all"]})
    levels = (["yellow", "orange", "red", "blue", "orange"] * count)[:count]
    raise_burst(sessions, clock, levels[: count // 2], ["duty"])
    raise_burst(sessions, clock, levels[count // 2:], ["leaders"])
    async with httpx.AsyncClient(timeout=5) as client:
        worker = DeliveryWorker(sessions, routing, clock, client, LEVEL_LABELS)
        for _ in range(40):
            await worker.run_once()
            if all(d.status == "sent" for d in deliveries(sessions)):
                break
            clock.advance(timedelta(seconds=15))
    assert vendor.refused == 0  # no 45009 / 130101 / 11232 / 429
    assert [d.status for d in deliveries(sessions)] == ["sent"] * count
    with sessions() as session:
        assert all(a.requests == (2 if kind == "wecom" and levels[d.alert_id - 1] == "red" else 1)
                   for a, d in session.execute(select(DeliveryAttempt, Delivery).join(Delivery)))
    rank = ["red", "orange", "yellow", "blue"]
    sent = [level for body in farm.received if (level := _level_of(kind, json.loads(body)))]
    assert sent == sorted(levels, key=rank.index)  # in the order of severity


async def test_one_robots_per_second_pacing_does_not_hold_up_the_others(sessions, clock, farm):
    farm.route("/slack", Reply(200, b"ok"))
    farm.route("/wecom", Reply(200, b'{"errcode": 0}'))
    routing = Routing({"slack": Channel("slack", "slack", farm.url("/slack")),
                       "wecom": Channel("wecom", "wecom", farm.url("/wecom"))}, {})
    raise_burst(sessions, clock, ["yellow"] * 12, ["slack"])  # Slack: about one a second
    raise_burst(sessions, clock, ["yellow"], ["wecom"])  # due last, same level
    async with httpx.AsyncClient(timeout=5) as client:
        worker = DeliveryWorker(sessions, routing, clock, client, LEVEL_LABELS)
        began = time.monotonic()
        await worker.run_once()
        assert time.monotonic() - began < 8  # waited at most its budget (5 s), not 12 s
        assert farm.hits["/wecom"] == 1 and 4 <= farm.hits["/slack"] < 12  # the rest wait their turn
        waiting = [d for d in deliveries(sessions) if d.status == "pending"]
        assert waiting and all(d.next_attempt_at > clock.now() for d in waiting)
        for _ in range(10):
            clock.advance(timedelta(seconds=2))
            await worker.run_once()
    assert [d.status for d in deliveries(sessions)] == ["sent"] * 13 and farm.hits["/slack"] == 12
