"""API response models: separate from the ORM tables (STYLE item 9), so the wire format is ours."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    status: str  # ready | not_ready
    database: str
    scheduler: str  # alive | stalled | not_running | not_part_of_this_process
    last_sweep_at: datetime | None


class OutletOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    kind: str
    tier: str
    region: str
    url: str
    enabled: bool
    healthy: bool
    last_status: str | None
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    next_fetch_at: datetime | None
    error_count: int
    interval_seconds: int
    encoding: str | None
    items_24h: int


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    outlet_id: str
    url: str
    canonical_url: str
    title: str
    text: str
    author: str | None
    language: str
    published_at: datetime | None
    first_seen_at: datetime


class AnalysisOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    library_version: str
    model: str
    risk: int
    negative_prob: float
    item_negative_prob: float
    keyword_strength: float
    hits: list[dict]
    reasons: list[dict]
    analysed_at: datetime


class ItemDetail(ItemOut):
    analysis: AnalysisOut | None


class LibraryOut(BaseModel):
    version: str
    folder: str
    groups: list[dict]
    rules: list[dict]
    last_problems: list[str]


class ReloadOut(BaseModel):
    loaded: bool
    changed: bool
    version: str  # the version in service after the call
    problems: list[str]
