"""The weekly report as a job: build it for a week, store every format, and announce it in the
configured group chats through the outbox (so an announcement is never lost, nor sent twice).

Once cluster-wide: building starts by claiming the week's row (monitor.db.reports.claim_report).
The scheduler runs `run_if_due` every few minutes rather than only at the hour, so a service that
was down at Monday 08:00 still makes the report when it comes back.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.routing import Routing
from monitor.clock import Clock
from monitor.config import Settings
from monitor.db import outbox
from monitor.db import reports as report_store
from monitor.reports.build import build_report
from monitor.reports.figures import Week
from monitor.reports.playbook import load_playbook
from monitor.reports.render import FORMATS, MEDIA_TYPES, report_title
from monitor.states import DeliveryKind, ReportStatus

log = structlog.get_logger("fenghuo.reports")

BUILD_LEASE = timedelta(minutes=15)
RETRY_FAILED_AFTER = timedelta(hours=1)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def due_week(now: datetime, report_time: str, zone: ZoneInfo) -> Week | None:
    """The week whose report should exist by now: the last complete week, once this week's report
    time (e.g. Monday 08:00) has passed; before it, the week before that is the latest due."""
    day, clock_time = report_time.split()
    this_week = Week.containing(now, zone)
    hour, minute = (int(part) for part in clock_time.split(":"))
    due_at = datetime.combine(this_week.monday + timedelta(days=DAYS.index(day)), time(hour, minute), tzinfo=zone)
    return this_week.previous() if now >= due_at else this_week.previous().previous()


class WeeklyReports:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings, clock: Clock, routing: Routing,
                 labels: dict[str, str], group_names: dict[str, str] | None = None) -> None:
        self.sessions, self.settings, self.clock, self.routing = sessions, settings, clock, routing
        self.labels, self.group_names = labels, group_names or {}
        self.zone = ZoneInfo(settings.default_timezone)

    def make(self, week: Week, *, requested_by: str, rebuild: bool = False) -> bool:
        """Build, store and announce week's report. False when another worker has it (or, without
        rebuild, it is already made). A failure is stored with its reason and raised."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            if not report_store.claim_report(session, week=str(week), requested_by=requested_by, now=now,
                                             lease=BUILD_LEASE, rebuild=rebuild):
                return False
        log.info("report_building", week=str(week), requested_by=requested_by)
        try:
            with self.sessions() as session:
                figures, outputs = build_report(
                    session, week=week, formats=list(FORMATS), zone=self.zone, now=self.clock.now(),
                    ack_target=self.settings.ack_target, labels=self.labels, group_names=self.group_names,
                    font_file=self.settings.report_font, playbook=load_playbook(self.settings.playbook_file),
                    public_url=self.settings.public_url,
                )
        except Exception as error:
            with self.sessions.begin() as session:
                report_store.fail_report(session, week=str(week), error=f"{type(error).__name__}: {error}",
                                         now=self.clock.now())
            log.error("report_failed", week=str(week), error=str(error))
            raise
        with self.sessions.begin() as session:
            report_store.save_report(
                session, week=str(week), figures=figures, now=self.clock.now(),
                files={name: (MEDIA_TYPES[name], content) for name, content in outputs.items()},
            )
            # In the same transaction as the files: announced if and only if stored.
            for channel in self.routing.report_channels:
                outbox.enqueue(
                    session, channel=channel, kind=DeliveryKind.report, key=f"report-{week}-{channel}",
                    payload=self.announcement(figures), now=self.clock.now(),
                )
        log.info("report_ready", week=str(week), formats=sorted(outputs))
        return True

    def run_if_due(self) -> bool:
        week = due_week(self.clock.now(), self.settings.report_time, self.zone)
        with self.sessions() as session:
            report = report_store.get_report(session, week=str(week))
            if report is not None and report.status == ReportStatus.failed:
                if self.clock.now() - (report.finished_at or report.created_at) < RETRY_FAILED_AFTER:
                    return False
            elif report is not None and report.status == ReportStatus.ready:
                return False
        try:
            return self.make(week, requested_by="schedule")
        except Exception:  # stored and logged by make; the schedule tries again later
            return False

    def announcement(self, figures: dict) -> dict:
        """What the group chat sees: the headline numbers and where to read the report."""
        overview, handled = figures["overview"], figures["duty"]["urgent_handled_within_target"]
        alerts = "，".join(f"{self.labels[level]} {overview['alerts_by_level'][level]}"
                          for level in ("red", "orange", "yellow", "blue") if overview["alerts_by_level"][level])
        lines = [
            f"涉我信息 {overview['relevant_items']:,} 条，负面 {overview['negative_items']:,} 条"
            + (f"（{overview['negative_share']:.1%}）" if overview["negative_share"] is not None else ""),
            f"事件 {overview['events']} 起，预警 {overview['alerts']} 次" + (f"（{alerts}）" if alerts else ""),
        ]
        if handled["share"] is not None:
            lines.append(f"橙色及以上按时处置率 {handled['share']:.0%}（目标 {handled['goal']:.0%}）")
        link = None
        if self.settings.public_url:
            link = f"{self.settings.public_url.rstrip('/')}/api/v1/reports/{figures['week']}/pdf"
        return {"title": report_title(figures), "lines": lines, "summary": figures["summary"], "link": link,
                "week": figures["week"]}
