"""Hot stories (热点) over the whole intake: items with no keyword hit are grouped into stories by
the events stage's grouping (a reprint and a retelling in other words join the same story), ranked
by growth and breadth, stored for the API; one outlet repeating itself is not a hot story; a story
that mentions a region term is flagged; the grouping holds at most max_items items."""

import random
from datetime import timedelta

import pytest

from monitor.config import ConfigError, OutletConfig
from monitor.db import items as item_store
from monitor.db import outlets as outlet_store
from monitor.fetch.parsed import ParsedEntry
from monitor.stages.trending import HotStories, TrendingFile, load_trending
from tests.events.test_scenarios import COMPLAINT, NEWS_REPORT, TIERS, reprint

CRASH = (
    "南港大桥一货车侧翻 两车道封闭",
    "今天上午9时许，一辆满载钢材的货车在南港大桥由北向南行驶时侧翻，事故造成两条车道封闭，"
    "所幸无人员伤亡。交警部门已到场处置，提醒过往车辆绕行滨江路。",
)
CONCERT = (
    "歌手周某体育中心演唱会门票开售即售罄",
    "歌手周某巡回演唱会体育中心站门票今日中午开售，数万张门票在几分钟内售罄，"
    "不少歌迷表示没有抢到票，二手平台随即出现高价转售。主办方提醒谨防诈骗。",
)


class Intake:
    def __init__(self, sessions, clock):
        self.sessions, self.clock, self.count = sessions, clock, 0
        with sessions.begin() as session:
            outlet_store.sync_outlets(session, configs=[
                OutletConfig(id=oid, name=oid, kind="rss", url=f"http://{oid}.invalid/", tier=tier)
                for oid, tier in TIERS.items()], now=clock.now())

    def publish(self, outlet_id, title, text, after=timedelta(minutes=2)):
        self.clock.advance(after)
        self.count += 1
        entry = ParsedEntry(url=f"http://{outlet_id}.invalid/{self.count}", title=title, text=text,
                            published_at=self.clock.now())
        with self.sessions.begin() as session:
            item_store.store_entries(session, outlet_id=outlet_id, entries=[entry], now=self.clock.now())


@pytest.fixture
def intake(sessions, clock):
    return Intake(sessions, clock)


def test_stories_without_a_keyword_hit_are_grouped_ranked_and_flagged(intake, sessions, clock):
    hot = HotStories(sessions, clock, TrendingFile(regions=["南港"], industries=["水务"]))
    # Two hours ago: a concert story on two outlets, one tier.
    intake.publish("portal-1", *CONCERT)
    intake.publish("portal-2", CONCERT[0], reprint(CONCERT[1], 1))
    intake.publish("local-tv", "市图书馆延长开放时间", "市图书馆自下月起延长周末开放时间至晚上九点，方便市民阅读。")
    # One outlet repeating itself: many items, one outlet.
    for n in range(5):
        intake.publish("self-1", f"今日油价播报第{n}期", f"今日{n}号油价信息汇总，九十二号汽油价格保持不变，第{n}期。")
    intake.clock.advance(timedelta(hours=2))
    # Now: a crash in 南港, from a forum to the local press and central media.
    intake.publish("forum-a", *CRASH)
    for n, outlet in enumerate(["local-daily", "local-tv", "central-0", "portal-3"]):
        intake.publish(outlet, CRASH[0], reprint(CRASH[1], n))
    # And the water outage: a forum post and the local paper's report of it, in other words.
    intake.publish("forum-b", *COMPLAINT)
    intake.publish("local-daily", *NEWS_REPORT)

    assert hot.run_once() == intake.count
    ranking = hot.ranking(clock.now())
    titles = [story["title"] for story in ranking]
    assert titles[0] == CRASH[0]
    crash = ranking[0]
    assert (crash["items"], crash["outlets"], crash["last_hour"]) == (5, 5, 5)
    assert crash["tiers"] == ["central_media", "forum", "local_media"]
    assert crash["flagged"] and crash["terms"] == ["南港"]
    outage = next(story for story in ranking if story["title"] == COMPLAINT[0])
    assert outage["outlets"] == 2 and outage["flagged"] and outage["terms"] == ["水务"]  # the retelling joined
    assert titles.index(COMPLAINT[0]) < titles.index(CONCERT[0])  # quieter, older, narrower: lower
    concert = next(story for story in ranking if story["title"] == CONCERT[0])
    assert not concert["flagged"] and concert["last_hour"] == 0
    assert not any("油价" in title for title in titles)  # one outlet is not a hot story
    assert "市图书馆延长开放时间" not in titles


