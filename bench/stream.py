"""The API under many open live-feed streams (issue 18): /api/v1/me latency with 0 and with N open
`GET /api/v1/alerts/stream`, and how long a new alert takes to reach every stream.

    .venv/bin/python bench/stream.py --out bench/results/stream-sqlite.json
    .venv/bin/python bench/stream.py --database-url postgresql+psycopg://postgres@127.0.0.1:55432/streambench

    # the same against another checkout (e.g. the code before the fix), with the issue's 60 streams:
    git worktree add /tmp/before <commit> && .venv/bin/python bench/stream.py --root /tmp/before --streams 60

The database is made afresh (SQLite in a temporary folder by default; a PostgreSQL database given
must exist and is emptied), with one story and 25 viewer tokens. The API runs in its own process
(uvicorn, one worker, the production poll interval of 1 s) on 127.0.0.1, from `--root`. This
process is the load: the streams (httpx, one event loop), then `--clients` clients asking
/api/v1/me back to back for `--seconds`, once before the streams open and once while they are open.
Then alerts are inserted one at a time and the time until every stream has it is measured. Also
reported: the server's CPU while the streams sit open and nothing else happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.db import make_engine, make_session_factory, upgrade_database  # noqa: E402
from monitor.db.models import Alert, Base, Escalation, Event, Item, Outlet  # noqa: E402
from monitor.db.tokens import create_token  # noqa: E402

TOKENS = 25  # 20 streams each at most (the default FENGHUO_STREAM_MAX_PER_TOKEN): 500 in all


def prepare(database_url: str) -> list[str]:
    """An empty, migrated database with one story to raise alerts on; returns the tokens."""
    upgrade_database(database_url)
    engine = make_engine(database_url)
    if database_url.startswith("postgresql"):
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(insert(Outlet), [dict(
            id="bench", name="bench", kind="rss", url="http://bench.invalid/", tier="forum", region="全国",
            enabled=True, config={}, interval_seconds=600, error_count=0,
        )])
        connection.execute(insert(Item), [dict(
            id=1, outlet_id="bench", url="http://bench.invalid/1", canonical_url="http://bench.invalid/1",
            url_hash="0" * 64, content_hash="0" * 64, title="江城水务又停水了", text="三天两次停水没有任何通知",
            language="zh", published_at=now, first_seen_at=now,
        )])
        connection.execute(insert(Event), [dict(
            id=1, title="江城水务又停水了", level="blue", status="open", first_item_id=1, first_outlet_id="bench",
            first_at=now, opened_at=now, last_item_at=now, item_count=1, metrics={}, updated_at=now,
        )])
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        tokens = [create_token(session, name=f"screen-{n}", role="viewer", now=now) for n in range(TOKENS)]
    engine.dispose()
    return tokens


def raise_alert(engine, n: int) -> int:
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(insert(Escalation), [dict(
            id=n, event_id=1, at=now, kind="escalate", from_level=None, to_level="blue", actor="auto",
            reason="bench", reasons=[], metrics={},
        )])
        connection.execute(insert(Alert), [dict(
            id=n, event_id=1, escalation_id=n, level="blue", title="江城水务又停水了", reason="bench",
            status="new", published_at=now, fetched_at=now, alerted_at=now,
        )])
    return n


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * share))], 1)


async def me_load(base: str, token: str, clients: int, seconds: float) -> dict:
    """`clients` clients asking /api/v1/me back to back; a request may take up to 60 s."""
    latencies: list[float] = []
    failures: list[str] = []
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60,
        limits=httpx.Limits(max_connections=clients),
    ) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    response = await client.get("/api/v1/me")
                except httpx.HTTPError as error:
                    failures.append(type(error).__name__)
                    continue
                if response.status_code != 200:
                    failures.append(str(response.status_code))
                    continue
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "answered": len(latencies), "failed": len(failures),
        "p50_ms": percentile(latencies, 0.5) if latencies else None,
        "p99_ms": percentile(latencies, 0.99) if latencies else None,
        "max_ms": round(1000 * max(latencies), 1) if latencies else None,
        "requests_per_s": round(len(latencies) / elapsed, 1),
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def scenario(base: str, tokens: list[str], streams: int, args, server_pid: int, database_url: str) -> dict:
    idle = await me_load(base, tokens[0], args.clients, args.seconds)
    print("me, no stream open:", idle, flush=True)

    arrivals: list[dict[int, float]] = []
    statuses: list[int | str] = []
    clients = [
        httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {t}"},
                          timeout=httpx.Timeout(60, read=None), limits=httpx.Limits(max_connections=streams))
        for t in tokens
    ]

    async def listen(client: httpx.AsyncClient, seen: dict[int, float]) -> None:
        try:
            async with client.stream("GET", "/api/v1/alerts/stream") as response:
                statuses.append(response.status_code)
                async for line in response.aiter_lines():
                    if line.startswith("id:"):
                        seen[int(line.removeprefix("id:"))] = time.perf_counter()
        except httpx.HTTPError as error:
            statuses.append(type(error).__name__)

    started = time.perf_counter()
    tasks = []
    for n in range(streams):
        seen: dict[int, float] = {}
        arrivals.append(seen)
        tasks.append(asyncio.create_task(listen(clients[n // 20 % len(clients)], seen)))
    while len(statuses) < streams and time.perf_counter() - started < 120:
        await asyncio.sleep(0.05)
    opened_in = time.perf_counter() - started
    open_ok = statuses.count(200)
    print(f"{open_ok} of {streams} streams open in {opened_in:.1f}s; refused: "
          f"{[s for s in statuses if s != 200][:5]}", flush=True)

    cpu_before = cpu_seconds(server_pid)
    await asyncio.sleep(10)
    idle_cpu = round((cpu_seconds(server_pid) - cpu_before) / 10, 3)
    busy = await me_load(base, tokens[0], args.clients, args.seconds)
    print(f"me, {open_ok} streams open:", busy, flush=True)

    engine = make_engine(database_url)
    delivery = []
    for n in range(1, args.alerts + 1):
        sent = time.perf_counter()
        await asyncio.to_thread(raise_alert, engine, n)
        deadline = sent + 30
        live = [seen for seen, status in zip(arrivals, statuses) if status == 200]
        while any(n not in seen for seen in live) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        got = [seen[n] - sent for seen in live if n in seen]
        delivery.append({
            "alert": n, "received_by": len(got), "of": len(live),
            "first_ms": round(1000 * min(got), 1) if got else None,
            "all_ms": round(1000 * max(got), 1) if len(got) == len(live) and got else None,
        })
        print("alert", delivery[-1], flush=True)
        await asyncio.sleep(0.3)
    engine.dispose()

    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        await client.aclose()
    return {
        "streams_asked": streams, "streams_open": open_ok, "opened_in_s": round(opened_in, 1),
        "refused": {str(s): statuses.count(s) for s in set(statuses) if s != 200},
        "me_no_streams": idle, "me_with_streams": busy,
        "server_cpu_share_streams_idle": idle_cpu, "delivery": delivery,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose API is measured")
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--clients", type=int, default=10, help="concurrent /api/v1/me clients")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--alerts", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="fenghuo-stream-")
    database_url = args.database_url or f"sqlite:///{folder}/fenghuo.db"
    tokens = prepare(database_url)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "FENGHUO_DATABASE_URL": database_url, "FENGHUO_LOG_LEVEL": "warning",
           "FENGHUO_CONFIG": f"{folder}/none.yaml", "PYTHONPATH": str(args.root)}
    server = subprocess.Popen(
        [sys.executable, "-c",
         "import uvicorn; from monitor.config import load_settings;"
         "from monitor.db import make_engine, make_session_factory; from monitor.api import create_app;"
         "s = load_settings();"
         f"uvicorn.run(create_app(s, make_session_factory(make_engine(s.database_url))), host='127.0.0.1', "
         f"port={port}, log_level='warning', access_log=False, backlog=4096)"],
        cwd=args.root, env=env, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        result = asyncio.run(scenario(base, tokens, args.streams, args, server.pid, database_url))
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=60)
    result["server_log_pool_timeouts"] = stderr.count("QueuePool limit")
    commit = subprocess.run(["git", "-C", str(args.root), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    result = {"engine": "postgresql" if database_url.startswith("postgres") else "sqlite", "commit": commit,
              "clients": args.clients, "seconds": args.seconds, **result}
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
