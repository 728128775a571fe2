"""Documents about one event, made on demand from stored data: the brief (研判报告), GET
/api/v1/events/{id}/brief, and the post-incident review (复盘), GET /api/v1/events/{id}/review, whose
lessons an operator writes with PUT /api/v1/events/{id}/review/lessons (a path of its own, so each
path's Allow header lists exactly its methods)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import Field

from monitor.api.deps import ClockDep, IdPath, Operator, SessionDep, SettingsDep, require
from monitor.api.schemas import AUTH_ERRORS, NOT_FOUND, Input, Text
from monitor.config import ConfigError
from monitor.reports.brief import make_brief
from monitor.reports.brief_render import MEDIA_TYPES
from monitor.reports.fonts import FontError
from monitor.reports.llm import endpoint_from
from monitor.reports.playbook import load_playbook
from monitor.reports.review import make_review

Format = Literal["html", "pdf", "docx", "md", "json"]

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
    format: Annotated[Format, Query()] = "html",
) -> Response:
    playbook = _playbook(settings)
    return _document("brief", event_id, format, lambda: make_brief(
        session, event_id=event_id, format=format, now=clock.now(), zone=ZoneInfo(settings.default_timezone),
        levels=request.app.state.levels, playbook=playbook, public_url=settings.public_url,
        font_file=settings.report_font, llm=endpoint_from(settings)))


@router.get(
    "/events/{event_id}/review", response_class=Response, responses=NOT_FOUND,
    summary="The post-incident review (复盘): timeline, times against the playbook, level verdict, lessons",
)
def event_review(
    event_id: IdPath,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    format: Annotated[Format, Query()] = "html",
) -> Response:
    playbook = _playbook(settings)
    return _document("review", event_id, format, lambda: make_review(
        session, event_id=event_id, format=format, now=clock.now(), zone=ZoneInfo(settings.default_timezone),
        labels=request.app.state.level_labels, playbook=playbook,
        find_target=timedelta(minutes=playbook.found_within_minutes), font_file=settings.report_font))


def _playbook(settings):
    try:
        # Read per request: editing playbook.yaml takes effect without a restart, and it is small.
        return load_playbook(settings.playbook_file)
    except ConfigError as error:
        raise HTTPException(503, f"the response playbook is invalid: {error}") from None


def _document(kind: str, event_id: int, format: str, make) -> Response:
    """One event document as a response: 404 for no such event, 503 when no Chinese font is
    installed (the message says how to install one)."""
    try:
        data = make()
    except FontError as error:
        raise HTTPException(503, str(error)) from None
    if data is None:
        raise HTTPException(404, f"no event {event_id}")
    disposition = "attachment" if format == "docx" else "inline"
    return Response(data, media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'{disposition}; filename="event-{event_id}-{kind}.{format}"'})


class LessonsIn(Input):
    lessons: Text = Field(min_length=1, max_length=20_000, description="What the team learned, in its own words")


@router.put("/events/{event_id}/review/lessons", responses=NOT_FOUND, summary="Write the review's lessons (operator)")
def write_lessons(event_id: IdPath, body: LessonsIn, session: SessionDep, clock: ClockDep, who: Operator) -> dict:
    if not body.lessons.strip():
        raise HTTPException(422, "lessons: write what the team learned (blank text is not a review)")
    from monitor.db.briefs import save_lessons

    review = save_lessons(session, event_id=event_id, lessons=body.lessons.strip(), by=who.name, now=clock.now())
    if review is None:
        raise HTTPException(404, f"no event {event_id}")
    session.commit()
    return {"event_id": event_id, "lessons": review.lessons, "written_by": review.written_by,
            "updated_at": review.updated_at}
