"""GET /api/v1/trends: hourly volume per keyword group and per tier, with the baseline band and
the hour that broke above it."""

from datetime import UTC, datetime, timedelta

import pytest

from monitor.analyze.trends import hour_of
from monitor.api import create_app
from monitor.clock import FrozenClock
from monitor.db.models import Item, ItemAnalysis, Outlet
from tests.conftest import api_client

NOW = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)  # Monday 09:30 in Beijing


def items_at(session, hours_and_counts, first_id=1):
    """Items of the organisation group from one local paper: `count` in each `hour`, ids from first_id."""
    if session.get(Outlet, "jcrb") is None:
        session.add(Outlet(id="jcrb", name="江城日报", kind="rss", url="http://jcrb.test/", tier="local_media",
                           region="江城", enabled=True, config={}, interval_seconds=600))
        session.flush()
    n = first_id - 1
    for hour, count in hours_and_counts:
        for k in range(count):
            n += 1
            session.add(Item(id=n, outlet_id="jcrb", url=f"http://jcrb.test/{n}", canonical_url=f"http://jcrb.test/{n}",
                             url_hash=f"{n:064d}", content_hash=f"{n:064d}", title=f"标题{n}", text="",
                             language="zh-Hans", first_seen_at=hour + timedelta(minutes=k % 60)))
            session.add(ItemAnalysis(item_id=n, library_version="v1", model="m", negative_prob=0.5,
                                     item_negative_prob=0.5, keyword_strength=0.5, risk=30,
                                     hits=[{"rule": "r", "group": "organisation"}], reasons=[], analysed_at=hour))


@pytest.fixture
def api(db_settings, sessions):
    this_hour = hour_of(NOW)
    past = [(this_hour - timedelta(days=d), 12) for d in range(1, 29)]  # 12 an hour at this time of day
    with sessions.begin() as session:
        items_at(session, past + [(this_hour, 40), (this_hour - timedelta(hours=1), 3)])
    clock = FrozenClock(NOW)
    return api_client(create_app(db_settings, sessions, clock=clock), sessions, clock, role="viewer")


@pytest.mark.parametrize("by, key", [("group", "organisation"), ("tier", "local_media")])
async def test_this_hour_is_an_anomaly_against_its_baseline(api, by, key):
    body = (await api.get("/api/v1/trends", params={"by": by, "hours": 3})).json()
    [series] = body["series"]
    assert series["key"] == key
    *earlier, now = series["hours"]
    assert now["count"] == 40 and now["expected"] == 12 and now["anomaly"]
    assert not any(hour["anomaly"] for hour in earlier) and series["anomalies"] == 1
    assert body["model"] == {"weeks": 4, "days": 7, "z": 4.0, "min_count": 10}


async def test_the_minimum_count_is_a_parameter(api):
    body = (await api.get("/api/v1/trends", params={"hours": 1, "min_count": 50})).json()
    assert body["series"][0]["anomalies"] == 0


async def test_an_events_groups_only(api, sessions):
    from tests.stages.test_trends import open_event

    with sessions.begin() as session:
        event = open_event(session, title="停水", group="organisation", last_item_at=NOW).id
        quiet = open_event(session, title="别的", group="incidents", last_item_at=NOW).id
    body = (await api.get("/api/v1/trends", params={"hours": 2, "event": event})).json()
    assert [s["key"] for s in body["series"]] == ["organisation"] and body["series"][0]["anomalies"] == 1
    # a group of the event with no item in the window still has its (quiet) series
    (series,) = (await api.get("/api/v1/trends", params={"hours": 2, "event": quiet})).json()["series"]
    assert series["key"] == "incidents" and [h["count"] for h in series["hours"]] == [0, 0]
    assert (await api.get("/api/v1/trends", params={"event": 999})).json()["series"] == []
