"""The volume model: an hour is compared with matching past hours (same hour of the week, same
hour of the day on days of the same kind); a robust z-score with a Poisson floor and a minimum count."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.analyze.trends import TrendModel, judge, matching_hours

BEIJING = ZoneInfo("Asia/Shanghai")
MONDAY_9 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing
SUNDAY_23 = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)  # Sunday 23:00 in Beijing
MODEL = TrendModel()


def history(hour, weekday_count, weekend_count):
    counts = {}
    for earlier in matching_hours(hour, TrendModel(days=14), BEIJING):
        weekend = earlier.astimezone(BEIJING).weekday() >= 5
        counts[earlier] = weekend_count if weekend else weekday_count
    return counts


def test_a_monday_morning_is_compared_with_mornings_of_weekdays_only():
    hours = matching_hours(MONDAY_9, MODEL, BEIJING)
    kinds = {h.astimezone(BEIJING).weekday() for h in hours}
    assert kinds <= {0, 1, 2, 3, 4} and {h.astimezone(BEIJING).hour for h in hours} == {9}
    assert MONDAY_9 - timedelta(weeks=4) in hours  # four Mondays back


@pytest.mark.parametrize("count, anomaly", [(35, False), (40, True)])
def test_a_busy_hour_is_judged_against_its_own_busy_baseline(count, anomaly):
    counts = history(MONDAY_9, weekday_count=20, weekend_count=2) | {MONDAY_9: count}
    verdict = judge(counts, MONDAY_9, MODEL, BEIJING)
    assert verdict.expected == 20 and round(verdict.upper, 1) == 37.9  # 20 + 4·√20
    assert verdict.anomaly is anomaly


@pytest.mark.parametrize("count, anomaly", [(8, False), (12, True)])
def test_a_quiet_sunday_night_needs_the_minimum_count(count, anomaly):
    counts = history(SUNDAY_23, weekday_count=20, weekend_count=2) | {SUNDAY_23: count}
    verdict = judge(counts, SUNDAY_23, MODEL, BEIJING)
    assert verdict.expected == 2 and verdict.upper < 8  # 8 is far above, but only 8 items
    assert verdict.anomaly is anomaly


def test_one_past_burst_does_not_raise_the_baseline():
    counts = history(MONDAY_9, weekday_count=20, weekend_count=2)
    counts[MONDAY_9 - timedelta(weeks=1)] = 300
    counts[MONDAY_9] = 45
    verdict = judge(counts, MONDAY_9, MODEL, BEIJING)
    assert verdict.expected == 20 and verdict.anomaly
