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
files = StaticFiles(directory=STATIC)


@router.get("/", include_in_schema=False)
def console() -> FileResponse:
    # The page holds no data: it signs in with a token and reads everything through the API.
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/api/v1/me", tags=["auth"], summary="Who this token is: name and role", responses=AUTH_ERRORS)
def me(who: Viewer) -> dict:
    return {"name": who.name, "role": who.role}
