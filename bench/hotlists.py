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

The matching pass (`--passes matching`) asks whether a hot-list entry finds its story's event
through the events stage's own grouping (monitor/events/stories.py `Grouper`, MinHash plus the
story link) when its title is all it has: the 150 items of the labelled story set
(tests/fixtures/events/stories: 29 real THUCNews headlines, posts and bodies written for the set)
are fed in time order with hot-list titles for each of its 43 stories and 8 same-subject topics
that are none of them (tests/fixtures/hotlists/titles.yaml: **synthetic**, written for this pass;
there is no real hot-list data in /work/shared/data). The index is first filled with BACKGROUND
People's Daily paragraphs as other open events (3% sharing the set's subjects), as bench/clustering.py
does, so document frequencies are those of a working index. A hot-list entry is right when it
joins the event holding most of its story's items, wrong when it joins another story's event,
missed when it opens an event of its own; a distractor is right when it opens its own.
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
from monitor.fetch.jsonfeed import parse_json_outlet  # noqa: E402
from monitor.presets import ready_mappings  # noqa: E402

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


HOT_TITLES = ROOT / "tests" / "fixtures" / "hotlists" / "titles.yaml"


def signal_pass(url: str, snapshots: int, events: int, titles: list[str]) -> dict:
    """What the hot-list signal adds to the events stage: per regrade, the event's hot-list status
    beside the member read and metrics it did before; per run, the events with an entry in a
    new snapshot. A database as the crawler leaves it (every entry an item) with `events` events
    of 10 items, one in ten holding a hot-list entry."""
    from monitor.db import events as event_store
    from monitor.db import items as item_store
    from monitor.db.models import Event, EventItem, Item, ItemAnalysis
    from monitor.events.spread import event_metrics
    from monitor.fetch.parsed import ParsedEntry

    upgrade_database(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, now=start, configs=[
            OutletConfig(id="weibo", name="微博热搜", kind="hotlist", url="https://weibo.com/ajax/side/hotSearch",
                         tier="social", mapping="weibo-hot", interval="5m"),
            OutletConfig(id="news", name="江城日报", kind="rss", url="https://news.example/rss", tier="local_media")])
    rng = random.Random(11)
    for n in range(snapshots):  # 50 lines, two new stories a snapshot, each on the list ~25 snapshots
        lines = [Line(rank, f"{titles[(n * 2 + rank) % len(titles)]}·{(n * 2 + rank) // len(titles)}", "", 1e5)
                 for rank in range(1, 51)]
        lines = [Line(line.rank, line.title, f"https://s.weibo.com/weibo?q=%23{line.title}%23", line.heat) for line in lines]
        now = start + timedelta(minutes=5 * n)
        with sessions.begin() as session:
            item_store.store_entries(session, outlet_id="weibo", now=now,
                                     entries=[ParsedEntry(url=line.url, title=line.title, text=line.title) for line in lines])
            hotlist_store.record_snapshot(session, outlet_id="weibo", lines=lines, now=now, max_gap=timedelta(minutes=15))
    now = start + timedelta(minutes=5 * snapshots)
    with sessions.begin() as session:
        hot_items = list(session.scalars(select(Item.id).where(Item.outlet_id == "weibo")))
        picked = iter(rng.sample(hot_items, min(len(hot_items), events // 10 + 1)))
        for e in range(events):
            stored = item_store.store_entries(session, outlet_id="news", now=now, entries=[
                ParsedEntry(url=f"https://news.example/{e}/{k}", title=f"{titles[(e * 10 + k) % len(titles)]} {e}-{k}",
                            text=titles[(e * 10 + k) % len(titles)]) for k in range(10 if e % 10 else 9)])
            members = list(stored.new_ids) + ([next(picked)] if e % 10 == 0 else [])
            event = Event(title=f"event {e}", level=None, status="open", first_item_id=members[0], first_outlet_id="news",
                          first_at=now, opened_at=now, last_item_at=now, item_count=len(members), metrics={}, updated_at=now)
            session.add(event)
            session.flush()
            for item_id in members:
                session.add(EventItem(event_id=event.id, item_id=item_id, joined_at=now, similarity=1.0))
                session.add(ItemAnalysis(item_id=item_id, library_version="b", model="b", negative_prob=0.9,
                                         item_negative_prob=0.9, keyword_strength=0.8, risk=60, hits=[], reasons=[],
                                         analysed_at=now))
    ids = list(range(1, events + 1))
    with sessions() as session:
        started = time.perf_counter()
        for event_id in ids:
            members = event_store.members(session, event_id=event_id)
            event_metrics(members, now, episode_start=event_store.last_reopened_at(session, event_id=event_id))
        before_ms = (time.perf_counter() - started) / len(ids) * 1000
        started = time.perf_counter()
        on_lists = 0
        for event_id in ids:
            on_lists += bool(hotlist_store.event_hotlist_status(session, event_id=event_id).presences)
        status_ms = (time.perf_counter() - started) / len(ids) * 1000
        started = time.perf_counter()
        for _ in range(20):
            seen = hotlist_store.events_seen_on_hotlists(session, since=now - timedelta(minutes=6))
        seen_ms = (time.perf_counter() - started) / 20 * 1000
    engine.dispose()
    return {"engine": url.split(":")[0], "snapshots": snapshots, "events": events, "events_with_an_entry": on_lists,
            "events_in_the_latest_snapshot": len(seen),
            "regrade_reads_before_ms": round(before_ms, 3), "event_hotlist_status_ms": round(status_ms, 3),
            "regrade_reads_ratio": round((before_ms + status_ms) / before_ms, 2),
            "events_seen_on_hotlists_ms_per_run": round(seen_ms, 2)}


def matching_pass(background: int) -> dict:
    import yaml

    sys.path.insert(0, str(ROOT / "scripts"))
    from monitor.events.cluster import signature
    from monitor.events.stories import Grouper, story_doc
    from tests.fixtures.events.stories.storyset import START, load

    fixture = yaml.safe_load(HOT_TITLES.read_text(encoding="utf-8"))
    told = load()
    terms_of = {i.subject: i.subject_terms for i in told}
    news_at = {}
    for item in told:
        if item.role == "news":
            news_at.setdefault(item.story, item.at)
    # (label, title, text, subject, terms, at, kind): kind is "item", "hot" or "distractor"
    rows = [(i.story, i.title, i.text, i.subject, i.subject_terms, i.at, "item") for i in told]
    for story, entry in fixture["stories"].items():
        subject = next(i.subject for i in told if i.story == story)
        at = news_at[story] + timedelta(hours=entry["after"])
        rows.append((story, entry["title"], entry["title"], subject, terms_of[subject], at, "hot"))
    for n, entry in enumerate(fixture["distractors"]):
        at = START + timedelta(hours=entry["at"])
        rows.append((f"D{n}", entry["title"], entry["title"], entry["subject"], terms_of[entry["subject"]], at, "distractor"))
    rows.sort(key=lambda row: (row[5], row[6] != "item"))

    filler: list[tuple] = []
    if background:
        from train_sentiment import peoples_daily_paragraphs

        texts = peoples_daily_paragraphs(80, 400)
        rng = random.Random(7)
        subjects = sorted(terms_of)
        for n in range(background):
            text = texts[n % len(texts)] if n < len(texts) else texts[n % len(texts)][n % 7:] + str(n)
            subject = subjects[n % len(subjects)] if n % 33 == 0 else f"bg{n % 5000}"
            filler.append((-(n + 1), START + timedelta(hours=rng.uniform(0, 180)), signature("", text),
                           story_doc("", text, {subject})))

    result: dict = {"background_items": background, "stories": len(fixture["stories"]),
                    "distractors": len(fixture["distractors"])}
    for method in ("minhash_only", "minhash_plus_story_link"):
        grouper = Grouper(threshold=0.5, window=timedelta(hours=72))
        for item_id, at, minhash, doc in filler:
            grouper.add(item_id, item_id, at, minhash, doc)
        event_of: list[int] = []
        seconds = 0.0
        for index, (_label, title, text, subject, terms, at, _kind) in enumerate(rows):
            minhash = signature(title, text)
            doc = story_doc(title, text, {subject}, terms) if method != "minhash_only" else None
            started = time.perf_counter()
            match = grouper.match(minhash, doc, at)
            seconds += time.perf_counter() - started
            event = match.event_id if match.event_id is not None and match.event_id >= 0 else 1_000_000 + index
            event_of.append(event)
            grouper.add(index, event, at, minhash, doc, grouper.last_weights)
        # Each story's event: the one holding most of its items (not counting hot-list entries).
        story_event = {}
        for label in {row[0] for row in rows if row[6] == "item"}:
            events = [event_of[n] for n, row in enumerate(rows) if row[0] == label and row[6] == "item"]
            story_event[label] = max(set(events), key=events.count)
        owner = {event: label for label, event in story_event.items()}
        right = wrong = missed = 0
        wrong_cases, missed_cases = [], []
        for n, row in enumerate(rows):
            if row[6] != "hot":
                continue
            if event_of[n] == story_event[row[0]]:
                right += 1
            elif event_of[n] in owner:
                wrong += 1
                wrong_cases.append(f"{row[0]} {row[1]} → {owner[event_of[n]]}")
            else:
                missed += 1
                missed_cases.append(f"{row[0]} {row[1]}")
        distractors_joined = [f"{row[1]} → {owner[event_of[n]]}" for n, row in enumerate(rows)
                              if row[6] == "distractor" and event_of[n] in owner]
        hot_rows = sum(1 for row in rows if row[6] == "hot")
        result[method] = {
            "hot_entries": hot_rows, "joined_their_story": right, "joined_another_story": wrong,
            "opened_their_own_event": missed, "recall": round(right / hot_rows, 3),
            "precision": round(right / (right + wrong), 3) if right + wrong else None,
            "distractors_joined_a_story": len(distractors_joined),
            "ms_per_lookup": round(1000 * seconds / len(rows), 3),
            "wrong": wrong_cases, "missed": missed_cases, "distractor_links": distractors_joined,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--snapshots", type=int, default=10_000)
    parser.add_argument("--parse-rounds", type=int, default=300)
    parser.add_argument("--fetches", type=int, default=300)
    parser.add_argument("--background", type=int, default=20_000, help="matching: other items in the index")
    parser.add_argument("--events", type=int, default=2000, help="signal: events in the database")
    parser.add_argument("--signal-snapshots", type=int, default=2000, help="signal: snapshots in the database")
    parser.add_argument("--passes", default="parse,fetch,storage,matching,signal")
    parser.add_argument("--out")
    args = parser.parse_args()
    passes = set(args.passes.split(","))
    titles = headlines()
    random.seed(3)
    all_bodies = bodies(random.sample(titles, 50))
    report = {"machine": {"python": platform.python_version(), "cores": os.cpu_count(),
                          "when": datetime.now(UTC).isoformat(timespec="seconds")}}
    if "parse" in passes:
        report["parse"] = parse_pass(all_bodies, args.parse_rounds)
        print(json.dumps(report["parse"], ensure_ascii=False, indent=1), flush=True)
    if "fetch" in passes:
        report["fetch"] = asyncio.run(fetch_pass(all_bodies, args.fetches))
        print(json.dumps(report["fetch"], ensure_ascii=False, indent=1), flush=True)
    if "storage" in passes:
        with tempfile.TemporaryDirectory() as folder:
            url = args.database_url or f"sqlite:///{folder}/hotlists.db"
            report["storage"] = storage_pass(url, args.snapshots, titles)
        print(json.dumps(report["storage"], ensure_ascii=False, indent=1), flush=True)
    if "signal" in passes:
        with tempfile.TemporaryDirectory() as folder:
            url = args.database_url or f"sqlite:///{folder}/signal.db"
            report["signal"] = signal_pass(url, args.signal_snapshots, args.events, titles)
        print(json.dumps(report["signal"], ensure_ascii=False, indent=1), flush=True)
    if "matching" in passes:
        report["matching"] = matching_pass(args.background)
        print(json.dumps(report["matching"], ensure_ascii=False, indent=1), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
