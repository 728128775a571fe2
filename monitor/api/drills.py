"""Drills (应急演练) over the API: start one (admin), read how it went, clear them all (admin).
The deployment plays the drill (monitor/drill); these routes store its story and read its report.
One method per path (start and clear are registered before /{drill_id}), so each path's Allow
header lists exactly its methods."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import Field

from monitor.api.deps import Admin, ClockDep, SessionDep, bad_parameter, require
from monitor.api.schemas import AUTH_ERRORS, NOT_FOUND, Input, Text
from monitor.config import ConfigError
from monitor.db import drills as drill_store
from monitor.drill import drill_report, load_story, start_drill
from monitor.drill.play import story_of
from monitor.stages.replay import TimelineItem

router = APIRouter(prefix="/api/v1/drills", tags=["drills"], dependencies=[require("viewer")], responses=AUTH_ERRORS)


DrillId = Annotated[int, Path(ge=1, le=2**31 - 1, description="A drill's id")]


class DrillItemIn(Input):
    at: float = Field(ge=0, le=10_080, description="Minutes from the story's start")
    outlet: str = Field(min_length=1, max_length=40, description="A tier (forum, social, local_media, central_media…), "
                        "with a suffix when the tier has several outlets (local_media-2)")
    title: Text = Field(min_length=1, max_length=500)
    text: Text = Field(min_length=1, max_length=20_000)


class DrillIn(Input):
    level: Literal["orange", "red"] = "red"
    story: Annotated[list[DrillItemIn] | None, Field(max_length=200, description="The story; default: the built-in one for the level")] = None


@router.post("/start", status_code=202, summary="Start a drill (admin): a marked story played by the deployment")
def start(body: DrillIn, request: Request, clock: ClockDep, who: Admin) -> dict:
    try:
        if body.story:
            story = story_of("API story", [TimelineItem(**item.model_dump()) for item in body.story])
        else:
            story = load_story(body.level)
    except ConfigError as error:
        raise bad_parameter(("body", "story"), str(error)) from None
    drill_id = start_drill(request.app.state.sessions, story=story, level=body.level, started_by=who.name, now=clock.now())
    return {"drill": drill_id, "level": body.level, "items": len(story.items),
            "report": f"/api/v1/drills/{drill_id}"}


@router.post("/clear", summary="Remove every drill's items, events, alerts, pushes and runs (admin)")
def clear(session: SessionDep, who: Admin) -> dict:
    cleared = drill_store.clear(session)
    session.commit()
    return cleared


@router.get("", summary="The drills played so far, latest first")
def list_drills(session: SessionDep) -> list[dict]:
    return [{"drill": d.id, "level": d.level, "story": d.story, "started_by": d.started_by,
             "started_at": d.started_at.isoformat(), "items": d.items} for d in drill_store.latest(session)]


@router.get("/{drill_id:int}", responses=NOT_FOUND,
            summary="How a drill went: each step's time, who acknowledged, which channel failed")
def report(drill_id: DrillId, session: SessionDep, clock: ClockDep) -> dict:
    found = drill_report(session, drill_id=drill_id, now=clock.now())
    if found is None:
        raise HTTPException(404, f"no drill {drill_id}")
    return found
