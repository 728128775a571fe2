"""上了热搜 as a level signal: a story of ours on a national hot list is at least orange, in the
top 10 red; each rule fires once, the escalation log says "微博热搜第7位", and the event carries
on_hotlist, best_rank, minutes_on_list and the sentence a push shows. Through storage, analysis
and the events stage (both engines), the hot-list entry found by the story grouping of items."""

from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from monitor.alerts.delivery import DeliveryWorker
from monitor.alerts.routing import NO_ROUTING
from monitor.alerts.vendors import markdown

from monitor.config import OutletConfig
from monitor.db import events as event_store
from monitor.db import hotlists as hotlist_store
from monitor.db import items as item_store
from monitor.db import outlets as outlet_store
from monitor.db.models import Alert
from monitor.events.hotsignal import hotlist_metrics, phrase
from monitor.events.levels import grade, load_levels
from monitor.fetch.parsed import ParsedEntry
from tests.events.test_scenarios import COMPLAINT, TIERS, Timeline

# How Weibo words the same story on its hot search: short, the subject and the happening.
HOT_TITLE = "江城水务河西片区三天两次停水"
OTHER = ["冬季供暖开始", "景区门票涨价", "某地初雪"]


@dataclass
class Line:
    rank: int
    title: str
    url: str
    heat: float | None = None


def weibo_url(title: str) -> str:
    return f"https://s.weibo.com/weibo?q=%23{title}%23"


class HotTimeline(Timeline):
    def __init__(self, sessions, clock, tmp_path):
        super().__init__(sessions, clock, tmp_path)
        configs = [
            *(OutletConfig(id=oid, name=oid, kind="rss", url=f"http://{oid}.invalid/", tier=tier)
              for oid, tier in TIERS.items()),
            OutletConfig(id="weibo-hot", name="微博热搜", kind="hotlist", mapping="weibo-hot", tier="social",
                         url="https://weibo.com/ajax/side/hotSearch", interval="5m"),
            OutletConfig(id="city-hot", name="江城同城热榜", kind="hotlist", mapping="weibo-hot", tier="social",
                         url="https://city.example.cn/hot", interval="5m", region="江城"),
        ]
        with sessions.begin() as session:
            outlet_store.sync_outlets(session, configs=configs, now=clock.now())

    def snapshot(self, ranked: dict[str, int], outlet: str = "weibo-hot", after=timedelta(minutes=5)):
        """One fetch of a hot list, as the crawler records it: its entries as items, its ranks as
        a snapshot; then analysis and the events stage run."""
        self.clock.advance(after)
        lines = [Line(rank, title, weibo_url(title)) for title, rank in ranked.items()]
        entries = [ParsedEntry(url=line.url, title=line.title, text=line.title) for line in lines]
        with self.sessions.begin() as session:
            item_store.store_entries(session, outlet_id=outlet, entries=entries, now=self.clock.now())
            hotlist_store.record_snapshot(session, outlet_id=outlet, lines=lines, now=self.clock.now(),
                                          max_gap=timedelta(minutes=15))
        self.run()

    def escalations(self):
        with self.sessions() as session:
            return [(e.to_level, e.reason, e.reasons) for e in event_store.escalation_log(session, kind="escalate")]


@pytest.fixture
def timeline(sessions, clock, tmp_path):
    return HotTimeline(sessions, clock, tmp_path)


def test_a_story_climbing_a_national_hot_list_goes_orange_then_red_once(timeline):
    timeline.publish("forum-a", *COMPLAINT)
    (event,) = timeline.events()
    assert event.level == "blue" and event.metrics["on_hotlist"] is False

    timeline.snapshot({OTHER[0]: 1, OTHER[1]: 2, HOT_TITLE: 31})
    (event,) = timeline.events()  # the hot-list entry joined the complaint's event, not one of its own
    assert event.level == "orange" and event.item_count == 2
    assert (event.metrics["on_hotlist"], event.metrics["best_national_rank"]) == (True, 31)

    timeline.snapshot({OTHER[0]: 1, HOT_TITLE: 7, OTHER[1]: 8})
    timeline.snapshot({HOT_TITLE: 3, OTHER[0]: 4})  # higher still: red already, nothing fires
    timeline.snapshot({HOT_TITLE: 5, OTHER[0]: 4})
    (event,) = timeline.events()
    assert event.level == "red"
    assert timeline.escalations() == [
        ("blue", "blue: 少量负面信息，尚未形成规模", [f"max_risk {event.metrics['max_risk']} ≥ 40"]),
        ("orange", "微博热搜第31位", ["orange: 上了全国热搜", f"max_risk {event.metrics['max_risk']} ≥ 40",
                                   "best_national_rank 31 ≤ 50"]),
        ("red", "微博热搜第7位", ["red: 全国热搜前十", f"max_risk {event.metrics['max_risk']} ≥ 40",
                               "best_national_rank 7 ≤ 10"]),
    ]
    metrics = event.metrics
    assert (metrics["best_rank"], metrics["minutes_on_list"]) == (3, 15.0)
    assert metrics["hotlist_text"] == "微博热搜第5位（最高第3位），已在榜15分钟"

    timeline.snapshot({OTHER[0]: 1, OTHER[1]: 2})  # off the list: the event hears of it once
    (event,) = timeline.events()
    assert event.metrics["on_hotlist"] is False and event.metrics["best_rank"] == 3
    assert event.metrics["hotlist_text"] == "曾上微博热搜，最高第3位，在榜15分钟"
    assert event.level == "red" and len(timeline.escalations()) == 3


