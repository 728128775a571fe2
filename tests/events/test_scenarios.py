"""Stories replayed hour by hour through storage, analysis and the events stage with a
controllable clock; each scenario asserts the level sequence and the escalation log."""

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.analyze.holder import LibraryHolder
from monitor.analyze.sentiment import load_model
from monitor.config import OutletConfig
from monitor.db import events as event_store
from monitor.db import items as item_store
from monitor.db import outlets as outlet_store
from monitor.events.levels import load_levels
from monitor.fetch.parsed import ParsedEntry
from monitor.stages.analysis import Analyser
from monitor.stages.grouping import EventStage

TIERS = {
    "forum-a": "forum", "forum-b": "forum", "forum-c": "forum", "self-1": "self_media",
    "local-daily": "local_media", "local-tv": "local_media", "gov": "government",
    **{f"central-{n}": "central_media" for n in range(3)},
    **{f"portal-{n}": "local_media" for n in range(20)},
}

COMPLAINT = (
    "江城水务又停水了？河西片区三天两次停水没有任何通知",
    "住在河西片区的网友发帖称，三天内小区两次停水，事先没有任何通知，家里老人孩子用水困难，"
    "打江城水务客服电话一直占线。不少网友跟帖表示同样遭遇，质疑江城水务集团管理混乱。",
)


class Timeline:
    def __init__(self, sessions, clock, tmp_path):
        folder = tmp_path / "keywords"
        shutil.copytree(Path(__file__).parents[2] / "keywords", folder)
        self.sessions, self.clock = sessions, clock
        self.analyser = Analyser(sessions, LibraryHolder(folder), load_model(), clock)
        self.levels = load_levels()
        self.stage = EventStage(sessions, self.levels, clock)
        self.count = 0
        configs = [
            OutletConfig(id=oid, name=oid, kind="rss", url=f"http://{oid}.invalid/", tier=tier)
            for oid, tier in TIERS.items()
        ]
        with sessions.begin() as session:
            outlet_store.sync_outlets(session, configs=configs, now=clock.now())

    def publish(self, outlet_id: str, title: str, text: str, after: timedelta = timedelta(minutes=10)):
        self.clock.advance(after)
        self.count += 1
        entry = ParsedEntry(url=f"http://{outlet_id}.invalid/{self.count}", title=title, text=text,
                            published_at=self.clock.now() - timedelta(minutes=2))
        with self.sessions.begin() as session:
            item_store.store_entries(session, outlet_id=outlet_id, entries=[entry], now=self.clock.now())
        self.run()

    def run(self):
        self.analyser.run_once()
        self.stage.run_once()

    def log(self):
        with self.sessions() as session:
            return [(e.event_id, e.kind, e.from_level, e.to_level) for e in event_store.escalation_log(session)]

    def events(self):
        with self.sessions() as session:
            return event_store.all_events(session)


def reprint(text: str, n: int) -> str:
    return f"（转载自网络，编辑{n}）{text}本文来源：网友爆料。"


@pytest.fixture
def timeline(sessions, clock, tmp_path):
    return Timeline(sessions, clock, tmp_path)


def test_a_forum_complaint_that_stays_on_the_forum_stays_blue(timeline):
    timeline.publish("forum-a", *COMPLAINT)
    timeline.publish("forum-a", COMPLAINT[0], reprint(COMPLAINT[1], 1), after=timedelta(hours=2))
    (event,) = timeline.events()
    assert (event.level, event.item_count, event.first_outlet_id) == ("blue", 2, "forum-a")
    assert timeline.log() == [(event.id, "escalate", None, "blue")]


def test_picked_up_by_local_media_goes_yellow_then_orange(timeline):
    timeline.publish("forum-a", *COMPLAINT)
    timeline.publish("forum-b", COMPLAINT[0], reprint(COMPLAINT[1], 1))
    timeline.publish("local-daily", "河西片区停水 " + COMPLAINT[0], reprint(COMPLAINT[1], 2))
    (event,) = timeline.events()
    assert [entry[1:] for entry in timeline.log()] == [
        ("escalate", None, "blue"), ("escalate", "blue", "yellow"), ("escalate", "yellow", "orange"),
    ]
    assert event.metrics["local_media"] and event.metrics["outlets"] == 3


