"""Shift handover (交接班): when a shift of the roster begins, its officers get a summary in the
handover channels — open alerts by level, the ones nobody has acknowledged yet, and the events
whose level changed during the shift that just ended — and are @-mentioned in it.

Queued through the outbox under a key made of the shift's start and the channel, so the summary
is sent once however many workers notice the shift change, and survives a crash.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.roster import OnDuty
from monitor.alerts.routing import Routing
from monitor.clock import Clock
from monitor.db import outbox
from monitor.db.models import Alert, Escalation, Event
from monitor.events.levels import LEVELS, rank
from monitor.states import OPEN_ALERT, AlertStatus, DeliveryKind, EscalationKind

log = structlog.get_logger("fenghuo.handover")

# A shift change noticed later than this (the service was down) gets no handover: by then the
# officer has long found the alerts themselves, and the list would be stale.
GRACE = timedelta(minutes=30)
LISTED = 10


class Handover:
    def __init__(self, sessions: sessionmaker[Session], routing: Routing, clock: Clock, labels: dict[str, str],
                 public_url: str | None = None) -> None:
        self.sessions, self.routing, self.clock, self.labels = sessions, routing, clock, labels
        self.public_url = public_url

    def run_once(self) -> int:
        """Queue the handover of a shift that just began; returns how many messages were queued."""
        roster = self.routing.roster
        if roster is None or not roster.config.handover:
            return 0
        now = self.clock.now()
        began = roster.shift_began(now, GRACE)
        if began is None:
            return 0
        previous = roster.previous(began)
        since = previous.start if previous else began.start - timedelta(hours=12)
        queued = 0
        with self.sessions() as session:
            payload = self.summary(session, began, previous, since)
        for channel in roster.config.handover:
            try:
                with self.sessions.begin() as session:
                    queued += outbox.enqueue(
                        session, channel=channel, kind=DeliveryKind.handover, payload=payload, now=now,
                        key=f"handover-{began.start.isoformat(timespec='minutes')}-{channel}",
                    )
            except IntegrityError:  # another worker queued it in the same instant
                pass
        if queued:
            log.info("handover_queued", shift=began.shift, start=began.start.isoformat(), channels=queued)
        return queued

    def summary(self, session: Session, began: OnDuty, previous: OnDuty | None, since: datetime) -> dict:
        open_alerts = list(session.scalars(
            select(Alert).where(Alert.status.in_(OPEN_ALERT))
        ))
        by_level = Counter(alert.level for alert in open_alerts)
        unacknowledged = sorted((a for a in open_alerts if a.status == AlertStatus.new),
                                key=lambda a: (-rank(a.level), a.alerted_at))
        changes = list(session.execute(
            select(Escalation, Event.title).join(Event, Event.id == Escalation.event_id)
            .where(Escalation.at >= since, Escalation.at < began.start,
                   Escalation.kind.in_((EscalationKind.escalate, EscalationKind.downgrade)))
            .order_by(Escalation.at)
        ))
        zone = began.start.tzinfo
        lines = [
            "未处置预警：" + ("，".join(f"{self.labels.get(level, level)} {by_level[level]}"
                                   for level in reversed(LEVELS) if by_level[level]) or "无"),
            f"未确认 {len(unacknowledged)} 条" + ("：" if unacknowledged else ""),
            *(f"· {self.labels.get(a.level, a.level)} {a.title}（{a.alerted_at.astimezone(zone):%m-%d %H:%M}）"
              for a in unacknowledged[:LISTED]),
        ]
        if len(unacknowledged) > LISTED:
            lines.append(f"· 另有 {len(unacknowledged) - LISTED} 条未列出")
        shift_name = previous.shift if previous else "上一班"
        moves = [f"{title}：{self.labels.get(e.from_level, '无') if e.from_level else '无'} → "
                 f"{self.labels.get(e.to_level, '无') if e.to_level else '无'}"
                 for e, title in changes[-LISTED:]]
        summary = (f"{shift_name}期间 {len(changes)} 次级别变化" + ("：" + "；".join(moves) if moves else "。"))
        link = f"{self.public_url.rstrip('/')}/api/v1/alerts?status=new" if self.public_url else None
        return {
            "title": f"交接班：{began.shift}（{began.start:%m-%d %H:%M}）",
            "lines": lines, "summary": summary, "link": link,
            "mentions": [person.model_dump(exclude_none=True) for person in began.people],
            "shift": began.shift, "start": began.start.isoformat(),
        }
