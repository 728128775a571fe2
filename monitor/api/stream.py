"""The live feed's plumbing: one notifier per process that reads new alerts and hands them to every
open stream, and the caps on how many streams may be open.

Why one shared notifier rather than a poll per stream: a stream is open for hours and
spends nearly all of it waiting. Polled per stream, 500 open streams cost 500 queries and 500
thread hops a second, through the same connection pool and threads as the fetch sweeps and every
other request. One poller per process costs one short query per poll interval whatever the number
of streams, holds a connection only for that query, and turns each alert into JSON once. PostgreSQL
LISTEN/NOTIFY would spare the poll but holds a connection for ever and does not exist on SQLite; the
feed already promised a one-second delay, which one cheap query a second keeps.

A stream never misses or repeats an alert: it joins the notifier first, then reads from the
database whatever lies between its cursor and the notifier's (a resume with Last-Event-ID, or a
stream that fell too far behind), then takes the notifier's alerts, skipping the ids it has sent.
Alert ids only grow (the `since` cursor of the poll endpoint relies on the same).

A stream outlives the check of its token: the notifier also reads the tokens' version (raised by
every revocation) at each poll, and when it changes looks up the open streams' tokens once; a
stream whose token was revoked gets a last `revoked` event and ends. The client's reconnection
is then refused with 401.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.api.schemas import AlertOut
from monitor.db import alerts as alert_store
from monitor.db.models import ApiToken
from monitor.db.tokens import token_version
from monitor.events.levels import LEVELS

log = structlog.get_logger("fenghuo.api.stream")

PAGE = 100  # alerts read at once when catching up
BACKLOG = 1000  # alerts queued for one slow stream before it is sent back to the database


@dataclass(frozen=True)
class Sent:
    """An alert ready to send: serialised once for every stream."""

    id: int
    rank: int
    data: str

    def event(self) -> dict:
        return {"id": str(self.id), "event": "alert", "data": self.data}


@dataclass(eq=False)
class Subscriber:
    min_rank: int
    cursor: int
    pending: deque[Sent] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    lagging: bool = False  # its queue overflowed: re-read from the database from its cursor
    token_hash: str | None = None  # the stream's token, looked up again after a revocation
    revoked: bool = False


class AlertNotifier:
    """Reads new alerts once per poll, with a short-lived session, and queues them for each
    subscriber. Runs only while some stream is open."""

    def __init__(self, sessions: sessionmaker[Session], poll_seconds: Callable[[], float]):
        self.sessions = sessions
        self.poll_seconds = poll_seconds
        self.subscribers: set[Subscriber] = set()
        self.cursor: int | None = None  # every alert up to here has been handed out
        self._task: asyncio.Task | None = None
        self._ready: asyncio.Future | None = None
        self._joining = 0
        # When it changes, the streams' tokens are looked up; None, so that the first poll does
        # (a token revoked between a stream's check and the notifier's start).
        self.token_version: int | None = None
        # Streams that joined since the last check: their token was checked by the request, but
        # a revocation may have landed between that check and the join, unseen by the version.
        self._unchecked: set[Subscriber] = set()

    async def join(self, *, min_level: str | None, cursor: int | None, token_hash: str | None = None) -> Subscriber:
        """A new subscriber, starting after `cursor` (None: from now), for the token whose hash is
        `token_hash` (it ends when that token is revoked)."""
        self._joining += 1
        try:
            if self._task is None:
                self._ready = asyncio.get_running_loop().create_future()
                self._task = asyncio.create_task(self._run(self._ready), name="alert-notifier")
            await asyncio.shield(self._ready)
        finally:
            self._joining -= 1
        # No await from here to the add: the notifier cannot hand out an alert in between.
        start = self.cursor if cursor is None else cursor
        subscriber = Subscriber(min_rank=LEVELS.index(min_level) if min_level else 0, cursor=start,
                                token_hash=token_hash)
        subscriber.lagging = start < self.cursor  # behind the notifier: catch up from the database
        self.subscribers.add(subscriber)
        self._unchecked.add(subscriber)
        return subscriber

    def leave(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        self._unchecked.discard(subscriber)

    async def alerts(self, subscriber: Subscriber) -> AsyncIterator[dict]:
        """The subscriber's events until its token is revoked (or the response ends it when the
        client goes)."""
        while True:
            if subscriber.revoked:
                yield {"event": "revoked", "data": json.dumps(
                    {"detail": "this stream's API token was revoked"}, ensure_ascii=False)}
                return
            if subscriber.lagging:
                subscriber.lagging = False
                async for sent in self._catch_up(subscriber):
                    yield sent.event()
            subscriber.wake.clear()
            while subscriber.pending:
                sent = subscriber.pending.popleft()
                if sent.id > subscriber.cursor:  # already sent while catching up
                    subscriber.cursor = sent.id
                    yield sent.event()
            if not subscriber.lagging and not subscriber.revoked:
                await subscriber.wake.wait()

    async def _catch_up(self, subscriber: Subscriber) -> AsyncIterator[Sent]:
        min_level = LEVELS[subscriber.min_rank] if subscriber.min_rank else None
        while True:
            page = await asyncio.to_thread(self._read, subscriber.cursor, min_level)
            for sent in page:
                subscriber.cursor = sent.id
                yield sent
            if len(page) < PAGE:
                return

    def _read(self, cursor: int, min_level: str | None = None) -> list[Sent]:
        with self.sessions() as session:
            found = alert_store.list_alerts(
                session, filters=alert_store.AlertFilter(min_level=min_level), limit=PAGE, since=cursor
            )
            return [
                Sent(a.id, LEVELS.index(a.level), json.dumps(
                    AlertOut.model_validate(a).model_dump(mode="json"), ensure_ascii=False
                ))
                for a in found
            ]

    def _latest(self) -> int:
        with self.sessions() as session:
            return alert_store.latest_alert_id(session)

    def _token_version(self) -> int:
        with self.sessions() as session:
            return token_version(session)

    def _live(self, hashes: list[str]) -> set[str]:
        with self.sessions() as session:
            return set(session.scalars(select(ApiToken.token_hash).where(
                ApiToken.token_hash.in_(hashes), ApiToken.revoked_at.is_(None))))

    async def _check_tokens(self) -> None:
        """End the streams whose token was revoked: every stream's after a revocation (the
        version moved), and those that joined since the last check."""
        version = await asyncio.to_thread(self._token_version)
        if version != self.token_version:
            checking = set(self.subscribers)
        elif self._unchecked:
            checking = set(self._unchecked)
        else:
            return
        self._unchecked -= checking
        hashes = sorted({s.token_hash for s in checking if s.token_hash is not None and not s.revoked})
        live = await asyncio.to_thread(self._live, hashes) if hashes else set()
        self.token_version = version
        dead = set(hashes) - live
        for subscriber in list(self.subscribers):
            if subscriber.token_hash in dead and not subscriber.revoked:
                subscriber.revoked = True
                subscriber.wake.set()
                log.info("stream_ended_token_revoked")

    async def _run(self, ready: asyncio.Future) -> None:
        try:
            try:
                self.cursor = await asyncio.to_thread(self._latest)
            except Exception as error:  # the joiners raise it (the request fails); the next join retries
                ready.set_exception(error)
                return
            ready.set_result(None)
            while True:
                await asyncio.sleep(self.poll_seconds())
                if not self.subscribers and not self._joining:
                    return
                try:
                    await self._check_tokens()
                    await self._poll()
                except Exception as error:  # the database is down: streams wait, the next poll retries
                    log.warning("stream_poll_failed", error=repr(error))
        finally:
            # Checked and reset with no await in between: a later join starts a fresh notifier.
            self._task, self._ready, self.cursor, self.token_version = None, None, None, None
            self._unchecked.clear()

    async def _poll(self) -> None:
        while True:
            page = await asyncio.to_thread(self._read, self.cursor)
            for sent in page:
                self.cursor = sent.id
                for subscriber in self.subscribers:
                    if sent.rank < subscriber.min_rank:
                        continue
                    if len(subscriber.pending) >= BACKLOG:
                        subscriber.pending.clear()
                        subscriber.lagging = True
                    elif not subscriber.lagging:
                        subscriber.pending.append(sent)
                    subscriber.wake.set()
            if len(page) < PAGE:
                return


class StreamLimit(Exception):
    """Too many streams open: `status` is 429 (this token's share) or 503 (the server's)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class StreamSlots:
    """Counts open streams per token and in all; refuses one past either cap."""

    def __init__(self, per_token: int, total: int):
        self.per_token, self.total = per_token, total
        self.open: Counter[str] = Counter()
        self.count = 0

    def take(self, token_name: str) -> None:
        if self.open[token_name] >= self.per_token:
            raise StreamLimit(
                429, f"token {token_name!r} already has {self.per_token} live-feed streams open, the most "
                "one token may hold (FENGHUO_STREAM_MAX_PER_TOKEN): close one (each console tab holds one) "
                "or retry later",
            )
        if self.count >= self.total:
            raise StreamLimit(
                503, f"this server already serves {self.total} live-feed streams, the most it allows "
                "(FENGHUO_STREAM_MAX_TOTAL): retry later, or poll GET /api/v1/alerts?since=<cursor>",
            )
        self.open[token_name] += 1
        self.count += 1

    def give_back(self, token_name: str) -> None:
        self.open[token_name] -= 1
        self.count -= 1
        if self.open[token_name] <= 0:
            del self.open[token_name]


@dataclass
class LiveFeed:
    """The process's notifier and stream counts, made on the first stream."""

    notifier: AlertNotifier
    slots: StreamSlots


def live_feed(state) -> LiveFeed:
    """The app's LiveFeed (`state` is app.state), made on first use: the app factory need not know."""
    feed = getattr(state, "live_feed", None)
    if feed is None:
        settings = state.settings
        feed = LiveFeed(
            AlertNotifier(state.sessions, lambda: state.stream_poll_seconds),
            StreamSlots(settings.stream_max_per_token, settings.stream_max_total),
        )
        state.live_feed = feed
    return feed
