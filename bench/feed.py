"""Alert-feed latency with a full database: 1,000,000 items, 50,000 events, 100,000 alerts.

    .venv/bin/python bench/feed.py --database-url sqlite:////tmp/fenghuo-feed.db
    .venv/bin/python bench/feed.py --database-url postgresql+psycopg://postgres@127.0.0.1:55432/feedbench

The database is filled once (reused if already filled). The API runs as `fenghuo api --workers N`
does (`monitor.service.api_process_app`; --workers, default 1) on 127.0.0.1; this process is the
load: --clients concurrent clients (default 10), each sending the next request as soon as the
last answered, for a fixed time per scenario:
  - the ceiling: GET /healthz (no token, no database) on the same server, alternating with each
    feed scenario (--rounds times, --seconds each); a scenario's requests/s is reported as a ratio
    of the /healthz run just before it, the median round (target, issue 19: >= 0.5)
  - first page: GET /api/v1/alerts?limit=50
  - filtered page: GET /api/v1/alerts?min_level=orange&status=new&limit=50
  - deep page: GET /api/v1/alerts?before=<an id near the oldest>&limit=50 (a cursor, not OFFSET)
  - poll: GET /api/v1/alerts?since=<the newest id - 10>&limit=50
The load is wrk when installed (`apt-get install wrk`: two C threads, so the client takes little
of the two cores), else an httpx client in this process. Reported: p50, p99 and requests/s. Target (issue 5): p99 under 50 ms for the first
page on SQLite and PostgreSQL, deep pages as fast as the first; issue 19: with 10 clients.

`--count-calls N` measures instead what noise on a shared machine does not move: Python function
calls per request (`sys.setprofile`, the event loop's thread and the thread pool's), over N
requests of each scenario sent to the app in this process (no network, no load generator).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.db import make_engine, upgrade_database  # noqa: E402
from monitor.db.models import Alert, Escalation, Event, EventItem, Item, Outlet  # noqa: E402
from monitor.db.tokens import hash_token  # noqa: E402

TOKEN = "fh_feed_benchmark_token_not_secret_000000000000"
LEVELS = ("blue", "yellow", "orange", "red")
TIERS = ("central_media", "local_media", "industry_media", "government", "forum", "social", "self_media")


def fill(database_url: str, items: int, events: int) -> None:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        if connection.scalar(select(func.count()).select_from(Item)) >= items:
            print("database already filled", flush=True)
            return
    rng = random.Random(7)
    titles = [line.split("\t")[0] for line in (ROOT / "monitor/demo/data/headlines.tsv").read_text("utf-8").splitlines()]
    t0 = datetime(2026, 10, 1, tzinfo=UTC)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(insert(Outlet), [
            dict(id=f"o{n}", name=f"outlet {n}", kind="rss", url=f"http://o{n}.invalid/", tier=TIERS[n % 7],
                 region="全国", enabled=True, config={}, interval_seconds=600, error_count=0)
            for n in range(1000)
        ])
        connection.execute(text(
            "INSERT INTO api_tokens (name, role, token_hash, created_at) VALUES ('bench', 'viewer', :h, :t)"
        ), {"h": hash_token(TOKEN), "t": t0.replace(tzinfo=None) if database_url.startswith("sqlite") else t0})
    per_event = items // events
    batch = 20_000
    for start in range(0, items, batch):
        rows = []
        for n in range(start, min(items, start + batch)):
            at = t0 + timedelta(seconds=n * 2)
            rows.append(dict(
                outlet_id=f"o{n % 1000}", url=f"http://o{n % 1000}.invalid/{n}", canonical_url=f"http://o{n % 1000}.invalid/{n}",
                url_hash=f"{n:064d}", guid=None, content_hash=f"{n:064x}", title=titles[n % len(titles)],
                text=titles[(n * 7) % len(titles)] + "。" + titles[(n * 13) % len(titles)], author=None,
                language="zh", published_at=at, first_seen_at=at + timedelta(minutes=3),
            ))
        with engine.begin() as connection:
            connection.execute(insert(Item), rows)
        print(f"items {start + len(rows):,} ({time.perf_counter() - started:.0f}s)", flush=True)
    first_item = 1
    for start in range(0, events, 5000):
        event_rows, member_rows = [], []
        for e in range(start, min(events, start + 5000)):
            first = first_item + e * per_event
            at = t0 + timedelta(seconds=(first - 1) * 2)
            event_rows.append(dict(
                id=e + 1, title=titles[e % len(titles)], level=LEVELS[e % 4], status="open", first_item_id=first,
                first_outlet_id=f"o{(first - 1) % 1000}", first_at=at, opened_at=at, last_item_at=at,
                closed_at=None, item_count=per_event, metrics={"items": per_event}, updated_at=at,
            ))
            member_rows += [dict(item_id=first + k, event_id=e + 1, joined_at=at, similarity=0.8) for k in range(per_event)]
        with engine.begin() as connection:
            connection.execute(insert(Event), event_rows)
            connection.execute(insert(EventItem), member_rows)
    alert_id = 0
    for start in range(0, events, 5000):
        escalations, alerts = [], []
        for e in range(start, min(events, start + 5000)):
            at = t0 + timedelta(seconds=(first_item + e * per_event - 1) * 2)
            for step in range(2):  # two escalations and alerts per story
                alert_id += 1
                level = LEVELS[min(3, e % 4 + step)]
                escalations.append(dict(id=alert_id, event_id=e + 1, at=at, kind="escalate", from_level=None,
                                        to_level=level, actor="auto", reason="bench", reasons=[], metrics={}))
                alerts.append(dict(
                    id=alert_id, event_id=e + 1, escalation_id=alert_id, level=level, title=titles[e % len(titles)],
                    reason="bench", status=("superseded", "new", "acknowledged", "resolved")[rng.randrange(4)] if step else "superseded",
                    assignee=None, outcome=None, published_at=at, fetched_at=at, analysed_at=at,
                    alerted_at=at + timedelta(minutes=step), pushed_at=None, acknowledged_at=None, resolved_at=None,
                ))
        with engine.begin() as connection:
            connection.execute(insert(Escalation), escalations)
            connection.execute(insert(Alert), alerts)
    if database_url.startswith("postgresql"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    print(f"filled in {time.perf_counter() - started:.0f}s", flush=True)


def load_with_wrk(base: str, path: str, params: dict, clients: int, seconds: float) -> dict:
    """wrk (C, two threads) as the load: the client costs next to nothing of the shared CPU."""
    url = f"{base}{path}?" + "&".join(f"{k}={v}" for k, v in params.items())
    output = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{int(seconds)}s", "--latency",
         "-H", f"Authorization: Bearer {TOKEN}", url],
        capture_output=True, text=True, check=True,
    ).stdout

    def milliseconds(label: str) -> float:
        value = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        number, unit = float(value.group(1)), value.group(2)
        return round(number / 1000 if unit == "us" else number * 1000 if unit == "s" else number, 1)

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{non_2xx.group(1)} failed requests:\n{output}")
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "p50_ms": milliseconds("50%"),
        "p99_ms": milliseconds("99%"),
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
    }


async def load(base: str, path: str, path_params: dict, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, limits=limits, timeout=30) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get(path, params=path_params)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code}: {response.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 1),
        "p99_ms": round(1000 * latencies[int(len(latencies) * 0.99)], 1),
        "requests_per_s": round(len(latencies) / elapsed, 1),
    }


def count_calls(database_url: str, requests: int) -> dict:
    """Python function calls per request of each scenario and of /healthz, the app called in this
    process through ASGI: a count, so the other sessions' load does not move it."""
    import threading

    os.environ["FENGHUO_DATABASE_URL"] = database_url
    os.environ.setdefault("FENGHUO_LOG_LEVEL", "warning")
    from monitor.api.serialised import FeedPages
    from monitor.service import api_process_app

    app = api_process_app()
    engine = make_engine(database_url)
    with engine.connect() as connection:
        oldest, newest = connection.execute(select(func.min(Alert.id), func.max(Alert.id))).one()
    engine.dispose()
    targets = {"/healthz": ("/healthz", {}), **{name: spec for name, spec in scenarios(oldest, newest).items()}}
    # Each feed scenario twice: as polled (the page remembered under the alerts' version, FeedPages)
    # and read afresh (what every request costs when the alerts changed since the last one).
    afresh = {f"{name}, read afresh": spec for name, spec in targets.items() if name != "/healthz"}
    targets.update(afresh)

    async def call(path: str, params: dict, fresh: bool = False) -> int:
        query = "&".join(f"{k}={v}" for k, v in params.items()).encode()
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "", "query_string": query,
                 "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {TOKEN}".encode())],
                 "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
        status = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])

        if fresh:
            app.state.feed_pages = FeedPages()
        await app(scope, receive, send)
        return status[0]

    counting = [False, 0]  # on?, calls

    def profile(frame, event, arg):
        if counting[0] and event in ("call", "c_call"):  # functions in Python and built-in ones
            counting[1] += 1

    async def run() -> dict:
        found = {}
        for name, (path, params) in targets.items():
            fresh = name in afresh
            for _ in range(5):  # warm: caches, the pool's connections
                assert await call(path, params, fresh) == 200, name
            counting[:] = [True, 0]
            for _ in range(requests):
                await call(path, params, fresh)
            counting[0] = False
            found[name] = {"calls": round(counting[1] / requests)}
        # CPU time per request (this process, all threads), without the profiler: the C work
        # (the database, hashing, sockets aside) that calls do not count. The best of 5 runs.
        sys.setprofile(None)
        threading.setprofile(None)
        for name, (path, params) in targets.items():
            best = float("inf")
            fresh = name in afresh
            for _ in range(5):
                started = time.process_time()
                for _ in range(requests):
                    await call(path, params, fresh)
                best = min(best, (time.process_time() - started) / requests)
            found[name]["cpu_ms"] = round(1000 * best, 3)
        return found

    # Set before the event loop and the thread pool's threads start, so both are counted.
    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        return asyncio.run(run())
    finally:
        sys.setprofile(None)
        threading.setprofile(None)


