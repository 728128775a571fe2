"""Rows made directly: an event, an alert (with the escalation that raised it), a delivery, in
the state a test needs, without replaying a story through the pipeline (about 2 s a test).

Each returns the flushed row (its id set); the caller's transaction commits. Times default to one
fixed instant so pages and orders are predictable; pass any column to set it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from monitor.db.models import Alert, Delivery, Escalation, Event

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def add_event(session: Session, *, title: str = "某水务公司连续三天停水", level: str | None = "blue",
              at: datetime = T0, **columns) -> Event:
    event = Event(**{
        "title": title, "level": level, "status": "open", "first_item_id": 1, "first_outlet_id": "forum-a",
        "first_at": at, "opened_at": at, "last_item_at": at, "closed_at": None, "item_count": 1,
        "metrics": {}, "updated_at": at, **columns,
    })
    session.add(event)
    session.flush()
    return event


def add_alert(session: Session, *, event: Event | None = None, level: str = "blue", status: str = "new",
              at: datetime = T0, **columns) -> Alert:
    """An alert at `level` for `event` (a new one if not given), raised by an automatic escalation."""
    event = event or add_event(session, level=level, at=at)
    escalation = Escalation(event_id=event.id, at=at, kind="escalate", from_level=None, to_level=level,
                            actor="auto", reason="test", reasons=[], metrics={})
    session.add(escalation)
    session.flush()
    alert = Alert(**{
        "event_id": event.id, "escalation_id": escalation.id, "level": level, "title": event.title,
        "reason": "test", "status": status, "assignee": None, "outcome": None,
        "published_at": at - timedelta(minutes=10), "fetched_at": at - timedelta(minutes=5),
        "analysed_at": at - timedelta(minutes=1), "alerted_at": at, "pushed_at": None,
        "acknowledged_at": None, "resolved_at": None, **columns,
    })
    session.add(alert)
    session.flush()
    return alert


def add_delivery(session: Session, *, alert: Alert | None, channel: str = "duty", kind: str = "fire",
                 status: str = "pending", at: datetime = T0, **columns) -> Delivery:
    delivery = Delivery(**{
        "alert_id": alert.id if alert else None, "payload": None, "channel": channel, "kind": kind,
        "idempotency_key": f"{kind}:{alert.id if alert else 'none'}:{channel}:{at.isoformat()}",
        "status": status, "attempts": 0, "next_attempt_at": at, "lease_until": None, "created_at": at,
        "sent_at": None, "last_error": None, **columns,
    })
    session.add(delivery)
    session.flush()
    return delivery
