"""Duty statistics: alerts by level and day, detection and acknowledgement times against target."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from monitor.alerts.duty import duty_figures
from monitor.api.deps import ClockDep, SessionDep, SettingsDep, bad_parameter, require
from monitor.api.schemas import AUTH_ERRORS, QueryTime
from monitor.db import alerts as alert_store

router = APIRouter(prefix="/api/v1/stats", tags=["stats"], dependencies=[require("viewer")], responses=AUTH_ERRORS)


@router.get("", summary="Duty figures for a period (default: the last 7 days)")
def stats(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    start: Annotated[QueryTime | None, Query(alias="from", description="ISO 8601 with an offset; default: 7 days before `to`")] = None,
    end: Annotated[QueryTime | None, Query(alias="to", description="ISO 8601 with an offset; default: now")] = None,
) -> dict:
    now = clock.now()
    end = end or now
    start = start or end - timedelta(days=7)
    if start >= end:
        raise bad_parameter(("query", "from"), "must be before to", start.isoformat())
    alerts = alert_store.stamps_between(session, start=start, end=end)
    figures = duty_figures(
        alerts, now=now, ack_target=settings.ack_target, zone=ZoneInfo(settings.default_timezone)
    )
    return {"from": start.isoformat(), "to": end.isoformat(), **figures}
