"""Outlet health: what the duty team checks when a source goes quiet."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from monitor.api.deps import ClockDep, SessionDep, SettingsDep, require
from monitor.api.schemas import AUTH_ERRORS, NOT_FOUND, OutletOut
from monitor.db import outlets as outlet_store

router = APIRouter(prefix="/api/v1/outlets", tags=["outlets"], dependencies=[require("viewer")], responses=AUTH_ERRORS)


@router.get("", response_model=list[OutletOut], summary="All outlets with their fetch health")
def list_outlets(session: SessionDep, clock: ClockDep, settings: SettingsDep):
    return outlet_store.outlet_health(
        session, now=clock.now(), unhealthy_after=settings.unhealthy_after_errors
    )


@router.get("/{outlet_id}", response_model=OutletOut, summary="One outlet's fetch health", responses=NOT_FOUND)
def get_outlet(outlet_id: str, session: SessionDep, clock: ClockDep, settings: SettingsDep):
    found = outlet_store.outlet_health(
        session, now=clock.now(), unhealthy_after=settings.unhealthy_after_errors, only=outlet_id
    )
    if not found:
        raise HTTPException(404, f"no outlet with id {outlet_id!r}")
    return found[0]
