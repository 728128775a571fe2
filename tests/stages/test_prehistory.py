"""A hot story that later names the watched subject becomes an event with its earlier history.

A road caves in over a burst main: a forum post, a Weibo-style retelling and a repost say what
happened without naming the water company (no keyword hit: no event); hours later the local paper
names 江城水务. The event it opens starts at the forum post (信息溯源), holds the earlier items as
members (they are the story's spread and count in its measures), says so in its history
("关联此前热点 3 条"), and is graded once: one escalation, one push, at the whole story's level.
Storage, analysis (the shipped keyword library), hot stories and the events stage are the real
ones, on both engines.
"""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from monitor.db import events as event_store
from monitor.db import items as item_store
from monitor.db.models import EventItem, Item
from monitor.fetch.parsed import ParsedEntry
from monitor.stages.prehistory import LINK
from monitor.stages.trending import HotStories, TrendingFile
from tests.events.test_scenarios import Timeline, reprint

POST = ("人民路一段马路突然塌了，地下哗哗往外冒水",
        "河西人民路今天早上路面突然塌了，一个大坑，地下的水哗哗往外冒，一辆小车半个轮子陷进去了，"
        "路口已经堵死，有没有人知道怎么回事？")
RETOLD = ("河西人民路路面塌了出现大坑",
          "早高峰河西人民路路面塌了，出现一个大坑，地下水管破了水一直往外冒，一辆小车陷进坑里，交警已经封路。")
NEWS = ("河西人民路路面塌陷 江城水务：地下供水管爆管所致",
        "今日早高峰，河西片区人民路一段路面突然塌陷，形成约两米宽的大坑，一辆小车陷入坑中，大量积水涌出。"
        "江城水务集团回应称，塌陷系地下供水管老化爆管所致，抢修人员已到场，周边居民反映停水半天无人通知。")
CONCERT = ("歌手周某体育中心演唱会门票开售即售罄",
           "歌手周某巡回演唱会体育中心站门票今日中午开售，数万张门票在几分钟内售罄，不少歌迷表示没有抢到票。")


class StoryTimeline(Timeline):
    """The scenario timeline with the leader's hot stories beside the events stage, as the
    pipeline wires them (each run: analyse, then group and grade; the ranking job every so often)."""

    def __init__(self, sessions, clock, tmp_path, *, hot=True):
        super().__init__(sessions, clock, tmp_path)
        self.hot = HotStories(sessions, clock, TrendingFile()) if hot else None
        self.stage.hot = self.hot
        if self.hot is not None:
            self.hot.run_once()  # built: a leader that has led for a while

    def ids(self):
        """outlet → item id (one item per outlet here)."""
        with self.sessions() as session:
            return dict(session.execute(select(Item.outlet_id, Item.id)).all())

    def members(self, event_id):
        with self.sessions() as session:
            return {row.item_id: row.link for row in session.scalars(select(EventItem).where(EventItem.event_id == event_id))}


def tell_the_story(timeline):
    timeline.publish("forum-a", *POST)
    timeline.publish("portal-1", *CONCERT, after=timedelta(minutes=5))
    timeline.publish("self-1", *RETOLD, after=timedelta(minutes=30))
    timeline.publish("portal-2", CONCERT[0], reprint(CONCERT[1], 1), after=timedelta(minutes=5))
    timeline.publish("forum-b", POST[0], reprint(POST[1], 1), after=timedelta(minutes=25))
    assert timeline.events() == []  # nobody named the subject: no event
    timeline.publish("local-daily", *NEWS, after=timedelta(hours=2))


def test_the_event_starts_where_the_hot_story_started(sessions, clock, tmp_path):
    timeline = StoryTimeline(sessions, clock, tmp_path)
    tell_the_story(timeline)
    ids = timeline.ids()
    (event,) = timeline.events()
    post, retold, repost, news = ids["forum-a"], ids["self-1"], ids["forum-b"], ids["local-daily"]
    members = timeline.members(event.id)
    assert set(members) == {post, retold, repost, news}
    assert members[news] is None and {members[i] for i in (post, retold, repost)} == {LINK}
    assert not {ids["portal-1"], ids["portal-2"]} & set(members)  # another hot story is not this one's history
    # 信息溯源: the forum post, when it was posted; the event keeps the title that named us
    assert (event.first_item_id, event.first_outlet_id) == (post, "forum-a")
    assert event.title == NEWS[0] and event.item_count == 4
    # the earlier items are the story's spread: three outlets before the paper, two tiers more
    assert event.metrics["outlets"] == 4 and event.metrics["items"] == 4
    assert event.metrics["tiers"] == ["forum", "local_media", "self_media"]
    with sessions() as session:
        entries = event_store.escalation_log(session)
    kinds = [(e.kind, e.from_level, e.to_level) for e in entries]
    # noted in its history, then graded once at the whole story's level: one escalation, one push
    assert kinds[0] == ("prehistory", None, None) and [k for k in kinds if k[0] == "escalate"] == kinds[1:]
    assert len(kinds) == 2 and kinds[1][2] == event.level == "orange"  # local media, 4 outlets
    assert entries[0].reason == "关联此前热点 3 条"
    assert f"earliest: item {post} from forum-a" in entries[0].reasons[1]


