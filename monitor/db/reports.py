"""Stored weekly reports. The unique week is what makes the Monday job run once cluster-wide:
the worker whose insert (or lease takeover) succeeds builds it; the others find it taken."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor.db.models import Item, Report, ReportFile
from monitor.states import ReportStatus


def claim_report(session: Session, *, week: str, requested_by: str, now: datetime, lease: timedelta,
                 rebuild: bool = False) -> bool:
    """Take the building of week's report; False when another worker holds it, or (unless rebuild)
    it is already made. Commits nothing: the caller's transaction does."""
    report = session.scalars(
        select(Report).where(Report.week == week).with_for_update(skip_locked=True)
    ).first()
    if report is None:
        if session.scalar(select(Report.id).where(Report.week == week)) is not None:
            return False  # locked by a worker claiming it right now
        try:
            with session.begin_nested():
                session.add(Report(week=week, status=ReportStatus.building, requested_by=requested_by, created_at=now,
                                   lease_until=now + lease))
        except IntegrityError:
            return False  # another worker inserted it first
        return True
    if report.status == ReportStatus.building and report.lease_until and report.lease_until > now:
        return False
    if report.status == ReportStatus.ready and not rebuild:
        return False
    report.status, report.requested_by, report.lease_until, report.error = ReportStatus.building, requested_by, now + lease, None
    return True


def save_report(session: Session, *, week: str, figures: dict, files: dict[str, tuple[str, bytes]],
                now: datetime) -> Report:
    report = session.scalars(select(Report).where(Report.week == week)).one()
    session.execute(delete(ReportFile).where(ReportFile.report_id == report.id))
    for name, (media_type, content) in files.items():
        session.add(ReportFile(report_id=report.id, format=name, media_type=media_type, content=content))
    report.status, report.figures, report.finished_at, report.lease_until = ReportStatus.ready, figures, now, None
    return report


def fail_report(session: Session, *, week: str, error: str, now: datetime) -> None:
    report = session.scalars(select(Report).where(Report.week == week)).one()
    report.status, report.error, report.finished_at, report.lease_until = ReportStatus.failed, error, now, None


def list_reports(session: Session, *, limit: int = 52) -> list[tuple[Report, list[str]]]:
    reports = list(session.scalars(select(Report).order_by(Report.week.desc()).limit(limit)))
    formats: dict[int, list[str]] = {}
    for report_id, name in session.execute(
        select(ReportFile.report_id, ReportFile.format).where(ReportFile.report_id.in_([r.id for r in reports]))
        .order_by(ReportFile.format)
    ):
        formats.setdefault(report_id, []).append(name)
    return [(report, formats.get(report.id, [])) for report in reports]


def get_report(session: Session, *, week: str) -> Report | None:
    return session.scalars(select(Report).where(Report.week == week)).first()


def get_file(session: Session, *, week: str, name: str) -> ReportFile | None:
    return session.scalars(
        select(ReportFile).join(Report, Report.id == ReportFile.report_id)
        .where(Report.week == week, ReportFile.format == name)
    ).first()



def items_between(session: Session, *, start: datetime, end: datetime) -> int:
    """Items first seen in [start, end): whether a week has anything to report."""
    return session.scalar(
        select(func.count()).select_from(Item).where(Item.first_seen_at >= start, Item.first_seen_at < end)
    ) or 0


def item_time_span(session: Session) -> tuple[datetime, datetime] | None:
    """When the first and the latest items were seen, or None for an empty database."""
    first, last = session.execute(select(func.min(Item.first_seen_at), func.max(Item.first_seen_at))).one()
    return (first, last) if first is not None else None
