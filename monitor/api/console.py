"""The duty console: one page at / over the API (monitor/api/static: HTML, CSS and plain
JavaScript committed as they are served — nothing to build, nothing fetched from the internet),
and /api/v1/me, which the page asks to check a token at sign-in."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from monitor.api.deps import Viewer
from monitor.api.schemas import AUTH_ERRORS

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