def test_without_the_hot_stories_the_event_starts_at_the_item_that_named_us(sessions, clock, tmp_path):
    """The behaviour before (and in a process that does not lead the hot stories): the baseline."""
    timeline = StoryTimeline(sessions, clock, tmp_path, hot=False)
    tell_the_story(timeline)
    (event,) = timeline.events()
    assert (event.first_outlet_id, event.item_count, event.level) == ("local-daily", 1, "blue")
    assert [e.kind for e in timeline_log(sessions)] == ["escalate"]


def test_hot_stories_not_built_yet_attach_nothing_and_hold_nothing_up(sessions, clock, tmp_path):
    """A new leader's first read of the window runs in the ranking job and takes a while: until
    it is done the events stage opens events as before, without waiting."""
    timeline = StoryTimeline(sessions, clock, tmp_path, hot=False)
    timeline.stage.hot = HotStories(sessions, clock, TrendingFile())  # never run: not built
    tell_the_story(timeline)
    (event,) = timeline.events()
    assert event.first_outlet_id == "local-daily"


def test_a_failing_hot_story_read_does_not_stop_grading(sessions, clock, tmp_path, monkeypatch):
    timeline = StoryTimeline(sessions, clock, tmp_path)

    def broken(now):
        raise RuntimeError("the hot stories' read failed")

    monkeypatch.setattr(timeline.hot, "_read", broken)
    tell_the_story(timeline)
    (event,) = timeline.events()
    assert event.first_outlet_id == "local-daily" and event.level == "blue"


def test_a_later_reprint_of_the_forum_post_joins_the_event(sessions, clock, tmp_path):
    """The attached items are in the events stage's grouping too: the post reposted with the
    company's name joins the event (by MinHash) instead of opening another."""
    timeline = StoryTimeline(sessions, clock, tmp_path)
    tell_the_story(timeline)
    timeline.publish("forum-c", POST[0], "江城水务管的吧？" + POST[1], after=timedelta(minutes=20))
    (event,) = timeline.events()
    assert event.item_count == 5 and event.first_outlet_id == "forum-a"


@pytest.mark.parametrize("paper_stored_first", [True, False], ids=["paper-first", "reprint-first"])
def test_two_items_naming_us_stored_by_one_fetch_make_one_event(sessions, clock, tmp_path, paper_stored_first):
    """A fetch stores its entries at one instant. The first of two items naming the subject opens
    the event; the second, stored beside it, is not its prehistory (it is not earlier) and joins
    the event as itself. It was attached as prehistory and then added again as a member when its
    own turn came: a unique-key error that rolled the batch back, every time, so the events stage
    stopped grading anything (found by bench/trending.py --origins with one group per subject).
    Stored the other way round, the reprint has the lower id but was published later: the batch
    takes the paper first, and the reprint, still to come, is not its history either."""
    timeline = StoryTimeline(sessions, clock, tmp_path)
    timeline.publish("forum-a", *POST)
    timeline.publish("self-1", *RETOLD, after=timedelta(minutes=30))
    timeline.clock.advance(timedelta(hours=2))
    now = timeline.clock.now()
    entries = [
        ParsedEntry(url="http://local-daily.invalid/n", title=NEWS[0], text=NEWS[1],
                    published_at=now - timedelta(minutes=3)),
        ParsedEntry(url="http://portal-1.invalid/n", title=NEWS[0], text=reprint(NEWS[1], 1),
                    published_at=now - timedelta(minutes=2)),
    ]
    stores = [("local-daily", entries[:1]), ("portal-1", entries[1:])]
    with sessions.begin() as session:
        for outlet_id, stored in stores if paper_stored_first else stores[::-1]:
            item_store.store_entries(session, outlet_id=outlet_id, entries=stored, now=now)
    timeline.run()
    ids = timeline.ids()
    (event,) = timeline.events()
    members = timeline.members(event.id)
    assert set(members) == {ids["forum-a"], ids["self-1"], ids["local-daily"], ids["portal-1"]}
    assert members[ids["portal-1"]] != LINK  # joined as a reprint of the paper, not as history
    assert event.first_outlet_id == "forum-a" and event.item_count == 4


def test_story_before_leaves_out_items_stored_at_the_same_instant_after_it(sessions, clock):
    hot = HotStories(sessions, clock, TrendingFile(window=timedelta(hours=6)))
    t0 = clock.now()
    later = t0 + timedelta(hours=2)
    hot.take([(1, *POST, t0, "forum-a", "forum", None),
              (5, *NEWS, later, "local-daily", "local_media", ["organisation"]),
              (6, NEWS[0], reprint(NEWS[1], 1), later, "portal-1", "local_media", ["organisation"])])
    assert hot.story_before(5) == [1] and hot.story_before(6) == [1, 5]


