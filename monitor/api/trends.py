"""Volume trends (趋势监测): GET /api/v1/trends — hourly volume per keyword group or tier with its
baseline band and the hours that broke above it (the model: monitor/analyze/trends.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from monitor.analyze.trends import HOUR, TrendModel, hour_of, series
from monitor.api.deps import ClockDep, SessionDep, SettingsDep, require
from monitor.api.schemas import AUTH_ERRORS, QueryTime
from monitor.db.trends import event_group_ids, hourly_counts, recent_anomalies

router = APIRouter(prefix="/api/v1/trends", tags=["trends"], dependencies=[require("viewer")], responses=AUTH_ERRORS)


class HourOut(BaseModel):
    hour: datetime = Field(description="the hour's start")
    count: int
    expected: float = Field(description="median of the matching past hours")
    upper: float = Field(description="expected + z × spread: above it (and ≥ min_count) is an anomaly")
    anomaly: bool


class SeriesOut(BaseModel):
    key: str = Field(description="the keyword group or tier")
    hours: list[HourOut]
    anomalies: int


class TrendsOut(BaseModel):
    by: str
    model: dict = Field(description="weeks, days, z, min_count")
    series: list[SeriesOut]


@router.get("", response_model=TrendsOut, summary="Hourly volume per keyword group or tier, with its baseline band and anomalies")
def trends(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    by: Annotated[Literal["group", "tier"], Query()] = "group",
    hours: Annotated[int, Query(ge=1, le=24 * 14, description="how many hours back, the current one included")] = 48,
    until: Annotated[QueryTime | None, Query(description="the end of the window (default: now; with an offset)")] = None,
    min_count: Annotated[int, Query(ge=1, description="no anomaly below this many items in the hour")] = 10,
    z: Annotated[float, Query(gt=0, description="how many spreads above expected")] = 4.0,
    event: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="only the keyword groups this event's items hit (by=group)")] = None,
):
    model = TrendModel(z=z, min_count=min_count)
    end = hour_of(until or clock.now()) + HOUR
    start = end - hours * HOUR
    counts = hourly_counts(session, start=start - model.history - timedelta(days=model.days), end=end, by=by)
    zone = ZoneInfo(settings.default_timezone)
    keys = sorted(counts)
    if event is not None:
        # a group of the event with no item in the window still gets its (empty) series
        keys = event_group_ids(session, event_id=event) if by == "group" else []
    out = []
    for key in keys:
        verdicts = series(counts.get(key, {}), start, end, model, zone)
        out.append(SeriesOut(key=key, hours=[HourOut(**v.__dict__) for v in verdicts],
                             anomalies=sum(v.anomaly for v in verdicts)))
    return TrendsOut(by=by, model=dict(weeks=model.weeks, days=model.days, z=model.z, min_count=model.min_count),
                     series=out)


class AnomalyOut(BaseModel):
    by: str = Field(validation_alias="series_by")
    key: str = Field(validation_alias="series_key", description="the keyword group")
    started_at: datetime = Field(description="the burst's first anomalous hour")
    last_hour: datetime = Field(description="its latest anomalous hour")
    peak_count: int = Field(description="items in its loudest hour")
    expected: float = Field(description="that hour's baseline")
    upper: float
    raised_at: datetime
    events: list[int] = Field(description="events whose history was told of it")

    model_config = {"from_attributes": True}


@router.get("/anomalies", response_model=list[AnomalyOut],
            summary="Volume anomalies (bursts) of keyword groups, one per burst, oldest first")
def anomalies(
    session: SessionDep,
    clock: ClockDep,
    days: Annotated[int, Query(ge=1, le=90, description="bursts still loud within this many days")] = 7,
    key: Annotated[str | None, Query(description="one keyword group")] = None,
):
    return recent_anomalies(session, since=clock.now() - timedelta(days=days), by="group", key=key)
