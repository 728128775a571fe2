"""The event brief's 发展预测 against what happened next: expected items in the next 6 h and the
trend call, on replayed timelines, against a naive "same as the last 6 h" baseline.

    .venv/bin/python bench/forecast.py [--generated 12] [--seed 11] [--out bench/results/forecast.json]

Data: our own SYNTHETIC timelines, no real story with real publication times. (1) The six
timelines of tests/events/timelines (3–9 items each, hours long); (2) GENERATED stories of 20–70
items over one to three days, built from the texts of those timelines (each arrival a reprint of
one of the story's items, on an outlet drawn from the same outlets file), with arrival times
drawn (Poisson, seeded) from four shapes seen in press-office practice: a burst that decays, a slow
build then a drop, two waves a day and a half apart, and a steady trickle.

Every timeline runs through `monitor.stages.replay.replay` (the real analysis and events stages,
simulated clock) into a kept SQLite file. For each event and each cut point (every 2 h from one
hour after its first item until 6 h after its last), the forecast is made by the brief's own
`_forecast` from what was known at the cut: the items first seen by then, the level and open/closed
state from the escalation log up to then. It is compared with the event's items that appeared in
the 6 h after the cut.

- Expected items: mean absolute error (MAE) against the actual count; the baseline expects the
  count of the last 6 h again.
- Trend call: the actual direction is read from the counts with the method's own thresholds —
  up when the next 6 h have at least 3 items and over 1.5× the last 6 h, down when under half of
  it, else flat; the method's rising/cooling/steady map to up/down/flat, quiet to down when the
  last 6 h had items and flat when not. The baseline always says flat (the same count again).

The brief's first rule (the last 6 h against the 6 h before, carried forward at that ratio) is
measured beside it: it was worse than the baseline, so the rule was changed; the new one was
chosen among a few on the stories of seed 7, and the default seed (11) reports on other stories.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_outlets  # noqa: E402
from monitor.events.levels import load_levels  # noqa: E402
from monitor.stages.replay import TimelineItem, read_timeline, replay  # noqa: E402

TIMELINES = ROOT / "tests" / "events" / "timelines"
KEYWORDS = ROOT / "keywords"
HORIZON = timedelta(hours=6)
CUT_EVERY = timedelta(hours=2)
SHAPES = ("burst", "build", "two_waves", "trickle")


def rate(shape: str, hour: float) -> float:
    """Expected arrivals per hour at `hour` from the story's start."""
    if shape == "burst":
        return 6.0 * 0.5 ** (hour / 4) if hour < 36 else 0.0
    if shape == "build":
        return 0.2 + 0.25 * hour if hour < 18 else (4.7 * 0.5 ** ((hour - 18) / 2) if hour < 30 else 0.0)
    if shape == "two_waves":
        return 4.0 * 0.5 ** (hour / 3) if hour < 36 else (5.0 * 0.5 ** ((hour - 36) / 3) if hour < 60 else 0.0)
    return 1.2 if hour < 30 else 0.0  # trickle


def generated(shape: str, base: list[TimelineItem], outlets: list[str], rng: random.Random) -> list[dict]:
    """A story of `shape`: the base timeline's first item at minute 0, then Poisson arrivals."""
    items = [{"at": 0.0, "outlet": base[0].outlet, "title": base[0].title, "text": base[0].text}]
    minute = 0.0
    for minute in range(1, 72 * 60):
        if rng.random() < rate(shape, minute / 60) / 60:
            source = rng.choice(base)
            n = len(items)
            items.append({"at": float(minute), "outlet": rng.choice(outlets), "title": source.title,
                          "text": f"（转载自网络，编辑{n}）{source.text}本文来源：网友爆料。"})
    return items


def stored_events(url: str):
    """Per event: its items (when each appeared, when first seen) and its escalation log."""
    from monitor.db import make_engine, make_session_factory
    from monitor.db.briefs import brief_material
    from monitor.db.models import Event

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        ids = [e.id for e in session.query(Event).order_by(Event.id)]
        events = []
        for event_id in ids:
            material = brief_material(session, event_id=event_id)
            events.append((material.items, [(e.at, e.kind, e.to_level) for e in material.escalations]))
    engine.dispose()
    return events


def state_at(log, moment):
    """The event's level and open/closed state as they stood at `moment`."""
    level, status = None, "open"
    for at, kind, to_level in log:
        if at > moment:
            break
        if kind in ("escalate", "downgrade") and to_level:
            level = to_level
        elif kind == "close":
            status = "closed"
        elif kind == "reopen":
            status = "open"
    return SimpleNamespace(level=level, status=status, metrics={})


def direction(recent: int, following: int) -> str:
    if following >= 3 and following > 1.5 * recent:
        return "up"
    if following < 0.5 * recent:
        return "down"
    return "flat"


CALLED = {"rising": "up", "cooling": "down", "steady": "flat"}


