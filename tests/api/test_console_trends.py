"""The console's 趋势 and 热点 pages in headless Chromium: a keyword group's hourly volume drawn
over its baseline band with the anomalous hour in red (the page a volume-anomaly push links to),
the same chart for an event's groups on the event's page, and the hot stories across the whole
intake with the one touching a watched region flagged."""

from datetime import timedelta

from sqlalchemy import select

from monitor.analyze.trends import hour_of
from monitor.db.models import Event
from monitor.db.trends import event_group_ids
from monitor.stages.trending import HotStories, TrendingFile
from tests.api.test_console import browser, pytestmark, server, signed_in  # noqa: F401 (fixtures)
from tests.api.test_trends import items_at
from tests.stages.test_trending import CONCERT, CRASH, Intake
from tests.events.test_scenarios import COMPLAINT, reprint


def test_a_groups_volume_over_its_band_with_the_loud_hour_in_red(server, browser, sessions, clock):  # noqa: F811
    base, token, _ = server
    this_hour = hour_of(clock.now())
    with sessions.begin() as session:
        items_at(session, [(this_hour - timedelta(days=d), 12) for d in range(1, 29)] + [(this_hour, 40)])
    page = signed_in(browser, base, token)
    page.goto(f"{base}/#/trends/group/organisation")
    chart = page.wait_for_selector("svg.volume-chart[data-key=organisation]")
    assert chart.get_attribute("data-anomalies") == "1"
    assert page.locator("svg.volume-chart polygon.band").count() == 1
    assert page.locator("svg.volume-chart rect.hour").count() == 72
    (loud,) = page.locator("svg.volume-chart rect.anomaly").all()
    assert loud.get_attribute("data-count") == "40"
    page.click("a[href='#/trends/tier']")
    page.wait_for_selector("svg.volume-chart[data-key=local_media]")


def test_hot_stories_with_the_flagged_one_marked(server, browser, sessions, clock):  # noqa: F811
    base, token, _ = server
    intake = Intake(sessions, clock)
    for n, outlet in enumerate(["forum-a", "local-daily", "central-0"]):
        intake.publish(outlet, CRASH[0], reprint(CRASH[1], n))
    intake.publish("portal-1", *CONCERT)
    intake.publish("portal-2", CONCERT[0], reprint(CONCERT[1], 1))
    HotStories(sessions, clock, TrendingFile(regions=["南港"])).run_once()
    page = signed_in(browser, base, token)
    page.click("a[href='#/hot']")
    table = page.wait_for_selector("#hot")
    text = table.inner_text()
    assert CRASH[0] in text and CONCERT[0] in text and "南港" in text
    assert page.locator("#hot tr.flagged").count() == 1
    assert CRASH[0] in page.locator("#hot tr[data-rank='1']").inner_text()
    page.click("text=只看需关注的")
    page.wait_for_selector("#view a[href='#/hot']")  # the page re-rendered with the flagged ones only
    assert page.locator("#hot tr[data-rank]").count() == 1 and page.locator("#hot tr.flagged").count() == 1


def test_an_events_page_shows_its_groups_volume(server, browser, sessions, clock):  # noqa: F811
    base, token, timeline = server
    timeline.publish("forum-a", *COMPLAINT)  # opens an event; its items hit keyword groups
    with sessions() as session:
        event_id = session.scalar(select(Event.id))
        groups = event_group_ids(session, event_id=event_id)
    assert groups
    page = signed_in(browser, base, token)
    page.goto(f"{base}/#/events/{event_id}")
    page.wait_for_selector("#event-volume svg.volume-chart")
    assert sorted(c.get_attribute("data-key") for c in page.locator("#event-volume svg.volume-chart").all()) == groups
    # below the event's own card, above its history
    order = page.eval_on_selector_all("#view > section", "nodes => nodes.map(n => n.id || n.querySelector('h3')?.textContent)")
    assert order.index("event-volume") == 1
