"""Outlet store: the config mirror, claiming due outlets, and recording how a fetch went.

Store functions never commit: the caller owns the transaction (``with sessions.begin() as s:``),
so several can be combined into one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from monitor.config import OutletConfig
from monitor.db.models import Item, Outlet


@dataclass(frozen=True)
class DueOutlet:
    """What a fetch needs to know about an outlet, detached from the session."""

    config: OutletConfig
    etag: str | None
    last_modified: str | None
    interval: timedelta
    error_count: int
    scheduled_for: datetime | None = None  # the next_fetch_at it was claimed at

    @property
    def id(self) -> str:
        return self.config.id


@dataclass(frozen=True)
class SyncSummary:
    added: list[str]
    updated: list[str]
    disabled: list[str]


def sync_outlets(session: Session, *, configs: list[OutletConfig], now: datetime) -> SyncSummary:
    """Mirror outlets.yaml into the table. Outlets gone from the file are disabled, not deleted:
    their items and history stay."""
    existing = {outlet.id: outlet for outlet in session.scalars(select(Outlet))}
    added, updated = [], []
    for config in configs:
        data = config.model_dump(mode="json")
        outlet = existing.pop(config.id, None)
        if outlet is None:
            session.add(
                Outlet(
                    id=config.id, name=config.name, kind=config.kind.value, url=str(config.url),
                    tier=config.tier.value, region=config.region, enabled=config.enabled,
                    config=data, interval_seconds=int(config.interval.total_seconds()),
                    next_fetch_at=now, error_count=0,
                )
            )
            added.append(config.id)
            continue
        if outlet.config != data or outlet.enabled != config.enabled:
            if str(config.url) != outlet.url:  # validators of the old URL mean nothing now
                outlet.etag = outlet.last_modified = None
            outlet.name, outlet.kind, outlet.url = config.name, config.kind.value, str(config.url)
            outlet.tier, outlet.region, outlet.enabled = config.tier.value, config.region, config.enabled
            outlet.config = data
            outlet.interval_seconds = int(config.interval.total_seconds())
            updated.append(config.id)
    disabled = []
    for outlet in existing.values():
        if outlet.enabled:
            outlet.enabled = False
            disabled.append(outlet.id)
    return SyncSummary(added, updated, disabled)


def claim_due_outlets(
    session: Session,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    only: list[str] | None = None,
    ignore_schedule: bool = False,
) -> list[DueOutlet]:
    """Take up to `limit` due outlets and push their next_fetch_at out by `lease`, so a crash
    mid-fetch retries after the lease and nobody else takes them meanwhile. On PostgreSQL the
    rows are locked with SKIP LOCKED so concurrent claimers divide the work."""
    query = select(Outlet).where(Outlet.enabled.is_(True))
    if not ignore_schedule:
        query = query.where(or_(Outlet.next_fetch_at.is_(None), Outlet.next_fetch_at <= now))
    if only is not None:
        query = query.where(Outlet.id.in_(only))
    query = query.order_by(Outlet.next_fetch_at).limit(limit).with_for_update(skip_locked=True)
    claimed = []
    for outlet in session.scalars(query):
        scheduled_for = outlet.next_fetch_at
        claimed.append(
            DueOutlet(
                config=OutletConfig.model_validate(outlet.config),
                etag=outlet.etag,
                last_modified=outlet.last_modified,
                interval=timedelta(seconds=outlet.interval_seconds),
                error_count=outlet.error_count,
                scheduled_for=scheduled_for,
            )
        )
        outlet.next_fetch_at = now + lease
    return claimed


@dataclass(frozen=True)
class FetchRecord:
    """How one outlet fetch went, as the outlet table remembers it."""

    status: str  # an OutcomeKind value, or parse_error
    http_status: int | None
    error: str | None
    encoding: str | None
    etag: str | None
    last_modified: str | None
    interval: timedelta
    next_fetch_at: datetime


def record_fetch(session: Session, *, outlet_id: str, record: FetchRecord, now: datetime) -> None:
    values: dict = dict(
        last_fetch_at=now,
        last_status=record.status,
        last_http_status=record.http_status,
        interval_seconds=int(record.interval.total_seconds()),
        next_fetch_at=record.next_fetch_at,
    )
    if record.error is None:
        values.update(last_success_at=now, error_count=0)
        if record.encoding:
            values["last_encoding"] = record.encoding
        if record.etag is not None or record.last_modified is not None:
            values.update(etag=record.etag, last_modified=record.last_modified)
    else:
        values.update(
            last_error=record.error, last_error_at=now, error_count=Outlet.error_count + 1
        )
    session.execute(update(Outlet).where(Outlet.id == outlet_id).values(**values))


def recent_item_count(session: Session, *, outlet_id: str, since: datetime) -> int:
    published = func.coalesce(Item.published_at, Item.first_seen_at)
    query = select(func.count()).where(Item.outlet_id == outlet_id, published >= since)
    return session.scalar(query) or 0


@dataclass(frozen=True)
class OutletHealth:
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


def outlet_health(
    session: Session, *, now: datetime, unhealthy_after: int, only: str | None = None
) -> list[OutletHealth]:
    recent = select(Item.outlet_id, func.count()).where(Item.first_seen_at >= now - timedelta(hours=24))
    outlets = select(Outlet).order_by(Outlet.id)
    if only is not None:  # one outlet: count its items only, not every outlet's
        recent = recent.where(Item.outlet_id == only)
        outlets = outlets.where(Outlet.id == only)
    counts = dict(session.execute(recent.group_by(Item.outlet_id)).all())
    return [
        OutletHealth(
            id=o.id, name=o.name, kind=o.kind, tier=o.tier, region=o.region, url=o.url,
            enabled=o.enabled, healthy=o.error_count < unhealthy_after,
            last_status=o.last_status, last_error=o.last_error, last_error_at=o.last_error_at,
            last_success_at=o.last_success_at, next_fetch_at=o.next_fetch_at,
            error_count=o.error_count, interval_seconds=o.interval_seconds,
            encoding=o.last_encoding, items_24h=counts.get(o.id, 0),
        )
        for o in session.scalars(outlets)
    ]