def timeline_log(sessions):
    with sessions() as session:
        return event_store.escalation_log(session)


def test_story_before_lists_the_earlier_items_and_forgets_with_the_window(sessions, clock):
    hot = HotStories(sessions, clock, TrendingFile(window=timedelta(hours=6)))
    t0 = clock.now()
    hot.take([(1, *POST, t0, "forum-a", "forum", None),
              (2, *CONCERT, t0 + timedelta(minutes=1), "portal-1", "local_media", None),
              (3, *RETOLD, t0 + timedelta(minutes=30), "self-1", "self_media", None),
              (4, *NEWS, t0 + timedelta(hours=3), "local-daily", "local_media", ["organisation"])])
    assert hot.story_before(4) == [1, 3] and hot.story_before(3) == [1]
    assert hot.story_before(1) == [] and hot.story_before(2) == [] and hot.story_before(99) == []
    hot.forget(t0 + timedelta(hours=6, minutes=10))  # the post has left the window; the rest has not
    assert hot.story_before(4) == [3]
    hot.forget(t0 + timedelta(hours=10))
    assert hot.story_before(4) == [] and hot._story_of == {}


async def test_the_pipeline_pushes_once_at_the_whole_story_s_level(sessions, farm, tmp_path, monkeypatch,
                                                                   db_settings, clock):
    """As `fenghuo run` wires it: the ranking job builds the hot stories, the analysis job's
    events stage uses them; the duty chat (a real server on 127.0.0.1) gets one push."""
    from monitor.stages.pipeline import Pipeline
    from tests.farm import Reply

    farm.route("/hook", Reply(200, b"{}"))
    monkeypatch.setenv("DUTY_URL", farm.url("/hook"))
    (tmp_path / "notify.yaml").write_text(
        "channels: {duty: {kind: generic, url_env: DUTY_URL}}\n"
        "routes: {blue: [duty], yellow: [duty], orange: [duty], red: [duty]}\n", encoding="utf-8")
    settings = db_settings.model_copy(update={"notify_file": tmp_path / "notify.yaml"})
    pipeline = Pipeline.from_settings(settings, sessions, clock)
    timeline = Timeline(sessions, clock, tmp_path)  # for its outlets and publish; its own stage unused
    timeline.run = lambda: None
    try:
        await pipeline.hot_stories()  # the ranking job: built (empty)
        for outlet, title, text, after in (("forum-a", *POST, 0), ("self-1", *RETOLD, 30),
                                           ("forum-b", POST[0], reprint(POST[1], 1), 25)):
            timeline.publish(outlet, title, text, after=timedelta(minutes=after))
            await pipeline.analyse()
        await pipeline.hot_stories()
        timeline.publish("local-daily", *NEWS, after=timedelta(hours=2))
        await pipeline.analyse()
        await pipeline.analyse()
    finally:
        await pipeline.close()
    (event,) = timeline.events()
    assert event.first_outlet_id == "forum-a" and event.item_count == 4
    pushes = [json.loads(body) for body in farm.received]
    assert len(pushes) == 1, pushes
    assert pushes[0]["kind"] == "fire" and pushes[0]["alert"]["level"] == event.level == "orange"


@pytest.mark.parametrize("wait", [0.05])
def test_a_busy_hot_story_index_is_not_waited_for(sessions, clock, wait):
    hot = HotStories(sessions, clock, TrendingFile())
    hot.run_once()
    with hot._lock:  # the ranking job is reading
        with hot.caught_up(wait=wait) as stories:
            assert stories is None
    with hot.caught_up(wait=wait) as stories:
        assert stories is hot


async def test_the_api_shows_the_origin_and_the_attached_history(sessions, clock, tmp_path, db_settings):
    from monitor.api import create_app
    from tests.conftest import api_client

    timeline = StoryTimeline(sessions, clock, tmp_path)
    tell_the_story(timeline)
    (event,) = timeline.events()
    api = api_client(create_app(db_settings, sessions, clock=clock), sessions, clock, role="viewer")
    detail = (await api.get(f"/api/v1/events/{event.id}")).json()
    assert detail["origin"]["outlet_id"] == "forum-a" and detail["origin"]["tier"] == "forum"
    assert [step["outlet_id"] for step in detail["spread_path"]] == ["forum-a", "self-1", "forum-b", "local-daily"]
    assert [entry["kind"] for entry in detail["history"]][:2] == ["prehistory", "escalate"]
    only = (await api.get("/api/v1/escalations", params={"event": event.id, "kind": "prehistory"})).json()
    assert [entry["reason"] for entry in only] == ["关联此前热点 3 条"]
