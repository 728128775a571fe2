"""From outlet config to stored items through the real crawl loop, on SQLite and PostgreSQL."""

import asyncio
import gzip
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from structlog.testing import capture_logs

from monitor.clock import SystemClock
from monitor.config import OutletConfig
from monitor.db import items as item_store
from monitor.db import outlets as outlet_store
from monitor.db.models import Item, Outlet
from monitor.db.outlets import DueOutlet
from monitor.fetch.http import Fetcher
from monitor.stages.crawl import Crawler, adaptive_interval
from tests.farm import Reply
from tests.polling import until_async


def rss(*entries: tuple[str, str, str]) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>{link}</link><description>{text}</description>"
        f"<pubDate>Mon, 23 Nov 2026 08:00:00 +0800</pubDate></item>"
        for title, link, text in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"{items}</channel></rss>"
    ).encode()


def outlet(farm, outlet_id: str, path: str, kind: str = "rss", **extra) -> OutletConfig:
    return OutletConfig(
        id=outlet_id, name=outlet_id, kind=kind, url=farm.url(path), tier="local_media",
        interval="10m", **extra,
    )


async def crawl(db_settings, sessions, clock, configs, **run):
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=configs, now=clock.now())
    async with Fetcher(db_settings) as fetcher:
        crawler = Crawler(db_settings, sessions, fetcher, clock)
        return await crawler.run_due(**run)


def stored(sessions) -> list[Item]:
    with sessions() as session:
        return list(session.scalars(select(Item).order_by(Item.id)))


def outlet_row(sessions, outlet_id: str) -> Outlet:
    with sessions() as session:
        return session.get(Outlet, outlet_id)


@pytest.fixture(autouse=True)
def no_robots(farm):
    farm.route("/robots.txt", Reply(404))


async def test_feed_items_are_stored_once_with_canonical_urls(farm, db_settings, sessions, clock):
    farm.route("/feed", Reply(body=rss(
        ("供暖不达标引发投诉", farm.url("/a/1?utm_source=weibo#top"), "居民反映室内温度低"),
        ("市政府回应供暖问题", farm.url("/a/2"), "热力公司正在排查"),
    )))
    configs = [outlet(farm, "city-news", "/feed")]
    (run,) = await crawl(db_settings, sessions, clock, configs)
    assert (run.status, run.new_items, run.error) == ("ok", 2, None)
    items = stored(sessions)
    assert [item.canonical_url for item in items] == [farm.url("/a/1"), farm.url("/a/2")]
    assert items[0].first_seen_at == clock.now()
    assert items[0].published_at.utcoffset() == timedelta(0)
    assert items[0].language == "zh"

    clock.advance(timedelta(hours=1))
    (again,) = await crawl(db_settings, sessions, clock, configs)
    assert (again.new_items, again.duplicates) == (0, 2)
    assert len(stored(sessions)) == 2


async def test_not_modified_costs_nothing_downstream(farm, db_settings, sessions, clock):
    body = rss(("标题一二三四五六", farm.url("/a/1"), "正文"))

    def conditional(headers):
        if headers.get("if-none-match") == '"v1"':
            return Reply(304)
        return Reply(body=body, headers={"ETag": '"v1"'})

    farm.route("/feed", conditional)
    configs = [outlet(farm, "etag", "/feed")]
    await crawl(db_settings, sessions, clock, configs)
    clock.advance(timedelta(hours=1))
    (run,) = await crawl(db_settings, sessions, clock, configs)
    assert (run.status, run.new_items, run.duplicates) == ("not_modified", 0, 0)
    assert outlet_row(sessions, "etag").etag == '"v1"'


