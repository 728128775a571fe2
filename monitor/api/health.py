"""/healthz (the process answers), /readyz (it can do its job), /metrics (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

import monitor
import monitor.metrics  # noqa: F401  (registers our metrics with the default registry)
from monitor.api.deps import ClockDep, SessionDep
from monitor.api.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
def healthz() -> Health:
    return Health(status="ok", version=monitor.__version__)


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: database reachable and, where it runs here, the scheduler sweeping",
    responses={503: {"model": Readiness}},
)
def readyz(request: Request, session: SessionDep, clock: ClockDep):
    try:
        session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as error:  # the point is to report it, whatever it is
        database = f"unreachable: {type(error).__name__}"
    heartbeat = request.app.state.heartbeat
    scheduler = heartbeat.state(clock.now()) if heartbeat else "not_part_of_this_process"
    ready = database == "ok" and scheduler in ("alive", "not_part_of_this_process")
    # A rejected keyword-library change: the service works on, with the last good library, so it
    # stays in rotation (200) - taking it out would hide the console that shows the problem - but
    # it is "degraded", with the reasons, until the files on disk load again.
    library = request.app.state.library
    if library is not None:
        library.reload_if_changed()  # an API-only process has no analysis loop that re-reads it
    problems = library.problems_without_paths() if library is not None else []
    status = "not_ready" if not ready else "degraded" if problems else "ready"
    body = Readiness(
        status=status, database=database, scheduler=scheduler,
        last_sweep_at=heartbeat.last_sweep_at if heartbeat else None,
        problems=problems, problems_since=library.rejected_at if library is not None else None,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
