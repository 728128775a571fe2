"""Volume anomalies: detection rate and false alarms per week, the trends model against a plain
"N items in the last hour" threshold.

    .venv/bin/python bench/trends.py [--z 4] [--out bench/results/trends.json]

Traffic is SYNTHETIC in its timing (no stored data here has real publication times over weeks):
hourly counts for series of different sizes (mean 2 to 50 items an hour) follow a news-day
profile (quiet 01–06, peaks mid-morning, afternoon and evening, weekends at 60%) with
negative-binomial noise (dispersion 8: real volume varies more than Poisson). Four weeks warm up
the baseline; in the next EVAL_WEEKS weeks, bursts of known size are added at known random hours.
A burst is detected if its hour is flagged; every other flagged hour is a false alarm.

The plain threshold is tuned per series on the warm-up weeks, two ways: N = the highest count
seen (what someone setting it by eye would pick), and N = the model's own false-alarm rate (the
fairest comparison: same false alarms, how many bursts each catches).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.analyze.trends import TrendModel, judge  # noqa: E402
from monitor.stages.trends import GAP  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 9, 7, 16, tzinfo=UTC)  # Monday 00:00 Beijing
WARMUP_WEEKS, EVAL_WEEKS = 4, 8
PROFILE = np.array([0.5, 0.3, 0.2, 0.2, 0.2, 0.3, 0.6, 1.0, 1.5, 1.8, 1.8, 1.6,  # 00–11
                    1.2, 1.3, 1.6, 1.7, 1.5, 1.3, 1.1, 1.2, 1.5, 1.6, 1.2, 0.8])  # 12–23
MEANS = [2, 5, 10, 20, 50]
BURSTS = [(0.5, "half the expected hour"), (1.0, "doubling"), (2.0, "tripling")]
PER_SIZE = 40  # bursts of each size per series
DISPERSION = 8


def traffic(mean: float, rng) -> dict[datetime, int]:
    hours = (WARMUP_WEEKS + EVAL_WEEKS) * 7 * 24
    counts = {}
    for n in range(hours):
        at = START + timedelta(hours=n)
        local = at.astimezone(ZONE)
        rate = mean * PROFILE[local.hour] / PROFILE.mean() * (0.6 if local.weekday() >= 5 else 1.0)
        p = DISPERSION / (DISPERSION + rate)
        counts[at] = int(rng.negative_binomial(DISPERSION, p))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--z", type=float, default=4.0, help="FENGHUO_ANOMALY_Z")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    model = TrendModel(z=args.z)
    rng = np.random.default_rng(17)
    eval_start = START + timedelta(weeks=WARMUP_WEEKS)
    eval_hours = [eval_start + timedelta(hours=n) for n in range(EVAL_WEEKS * 7 * 24)]
    rows = []
    for mean in MEANS:
        base = traffic(mean, rng)
        warm = [c for at, c in base.items() if at < eval_start]
        # Expected counts per hour, to size the bursts relative to the hour they land in.
        chosen = rng.choice(len(eval_hours), size=PER_SIZE * len(BURSTS), replace=False)
        bursts: dict[datetime, float] = {}
        counts = dict(base)
        for index, slot in enumerate(chosen):
            at = eval_hours[slot]
            share, _ = BURSTS[index // PER_SIZE]
            expected = judge(base, at, model, ZONE).expected
            extra = max(1, int(round(share * max(expected, 1))))
            counts[at] += extra
            bursts[at] = share
        flagged = {at for at in eval_hours if judge(counts, at, model, ZONE).anomaly}
        false_model = len(flagged - set(bursts))
        plain_eye = max(warm)
        # The plain threshold with the model's false-alarm count (or the nearest above it).
        quiet = sorted((counts[at] for at in eval_hours if at not in bursts), reverse=True)
        plain_fair = quiet[min(false_model, len(quiet) - 1)]
        for share, label in BURSTS:
            hit_hours = [at for at, s in bursts.items() if s == share]
            rows.append(dict(
                mean_per_hour=mean, burst=label,
                model_detected=sum(at in flagged for at in hit_hours) / len(hit_hours),
                plain_eye_detected=sum(counts[at] > plain_eye for at in hit_hours) / len(hit_hours),
                plain_fair_detected=sum(counts[at] > plain_fair for at in hit_hours) / len(hit_hours),
            ))
        # What the duty room is pushed: flagged hours within GAP of each other are one alert
        # (monitor/stages/trends.py); an alert with no injected hour in it is a false one.
        alerts: list[list[datetime]] = []
        for at in sorted(flagged):
            if alerts and at - alerts[-1][-1] <= GAP:
                alerts[-1].append(at)
            else:
                alerts.append([at])
        false_alerts = sum(1 for alert in alerts if not any(at in bursts for at in alert))
        rows.append(dict(
            mean_per_hour=mean, burst="(false alarms per week)",
            model=round(false_model / EVAL_WEEKS, 2),
            model_false_alerts=round(false_alerts / EVAL_WEEKS, 2),
            plain_eye=round(sum(counts[at] > plain_eye for at in eval_hours if at not in bursts) / EVAL_WEEKS, 2),
            plain_fair=round(sum(counts[at] > plain_fair for at in eval_hours if at not in bursts) / EVAL_WEEKS, 2),
            plain_eye_n=plain_eye, plain_fair_n=plain_fair,
        ))
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    if args.out:
        args.out.write_text(json.dumps(dict(model=model.__dict__, eval_weeks=EVAL_WEEKS, rows=rows),
                                       ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
