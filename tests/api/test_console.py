"""The duty console end to end, in headless Chromium against a running server: sign in, watch a
red alert arrive live, acknowledge it, follow it to its event and escalation history and
downgrade it there (the log updates), try a text
against the keyword rules, switch to English, and read it on a phone-sized screen; read a
story hours old on a chart that spans it, in Chinese and with outlets' names, download its brief
and review, and make a week's report from the reports page. The browser runs in New York: every
time shown is in the deployment's zone (FENGHUO_DEFAULT_TIMEZONE, Asia/Shanghai), never the browser's.

Set FENGHUO_SCREENSHOTS=docs/screenshots to refresh the README's pictures."""

import os
import shutil
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import uvicorn

from monitor.alerts.routing import NO_ROUTING
from monitor.analyze.holder import LibraryHolder
from monitor.api import create_app
from monitor.db.tokens import create_token
from monitor.stages.grouping import set_level_by_hand
from tests.events.test_scenarios import COMPLAINT, Timeline, reprint

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must run the console tests: install Debian's chromium (scripts/_system.sh does)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Outlets as a newsroom names them; the console must show these, with the ids only on hover.
NAMES = {"forum-a": "江城论坛", "forum-b": "河西社区", "local-daily": "江城日报", "central-0": "人民网"}
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(sessions, clock, tmp_path, db_settings):
    timeline = Timeline(sessions, clock, tmp_path)
    app = create_app(db_settings, sessions, clock=clock, library=LibraryHolder(tmp_path / "keywords"))
    app.state.stream_poll_seconds = 0.2
    with sessions.begin() as session:
        from monitor.db.models import Outlet

        for outlet_id, name in NAMES.items():
            session.get(Outlet, outlet_id).name = name
        token = create_token(session, name="值班员张三", role="operator", now=clock.now())
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", token, timeline
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("FENGHUO_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_sign_in_watch_a_red_alert_arrive_and_acknowledge_it(server, browser, sessions, clock, tmp_path):
    base, token, timeline = server
    page = browser.new_page(viewport={"width": 1280, "height": 900}, timezone_id="America/New_York")
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    response = page.goto(base)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.fill("#token", "wrong-token")
    page.click("button[type=submit]")
    page.wait_for_selector("#signin-error:has-text('令牌无效或已吊销')")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#who:has-text('值班员张三（值班）')")
    page.wait_for_selector("#live.on")  # the live feed is connected
    page.wait_for_selector("text=暂无预警")

    timeline.publish("forum-a", *COMPLAINT)  # a blue alert arrives while we watch
    page.wait_for_selector("article[data-level=blue]", timeout=10_000)
    (event,) = timeline.events()
    with sessions.begin() as session:
        set_level_by_hand(session, event_id=event.id, level="red", actor="带班领导", reason="央媒已关注",
                          now=clock.now(), levels=timeline.levels, routing=NO_ROUTING)
    red = page.locator("article[data-level=red]")
    red.wait_for(timeout=10_000)
    assert "四级（红色）" in red.inner_text() and COMPLAINT[0] in red.inner_text()
    # The reason in words: the level's label, the manual change said in Chinese (raw text on hover).
    assert "人工升级（带班领导）" in red.inner_text() and "manual" not in red.inner_text()
    assert "一级（蓝色）: " in page.locator("article[data-level=blue]").inner_text()
    page.wait_for_selector("article[data-level=blue][data-status=superseded]")
    page.screenshot(path=str(shots(tmp_path) / "console-alerts.png"))

    red.locator("button[data-action=acknowledge]").click()
    page.wait_for_selector("article[data-level=red][data-status=acknowledged]")
    with sessions() as session:
        from monitor.db.models import Alert

        acknowledged = session.query(Alert).filter_by(level="red").one()
        assert acknowledged.status == "acknowledged" and acknowledged.acknowledged_at is not None

    page.click(f"article[data-level=red] a[href='#/events/{event.id}']")
    history = page.wait_for_selector("#history")
    text = history.inner_text()
    assert "带班领导" in text and "央媒已关注" in text and "四级（红色）" in text
    page.wait_for_selector("svg.chart circle")
    # A story minutes old is drawn in minutes: five-minute bars, its blue and red marked on it.
    chart = page.locator("#spread-chart")
    assert chart.get_attribute("data-interval-minutes") == "5"
    assert page.locator("#spread-chart g.level-mark").count() == 2
    assert page.locator("#spread-chart rect[data-tier=forum]").count() == 1
    # First source by name and tier label, the id on hover; the time in Shanghai, zone named.
    first = page.locator("#first-source")
    published = event.first_at.astimezone(SHANGHAI)
    assert "江城论坛" in first.inner_text() and "论坛社区" in first.inner_text()
    assert f"{published:%m/%d %H:%M} UTC+8" in first.inner_text() or f"{published:%m-%d %H:%M} UTC+8" in first.inner_text()
    assert first.locator(".outlet").get_attribute("title") == "forum-a"
    assert "forum-a" not in page.locator("#view").inner_text()

    # The duty officer judges it less grave: downgrade by hand, and the log shows it at once.
    page.select_option("#set-level", "orange")
    page.fill("#set-reason", "已核实为局部问题")
    page.click("#level-form button[type=submit]")
    page.wait_for_selector("#history tr:has-text('已核实为局部问题')")
    last = page.locator("#history tr").last.inner_text()
    assert "降级" in last and "值班员张三" in last and "三级（橙色）" in last
    page.screenshot(path=str(shots(tmp_path) / "console-event.png"), full_page=True)
    # Nothing the page did was refused by its own security policy (the wrong token's 401 aside).
    assert [e for e in errors if "401" not in e] == []


def test_outlets_keywords_english_and_a_phone(server, browser, tmp_path):
    base, token, _ = server
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page.goto(base)
    page.fill("#token", token)
    page.check("#remember")
    page.click("button[type=submit]")
    page.wait_for_selector("#live.on")
    page.click("a[href='#/outlets']")
    outlets = page.wait_for_selector("#outlets").inner_text()
    assert "江城论坛" in outlets and "论坛社区" in outlets and "central_media" not in outlets
    assert page.locator("#outlets tr[data-id=forum-a] td").first.get_attribute("title") == "forum-a"

    page.click("a[href='#/keywords']")
    page.fill("#try-text", "江城水务集团管网爆裂，多个小区停水，居民投诉无人处理，质疑管理混乱。")
    page.click("#try-button")
    result = page.wait_for_selector("#try-result li").evaluate("node => node.parentNode.parentNode.innerText")
    # Hits by the group's and the rule's names; their ids on hover.
    assert "风险" in result and "投诉与质疑" in result and "针对本单位的投诉、维权、质疑" in result
    assert page.locator("#try-result li span[data-group=complaints]").first.get_attribute("title") == "complaints"
    page.screenshot(path=str(shots(tmp_path) / "console-phone-keywords.png"), full_page=True)

    # The duty team makes this and last week's report itself: an operator's buttons are live.
    page.click("a[href='#/reports']")
    page.wait_for_selector("#make-report button[data-make]")
    assert not page.locator("#make-report button[data-make]").first.is_disabled()
    assert "令牌" not in page.locator("#make-report").inner_text()

    page.click("#lang")
    page.wait_for_selector("nav a:has-text('Alerts')")
    # The reports section re-renders after the navigation does: wait for it rather than race it.
    page.wait_for_selector("#make-report:has-text(\"Make this week's report now\")", timeout=15_000)
    page.reload()  # remembered: still signed in, still in English
    page.wait_for_selector("#who:has-text('值班员张三')")
    page.wait_for_selector("nav a:has-text('Outlets')")


def signed_in(browser, base, token):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, timezone_id="America/New_York", accept_downloads=True)
    page.goto(base)
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#live.on")
    return page


