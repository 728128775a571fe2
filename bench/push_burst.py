"""A burst of alerts against a robot that enforces its vendor's documented limits: how many HTTP
requests go out, how many the vendor refuses, and how long until every push is delivered.

    .venv/bin/python bench/push_burst.py [--alerts 15] [--baseline-root /work/main]   # → bench/results/push-burst-15.json

Issue 23: WeCom's 20 a minute was counted per delivery while a delivery with mentions was two
requests, so 15 orange alerts drew 45009 refusals and waited a minute more; Feishu's 5 a second was
not kept at all. Each scenario runs twice in the same invocation, in a subprocess each: once with
the code of `--baseline-root` (the integration checkout, before this change) and once with this
tree. The delivery worker is the real one, on SQLite, against a real HTTP server on 127.0.0.1
playing the vendor (synthetic alerts; the limits are the vendors' documented ones). The worker's
clock is a test clock advanced 5 s per sweep, so minutes pass in a moment; the per-second limit is
kept (and enforced) on the real clock.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {  # kind: (per minute, per second, refusal body)
    "wecom": (20, None, b'{"errcode": 45009, "errmsg": "api freq out of limit"}', b'{"errcode": 0}'),
    "feishu": (100, 5, b'{"code": 11232, "msg": "frequency limited"}', b'{"code": 0}'),
}


def measure(kind: str, alerts: int) -> dict:
    """Runs inside a subprocess whose sys.path starts with the code under test."""
    import asyncio
    from datetime import timedelta

    import httpx
    from sqlalchemy import select

    from monitor.alerts.delivery import DeliveryWorker
    from monitor.alerts.routing import load_routing
    from monitor.clock import FrozenClock
    from monitor.db import alerts as alert_store
    from monitor.db import make_engine, make_session_factory
    from monitor.db.engine import upgrade_database
    from monitor.db.models import Delivery, Escalation, Event
    from tests.farm import Farm, Reply

    per_minute, per_second, refusal, ok = SCENARIOS[kind]
    clock = FrozenClock()
    log: list[tuple[float, bool]] = []  # (test-clock seconds since start, accepted)
    start, real_times = clock.now(), []

    def vendor(headers):
        now, real = clock.now(), time.monotonic()
        in_minute = [t for t, accepted in log if accepted and (now - start).total_seconds() - t < 60]
        in_second = [t for t in real_times if real - t < 1.0]
        accepted = len(in_minute) < per_minute and (per_second is None or len(in_second) < per_second)
        log.append(((now - start).total_seconds(), accepted))
        if accepted:
            real_times.append(real)
        return Reply(200, ok if accepted else refusal, {"Content-Type": "application/json"})

    farm = Farm().start()
    farm.route_prefix("/robot", vendor)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        url = f"sqlite:///{folder / 'bench.db'}"
        upgrade_database(url)
        sessions = make_session_factory(make_engine(url))
        (folder / "roster.yaml").write_text(
            "people:\n  zhang: {name: 张三, mobile: '13800000001', wecom: zhangsan, feishu: ou_7d8a6e}\n"
            "shifts:\n  - {name: 全天, start: '00:00', end: '00:00', on_duty: [zhang]}\n", encoding="utf-8")
        (folder / "notify.yaml").write_text(
            f"channels:\n  duty: {{kind: {kind}, url_env: BENCH_ROBOT_URL}}\nroutes:\n  orange: [duty]\n"
            "roster: roster.yaml\nmentions:\n  orange: [on_duty]\n", encoding="utf-8")
        os.environ["BENCH_ROBOT_URL"] = farm.url("/robot/send?key=k")
        routing = load_routing(folder / "notify.yaml")
        now = clock.now()
        with sessions.begin() as session:
            for n in range(alerts):
                event = Event(title=f"突发事件第{n}号", level="orange", status="open", first_item_id=n,
                              first_outlet_id="forum-a", first_at=now, opened_at=now, last_item_at=now,
                              item_count=1, metrics={}, updated_at=now)
                session.add(event)
                session.flush()
                escalation = Escalation(event_id=event.id, at=now, kind="escalate", from_level=None,
                                        to_level="orange", actor="auto", reason="orange: 测试", reasons=[], metrics={})
                session.add(escalation)
                session.flush()
                alert_store.raise_alert(session, event=event, escalation=escalation, now=now, channels=["duty"])

        async def run() -> float:
            began = time.monotonic()
            async with httpx.AsyncClient(timeout=5) as client:
                worker = DeliveryWorker(sessions, routing, clock, client, {"orange": "三级（橙色）"})
                for _ in range(240):  # 20 minutes of test clock
                    await worker.run_once()
                    with sessions() as session:
                        if all(d.status == "sent" for d in session.scalars(select(Delivery))):
                            break
                    clock.advance(timedelta(seconds=5))
            return time.monotonic() - began

        real = asyncio.run(run())
        with sessions() as session:
            deliveries = list(session.scalars(select(Delivery)))
    farm.stop()
    done = (clock.now() - start).total_seconds()
    return {
        "kind": kind, "alerts": alerts, "requests": len(log), "refused": sum(not a for _, a in log),
        "requests_first_minute": sum(1 for t, _ in log if t < 60),
        "delivered": sum(d.status == "sent" for d in deliveries),
        "all_delivered_after_s": done, "wall_s": round(real, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=15)
    parser.add_argument("--baseline-root", default="/work/main")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "ALERTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]))))
        return
    results = []
    for kind in SCENARIOS:
        for label, root in (("baseline", Path(args.baseline_root)), ("this tree", ROOT)):
            env = {**os.environ, "PYTHONPATH": str(root), "FENGHUO_LOG_LEVEL": "warning"}
            out = subprocess.run([sys.executable, __file__, "--child", kind, str(args.alerts)], env=env,
                                 capture_output=True, text=True, check=True, cwd=root).stdout
            row = {"code": label, **json.loads(out.strip().splitlines()[-1])}
            results.append(row)
            print(row)
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / f"push-burst-{args.alerts}.json").write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
