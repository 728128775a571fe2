"""GET /api/v1/hotlists: each list's latest snapshot in rank order, with rank history."""

from datetime import timedelta

from monitor.api import create_app
from monitor.config import OutletConfig
from monitor.db import hotlists as hotlist_store
from monitor.db import outlets as outlet_store
from monitor.fetch.jsonfeed import RankedEntry
from tests.conftest import api_client


def weibo(rank: int, title: str, heat: float | None = None) -> RankedEntry:
    return RankedEntry(rank, title, f"https://s.weibo.com/weibo?q=%23{title}%23", heat)


async def test_current_lists_with_rank_history(db_settings, sessions, clock):
    config = OutletConfig(
        id="weibo", name="微博热搜", kind="hotlist", url="https://weibo.com/ajax/side/hotSearch",
        tier="social", mapping="weibo-hot", interval="5m",
    )
    start = clock.now()
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=[config], now=start)
        hotlist_store.record_snapshot(session, outlet_id="weibo", now=start - timedelta(hours=30),
                                      lines=[weibo(40, "某市自来水异味")])
        hotlist_store.record_snapshot(session, outlet_id="weibo", now=start - timedelta(hours=29),
                                      lines=[weibo(1, "冬季供暖开始")])
        hotlist_store.record_snapshot(session, outlet_id="weibo", now=start - timedelta(minutes=5),
                                      lines=[weibo(1, "冬季供暖开始", 900.0), weibo(12, "某市自来水异味", 100.0)])
        hotlist_store.record_snapshot(session, outlet_id="weibo", now=start,
                                      lines=[weibo(1, "冬季供暖开始", 950.0), weibo(7, "某市自来水异味", 300.0)])
    api = api_client(create_app(db_settings, sessions, clock=clock), sessions, clock, role="viewer")

    (hot,) = (await api.get("/api/v1/hotlists")).json()
    assert (hot["outlet_id"], hot["name"], hot["region"]) == ("weibo", "微博热搜", "全国")
    water = hot["entries"][1]
    assert (water["rank"], water["title"], water["first_rank"], water["best_rank"]) == (7, "某市自来水异味", 40, 7)
    assert water["minutes_on_list"] == 5.0  # off the list for a day: a new stint
    assert [(point["rank"], point["heat"]) for point in water["history"]] == [(12, 100.0), (7, 300.0)]  # last 24 h

    longer = (await api.get("/api/v1/hotlists", params={"hours": 48, "outlet": "weibo"})).json()
    assert [point["rank"] for point in longer[0]["entries"][1]["history"]] == [40, 12, 7]
    assert (await api.get("/api/v1/hotlists", params={"outlet": "zhihu"})).json() == []
    assert (await api.get("/api/v1/hotlists", params={"hours": 0})).status_code == 422


async def test_our_entries_carry_their_event_and_level(db_settings, sessions, clock, tmp_path):
    from tests.events.test_hotsignal import HOT_TITLE, OTHER, HotTimeline
    from tests.events.test_scenarios import COMPLAINT

    timeline = HotTimeline(sessions, clock, tmp_path)
    timeline.publish("forum-a", *COMPLAINT)
    timeline.snapshot({OTHER[0]: 1, HOT_TITLE: 7})
    (event,) = timeline.events()
    api = api_client(create_app(db_settings, sessions, clock=clock), sessions, clock, role="viewer")
    (hot,) = (await api.get("/api/v1/hotlists", params={"outlet": "weibo-hot"})).json()
    assert [(e["title"], e["event_id"], e["event_level"]) for e in hot["entries"]] == [
        (OTHER[0], None, None), (HOT_TITLE, event.id, "red"),
    ]
