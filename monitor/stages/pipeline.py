"""The pipeline after fetching: analyse → group and grade → deliver, plus the jobs that ride on it
(weekly report, shift handover, body and hot-list history retention, volume anomalies, hot
stories) and the leadership hand-over between workers.

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
from monitor.analyze.trends import TrendModel
from monitor.clock import Clock
from monitor.config import Settings, keywords_folder
from monitor.db import hotlists as hotlist_store
from monitor.db import items as item_store
from monitor.db import search
from monitor.db.leadership import Leadership
from monitor.drill.play import advance_recent
from monitor.events.levels import LevelsConfig, load_levels
from monitor.stages.analysis import Analyser
from monitor.stages.grouping import EventStage
from monitor.stages.handover import Handover
from monitor.stages.reports import WeeklyReports
from monitor.stages.trending import HotStories, TrendingFile, load_trending
from monitor.stages.trends import VolumeWatch

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
    volume: VolumeWatch
    trending: TrendingFile
    # The events stage keeps the clustering index in memory; it exists only while this process
    # leads, and is rebuilt from the database when leadership is (re)gained.
    grading: EventStage | None = None
    # Hot stories keep their grouping in memory too, in the leader only (read again on taking over).
    hot: HotStories | None = None
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
        group_names = {gid: group.name for gid, group in library.groups.items()}
        reports = WeeklyReports(sessions, settings, clock, routing, levels.labels, group_names)
        handover = Handover(sessions, routing, clock, levels.labels, settings.public_url)
        volume = VolumeWatch(sessions, routing, clock, ZoneInfo(settings.default_timezone),
                             TrendModel(z=settings.anomaly_z, min_count=settings.anomaly_min_count),
                             group_names, settings.public_url)
        return cls(sessions, settings, clock, analyser, levels, routing, pusher,
                   Leadership(sessions.kw["bind"]), reports, handover, volume,
                   load_trending(settings.trending_file))  # read at start: a bad file stops it there

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
        self.grading.hot = self.hot  # a hot story that names the subject brings its history (once built)
        assigned = self.grading.run_once()
        # a drill (应急演练) graded below its level is raised to it here, so the deployment
        # finishes every drill whoever started it (monitor/drill)
        for step in advance_recent(self.sessions, levels=self.levels, routing=self.routing, now=self.clock.now()):
            log.warning("drill_advanced", step=step)
        return assigned

    def prune_bodies(self) -> int:
        retention = self.settings.body_retention
        if retention is None or not self.leadership.lead():
            return 0
        now = self.clock.now()
        pruned = sum(item_store.prune_bodies_in_batches(self.sessions, before=now - retention, now=now))
        if pruned:
            log.info("bodies_pruned", items=pruned, older_than=str(retention))
        return pruned

    def prune_hotlist_history(self) -> int:
        retention = self.settings.hotlist_history_retention
        if retention is None or not self.leadership.lead():
            return 0
        before = self.clock.now() - retention
        pruned = sum(hotlist_store.prune_rank_history_in_batches(self.sessions, before=before))
        if pruned:
            log.info("hotlist_history_pruned", snapshots=pruned, older_than=str(retention))
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
        await asyncio.to_thread(self.prune_hotlist_history)

    async def shift_handover(self) -> None:
        if await asyncio.to_thread(self.handover.run_once):
            await self.deliver()

    def watch_volume(self) -> int:
        """Bursts of keyword-group volume opened by this check (the leader only: one judge, so
        one alert per burst; the burst's key guards a hand-over race)."""
        if not self.leadership.lead():
            return 0
        return self.volume.run_once()

    def rank_hot_stories(self) -> int:
        if not self.leadership.lead():
            self.hot = None
            return 0
        if self.hot is None:
            self.hot = HotStories(self.sessions, self.clock, self.trending)
        return self.hot.run_once()

    async def hot_stories(self) -> None:
        await asyncio.to_thread(self.rank_hot_stories)

    async def volume_anomalies(self) -> None:
        if await asyncio.to_thread(self.watch_volume):
            await self.deliver()

    async def close(self) -> None:
        await self.pusher.client.aclose()
        self.leadership.release()
