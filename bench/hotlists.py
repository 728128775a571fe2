"""Hot lists and JSON outlets: parse cost against RSS, fetch+parse rate, and storage per 10,000
snapshots of a 50-entry list with its rank history.

    .venv/bin/python bench/hotlists.py --out bench/results/hotlists-sqlite.json
    .venv/bin/python bench/hotlists.py --database-url postgresql+psycopg://…/hotbench --snapshots 2000

Entries are real THUCNews headlines (shared data, news/). The same 50 entries are rendered as a
Weibo hot-search response (read through the `weibo-hot` mapping), as a JSON Feed 1.1 and as RSS
2.0, and each is parsed by the service's own parser (`parse_json_outlet`, `parse_feed`) in this
process, one after the other. The fetch pass serves the three bodies from tests/farm.py on
127.0.0.1 (a server thread in the same process, for all three alike) through the real `Fetcher`
and `fetch_outlet`. The storage pass records SNAPSHOTS snapshots with the service's own
`record_snapshot`: a list whose stories stay about 25 snapshots, climb, fall and leave, two new
ones entering each time, as a busy hot list does at a 5-minute interval.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from monitor.config import OutletConfig, Settings  # noqa: E402
from monitor.db import hotlists as hotlist_store  # noqa: E402
from monitor.db import make_engine, make_session_factory, upgrade_database  # noqa: E402
from monitor.db import outlets as outlet_store  # noqa: E402
from monitor.db.models import HotlistEntry, HotlistRank, HotlistSnapshot  # noqa: E402
from monitor.fetch.feeds import parse_feed  # noqa: E402
from monitor.fetch.hotlists import ready_mappings  # noqa: E402
from monitor.fetch.jsonfeed import parse_json_outlet  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
TITLES = ROOT.parent.parent / "shared" / "data" / "news" / "thucnews_titles_dev.txt"


def headlines() -> list[str]:
    path = TITLES if TITLES.is_file() else Path("/work/shared/data/news/thucnews_titles_dev.txt")
    return [line.split("\t")[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def bodies(titles: list[str]) -> dict[str, bytes]:
    weibo = {"ok": 1, "data": {"realtime": [
        {"word": t, "note": t, "num": 2_000_000 - 30_000 * n, "rank": n, "realpos": n + 1, "label_name": "热",
         "category": "社会", "flag": 1, "word_scheme": f"#{t}#", "topic_flag": 1, "onboard_time": 1764540000 + n,
         "emoticon": "", "small_icon_desc": "热", "small_icon_desc_color": "#ff9406", "icon_desc_color": "#ff9406"}
        for n, t in enumerate(titles)]}}
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "微博热搜", "home_page_url": "https://s.weibo.com/",
            "items": [{"id": f"https://s.weibo.com/weibo?q=%23{t}%23", "url": f"https://s.weibo.com/weibo?q=%23{t}%23",
                       "title": t, "content_text": t, "date_published": "2026-12-01T09:00:00+08:00"} for t in titles]}
    items = "".join(
        f"<item><title>{t}</title><link>https://s.weibo.com/weibo?q=%23{t}%23</link><description>{t}</description>"
        f"<guid>https://s.weibo.com/weibo?q=%23{t}%23</guid><pubDate>Tue, 01 Dec 2026 09:00:00 +0800</pubDate></item>"
        for t in titles
    )
    rss = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>微博热搜</title>'
           f"<link>https://s.weibo.com/</link>{items}</channel></rss>")
    return {"hotlist (weibo-hot mapping)": json.dumps(weibo, ensure_ascii=False).encode(),
            "JSON Feed 1.1": json.dumps(feed, ensure_ascii=False).encode(),
            "RSS 2.0 (feedparser)": rss.encode()}


def parse_one(kind: str, body: bytes):
    url = "https://weibo.com/ajax/side/hotSearch"
    if kind.startswith("hotlist"):
        return parse_json_outlet(body, url=url, zone=SHANGHAI, mapping=ready_mappings()["weibo-hot"])
    if kind.startswith("JSON"):
        return parse_json_outlet(body, url=url, zone=SHANGHAI, mapping=None)
    return parse_feed(body, url=url, zone=SHANGHAI)


def parse_pass(all_bodies: dict[str, bytes], rounds: int) -> dict:
    results = {}
    for kind, body in all_bodies.items():
        assert len(parse_one(kind, body).entries) == 50
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(rounds):
            parse_one(kind, body)
        wall = time.perf_counter() - started
        results[kind] = {"bytes": len(body), "ms_per_snapshot": round(wall / rounds * 1000, 3),
                         "cpu_ms_per_snapshot": round((time.process_time() - cpu) / rounds * 1000, 3)}
    return results


def _serve(all_bodies: dict[str, bytes], ready, stop) -> None:
    from tests.farm import Farm, Reply

    farm = Farm().start()
    farm.route("/robots.txt", Reply(404))
    for n, (kind, body) in enumerate(all_bodies.items()):
        content_type = "application/rss+xml" if kind.startswith("RSS") else "application/json"
        farm.route(f"/{n}", Reply(200, body, {"Content-Type": content_type}))
    ready.put(farm.base)
    stop.wait()
    farm.stop()


async def fetch_pass(all_bodies: dict[str, bytes], fetches: int) -> dict:
    import multiprocessing

    from monitor.fetch.http import Fetcher
    from monitor.fetch.outlet import fetch_outlet

    # The farm runs in its own process, so that its threads do not share this one's GIL.
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve, args=(all_bodies, ready, stop), daemon=True)
    server.start()
    base = ready.get(timeout=30)
    settings = Settings(allow_networks=["127.0.0.0/8"], per_host_delay=timedelta(0), fetch_concurrency=8,
                        per_host_concurrency=8, database_url="sqlite://")
    results = {}
    try:
        for n, kind in enumerate(all_bodies):
            config = OutletConfig(
                id=f"o{n}", name=kind, url=f"{base}/{n}", tier="social", interval="5m",
                kind="rss" if kind.startswith("RSS") else "json",
                mapping="weibo-hot" if kind.startswith("hotlist") else None,
            )
            async with Fetcher(settings) as fetcher:
                slots = asyncio.Semaphore(8)

                async def one():
                    async with slots:
                        result = await fetch_outlet(fetcher, config, settings)
                        assert result.error is None and len(result.entries) == 50, result.error

                await one()  # robots.txt and the connection, outside the timing
                started, cpu = time.perf_counter(), time.process_time()
                await asyncio.gather(*(one() for _ in range(fetches)))
                wall = time.perf_counter() - started
                results[kind] = {"fetches_per_s": round(fetches / wall, 1),
                                 "cpu_ms_per_fetch": round((time.process_time() - cpu) / fetches * 1000, 2)}
    finally:
        stop.set()
        server.join(timeout=10)
    return results


@dataclass
class Line:
    rank: int
    title: str
    url: str
    heat: float | None


def storage_pass(url: str, snapshots: int, titles: list[str]) -> dict:
    upgrade_database(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, now=start, configs=[OutletConfig(
            id="weibo", name="微博热搜", kind="hotlist", url="https://weibo.com/ajax/side/hotSearch",
            tier="social", mapping="weibo-hot", interval="5m")])
    random.seed(7)
    pool = iter(titles * 4)
    # Each story has a momentum; it climbs while positive, falls, and leaves below rank 50.
    board: list[list] = [[next(pool), random.uniform(-1, 1), 1e6 * random.random()] for _ in range(50)]
    before = size_bytes(engine, url)
    started = time.perf_counter()
    for n in range(snapshots):
        for story in board:
            story[2] *= 1 + story[1] * 0.05
            story[1] -= 0.04  # interest fades
        board.sort(key=lambda story: -story[2])
        board = board[:48] + [[f"{next(pool)}·{n}", random.uniform(0.5, 1.5), 3e5 * random.random()] for _ in range(2)]
        board.sort(key=lambda story: -story[2])
        lines = [Line(rank, title, f"https://s.weibo.com/weibo?q=%23{title}%23", round(heat))
                 for rank, (title, _, heat) in enumerate(board, start=1)]
        with sessions.begin() as session:
            hotlist_store.record_snapshot(session, outlet_id="weibo", lines=lines,
                                          now=start + timedelta(minutes=5 * n), max_gap=timedelta(minutes=15))
    elapsed = time.perf_counter() - started
    with engine.connect() as connection:
        if url.startswith("sqlite"):
            connection.execute(text("VACUUM"))
    after = size_bytes(engine, url)
    with sessions() as session:
        counts = {name: session.scalar(select(func.count()).select_from(model)) for name, model in
                  [("snapshots", HotlistSnapshot), ("entries", HotlistEntry), ("ranks", HotlistRank)]}
        status_started = time.perf_counter()
        for title in titles[:200]:
            hotlist_store.hotlist_status(session, terms=[title[:4]])
        status_ms = (time.perf_counter() - status_started) / 200 * 1000
        view_started = time.perf_counter()
        hotlist_store.current_hotlists(session, history_since=start + timedelta(minutes=5 * snapshots) - timedelta(hours=24))
        view_ms = (time.perf_counter() - view_started) * 1000
    engine.dispose()
    growth = after - before
    return {"engine": url.split(":")[0], "snapshots": snapshots, **counts,
            "bytes_added": growth, "bytes_per_snapshot": round(growth / snapshots),
            "mb_per_10000_snapshots": round(growth / snapshots * 10_000 / 1e6, 1),
            "ms_per_snapshot_recorded": round(elapsed / snapshots * 1000, 2),
            "hotlist_status_ms": round(status_ms, 2), "current_hotlists_24h_ms": round(view_ms, 1)}


def size_bytes(engine, url: str) -> int:
    with engine.connect() as connection:
        if url.startswith("sqlite"):
            return connection.scalar(text("PRAGMA page_count")) * connection.scalar(text("PRAGMA page_size"))
        return connection.scalar(text("SELECT pg_database_size(current_database())"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--snapshots", type=int, default=10_000)
    parser.add_argument("--parse-rounds", type=int, default=300)
    parser.add_argument("--fetches", type=int, default=300)
    parser.add_argument("--out")
    args = parser.parse_args()
    titles = headlines()
    random.seed(3)
    all_bodies = bodies(random.sample(titles, 50))
    report = {"machine": {"python": platform.python_version(), "cores": os.cpu_count(),
                          "when": datetime.now(UTC).isoformat(timespec="seconds")}}
    report["parse"] = parse_pass(all_bodies, args.parse_rounds)
    print(json.dumps(report["parse"], ensure_ascii=False, indent=1), flush=True)
    report["fetch"] = asyncio.run(fetch_pass(all_bodies, args.fetches))
    print(json.dumps(report["fetch"], ensure_ascii=False, indent=1), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/hotlists.db"
        report["storage"] = storage_pass(url, args.snapshots, titles)
    print(json.dumps(report["storage"], ensure_ascii=False, indent=1), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
