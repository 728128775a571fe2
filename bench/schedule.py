"""Does `fenghuo run` keep its schedule? Fetch lag and /healthz latency of the real service.

    .venv/bin/python bench/schedule.py --outlets 10000 --seconds 120 --out bench/results/schedule-10000.json
    .venv/bin/python bench/schedule.py --outlets 10000 --seconds 120 --code /path/to/older/checkout

The service runs as production runs it: `python -m monitor.cli run` in its own process (the code
of --code, default this checkout), on SQLite, with default settings (64 fetches in flight, 2 per
host, 1 s between request starts to one host, a 10 s sweep), and an API this script polls. The
farm (bench/loopfarm.py, its own process) serves 5 feeds of 20 items on each of many loopback
addresses. Every outlet has a 5-minute interval (min = max, so the schedule does not adapt).

Steady state, not a cold start: before the service starts, the outlets' next_fetch_at are spread
evenly over one interval (from 20 s ahead), as they are in a service that has run for a while;
so 10,000 outlets fall due at 33 a second. Each outlet already holds the feed's ETag, so it is
answered 304, except a --changed share of them (default 10%) whose feed is "new": a full body,
parsed, its 20 items stored and analysed. The measured window is shorter than the interval, so
each outlet is fetched at most once in it and its lag is exact:
    lag = (time of its log line - the run's elapsed) - the next_fetch_at we gave it.
/healthz is asked every 100 ms throughout; its latency shows whether the event loop is blocked.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loopfarm import HEADLINES, build_feed, host_address  # noqa: E402
from monitor.clock import SystemClock  # noqa: E402
from monitor.config import load_outlets  # noqa: E402
from monitor.db import make_engine, make_session_factory, upgrade_database  # noqa: E402
from monitor.db import outlets as outlet_store  # noqa: E402
from monitor.db.models import Outlet  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def farm_etag(host: int, feed: int, items: int, titles: list[str]) -> str:
    """The ETag loopfarm gives a feed (it hashes the same body)."""
    return '"' + hashlib.sha1(build_feed(host, feed, items, titles)).hexdigest()[:16] + '"'


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outlets", type=int, default=10000)
    parser.add_argument("--interval", type=float, default=300, help="seconds")
    parser.add_argument("--seconds", type=float, default=120, help="measured window")
    parser.add_argument("--changed", type=float, default=0.1, help="share of feeds with new items")
    parser.add_argument("--feeds-per-host", type=int, default=5)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--port", type=int, default=18180)
    parser.add_argument("--api-port", type=int, default=18181)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose service is run")
    parser.add_argument("--env", action="append", default=[], help="extra NAME=VALUE for the service")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="fenghuo-schedule-"))
    database_url = f"sqlite:///{folder}/bench.db"
    fph = args.feeds_per_host
    hosts = -(-args.outlets // fph)
    lines = ["outlets:"]
    for n in range(args.outlets):
        url = f"http://{host_address(n // fph)}:{args.port}/f{n % fph}/rss.xml"
        lines.append(f"  - {{id: o{n}, name: o{n}, kind: rss, url: '{url}', tier: local_media,"
                     f" interval: {args.interval:g}s, min_interval: {args.interval:g}s, max_interval: {args.interval:g}s}}")
    outlets_file = folder / "outlets.yaml"
    outlets_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    configs = load_outlets(outlets_file)

    # The state of a service that has been running: outlets spread over one interval, ETags known.
    upgrade_database(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    titles = [line.split("\t")[0] for line in HEADLINES.read_text("utf-8").splitlines()]
    start = datetime.now(UTC) + timedelta(seconds=20)
    schedule: dict[str, datetime] = {}
    changed_every = round(1 / args.changed) if args.changed > 0 else 0
    with sessions.begin() as session:
        outlet_store.sync_outlets(session, configs=configs, now=SystemClock().now())
        for n in range(args.outlets):
            # A host's feeds a fifth of the interval apart, as distinct sites' would be: feeds of
            # one host due together would measure FENGHUO_PER_HOST_DELAY, not the scheduler.
            slot = (n % fph) * hosts + n // fph
            due = start + timedelta(seconds=args.interval * slot / (hosts * fph))
            schedule[f"o{n}"] = due
            changed = changed_every and slot % changed_every == 0
            etag = None if changed else farm_etag(n // fph, n % fph, args.items, titles)
            session.execute(update(Outlet).where(Outlet.id == f"o{n}").values(next_fetch_at=due, etag=etag))
    engine.dispose()

    farm = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "loopfarm.py"), "--hosts", str(hosts), "--feeds-per-host",
         str(fph), "--items", str(args.items), "--port", str(args.port)], stdout=subprocess.PIPE, text=True,
    )
    log_path = folder / "service.log"
    print("service log:", log_path, file=sys.stderr)  # kept: its fetched lines are the data
    service = None
    try:
        assert farm.stdout is not None and farm.stdout.readline().strip() == "ready"
        env = {
            **os.environ, "PYTHONPATH": str(args.code), "FENGHUO_DATABASE_URL": database_url,
            "FENGHUO_OUTLETS_FILE": str(outlets_file), "FENGHUO_ALLOW_NETWORKS": "127.0.0.0/8",
            "FENGHUO_API_PORT": str(args.api_port), "FENGHUO_LOG_FORMAT": "json", "FENGHUO_LOG_LEVEL": "info",
            "FENGHUO_METRICS_ACCESS": "public",
            **dict(item.split("=", 1) for item in args.env),
        }
        with open(log_path, "w", encoding="utf-8") as log:
            service = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run"], env=env, cwd=args.code,
                                       stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{args.api_port}"
        probes = poll_healthz(base, service, until=start + timedelta(seconds=args.seconds))
        readyz = httpx.get(f"{base}/readyz", timeout=5).json()
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=30)
        farm.terminate()
        farm.wait()

    window_end = start + timedelta(seconds=args.seconds)
    lags, statuses, late_unfetched = [], {}, 0
    fetched = set()
    for line in log_path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") not in ("fetched", "fetch_failed") or entry.get("outlet") not in schedule:
            continue
        began = datetime.fromisoformat(entry["timestamp"]) - timedelta(seconds=entry["elapsed"])
        lags.append((began - schedule[entry["outlet"]]).total_seconds())
        fetched.add(entry["outlet"])
        statuses[entry["status"]] = statuses.get(entry["status"], 0) + 1
    # Outlets due in the window (but for the last 10 s) and never started are at least that late.
    for outlet, due in schedule.items():
        if due < window_end - timedelta(seconds=10) and outlet not in fetched:
            late_unfetched += 1
    during = [p["ms"] for p in probes if p["at"] >= start]
    result = {
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "code": str(args.code), "outlets": args.outlets, "interval_s": args.interval, "window_s": args.seconds,
        "changed_share": args.changed, "due_per_s": round(args.outlets / args.interval, 1),
        "fetches": len(lags), "fetches_per_s": round(len(lags) / args.seconds, 1), "statuses": statuses,
        "due_in_window_not_started": late_unfetched,
        "lag_s": {"p50": round(percentile(lags, 0.5), 2), "p95": round(percentile(lags, 0.95), 2),
                  "p99": round(percentile(lags, 0.99), 2), "max": round(max(lags), 2) if lags else None,
                  "mean": round(statistics.fmean(lags), 2) if lags else None},
        "healthz_ms": {"probes": len(during), "p50": round(percentile(during, 0.5), 1),
                       "p95": round(percentile(during, 0.95), 1), "p99": round(percentile(during, 0.99), 1),
                       "max": round(max(during), 1) if during else None,
                       "over_100ms": sum(1 for ms in during if ms > 100)},
        "readyz_at_end": readyz,
        "metrics_at_end": [line for line in metrics.splitlines()
                           if line.startswith(("fenghuo_fetch_lag_seconds", "fenghuo_outlets_in_flight"))],
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


def poll_healthz(base: str, service: subprocess.Popen, until: datetime) -> list[dict]:
    """/healthz every 100 ms until `until` (waiting first for the service to come up)."""
    probes: list[dict] = []
    deadline = time.monotonic() + 120
    with httpx.Client(timeout=10) as client:
        while True:
            if service.poll() is not None:
                raise SystemExit(f"the service exited with {service.returncode}")
            try:
                client.get(f"{base}/healthz")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("the service never answered /healthz") from None
                time.sleep(0.2)
        while datetime.now(UTC) < until:
            began = time.perf_counter()
            client.get(f"{base}/healthz")
            ms = 1000 * (time.perf_counter() - began)
            probes.append({"at": datetime.now(UTC), "ms": ms})
            time.sleep(max(0.0, 0.1 - ms / 1000))
    return probes


if __name__ == "__main__":
    main()