def test_a_story_hours_old_fills_its_chart_with_names_and_its_documents_download(server, browser, sessions, clock, tmp_path):
    base, token, timeline = server
    # A forum post, then reposts, a local paper after two hours, a central outlet after five.
    for outlet, after in (("forum-a", 10), ("forum-b", 40), ("forum-a", 30), ("local-daily", 60), ("central-0", 180)):
        timeline.publish(outlet, COMPLAINT[0], reprint(COMPLAINT[1], after), after=timedelta(minutes=after))
    (event,) = timeline.events()
    with sessions() as session:
        from monitor.db import events as event_store

        changes = [e for e in event_store.escalation_log(session, event_id=event.id) if e.to_level]
        items = event_store.event_items(session, event_id=event.id)
    assert len(changes) >= 2  # the story climbed, so there is something to mark
    page = signed_in(browser, base, token)
    page.goto(f"{base}/#/events/{event.id}")
    chart = page.wait_for_selector("#spread-chart rect")
    chart = page.locator("#spread-chart")

    # The axis spans the story (5 h 10 min from first to last item): hour bars, first to last.
    first_at = min(i.published_at for i in items)
    last_at = max([i.published_at for i in items] + [c.at for c in changes])
    assert chart.get_attribute("data-interval-minutes") == "60"
    start, end = (chart.get_attribute(f"data-{edge}") for edge in ("start", "end"))
    from datetime import datetime

    start, end = datetime.fromisoformat(start), datetime.fromisoformat(end)
    assert start <= first_at < start + timedelta(hours=1) and end - timedelta(hours=1) <= last_at < end
    assert int(chart.get_attribute("data-bars")) == 6
    # Items per interval by tier: every item in exactly one bar segment.
    counts = {}
    for rect in chart.locator("rect").all():
        counts[rect.get_attribute("data-tier")] = counts.get(rect.get_attribute("data-tier"), 0) + int(rect.get_attribute("data-items"))
    assert counts == {"forum": 3, "local_media": 1, "central_media": 1}
    # Every level change marked, in its level's colour.
    assert [m.get_attribute("data-level") for m in chart.locator("g.level-mark").all()] == [c.to_level for c in changes]
    # Ticks on Shanghai's round hours (the browser is in New York).
    ticks = [node.text_content() for node in chart.locator("text.tick").all()]
    assert ticks[0].endswith(f"{start.astimezone(SHANGHAI):%H:%M}") and ticks[0] != ticks[-1]
    assert "Asia/Shanghai UTC+8" in chart.text_content()
    # Chinese labels, names over ids.
    legend = page.locator("#spread-legend").inner_text()
    assert "论坛社区" in legend and "地方媒体" in legend and "中央媒体" in legend and "级别变化" in legend
    assert "人民网" in page.locator("#event-items").inner_text()
    assert "中央媒体" in page.locator("#tiers-reached").inner_text()
    view = page.locator("#view").inner_text()
    assert "二级（黄色）: 负面信息有扩散趋势" in page.locator("#history").inner_text()
    for raw in ("central_media", "local_media", "forum-a", "local-daily", "escalate", "auto", "blue:", "yellow:"):
        assert raw not in view, raw
    page.screenshot(path=str(shots(tmp_path) / "console-event-chart.png"), full_page=True)

    # The brief and the review, fetched with the token and saved.
    with page.expect_download() as brief:
        page.click("#documents button[data-document=brief][data-format=docx]")
    assert brief.value.suggested_filename == f"event-{event.id}-brief.docx"
    assert Path(brief.value.path()).read_bytes()[:2] == b"PK"  # a Word file is a zip
    with page.expect_download(timeout=60_000) as review:
        page.click("#documents button[data-document=review][data-format=pdf]")
    assert review.value.suggested_filename == f"event-{event.id}-review.pdf"
    assert Path(review.value.path()).read_bytes()[:5] == b"%PDF-"

    # The same page in English: tiers, the interval and the level changes in English words.
    page.click("#lang")
    page.wait_for_selector("#spread-legend:has-text('Central media')")
    assert "New items per hour" in page.locator("#spread-chart").text_content()
    assert "Forums" in page.locator("#spread-legend").inner_text() and "论坛社区" not in page.locator("#view").inner_text()
    assert "III Orange" in page.locator("#history").inner_text()