async def test_same_text_under_two_urls_of_one_outlet_is_one_item(farm, db_settings, sessions, clock):
    farm.route("/feed", Reply(body=rss(
        ("同一篇报道", farm.url("/pc/1.html"), "完全相同的正文内容"),
        ("同一篇报道", farm.url("/m/1.html"), "完全相同的正文内容"),
    )))
    (run,) = await crawl(db_settings, sessions, clock, [outlet(farm, "dup", "/feed")])
    assert (run.new_items, run.duplicates) == (1, 1)


async def test_failing_outlet_backs_off_and_turns_unhealthy(farm, db_settings, sessions, clock):
    farm.route("/feed", Reply(500))
    configs = [outlet(farm, "broken", "/feed")]
    delays = []
    with capture_logs() as logs:
        for _ in range(3):
            (run,) = await crawl(db_settings, sessions, clock, configs, ignore_schedule=True)
            delays.append(run.next_fetch_at - clock.now())
    assert run.error == "HTTP 500 Internal Server Error"
    assert delays[0] < delays[1] < delays[2]  # exponential backoff
    row = outlet_row(sessions, "broken")
    assert (row.error_count, row.last_error, row.last_status) == (3, "HTTP 500 Internal Server Error", "http_error")
    with sessions() as session:
        (health,) = outlet_store.outlet_health(session, now=clock.now(), unhealthy_after=3)
    assert not health.healthy
    failed = [entry for entry in logs if entry["event"] == "fetch_failed"]
    assert failed[-1]["outlet"] == "broken" and failed[-1]["error_count"] == 3

    farm.route("/feed", Reply(body=rss(("恢复正常后的新闻标题", farm.url("/a/9"), "x"))))
    (run,) = await crawl(db_settings, sessions, clock, configs, ignore_schedule=True)
    assert run.error is None
    assert outlet_row(sessions, "broken").error_count == 0


async def test_rate_limited_outlet_is_not_fetched_before_retry_after(farm, db_settings, sessions, clock):
    farm.route("/feed", Reply(429, headers={"Retry-After": "7200"}))
    (run,) = await crawl(db_settings, sessions, clock, [outlet(farm, "busy", "/feed")])
    assert run.status == "rate_limited"
    assert run.next_fetch_at - clock.now() >= timedelta(hours=2)


async def test_malformed_feed_is_a_logged_parse_error_and_nothing_is_lost(farm, db_settings, sessions, clock):
    farm.route("/feed", Reply(body=b"<rss><channel><item><title>broken"))
    farm.route("/good", Reply(body=rss(("另一家媒体的正常报道", farm.url("/g/1"), "正文"))))
    configs = [outlet(farm, "bad", "/feed"), outlet(farm, "good", "/good")]
    with capture_logs() as logs:
        runs = {run.outlet_id: run for run in await crawl(db_settings, sessions, clock, configs)}
    assert runs["good"].new_items == 1
    assert runs["bad"].status == "parse_error"
    assert runs["bad"].error.startswith("malformed feed")
    assert any(e["event"] == "fetch_failed" and e["outlet"] == "bad" for e in logs)


async def test_hanging_outlet_does_not_stall_the_others(farm, db_settings, sessions, clock):
    db_settings.fetch_lease = timedelta(seconds=1.5)
    db_settings.request_timeout = timedelta(seconds=30)
    db_settings.read_timeout = timedelta(seconds=30)
    farm.route("/hang", Reply(body=b"", delay=5))
    farm.route("/fast", Reply(body=rss(("快速响应的媒体报道", farm.url("/f/1"), "正文"))))
    configs = [outlet(farm, "hang", "/hang"), outlet(farm, "fast", "/fast")]
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=configs, now=clock.now())
    async with Fetcher(db_settings) as fetcher:
        crawler = Crawler(db_settings, sessions, fetcher, clock)
        assert await crawler.tick() == 2
        def fast_stored() -> bool:
            with sessions() as session:
                return item_store.count_items(session, outlet_id="fast") == 1

        # The fast outlet is stored while the other still hangs (5 s): well before that.
        await until_async(fast_stored, seconds=4, what="the fast outlet stored beside the hanging one")
        assert not outlet_row(sessions, "hang").last_status  # still hanging
        await crawler.drain()
    row = outlet_row(sessions, "hang")
    assert row.last_status == "timeout"
    assert "deadline" in row.last_error


