"""Volume anomalies as alerts (趋势监测): every few minutes, the leader judges each keyword group's
current hour (and the hour just ended) against its baseline (monitor/analyze/trends.py); a group
that breaks above its band raises an alert of its own kind, once per burst.

- **One alert per burst.** An anomalous hour within `GAP` of the group's last anomalous hour
  extends that burst (its peak is kept up to date); only an hour after a longer quiet opens a new
  one. The burst's row and its pushes are written in one transaction, the pushes through the
  outbox under a key made of group, burst start and channel, so a burst is announced once however
  many checks or workers see it.
- **Routed by notify.yaml** (`anomalies: [channels]`), with a link to the group's chart in the
  console (`/#/trends/group/<group>`).
- **One more reason in the grading log** of the open events of the group that had items during
  the burst: an entry of kind `anomaly` that keeps their level, so the history of an event says
  "its subject was unusually loud at 14:00" beside the thresholds that graded it.

The current hour is judged while it is still running: its count only grows, so once it is above
the band it stays there, and the alert need not wait for the hour to end. Counts of hours that
are over (more than two hours ago: late analyses have landed) are kept in memory between checks,
so a check reads only the last two hours from the database, not five weeks.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.routing import Routing
from monitor.analyze.trends import HOUR, HourVerdict, TrendModel, hour_of, judge
from monitor.clock import Clock
from monitor.db import events as event_store
from monitor.db import outbox
from monitor.db import trends as trend_store
from monitor.states import AUTO, DeliveryKind, EscalationKind

log = structlog.get_logger("fenghuo.trends")

GAP = timedelta(hours=2)  # a quiet hour inside a burst does not make the next loud hour a new alert
FRESH = timedelta(hours=2)  # hours this recent are read again at each check (analyses still land)
BY = "group"  # keyword groups: what "talk about us" means; a tier's volume is everyone's


class VolumeWatch:
    def __init__(self, sessions: sessionmaker[Session], routing: Routing, clock: Clock, zone: ZoneInfo,
                 model: TrendModel = TrendModel(), group_names: dict[str, str] | None = None,
                 public_url: str | None = None) -> None:
        self.sessions, self.routing, self.clock, self.zone, self.model = sessions, routing, clock, zone, model
        self.group_names, self.public_url = group_names or {}, public_url
        self._settled: dict[str, dict[datetime, int]] = defaultdict(dict)  # counts of hours that are over
        self._settled_until: datetime | None = None

    # -- counting -----------------------------------------------------------------------------

    def counts(self, now: datetime) -> dict[str, dict[datetime, int]]:
        """Hourly counts per group from the oldest matching hour up to now."""
        fresh_from = hour_of(now) - FRESH
        oldest = fresh_from - self.model.history - timedelta(days=self.model.days)
        start = self._settled_until if self._settled_until and self._settled_until > oldest else oldest
        with self.sessions() as session:
            if start < fresh_from:
                for key, hours in trend_store.hourly_counts(session, start=start, end=fresh_from, by=BY).items():
                    self._settled[key].update(hours)
                self._settled_until = fresh_from
            recent = trend_store.hourly_counts(session, start=fresh_from, end=hour_of(now) + HOUR, by=BY)
        for key in list(self._settled):  # forget what no baseline reaches any more
            self._settled[key] = {h: n for h, n in self._settled[key].items() if h >= oldest}
        merged: dict[str, dict[datetime, int]] = {}
        for key in set(self._settled) | set(recent):
            merged[key] = {**self._settled.get(key, {}), **recent.get(key, {})}
        return merged

    # -- the check ----------------------------------------------------------------------------

    def run_once(self) -> int:
        """Judge the hour just ended and the current one; returns how many bursts were opened."""
        now = self.clock.now()
        counts = self.counts(now)
        opened = 0
        for key in sorted(counts):
            for hour in (hour_of(now) - HOUR, hour_of(now)):
                verdict = judge(counts[key], hour, self.model, self.zone)
                if verdict.anomaly:
                    opened += self._record(key, verdict, now)
        return opened

    def _record(self, key: str, verdict: HourVerdict, now: datetime) -> bool:
        try:
            with self.sessions.begin() as session:
                burst = trend_store.burst_of(session, by=BY, key=key, hour=verdict.hour, gap=GAP)
                new = burst is None
                if new:
                    burst = trend_store.open_burst(session, by=BY, key=key, hour=verdict.hour, count=verdict.count,
                                                   expected=verdict.expected, upper=verdict.upper, now=now)
                else:
                    trend_store.extend_burst(burst, hour=verdict.hour, count=verdict.count,
                                             expected=verdict.expected, upper=verdict.upper)
                noted = self._note_on_events(session, burst, verdict, now)
                if new:
                    payload = self.announcement(burst, noted)
                    for channel in self.routing.anomaly_channels:
                        outbox.enqueue(session, channel=channel, kind=DeliveryKind.anomaly, payload=payload, now=now,
                                       key=f"anomaly-{BY}-{key}-{burst.started_at:%Y%m%d%H}-{channel}"[:100])
        except IntegrityError:  # another worker opened the same burst in the same instant
            return False
        if new:
            log.info("volume_anomaly", group=key, hour=verdict.hour.isoformat(), count=verdict.count,
                     expected=verdict.expected, upper=verdict.upper, events=burst.events)
        return new

    def _note_on_events(self, session: Session, burst, verdict: HourVerdict, now: datetime) -> list:
        """An entry in the grading log of each open event of the group active in the burst, once
        per event and burst; the event's level is unchanged."""
        noted = []
        for event in trend_store.active_group_events(session, group=burst.series_key, since=burst.started_at):
            if event.id in burst.events:
                continue
            name = self.group_names.get(burst.series_key, burst.series_key)
            local = verdict.hour.astimezone(self.zone)
            event_store.log_transition(
                session, event=event, kind=EscalationKind.anomaly, to_level=event.level, at=now, actor=AUTO,
                reason=f"声量异常：{name} {local:%m-%d %H}:00 起 {verdict.count} 条/小时，常态约 {verdict.expected:g} 条",
                reasons=[f"volume anomaly: group {burst.series_key} {verdict.count} items in the hour from "
                         f"{verdict.hour.isoformat()} > band {verdict.upper:g} (expected {verdict.expected:g})"],
            )
            noted.append(event)
        if noted:
            burst.events = [*burst.events, *(event.id for event in noted)]
        return noted

    def chart_link(self, key: str) -> str | None:
        return f"{self.public_url.rstrip('/')}/#/trends/{BY}/{key}" if self.public_url else None

    def announcement(self, burst, events: list) -> dict:
        name = self.group_names.get(burst.series_key, burst.series_key)
        local = burst.started_at.astimezone(self.zone)
        lines = [f"{local:%m-%d %H}:00 起 {burst.peak_count} 条/小时，同一时段常态约 {burst.expected:g} 条"
                 f"（上限 {burst.upper:g}）"]
        lines += [f"涉及事件：{event.title}" for event in events]
        return {
            "title": f"声量异常：{name}", "lines": lines,
            "summary": "同一波异常只提醒一次；基线为近四周同一时段的中位数。",
            "link": self.chart_link(burst.series_key),
            "group": burst.series_key, "started_at": burst.started_at.isoformat(),
            "count": burst.peak_count, "expected": burst.expected, "upper": burst.upper,
        }
