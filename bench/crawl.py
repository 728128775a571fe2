"""Crawl throughput against the loopback farm: feeds/s, CPU seconds per feed, peak RSS.

    .venv/bin/python bench/crawl.py --outlets 1000            # the issue's target scenario
    .venv/bin/python bench/crawl.py --outlets 10000 --passes cold   # memory with 10,000 outlets

The farm runs in its own process (bench/loopfarm.py) across many loopback addresses, so each
outlet's host is distinct as on the real web. In the same run, two baselines give the floor that
the pipeline's cost is compared against (machines here are noisy: compare ratios, not seconds):
  - bare fetch: plain httpx GETs of the same feeds at the same concurrency, bodies discarded;
  - bare parse: feedparser.parse of the same bodies, nothing else.
Passes through the real pipeline (Crawler.run_due: fetch, decode, parse, store, reschedule):
  - cold: every item new (20 inserts per feed);
  - 304: the same feeds again, each answering 304 to its ETag;
  - dup: ETags forgotten, full fetch and parse, every item a duplicate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, timedelta
from pathlib import Path

import feedparser
import httpx
from sqlalchemy import update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loopfarm import host_address  # noqa: E402
from monitor.clock import SystemClock  # noqa: E402
from monitor.config import OutletConfig, Settings, parse_workers  # noqa: E402
from monitor.db import make_engine, make_session_factory, upgrade_database  # noqa: E402
from monitor.db import outlets as outlet_store  # noqa: E402
from monitor.db.models import Outlet  # noqa: E402
from monitor.fetch.http import Fetcher  # noqa: E402
from monitor.fetch.parsing import FeedParsing  # noqa: E402
from monitor.stages.crawl import Crawler  # noqa: E402
from monitor.logs import configure_logging  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mb(exclude: int) -> dict[int, float]:
    """Peak RSS (VmHWM) of our live child processes (the parser pool), the farm excluded."""
    pids = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        pids.update(int(p) for p in (task / "children").read_text().split())
    peaks = {}
    for pid in pids - {exclude}:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks[pid] = round(int(line.split()[1]) / 1024, 1)
        except FileNotFoundError:
            pass
    return peaks


class Measure:
    def __init__(self, name: str, feeds: int) -> None:
        self.name, self.feeds = name, feeds

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = cpu_seconds() - self.cpu
        self.result = {
            "pass": self.name, "feeds": self.feeds, "seconds": round(self.wall, 3),
            "feeds_per_s": round(self.feeds / self.wall, 1),
            "cpu_ms_per_feed": round(1000 * self.cpu / self.feeds, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
        print(json.dumps(self.result, ensure_ascii=False), flush=True)


async def bare_fetch(urls: list[str], concurrency: int) -> list[bytes]:
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(trust_env=False) as client:  # plain httpx, default pool

        async def one(url: str) -> bytes:
            async with semaphore:
                return (await client.get(url)).content

        return await asyncio.gather(*(one(url) for url in urls))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outlets", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--feeds-per-host", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--passes", default="baseline,cold,304,dup")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--out", type=Path, default=None, help="write results as JSON here")
    parser.add_argument("--parse-workers", type=int, default=None, help="default: cores - 1")
    parser.add_argument("--log", default=os.devnull, help="where the per-fetch log lines go")
    args = parser.parse_args()
    passes = args.passes.split(",")
    # The pipeline logs a line per fetch, as in production; render it (JSON) but keep it off the
    # terminal, where printing would measure the terminal.
    configure_logging("info", "json")
    logging.getLogger().handlers[0].setStream(open(args.log, "w", encoding="utf-8"))  # noqa: SIM115

    hosts = -(-args.outlets // args.feeds_per_host)
    farm = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "loopfarm.py"), "--hosts", str(hosts),
         "--feeds-per-host", str(args.feeds_per_host), "--items", str(args.items),
         "--port", str(args.port)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert farm.stdout is not None and farm.stdout.readline().strip() == "ready"
        results = asyncio.run(run(args, passes, farm.pid))
    finally:
        farm.terminate()
        farm.wait()
    summary = {
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "outlets": args.outlets, "items_per_feed": args.items, "concurrency": args.concurrency,
        "results": results,
    }
    if args.out:
        args.out.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")


async def run(args, passes: list[str], farm_pid: int) -> list[dict]:
    urls = [
        f"http://{host_address(n // args.feeds_per_host)}:{args.port}/f{n % args.feeds_per_host}/rss.xml"
        for n in range(args.outlets)
    ]
    results: list[dict] = []
    if "baseline" in passes:
        with Measure("bare fetch (httpx only)", len(urls)) as measure:
            bodies = await bare_fetch(urls, args.concurrency)
        results.append(measure.result)
        with Measure("bare parse (feedparser only)", len(urls)) as measure:
            for body in bodies:
                feedparser.parse(body)
        results.append(measure.result)
        del bodies

    folder = tempfile.mkdtemp(prefix="fenghuo-bench-")
    database_url = args.database_url or f"sqlite:///{folder}/bench.db"
    settings = Settings(
        database_url=database_url,
        allow_networks=["127.0.0.0/8"],
        per_host_delay=timedelta(0),  # the farm is ours; politeness gaps would measure sleep
        fetch_concurrency=args.concurrency,
        fetch_lease=timedelta(minutes=30),
    )
    upgrade_database(database_url)
    sessions = make_session_factory(make_engine(database_url))
    clock = SystemClock()
    configs = [
        OutletConfig(id=f"bench-{n}", name=f"bench {n}", kind="rss", url=url, tier="local_media",
                     interval="10m", respect_robots=True)
        for n, url in enumerate(urls)
    ]
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=configs, now=clock.now())

    parsing = FeedParsing(args.parse_workers if args.parse_workers is not None else parse_workers(settings))
    await parsing.parse(b"<rss version='2.0'><channel></channel></rss>", url="http://x/",
                        zone=UTC, content_type=None, encoding_override=None)  # start the pool
    async with Fetcher(settings) as fetcher:
        crawler = Crawler(settings, sessions, fetcher, clock, parsing)
        for name in ("cold", "304", "dup"):
            if name not in passes:
                continue
            if name == "dup":
                with sessions.begin() as session:
                    session.execute(update(Outlet).values(etag=None, last_modified=None))
            with Measure(f"pipeline {name}", len(urls)) as measure:
                runs = await crawler.run_due(ignore_schedule=True)
            if len(runs) != len(urls):
                raise SystemExit(f"only {len(runs)} of {len(urls)} outlets were fetched")
            failed = [r for r in runs if r.error]
            measure.result["new_items"] = sum(r.new_items for r in runs)
            measure.result["failed"] = len(failed)
            if failed:
                print("failures:", failed[:3], file=sys.stderr)
            measure.result["parser_workers_peak_rss_mb"] = list(children_peak_rss_mb(farm_pid).values())
            print(json.dumps({"parser_workers_peak_rss_mb": measure.result["parser_workers_peak_rss_mb"]}))
            results.append(measure.result)
        crawler.close()
    parsing.close()
    return results


if __name__ == "__main__":
    main()