async def test_claimed_outlets_are_not_claimed_again_within_the_lease(farm, db_settings, sessions, clock):
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=[outlet(farm, "once", "/feed")], now=clock.now())

    def claim() -> int:
        with sessions.begin() as session:
            return len(outlet_store.claim_due_outlets(session, now=clock.now(), lease=timedelta(minutes=5), limit=10))

    first, second = claim(), claim()
    clock.advance(timedelta(minutes=6))  # the worker died; the lease ran out
    assert [first, second, claim()] == [1, 0, 1]


async def test_list_page_outlet_fetches_only_new_articles(farm, db_settings, sessions, clock):
    article = (
        "<html><head><title>{t} - 某市政府</title>"
        '<meta name="publishdate" content="2026-11-23"></head>'
        "<body><h1>{t}</h1><div><p>{t}。这是正文的第一段，内容足够长。</p><p>第二段。</p></div></body></html>"
    )
    farm.route("/list", Reply(body=(
        "<html><body>"
        '<a href="/art/1001.html">关于冬季供暖工作的通知</a>'
        '<a href="/art/1002.html">市长热线本周办理情况通报</a>'
        "</body></html>"
    ).encode("gbk"), headers={"Content-Type": "text/html; charset=utf-8"}))
    for n, title in ((1001, "关于冬季供暖工作的通知"), (1002, "市长热线本周办理情况通报")):
        farm.route(f"/art/{n}.html", Reply(body=article.format(t=title).encode("gbk"),
                                            headers={"Content-Type": "text/html; charset=gbk"}))
    configs = [outlet(farm, "gov", "/list", kind="page")]
    (run,) = await crawl(db_settings, sessions, clock, configs)
    assert run.new_items == 2
    titles = [item.title for item in stored(sessions)]
    assert titles == ["关于冬季供暖工作的通知", "市长热线本周办理情况通报"]
    assert run.encoding == "gb18030"

    clock.advance(timedelta(hours=1))
    await crawl(db_settings, sessions, clock, configs, ignore_schedule=True)
    assert farm.hits["/art/1001.html"] == 1  # stored articles are not fetched again


def test_adaptive_interval_speeds_up_busy_and_slows_quiet_outlets():
    config = OutletConfig(
        id="x", name="x", kind="rss", url="http://example.invalid/", tier="forum", interval="10m",
        min_interval="2m", max_interval="1h",
    )
    due = DueOutlet(config=config, etag=None, last_modified=None, interval=timedelta(minutes=10), error_count=0)
    assert adaptive_interval(due, items_last_day=1440) == timedelta(minutes=2)  # clamped to min
    assert adaptive_interval(due, items_last_day=144) == timedelta(minutes=10)
    assert adaptive_interval(due, items_last_day=0) == timedelta(minutes=15)
    quiet = DueOutlet(config=config, etag=None, last_modified=None, interval=timedelta(minutes=50), error_count=0)
    assert adaptive_interval(quiet, items_last_day=0) == timedelta(hours=1)  # clamped to max


