"""The weekly report draws the week's busiest keyword groups hour by hour over their baseline band
(the model of the volume alerts), with the anomalous hours marked, in Chinese with real glyphs."""

import base64
import re
from datetime import timedelta

from monitor.analyze.trends import hour_of
from monitor.reports.build import build_report
from monitor.reports.figures import Week
from tests.api.test_trends import items_at
from tests.reports.test_figures import LABELS
from tests.reports.week import BEIJING, NOW


def test_the_report_charts_a_groups_volume_with_its_band(sessions):
    week = Week.parse("2026-W47")
    start, end = week.bounds(BEIJING)
    loud = hour_of(start + timedelta(days=2, hours=10))  # Wednesday 10:00
    with sessions.begin() as session:
        # 12 an hour at 10:00 every day for five weeks, then 45 on the Wednesday of the report's week
        items_at(session, [(loud - timedelta(days=d), 12) for d in range(1, 36)] + [(loud, 45)])
    with sessions() as session:
        figures, outputs = build_report(
            session, week=week, formats=["html"], zone=BEIJING, now=NOW, ack_target=timedelta(minutes=30),
            labels=LABELS, group_names={"organisation": "本单位"},
        )
    (volume,) = figures["volume"]
    assert volume["group"] == "organisation" and volume["name"] == "本单位" and len(volume["hours"]) == 168
    assert volume["anomalies"] == 1
    (hour,) = [h for h in volume["hours"] if h["anomaly"]]
    assert (hour["hour"], hour["count"], hour["expected"]) == (loud.isoformat(), 45, 12)
    html = outputs["html"].decode("utf-8")
    (picture,) = re.findall(r'<img alt="每小时声量与常态区间：本单位" src="data:image/svg\+xml;base64,([^"]+)"', html)
    svg = base64.b64decode(picture).decode("utf-8")
    assert svg.count("<path") > 50  # bars, band and letters drawn as outlines (no font needed)
    assert "<text" not in svg
