"""The outbox: every message to a chat channel, from the moment it is queued to its last attempt.

One home for the mechanism, so every producer queues the same way and the delivery worker
claims and records the same way:

- `enqueue` — the only insert. Producers (an alert raised with its escalation, a repeat push,
  a duty follow-up, a digest, a report announcement, a shift handover) call it in their own
  transaction, so a message exists if and only if what it announces was stored. The idempotency
  key makes it safe to call twice: the second call queues nothing. Two workers racing on the
  same key meet the unique constraint (IntegrityError) at commit; the caller decides.
- `claim` — due deliveries leased to one worker (`sending`, `lease_until`); a lease that ran
  out (a dead worker's) is claimed again, and the message goes out again with the same key.
- `record` — one attempt: `sent`, `failed` (retrying cannot help) or `pending` again after an
  exponential backoff (never dropped, at least the receiver's Retry-After).
- the rest keeps the states in one place: `defer`, `cancel_for_alert`, `held_by_channel` and
  `mark_batched` for digests, `requests_since` for per-minute limits, `delivery_log`.

States: pending → sending → sent | failed | pending (retry); held → batched (carried by a
digest); pending/held → cancelled (the alert was marked as noise).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from monitor.db.models import Alert, Delivery, DeliveryAttempt
from monitor.states import ALERT_PUSH, DeliveryStatus

FIRST_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=30)


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to a worker; `alert_id` is None for a notice (its text is the payload)."""

    id: int
    channel: str
    key: str
    alert_id: int | None
    kind: str
    level: str | None  # the alert's level, for sending the most severe first


@dataclass(frozen=True)
class Recorded:
    """What an attempt left behind, for the worker's log line."""

    channel: str
    status: str
    attempts: int
    next_attempt_at: datetime


def enqueue(
    session: Session,
    *,
    key: str,
    channel: str,
    kind: str,
    now: datetime,
    alert_id: int | None = None,
    payload: dict | None = None,
    hold: bool = False,
) -> bool:
    """Queue one message in the caller's transaction, unless its key is queued already. With
    hold, it waits as `held` until a digest carries it. Returns whether it was queued."""
    if session.scalar(select(Delivery.id).where(Delivery.idempotency_key == key)) is not None:
        return False
    session.add(Delivery(
        alert_id=alert_id, payload=payload, channel=channel, kind=kind, idempotency_key=key,
        status=DeliveryStatus.held if hold else DeliveryStatus.pending, attempts=0, next_attempt_at=now, created_at=now,
    ))
    return True


def told_channels(session: Session, *, alert_id: int) -> list[str]:
    """The channels that were (or are about to be) told of an alert: its fire and repeat pushes,
    except cancelled ones and held ones (the channel has not been told yet)."""
    return list(session.scalars(
        select(Delivery.channel).where(
            Delivery.alert_id == alert_id, Delivery.kind.in_(ALERT_PUSH),
            Delivery.status.not_in((DeliveryStatus.cancelled, DeliveryStatus.held)),
        ).distinct()
    ))


def cancel_for_alert(session: Session, *, alert_id: int, reason: str) -> None:
    """What still waits for an alert is not sent (a false alarm)."""
    for delivery in session.scalars(
        select(Delivery).where(Delivery.alert_id == alert_id, Delivery.status.in_((DeliveryStatus.pending, DeliveryStatus.held)))
    ):
        delivery.status, delivery.last_error = DeliveryStatus.cancelled, reason


def held_by_channel(session: Session) -> dict[str, list[Delivery]]:
    """Held pushes per channel, oldest first, locked against a second worker's digest."""
    held = session.scalars(
        select(Delivery).where(Delivery.status == DeliveryStatus.held).order_by(Delivery.channel, Delivery.id)
        .with_for_update(skip_locked=True)
    )
    by_channel: dict[str, list[Delivery]] = {}
    for delivery in held:
        by_channel.setdefault(delivery.channel, []).append(delivery)
    return by_channel


def mark_batched(deliveries: list[Delivery]) -> None:
    """Held pushes carried by a digest: in the digest's transaction, so none is lost or repeated."""
    for delivery in deliveries:
        delivery.status, delivery.sent_at = DeliveryStatus.batched, None


