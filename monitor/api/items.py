"""Stored items, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from monitor.api.deps import IdPath, SessionDep, require
from monitor.api.schemas import AUTH_ERRORS, NOT_FOUND, AnalysisOut, ItemDetail, ItemOut
from monitor.db import analyses as analysis_store
from monitor.db import items as item_store

router = APIRouter(prefix="/api/v1/items", tags=["items"], dependencies=[require("viewer")], responses=AUTH_ERRORS)


@router.get("", response_model=list[ItemOut], summary="Latest items, newest first")
def list_items(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500, description="How many items")] = 50,
    outlet: Annotated[str | None, Query(description="Only this outlet's items")] = None,
):
    return item_store.latest_items(session, limit=limit, outlet_id=outlet)


@router.get("/{item_id}", response_model=ItemDetail, summary="One item with its analysis (hits, tone, risk, reasons)", responses=NOT_FOUND)
def get_item(item_id: IdPath, session: SessionDep):
    item = item_store.get_item(session, item_id=item_id)
    if item is None:
        raise HTTPException(404, f"no item with id {item_id}")
    analysis = analysis_store.analysis_of(session, item_id=item_id)
    return ItemDetail(
        **ItemOut.model_validate(item).model_dump(),
        analysis=AnalysisOut.model_validate(analysis) if analysis else None,
    )
