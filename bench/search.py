"""Full-text search: query latency (one client and ten), index size, ingest with the index on vs off.

    .venv/bin/python bench/search.py --database-url sqlite:////tmp/fenghuo-search.db --items 200000
    .venv/bin/python bench/search.py --database-url postgresql+psycopg://postgres@127.0.0.1:55433/postgres --items 200000

A PostgreSQL URL names a server: a throwaway database is made on it and dropped at the end
(with --keep NAME, that database is filled and kept, and a later run with --keep NAME only
measures the queries again: --only QUERY, --no-baseline).

At 1,000,000 items use --direct: the items are loaded by COPY / executemany and the index built
once over them, as an existing archive's upgrade builds it (BENCHMARKS.md "Full-text search").

Data: titles are real headlines (monitor/demo/data/headlines.tsv, 500, and THUCNews titles from
/work/shared/data/news, 10,000) cycled over ITEMS; bodies are 4 real financial-news sentences each
(CFSC-ABSA, /work/shared/data/sentiment) drawn at random, ~200 characters. One item in a thousand
is a synthetic water-outage story (so the issue's example rule has something to find). Items are
spread over 90 days.

Steps: migrate to BEFORE_SEARCH (no search index), bulk-load ITEMS items, ingest INGEST more
through the service's own store_entries (100 per transaction, as a fetch stores them): the
baseline. Migrate to SYNC_INDEX (0015's index, titles and bodies indexed by the insert: built over
everything, timed), ingest INGEST more. Migrate to head (0018: items queued for the worker's index), ingest
INGEST more; time a few queries with those items still queued (the tail is scanned); time the worker indexing the queue (search.index_backlog). On PostgreSQL every ingest
and the worker's step include flushing the GIN pending lists, so no cost is hidden. Index size is
measured at the end. Then each query runs with one client (RUNS times) and with ten threads at
once (2 each), a page of 50 newest first, through monitor.db.search.search_items (SQL candidates
+ library verification). Each query also runs 3 times as the baseline: on SQLite with the index
unused (substring scans), on PostgreSQL with two-character terms by a substring test (as before
the bigram index of migration 0018).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from monitor.analyze.query import compile_query  # noqa: E402
from monitor.db import make_engine, make_session_factory, upgrade_database  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from monitor.db.engine import alembic_config, current_revision  # noqa: E402
from monitor.db import items as item_store  # noqa: E402
from monitor.db.models import Item, Outlet  # noqa: E402
from monitor.db import search  # noqa: E402
from monitor.db.search import Filters, search_items  # noqa: E402
from monitor.fetch.parsed import ParsedEntry  # noqa: E402

SHARED = Path("/work/shared/data")
BEFORE_SEARCH = "0014"  # the revision before the search index (0015)
BEFORE_QUEUE = "0019"  # the last revision before the queue (0020)
SYNC_INDEX = "0017"  # the last revision that indexed bodies on insert (0018 queues them)
FILL_CHUNK = 50_000
MAINTENANCE_MEMORY = "1GB"  # PostgreSQL, for the index builds
ROUNDS = 3  # each ingest is timed in this many rounds
TAIL_QUERIES = ("selective, 3+ chars", "selective, 2 chars", "no match, 3+ chars")
T0 = datetime(2026, 9, 1, tzinfo=UTC)
SPAN = timedelta(days=90)
WATER = [
    ("江城水务：河西片区明日计划停水", "因管网改造，江城水务集团将于明日停水十二小时，请居民提前储水。"),
    ("河西小区突发断水 居民质疑江城水务", "多名居民反映，江城水务未提前通知断水，老人上下楼取水困难。"),
    ("江城水务开展停水应急演练", "今日上午，江城水务组织停水应急演练，检验抢修队伍响应速度。"),
]
QUERIES = [  # name, query, filter: (what it shows)
    ("selective, 3+ chars", "浙商产业投资基金", None),
    ("selective, 2 chars", "停水", None),
    ("issue's rule, all 2-char terms", '"水务" & ("停水" | "断水") & !"演练"', None),
    ("rule + last 7 days", '"水务" & ("停水" | "断水") & !"演练"', "week"),
    ("broad, 3+ chars", "有限公司", None),
    ("broad, 2 chars", "中国", None),
    ("no match, 3+ chars", "鼹鼠出没注意", None),
    ("no match, 2 chars", "鼹鼠", None),
    ("broad, by relevance", "有限公司", "relevance"),
]


def corpus() -> tuple[list[str], list[str]]:
    titles = [line.split("\t")[0] for line in (ROOT / "monitor/demo/data/headlines.tsv").read_text("utf-8").splitlines()]
    titles += [line.split("\t")[0] for line in (SHARED / "news/thucnews_titles_dev.txt").read_text("utf-8").splitlines()]
    sentences = sorted({row["sentence"] for row in json.loads((SHARED / "sentiment/cfsc_absa_dev.json").read_text("utf-8"))})
    return [t for t in titles if t.strip()], sentences


def item(n: int, titles, sentences, rng) -> tuple[str, str]:
    if n % 1000 == 999:
        return WATER[(n // 1000) % len(WATER)]
    return titles[n % len(titles)], "".join(rng.sample(sentences, 4))


def bulk_fill(engine, count: int, titles, sentences, rng, indexed: bool = False) -> float:
    """ITEMS items straight into the table, as a restore or an archive from before search would
    hold them: PostgreSQL by COPY, SQLite by executemany in transactions of 50,000 (1 M items in
    a few minutes; the service's own write path is timed separately, by `ingest`)."""
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(insert(Outlet), [
            dict(id=f"o{n}", name=f"outlet {n}", kind="rss", url=f"http://o{n}.invalid/", tier="local_media",
                 region="全国", enabled=True, config={}, interval_seconds=600, error_count=0) for n in range(100)
        ])
    step = SPAN / count

    def rows(start: int, end: int):
        for n in range(start, end):
            title, body = item(n, titles, sentences, rng)
            yield (f"o{n % 100}", f"http://x.invalid/{n}", f"http://x.invalid/{n}", f"{n:064d}", f"{n:064d}",
                   title, body, "zh-Hans", T0 + step * n) + ((True,) if indexed else ())

    columns = ("outlet_id", "url", "canonical_url", "url_hash", "content_hash", "title", "text", "language",
               "first_seen_at") + (("search_indexed",) if indexed else ())
    for start in range(0, count, FILL_CHUNK):
        end = min(count, start + FILL_CHUNK)
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                cursor = connection.connection.driver_connection.cursor()
                with cursor.copy(f"COPY items ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows(start, end):
                        copy.write_row(row)
            else:
                connection.execute(insert(Item), [dict(zip(columns, row)) for row in rows(start, end)])
        if count >= 10 * FILL_CHUNK and end % (10 * FILL_CHUNK) == 0:
            print(f"  filled {end:,} in {time.perf_counter() - started:.0f} s", flush=True)
    return time.perf_counter() - started


def ingest_rounds(sessions, engine, postgres, first: int, count: int, titles, sentences, rng) -> list[float]:
    """`count` items in ROUNDS rounds, each timed with its GIN flush (PostgreSQL): the best round
    is the least disturbed by the other work on a shared machine."""
    share = count // ROUNDS
    return [ingest(sessions, first + r * share, share, titles, sentences, rng) + flush_pending(engine, postgres)
            for r in range(ROUNDS)]


def ingest(sessions, first: int, count: int, titles, sentences, rng) -> float:
    """The service's write path: store_entries, 100 entries per transaction."""
    started = time.perf_counter()
    for start in range(first, first + count, 100):
        entries = []
        for n in range(start, min(first + count, start + 100)):
            title, body = item(n, titles, sentences, rng)
            entries.append(ParsedEntry(url=f"http://y.invalid/{n}", title=title, text=body))
        with sessions.begin() as session:
            item_store.store_entries(session, outlet_id=f"o{start % 100}", entries=entries,
                                     now=T0 + SPAN + timedelta(seconds=start))
    return time.perf_counter() - started


def index_bytes(engine, postgres: bool) -> int:
    with engine.connect() as connection:
        if postgres:
            return int(connection.scalar(text(
                "SELECT sum(pg_relation_size(indexrelid)) FROM pg_index JOIN pg_class ON pg_class.oid = indexrelid "
                "WHERE relname = ANY(:names)"), {"names": sorted(search.OUTSIDE_THE_ORM)}))
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        # The FTS5 shadow tables and the body queue, page by page (dbstat is compiled into CPython's SQLite).
        return connection.scalar(text(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'items_fts%' OR name = 'search_backlog'"))


def flush_pending(engine, postgres: bool) -> float:
    """PostgreSQL: move the GIN pending lists into the indexes (fastupdate defers that work to
    a later insert or vacuum, which would hide it from the ingest's time). Returns seconds."""
    if not postgres:
        return 0.0
    started = time.perf_counter()
    with engine.begin() as connection:
        for name in connection.scalars(text(
                "SELECT relname FROM pg_class JOIN pg_am ON pg_am.oid = relam "
                "WHERE amname = 'gin' AND relname = ANY(:names)"), {"names": sorted(search.OUTSIDE_THE_ORM)}):
            connection.execute(text(f"SELECT gin_clean_pending_list('{name}'::regclass)"))
    return time.perf_counter() - started


def _ms(rounds: list[float]) -> list[float]:
    return [round(r, 3) for r in rounds]


def _slowdown(rounds: list[float], baseline: list[float]) -> dict:
    """Against the baseline: total over all rounds, and best round against best round."""
    return dict(total=round(sum(rounds) / sum(baseline) - 1, 3), best=round(min(rounds) / min(baseline) - 1, 3))


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def run_query(sessions, query, option) -> tuple[float, int, int]:
    filters = Filters(since=T0 + SPAN - timedelta(days=7)) if option == "week" else Filters()
    sort = "relevance" if option == "relevance" else "time"
    started = time.perf_counter()
    with sessions() as session:
        page = search_items(session, query=query, filters=filters, sort=sort, limit=50)
    return (time.perf_counter() - started) * 1000, len(page.hits), page.scanned


def measure(sessions, runs: int, baseline_runs: int = 3, only: list[str] | None = None) -> list[dict]:
    results = []
    for name, expression, option in QUERIES:
        if only and name not in only:
            continue
        query = compile_query(expression)
        _, hits, scanned = run_query(sessions, query, option)  # warm-up; compiles and caches
        single = [run_query(sessions, query, option)[0] for _ in range(runs)]
        parallel: list[float] = []
        lock = threading.Lock()

        def client():
            mine = [run_query(sessions, query, option)[0] for _ in range(2)]
            with lock:
                parallel.extend(mine)

        threads = [threading.Thread(target=client) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # The baseline, same run: SQLite, the same search with the index unused (substring
        # scans); PostgreSQL, with two-character terms by a substring test as before migration
        # 0020's bigram index (3+ character terms through pg_trgm either way).
        baseline = _baseline(sessions, query, option, baseline_runs) if baseline_runs else None
        row = dict(query=name, expression=expression, option=option, hits=hits, scanned=scanned,
                   no_index_p50_ms=baseline,
                   p50_ms=round(statistics.median(single), 1), p95_ms=round(percentile(single, 0.95), 1),
                   ten_clients_p50_ms=round(statistics.median(parallel), 1),
                   ten_clients_p95_ms=round(percentile(parallel, 0.95), 1))
        print(json.dumps(row, ensure_ascii=False), flush=True)
        results.append(row)
    return results


def _baseline(sessions, query, option, runs: int) -> float:
    saved = search._Index.trigrams, search._Index.broad, search._Bigrams.__dict__["rows_with"]
    search._Index.trigrams, search._Index.broad = (lambda self, s: None), (lambda self, s: True)
    search._Bigrams.rows_with = classmethod(lambda cls, s: saved[2].__func__(cls, s) if len(s) >= 3 else None)
    try:
        return round(statistics.median(run_query(sessions, query, option)[0] for _ in range(runs)), 1)
    finally:
        search._Index.trigrams, search._Index.broad, search._Bigrams.rows_with = saved


def interleaved(args, postgres: bool) -> dict:
    """Ingest into two archives of ITEMS items, one with no search index (BEFORE_SEARCH), one at
    head (items queued for the worker), 500 items a round, alternating which goes first: the
    shared machine's load falls on both alike, which three rounds in a row at each revision do
    not promise (two such runs gave -48% and +81% on PostgreSQL)."""
    urls, made = {}, []
    for mode in ("off", "queued"):
        if postgres:
            name = f"fenghuo_bench_search_{mode}_{uuid.uuid4().hex[:6]}"
            with _admin(args).connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            made.append(name)
            urls[mode] = args.database_url.rsplit("/", 1)[0] + "/" + name
        else:
            path = Path(args.database_url.split("///", 1)[1] + f"-{mode}")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            urls[mode] = f"sqlite:///{path}"
    engines = {}
    try:
        titles, sentences = corpus()
        for mode, url in urls.items():
            upgrade_database(url, BEFORE_SEARCH if mode == "off" else "head")
            engines[mode] = make_engine(url)
            bulk_fill(engines[mode], args.items, titles, sentences, random.Random(17))
        times: dict[str, list[float]] = {"off": [], "queued": []}
        first = args.items
        for r in range(args.interleaved):
            for mode in ("off", "queued") if r % 2 == 0 else ("queued", "off"):
                sessions = make_session_factory(engines[mode])
                times[mode].append(round(ingest(sessions, first, 500, titles, sentences, random.Random(r))
                                         + flush_pending(engines[mode], postgres), 3))
            first += 500
        median = {mode: statistics.median(t) for mode, t in times.items()}
        return dict(engine="postgresql" if postgres else "sqlite", items=args.items, items_per_round=500,
                    rounds=times, median_s=median, slowdown_median=round(median["queued"] / median["off"] - 1, 3))
    finally:
        for engine in engines.values():
            engine.dispose()
        for name in made:
            with _admin(args).connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _admin(args):
    return make_engine(args.database_url).execution_options(isolation_level="AUTOCOMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--ingest", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--interleaved", type=int, metavar="ROUNDS",
                        help="only compare ingest with no index and queued, in alternating rounds")
    parser.add_argument("--keep", metavar="NAME",
                        help="PostgreSQL: fill this database on the server and keep it (SQLite: keep the file); "
                             "when it already holds the archive, only measure the queries")
    parser.add_argument("--direct", action="store_true",
                        help="upgrade the filled archive from before search straight to head, as an old archive "
                             "is upgraded (no ingest at the index-on-insert revision)")
    parser.add_argument("--maintenance-memory", default=MAINTENANCE_MEMORY, metavar="SIZE",
                        help="PostgreSQL maintenance_work_mem for the index builds (default %(default)s); "
                             "a GIN build flushes its in-memory lists each time this fills")
    parser.add_argument("--no-baseline", action="store_true",
                        help="with --keep on a filled archive: skip the index-unused baseline runs")
    parser.add_argument("--only", action="append", metavar="QUERY",
                        help="with --keep on a filled archive: measure only this query (by its name; repeatable)")
    args = parser.parse_args()
    postgres = args.database_url.startswith("postgres")
    if args.interleaved:
        result = interleaved(args, postgres)
        print(json.dumps(result, ensure_ascii=False))
        if args.out:
            args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return
    url, admin, name = args.database_url, None, None
    if postgres:
        admin = make_engine(args.database_url).execution_options(isolation_level="AUTOCOMMIT")
        name = args.keep or f"fenghuo_bench_search_{uuid.uuid4().hex[:6]}"
        with admin.connect() as connection:
            if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
                connection.execute(text(f'CREATE DATABASE "{name}"'))
                # The index builds of the upgrade (0015, 0020) sort in memory what fits: PostgreSQL's
                # default 64 MB makes a GIN build over a million rows flush many times (README
                # "Searching the archive" gives operators the same advice).
                connection.execute(text(f'ALTER DATABASE "{name}" SET maintenance_work_mem = {args.maintenance_memory!r}'))
        url = args.database_url.rsplit("/", 1)[0] + "/" + name
    elif not args.keep:
        path = Path(url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    try:
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        if args.keep and current_revision(url) == head:
            result = measure_only(url, postgres, args)
        else:
            result = full_run(url, postgres, args)
        if args.out:
            args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(json.dumps({k: v for k, v in result.items() if k != "queries"}, ensure_ascii=False))
    finally:
        if admin is not None:
            if not args.keep:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def measure_only(url: str, postgres: bool, args) -> dict:
    """An archive a previous --keep run filled: index it all, then time the queries again."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    search.index_backlog(sessions, at_most=10**9)
    flush_pending(engine, postgres)
    with engine.connect() as connection:
        items = connection.scalar(text("SELECT count(*) FROM items"))
        connection.execute(text("ANALYZE"))
        connection.commit()
    size = index_bytes(engine, postgres)
    print(f"{items:,} items; index: {size / items:.0f} bytes/item", flush=True)
    queries = measure(sessions, args.runs, 0 if args.no_baseline else 3, args.only)
    engine.dispose()
    return dict(engine="postgresql" if postgres else "sqlite", items=items, **_versions(),
                index_bytes=size, index_bytes_per_item=round(size / items), queries=queries)


def _versions() -> dict:
    return dict(sqlite_version=__import__("sqlite3").sqlite_version, python=platform.python_version())


def full_run(url: str, postgres: bool, args) -> dict:
    titles, sentences = corpus()
    rng = random.Random(17)
    sync: list[float] = []
    first = args.items
    if postgres and args.direct:
        # At head, without the search indexes (their definitions read from the catalogue, so they
        # are built exactly as migration 0020 builds them over an existing archive): fill with
        # every item marked indexed, time the ingest without them, then build each once. (An
        # archive upgraded from before 0015 builds the trigram indexes twice, once per migration.)
        upgrade_database(url)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        with engine.begin() as connection:
            definitions = dict(connection.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(:names)"),
                {"names": sorted(search.OUTSIDE_THE_ORM)}).all())
            for name in definitions:
                connection.execute(text(f"DROP INDEX {name}"))
        fill_s = bulk_fill(engine, args.items, titles, sentences, rng, indexed=True)
        print(f"bulk load {args.items:,}: {fill_s:.1f} s", flush=True)
        off = ingest_rounds(sessions, engine, postgres, first, args.ingest, titles, sentences, rng)
        print(f"ingest {args.ingest:,} without index: {sum(off):.2f} s, rounds {_ms(off)}", flush=True)
        builds = {}
        for name, definition in definitions.items():
            started = time.perf_counter()
            with engine.begin() as connection:
                connection.execute(text(definition))
            builds[name] = round(time.perf_counter() - started, 1)
            print(f"  built {name}: {builds[name]} s", flush=True)
        build_s = sum(builds.values())
        print(f"index build over {args.items + args.ingest:,}: {build_s:.1f} s", flush=True)
        first += args.ingest
        queue_migration_s = 0.0
    else:
        upgrade_database(url, BEFORE_SEARCH)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        fill_s = bulk_fill(engine, args.items, titles, sentences, rng)
        print(f"bulk load {args.items:,}: {fill_s:.1f} s", flush=True)
        off = ingest_rounds(sessions, engine, postgres, first, args.ingest, titles, sentences, rng)
        print(f"ingest {args.ingest:,} without index: {sum(off):.2f} s, rounds {_ms(off)}", flush=True)
        engine.dispose()
        started = time.perf_counter()
        # The index is built as an existing archive's upgrade builds it: migration 0015 over every
        # stored item.
        upgrade_database(url, BEFORE_QUEUE if args.direct else SYNC_INDEX)
        build_s = time.perf_counter() - started
        builds = {}
        print(f"index build (0015) over {args.items + args.ingest:,}: {build_s:.1f} s", flush=True)
        first += args.ingest
        if not args.direct:
            engine = make_engine(url)
            sessions = make_session_factory(engine)
            sync = ingest_rounds(sessions, engine, postgres, first, args.ingest, titles, sentences, rng)
            print(f"ingest {args.ingest:,}, indexed on insert ({SYNC_INDEX}): {sum(sync):.2f} s, "
                  f"rounds {_ms(sync)}", flush=True)
            engine.dispose()
            first += args.ingest
        started = time.perf_counter()
        upgrade_database(url)
        queue_migration_s = time.perf_counter() - started
        print(f"migration 0020 (the queue): {queue_migration_s:.1f} s", flush=True)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
    queued_rounds = ingest_rounds(sessions, engine, postgres, first, args.ingest, titles, sentences, rng)
    print(f"ingest {args.ingest:,}, queued for the worker (head): {sum(queued_rounds):.2f} s, "
          f"rounds {_ms(queued_rounds)}", flush=True)
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    with sessions() as session:
        queued = search.backlog_size(session)
    with_tail = {}
    for query_name, expression, option in QUERIES:
        if query_name in TAIL_QUERIES:
            query = compile_query(expression)
            run_query(sessions, query, option)
            with_tail[query_name] = round(statistics.median(run_query(sessions, query, option)[0] for _ in range(3)), 1)
    print(f"with {queued:,} items queued, p50 ms: {with_tail}", flush=True)
    started = time.perf_counter()
    worked = search.index_backlog(sessions, at_most=10**9)
    worker_s = time.perf_counter() - started + flush_pending(engine, postgres)
    print(f"worker indexed {worked:,} queued items: {worker_s:.2f} s", flush=True)
    indexed = first + args.ingest
    size = index_bytes(engine, postgres)
    print(f"index: {size / indexed:.0f} bytes/item", flush=True)
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    queries = measure(sessions, args.runs)
    engine.dispose()
    result = dict(
        engine="postgresql" if postgres else "sqlite", items=indexed, **_versions(),
        bulk_load_s=round(fill_s, 1), index_build_s=round(build_s, 1), index_builds_s=builds, queue_migration_s=round(queue_migration_s, 1),
        index_bytes=size, index_bytes_per_item=round(size / indexed),
        ingest_items=args.ingest, ingest_rounds=ROUNDS, ingest_without_index_s=_ms(off),
        ingest_queued_s=_ms(queued_rounds), slowdown_queued=_slowdown(queued_rounds, off),
        worker_index_s=round(worker_s, 2), worker_ms_per_item=round(worker_s * 1000 / max(worked, 1), 2),
        queued_during_tail_queries=queued, tail_queries_p50_ms=with_tail, queries=queries,
    )
    if sync:
        result.update(ingest_indexed_on_insert_s=_ms(sync), slowdown_indexed_on_insert=_slowdown(sync, off))
    return result


if __name__ == "__main__":
    main()
