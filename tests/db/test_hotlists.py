"""The hot-list store on both engines: a story entering, climbing, leaving and coming back, its
time on the list, and the questions the level signal and the API ask."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from monitor.config import OutletConfig
from monitor.db import hotlists as store
from monitor.db import outlets as outlet_store
from monitor.db.models import HotlistRank, HotlistSnapshot

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
WATER = "https://s.weibo.com/weibo?q=%23某市自来水异味%23"


@dataclass
class Line:
    rank: int
    title: str
    url: str
    heat: float | None = None


def line(rank: int, title: str, heat: float | None = None) -> Line:
    return Line(rank, title, f"https://s.weibo.com/weibo?q=%23{title}%23", heat)


@pytest.fixture
def lists(sessions):
    configs = [
        OutletConfig(id=oid, name=name, kind="hotlist", url=url, tier="social", mapping=mapping, interval="5m")
        for oid, name, url, mapping in [
            ("weibo", "微博热搜", "https://weibo.com/ajax/side/hotSearch", "weibo-hot"),
            ("zhihu", "知乎热榜", "https://www.zhihu.com/api/v3/feed/topstory/hot-lists/total", "zhihu-hot"),
        ]
    ]
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=configs, now=T0)
    return sessions


def snapshot(sessions, minutes: float, *lines: Line, outlet: str = "weibo", max_gap=timedelta(minutes=30)):
    with sessions.begin() as session:
        return store.record_snapshot(
            session, outlet_id=outlet, lines=list(lines), now=T0 + timedelta(minutes=minutes), max_gap=max_gap
        )


def status(sessions, **query) -> store.HotlistStatus:
    with sessions() as session:
        return store.hotlist_status(session, **query)


def test_a_story_enters_climbs_and_leaves(lists):
    first = snapshot(lists, 0, line(1, "冬季供暖开始", 900), line(2, "景区门票涨价", 800))
    assert first.entered == ["冬季供暖开始", "景区门票涨价"] and first.left == []
    entered = snapshot(lists, 5, line(1, "冬季供暖开始"), line(2, "景区门票涨价"), line(31, "某市自来水异味", 1e5))
    assert entered.entered == ["某市自来水异味"]
    snapshot(lists, 10, line(7, "某市自来水异味", 5e5), line(1, "冬季供暖开始"))
    left = snapshot(lists, 15, line(3, "某市自来水异味", 9e5), line(1, "冬季供暖开始"))
    assert left.left == [] and left.entered == []
    gone = snapshot(lists, 20, line(1, "冬季供暖开始"))
    assert gone.left == ["某市自来水异味"]

    water = status(lists, urls=[WATER])
    (presence,) = water.presences
    assert (presence.first_rank, presence.best_rank, presence.last_rank) == (31, 3, 3)
    assert presence.first_seen_at == T0 + timedelta(minutes=5)
    assert presence.last_seen_at == T0 + timedelta(minutes=15)
    assert presence.minutes_on_list == 10.0  # seen at 5, 10 and 15
    assert presence.peak_heat == 9e5
    assert (water.on_hotlist, water.best_rank, water.minutes_on_list) == (False, 3, 10.0)

    with lists() as session:
        history = store.rank_history(session, entry_ids=[presence.entry_id])[presence.entry_id]
    assert [(p.at - T0, p.rank, p.heat) for p in history] == [
        (timedelta(minutes=5), 31, 1e5), (timedelta(minutes=10), 7, 5e5), (timedelta(minutes=15), 3, 9e5),
    ]


def test_coming_back_starts_a_new_stint_and_long_gaps_are_capped(lists):
    snapshot(lists, 0, line(5, "某市自来水异味"))
    snapshot(lists, 5, line(4, "某市自来水异味"))  # +5
    snapshot(lists, 10, line(1, "冬季供暖开始"))  # off the list
    back = snapshot(lists, 15, line(9, "某市自来水异味"))  # back: the gap it was away is not counted
    assert back.entered == ["某市自来水异味"]
    snapshot(lists, 75, line(8, "某市自来水异味"), max_gap=timedelta(minutes=15))  # fetcher down 1 h: +15
    (presence,) = status(lists, urls=[WATER]).presences
    assert presence.minutes_on_list == 20.0
    assert presence.on_list and presence.best_rank == 4


def test_one_story_twice_in_a_snapshot_keeps_its_best_rank(lists):
    snapshot(lists, 0, line(9, "某市自来水异味"), line(2, "某市自来水异味"))
    (presence,) = status(lists, urls=[WATER]).presences
    assert presence.first_rank == 2
    with lists() as session:
        assert session.scalar(select(func.count()).select_from(HotlistRank)) == 1


def test_status_finds_a_story_by_link_title_or_terms_across_lists(lists):
    snapshot(lists, 0, line(7, "某市自来水异味"), line(1, "冬季供暖开始"))
    snapshot(lists, 0, Line(2, "如何看待某市自来水出现异味？", "https://www.zhihu.com/question/700000001"), outlet="zhihu")
    snapshot(lists, 42, line(7, "某市自来水异味"), line(1, "冬季供暖开始"))

    by_terms = status(lists, terms=["自来水", "异味"])
    assert [(p.outlet_name, p.last_rank) for p in by_terms.presences] == [("知乎热榜", 2), ("微博热搜", 7)]
    assert (by_terms.on_hotlist, by_terms.best_rank, by_terms.minutes_on_list) == (True, 2, 30.0)  # gap capped at 30

    by_link = status(lists, urls=["https://www.zhihu.com/question/700000001?utm_source=share"])
    assert [p.outlet_id for p in by_link.presences] == ["zhihu"]  # canonical link, tracking dropped
    assert [p.title for p in status(lists, titles=["冬季供暖开始"]).presences] == ["冬季供暖开始"]
    assert status(lists, terms=["自来水", "停水"]).presences == []
    assert status(lists) == store.HotlistStatus(False, None, 0.0, [])
    # Stories last seen before `since` are history, not news.
    assert [p.outlet_id for p in status(lists, terms=["自来水"], since=T0 + timedelta(minutes=1)).presences] == ["weibo"]


def test_terms_with_wildcards_match_literally(lists):
    snapshot(lists, 0, line(1, "100%退款"), line(2, "1000退款"))
    assert [p.title for p in status(lists, terms=["100%"]).presences] == ["100%退款"]


def test_current_lists_in_rank_order_with_history(lists):
    snapshot(lists, 0, line(1, "冬季供暖开始", 900), line(12, "某市自来水异味", 100))
    snapshot(lists, 5, line(4, "某市自来水异味", 300), line(1, "冬季供暖开始", 950), line(2, "景区门票涨价"))
    snapshot(lists, 0, Line(1, "如何看待某市自来水出现异味？", "https://www.zhihu.com/question/1"), outlet="zhihu")
    with lists() as session:
        weibo, zhihu = store.current_hotlists(session, history_since=T0)
        (only_weibo,) = store.current_hotlists(session, history_since=T0 + timedelta(minutes=3), outlet_id="weibo")
    assert (weibo.outlet_name, weibo.taken_at) == ("微博热搜", T0 + timedelta(minutes=5))
    assert [(e.rank, e.presence.title) for e in weibo.entries] == [(1, "冬季供暖开始"), (2, "景区门票涨价"), (4, "某市自来水异味")]
    assert [(p.rank, p.heat) for p in weibo.entries[2].history] == [(12, 100), (4, 300)]
    assert weibo.entries[2].presence.minutes_on_list == 5.0
    assert [p.rank for p in only_weibo.entries[2].history] == [4]
    assert [e.presence.title for e in zhihu.entries] == ["如何看待某市自来水出现异味？"]


def test_an_empty_snapshot_empties_the_list(lists):
    snapshot(lists, 0, line(1, "冬季供暖开始"))
    empty = snapshot(lists, 5)
    assert empty.left == ["冬季供暖开始"]
    with lists() as session:
        (current,) = store.current_hotlists(session, history_since=T0)
        assert current.entries == []
        assert session.scalar(select(func.count()).select_from(HotlistSnapshot)) == 2
    assert status(lists, titles=["冬季供暖开始"]).on_hotlist is False


def test_old_rank_history_is_pruned_and_the_story_summary_kept(lists):
    snapshot(lists, 0, line(9, "某市自来水异味"))
    snapshot(lists, 5, line(2, "某市自来水异味"))
    snapshot(lists, 10, line(4, "某市自来水异味"))
    with lists.begin() as session:
        assert store.prune_rank_history(session, before=T0 + timedelta(minutes=6)) == 2
    (presence,) = status(lists, urls=[WATER]).presences
    assert (presence.first_rank, presence.best_rank, presence.minutes_on_list) == (9, 2, 10.0)
    with lists() as session:
        history = store.rank_history(session, entry_ids=[presence.entry_id])[presence.entry_id]
        assert [point.rank for point in history] == [4]
        assert session.scalar(select(func.count()).select_from(HotlistSnapshot)) == 1
    # The next snapshot still counts time on the list from the latest one kept.
    snapshot(lists, 15, line(3, "某市自来水异味"))
    assert status(lists, urls=[WATER]).minutes_on_list == 15.0


def test_a_backlog_is_pruned_in_short_batches_oldest_first(lists):
    for minutes in range(0, 30, 5):
        snapshot(lists, minutes, line(minutes // 5 + 1, "某市自来水异味"))
    batches = list(store.prune_rank_history_in_batches(lists, before=T0 + timedelta(minutes=21), batch=2))
    assert batches == [2, 2, 1]
    with lists() as session:
        assert session.scalar(select(func.count()).select_from(HotlistSnapshot)) == 1
        assert [rank for (rank,) in session.execute(select(HotlistRank.rank))] == [6]


def test_the_scheduled_prune_follows_the_retention_setting(lists, database_url, tmp_path):
    """The service's hourly retention job (Pipeline.retention) prunes what the setting says."""
    from monitor.clock import FrozenClock
    from monitor.db.leadership import Leadership
    from monitor.stages.pipeline import Pipeline
    from tests.conftest import make_settings

    snapshot(lists, 0, line(1, "某市自来水异味"))
    snapshot(lists, 60 * 24 * 2, line(1, "某市自来水异味"))

    def pipeline(retention: str) -> Pipeline:
        settings = make_settings(tmp_path, database_url=database_url, hotlist_history_retention=retention)
        clock = FrozenClock(T0 + timedelta(days=2, minutes=1))
        return Pipeline(lists, settings, clock, None, None, None, None, Leadership(lists.kw["bind"]), None, None, None, None)

    assert pipeline("off").prune_hotlist_history() == 0
    kept = pipeline("1d")
    assert kept.prune_hotlist_history() == 1 and kept.prune_hotlist_history() == 0
    kept.leadership.release()


def test_the_per_run_question_does_not_scan_the_rank_history(lists, database_url):
    """events_seen_on_hotlists runs every analysis interval: it must search the recent snapshots
    by index and their ranks by key, never scan hotlist_ranks (which holds every snapshot kept)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the plan is SQLite's; PostgreSQL plans by its statistics")
    from sqlalchemy import event

    snapshot(lists, 0, line(1, "某市自来水异味"))
    engine = lists.kw["bind"]
    seen = []
    listener = lambda conn, cursor, statement, parameters, context, many: seen.append((statement, parameters))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with lists() as session:
            assert store.events_seen_on_hotlists(session, since=T0) == set()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    (statement, parameters), = [(s, p) for s, p in seen if "hotlist_ranks" in s]
    with engine.connect() as connection:
        plan = " | ".join(row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
    assert "SCAN hotlist_ranks" not in plan and "SCAN hotlist_snapshots" not in plan, plan
