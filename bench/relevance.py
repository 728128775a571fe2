"""Ranking by relevance on an archive bench/search.py kept (--keep): how long the newest 1,000
matches of a word take to find and rank, for words from rare to very common.

    .venv/bin/python bench/relevance.py --database-url sqlite:////tmp/search1m.db --runs 3
    .venv/bin/python bench/relevance.py --database-url postgresql+psycopg://postgres@127.0.0.1:55433/search1m

Each word is searched RUNS times (one client, a page of 50, sort=relevance) through
monitor.db.search.search_items; the first run of each word is reported apart (cold). To compare
two commits,
run this file from a checkout of each, alternately, on the same archive (BENCHMARKS.md
"Ranking by relevance on a common word"); the top ids printed must agree.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.analyze.query import compile_query  # noqa: E402
from monitor.db import search  # noqa: E402
from monitor.db.engine import make_engine, make_session_factory  # noqa: E402

# From rare to very common in bench/search.py's archive (real headlines and CFSC sentences):
# about 670, 5,200, 6,800, 12,800, 119,000 and 243,000 items at 1,000,000; 中国 in most.
WORDS = ("停水", "房价", "水务", "学生", "银行", "有限公司", "中国")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--word", action="append", help="instead of the default words (repeatable)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sessions = make_session_factory(make_engine(args.database_url))
    rows = []
    for word in args.word or WORDS:
        query = compile_query(word)
        times = []
        for _ in range(args.runs):
            with sessions() as session:
                started = time.perf_counter()
                page = search.search_items(session, query=query, sort="relevance", limit=50)
                times.append((time.perf_counter() - started) * 1000)
        row = dict(word=word, cold_ms=round(times[0], 1), warm_median_ms=round(statistics.median(times[1:] or times), 1),
                   runs_ms=[round(t, 1) for t in times], scanned=page.scanned, truncated=page.truncated,
                   top_ids=[hit.id for hit in page.hits[:5]])
        print(json.dumps(row, ensure_ascii=False), flush=True)
        rows.append(row)
    if args.out:
        args.out.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
