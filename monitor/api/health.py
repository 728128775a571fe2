"""/healthz (the process answers), /readyz (it can do its job), /metrics (Prometheus).

/healthz answers anyone. /readyz and /metrics say more (which part is down, how much is fetched
and alerted, the outlets in flight), so by default only this machine or a token holder reads
them: FENGHUO_METRICS_ACCESS = loopback (default) | token | public.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

import monitor
import monitor.metrics  # noqa: F401  (registers our metrics with the default registry)
from monitor.api.deps import ClockDep, SessionDep
from monitor.api.schemas import ErrorOut, Health, Readiness
from monitor.db.events import backlog_ages
from monitor.db.models import Outlet
from monitor.db.search import backlog_age as search_backlog_age
from monitor.db.tokens import find_token

router = APIRouter(tags=["health"])


def _from_loopback(request: Request) -> bool:
    # request.client is the peer, or what uvicorn took from X-Forwarded-For when the peer is a
    # trusted proxy (uvicorn trusts 127.0.0.1 by default): a proxy on this machine that does not
    # set the header makes every client look local (README, Security).
    if request.client is None:
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:  # not an address (a test client's name, a Unix socket path)
        return False


def _holds_token(request: Request) -> bool:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return False
    try:
        with request.app.state.sessions() as session:
            return find_token(session, token=credentials.strip()) is not None
    except SQLAlchemyError:
        raise HTTPException(503, "the API token cannot be checked: the database is unreachable") from None


def operators_only(request: Request) -> None:
    """Admit a caller to /readyz and /metrics as FENGHUO_METRICS_ACCESS says."""
    access = request.app.state.settings.metrics_access
    if access == "public" or (access == "loopback" and _from_loopback(request)) or _holds_token(request):
        return
    where = "from this machine or " if access == "loopback" else ""
    raise HTTPException(
        401, f"{request.url.path} answers only {where}with an API token (FENGHUO_METRICS_ACCESS={access}): "
        "send 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"},
    )


_REFUSED = {401: {"model": ErrorOut, "description": "Not from this machine and no valid API token (FENGHUO_METRICS_ACCESS)"}}


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
def healthz() -> Health:
    return Health(status="ok", version=monitor.__version__)


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: database reachable and, where it runs here, the scheduler sweeping",
    responses={503: {"model": Readiness}} | _REFUSED,
    dependencies=[Depends(operators_only)],
)
def readyz(request: Request, session: SessionDep, clock: ClockDep):
    try:
        session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as error:  # the point is to report it, whatever it is
        database = f"unreachable: {type(error).__name__}"
    fetch_lag = _fetch_lag(session, clock.now()) if database == "ok" else None
    analysis_lag, grouping_lag = _backlog(session, clock.now()) if database == "ok" else (None, None)
    search_lag = _search_backlog(session, clock.now()) if database == "ok" else None
    stuck = [f"{stage} has not caught up for {int(lag)} s (items wait; see the worker's log)"
             for stage, lag in (("scoring", analysis_lag), ("grouping and grading", grouping_lag))
             if lag is not None and lag > BACKLOG_DEGRADED.total_seconds()]
    if search_lag is not None and search_lag > BACKLOG_DEGRADED.total_seconds():
        stuck.append(f"search indexing has not caught up for {int(search_lag)} s (searches still find "
                     "the queued items, more slowly; is a worker running?)")
    heartbeat = request.app.state.heartbeat
    scheduler = heartbeat.state(clock.now()) if heartbeat else "not_part_of_this_process"
    ready = database == "ok" and scheduler in ("alive", "not_part_of_this_process")
    # A rejected keyword-library change: the service works on, with the last good library, so it
    # stays in rotation (200) - taking it out would hide the console that shows the problem - but
    # it is "degraded", with the reasons, until the files on disk load again.
    library = request.app.state.library
    if library is not None:
        library.reload_if_changed()  # an API-only process has no analysis loop that re-reads it
    problems = (library.problems_without_paths() if library is not None else []) + stuck
    status = "not_ready" if not ready else "degraded" if problems else "ready"
    body = Readiness(
        status=status, database=database, scheduler=scheduler,
        last_sweep_at=heartbeat.last_sweep_at if heartbeat else None, fetch_lag_seconds=fetch_lag,
        analysis_lag_seconds=analysis_lag, grouping_lag_seconds=grouping_lag, search_lag_seconds=search_lag,
        problems=problems, problems_since=library.rejected_at if library is not None else None,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


# A stored item is normally scored and grouped within seconds (BENCHMARKS: 0.2 s to the push at
# p95); five minutes of waiting means a stage is failing or far behind. Degraded keeps the process
# in rotation (the API works) while saying so, as for a rejected library.
BACKLOG_DEGRADED = timedelta(minutes=5)
BACKLOG_WINDOW = timedelta(hours=1)


def _backlog(session, now) -> tuple[float | None, float | None]:
    try:
        return backlog_ages(session, now=now, window=BACKLOG_WINDOW)
    except SQLAlchemyError:  # readiness reports; it does not fail on a figure
        return None, None


def _search_backlog(session, now) -> float | None:
    try:
        return search_backlog_age(session, now=now)
    except SQLAlchemyError:
        return None


def _fetch_lag(session, now) -> float | None:
    try:
        oldest = session.scalar(
            select(func.min(Outlet.next_fetch_at)).where(Outlet.enabled.is_(True), Outlet.next_fetch_at <= now)
        )
    except Exception:  # readiness reports; it does not fail on a figure
        return None
    return round((now - oldest).total_seconds(), 3) if oldest is not None else 0.0


@router.get("/metrics", summary="Prometheus metrics", response_class=Response, responses=_REFUSED,
            dependencies=[Depends(operators_only)])
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
