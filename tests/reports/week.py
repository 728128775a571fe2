"""A fixture week, 2026-W47 (Mon 16 – Sun 22 November, Beijing time), written straight into the
tables so that every figure of the report can be worked out by hand (test_figures.py does).

Outlets: 人民日报 (central, 北京), 江城日报 (local, 江城), 江城论坛 (forum, 江城), 江城市政府网
(government, no region).

This week, items by first-seen time (Beijing), their keyword groups and negative probability:
  1 Mon 09:00 forum       incident+organisation 0.90  event A
  2 Mon 11:00 city-daily  incident+organisation 0.80  event A
  3 Tue 08:00 people      incident+organisation 0.70  event A
  4 Tue 10:00 gov         organisation          0.20  (no event)
  5 Wed 14:00 city-daily  organisation          0.45  event B
  6 Thu 20:00 forum       no hit                0.90
  7 Sun 23:30 forum       leaders               0.65  event B
  8 Fri 12:00 forum       not analysed yet
  and one item at Mon 23 Nov 00:00, which belongs to the next week.
Last week (W46): p1 Sun 15 Nov 23:59 forum incident 0.9 (event C); p2 Tue 10 Nov city-daily
organisation 0.1 (event D); p3 Thu 12 Nov forum no hit.

Events: A (forum, first published Mon 08:50) blue 09:05 → orange 11:05 → red Tue 08:05;
B (city-daily, first published Wed 13:50) yellow Wed 14:05; C orange on Thu 12 Nov (nothing this
week); D blue on Tue 10 Nov, closed Tue 17 Nov 10:00 (a level change this week).
Alerts: a1 blue (superseded), a2 orange acknowledged after 15 min (superseded), a3 red
acknowledged after 55 min and resolved by 王值班, b1 yellow new; last week c1 orange
(acknowledged after 10 min), d1 blue resolved.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.db.models import Alert, Escalation, Event, EventItem, Item, ItemAnalysis, Outlet

BEIJING = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=BEIJING)  # the Monday morning the report is made


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BEIJING)


OUTLETS = [
    ("people", "人民日报", "central_media", "北京"),
    ("city-daily", "江城日报", "local_media", "江城"),
    ("forum", "江城论坛", "forum", "江城"),
    ("gov", "江城市政府网", "government", ""),
]

# id, outlet, first seen, groups (None: not analysed), negative probability, event
ITEMS = [
    (1, "forum", at(16, 9), ("incident", "organisation"), 0.90, "A"),
    (2, "city-daily", at(16, 11), ("incident", "organisation"), 0.80, "A"),
    (3, "people", at(17, 8), ("incident", "organisation"), 0.70, "A"),
    (4, "gov", at(17, 10), ("organisation",), 0.20, None),
    (5, "city-daily", at(18, 14), ("organisation",), 0.45, "B"),  # neutral: below the call (0.5), at or above 0.4
    (6, "forum", at(19, 20), (), 0.90, None),
    (7, "forum", at(22, 23, 30), ("leaders",), 0.65, "B"),
    (8, "forum", at(20, 12), None, None, None),
    (9, "forum", at(23, 0), ("incident",), 0.95, None),  # next week
    (11, "forum", at(15, 23, 59), ("incident",), 0.90, "C"),
    (12, "city-daily", at(10, 10), ("organisation",), 0.10, "D"),
    (13, "forum", at(12, 10), (), 0.30, None),
]

TITLES = {
    "A": "江城水务管网爆裂致多个小区停水", "B": "网传江城水务负责人不当言论", "C": "江城水务水质投诉", "D": "江城水务开放日",
}


def load_week(session) -> None:
    for outlet_id, name, tier, region in OUTLETS:
        session.add(Outlet(id=outlet_id, name=name, kind="rss", url=f"http://{outlet_id}.invalid/feed",
                           tier=tier, region=region, enabled=True, config={}, interval_seconds=600))
    session.flush()
    for item_id, outlet_id, seen, groups, negative, _ in ITEMS:
        url = f"http://{outlet_id}.invalid/{item_id}"
        session.add(Item(
            id=item_id, outlet_id=outlet_id, url=url, canonical_url=url,
            url_hash=hashlib.sha256(url.encode()).hexdigest(), content_hash=f"{item_id:064d}",
            title=f"条目{item_id}", text="正文", language="zh", published_at=seen - timedelta(minutes=10),
            first_seen_at=seen,
        ))
        if groups is not None:
            session.add(ItemAnalysis(
                item_id=item_id, library_version="v1", model="fixture", negative_prob=negative,
                item_negative_prob=negative, keyword_strength=float(len(groups)), risk=int(negative * 100),
                hits=[{"rule": g, "group": g, "weight": 1.0, "terms": [g], "spans": [[0, 2]], "in_title": True}
                      for g in groups],
                reasons=[], analysed_at=seen + timedelta(minutes=1),
            ))
    session.flush()

    def event(key, event_id, first_item, outlet, first_at, level, status, count, metrics, closed_at=None):
        session.add(Event(
            id=event_id, title=TITLES[key], level=level, status=status, first_item_id=first_item,
            first_outlet_id=outlet, first_at=first_at, opened_at=first_at + timedelta(minutes=10),
            last_item_at=first_at, closed_at=closed_at, item_count=count, metrics=metrics, updated_at=first_at,
        ))

    event("A", 1, 1, "forum", at(16, 8, 50), "red", "open", 3,
          {"outlets": 3, "tiers": ["forum", "local_media", "central_media"], "negative_share": 1.0})
    event("B", 2, 5, "city-daily", at(18, 13, 50), "yellow", "open", 2,
          {"outlets": 2, "tiers": ["local_media", "forum"], "negative_share": 0.5})
    event("C", 3, 11, "forum", at(12, 9), "orange", "open", 1, {"outlets": 1, "tiers": ["forum"], "negative_share": 1.0})
    event("D", 4, 12, "city-daily", at(10, 9, 50), "blue", "closed", 1,
          {"outlets": 1, "tiers": ["local_media"], "negative_share": 0.0}, closed_at=at(17, 10))
    session.flush()
    events = {"A": 1, "B": 2, "C": 3, "D": 4}
    for item_id, *_, key in ITEMS:
        if key:
            session.add(EventItem(item_id=item_id, event_id=events[key], joined_at=at(16, 9), similarity=1.0))

    log = [  # id, event, at, kind, from, to, actor
        (1, "A", at(16, 9, 5), "escalate", None, "blue", "auto"),
        (2, "A", at(16, 11, 5), "escalate", "blue", "orange", "auto"),
        (3, "A", at(17, 8, 5), "escalate", "orange", "red", "auto"),
        (4, "B", at(18, 14, 5), "escalate", None, "yellow", "auto"),
        (5, "C", at(12, 10), "escalate", None, "orange", "auto"),
        (6, "D", at(10, 10, 5), "escalate", None, "blue", "auto"),
        (7, "D", at(17, 10), "close", "blue", "blue", "auto"),
    ]
    for entry_id, key, moment, kind, before, after, actor in log:
        session.add(Escalation(id=entry_id, event_id=events[key], at=moment, kind=kind, from_level=before,
                               to_level=after, actor=actor, reason=f"{kind} {after}", reasons=[], metrics={}))
    session.flush()

    def alert(alert_id, key, escalation, level, status, published, alerted, acked=None, resolved=None, **extra):
        session.add(Alert(
            id=alert_id, event_id=events[key], escalation_id=escalation, level=level, title=TITLES[key],
            reason="fixture", status=status, published_at=published, fetched_at=published + timedelta(minutes=10),
            analysed_at=published + timedelta(minutes=11), alerted_at=alerted, acknowledged_at=acked,
            resolved_at=resolved, **extra,
        ))

    alert(1, "A", 1, "blue", "superseded", at(16, 8, 50), at(16, 9, 5))
    alert(2, "A", 2, "orange", "superseded", at(16, 8, 50), at(16, 11, 5), acked=at(16, 11, 20))
    alert(3, "A", 3, "red", "resolved", at(16, 8, 50), at(17, 8, 5), acked=at(17, 9), resolved=at(17, 12),
          assignee="王值班", outcome="已发布情况通报")
    alert(4, "B", 4, "yellow", "new", at(18, 13, 50), at(18, 14, 5))
    alert(5, "C", 5, "orange", "acknowledged", at(12, 9), at(12, 10), acked=at(12, 10, 10))
    alert(6, "D", 6, "blue", "resolved", at(10, 9, 50), at(10, 10, 5), resolved=at(10, 12))


def load_reviews(session) -> None:
    """On top of load_week, what the week's reviews (复盘) are counted from:
    - C (orange last week, acknowledged after 10 min) is resolved by 李值班 on Wed 18 Nov 09:00:
      reviewed because it was handled this week, though nothing else of it happened this week;
    - E, new: forum item 14 seen Thu 19 Nov 09:00 (published 10 min before), orange at 09:05, the
      alert marked as noise by 李值班 at 11:00 (115 min: over the playbook's 60 for orange);
    - A gets its lessons written.
    So the reviews are A (red: found in time, accurate, red acknowledged after 55 min against 30:
    late), E (found in time, a false alarm, late) and C (in time, accurate, on time):
    发现及时率 3/3, 预警准确率 2/3, 处置及时率 1/3."""
    from monitor.db.briefs import save_lessons
    from monitor.db.models import AlertAction

    url = "http://forum.invalid/14"
    session.add(Item(id=14, outlet_id="forum", url=url, canonical_url=url,
                     url_hash=hashlib.sha256(url.encode()).hexdigest(), content_hash=f"{14:064d}", title="条目14",
                     text="正文", language="zh", published_at=at(19, 8, 50), first_seen_at=at(19, 9)))
    session.add(ItemAnalysis(item_id=14, library_version="v1", model="fixture", negative_prob=0.9,
                             item_negative_prob=0.9, keyword_strength=1.0, risk=90,
                             hits=[{"rule": "incident", "group": "incident", "weight": 1.0, "terms": ["incident"],
                                    "spans": [[0, 2]], "in_title": True}], reasons=[], analysed_at=at(19, 9, 1)))
    session.add(Event(id=5, title="江城水务员工打人传闻", level="orange", status="open", first_item_id=14,
                      first_outlet_id="forum", first_at=at(19, 8, 50), opened_at=at(19, 9), last_item_at=at(19, 9),
                      item_count=1, metrics={"outlets": 1, "tiers": ["forum"], "negative_share": 1.0},
                      updated_at=at(19, 9)))
    session.flush()
    session.add(EventItem(item_id=14, event_id=5, joined_at=at(19, 9), similarity=1.0))
    session.add(Escalation(id=8, event_id=5, at=at(19, 9, 5), kind="escalate", from_level=None, to_level="orange",
                           actor="auto", reason="escalate orange", reasons=[], metrics={}))
    session.flush()
    session.add(Alert(id=7, event_id=5, escalation_id=8, level="orange", title="江城水务员工打人传闻", reason="fixture",
                      status="noise", published_at=at(19, 8, 50), fetched_at=at(19, 9), analysed_at=at(19, 9, 1),
                      alerted_at=at(19, 9, 5), acknowledged_at=at(19, 11), resolved_at=at(19, 11),
                      outcome="false alarm"))
    c1 = session.get(Alert, 5)
    c1.status, c1.resolved_at, c1.outcome = "resolved", at(18, 9), "已答复投诉人"
    session.flush()
    session.add(AlertAction(alert_id=7, action="noise", actor="李值班", at=at(19, 11), note=None, data={}))
    session.add(AlertAction(alert_id=5, action="resolve", actor="李值班", at=at(18, 9), note=None, data={}))
    save_lessons(session, event_id=1, lessons="红色预警须30分钟内响应，夜间值班要有人接电话。", by="王值班", now=at(20, 9))
