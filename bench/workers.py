"""Throughput with 1, 2 and 4 `fenghuo worker` processes on one PostgreSQL, end to end.

    .venv/bin/python bench/workers.py --postgres postgresql+psycopg://postgres@127.0.0.1:55432/postgres

The loopback farm (bench/loopfarm.py, its own process) serves OUTLETS feeds of 20 items each
(real headlines); for each worker count a fresh database is made, the workers are started as
real processes, and the database is polled until every item is stored and analysed. Reported:
items stored per second and items analysed per second, each from the first item stored to the
last, and the ratio against one worker. Every wait has a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from bench.loopfarm import host_address  # noqa: E402
from monitor.db import make_engine, upgrade_database  # noqa: E402
from monitor.db.models import Item, ItemAnalysis  # noqa: E402


def counts(engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (connection.scalar(select(func.count()).select_from(Item)),
                connection.scalar(select(func.count()).select_from(ItemAnalysis)))


def one_run(args, workers: int, folder: Path) -> dict:
    admin = make_engine(args.postgres).execution_options(isolation_level="AUTOCOMMIT")
    name = f"workersbench_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.postgres.rsplit("/", 1)[0] + "/" + name
    upgrade_database(url)  # before the workers, so their start-up is alike
    engine = make_engine(url)
    env = {**os.environ, "FENGHUO_DATABASE_URL": url, "FENGHUO_OUTLETS_FILE": str(folder / "outlets.yaml"),
           "FENGHUO_ALLOW_NETWORKS": "127.0.0.0/8", "FENGHUO_PER_HOST_DELAY": "0",
           "FENGHUO_SWEEP_INTERVAL": "0.2s", "FENGHUO_LOG_LEVEL": "warning", "FENGHUO_LOG_FORMAT": "json"}
    logs = [open(folder / f"worker-{workers}-{n}.log", "w") for n in range(workers)]  # noqa: SIM115
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    processes = [subprocess.Popen([sys.executable, "-m", "monitor.cli", "worker"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=log) for log in logs]
    total = args.outlets * 20
    first_stored = all_stored = all_analysed = None
    deadline = time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline:
            stored, analysed = counts(engine)
            now = time.monotonic()
            if stored and first_stored is None:
                first_stored = now
            if stored >= total and all_stored is None:
                all_stored = now
            if analysed >= total:
                all_analysed = now
                break
            time.sleep(0.2)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        stopped = time.monotonic()
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers, now reaped
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    if all_analysed is None:
        return {"workers": workers, "timed_out": True, "stored": stored, "analysed": analysed}
    return {
        "workers": workers, "items": total,
        "stored_per_second": round(total / (all_stored - first_stored), 1),
        "analysed_per_second": round(total / (all_analysed - first_stored), 1),
        "seconds_to_store": round(all_stored - first_stored, 2),
        "seconds_to_analyse": round(all_analysed - first_stored, 2),
        # CPU the worker processes (and their parse processes) used, over their whole life:
        # start-up, the run, shut-down. Divided by that life, the cores they kept busy.
        "worker_cpu_seconds": round(cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime, 1),
        "worker_wall_seconds": round(stopped - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", required=True, help="URL of a database to create the bench databases from")
    parser.add_argument("--outlets", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--port", type=int, default=18090)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "workers.json")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fenghuo-workers-"))
    feeds_per_host = 5
    hosts = -(-args.outlets // feeds_per_host)
    lines = ["outlets:"]
    for n in range(args.outlets):
        url = f"http://{host_address(n // feeds_per_host)}:{args.port}/f{n % feeds_per_host}/rss.xml"
        lines.append(f"  - {{id: o{n}, name: o{n}, kind: rss, url: '{url}', tier: local_media, interval: 1h}}")
    (folder / "outlets.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    farm = subprocess.Popen([sys.executable, str(ROOT / "bench" / "loopfarm.py"), "--hosts", str(hosts),
                             "--feeds-per-host", str(feeds_per_host), "--items", "20", "--port", str(args.port)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert farm.stdout is not None and farm.stdout.readline().strip() == "ready"
        runs = []
        for workers in (int(n) for n in args.workers.split(",")):
            result = one_run(args, workers, folder)
            print(json.dumps(result), file=sys.stderr, flush=True)
            runs.append(result)
    finally:
        farm.terminate()
        farm.wait()
    base = runs[0]
    for run in runs:
        if not run.get("timed_out") and not base.get("timed_out"):
            run["stored_ratio"] = round(run["stored_per_second"] / base["stored_per_second"], 2)
            run["analysed_ratio"] = round(run["analysed_per_second"] / base["analysed_per_second"], 2)
    summary = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
               "outlets": args.outlets, "items_per_feed": 20, "logs": str(folder), "runs": runs}
    print(json.dumps(summary, indent=2))
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