def test_central_media_and_dozens_of_outlets_within_hours_go_red(timeline):
    timeline.publish("forum-a", *COMPLAINT)
    for n, outlet in enumerate(["local-daily", "local-tv", "self-1", "central-0", *[f"portal-{i}" for i in range(12)]]):
        timeline.publish(outlet, COMPLAINT[0], reprint(COMPLAINT[1], n), after=timedelta(minutes=8))
    (event,) = timeline.events()
    levels = [entry[3] for entry in timeline.log()]
    assert levels[0] == "blue" and levels[-1] == "red"
    assert levels == sorted(levels, key=["blue", "yellow", "orange", "red"].index)  # only ever up
    with timeline.sessions() as session:
        red = [e for e in event_store.escalation_log(session) if e.to_level == "red"][0]
    assert "central_media is true" in red.reasons
    assert red.metrics["outlets"] >= 6 and red.metrics["central_media"] is True
    assert event.first_outlet_id == "forum-a"  # 信息溯源: the forum broke it


def test_a_burst_cools_down_closes_and_reopens_when_it_flares(timeline):
    timeline.publish("forum-a", *COMPLAINT)
    timeline.clock.advance(timedelta(hours=25))
    timeline.run()
    (event,) = timeline.events()
    assert event.status == "closed"
    timeline.publish("forum-b", COMPLAINT[0], reprint(COMPLAINT[1], 3), after=timedelta(hours=2))
    (event,) = timeline.events()
    assert event.status == "open" and event.item_count == 2
    # it flared on a second outlet, so it also spread: yellow, logged after the reopening
    assert [entry[1:] for entry in timeline.log()] == [
        ("escalate", None, "blue"), ("close", "blue", "blue"), ("reopen", "blue", "blue"),
        ("escalate", "blue", "yellow"),
    ]


def test_an_unrelated_story_that_merely_mentions_us_raises_no_level(timeline):
    timeline.publish(
        "local-daily", "外地一小区电梯故障困人 居民愤怒投诉物业",
        "居民对物业的处理非常不满，纷纷投诉。另据了解，江城水务集团本周举办水厂开放日，欢迎市民参观。",
    )
    assert [event.level for event in timeline.events()] == [None]
    assert timeline.log() == []


def test_different_stories_about_us_are_different_events(timeline):
    timeline.publish("forum-a", *COMPLAINT)
    timeline.publish("local-daily", "江城水务集团被曝违规收费 多收居民二次供水费",
                     "多名居民向记者反映，江城水务集团在水费中违规收取二次供水费用，涉及上千户。")
    assert len(timeline.events()) == 2


async def test_events_and_the_log_over_the_api(timeline, db_settings):
    from monitor.api import create_app
    from tests.conftest import api_client

    timeline.publish("forum-a", *COMPLAINT)
    timeline.publish("local-daily", COMPLAINT[0], reprint(COMPLAINT[1], 1))
    app = create_app(db_settings, timeline.sessions, clock=timeline.clock)
    async with api_client(app, timeline.sessions, timeline.clock, role="viewer") as api:
        (listed,) = (await api.get("/api/v1/events")).json()
        assert listed["level"] == "yellow" and listed["level_label"] == "二级（黄色）"
        detail = (await api.get(f"/api/v1/events/{listed['id']}")).json()
        assert [item["outlet_id"] for item in detail["items"]] == ["forum-a", "local-daily"]
        assert [h["to_level"] for h in detail["history"]] == ["blue", "yellow"]
        assert detail["spread"][-1]["items"] == 2 and detail["spread"][-1]["outlets"] == 2
        assert detail["spread"][-1]["tiers"] == ["forum", "local_media"]
        assert detail["history"][1]["reasons"] == ["max_risk 99 ≥ 40", "negative_share 1.0 ≥ 0.3", "outlets 2 ≥ 2"]
        log = (await api.get("/api/v1/escalations", params={"event": listed["id"]})).json()
        assert len(log) == 2 and log[0]["actor"] == "auto"
        assert (await api.get("/api/v1/events/9999")).status_code == 404


def test_an_operator_downgrade_holds_until_the_story_grows_past_it(timeline):
    timeline.publish("forum-a", *COMPLAINT)
    timeline.publish("forum-b", COMPLAINT[0], reprint(COMPLAINT[1], 1))  # yellow
    (event,) = timeline.events()
    timeline.stage.set_level(event.id, "blue", actor="值班员张三", reason="已核实：个别小区，已恢复供水")
    timeline.publish("forum-c", COMPLAINT[0], reprint(COMPLAINT[1], 2))  # still only yellow's evidence
    assert timeline.events()[0].level == "blue"
    timeline.publish("local-daily", COMPLAINT[0], reprint(COMPLAINT[1], 3))  # media: orange, past it
    assert [entry[1:] for entry in timeline.log()] == [
        ("escalate", None, "blue"), ("escalate", "blue", "yellow"),
        ("downgrade", "yellow", "blue"), ("escalate", "blue", "orange"),
    ]
    with timeline.sessions() as session:
        manual = event_store.escalation_log(session)[2]
    assert (manual.actor, manual.reason) == ("值班员张三", "已核实：个别小区，已恢复供水")


