"""The pipeline after fetching: analyse → group and grade → deliver, plus the jobs that ride on it
(weekly report, shift handover, body retention) and the leadership hand-over between workers.

One object, built from settings, so that `fenghuo run`, `fenghuo worker`, `fenghuo fetch`, the
benchmarks and anything that replays a timeline wire the stages the same way. The service adds
the fetch sweep and the API around it (monitor/service.py); this module knows nothing of either.

Threads: the stages are synchronous (SQLAlchemy sessions, numpy); the async methods run them in a
worker thread so the event loop (fetching, the API) never waits on scoring or grading.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import httpx
import structlog
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.delivery import DeliveryWorker
from monitor.alerts.links import AckLinks
from monitor.alerts.routing import Routing, load_routing
from monitor.analyze.holder import LibraryHolder
from monitor.analyze.sentiment import load_model
from monitor.clock import Clock
from monitor.config import Settings, keywords_folder
from monitor.db import items as item_store
from monitor.db import search
from monitor.db.leadership import Leadership
from monitor.events.levels import LevelsConfig, load_levels
from monitor.stages.analysis import Analyser
from monitor.stages.events import EventStage
from monitor.stages.handover import Handover
from monitor.stages.reports import WeeklyReports

log = structlog.get_logger("fenghuo.pipeline")


@dataclass
class Pipeline:
    sessions: sessionmaker[Session]
    settings: Settings
    clock: Clock
    analyser: Analyser
    levels: LevelsConfig
    routing: Routing
    pusher: DeliveryWorker
    leadership: Leadership
    reports: WeeklyReports
    handover: Handover
    # The events stage keeps the clustering index in memory; it exists only while this process
    # leads, and is rebuilt from the database when leadership is (re)gained.
    grading: EventStage | None = None
    _analysing: asyncio.Lock = field(default_factory=asyncio.Lock)
    _delivering: asyncio.Lock = field(default_factory=asyncio.Lock)
    _indexing: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def from_settings(
        cls, settings: Settings, sessions: sessionmaker[Session], clock: Clock,
        *, push_client: httpx.AsyncClient | None = None,
    ) -> Pipeline:
        analyser = Analyser(sessions, LibraryHolder(keywords_folder(settings)),
                            load_model(settings.sentiment_model), clock)
        levels = load_levels(settings.levels_file)
        routing = load_routing(settings.notify_file)
        pusher = DeliveryWorker(
            sessions, routing, clock,
            push_client or httpx.AsyncClient(timeout=httpx.Timeout(10.0), trust_env=False), levels.labels,
            settings.public_url, ZoneInfo(settings.default_timezone),
            AckLinks(settings.link_secret) if settings.link_secret else None,
            settings.delivery_lease,
        )
        library = analyser.library.library
        reports = WeeklyReports(sessions, settings, clock, routing, levels.labels,
                                {gid: group.name for gid, group in library.groups.items()})
        handover = Handover(sessions, routing, clock, levels.labels, settings.public_url)
        return cls(sessions, settings, clock, analyser, levels, routing, pusher,
                   Leadership(sessions.kw["bind"]), reports, handover)

    @property
    def library(self) -> LibraryHolder:
        return self.analyser.library

    # -- synchronous steps, run in a worker thread by the async ones below ------------------------

    def analyse_and_grade(self) -> int:
        """Score what is pending (every worker, batches claimed row by row); then, in the leader
        only, group and grade. Returns the items assigned to events (0 when not leading)."""
        self.analyser.library.reload_if_changed()
        self.analyser.run_once()
        if not self.leadership.lead():
            self.grading = None  # we may take over later: rebuild the index from the database then
            return 0
        if self.grading is None:
            self.grading = EventStage(self.sessions, self.levels, self.clock, self.routing)
        return self.grading.run_once()

    def prune_bodies(self) -> int:
        retention = self.settings.body_retention
        if retention is None or not self.leadership.lead():
            return 0
        now = self.clock.now()
        pruned = sum(item_store.prune_bodies_in_batches(self.sessions, before=now - retention, now=now))
        if pruned:
            log.info("bodies_pruned", items=pruned, older_than=str(retention))
        return pruned

    # -- the jobs the service schedules -----------------------------------------------------------

    async def analyse(self) -> None:
        async with self._analysing:  # the interval job and a fetch's wake-up never analyse at once
            await asyncio.to_thread(self.analyse_and_grade)
        # An escalation just queued its pushes: send them now rather than at the next delivery
        # sweep, so a red alert leaves seconds after its item was fetched.
        await self.deliver()
        # Then the search index takes the new items (queued as they were stored): after the
        # alerts, so that indexing never delays one; the queue stays seconds long.
        async with self._indexing:
            await asyncio.to_thread(search.index_backlog, self.sessions)

    async def deliver(self) -> None:
        async with self._delivering:  # the sweep and the post-grading run never overlap
            await self.pusher.run_once()

    async def weekly_report(self) -> None:
        # Checked every few minutes, not only at the report time: a service that was down on
        # Monday at 08:00 makes the report when it is back. Once cluster-wide (the week's row).
        await asyncio.to_thread(self.reports.run_if_due)

    async def retention(self) -> None:
        await asyncio.to_thread(self.prune_bodies)

    async def shift_handover(self) -> None:
        if await asyncio.to_thread(self.handover.run_once):
            await self.deliver()

    async def close(self) -> None:
        await self.pusher.client.aclose()
        self.leadership.release()