async def test_the_push_says_which_list_which_rank_and_how_long(timeline, sessions, clock):
    timeline.publish("forum-a", *COMPLAINT)
    timeline.snapshot({OTHER[0]: 1, HOT_TITLE: 31})
    timeline.snapshot({HOT_TITLE: 7, OTHER[0]: 8})
    with sessions() as session:
        (red,) = [alert for alert in session.scalars(select(Alert)) if alert.level == "red"]
    async with httpx.AsyncClient() as client:
        worker = DeliveryWorker(sessions, NO_ROUTING, clock, client, timeline.levels.labels)
        message = worker.message(red.id, "fire")
    assert message.reason.startswith("微博热搜第7位; red: 全国热搜前十")
    assert message.hotlist == "微博热搜第7位，已在榜5分钟"
    text = markdown(message, 4096)
    assert "热搜：微博热搜第7位，已在榜5分钟" in text and "依据：微博热搜第7位" in text


def test_the_top_of_a_city_list_is_not_a_national_hot_search(timeline):
    timeline.publish("forum-a", *COMPLAINT)
    timeline.snapshot({HOT_TITLE: 1, OTHER[0]: 2}, outlet="city-hot")
    (event,) = timeline.events()
    assert (event.metrics["on_hotlist"], event.metrics["best_rank"], event.metrics["best_national_rank"]) == (True, 1, None)
    # graded on its spread alone: two outlets (the forum and the city list), all negative
    assert event.level == "yellow" and timeline.escalations()[-1][1].startswith("yellow:")
    assert event.metrics["hotlist_text"] == "江城同城热榜第1位，已在榜0分钟"


def test_hot_list_entries_not_about_us_open_no_event(timeline):
    timeline.snapshot({OTHER[0]: 1, OTHER[1]: 2, OTHER[2]: 3})
    assert timeline.events() == []


# -- the rules on their own ----------------------------------------------------------------------

LEVELS = load_levels()


@pytest.mark.parametrize(
    ("metrics", "level"),
    [
        ({"max_risk": 60, "best_national_rank": 50, "on_hotlist": True}, "orange"),
        ({"max_risk": 60, "best_national_rank": 51}, "blue"),
        ({"max_risk": 60, "best_national_rank": 10}, "red"),
        ({"max_risk": 20, "best_national_rank": 1}, None),  # our good news on the list: no warning
        ({"max_risk": 60, "best_rank": 1, "best_national_rank": None}, "blue"),  # a city's list only
    ],
)
def test_default_hot_list_rules(metrics, level):
    metrics = {"hotlist": {"name": "微博热搜", "best_rank": metrics.get("best_national_rank")}, **metrics}
    assert grade(metrics, LEVELS).level == level


def test_a_spread_grade_as_high_keeps_its_own_reason():
    metrics = {"max_risk": 80, "negative_share": 0.7, "outlets": 6, "items": 9, "central_media": True,
               "best_national_rank": 4, "hotlist": {"name": "微博热搜", "best_rank": 4}}
    assert grade(metrics, LEVELS).reasons[0] == "red: 中央媒体报道、多家媒体跟进，形成热点"


def test_hot_list_rules_can_be_turned_off_and_default_when_missing(tmp_path):
    path = tmp_path / "levels.yaml"
    path.write_text("levels:\n  blue: {any: [[{metric: max_risk, gte: 40}]]}\nhotlists: {}\n", encoding="utf-8")
    assert grade({"max_risk": 60, "best_national_rank": 1}, load_levels(path)).level == "blue"
    path.write_text("levels:\n  blue: {any: [[{metric: max_risk, gte: 40}]]}\n", encoding="utf-8")
    assert grade({"max_risk": 60, "best_national_rank": 1, "hotlist": {"name": "百度热搜", "best_rank": 1}},
                 load_levels(path)).reasons[0] == "百度热搜第1位"


@dataclass
class Presence:
    outlet_id: str
    outlet_name: str
    region: str
    on_list: bool
    best_rank: int
    last_rank: int
    minutes_on_list: float


def test_the_message_names_the_best_national_list():
    city = Presence("city-hot", "江城同城热榜", "江城", True, 1, 1, 200)
    weibo = Presence("weibo-hot", "微博热搜", "全国", True, 7, 7, 42)
    baidu = Presence("baidu-hot", "百度热搜", "全国", False, 12, 15, 95)
    metrics = hotlist_metrics([city, weibo, baidu])
    assert (metrics["on_hotlist"], metrics["best_rank"], metrics["best_national_rank"], metrics["minutes_on_list"]) == (
        True, 1, 7, 200.0)
    assert metrics["hotlist_text"] == "微博热搜第7位，已在榜42分钟"
    assert hotlist_metrics([baidu])["hotlist_text"] == "曾上百度热搜，最高第12位，在榜1小时35分钟"
    assert phrase({"name": "知乎热榜", "on_list": True, "rank": 2, "best_rank": 2, "minutes": 120}) == "知乎热榜第2位，已在榜2小时"
    assert hotlist_metrics([])["on_hotlist"] is False and hotlist_metrics([])["best_rank"] is None
