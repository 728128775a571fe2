"""The crawl loop: due outlets are claimed as fast as fetch slots free, and run in a bounded pool.

There is one queue for all outlets, not one timer per outlet (miniflux's design): the crawler asks
the store which outlets are due (`next_fetch_at <= now`), claims them with a lease, and starts a
task for each. It claims again as soon as enough of its room frees (a backlog drains at the
fetcher's pace, not one sweep's worth per sweep) and, when nothing is due, wakes at the next
`next_fetch_at`; the periodic sweep is only the fallback and the sign of life. Each run has a
deadline inside its lease, so a hanging outlet cannot stall the others or be claimed twice. After a
run the next fetch time adapts to how busy the outlet is, backs off exponentially while it fails,
and never comes sooner than the server asked (Retry-After, <ttl>).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor import metrics
from monitor.clock import Clock
from monitor.config import Settings
from monitor.db import hotlists as hotlist_store
from monitor.db import items as item_store
from monitor.db import outlets as outlet_store
from monitor.db.models import Outlet
from monitor.db.outlets import DueOutlet, FetchRecord
from monitor.fetch.http import Fetcher, FetchOutcome, OutcomeKind
from monitor.fetch.outlet import OutletResult, fetch_outlet
from monitor.fetch.parsing import FeedParsing

log = structlog.get_logger("fenghuo.fetch")

# Outlets that fall due one by one are claimed together, at most this often: at 10,000 outlets on
# a 5-minute interval one falls due every 30 ms, and a transaction each would cost more than the
# second of lag this adds.
CLAIM_GAP = 1.0


@dataclass(frozen=True)
class OutletRun:
    outlet_id: str
    status: str
    new_items: int
    duplicates: int
    error: str | None
    encoding: str | None
    elapsed: float
    next_fetch_at: datetime


def adaptive_interval(due: DueOutlet, items_last_day: int) -> timedelta:
    """Busy outlets are fetched about once per new item, quiet ones drift to their slowest pace.

    The gap between items over the last day is the natural period (miniflux's rule over a day
    instead of a week: news moves faster than blogs); an outlet with nothing new in a day slows
    by half again each fetch, within the outlet's [min_interval, max_interval].
    """
    low, high = due.config.min_interval, due.config.max_interval
    assert low is not None and high is not None
    if items_last_day == 0:
        wanted = due.interval * 1.5
    else:
        wanted = timedelta(days=1) / items_last_day
    return max(low, min(high, wanted))


def failure_delay(due: DueOutlet, settings: Settings) -> timedelta:
    errors = due.error_count + 1
    return min(due.interval * 2 ** min(errors, 16), settings.failure_backoff_max)


@dataclass
class _Finished:
    due: DueOutlet
    result: OutletResult
    elapsed: float
    done: asyncio.Future


class Crawler:
    """Claims due outlets, fetches them, and records the results.

    All database work happens on one dedicated thread, and finished fetches are written in
    batches (one transaction for as many as finished while the previous batch was written).
    One writer means no lock contention on SQLite and one commit instead of dozens; a batch
    that fails is retried outlet by outlet, so one bad row never costs the others their items.
    """

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        fetcher: Fetcher,
        clock: Clock,
        parsing: FeedParsing | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.fetcher = fetcher
        self.clock = clock
        self.parsing = parsing
        self._in_flight: dict[str, asyncio.Task] = {}
        self._db = ThreadPoolExecutor(1, thread_name_prefix="fenghuo-db")
        self._finished: list[_Finished] = []
        self._writer: asyncio.Task | None = None
        # Set when a fetch stored new items: the service analyses them at once instead of at
        # its next analysis tick (seconds off the time from publication to alert).
        self.new_items = asyncio.Event()
        self.lag = 0.0  # seconds the oldest due outlet was overdue at the last claim
        self._keep_up = False
        self._claiming = False
        self._backlog = False
        self._last_claim = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._claim_task: asyncio.Task | None = None
        self._refill_at = max(1, settings.fetch_concurrency // 2)

    # -- the service loop ---------------------------------------------------------------------

    async def tick(self) -> int:
        """Claim what is due, as much as there is room for, and start it in the background;
        returns how many were started.

        A tick keeps the crawler going on its own until drain(): when it filled its room (more
        may be due) it claims again as soon as half the fetch concurrency has freed, and when it
        did not, it wakes when the next outlet falls due. The room is twice the fetch concurrency,
        so the fetcher always has the next runs waiting while the last ones are recorded.
        """
        self._keep_up = True
        if self._claiming:  # a claim is on its way; it will look again when done
            return 0
        self._claiming = True
        self._last_claim = asyncio.get_running_loop().time()
        try:
            room = self._room()
            claimed, lag, next_due = await self._in_db(self._claim_and_look, max(room, 0))
        finally:
            self._claiming = False
        metrics.FETCH_QUEUE_LAG.set(lag)
        self.lag = lag
        for due in claimed:
            task = asyncio.create_task(self.run_one(due), name=f"fetch:{due.id}")
            self._in_flight[due.id] = task
            task.add_done_callback(lambda _t, oid=due.id: self._run_finished(oid))
        metrics.OUTLETS_IN_FLIGHT.set(len(self._in_flight))
        self._backlog = room <= 0 or len(claimed) == room
        if not self._backlog:
            self._wake_at(next_due)
        elif self._room() >= self._refill_at:
            self._wake_at(None, soon=True)
        return len(claimed)

    async def drain(self) -> None:
        """Stop claiming, and wait for the runs already started (at shutdown and in tests)."""
        self._keep_up = False
        if self._timer is not None:
            self._timer.cancel()
        while self._in_flight or self._claim_task is not None and not self._claim_task.done():
            waiting = list(self._in_flight.values())
            if self._claim_task is not None and not self._claim_task.done():
                waiting.append(self._claim_task)
            await asyncio.gather(*waiting, return_exceptions=True)

    def _room(self) -> int:
        return self.settings.fetch_concurrency * 2 - len(self._in_flight)

    def _run_finished(self, outlet_id: str) -> None:
        self._in_flight.pop(outlet_id, None)
        metrics.OUTLETS_IN_FLIGHT.set(len(self._in_flight))
        if self._backlog and self._room() >= self._refill_at:
            self._wake_at(None, soon=True)

    def _wake_at(self, when: datetime | None, *, soon: bool = False) -> None:
        """Claim again: `soon` (as slots free), or when `when` falls due but not sooner than
        CLAIM_GAP after the last claim began; never later than the next sweep would."""
        if not self._keep_up:
            return
        loop = asyncio.get_running_loop()
        at = loop.time() + self.settings.sweep_interval.total_seconds()
        if soon:
            at = loop.time()
        else:
            if when is not None:
                at = min(at, loop.time() + (when - self.clock.now()).total_seconds())
            at = max(at, self._last_claim + CLAIM_GAP)
        if self._timer is not None:
            if self._timer.when() <= at:
                return  # already waking sooner
            self._timer.cancel()
        self._timer = loop.call_at(at, self._claim_now)

    def _claim_now(self) -> None:
        self._timer = None
        if not self._keep_up or (self._claim_task is not None and not self._claim_task.done()):
            return
        self._claim_task = asyncio.create_task(self._claim_in_background(), name="fetch-claim")

    async def _claim_in_background(self) -> None:
        try:
            await self.tick()
        except Exception as error:  # the database refuses or is gone: the next sweep tries again
            log.error("claim_failed", error=f"{type(error).__name__}: {str(error).splitlines()[0]}")

    def close(self) -> None:
        self._db.shutdown(wait=True)

    # -- one-shot runs ------------------------------------------------------------------------

    async def run_due(
        self,
        *,
        only: list[str] | None = None,
        ignore_schedule: bool = False,
        on_claimed: Callable[[int], None] | None = None,
        on_done: Callable[[OutletRun], None] | None = None,
    ) -> list[OutletRun]:
        """Fetch every due outlet (or every listed one) now and wait for all of them."""
        claimed = await self._in_db(self._claim, 100_000, only, ignore_schedule)
        if on_claimed is not None:
            on_claimed(len(claimed))
        # Start no more than the fetcher can run at once: a run's deadline starts when it does.
        slots = asyncio.Semaphore(self.settings.fetch_concurrency)

        async def run(due: DueOutlet) -> OutletRun:
            async with slots:
                result = await self.run_one(due)
            if on_done is not None:
                on_done(result)
            return result

        return list(await asyncio.gather(*(run(due) for due in claimed)))

    async def run_one(self, due: DueOutlet) -> OutletRun:
        started = time.monotonic()
        if due.scheduled_for is not None:  # None: a new outlet, due since it was added
            metrics.FETCH_START_LAG.observe(max(0.0, (self.clock.now() - due.scheduled_for).total_seconds()))
        # Finish well inside the lease, or another sweep could claim the outlet again.
        deadline = self.settings.fetch_lease.total_seconds() * 0.9
        try:
            async with asyncio.timeout(deadline):
                result = await fetch_outlet(
                    self.fetcher, due.config, self.settings,
                    etag=due.etag, last_modified=due.last_modified, known=self._known,
                    parsing=self.parsing,
                )
        except TimeoutError:
            outcome = FetchOutcome(OutcomeKind.timeout, str(due.config.url))
            result = OutletResult(
                outcome, OutcomeKind.timeout.value,
                error=f"outlet run exceeded its {deadline:g}s deadline",
            )
        except Exception as error:  # a bug in one outlet's parsing must not stop the sweep
            log.exception("outlet_crashed", outlet=due.id)
            outcome = FetchOutcome(OutcomeKind.bad_content, str(due.config.url))
            result = OutletResult(outcome, "crashed", error=f"internal error: {error!r}")
        finished = _Finished(
            due, result, time.monotonic() - started, asyncio.get_running_loop().create_future()
        )
        self._finished.append(finished)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_finished())
        run = await finished.done
        self._report(due, result, run)
        return run

    # -- database side (one thread) -----------------------------------------------------------

    async def _in_db(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self._db, function, *args)

    def _claim(self, limit: int, only: list[str] | None, ignore_schedule: bool) -> list[DueOutlet]:
        now = self.clock.now()
        with self.sessions.begin() as session:
            return outlet_store.claim_due_outlets(
                session, now=now, lease=self.settings.fetch_lease, limit=limit, only=only,
                ignore_schedule=ignore_schedule,
            )

    def _claim_and_look(self, limit: int) -> tuple[list[DueOutlet], float, datetime | None]:
        """Claim up to `limit` due outlets; also say how overdue the oldest due outlet was (the
        fetch lag) and when the next one not yet due falls due."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            due = Outlet.enabled.is_(True)
            oldest = session.scalar(select(func.min(Outlet.next_fetch_at)).where(due, Outlet.next_fetch_at <= now))
            claimed = outlet_store.claim_due_outlets(
                session, now=now, lease=self.settings.fetch_lease, limit=limit
            ) if limit else []
            upcoming = session.scalar(select(func.min(Outlet.next_fetch_at)).where(due, Outlet.next_fetch_at > now))
        lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        return claimed, lag, upcoming

    async def _known(self, hashes: list[str]) -> set[str]:
        def lookup() -> set[str]:
            with self.sessions() as session:
                return item_store.known_url_hashes(session, hashes=hashes)

        return await self._in_db(lookup)

    async def _write_finished(self) -> None:
        while self._finished:
            batch, self._finished = self._finished, []
            try:
                runs = await self._in_db(self._record_batch, batch)
            except Exception as error:  # the database is down: every waiting run hears of it
                for finished in batch:
                    finished.done.set_exception(error)
                continue
            for finished, run in zip(batch, runs, strict=True):
                if isinstance(run, BaseException):
                    finished.done.set_exception(run)
                else:
                    finished.done.set_result(run)

    def _record_batch(self, batch: list[_Finished]) -> list[OutletRun | BaseException]:
        try:
            with self.sessions.begin() as session:
                return [self._record(session, f) for f in batch]
        except Exception as error:
            if len(batch) == 1:
                # Nothing of this run is stored, and its lease still stands: the outlet is
                # fetched again when the lease runs out, so its items are delayed, not lost.
                log.exception("record_failed", outlet=batch[0].due.id)
                return [error]
            log.warning("batch_write_failed", outlets=len(batch), error=repr(error))
            return [self._record_batch([f])[0] for f in batch]

    def _record(self, session: Session, finished: _Finished) -> OutletRun:
        due, result = finished.due, finished.result
        now = self.clock.now()
        stored = item_store.store_entries(
            session, outlet_id=due.id, entries=result.entries, now=now
        )
        if result.ranked is not None:  # a hot list: the snapshot's ranks, beside its entries as items
            hotlist_store.record_snapshot(
                session, outlet_id=due.id, lines=result.ranked, now=now, max_gap=due.interval * 3
            )
        if result.error is None:
            recent = outlet_store.recent_item_count(
                session, outlet_id=due.id, since=now - timedelta(days=1)
            )
            interval = adaptive_interval(due, recent)
            delay = interval
        else:
            interval = due.interval
            delay = failure_delay(due, self.settings)
        if result.server_hint is not None:
            delay = max(delay, result.server_hint)
        next_fetch_at = now + delay
        outcome = result.outcome
        outlet_store.record_fetch(
            session,
            outlet_id=due.id,
            now=now,
            record=FetchRecord(
                status=result.status,
                http_status=outcome.status,
                error=result.error,
                encoding=result.encoding,
                etag=outcome.etag,
                last_modified=outcome.last_modified,
                interval=interval,
                next_fetch_at=next_fetch_at,
            ),
        )
        return OutletRun(
            outlet_id=due.id, status=result.status, new_items=len(stored.new_ids),
            duplicates=stored.duplicates, error=result.error, encoding=result.encoding,
            elapsed=finished.elapsed, next_fetch_at=next_fetch_at,
        )

    # -- reporting (event loop) ---------------------------------------------------------------

    def _report(self, due: DueOutlet, result: OutletResult, run: OutletRun) -> None:
        metrics.FETCHES.labels(outcome=result.status, kind=due.config.kind.value).inc()
        metrics.FETCH_SECONDS.observe(run.elapsed)
        metrics.ITEMS_STORED.labels(tier=due.config.tier.value).inc(run.new_items)
        metrics.ITEMS_DUPLICATE.inc(run.duplicates)
        if run.new_items:
            self.new_items.set()
        fields = dict(
            outlet=due.id, url=result.outcome.url, status=result.status,
            http_status=result.outcome.status, new=run.new_items, duplicates=run.duplicates,
            encoding=result.encoding, elapsed=round(run.elapsed, 3),
            next_fetch_at=run.next_fetch_at.isoformat(timespec="seconds"),
        )
        for warning in result.warnings:
            log.warning("fetch_warning", outlet=due.id, warning=warning)
        if result.error is None:
            log.info("fetched", **fields)
        else:
            log.warning(
                "fetch_failed", error=result.error, error_count=due.error_count + 1,
                attempts=result.outcome.attempts, **fields,
            )
