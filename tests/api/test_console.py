"""The duty console end to end, in headless Chromium against a running server: sign in, watch a
red alert arrive live, acknowledge it, follow it to its event and escalation history and
downgrade it there (the log updates), try a text
against the keyword rules, switch to English, and read it on a phone-sized screen.

Set FENGHUO_SCREENSHOTS=docs/screenshots to refresh the README's pictures."""

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from monitor.alerts.routing import NO_ROUTING
from monitor.analyze.holder import LibraryHolder
from monitor.api import create_app
from monitor.db.tokens import create_token
from monitor.stages.events import set_level_by_hand
from tests.events.test_scenarios import COMPLAINT, Timeline

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must run the console tests: install Debian's chromium (scripts/_system.sh does)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")

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
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    response = page.goto(base)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.fill("#token", "wrong-token")
    page.click("button[type=submit]")
    page.wait_for_selector("#signin-error:has-text('令牌无效或已吊销')")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#who:has-text('值班员张三 (operator)')")
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
    assert "forum-a" in page.wait_for_selector("#outlets").inner_text()

    page.click("a[href='#/keywords']")
    page.fill("#try-text", "江城水务集团管网爆裂，多个小区停水，居民投诉无人处理，质疑管理混乱。")
    page.click("#try-button")
    result = page.wait_for_selector("#try-result li").evaluate("node => node.parentNode.parentNode.innerText")
    assert "风险" in result and "organisation" in result
    page.screenshot(path=str(shots(tmp_path) / "console-phone-keywords.png"), full_page=True)

    page.click("#lang")
    page.wait_for_selector("nav a:has-text('Alerts')")
    page.reload()  # remembered: still signed in, still in English
    page.wait_for_selector("#who:has-text('值班员张三')")
    page.wait_for_selector("nav a:has-text('Outlets')")
