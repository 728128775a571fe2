"""The event brief (研判报告) on demand: GET /api/v1/events/{id}/brief?format=html|pdf|docx|md|json."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from monitor.api.deps import ClockDep, IdPath, SessionDep, SettingsDep, require
from monitor.api.schemas import AUTH_ERRORS, NOT_FOUND
from monitor.config import ConfigError
from monitor.reports.brief import make_brief
from monitor.reports.brief_render import MEDIA_TYPES
from monitor.reports.fonts import FontError
from monitor.reports.playbook import load_playbook

router = APIRouter(prefix="/api/v1", tags=["events"], dependencies=[require("viewer")], responses=AUTH_ERRORS)


@router.get(
    "/events/{event_id}/brief", response_class=Response, responses=NOT_FOUND,
    summary="The event brief (研判报告), drafted from stored items, as HTML, PDF, DOCX, Markdown or JSON",
)
def event_brief(
    event_id: IdPath,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    format: Annotated[Literal["html", "pdf", "docx", "md", "json"], Query()] = "html",
) -> Response:
    try:
        # Read per request: editing playbook.yaml takes effect without a restart, and it is small.
        playbook = load_playbook(settings.playbook_file)
    except ConfigError as error:
        raise HTTPException(503, f"the response playbook is invalid: {error}") from None
    try:
        data = make_brief(session, event_id=event_id, format=format, now=clock.now(),
                          zone=ZoneInfo(settings.default_timezone), levels=request.app.state.levels,
                          playbook=playbook, public_url=settings.public_url, font_file=settings.report_font)
    except FontError as error:
        raise HTTPException(503, str(error)) from None
    if data is None:
        raise HTTPException(404, f"no event {event_id}")
    disposition = "inline" if format in ("html", "pdf", "md", "json") else "attachment"
    return Response(data, media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'{disposition}; filename="event-{event_id}-brief.{format}"'})
