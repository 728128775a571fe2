"""End-to-end push latency: an item appears in a loopback feed → the push arrives at a fake chat
webhook, through the real service (`monitor.service.serve`: sweep, fetch, store, analyse, cluster,
grade, outbox, delivery), on SQLite.

    .venv/bin/python bench/push_latency.py [--items 60] [--feeds 10] [--spacing 1.5]

One process: a threaded HTTP server on 127.0.0.1 serves the feeds (each item added at its time)
and receives the pushes; the service runs on the same event loop machinery it uses in production.
Each item is a distinct complaint about the organisation on a forum, so each raises a blue alert
routed to the webhook (no digest). Reported per item, p50 and p95:
  - poll wait: appeared → stored by a fetch (set by the outlet's interval, 10 s here);
  - processing: stored → push received — the figure with the target (issue 6: < 2 s at p95);
  - total: appeared → push received.
Every phase has a timeout, so a stuck pipeline fails the run instead of hanging it.
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
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from monitor.config import OutletConfig, Settings  # noqa: E402
from monitor.db import make_engine, make_session_factory  # noqa: E402
from monitor.db.models import Item  # noqa: E402

HEADLINES = ROOT / "monitor" / "demo" / "data" / "headlines.tsv"


class Stage:
    """Feeds whose items appear over time, and the webhook that receives the pushes."""

    def __init__(self, feeds: int) -> None:
        self.lock = threading.Lock()
        self.items: dict[int, list[tuple[str, str, str, datetime]]] = {n: [] for n in range(feeds)}
        self.appeared: dict[str, float] = {}  # title -> wall time it appeared
        self.pushes: dict[str, float] = {}  # alert title -> wall time the push arrived
        stage = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/robots.txt":
                    return self._send(404, b"", "text/plain")
                feed = int(self.path.strip("/").split("/")[1].split(".")[0])
                with stage.lock:
                    entries = list(stage.items[feed][-20:])
                body = "".join(
                    f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
                    f"<description>{text}</description><pubDate>{format_datetime(at)}</pubDate></item>"
                    for title, text, link, at in reversed(entries)
                )
                xml = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>f{feed}</title>'
                       f"{body}</channel></rss>")
                self._send(200, xml.encode("utf-8"), "application/rss+xml; charset=utf-8")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length))
                arrived = time.time()
                if "alert" in payload:
                    with stage.lock:
                        stage.pushes.setdefault(payload["alert"]["title"], arrived)
                self._send(200, b"{}", "application/json")

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, feed: int, title: str, text: str) -> None:
        with self.lock:
            n = sum(len(v) for v in self.items.values())
            self.items[feed].append((title, text, f"{self.base}/f{feed}/a/{n}.html", datetime.now(UTC)))
            self.appeared[title] = time.time()


def stories(count: int, seed: int = 7) -> list[tuple[str, str]]:
    lines = [line.split("\t")[0] for line in HEADLINES.read_text(encoding="utf-8").splitlines() if line.strip()]
    random.Random(seed).shuffle(lines)
    out = []
    for n in range(count):
        first, second = lines[2 * n], lines[2 * n + 1]
        title = f"网友投诉江城水务：{first}"
        text = (f"有网友发帖投诉江城水务集团，称{first}，{second}。多名居民跟帖表示不满，"
                f"质疑江城水务管理混乱、回应迟缓，要求给个说法。")
        out.append((title, text))
    return out


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--feeds", type=int, default=10)
    parser.add_argument("--spacing", type=float, default=1.5, help="seconds between items")
    parser.add_argument("--tick-only", action="store_true",
                        help="baseline: analyse only on the analysis tick (every 5 s), as before fetches woke it")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    args.out = args.out or ROOT / "bench" / "results" / f"push-latency{'-tick-only' if args.tick_only else ''}.json"
    if args.tick_only:
        from monitor.stages import crawl

        class Asleep(asyncio.Event):
            def set(self) -> None:  # a fetch's wake-up is ignored: only the interval job analyses
                pass

        original = crawl.Crawler.__init__

        def init(self, *a, **k):
            original(self, *a, **k)
            self.new_items = Asleep()

        crawl.Crawler.__init__ = init

    from monitor.service import serve

    stage = Stage(args.feeds)
    folder = Path(tempfile.mkdtemp(prefix="fenghuo-latency-"))
    os.environ["BENCH_HOOK"] = f"{stage.base}/hook"
    notify = folder / "notify.yaml"
    notify.write_text("channels: {duty: {kind: generic, url_env: BENCH_HOOK}}\n"
                      "routes: {blue: [duty], yellow: [duty], orange: [duty], red: [duty]}\n", encoding="utf-8")
    settings = Settings(
        database_url=f"sqlite:///{folder / 'latency.db'}", allow_networks=["127.0.0.0/8"],
        per_host_delay=timedelta(0), sweep_interval=timedelta(seconds=1), notify_file=notify,
        log_level="warning",
    )
    outlets = [
        OutletConfig(id=f"forum-{n}", name=f"论坛{n}", kind="rss", url=f"{stage.base}/f/{n}.xml", tier="forum",
                     interval=timedelta(seconds=10), min_interval=timedelta(seconds=10),
                     max_interval=timedelta(seconds=10))
        for n in range(args.feeds)
    ]
    from monitor.logs import configure_logging

    configure_logging("warning", "console")
    service = asyncio.create_task(serve(settings, outlets, with_api=False))
    texts = stories(args.items + 1)
    try:
        # Warm-up: the first analysis loads jieba's dictionary; not part of what is measured.
        warm_title, warm_text = texts.pop()
        stage.add(0, warm_title, warm_text)
        await asyncio.wait_for(_until(lambda: warm_title in stage.pushes), timeout=60)
        print("warmed up; feeding", args.items, "items", file=sys.stderr)
        for n, (title, text) in enumerate(texts):
            stage.add(n % args.feeds, title, text)
            await asyncio.sleep(args.spacing)
        await asyncio.wait_for(
            _until(lambda: all(t in stage.pushes for t, _ in texts)), timeout=60,
        )
    except TimeoutError:
        print(f"timed out: {sum(t in stage.pushes for t, _ in texts)} of {len(texts)} pushes arrived", file=sys.stderr)
    finally:
        service.cancel()
        try:
            await asyncio.wait_for(service, timeout=20)
        except (asyncio.CancelledError, TimeoutError):
            pass
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        stored = {title: seen.timestamp() for title, seen in session.execute(select(Item.title, Item.first_seen_at))}
    engine.dispose()
    rows = [(stage.appeared[t], stored[t], stage.pushes[t]) for t, _ in texts if t in stage.pushes and t in stored]
    poll = [s - a for a, s, _ in rows]
    processing = [p - s for _, s, p in rows]
    total = [p - a for a, _, p in rows]

    def summary(values):
        return {"p50": round(percentile(values, 0.5), 3), "p95": round(percentile(values, 0.95), 3),
                "max": round(max(values), 3)} if values else None

    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "items": len(texts), "pushes_measured": len(rows), "feeds": args.feeds, "spacing_s": args.spacing,
        "outlet_interval_s": 10, "sweep_interval_s": 1, "analysis": "tick only (5 s)" if args.tick_only else "on arrival",
        "poll_wait_s": summary(poll), "processing_s": summary(processing), "total_s": summary(total),
        "target_processing_p95_s": 2.0,
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


async def _until(condition, every: float = 0.05) -> None:
    while not condition():
        await asyncio.sleep(every)


if __name__ == "__main__":
    asyncio.run(main())
