"""Health, readiness, metrics and the outlet/item read endpoints."""

from datetime import timedelta

import re

import httpx
import pytest

from monitor.api import Heartbeat, create_app
from monitor.config import OutletConfig
from monitor.db import items as item_store
from monitor.db import outlets as outlet_store
from monitor.db.search import index_backlog
from monitor.fetch.parsed import ParsedEntry
from tests.conftest import api_client


@pytest.fixture
def seeded(sessions, clock):
    config = OutletConfig(
        id="city-daily", name="江城日报", kind="rss", url="http://example.invalid/rss.xml",
        tier="local_media", region="江城",
    )
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=[config], now=clock.now())
        item_store.store_entries(
            session, outlet_id="city-daily", now=clock.now(),
            entries=[ParsedEntry(url="http://example.invalid/a/1", title="供暖不达标引发投诉", text="居民反映室内温度低")],
        )
    return sessions


def client(db_settings, sessions, clock, heartbeat=None) -> httpx.AsyncClient:
    app = create_app(db_settings, sessions, clock=clock, heartbeat=heartbeat)
    return api_client(app, sessions, clock, role="viewer")


async def test_healthz_answers(db_settings, sessions, clock):
    response = await client(db_settings, sessions, clock).get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_readyz_reports_a_stalled_scheduler(db_settings, sessions, clock):
    heartbeat = Heartbeat(sweep_interval=timedelta(seconds=10), running=True)
    api = client(db_settings, sessions, clock, heartbeat)
    assert (await api.get("/readyz")).status_code == 503  # never swept yet
    heartbeat.beat(clock.now())
    ready = await api.get("/readyz")
    assert (ready.status_code, ready.json()["scheduler"], ready.json()["database"]) == (200, "alive", "ok")
    clock.advance(timedelta(minutes=1))
    stalled = await api.get("/readyz")
    assert (stalled.status_code, stalled.json()["scheduler"]) == (503, "stalled")


async def test_readyz_without_a_scheduler_checks_the_database_only(db_settings, sessions, clock):
    body = (await client(db_settings, sessions, clock).get("/readyz")).json()
    assert body == {
        "status": "ready", "database": "ok", "scheduler": "not_part_of_this_process", "last_sweep_at": None,
        "fetch_lag_seconds": 0.0, "analysis_lag_seconds": 0.0, "grouping_lag_seconds": 0.0, "search_lag_seconds": 0.0,
        "problems": [], "problems_since": None,
    }


async def test_metrics_are_prometheus_text(db_settings, sessions, clock):
    response = await client(db_settings, sessions, clock).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "fenghuo_fetches_total" in response.text
    assert "fenghuo_items_stored_total" in response.text


async def test_outlet_health_and_items_render_chinese(db_settings, seeded, clock):
    api = client(db_settings, seeded, clock)
    (outlet,) = (await api.get("/api/v1/outlets")).json()
    assert outlet["name"] == "江城日报" and outlet["items_24h"] == 1 and outlet["healthy"]
    assert (await api.get("/api/v1/outlets/city-daily")).json()["region"] == "江城"
    missing = await api.get("/api/v1/outlets/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    response = await api.get("/api/v1/items", params={"limit": 5})
    assert "供暖不达标引发投诉".encode() in response.content  # UTF-8, not \\u escapes
    assert response.json()[0]["first_seen_at"].endswith("Z")


async def test_bad_parameters_are_422_with_a_reason(db_settings, sessions, clock):
    response = await client(db_settings, sessions, clock).get("/api/v1/items", params={"limit": 0})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]


async def test_openapi_docs_are_served(db_settings, sessions, clock):
    api = client(db_settings, sessions, clock)
    schema = (await api.get("/openapi.json")).json()
    assert {"/healthz", "/readyz", "/metrics", "/api/v1/outlets", "/api/v1/items"} <= set(schema["paths"])
    assert (await api.get("/docs")).status_code == 200


@pytest.mark.parametrize(("page", "needs"), [
    ("/docs", {"swagger-ui-bundle.js", "swagger-init.js", "swagger-ui.css"}),
    ("/redoc", {"redoc.standalone.js"}),
])
async def test_the_docs_pages_load_everything_from_this_server(db_settings, sessions, clock, page, needs):
    """Offline networks get working docs, and no CDN learns who reads them."""
    api = client(db_settings, sessions, clock)
    html = (await api.get(page)).text
    references = re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']""", html)
    assert {ref.rsplit("/", 1)[-1] for ref in references} >= needs
    for reference in references:
        url = httpx.URL("http://fenghuo.test" + page).join(reference)
        assert url.host == "fenghuo.test", reference  # same origin: relative, never //cdn…
        asset = await api.get(url.path)
        assert asset.status_code == 200 and len(asset.content) > 100, reference
        kind = asset.headers["content-type"]
        assert kind.startswith({"js": "text/javascript", "css": "text/css", "png": "image/png",
                                "json": "application/json"}[reference.rsplit(".", 1)[-1]]), (reference, kind)
    assert "cdn" not in html.lower() and "<script>" not in html  # no inline script either
    policy = (await api.get(page)).headers["content-security-policy"]
    assert "script-src 'self';" in policy  # only files from here: no inline script, no eval


