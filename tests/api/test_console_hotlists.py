"""The console's hot-list view in headless Chromium: each list as it stands, our story's entry
highlighted with its level and a link to its event, and its rank over the last 24 hours charted
(a climb from 31st to 7th draws upwards)."""

import pytest

from tests.api.test_console import CHROMIUM, browser, server, shots  # noqa: F401 (fixtures)
from tests.events.test_hotsignal import HOT_TITLE, OTHER, HotTimeline
from tests.events.test_scenarios import COMPLAINT

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")


def test_the_hot_list_view_highlights_ours_and_charts_its_rank(server, browser, sessions, clock, tmp_path):  # noqa: F811
    base, token, _ = server
    timeline = HotTimeline(sessions, clock, tmp_path / "hot")
    timeline.publish("forum-a", *COMPLAINT)
    timeline.snapshot({OTHER[0]: 1, OTHER[1]: 2, HOT_TITLE: 31})
    timeline.snapshot({OTHER[0]: 1, HOT_TITLE: 7, OTHER[1]: 8})
    (event,) = timeline.events()

    page = browser.new_page(viewport={"width": 1280, "height": 900}, timezone_id="America/New_York")
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(base)
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#who:has-text('值班员张三')")
    page.click("nav a[href='#/hotlists']")
    weibo = page.locator("section.hotlist[data-outlet=weibo-hot]")
    weibo.wait_for(timeout=10_000)
    assert "微博热搜" in weibo.inner_text() and "UTC+8" in weibo.inner_text()  # the deployment's zone
    rows = weibo.locator("tr[data-rank]")
    assert rows.count() == 3
    ours = weibo.locator("tr.ours")
    assert ours.count() == 1 and HOT_TITLE in ours.inner_text() and "四级（红色）" in ours.inner_text()
    assert ours.get_attribute("data-rank") == "7"
    assert ours.locator("a").get_attribute("href") == f"#/events/{event.id}"
    assert weibo.locator("tr:not(.ours)[data-rank='1'] a").get_attribute("href").startswith("https://s.weibo.com/")

    top = page.locator("#hot-ours")
    assert "微博热搜第7位" in top.inner_text() and "最高 第7位" in top.inner_text()
    dots = top.locator("svg.rank-chart circle")
    assert [dots.nth(i).get_attribute("data-rank") for i in range(dots.count())] == ["31", "7"]
    # rank 7 is drawn above rank 31 (SVG y grows downwards)
    assert float(dots.nth(1).get_attribute("cy")) < float(dots.nth(0).get_attribute("cy"))
    page.screenshot(path=str(shots(tmp_path) / "console-hotlists.png"))

    page.click("#lang")
    page.wait_for_selector("#hot-ours h3:has-text('Ours on the hot lists')")
    page.click(f"tr.ours a[href='#/events/{event.id}']")
    page.wait_for_selector("#spread-chart", timeout=10_000)
    # the event says where it stands on the lists, and leads back to them
    assert page.inner_text("#event-hotlist a") == "微博热搜第7位，已在榜5分钟"
    assert page.get_attribute("#event-hotlist a", "href") == "#/hotlists"
    assert errors == []