@pytest.mark.parametrize(
    ("level", "actor", "reason", "message"),
    [
        ("purple", "张三", "理由", "unknown level 'purple'"),
        ("red", "", "理由", "say who"),
        ("red", "张三", " ", "say why"),
        ("blue", "张三", "理由", "already at blue"),
    ],
)
def test_manual_changes_need_a_level_a_name_and_a_reason(timeline, level, actor, reason, message):
    timeline.publish("forum-a", *COMPLAINT)
    (event,) = timeline.events()
    with pytest.raises(event_store.TransitionError, match=message):
        timeline.stage.set_level(event.id, level, actor=actor, reason=reason)
    assert len(timeline.log()) == 1  # nothing half-written


def test_after_a_restart_reprints_still_join_their_story(timeline):
    timeline.publish("forum-a", *COMPLAINT)
    # the service restarts: a new stage rebuilds its index from the database
    timeline.stage = EventStage(timeline.sessions, timeline.levels, timeline.clock)
    assert len(timeline.stage.clusterer) == 1
    timeline.publish("forum-b", COMPLAINT[0], reprint(COMPLAINT[1], 1))
    (event,) = timeline.events()
    assert event.item_count == 2 and event.level == "yellow"


NEWS_REPORT = (  # the same outage, as a local paper tells it: different words, 3% shared shingles
    "河西片区多个小区三天内两次停水 江城水务：系管网抢修",
    "近日，河西片区多个小区居民向本报反映，三天内遭遇两次停水，事前未接到通知，生活受到影响。"
    "江城水务集团回应称，停水系管网紧急抢修所致，今后将改进停水告知方式。",
)


def test_a_forum_post_starts_the_event_and_the_news_report_in_other_words_joins_it(timeline):
    timeline.publish("forum-a", *COMPLAINT)
    timeline.publish("local-daily", *NEWS_REPORT, after=timedelta(hours=3))
    (event,) = timeline.events()
    assert (event.item_count, event.first_outlet_id) == (2, "forum-a")  # 信息溯源: the forum broke it
    with timeline.sessions() as session:
        from monitor.db.models import EventItem

        links = {row.item_id: row.link for row in session.query(EventItem)}
    assert sorted(links.values(), key=str) == [None, "story"]  # not a reprint: joined by the story link


def test_a_story_that_closed_and_flares_again_is_graded_on_the_flare(timeline):
    timeline.publish("forum-a", *COMPLAINT)
    for n, outlet in enumerate(["local-daily", "local-tv", "self-1", *[f"portal-{i}" for i in range(5)]]):
        timeline.publish(outlet, COMPLAINT[0], reprint(COMPLAINT[1], n))
    assert timeline.events()[0].level == "orange"
    timeline.clock.advance(timedelta(hours=25))
    timeline.run()
    assert timeline.events()[0].status == "closed"
    # 40 hours later, central media and three portals pick it up again: four outlets in the flare
    for n, outlet in enumerate(["central-0", "portal-10", "portal-11", "portal-12"]):
        timeline.publish(outlet, COMPLAINT[0], reprint(COMPLAINT[1], 20 + n), after=timedelta(hours=15) if n == 0 else timedelta(minutes=10))
    (event,) = timeline.events()
    assert event.status == "open" and event.item_count == 13
    # counted over everything it ever had it would be red (central media, 13 outlets); the flare
    # has 4 outlets plus a tenth of the 9 before, rounded up (1): orange holds, no red
    assert event.level == "orange"
    assert (event.metrics["outlets"], event.metrics["outlets_total"]) == (5, 13)
    with timeline.sessions() as session:
        reopen = event_store.escalation_log(session, kind="reopen")[0]
    assert any("reprint similarity" in reason for reason in reopen.reasons)


def test_two_incidents_of_one_organisation_in_one_day_stay_two_events(timeline):
    timeline.publish("forum-a", *COMPLAINT)
    timeline.publish("local-daily", "江城水务净水厂氯气泄漏 两名工人送医",
                     "今日下午，江城水务集团江城净水厂加氯间发生氯气泄漏，两名工人吸入后出现不适被送医，"
                     "周边居民未受影响。江城水务表示已排除泄漏点。", after=timedelta(hours=2))
    assert len(timeline.events()) == 2


