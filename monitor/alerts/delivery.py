"""The delivery worker: sends what the outbox holds, at least once, and records every attempt.

The outbox itself (enqueue, claim, record and the delivery states) is monitor/db/outbox.py; this
module decides what to send, how, and when. A delivery is claimed with a lease (status `sending`, `lease_until`); it is marked `sent` only
after the channel accepted it, in its own transaction. A worker that dies mid-send leaves the lease
to run out, and the delivery is claimed and sent again — with the same idempotency key, so the
receiver can drop the duplicate. A delivery recorded as sent is never sent again. Failures are
retried with exponential backoff (at most `MAX_BACKOFF` apart, never dropped), honouring a 429's
Retry-After.

Channels: the generic JSON webhook, signed with HMAC-SHA256 over `<timestamp>.<body>` in
`X-Fenghuo-Signature: sha256=<hex>` with the Unix time in `X-Fenghuo-Timestamp` (a receiver
refuses a stale one, so a captured request cannot be replayed), carrying `Idempotency-Key`; WeCom, DingTalk, Feishu and
Slack in their own formats (monitor/alerts/vendors.py). A vendor's refusal that retrying cannot
fix (a wrong key, a failed signature, WeCom 40058 after one shortened retry, Feishu 19001/19002,
a generic receiver's 400/401/403/404/405/410/413/422) marks the delivery `failed` with the vendor's
code and words: visible in the delivery log, not retried forever.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import deque
from datetime import timedelta, tzinfo
from zoneinfo import ZoneInfo

import httpx
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from monitor import metrics
from monitor.alerts.links import AckLinks
from monitor.alerts.roster import Person
from monitor.alerts.routing import Channel, Routing
from monitor.alerts.vendors import SENDERS, Message, Notice, Verdict, requests_for
from monitor.clock import Clock
from monitor.db import alerts as alert_store
from monitor.db import events as event_store
from monitor.db import outbox
from monitor.db.models import Alert, Event, Outlet
from monitor.events.spread import Spread
from monitor.retry_after import parse_retry_after
from monitor.states import ALERT_PUSH, DeliveryKind, DutyAction

log = structlog.get_logger("fenghuo.alerts")

LEASE = timedelta(minutes=2)
PACE_WINDOW = 1.05  # seconds: a per-second limit, with a margin for the vendor's clock
PACE_BUDGET = 5.0  # seconds a sweep may spend waiting for per-second limits
FIRST_BACKOFF, MAX_BACKOFF = outbox.FIRST_BACKOFF, outbox.MAX_BACKOFF  # the retry policy lives with the outbox


BRIEFED_LEVELS = ("orange", "red")  # levels whose pushes link to the event's brief


def generic_payload(alert: Alert, label: str, idempotency_key: str, kind: str = DeliveryKind.fire) -> dict:
    return {
        "version": "1",
        "kind": kind,  # fire | repeat | ack | resolve (a notice, kind report, carries "notice" instead)
        "idempotency_key": idempotency_key,
        "alert": {
            "id": alert.id, "event_id": alert.event_id, "level": alert.level, "level_label": label,
            "title": alert.title, "reason": alert.reason, "status": alert.status,
            "published_at": alert.published_at.isoformat(), "alerted_at": alert.alerted_at.isoformat(),
        },
    }


# A receiver's answers that retrying cannot change: the delivery is failed with its words.
GENERIC_PERMANENT = {400, 401, 403, 404, 405, 410, 413, 422}


def generic_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`X-Fenghuo-Signature`: HMAC-SHA256 over `<timestamp>.<body>` (as Slack and Stripe sign), so a
    receiver that also checks `X-Fenghuo-Timestamp` is recent refuses a replayed request."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


async def send_generic(client: httpx.AsyncClient, channel: Channel, payload: dict, key: str,
                       now: float | None = None) -> Verdict:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key}
    if channel.secret:
        stamp = str(int(time.time() if now is None else now))
        headers["X-Fenghuo-Timestamp"] = stamp
        headers["X-Fenghuo-Signature"] = generic_signature(channel.secret, stamp, body)
    try:
        response = await client.post(channel.url, content=body, headers=headers)
    except httpx.HTTPError as error:
        return Verdict(False, None, None, f"{type(error).__name__}: {error}")
    if 200 <= response.status_code < 300:
        return Verdict(True, response.status_code, None, None)
    if response.status_code in GENERIC_PERMANENT:
        words = " ".join(response.text.split())[:200]
        return Verdict(False, response.status_code, None,
                       f"HTTP {response.status_code}" + (f": {words}" if words else ""), retryable=False)
    return Verdict(
        False, response.status_code, None, f"HTTP {response.status_code}",
        parse_retry_after(response.headers.get("retry-after")) if response.status_code in (429, 503) else None,
    )


class DeliveryWorker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        routing: Routing,
        clock: Clock,
        client: httpx.AsyncClient,
        labels: dict[str, str],
        public_url: str | None = None,
        zone: tzinfo = ZoneInfo("Asia/Shanghai"),
        ack_links: AckLinks | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        self.sessions, self.routing, self.clock, self.client, self.labels = sessions, routing, clock, client, labels
        self.public_url, self.zone, self.ack_links = public_url, zone, ack_links
        self.lease = lease
        self._sent: dict[str, deque[float]] = {}  # robot -> monotonic times of recent requests
        self._waited = 0.0  # seconds this sweep has waited for per-second limits
        self._held: set[str] = set()  # robots whose pushes wait for the next sweep

    def claim(self, limit: int = 50) -> list[tuple[int, str, str, int | None, str]]:
        """Due deliveries, leased to this worker: (id, channel, key, alert id or None for a notice, kind)."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            claimed = outbox.claim(session, now=now, lease=self.lease, limit=limit)
        # Within what is due, the most severe first: under a rate limit, red waits for nobody.
        rank = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}
        claimed = sorted(claimed, key=lambda c: rank.get(c.level, 4))  # stable: due order kept
        return [(c.id, c.channel, c.key, c.alert_id, c.kind) for c in claimed]

    async def run_once(self) -> int:
        """Send everything due; returns how many were accepted."""
        # Database work goes to a thread: the worker shares the event loop with the API.
        await asyncio.to_thread(self.queue_repeats)
        await asyncio.to_thread(self.queue_digests)
        sent, self._waited, self._held = 0, 0.0, set()
        for delivery_id, channel_name, key, alert_id, kind in await asyncio.to_thread(self.claim):
            channel = self.routing.channels.get(channel_name)
            if channel is None:
                result = Verdict(False, None, None, f"channel {channel_name!r} is not configured")
            else:
                if channel.kind == "generic":
                    payload = await asyncio.to_thread(self._generic, delivery_id, alert_id, key, kind)
                    requests = 1
                else:
                    message = await asyncio.to_thread(self._message_of, delivery_id, alert_id, kind, channel_name)
                    requests = requests_for(channel.kind, message)
                if channel.limit is not None and await asyncio.to_thread(
                    self._defer_if_over_limit, delivery_id, channel, requests
                ):
                    continue
                if not await self._pace(channel, requests):
                    await asyncio.to_thread(self._defer, delivery_id, PACE_WINDOW)
                    continue
                if channel.kind == "generic":
                    result = await send_generic(self.client, channel, payload, key)
                else:
                    result = await SENDERS[channel.kind](self.client, channel.url, channel.secret, message)
                self._paced(channel, result.requests)
            await asyncio.to_thread(self.record, delivery_id, alert_id, result)
            sent += result.ok
        return sent

    async def _pace(self, channel: Channel, requests: int) -> bool:
        """Feishu takes 5 requests a second per robot, Slack about one: wait until the requests
        about to be made fit (in this process; a second worker process keeps its own count).
        A sweep waits at most PACE_BUDGET in all, so one robot's burst cannot hold up the others'
        pushes: past it, returns False and the delivery waits for a later sweep."""
        if not channel.per_second:
            return True
        if channel.robot in self._held:  # held back once this sweep: keep its order, hold the rest
            return False
        window = self._sent.setdefault(channel.robot, deque())
        while True:
            now = time.monotonic()
            while window and now - window[0] >= PACE_WINDOW:
                window.popleft()
            if len(window) + min(requests, channel.per_second) <= channel.per_second:
                return True
            wait = PACE_WINDOW - (now - window[0])
            if self._waited + wait > PACE_BUDGET:
                self._held.add(channel.robot)
                return False
            self._waited += wait
            await asyncio.sleep(wait)

    def _defer(self, delivery_id: int, seconds: float) -> None:
        with self.sessions.begin() as session:
            outbox.defer(session, delivery_id=delivery_id, until=self.clock.now() + timedelta(seconds=seconds))

    def _paced(self, channel: Channel, requests: int) -> None:
        """Counted from when the answer came back: the vendor saw each request before that, so a
        window measured from here is never shorter at the vendor's end, whatever the latency."""
        if channel.per_second:
            self._sent.setdefault(channel.robot, deque()).extend([time.monotonic()] * requests)

    def queue_repeats(self) -> int:
        """Orange and red alerts still unacknowledged past their time limit are pushed again, to
        their channels and to the next group up (notify.yaml repeat_after / escalate_to)."""
        if not self.routing.repeat_after:
            return 0
        try:
            with self.sessions.begin() as session:
                return alert_store.queue_repeats(session, now=self.clock.now(), routing=self.routing)
        except IntegrityError:  # another worker queued the same repeat (same key) a moment earlier
            return 0

    def queue_digests(self) -> int:
        """Held blue/yellow pushes whose period is up become one digest per channel."""
        if not self.routing.digest:
            return 0
        with self.sessions.begin() as session:
            return alert_store.queue_digests(
                session, now=self.clock.now(), routing=self.routing, labels=self.labels, zone=self.zone,
                link=f"{self.public_url.rstrip('/')}/api/v1/alerts" if self.public_url else None,
            )

    def _notice(self, delivery_id: int) -> dict:
        with self.sessions() as session:
            return outbox.payload_of(session, delivery_id=delivery_id)

    def _message_of(self, delivery_id: int, alert_id: int | None, kind: str, channel: str) -> Message | Notice:
        if alert_id is None:
            notice = self._notice(delivery_id)
            return Notice(notice["title"], notice["lines"], notice["summary"], notice.get("link"), kind,
                          tuple(Person(**p) for p in notice.get("mentions", [])))
        return self.message(alert_id, kind, channel)

    def _generic(self, delivery_id: int, alert_id: int | None, key: str, kind: str) -> dict:
        if alert_id is None:
            return {"version": "1", "kind": kind, "idempotency_key": key, "notice": self._notice(delivery_id)}
        with self.sessions() as session:
            alert = session.get(Alert, alert_id)
            payload = generic_payload(alert, self.labels.get(alert.level, alert.level), key, kind)
        if brief := self.brief_link(alert.event_id, alert.level, kind):
            payload["alert"]["brief_link"] = brief
        if kind in ALERT_PUSH:
            people, everyone = self.routing.mentions_for(alert.level, self.clock.now())
            payload["mentions"] = [person.model_dump(exclude_none=True) for person in people]
            payload["mention_all"] = everyone
        return payload

    def _defer_if_over_limit(self, delivery_id: int, channel: Channel, requests: int = 1) -> bool:
        """A robot that took its requests for this minute: the delivery waits its turn (it is
        queued, never dropped). Counted in HTTP requests, over every channel that posts to the
        same robot, as the vendor counts. Returns True when deferred."""
        now = self.clock.now()
        robot = self.routing.same_robot(channel.name) if channel.name in self.routing.channels else [channel.name]
        limit = min([n for name in robot if (n := self.routing.channels[name].limit)] or [channel.limit])
        with self.sessions.begin() as session:
            recent = outbox.requests_since(session, channels=robot, since=now - timedelta(minutes=1))
            used = sum(n for _, n in recent)
            if used + requests <= limit:
                return False
            # The moment enough of this minute's requests have aged out to make room.
            excess, freed, free_at = used + requests - limit, 0, now
            for at, n in recent:
                freed += n
                free_at = at + timedelta(minutes=1)
                if freed >= excess:
                    break
            outbox.defer(session, delivery_id=delivery_id, until=max(free_at, now + timedelta(seconds=1)))
        log.info("delivery_queued", delivery_id=delivery_id, channel=channel.name, per_minute=limit,
                 requests=requests)
        return True

    def _link(self, alert_id: int, channel: str) -> str | None:
        """The one-tap acknowledge link when links are signed, else the alert in the API."""
        if not self.public_url:
            return None
        base = self.public_url.rstrip("/")
        if self.ack_links is not None:
            return f"{base}/ack/{self.ack_links.token(alert_id, channel)}"
        return f"{base}/api/v1/alerts/{alert_id}"

    def brief_link(self, event_id: int, level: str, kind: str) -> str | None:
        """Orange and red fire and repeat pushes link to the event's brief: the console's event
        view, where the brief is a button (in HTML, PDF or Word); the browser signs in with its
        token there, which a link to the API itself could not carry."""
        if not self.public_url or level not in BRIEFED_LEVELS or kind not in ALERT_PUSH:
            return None
        return f"{self.public_url.rstrip('/')}/#/events/{event_id}"

    def message(self, alert_id: int, kind: str = DeliveryKind.fire, channel: str = "") -> Message:
        with self.sessions() as session:
            alert = session.get(Alert, alert_id)
            event = session.get(Event, alert.event_id)
            first_outlet = session.get(Outlet, event.first_outlet_id)
            spread = Spread.of(event)
            by = None
            if kind in (DeliveryKind.ack, DeliveryKind.resolve):
                wanted = DutyAction.acknowledge if kind == DeliveryKind.ack else DutyAction.resolve
                by = next((a.actor for a in reversed(alert_store.actions_of(session, alert_id=alert_id))
                           if a.action in (wanted, DutyAction.resolve, DutyAction.noise)), None)
            return Message(
                alert_id=alert.id, event_id=alert.event_id, level=alert.level,
                label=self.labels.get(alert.level, alert.level), title=alert.title, reason=alert.reason,
                first_outlet=first_outlet.name if first_outlet else event.first_outlet_id,
                first_at=event.first_at.astimezone(self.zone).strftime("%m-%d %H:%M"),
                outlets=spread.outlets, tiers=list(spread.tiers), negative_share=spread.negative_share,
                items=spread.items, items_last_hour=spread.items_last_hour,
                velocity=spread.velocity, hotlist=spread.hotlist_text,
                link=self._link(alert.id, channel),
                kind=kind, by=by, outcome=alert.outcome if kind == DeliveryKind.resolve else None,
                top_items=tuple(event_store.top_items(session, event_id=event.id)) if kind in ALERT_PUSH else (),
                brief_link=self.brief_link(alert.event_id, alert.level, kind),
                **self._mentions(alert.level),
            )

    def _mentions(self, level: str) -> dict:
        people, everyone = self.routing.mentions_for(level, self.clock.now())
        return {"mentions": people, "mention_all": everyone}

    def record(self, delivery_id: int, alert_id: int | None, result: Verdict) -> None:
        with self.sessions.begin() as session:
            delivery = outbox.record(
                session, delivery_id=delivery_id, now=self.clock.now(), ok=result.ok, retryable=result.retryable,
                http_status=result.http_status, vendor_code=result.vendor_code, error=result.error,
                requests=result.requests, retry_after=result.retry_after,
            )
        metrics.DELIVERIES.labels(channel=delivery.channel, outcome="sent" if result.ok else "failed").inc()
        if result.ok:
            log.info("delivered", delivery_id=delivery_id, alert_id=alert_id, channel=delivery.channel)
        else:
            log.warning(
                "delivery_failed", delivery_id=delivery_id, alert_id=alert_id, channel=delivery.channel,
                attempts=delivery.attempts, error=result.error, http_status=result.http_status,
                next_attempt_at=delivery.next_attempt_at.isoformat(timespec="seconds"),
            )