def test_the_docs_pages_work_in_a_browser_under_their_policy(settings, clock):
    """Swagger UI and ReDoc render the operations with every script from here and no CSP refusal."""
    from tests.api.test_console import CHROMIUM, FLAGS, free_port

    if CHROMIUM is None:
        pytest.skip("no chromium on this machine")
    import threading
    import time

    import uvicorn
    from playwright.sync_api import sync_playwright

    from monitor.db import make_engine, make_session_factory

    # The pages and the schema read no table: an empty database will do.
    app = create_app(settings, make_session_factory(make_engine(settings.database_url)), clock=clock)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page()
            refused, elsewhere = [], []
            page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
            # Answers from anywhere else (a request the policy blocks gets none).
            page.on("response", lambda r: None if r.url.startswith((f"http://127.0.0.1:{port}/", "data:", "blob:")) else elsewhere.append(r.url))
            page.goto(f"http://127.0.0.1:{port}/docs")
            page.get_by_text("I have seen it and am on it").first.wait_for(timeout=20_000)  # a summary
            page.goto(f"http://127.0.0.1:{port}/redoc")
            page.get_by_text("Liveness: the process answers").first.wait_for(state="attached", timeout=20_000)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert elsewhere == []
    # ReDoc's footer asks for its maker's logo from their CDN: the policy blocks it, nothing else.
    assert [m for m in refused if "https://cdn.redoc.ly/redoc/logo-mini.svg" not in m] == []


async def test_readyz_says_degraded_when_no_worker_indexes_the_search_queue(db_settings, seeded, clock):
    """`fenghuo api` alone indexes nothing: searches still find the queued items by scanning them,
    ever more slowly. The queue's oldest item past five minutes says so, and indexing clears it."""
    api = client(db_settings, seeded, clock)
    assert (await api.get("/readyz")).json()["search_lag_seconds"] == 0.0  # just queued
    clock.advance(timedelta(minutes=6))
    body = (await api.get("/readyz")).json()
    assert (body["status"], body["search_lag_seconds"]) == ("degraded", 360.0)
    assert [p for p in body["problems"] if p.startswith("search")] == [
        "search indexing has not caught up for 360 s (searches still find the queued items, more slowly; "
        "is a worker running?)"]
    assert index_backlog(seeded) > 0
    body = (await api.get("/readyz")).json()
    assert (body["search_lag_seconds"], [p for p in body["problems"] if p.startswith("search")]) == (0.0, [])


async def test_readyz_says_degraded_when_items_wait_to_be_scored_or_grouped(db_settings, seeded, clock, tmp_path):
    """Whatever stops the pipeline (a failing batch, a worker gone), items waiting past five
    minutes show in /readyz, read from the database: nobody should learn of it from a quiet chat."""
    import shutil
    from pathlib import Path

    from monitor.analyze.holder import LibraryHolder
    from monitor.analyze.sentiment import load_model
    from monitor.events.levels import load_levels
    from monitor.stages.analysis import Analyser
    from monitor.stages.grouping import EventStage

    api = client(db_settings, seeded, clock)
    index_backlog(seeded)  # the search index keeps up here; its own lag has a test below
    assert (await api.get("/readyz")).json()["status"] == "ready"
    clock.advance(timedelta(minutes=6))
    body = (await api.get("/readyz")).json()
    assert (body["status"], body["analysis_lag_seconds"], body["grouping_lag_seconds"]) == ("degraded", 360.0, 0.0)
    assert body["problems"] == ["scoring has not caught up for 360 s (items wait; see the worker's log)"]

    folder = tmp_path / "keywords"
    shutil.copytree(Path(__file__).parents[2] / "keywords", folder)
    analyser = Analyser(seeded, LibraryHolder(folder), load_model(), clock)
    with seeded.begin() as session:
        item_store.store_entries(session, outlet_id="city-daily", now=clock.now(), entries=[ParsedEntry(
            url="http://example.invalid/a/2", title="江城水务又停水了 居民投诉无人管",
            text="河西片区居民反映江城水务集团停水三天没有任何通知。")])
    analyser.run_once()
    index_backlog(seeded)
    assert (await api.get("/readyz")).json()["status"] == "ready"  # scored at once: nothing waits
    clock.advance(timedelta(minutes=6))  # …but no events stage has grouped the relevant one
    body = (await api.get("/readyz")).json()
    assert (body["status"], body["analysis_lag_seconds"], body["grouping_lag_seconds"]) == ("degraded", 0.0, 360.0)
    assert body["problems"] == ["grouping and grading has not caught up for 360 s (items wait; see the worker's log)"]
    EventStage(seeded, load_levels(), clock).run_once()
    assert (await api.get("/readyz")).json()["status"] == "ready"