async def test_the_event_detail_shows_origin_and_spread_path(timeline, db_settings):
    from monitor.api import create_app
    from tests.conftest import api_client

    timeline.publish("forum-a", *COMPLAINT)
    timeline.publish("local-daily", *NEWS_REPORT, after=timedelta(hours=1))
    timeline.publish("local-tv", NEWS_REPORT[0], reprint(NEWS_REPORT[1], 1))
    app = create_app(db_settings, timeline.sessions, clock=timeline.clock)
    async with api_client(app, timeline.sessions, timeline.clock, role="viewer") as api:
        (listed,) = (await api.get("/api/v1/events")).json()
        detail = (await api.get(f"/api/v1/events/{listed['id']}")).json()
    assert (detail["origin"]["outlet_id"], detail["origin"]["tier"]) == ("forum-a", "forum")
    path = detail["spread_path"]
    assert [step["outlet_id"] for step in path] == ["forum-a", "local-daily", "local-tv"]
    assert path[2]["reprint_of"] == path[1]["item_id"] and path[1]["reprint_of"] is None
    assert [t["tier"] for t in detail["tiers_reached"]] == ["forum", "local_media"]


def test_a_batch_cut_off_midway_is_grouped_again_in_full_and_grouping_goes_on(timeline, monkeypatch):
    """A database connection cut between grouping and commit (a failover, a restart) rolls the
    batch back; the grouping index must forget it too, or every later batch looks up an event
    that was never stored and grouping stops for good."""
    timeline.publish("forum-a", *COMPLAINT)
    stage = timeline.stage
    cool_down = stage._cool_down

    def connection_cut(session):
        raise ConnectionError("server closed the connection unexpectedly")

    monkeypatch.setattr(stage, "_cool_down", connection_cut)
    timeline.clock.advance(timedelta(hours=30))  # a new story, not the complaint
    with timeline.sessions.begin() as session:
        item_store.store_entries(session, outlet_id="forum-b", entries=[ParsedEntry(
            url="http://forum-b.invalid/fire", title="江城化工厂发生爆炸 现场浓烟滚滚",
            text="网友爆料，江城化工厂今天下午发生爆炸，现场浓烟滚滚，周边居民紧急疏散，江城水务暂停供水。",
            published_at=timeline.clock.now())], now=timeline.clock.now())
    timeline.analyser.run_once()
    with pytest.raises(ConnectionError):
        stage.run_once()
    assert len(timeline.events()) == 1  # the rollback left only the complaint

    monkeypatch.setattr(stage, "_cool_down", cool_down)
    stage.run_once()  # the same items again, and the next ones
    timeline.publish("local-daily", "江城化工厂爆炸 周边居民疏散",
                     "江城化工厂今天下午发生爆炸，现场浓烟滚滚，周边居民紧急疏散，江城水务暂停供水。记者赶赴现场。")
    events = timeline.events()
    assert len(events) == 2
    fire = max(events, key=lambda event: event.id)
    assert (fire.first_outlet_id, fire.item_count) == ("forum-b", 2)


def test_the_negative_share_counts_the_items_the_analysis_calls_negative_not_their_risk(timeline):
    """One definition of negative: an item counts toward negative_share when its own reasons say
    负面 (the model's call), whatever its risk. A plainly negative post with weak keywords counts; a
    report with strong keywords that names us only in our answer does not."""
    from sqlalchemy import select

    from monitor.db.models import ItemAnalysis

    post = ("河西的自来水黄得像茶", "河西片区这两天放出来的自来水黄得像茶，还有一股铁锈味，江城水务说是管网冲刷，可是已经三天了，谁敢喝？")
    report = ("河西片区自来水发黄三天 江城水务称系管网冲刷",
              "河西片区多个小区居民反映自来水发黄、有异味已持续三天。江城水务集团表示系管网改造后冲刷所致，将公布水质检测结果。")
    timeline.publish("forum-a", *post)
    timeline.publish("local-daily", *report)
    (event,) = timeline.events()
    with timeline.sessions() as session:
        analyses = {a.item_id: a for a in session.scalars(select(ItemAnalysis))}
        members = {m.item_id: m for m in event_store.members(session, event_id=event.id)}
    calls = {n: (analyses[n].risk, analyses[n].reasons[-1]["detail"].split("：")[0], members[n].negative) for n in members}
    (post_id, report_id) = sorted(members)
    assert calls[post_id][0] < 40 and "」负面" in calls[post_id][1] and calls[post_id][2] is True
    assert calls[report_id][0] >= 40 and "未见负面" in calls[report_id][1] and calls[report_id][2] is False
    assert event.metrics["negative_share"] == 0.5