def test_an_admin_makes_last_weeks_report_from_the_reports_page(server, browser, sessions, clock, tmp_path):
    base, _, timeline = server
    timeline.publish("forum-a", *COMPLAINT)
    with sessions.begin() as session:
        admin = create_token(session, name="管理员李四", role="admin", now=clock.now())
    page = signed_in(browser, base, admin)
    page.click("a[href='#/reports']")
    # The server's weeks, in its zone: Monday 2026-11-23 08:00 UTC is 16:00 in Shanghai, week 48.
    this_week = page.wait_for_selector("#make-report button[data-make='2026-W48']")
    assert "立即生成本周周报" in this_week.inner_text()
    page.wait_for_selector("text=还没有周报")
    page.click("#make-report button[data-make='2026-W47']")
    page.wait_for_selector("#make-progress progress")  # progress while the server draws the PDF
    assert "正在生成 2026-W47 周报" in page.locator("#make-progress").inner_text()
    page.wait_for_selector("#make-progress[data-done='2026-W47']", timeout=120_000)
    row = page.wait_for_selector("#reports tr[data-week='2026-W47'][data-status=ready]")
    text = row.inner_text()
    assert "已生成" in text and "ready" not in text and "管理员李四" in text and "11-16 – 11-22" in text
    assert "Excel" in text and "事件表" in text
    # Its headline numbers (last week had none of this week's story): an empty week reads as empty.
    page.wait_for_selector("#reports tr[data-week='2026-W47'] .figures:has-text('涉我信息 0 条 · 事件 0 起 · 预警 0 次')")
    with page.expect_download() as pdf:
        row.query_selector("button[data-file=pdf]").click()
    assert Path(pdf.value.path()).read_bytes()[:5] == b"%PDF-"
    page.screenshot(path=str(shots(tmp_path) / "console-reports.png"), full_page=True)
