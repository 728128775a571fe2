"""Weekly reports: the list, the figures, each format for download, and making one on demand."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from monitor.api.deps import ClockDep, Operator, SessionDep, SettingsDep, bad_parameter, require
from monitor.api.schemas import AUTH_ERRORS, CONFLICT, NOT_FOUND
from monitor.db import reports as report_store
from monitor.reports.figures import Week
from monitor.reports.fonts import FontError
from monitor.stages.reports import WeeklyReports

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=AUTH_ERRORS)

WeekPath = Annotated[str, Path(description="ISO week, e.g. 2026-W47", examples=["2026-W47"], max_length=10)]
FileName = Literal["html", "pdf", "xlsx", "csv", "items.csv", "json"]


def _week(text: str) -> Week:
    try:
        return Week.parse(text)
    except ValueError as error:
        raise bad_parameter(("path", "week"), str(error), text) from None


def group_names(request: Request) -> dict[str, str]:
    holder = request.app.state.library
    library = getattr(holder, "library", None)
    return {gid: group.name for gid, group in library.groups.items()} if library else {}


# Registered before the downloads: /{week}/{name} would otherwise claim /{week}/make for GET
# and answer OPTIONS with the wrong Allow header.
@router.post("/{week}/make", status_code=201, summary="Make (or remake) a week's report now",
             responses={**CONFLICT, 503: {"description": "no Chinese font or PDF engine on this server"}})
async def make_report(week: WeekPath, request: Request, principal: Operator, settings: SettingsDep,
                      clock: ClockDep) -> dict:
    """Operators make this week's and last week's report (the duty team's "where are we now");
    remaking an older week rewrites what leadership may already have read, so it takes an admin."""
    parsed = _week(week)
    this_week = Week.containing(clock.now(), ZoneInfo(settings.default_timezone))
    if parsed.bounds(ZoneInfo(settings.default_timezone))[0] > clock.now():
        raise bad_parameter(("path", "week"), "has not begun yet", week)
    if principal.role != "admin" and parsed not in (this_week, this_week.previous()):
        raise HTTPException(403, f"remaking {parsed} needs admin: operators make this week's ({this_week}) "
                                 f"and last week's ({this_week.previous()}) report")
    state = request.app.state
    reports = WeeklyReports(state.sessions, settings, clock, state.routing, state.level_labels, group_names(request))
    try:
        made = await run_in_threadpool(reports.make, parsed, requested_by=principal.name, rebuild=True)
    except FontError as error:
        raise HTTPException(503, f"the report cannot be drawn on this server: {error}") from None
    if not made:
        raise HTTPException(409, f"the report for {week} is being made by another worker; try again shortly")
    with state.sessions() as session:
        _, files = next((r, f) for r, f in report_store.list_reports(session) if r.week == str(parsed))
    return {"week": str(parsed), "status": "ready",
            "files": {name: str(request.url_for("report_file", week=str(parsed), name=name)) for name in files}}


@router.get("", dependencies=[require("viewer")], summary="Stored weekly reports, newest first")
def list_reports(request: Request, session: SessionDep) -> list[dict]:
    return [
        {
            "week": report.week, "status": report.status, "requested_by": report.requested_by,
            "created_at": report.created_at, "finished_at": report.finished_at, "error": report.error,
            "files": {name: str(request.url_for("report_file", week=report.week, name=name)) for name in files},
        }
        for report, files in report_store.list_reports(session)
    ]


@router.get("/{week}", dependencies=[require("viewer")], summary="A week's figures (the report's JSON)",
            responses=NOT_FOUND)
def report_figures(week: WeekPath, session: SessionDep) -> dict:
    report = report_store.get_report(session, week=str(_week(week)))
    if report is None or report.figures is None:
        raise HTTPException(404, f"no report for {week} yet" + (f" ({report.status})" if report else ""))
    return report.figures


@router.get("/{week}/{name}", name="report_file", dependencies=[require("viewer")],
            summary="Download one format: html, pdf, xlsx, csv (events), items.csv, json", responses=NOT_FOUND,
            response_class=Response)
def report_file(week: WeekPath, name: FileName, session: SessionDep) -> Response:
    stored = report_store.get_file(session, week=str(_week(week)), name=name)
    if stored is None:
        raise HTTPException(404, f"no {name} of the report for {week}")
    disposition = "inline" if name in ("html", "pdf") else "attachment"
    return Response(
        stored.content, media_type=stored.media_type,
        headers={"Content-Disposition": f'{disposition}; filename="fenghuo-weekly-{week}.{name}"'},
    )