async def test_a_row_that_cannot_be_stored_costs_only_its_own_outlet(farm, db_settings, sessions, clock, monkeypatch):
    farm.route("/a", Reply(body=rss(("第一家媒体的报道", farm.url("/a/1"), "正文"))))
    farm.route("/b", Reply(body=rss(("第二家媒体的报道", farm.url("/b/1"), "正文"))))
    original = item_store.store_entries

    def failing_for_b(session, *, outlet_id, entries, now):
        if outlet_id == "b":
            raise RuntimeError("simulated constraint violation")
        return original(session, outlet_id=outlet_id, entries=entries, now=now)

    monkeypatch.setattr(item_store, "store_entries", failing_for_b)
    configs = [outlet(farm, "a", "/a"), outlet(farm, "b", "/b")]
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=configs, now=clock.now())
    async with Fetcher(db_settings) as fetcher:
        crawler = Crawler(db_settings, sessions, fetcher, clock)
        due = [crawler.run_one(d) for d in crawler._claim(10, None, False)]
        results = await asyncio.gather(*due, return_exceptions=True)
        crawler.close()
    stored_runs = [r for r in results if not isinstance(r, BaseException)]
    assert [r.outlet_id for r in stored_runs] == ["a"]
    assert [item.outlet_id for item in stored(sessions)] == ["a"]
    # b keeps its lease: it is fetched again when the lease runs out, nothing is skipped for good.
    assert outlet_row(sessions, "b").next_fetch_at == clock.now() + db_settings.fetch_lease


BAD_BEHAVIOURS = {
    # path: (reply, expected last_status, words in the stored and logged error)
    "redirect-loop": (Reply(302, headers={"Location": "/redirect-loop"}), "too_many_redirects", "redirects (loop?)"),
    "huge": (Reply(body=b"x" * 10, headers={"Content-Length": str(10**9)}), "too_large", "1000000000 bytes declared"),
    "bomb": (Reply(body=gzip.compress(b"\0" * (64 * 1024 * 1024)), headers={"Content-Encoding": "gzip"}),
             "too_large", "gzip bomb"),
    "server-error": (Reply(500), "http_error", "HTTP 500"),
    "not-xml": (Reply(body=b"\x89PNG\r\n\x1a\n binary"), "parse_error", "feed"),
}


@pytest.mark.parametrize("path", list(BAD_BEHAVIOURS))
async def test_bad_outlets_store_nothing_and_say_why(path, farm, db_settings, sessions, clock):
    reply, status, words = BAD_BEHAVIOURS[path]
    db_settings.max_decoded_bytes = 8 * 1024 * 1024
    farm.route(f"/{path}", reply)
    with capture_logs() as logs:
        (run,) = await crawl(db_settings, sessions, clock, [outlet(farm, path, f"/{path}")])
    row = outlet_row(sessions, path)
    assert (run.status, row.last_status, row.error_count) == (status, status, 1)
    assert words in row.last_error
    assert stored(sessions) == []
    (failed,) = [entry for entry in logs if entry["event"] == "fetch_failed"]
    assert failed["outlet"] == path and words in failed["error"]


async def test_duplicate_guids_and_missing_dates_are_stored_sensibly(farm, db_settings, sessions, clock):
    farm.route("/feed", Reply(body=(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>第一条没有日期的帖子</title><link>{farm.url('/t/1')}</link><guid>same</guid></item>"
        f"<item><title>第二条共用同一个GUID</title><link>{farm.url('/t/2')}</link><guid>same</guid></item>"
        "</channel></rss>"
    ).encode()))
    with capture_logs() as logs:
        (run,) = await crawl(db_settings, sessions, clock, [outlet(farm, "forum", "/feed")])
    items = stored(sessions)
    assert [item.title for item in items] == ["第一条没有日期的帖子", "第二条共用同一个GUID"]
    assert all(item.published_at is None and item.first_seen_at == clock.now() for item in items)
    assert any(e["event"] == "fetch_warning" and "duplicate guid" in e["warning"] for e in logs)


async def wait_until(condition, seconds: float, message: str) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, message
        await asyncio.sleep(0.02)


def fetched(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Outlet).where(Outlet.last_fetch_at.is_not(None)))