def claim(session: Session, *, now: datetime, lease: timedelta, limit: int = 50) -> list[Claimed]:
    """Due deliveries (and those whose worker's lease ran out), leased until now + lease, in due
    order. Rows another worker holds are skipped, not waited for."""
    query = (
        select(Delivery)
        .where(or_(
            (Delivery.status == DeliveryStatus.pending) & (Delivery.next_attempt_at <= now),
            (Delivery.status == DeliveryStatus.sending) & (Delivery.lease_until < now),  # a dead worker's
        ))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    leased = []
    for delivery in session.scalars(query):
        delivery.status, delivery.lease_until = DeliveryStatus.sending, now + lease
        leased.append(delivery)
    ids = [d.alert_id for d in leased if d.alert_id is not None]
    levels = {i: level for i, level in session.execute(select(Alert.id, Alert.level).where(Alert.id.in_(ids)))}
    return [Claimed(d.id, d.channel, d.idempotency_key, d.alert_id, d.kind, levels.get(d.alert_id)) for d in leased]


def payload_of(session: Session, *, delivery_id: int) -> dict:
    return dict(session.get(Delivery, delivery_id).payload)


def defer(session: Session, *, delivery_id: int, until: datetime) -> None:
    """Back to the queue, not sent and not counted as an attempt (a rate limit's turn)."""
    delivery = session.get(Delivery, delivery_id)
    delivery.status, delivery.lease_until, delivery.next_attempt_at = DeliveryStatus.pending, None, until


def requests_since(session: Session, *, channels: list[str], since: datetime) -> list[tuple[datetime, int]]:
    """(time, HTTP requests) of every attempt to these channels after `since`, oldest first."""
    return [tuple(row) for row in session.execute(
        select(DeliveryAttempt.at, DeliveryAttempt.requests)
        .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
        .where(Delivery.channel.in_(channels), DeliveryAttempt.at > since)
        .order_by(DeliveryAttempt.at)
    )]


def record(
    session: Session,
    *,
    delivery_id: int,
    now: datetime,
    ok: bool,
    retryable: bool = True,
    http_status: int | None = None,
    vendor_code: int | str | None = None,
    error: str | None = None,
    requests: int = 1,
    retry_after: timedelta | None = None,
) -> Recorded:
    """One attempt and its outcome. Sent: the alert's first push time is stamped. Not retryable:
    failed with the vendor's words. Otherwise pending again after a jittered exponential backoff
    (at most MAX_BACKOFF, at least the receiver's Retry-After)."""
    delivery = session.get(Delivery, delivery_id)
    delivery.attempts += 1
    session.add(DeliveryAttempt(
        delivery_id=delivery_id, at=now, http_status=http_status, vendor_code=vendor_code, ok=ok,
        error=error, requests=requests,
    ))
    if ok:
        delivery.status, delivery.sent_at, delivery.lease_until, delivery.last_error = DeliveryStatus.sent, now, None, None
        if delivery.alert_id is not None:
            session.execute(
                update(Alert).where(Alert.id == delivery.alert_id, Alert.pushed_at.is_(None)).values(pushed_at=now)
            )
    elif not retryable:
        delivery.status, delivery.lease_until, delivery.last_error = DeliveryStatus.failed, None, error
    else:
        backoff = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** min(delivery.attempts - 1, 12))
        backoff *= random.uniform(0.8, 1.2)
        if retry_after is not None:
            backoff = max(backoff, retry_after)
        delivery.status, delivery.lease_until = DeliveryStatus.pending, None
        delivery.next_attempt_at, delivery.last_error = now + backoff, error
    return Recorded(delivery.channel, delivery.status, delivery.attempts, delivery.next_attempt_at)


def delivery_log(session: Session, *, alert_id: int | None = None, status: str | None = None, limit: int = 200):
    """Deliveries with their attempts, newest first."""
    query = select(Delivery).order_by(Delivery.id.desc()).limit(limit)
    if alert_id is not None:
        query = query.where(Delivery.alert_id == alert_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    found = list(session.scalars(query))
    attempts: dict[int, list[DeliveryAttempt]] = {}
    if found:
        for attempt in session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_([d.id for d in found]))
            .order_by(DeliveryAttempt.id)
        ):
            attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return [(delivery, attempts.get(delivery.id, [])) for delivery in found]
