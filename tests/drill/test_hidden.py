"""Drill data never counts: not in the weekly figures, the alert feed's default view, the duty
KPIs, search or trends; and a drill's story never mixes with a real one."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from monitor.db import alerts as alert_store
from monitor.db import items as item_store
from monitor.db.models import Event, EventItem, Item, Outlet
from monitor.db.search import search_items
from monitor.db.trends import hourly_counts
from monitor.drill import load_story, start_drill
from monitor.fetch.parsed import ParsedEntry
from monitor.reports.figures import Week, item_rows, weekly_figures
from tests.drill.conftest import report, run_until

ZONE = ZoneInfo("Asia/Shanghai")
REAL = [  # a real water-quality story, and one real item telling the drill's story word for word
    ("forum-hx", "河西的自来水黄得像茶", "河西片区这两天放出来的自来水黄得像茶，还有一股铁锈味，江城水务说是管网冲刷，可是已经三天了，谁敢喝？"),
    ("local-daily", "河西片区自来水发黄三天 江城水务称系管网冲刷", "河西片区多个小区居民反映自来水发黄、有异味已持续三天。江城水务集团表示系管网改造后冲刷所致，将公布水质检测结果。"),
    ("local-tv", "河西片区自来水发黄三天 居民质疑水质安全", "河西片区多个小区自来水发黄、有异味已持续三天，居民质疑水质安全。江城水务集团表示系管网改造后冲刷所致。"),
    ("local-tv", "河西大道水管爆了，水漫到小区里", "刚才河西大道江城水务的主水管爆裂，水冲上路面灌进了锦苑小区地下车库，十几辆车泡在水里，整个片区都停水了，江城水务的人还没到。"),
]


def publish_real(sessions, now):
    with sessions.begin() as session:
        for oid, tier in (("forum-hx", "forum"), ("local-daily", "local_media"), ("local-tv", "local_media")):
            session.add(Outlet(id=oid, name=oid, kind="rss", url=f"http://{oid}.invalid/", tier=tier, region="江城",
                               enabled=False, config={}, interval_seconds=600, error_count=0))
        session.flush()
        for n, (oid, title, text) in enumerate(REAL):
            item_store.store_entries(session, outlet_id=oid, now=now, entries=[
                ParsedEntry(url=f"http://{oid}.invalid/{n}", title=title, text=text, published_at=now - timedelta(minutes=30))
            ])


def counted(pipeline):
    """Everything that counts, as the team sees it."""
    now = pipeline.clock.now()
    with pipeline.sessions() as session:
        week = Week.containing(now, ZONE)
        figures = weekly_figures(session, week=week, zone=ZONE, now=now, ack_target=timedelta(minutes=30))
        figures.pop("generated_at")
        return {
            "figures": figures,
            "item_rows": item_rows(session, week=week, zone=ZONE),
            "feed": [a.id for a in alert_store.list_alerts(session, filters=alert_store.AlertFilter(), limit=100)],
            "kpis": [tuple(r) for r in alert_store.stamps_between(session, start=now - timedelta(days=7),
                                                                  end=now + timedelta(hours=1))],
            "search": [h.id for h in search_items(session, query=None, limit=100).hits],
            "trends": hourly_counts(session, start=now - timedelta(days=1), end=now + timedelta(hours=1), by="tier"),
        }


async def test_drill_data_counts_nowhere_and_never_joins_a_real_story(pipeline, sessions):
    now = pipeline.clock.now()
    publish_real(sessions, now)
    await run_until(pipeline, lambda: True)
    with sessions() as session:
        real_events = {e.id for e in session.scalars(select(Event))}
    assert real_events  # the real stories are events (and the water story alerted)
    before = counted(pipeline)
    assert before["feed"] and before["search"] and before["trends"]

    drill_id = start_drill(sessions, story=load_story("red"), level="red", started_by="test", now=pipeline.clock.now())
    await run_until(pipeline, lambda: report(pipeline, drill_id)["steps"][4]["at"] is not None)
    assert counted(pipeline) == before

    with sessions() as session:
        drill_items = set(session.scalars(select(Item.id).where(Item.drill_id == drill_id)))
        memberships = dict(session.execute(select(EventItem.item_id, EventItem.event_id)).all())
        drill_events = {e.id for e in session.scalars(select(Event).where(Event.drill_id == drill_id))}
        feed = alert_store.list_alerts
        only = [a.event_id for a in feed(session, filters=alert_store.AlertFilter(drills="only"), limit=100)]
        both = feed(session, filters=alert_store.AlertFilter(drills="include"), limit=100)
    # the real retelling stayed in a real event; no drill item joined a real one, nor the reverse
    assert {memberships[i] for i in drill_items} == drill_events and not drill_events & real_events
    assert all(memberships[i] in real_events for i in memberships if i not in drill_items)
    assert only and set(only) <= drill_events and len(both) == len(before["feed"]) + len(only)