class AlertChanges:
    """A thread changing the newest alert's assignee `rate` times a second, each change committed
    on its own, as duty actions and pushes do: every change raises the alerts' version, so each
    feed page is read again after it (migration 0022)."""

    def __init__(self, engine, alert_id: int, rate: float) -> None:
        import threading

        self.engine, self.alert_id, self.interval = engine, alert_id, 1 / rate
        self.changes, self.started = 0, time.monotonic()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        statement = text("UPDATE alerts SET assignee = CASE WHEN assignee IS NULL THEN 'bench' ELSE NULL END "
                         "WHERE id = :id")
        next_at = time.monotonic()
        while not self.stopping.is_set():
            with self.engine.begin() as connection:
                connection.execute(statement, {"id": self.alert_id})
            self.changes += 1
            next_at += self.interval
            self.stopping.wait(max(0.0, next_at - time.monotonic()))

    def rate(self) -> float:
        return round(self.changes / (time.monotonic() - self.started), 1)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()


def scenarios(oldest: int, newest: int) -> dict:
    feed = "/api/v1/alerts"
    return {
        "first page": (feed, {"limit": 50}),
        "filtered page (min_level=orange, status=new)": (feed, {"min_level": "orange", "status": "new", "limit": 50}),
        "deep page (cursor near the oldest)": (feed, {"before": oldest + 100, "limit": 50}),
        "poll (since the newest - 10)": (feed, {"since": newest - 10, "limit": 50}),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="API processes (fenghuo api --workers)")
    parser.add_argument("--seconds", type=float, default=3, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="healthz/scenario alternations per scenario")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--changes-per-second", type=float, default=0, metavar="R",
                        help="while measuring, change an alert R times a second (each its own commit): "
                             "the feed then answers a remembered page only until the next change")
    parser.add_argument("--count-calls", type=int, default=0, metavar="N",
                        help="only count Python calls per request, over N requests of each scenario")
    args = parser.parse_args()
    fill(args.database_url, args.items, args.events)
    if args.count_calls:
        counted = count_calls(args.database_url, args.count_calls)
        print(json.dumps({"per_request": counted}, ensure_ascii=False, indent=2))
        if args.out:
            args.out.write_text(json.dumps({"database_url": args.database_url.split("@")[-1], "requests": args.count_calls,
                                            "load_average": round(os.getloadavg()[0], 1), "per_request": counted},
                                           ensure_ascii=False, indent=2) + "\n")
        return

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "FENGHUO_DATABASE_URL": args.database_url, "FENGHUO_LOG_LEVEL": "warning"}
    # `fenghuo api --workers N` without its start-up (migrating, mirroring an outlets file, which
    # would disable the benchmark's outlets); one worker runs under the same supervisor.
    server = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; sys.path.insert(0, '.'); from monitor.service import run_api_processes;"
         f"run_api_processes('127.0.0.1', {port}, {args.workers})"],
        cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
    )
    base = f"http://127.0.0.1:{port}"
    changing = None
    try:
        deadline = time.monotonic() + 180  # the processes import the product: slow on a busy machine
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the API never answered") from None
                time.sleep(0.2)
        engine = make_engine(args.database_url)
        with engine.connect() as connection:
            oldest, newest = connection.execute(select(func.min(Alert.id), func.max(Alert.id))).one()
        results = []
        use_wrk = shutil.which("wrk") is not None
        changing = AlertChanges(engine, newest, args.changes_per_second) if args.changes_per_second else None

        def measure(path: str, params: dict, warm: bool = False) -> dict:
            seconds = 2 if warm else args.seconds
            if use_wrk:
                return load_with_wrk(base, path, params, args.clients, seconds)
            return asyncio.run(load(base, path, params, args.clients, seconds))

        # /healthz and the scenario alternate, --rounds times, and each round's ratio is taken
        # against the /healthz run just before it: on a shared machine the load of other programs
        # drifts within seconds. Reported: the median round.
        for name, (path, params) in scenarios(oldest, newest).items():
            measure("/healthz", {}, warm=True)
            measure(path, params, warm=True)
            rounds = []
            for _ in range(args.rounds):
                ceiling = measure("/healthz", {})
                measured = measure(path, params)
                rounds.append((measured["requests_per_s"] / ceiling["requests_per_s"], measured, ceiling))
            rounds.sort(key=lambda r: r[0])
            ratio, measured, ceiling = rounds[len(rounds) // 2]
            result = {"scenario": name, "load": "wrk" if use_wrk else "httpx", "workers": args.workers, **measured,
                      "healthz_requests_per_s": ceiling["requests_per_s"], "healthz_p99_ms": ceiling["p99_ms"],
                      "of_healthz": round(ratio, 2), "rounds_of_healthz": [round(r[0], 2) for r in rounds],
                      "load_average": round(os.getloadavg()[0], 1)}
            if changing is not None:
                result["alert_changes_per_s"] = changing.rate()
            print(json.dumps(result, ensure_ascii=False), flush=True)
            results.append(result)
    finally:
        if changing is not None:
            changing.stop()
        server.terminate()
        server.wait()
    if args.out:
        engine_name = "postgresql" if args.database_url.startswith("postgres") else "sqlite"
        args.out.write_text(json.dumps({"engine": engine_name, "items": args.items, "events": args.events,
                                        "alerts": newest, "clients": args.clients, "workers": args.workers,
                                        "changes_per_second": args.changes_per_second,
                                        "results": results},
                                       ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
