"""How long an event brief (研判报告) takes, by event size and format (target: under 2 s).

    .venv/bin/python bench/brief.py [--sizes 50,500,5000] [--database-url URL] [--cfsc ../shared/data/sentiment/cfsc_absa_dev.json]

Builds events of SIZES items straight in the database (outlets of every tier, an analysis per
item, an escalation, an alert), with real text: headlines from the demo corpus (THUCNews) as titles
and real financial-news sentences (CFSC-ABSA, ../shared/data) as bodies, three to six sentences an
item, one in four items a reprint of an earlier one. Then times `make_brief` for each format on a
fresh session, best of three, in one run, after one brief that warms the process up (its time is
reported apart: the first chart of a process makes the chart's font subset). Wall seconds and,
beside them (FORMAT_cpu), CPU seconds of the process and its children, which the load of other
processes on a shared machine moves much less.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from monitor.db import make_engine, make_session_factory, upgrade_database  # noqa: E402
from monitor.db.models import Alert, Escalation, Event, EventItem, Item, ItemAnalysis, Outlet  # noqa: E402
from monitor.events.levels import load_levels  # noqa: E402
from monitor.reports.brief import make_brief  # noqa: E402
from monitor.reports.playbook import load_playbook  # noqa: E402

TIERS = ("forum", "social", "self_media", "local_media", "industry_media", "government", "central_media")
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def fill(engine, sizes: list[int], cfsc: Path) -> list[int]:
    rng = random.Random(7)
    titles = [line.split("\t")[0] for line in (ROOT / "monitor/demo/data/headlines.tsv").read_text("utf-8").splitlines()]
    sentences = sorted({row["sentence"].strip() for row in json.loads(cfsc.read_text("utf-8"))})
    with engine.begin() as connection:
        connection.execute(insert(Outlet), [
            dict(id=f"o{n}", name=f"来源{n}", kind="rss", url=f"http://o{n}.invalid/", tier=TIERS[n % len(TIERS)],
                 region="全国", enabled=True, config={}, interval_seconds=600, error_count=0)
            for n in range(300)
        ])
    event_ids, next_item = [], 1
    for event_number, size in enumerate(sizes, 1):
        items, analyses, members = [], [], []
        for k in range(size):
            n = next_item
            next_item += 1
            at = START + timedelta(minutes=k * 240 / size * 6)  # spread over a day
            if k and rng.random() < 0.25:
                source = items[rng.randrange(len(items))]
                title, body = source["title"], "（转载）" + source["text"]
            else:
                title = titles[rng.randrange(len(titles))]
                body = "".join(rng.sample(sentences, rng.randint(3, 6)))
            items.append(dict(
                id=n, outlet_id=f"o{rng.randrange(300)}", url=f"http://o.invalid/{n}", canonical_url=f"http://o.invalid/{n}",
                url_hash=f"{n:064d}", guid=None, content_hash=f"{n:064x}", title=title, text=body, author=None,
                language="zh", published_at=at, first_seen_at=at + timedelta(minutes=3),
            ))
            analyses.append(dict(
                item_id=n, library_version="0123456789ab", model="fenghuo-general", negative_prob=rng.random(),
                item_negative_prob=0.5, keyword_strength=1.0, risk=rng.randrange(100),
                hits=[{"rule": "org", "group": "organisation", "weight": 1.0, "terms": ["增长"], "spans": [[0, 2]],
                       "in_title": False}], reasons=[], analysed_at=at + timedelta(minutes=4),
            ))
            members.append(dict(item_id=n, event_id=event_number, joined_at=at, similarity=1.0))
        last = items[-1]["published_at"]
        with engine.begin() as connection:
            connection.execute(insert(Item), items)
            connection.execute(insert(ItemAnalysis), analyses)
            connection.execute(insert(Event), [dict(
                id=event_number, title=items[0]["title"], level="orange", status="open", first_item_id=items[0]["id"],
                first_outlet_id=items[0]["outlet_id"], first_at=START, opened_at=START, last_item_at=last,
                item_count=size, metrics={"outlets": 300, "negative_share": 0.5, "central_media": True},
                updated_at=last,
            )])
            connection.execute(insert(EventItem), members)
            connection.execute(insert(Escalation), [dict(
                id=event_number, event_id=event_number, at=START + timedelta(hours=1), kind="escalate", from_level=None,
                to_level="orange", actor="auto", reason="orange", reasons=["outlets 300 ≥ 3"], metrics={},
            )])
            connection.execute(insert(Alert), [dict(
                event_id=event_number, escalation_id=event_number, level="orange", title=items[0]["title"], reason="",
                status="new", published_at=START, fetched_at=START, alerted_at=START + timedelta(hours=1),
            )])
        event_ids.append(event_number)
    return event_ids


def _cpu() -> float:
    """CPU seconds of this process and its children (fontconfig runs as one): on a machine shared
    by other sessions the wall clock swings with their load, CPU time much less."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="50,500,5000")
    parser.add_argument("--cfsc", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment" / "cfsc_absa_dev.json",
                        help="CFSC-ABSA sentences for the bodies (../shared/data/sentiment)")
    parser.add_argument("--database-url", default="sqlite:////tmp/fenghuo-brief-bench.db")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "brief.json")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.database_url.startswith("sqlite:///"):
        Path(args.database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    upgrade_database(args.database_url)
    engine = make_engine(args.database_url)
    sessions = make_session_factory(engine)
    event_ids = fill(engine, sizes, args.cfsc)
    levels, playbook = load_levels(), load_playbook()
    now = START + timedelta(days=1, hours=1)
    started = time.perf_counter()  # the first chart of a process makes its font subset, once
    with sessions() as session:
        make_brief(session, event_id=event_ids[0], format="html", now=now, zone=ZoneInfo("Asia/Shanghai"),
                   levels=levels, playbook=playbook)
    first_html = round(time.perf_counter() - started, 3)
    print(json.dumps({"first_html_in_process": first_html}), flush=True)
    results = []
    for size, event_id in zip(sizes, event_ids):
        row = {"items": size}
        for format in ("json", "md", "html", "pdf", "docx"):
            best = best_cpu = float("inf")
            for _ in range(3):
                started, cpu = time.perf_counter(), _cpu()
                with sessions() as session:
                    data = make_brief(session, event_id=event_id, format=format, now=now, zone=ZoneInfo("Asia/Shanghai"),
                                      levels=levels, playbook=playbook)
                best = min(best, time.perf_counter() - started)
                best_cpu = min(best_cpu, _cpu() - cpu)
            row[format] = round(best, 3)
            row[f"{format}_cpu"] = round(best_cpu, 3)
            row[f"{format}_bytes"] = len(data)
        results.append(row)
        print(json.dumps(row), flush=True)
    report = {"machine": f"{platform.machine()} {platform.python_version()}", "database": args.database_url.split(":")[0],
              "first_html_in_process": first_html, "results": results}
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
