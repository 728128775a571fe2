"""The live keyword library: its version and contents, and a reload that never breaks it."""

from __future__ import annotations

import threading

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from monitor.api.deps import Admin, SettingsDep, Viewer, require
from monitor.api.schemas import AUTH_ERRORS, ErrorOut, Input, LibraryOut, ReloadOut, Text

router = APIRouter(prefix="/api/v1/keywords", tags=["keywords"], dependencies=[require("viewer")], responses=AUTH_ERRORS)


def _holder(request: Request):
    holder = request.app.state.library
    if holder is None:
        raise HTTPException(503, "this process does not run the analysis stage")
    return holder


@router.get("", response_model=LibraryOut, summary="Version, groups and rules of the live library", responses={503: {"model": ErrorOut, "description": "No analysis stage in this process"}})
def get_library(request: Request, caller: Viewer):
    holder = _holder(request)
    # An API-only process analyses nothing, so nothing else re-reads its library: look now (a
    # stat of the files unless they changed), so that a rejected change shows here too.
    holder.reload_if_changed()
    library = holder.library
    admin = caller.role == "admin"
    return LibraryOut(
        version=library.version,
        folder=str(holder.folder) if admin else None,  # the server's layout is not a viewer's business
        groups=[
            {"id": g.id, "name": g.name, "sensitivity": g.sensitivity, "subject": g.subject,
             "terms": list(g.terms)}
            for g in library.groups.values()
        ],
        rules=[
            {"id": r.id, "group": r.group, "expression": r.expression, "weight": r.weight,
             "description": r.description, "source": r.source}
            for r in library.rules.values()
        ],
        last_problems=holder.last_problems if admin else holder.problems_without_paths(),
        problems_since=holder.rejected_at,
    )


@router.post(
    "/reload",
    response_model=ReloadOut,
    summary="Re-read the library from disk; a broken one is refused and the live one kept",
    responses={422: {"model": ReloadOut, "description": "The library on disk is broken; the live one stays"}, 503: {"model": ErrorOut, "description": "No analysis stage in this process"}},
)
def reload_library(request: Request, _admin: Admin):
    result = _holder(request).reload()
    body = ReloadOut(
        loaded=not result.problems, changed=result.changed, version=result.version,
        problems=result.problems,
    )
    return JSONResponse(body.model_dump(), status_code=422 if result.problems else 200)


class TryIn(Input):
    title: Text = Field("", max_length=1000)
    text: Text = Field(min_length=1, max_length=50_000)


_model_lock = threading.Lock()


def _model(request: Request, name: str):
    """The sentiment model, loaded on first use: an API-only process may never need it."""
    with _model_lock:
        if getattr(request.app.state, "sentiment_model", None) is None:
            from monitor.analyze.sentiment import load_model

            request.app.state.sentiment_model = load_model(name)
        return request.app.state.sentiment_model


@router.post("/try", summary="Score a text against the live library: hits, tone, risk and why",
             responses={503: {"model": ErrorOut, "description": "No analysis stage in this process"}})
def try_text(body: TryIn, request: Request, settings: SettingsDep) -> dict:
    from monitor.analyze.score import score_item

    library = _holder(request).library
    score = score_item(body.title, body.text, library, _model(request, settings.sentiment_model))
    return {
        "library_version": score.library_version, "model": score.model,
        "hits": score.hits_as_json(), "negative_prob": round(score.negative_probability, 3),
        "item_negative_prob": round(score.item_negative_probability, 3), "risk": score.risk,
        "reasons": score.reasons_as_json(),
    }
