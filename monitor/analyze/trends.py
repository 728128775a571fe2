"""Volume trends (趋势监测): is this hour unusually loud for this keyword group or tier?

The model, per series (a keyword group, or a tier) and per hour H, in local time:

    matching hours  M = the same hour of the week in the last `weeks` weeks (Monday 09:00 is
                        compared with Mondays 09:00), and the same hour of the day on the last
                        `days` days of the same kind (weekday with weekdays, weekend with weekends)
    expected        λ = median(M)                       robust: one past burst does not lift it
    spread          σ = max(√λ, 1.4826 · MAD(M), 1)     Poisson noise at least; more if the
                                                        matching hours themselves vary more
    upper band      U = λ + z · σ                       z = 4 by default
    anomaly         count(H) > U  and  count(H) ≥ min_count

i.e. a robust z-score over matching past hours with a Poisson floor on the spread, and a minimum
count so that a quiet group does not alarm on 3 items. Pure: counts in, verdicts out.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from monitor.clock import hour_of  # noqa: F401  (the model's unit; its readers import it from here too)

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class TrendModel:
    weeks: int = 4
    days: int = 7
    z: float = 4.0
    min_count: int = 10

    @property
    def history(self) -> timedelta:
        """How far back the counts must reach for the baseline of an hour."""
        return timedelta(weeks=self.weeks, hours=1)


@dataclass(frozen=True)
class HourVerdict:
    hour: datetime  # the hour's start, UTC
    count: int
    expected: float
    upper: float
    anomaly: bool


def matching_hours(hour: datetime, model: TrendModel, zone: tzinfo) -> list[datetime]:
    weekend = hour.astimezone(zone).weekday() >= 5
    same_week_hour = [hour - timedelta(weeks=k) for k in range(1, model.weeks + 1)]
    same_day_hour = [
        earlier for earlier in (hour - timedelta(days=d) for d in range(1, model.days + 1))
        if (earlier.astimezone(zone).weekday() >= 5) == weekend
    ]
    return sorted(set(same_week_hour + same_day_hour))


def judge(counts: Mapping[datetime, int], hour: datetime, model: TrendModel, zone: tzinfo) -> HourVerdict:
    """The verdict on `hour` (a UTC hour start) from hourly counts (missing hours count 0)."""
    past = [counts.get(h, 0) for h in matching_hours(hour, model, zone)]
    expected = statistics.median(past) if past else 0.0
    mad = statistics.median(abs(c - expected) for c in past) if past else 0.0
    spread = max(math.sqrt(expected), 1.4826 * mad, 1.0)
    upper = expected + model.z * spread
    count = counts.get(hour, 0)
    return HourVerdict(hour, count, round(expected, 2), round(upper, 2),
                       count > upper and count >= model.min_count)


def series(counts: Mapping[datetime, int], start: datetime, end: datetime, model: TrendModel,
           zone: tzinfo) -> list[HourVerdict]:
    """Verdicts for every hour from `start` up to (not including) `end`."""
    out, hour = [], hour_of(start)
    while hour < end:
        out.append(judge(counts, hour, model, zone))
        hour += HOUR
    return out