async def test_one_tick_drains_a_backlog_larger_than_its_room_without_waiting_for_sweeps(
    farm, db_settings, sessions, clock
):
    """Room for 2 × 2 runs, 24 outlets due, sweeps a minute apart: the crawler claims again as
    runs finish, so all 24 are fetched long before a second sweep, never more than 4 at once."""
    db_settings.fetch_concurrency = 2
    db_settings.sweep_interval = timedelta(minutes=1)
    farm.route_prefix("/feed/", Reply(body=rss(("各地供暖情况汇总报道", farm.url("/a/1"), "正文"))))
    configs = [outlet(farm, f"o{n}", f"/feed/{n}") for n in range(24)]
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=configs, now=clock.now())
    async with Fetcher(db_settings) as fetcher:
        crawler = Crawler(db_settings, sessions, fetcher, clock)
        peak = 0

        def all_fetched() -> bool:
            nonlocal peak
            peak = max(peak, len(crawler._in_flight))
            return fetched(sessions) == 24

        assert await crawler.tick() == 4
        await wait_until(all_fetched, 20, f"only {fetched(sessions)} of 24 fetched after one tick")
        await crawler.drain()
        crawler.close()
    assert peak <= 4
    assert all(farm.hits[f"/feed/{n}"] == 1 for n in range(24))  # each once: claims never overlap


async def test_the_crawler_wakes_when_the_next_outlet_falls_due(farm, db_settings, sessions):
    """Nothing due at the tick; one outlet falls due 2 s later, sweeps are a minute apart: it is
    fetched within about a second of falling due, not at the next sweep."""
    clock = SystemClock()
    db_settings.sweep_interval = timedelta(minutes=1)
    farm.route("/feed", Reply(body=rss(("市政府回应供暖问题", farm.url("/a/2"), "正文"))))
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=[outlet(farm, "soon", "/feed")], now=clock.now())
    async with Fetcher(db_settings) as fetcher:
        crawler = Crawler(db_settings, sessions, fetcher, clock)
        # Made due only now, so a slow start of the fetcher on a loaded machine cannot make it
        # due before the tick.
        with sessions.begin() as session:
            due_at = clock.now() + timedelta(seconds=2)
            session.execute(update(Outlet).values(next_fetch_at=due_at))
        assert await crawler.tick() == 0
        await wait_until(lambda: fetched(sessions) == 1, 10, "the outlet was left for the next sweep")
        fetched_at = outlet_row(sessions, "soon").last_fetch_at
        await crawler.drain()
        crawler.close()
    assert timedelta(0) <= fetched_at - due_at < timedelta(seconds=1.5)


async def test_the_fetch_lag_is_the_oldest_due_outlets_delay_in_metrics_and_readyz(farm, db_settings, sessions, clock):
    from prometheus_client import REGISTRY

    from monitor.api import create_app
    from tests.conftest import api_client

    farm.route_prefix("/feed/", Reply(body=rss(("各地供暖情况汇总报道", farm.url("/a/1"), "正文"))))
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=[outlet(farm, f"o{n}", f"/feed/{n}") for n in range(3)],
                                  now=clock.now())
        for n, late in enumerate((45, 20, 5)):
            session.execute(update(Outlet).where(Outlet.id == f"o{n}")
                            .values(next_fetch_at=clock.now() - timedelta(seconds=late)))
    api = api_client(create_app(db_settings, sessions, clock=clock), sessions, clock)
    assert (await api.get("/readyz")).json()["fetch_lag_seconds"] == 45.0
    starts_before = REGISTRY.get_sample_value("fenghuo_fetch_start_lag_seconds_count") or 0
    async with Fetcher(db_settings) as fetcher:
        crawler = Crawler(db_settings, sessions, fetcher, clock)
        assert await crawler.tick() == 3
        await crawler.drain()
        crawler.close()
    assert crawler.lag == 45.0 == REGISTRY.get_sample_value("fenghuo_fetch_lag_seconds")
    assert REGISTRY.get_sample_value("fenghuo_fetch_start_lag_seconds_count") == starts_before + 3
    assert (await api.get("/readyz")).json()["fetch_lag_seconds"] == 0.0  # all fetched: nothing due