async def test_the_ranking_is_stored_for_the_api(intake, sessions, clock, db_settings):
    from monitor.api import create_app
    from tests.conftest import api_client

    api = api_client(create_app(db_settings, sessions, clock=clock), sessions, clock, role="viewer")
    assert (await api.get("/api/v1/trending")).json() == {"made_at": None, "items_indexed": 0, "stories": []}
    intake.publish("forum-a", *CRASH)
    intake.publish("local-daily", CRASH[0], reprint(CRASH[1], 1))
    intake.publish("portal-1", *CONCERT)
    intake.publish("portal-2", CONCERT[0], reprint(CONCERT[1], 1))
    HotStories(sessions, clock, TrendingFile(regions=["南港"])).run_once()
    body = (await api.get("/api/v1/trending")).json()
    assert body["items_indexed"] == 4 and [s["title"] for s in body["stories"]] == [CRASH[0], CONCERT[0]]
    (flagged,) = (await api.get("/api/v1/trending", params={"flagged": "true"})).json()["stories"]
    assert flagged["title"] == CRASH[0] and flagged["terms"] == ["南港"]


def test_items_are_read_once_and_the_index_has_a_ceiling(intake, sessions, clock):
    hot = HotStories(sessions, clock, TrendingFile(max_items=1000))
    for n in range(3):
        intake.publish("forum-a", f"第{n}条", f"互不相干的第{n}条内容，编号{n * 7919}。")
    assert hot.run_once() == 3 and hot.run_once() == 0
    hot.take([(10_000 + n, f"标题{n}", f"正文{n}号", clock.now() + timedelta(seconds=n), "forum-a", "forum", None)
              for n in range(1500)])
    hot.forget(clock.now() + timedelta(hours=1))
    assert len(hot) == 1000 and len(hot.grouper) <= 1000
    clock.advance(timedelta(hours=30))  # past the window: everything goes
    hot.forget(clock.now())
    assert len(hot) == 0 and hot.stories == {}


def test_the_story_vocabulary_follows_the_window(sessions, clock):
    """The bigrams of items that left the window are forgotten with them (the vocabulary used to
    keep every bigram ever read), and grouping is the same after the renumbering."""
    rng = random.Random(17)

    def babble(length):
        return "".join(chr(0x4E00 + rng.randrange(6000)) for _ in range(length))

    hot = HotStories(sessions, clock, TrendingFile(window=timedelta(hours=1)))
    t0 = clock.now()
    hot.take([(n, babble(20), babble(120), t0 + timedelta(seconds=n), "forum-a", "forum", None) for n in range(1, 1501)])
    vocabulary = len(hot.grouper.stories._ids)
    assert vocabulary > 100_000
    later = t0 + timedelta(hours=3)
    hot.take([(2000 + n, babble(20), babble(120), later + timedelta(seconds=n), "forum-a", "forum", None)
              for n in range(100)])
    hot.forget(later)  # the first 1,500 leave the window
    assert len(hot) == 100 and len(hot.grouper.stories._ids) < vocabulary / 5
    hot.take([(9001, *COMPLAINT, later + timedelta(minutes=5), "forum-b", "forum", None),
              (9002, *NEWS_REPORT, later + timedelta(minutes=50), "local-daily", "local_media", None),
              (9003, "无关的标题" + babble(10), babble(100), later + timedelta(minutes=51), "forum-c", "forum", None)])
    assert hot.story_before(9002) == [9001] and hot.story_before(9003) == []


def test_trending_yaml_is_validated(tmp_path):
    path = tmp_path / "trending.yaml"
    path.write_text("regions: [江城, 河西]\nindustries: [供水]\nwindow: 12h\n", encoding="utf-8")
    config = load_trending(path)
    assert config.regions == ["江城", "河西"] and config.window == timedelta(hours=12)
    path.write_text("region: [江城]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="region"):
        load_trending(path)


def test_two_stories_sharing_only_a_count_stay_two_hot_stories(sessions, clock):
    """Over the whole intake "two people" links nothing (tests/events/test_stories.py): two
    police reports of one morning stay two stories, not one growing by whatever else says 2."""
    from tests.events.test_stories import LOST_HIKERS, MISSING_PUPILS

    hot = HotStories(sessions, clock, TrendingFile())
    t0 = clock.now()
    hot.take([(1, *MISSING_PUPILS, t0, "portal-1", "local_media", None),
              (2, *LOST_HIKERS, t0 + timedelta(hours=2), "portal-2", "local_media", None)])
    assert hot._story_of[1] != hot._story_of[2] and hot.story_before(2) == []
