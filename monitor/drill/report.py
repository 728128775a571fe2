"""How a drill went, read from the database alone: the steps with their times (stored → analysed
→ event → alert → push delivered → acknowledged), who acknowledged, which channels failed, and
what the drill is still waiting for. Nothing of it is kept in memory, so the report is the same
from the command that started the drill, from another host, or after a kill -9 of either.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from monitor.db import drills as drill_store
from monitor.db.models import Alert, AlertAction, Delivery, Escalation, EventItem, ItemAnalysis
from monitor.events.levels import rank
from monitor.states import DeliveryKind, DutyAction

STEPS = ("fetched", "analysed", "event", "alert", "push", "acknowledged")
# what each step waits for, said in the report while the drill is under way
WAITING = {
    "analysed": "the analysis stage (is a worker running?)",
    "event": "grouping and grading (the leading worker)",
    "alert": "the event to reach the drill's level",
    "push": "the delivery worker and the chat channels",
    "acknowledged": "the duty officer to acknowledge the alert",
}


def drill_report(session: Session, *, drill_id: int, now: datetime) -> dict | None:
    drill = drill_store.get(session, drill_id=drill_id)
    if drill is None:
        return None
    items = drill_store.items_of(session, drill=drill)
    item_ids = [item.id for item in items]
    analysed = session.execute(
        select(func.count(), func.max(ItemAnalysis.analysed_at), func.sum(case((ItemAnalysis.risk > 0, 1), else_=0)))
        .where(ItemAnalysis.item_id.in_(item_ids))
    ).one() if item_ids else (0, None, 0)
    grouped = session.scalar(select(func.count()).select_from(EventItem).where(EventItem.item_id.in_(item_ids))) \
        if item_ids else 0
    events = drill_store.events_of(session, drill_id=drill_id)
    main = max(events, key=lambda e: (e.item_count, -e.id)) if events else None
    notes = []
    if items and analysed[0] == len(items) and not analysed[2]:
        notes.append("no item of the story hit the keyword library (risk 0), so nothing was grouped or "
                     "alerted: play a story about what the library watches (--story FILE)")

    alert = actions = None
    raised_by_drill = False
    if main is not None:
        alerts = list(session.scalars(select(Alert).where(Alert.event_id == main.id).order_by(Alert.id)))
        alert = next((a for a in alerts if rank(a.level) >= rank(drill.level)), None)
        raised_by_drill = bool(session.scalar(select(func.count()).select_from(Escalation).where(
            Escalation.event_id == main.id, Escalation.actor == "drill")))
        if raised_by_drill:
            notes.append("levels.yaml graded the story below the drill's level: the drill raised it by hand "
                         "(see `fenghuo events log`)")
    channels, acknowledged_by = [], None
    if alert is not None:
        for delivery in session.scalars(
            select(Delivery).where(Delivery.alert_id == alert.id, Delivery.kind == DeliveryKind.fire).order_by(Delivery.id)
        ):
            channels.append({
                "channel": delivery.channel, "status": delivery.status, "attempts": delivery.attempts,
                "sent_at": _iso(delivery.sent_at), "error": delivery.last_error,
            })
        actions = session.execute(
            select(AlertAction.actor, AlertAction.at, AlertAction.action)
            .where(AlertAction.alert_id == alert.id, AlertAction.action.in_((DutyAction.acknowledge, DutyAction.resolve, DutyAction.noise)))
            .order_by(AlertAction.at, AlertAction.id)
        ).first()
        acknowledged_by = actions.actor if actions else None
    sent = [c["sent_at"] for c in channels if c["sent_at"]]
    stamps = {
        "fetched": min((i.first_seen_at for i in items), default=None),
        "analysed": analysed[1] if items and analysed[0] == len(items) else None,
        "event": main.opened_at if main is not None else None,
        "alert": alert.alerted_at if alert is not None else None,
        "push": datetime.fromisoformat(min(sent)) if sent else None,
        "acknowledged": alert.acknowledged_at if alert is not None else None,
    }
    steps, previous = [], drill.started_at
    for step in STEPS:
        at = stamps[step]
        steps.append({
            "step": step, "at": _iso(at),
            "seconds": None if at is None else round((at - drill.started_at).total_seconds(), 1),
            "after_previous": None if at is None or previous is None else round((at - previous).total_seconds(), 1),
        })
        previous = at
    unrouted = alert is not None and not channels  # nothing to push: the wait is for the officer
    waiting = next((s["step"] for s in steps if s["at"] is None and not (unrouted and s["step"] == "push")), None)
    failed = [c["channel"] for c in channels if c["status"] in ("failed", "cancelled")
              or (c["status"] != "sent" and c["error"])]
    if alert is not None and not channels:
        notes.append(f"notify.yaml routes no channel for {drill.level}: nothing was pushed")
    return {
        "drill": drill.id, "level": drill.level, "story": drill.story, "started_by": drill.started_by,
        "started_at": _iso(drill.started_at), "items": len(items), "analysed": analysed[0], "grouped": grouped,
        "events": [{"id": e.id, "title": e.title, "level": e.level, "items": e.item_count} for e in events],
        "event_id": main.id if main is not None else None,
        "level_reached": main.level if main is not None else None, "raised_by_drill": raised_by_drill,
        "alert": None if alert is None else {"id": alert.id, "level": alert.level, "status": alert.status},
        "steps": steps,
        "acknowledged_by": acknowledged_by,
        "channels": channels,
        "failed_channels": failed,
        "done": waiting is None,
        "waiting_for": WAITING.get(waiting) if waiting else None,
        "elapsed_seconds": round((now - drill.started_at).total_seconds(), 1),
        "notes": notes,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def report_lines(report: dict, labels: dict[str, str]) -> list[str]:
    """The report as the command prints it."""
    lines = [f"演练/DRILL {report['drill']}: {labels.get(report['level'], report['level'])}, "
             f"{report['story']}, {report['items']} items, started by {report['started_by']} at {report['started_at']}"]
    for step in report["steps"]:
        if step["at"] is None:
            lines.append(f"  {step['step']:<13} —")
        else:
            lines.append(f"  {step['step']:<13} +{step['seconds']:.1f} s (step {step['after_previous']:.1f} s)  {step['at']}")
    if report["event_id"] is not None:
        reached = labels.get(report["level_reached"], report["level_reached"] or "no level")
        lines.append(f"  event {report['event_id']} at {reached}"
                     + (" (raised by the drill)" if report["raised_by_drill"] else ""))
    if report["acknowledged_by"]:
        lines.append(f"  acknowledged by {report['acknowledged_by']}")
    for channel in report["channels"]:
        lines.append(f"  channel {channel['channel']}: {channel['status']} after {channel['attempts']} attempts"
                     + (f" — {channel['error']}" if channel["error"] else ""))
    if report["failed_channels"]:
        lines.append(f"  FAILED: {', '.join(report['failed_channels'])}")
    if report["waiting_for"]:
        lines.append(f"  waiting for {report['waiting_for']}")
    lines.extend(f"  note: {note}" for note in report["notes"])
    return lines