def previous_rule(event, known, cut) -> tuple[str, int]:
    """The brief's first rule, kept here to show what replacing it changed: the last 6 h against
    the 6 h before, carried forward at that ratio (bounded to ¼–2×; 2× when nothing came before)."""
    recent = sum(1 for i in known if cut - HORIZON < i.at <= cut)
    earlier = sum(1 for i in known if cut - 2 * HORIZON < i.at <= cut - HORIZON)
    if event.status == "closed" or recent == 0:
        return "quiet", 0
    ratio = recent / earlier if earlier else 2.0
    trend = "rising" if recent >= 3 and ratio > 1.5 else "cooling" if ratio < 0.5 else "steady"
    return trend, round(recent * min(2.0, max(0.25, ratio)))


def call(trend: str, recent: int) -> str:
    return CALLED.get(trend) or ("down" if recent else "flat")


def evaluate(events, levels, forecast) -> list[dict]:
    rows = []
    for items, log in events:
        if len(items) < 2:
            continue
        first, last = items[0].at, max(i.at for i in items)
        cut = first + timedelta(hours=1)
        while cut <= last + HORIZON:
            known = [i for i in items if i.first_seen_at <= cut]
            state = state_at(log, cut)
            result = forecast(state, known, cut, levels, {})
            actual = sum(1 for i in items if cut < i.at <= cut + HORIZON)
            recent = result["last_6h"]
            old_trend, old_expected = previous_rule(state, known, cut)
            rows.append({"recent": recent, "actual": actual, "expected": result["expected_next_6h"],
                         "trend": result["trend"], "called": call(result["trend"], recent),
                         "truth": direction(recent, actual), "old_expected": old_expected,
                         "old_called": call(old_trend, recent)})
            cut += CUT_EVERY
    return rows


def summary(rows: list[dict]) -> dict:
    n = len(rows)
    if not n:
        return {"cuts": 0}
    mae = sum(abs(r["expected"] - r["actual"]) for r in rows) / n
    naive = sum(abs(r["recent"] - r["actual"]) for r in rows) / n
    right = sum(r["called"] == r["truth"] for r in rows) / n
    old_mae = sum(abs(r["old_expected"] - r["actual"]) for r in rows) / n
    old_right = sum(r["old_called"] == r["truth"] for r in rows) / n
    flat = sum(r["truth"] == "flat" for r in rows) / n
    truths = {d: sum(r["truth"] == d for r in rows) for d in ("up", "flat", "down")}
    return {"cuts": n, "mae": round(mae, 2), "mae_naive": round(naive, 2),
            "mae_ratio": round(mae / naive, 2) if naive else None,
            "trend_accuracy": round(right, 3), "trend_accuracy_naive": round(flat, 3),
            "mae_previous_rule": round(old_mae, 2), "trend_accuracy_previous_rule": round(old_right, 3),
            "actual_directions": truths,
            "mean_actual": round(sum(r["actual"] for r in rows) / n, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--generated", type=int, default=12, help="generated stories (cycling through the shapes)")
    # The rule was chosen on seed 7's stories; the default reports on others.
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))  # replay logs every level
    from monitor.reports.brief import _forecast

    outlets = load_outlets(TIMELINES / "outlets.yaml")
    levels = load_levels()
    rng = random.Random(args.seed)
    timelines = {path.stem: read_timeline(path) for path in sorted(TIMELINES.glob("*.yaml")) if path.stem != "outlets"}
    bases = [timelines["forum_first_crisis"], timelines["close_and_reopen"], timelines["two_incidents_one_day"][:2]]
    stories = {}
    for n in range(args.generated):
        shape = SHAPES[n % len(SHAPES)]
        raw = generated(shape, bases[n % len(bases)], [o.id for o in outlets], rng)
        stories[f"generated-{n + 1}-{shape}"] = [TimelineItem.model_validate(item) for item in raw]

    started = time.perf_counter()
    results, rows_of = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for name, items in [*timelines.items(), *stories.items()]:
            url = f"sqlite:///{Path(folder) / (name + '.sqlite')}"
            replay(items, outlets=outlets, keywords=KEYWORDS, levels=levels, database_url=url)
            events = stored_events(url)
            rows_of[name] = evaluate(events, levels, _forecast)
            results[name] = {"items": len(items), "events": len(events),
                             "largest_event": max((len(e[0]) for e in events), default=0), **summary(rows_of[name])}
            print(name, results[name], flush=True)

    def pooled(names) -> dict:
        return summary([row for name in names for row in rows_of[name]])

    report = {
        "data": "synthetic: tests/events/timelines and generated stories (see the docstring)",
        "horizon_hours": 6, "cut_every_hours": 2, "seed": args.seed, "generated": args.generated,
        "method": " ".join(_forecast.__doc__.split()),
        "overall": pooled(rows_of),
        "by_source": {"tests/events/timelines": pooled(timelines), "generated": pooled(stories)},
        "by_shape": {shape: pooled([name for name in stories if name.endswith(shape)]) for shape in SHAPES},
        "timelines": results,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps({k: report[k] for k in ("overall", "by_source", "by_shape", "seconds")}, ensure_ascii=False, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
