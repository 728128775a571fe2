"""Database size per million items, and what body retention gives back.

    .venv/bin/python bench/storage.py --database-url sqlite:////tmp/fenghuo-storage.db
    .venv/bin/python bench/storage.py --database-url postgresql+psycopg://postgres@127.0.0.1:55432/storagebench

Fills ITEMS items (default 1,000,000) with an analysis each (two keyword hits, reasons) and bodies
of news-article length (about 1,000 characters of real Chinese headlines, ~3 KB in UTF-8), then
measures the database, prunes every body with the service's own function
(`monitor.db.items.prune_bodies_in_batches`), reclaims the space (VACUUM; VACUUM FULL on PostgreSQL) and
measures again. Reports bytes per item before and after, and the time the pruning took.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402

from monitor.db import make_engine, make_session_factory, upgrade_database  # noqa: E402
from monitor.db import items as item_store  # noqa: E402
from monitor.db.models import Item, ItemAnalysis, Outlet  # noqa: E402


def size_bytes(engine, url: str) -> int:
    with engine.connect() as connection:
        if url.startswith("sqlite"):
            pages = connection.scalar(text("PRAGMA page_count"))
            return pages * connection.scalar(text("PRAGMA page_size"))
        return connection.scalar(text("SELECT pg_database_size(current_database())"))


def reclaim(engine, url: str) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if url.startswith("sqlite"):
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            connection.execute(text("VACUUM"))
        else:
            connection.execute(text("VACUUM FULL"))


def fill(engine, items: int) -> float:
    titles = [line.split("\t")[0] for line in (ROOT / "monitor/demo/data/headlines.tsv").read_text("utf-8").splitlines()]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(insert(Outlet), [
            dict(id=f"o{n}", name=f"outlet {n}", kind="rss", url=f"http://o{n}.invalid/", tier="local_media",
                 region="全国", enabled=True, config={}, interval_seconds=600, error_count=0)
            for n in range(1000)
        ])
    batch = 10_000
    for start in range(0, items, batch):
        rows, analyses = [], []
        for n in range(start, min(items, start + batch)):
            at = t0 + timedelta(seconds=n * 10)
            body = "。".join(titles[(n * k) % len(titles)] for k in range(1, 45))  # ~1,000 characters
            rows.append(dict(
                id=n + 1, outlet_id=f"o{n % 1000}", url=f"http://o{n % 1000}.invalid/news/{n}.html",
                canonical_url=f"http://o{n % 1000}.invalid/news/{n}.html", url_hash=f"{n:064d}", guid=None,
                content_hash=f"{n:064x}", title=titles[n % len(titles)], text=body, author=None, language="zh",
                published_at=at, first_seen_at=at + timedelta(minutes=3),
            ))
            analyses.append(dict(
                item_id=n + 1, library_version="0123456789ab", model="fenghuo-general", negative_prob=0.7,
                item_negative_prob=0.6, keyword_strength=1.5, risk=55,
                hits=[{"rule": "org", "group": "organisation", "weight": 1.0, "terms": ["江城水务"],
                       "spans": [[0, 4]], "in_title": True},
                      {"rule": "incident", "group": "incident", "weight": 0.8, "terms": ["停水"],
                       "spans": [[10, 12]], "in_title": False}],
                reasons=[{"factor": "title hit", "points": 20}, {"factor": "negative tone", "points": 30}],
                analysed_at=at + timedelta(minutes=4),
            ))
        with engine.begin() as connection:
            connection.execute(insert(Item), rows)
            connection.execute(insert(ItemAnalysis), analyses)
        if (start // batch) % 20 == 0:
            print(f"items {start + len(rows):,} ({time.perf_counter() - started:.0f}s)", file=sys.stderr, flush=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    url = args.database_url
    upgrade_database(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        if connection.scalar(select(func.count()).select_from(Item)):
            sys.exit("the database is not empty: give a fresh one")
    fill_seconds = fill(engine, args.items)
    reclaim(engine, url)
    before = size_bytes(engine, url)
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    started = time.perf_counter()
    pruned = sum(item_store.prune_bodies_in_batches(sessions, before=now, now=now))
    prune_seconds = time.perf_counter() - started
    reclaim(engine, url)
    after = size_bytes(engine, url)
    engine_name = "sqlite" if url.startswith("sqlite") else "postgresql"
    result = {
        "engine": engine_name, "items": args.items, "pruned": pruned,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "fill_seconds": round(fill_seconds, 1), "prune_seconds": round(prune_seconds, 1),
        "bytes_before": before, "bytes_after": after,
        "bytes_per_item_before": round(before / args.items), "bytes_per_item_after": round(after / args.items),
        "gb_per_million_before": round(before / args.items * 1e6 / 1e9, 2),
        "gb_per_million_after": round(after / args.items * 1e6 / 1e9, 2),
        "after_over_before": round(after / before, 3),
    }
    print(json.dumps(result, indent=2))
    out = args.out or ROOT / "bench" / "results" / f"storage-{engine_name}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
