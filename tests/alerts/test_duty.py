"""Duty figures from hand-made alert stamps, checked by hand."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.alerts.duty import AlertStamps, duty_figures

T0 = datetime(2026, 11, 23, 15, 50, tzinfo=UTC)  # 23:50 in Beijing
M = timedelta(minutes=1)


def test_figures_by_hand():
    alerts = [
        # published → alerted 10 min; acknowledged after 20 min: within target
        AlertStamps("orange", "acknowledged", T0 - 10 * M, T0, T0 + 20 * M),
        # alerted 15 min after publication (next Beijing day); acknowledged after 45 min: late
        AlertStamps("red", "resolved", T0 + 5 * M, T0 + 20 * M, T0 + 65 * M),
        # never acknowledged, alerted 2 hours before now: late
        AlertStamps("orange", "new", T0 - 90 * M, T0 - 60 * M, None),
        # alerted 5 minutes before now: pending, not counted
        AlertStamps("red", "new", T0 + 50 * M, T0 + 55 * M, None),
        # blue: no acknowledgement target
        AlertStamps("blue", "new", T0 - 30 * M, T0, None),
    ]
    figures = duty_figures(alerts, now=T0 + 60 * M, ack_target=timedelta(minutes=30), zone=ZoneInfo("Asia/Shanghai"))
    assert figures["alerts"] == 5
    assert figures["by_level"] == {"orange": 2, "red": 2, "blue": 1}
    assert figures["by_day_and_level"] == [
        {"day": "2026-11-23", "level": "blue", "count": 1},
        {"day": "2026-11-23", "level": "orange", "count": 2},
        {"day": "2026-11-24", "level": "red", "count": 2},
    ]
    # detection minutes: 10, 15, 30, 5, 30 → sorted 5, 10, 15, 30, 30: median 15
    assert figures["detection"] == {"count": 5, "median_minutes": 15.0, "p90_minutes": 30.0}
    # acknowledgement of urgent alerts: 20 and 45 minutes
    assert figures["acknowledgement_urgent"]["count"] == 2
    assert figures["acknowledgement_urgent"]["median_minutes"] == 45.0
    handled = figures["urgent_handled_within_target"]
    assert (handled["within"], handled["late"], handled["pending"]) == (1, 2, 1)
    assert handled["share"] == round(1 / 3, 3) and handled["goal"] == 0.9


def test_no_alerts_no_figures():
    figures = duty_figures([], now=T0, ack_target=timedelta(minutes=30), zone=ZoneInfo("Asia/Shanghai"))
    assert figures["detection"]["median_minutes"] is None
    assert figures["urgent_handled_within_target"]["share"] is None
