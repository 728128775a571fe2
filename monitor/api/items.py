"""Stored items, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from monitor.api.deps import SessionDep
from monitor.api.schemas import ItemOut
from monitor.db import items as item_store

router = APIRouter(prefix="/api/v1/items", tags=["items"])


@router.get("", response_model=list[ItemOut], summary="Latest items, newest first")
def list_items(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500, description="How many items")] = 50,
    outlet: Annotated[str | None, Query(description="Only this outlet's items")] = None,
):
    return item_store.latest_items(session, limit=limit, outlet_id=outlet)
