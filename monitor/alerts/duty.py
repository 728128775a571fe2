"""The duty figures a monitoring team sets targets for, computed from alert time stamps, never guessed.

- detection: publication of the story → alert (how fast we found it);
- acknowledgement: alert → acknowledged, for orange and red alerts (target: 30 minutes);
- handled within target: the share of orange and red alerts acknowledged within the target
  (goal ≥ 90%); alerts still inside their target time and not yet acknowledged are pending, not
  counted either way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

URGENT = ("orange", "red")


@dataclass(frozen=True)
class AlertStamps:
    level: str
    status: str
    published_at: datetime
    alerted_at: datetime
    acknowledged_at: datetime | None


def _minutes(values: list[timedelta]) -> dict:
    if not values:
        return {"count": 0, "median_minutes": None, "p90_minutes": None}
    ordered = sorted(v.total_seconds() / 60 for v in values)
    return {
        "count": len(ordered),
        "median_minutes": round(ordered[len(ordered) // 2], 1),
        "p90_minutes": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))], 1),
    }


def duty_figures(alerts: list[AlertStamps], *, now: datetime, ack_target: timedelta, zone: tzinfo) -> dict:
    by_day = Counter((a.alerted_at.astimezone(zone).date().isoformat(), a.level) for a in alerts)
    urgent = [a for a in alerts if a.level in URGENT]
    within = late = pending = 0
    for alert in urgent:
        if alert.acknowledged_at is not None:
            if alert.acknowledged_at - alert.alerted_at <= ack_target:
                within += 1
            else:
                late += 1
        elif now - alert.alerted_at > ack_target:
            late += 1
        else:
            pending += 1
    decided = within + late
    return {
        "alerts": len(alerts),
        "by_status": dict(Counter(a.status for a in alerts)),
        "by_level": dict(Counter(a.level for a in alerts)),
        "by_day_and_level": [
            {"day": day, "level": level, "count": count} for (day, level), count in sorted(by_day.items())
        ],
        "detection": _minutes([a.alerted_at - a.published_at for a in alerts]),
        "acknowledgement_urgent": _minutes(
            [a.acknowledged_at - a.alerted_at for a in urgent if a.acknowledged_at is not None]
        ),
        "urgent_handled_within_target": {
            "target_minutes": ack_target.total_seconds() / 60,
            "within": within,
            "late": late,
            "pending": pending,
            "share": round(within / decided, 3) if decided else None,
            "goal": 0.9,
        },
    }
