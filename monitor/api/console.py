"""The duty console: one page at / over the API (monitor/api/static: HTML, CSS and plain
JavaScript committed as they are served — nothing to build, nothing fetched from the internet),
/api/v1/me, which the page asks to check a token at sign-in, and /api/v1/display: the deployment's
display zone (FENGHUO_DEFAULT_TIMEZONE), so the page shows times as the reports and the CLI do
rather than in whatever zone the browser's machine is set to."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from monitor.api.deps import ClockDep, SettingsDep, Viewer
from monitor.api.schemas import AUTH_ERRORS
from monitor.reports.figures import Week

STATIC = Path(__file__).parent / "static"

router = APIRouter()
# The page runs only its own script and talks only to this server: a title crafted to inject
# markup could not load or send anything even if it got through (values are set as text anyway).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
files = StaticFiles(directory=STATIC)


@router.get("/", include_in_schema=False)
def console() -> FileResponse:
    # The page holds no data: it signs in with a token and reads everything through the API.
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache", "Content-Security-Policy": CSP})


@router.get("/api/v1/me", tags=["auth"], summary="Who this token is: name and role", responses=AUTH_ERRORS)
def me(who: Viewer) -> dict:
    return {"name": who.name, "role": who.role}


@router.get("/api/v1/display", tags=["auth"], responses=AUTH_ERRORS,
            summary="How this deployment shows times: its zone, the server's now, this week and last week")
def display(_: Viewer, settings: SettingsDep, clock: ClockDep) -> dict:
    # Weeks from the server's clock and zone, not the browser's: "this week's report" is the week
    # the server would make, wherever the person reading sits.
    zone = ZoneInfo(settings.default_timezone)
    now = clock.now()
    this_week = Week.containing(now, zone)
    weeks = {}
    for key, week in (("this_week", this_week), ("last_week", this_week.previous())):
        start, end = week.bounds(zone)
        weeks[key] = {"week": str(week), "start": start.isoformat(), "end": end.isoformat()}
    return {"timezone": settings.default_timezone, "now": now.astimezone(zone).isoformat(), **weeks}
