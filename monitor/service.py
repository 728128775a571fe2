"""The long-running service: the crawl sweep on APScheduler and the API on uvicorn, one event loop.

`fenghuo run` and `fenghuo demo` call :func:`serve`; `fenghuo worker` runs it without the API and
`fenghuo api` runs only the API (:func:`serve_api_only`), for several workers on PostgreSQL. Start-up order matters: migrate the database,
mirror outlets.yaml into it, then start sweeping and serving.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import httpx
import structlog
import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.alerts.delivery import DeliveryWorker
from monitor.alerts.links import AckLinks
from monitor.alerts.routing import load_routing
from monitor.analyze.holder import LibraryHolder
from monitor.analyze.sentiment import load_model
from monitor.api import Heartbeat, create_app
from monitor.clock import Clock, SystemClock
from monitor.config import OutletConfig, Settings, keywords_folder, parse_workers
from monitor.db import make_engine, make_session_factory, upgrade_database
from monitor.db import items as item_store
from monitor.db import outlets as outlet_store
from monitor.db.leadership import OUTLET_SYNC_LOCK, Leadership, one_at_a_time
from monitor.events.levels import load_levels
from monitor.fetch.http import Fetcher
from monitor.fetch.parsing import FeedParsing
from monitor.fetch.scheduler import Crawler
from monitor.stages.analysis import Analyser
from monitor.stages.events import EventStage
from monitor.stages.handover import Handover
from monitor.stages.reports import WeeklyReports

log = structlog.get_logger("fenghuo.service")


def prepare_database(settings: Settings, outlets: list[OutletConfig], clock: Clock):
    """Migrate, then mirror the outlet config. Returns the session factory."""
    upgrade_database(settings.database_url)
    sessions = make_session_factory(make_engine(settings.database_url))
    mirror_outlets(sessions, outlets, clock)
    return sessions


def mirror_outlets(sessions, outlets: list[OutletConfig], clock: Clock) -> None:
    """outlets.yaml into the outlets table: new ones added, changed ones updated, removed ones
    disabled (their items kept)."""
    with sessions.begin() as session:
        # Workers started together would insert the same new outlets at once: one at a time.
        one_at_a_time(session, OUTLET_SYNC_LOCK)
        summary = outlet_store.sync_outlets(session, configs=outlets, now=clock.now())
    log.info(
        "outlets_synced", total=len(outlets), added=len(summary.added),
        updated=len(summary.updated), disabled=len(summary.disabled),
    )
    for outlet in outlets:
        if not outlet.respect_robots:
            log.warning("robots_txt_ignored", outlet=outlet.id, url=str(outlet.url))


async def serve(
    settings: Settings,
    outlets: list[OutletConfig],
    *,
    clock: Clock | None = None,
    with_api: bool = True,
) -> None:
    """Sweep on schedule and (with_api) serve the API, until SIGINT/SIGTERM."""
    clock = clock or SystemClock()
    sessions = await asyncio.to_thread(prepare_database, settings, outlets, clock)
    heartbeat = Heartbeat(settings.sweep_interval)
    parsing = FeedParsing(parse_workers(settings))
    async with Fetcher(settings) as fetcher:
        crawler = Crawler(settings, sessions, fetcher, clock, parsing)

        async def sweep() -> None:
            try:
                started = await crawler.tick()
            except Exception as error:  # the database refuses or is gone: say so, try next tick
                log.error("sweep_failed", error=f"{type(error).__name__}: {str(error).splitlines()[0]}")
                return  # no heartbeat: /readyz reports the scheduler stalled until sweeps succeed
            heartbeat.beat(clock.now())
            if started:
                log.debug("sweep", started=started)

        analyser = Analyser(sessions, LibraryHolder(keywords_folder(settings)), load_model(settings.sentiment_model), clock)

        levels = load_levels(settings.levels_file)
        routing = load_routing(settings.notify_file)
        leadership = Leadership(sessions.kw["bind"])
        grading: dict[str, EventStage | None] = {"stage": None}
        pusher = DeliveryWorker(
            sessions, routing, clock,
            httpx.AsyncClient(timeout=httpx.Timeout(10.0), trust_env=False), levels.labels,
            settings.public_url, ZoneInfo(settings.default_timezone),
            AckLinks(settings.link_secret) if settings.link_secret else None,
            settings.delivery_lease,
        )

        def analyse_and_grade() -> None:
            # Every worker scores (batches claimed row by row); one, the leader, groups and grades.
            analyser.library.reload_if_changed()
            analyser.run_once()
            if not leadership.lead():
                grading["stage"] = None  # rebuild the index from the database if we take over
                return
            if grading["stage"] is None:  # a new leader: the clustering index from the database
                grading["stage"] = EventStage(sessions, levels, clock, routing)
            grading["stage"].run_once()

        analysing = asyncio.Lock()

        async def analyse() -> None:
            async with analysing:  # the tick and a fetch's wake-up never analyse at once
                await asyncio.to_thread(analyse_and_grade)
            # An escalation just queued its pushes: send them now rather than at the next
            # delivery sweep, so a red alert leaves seconds after its item was fetched.
            await deliver()

        async def analyse_when_items_arrive() -> None:
            while True:
                await crawler.new_items.wait()
                crawler.new_items.clear()
                try:
                    await analyse()
                except Exception:  # the interval job retries; this loop must not die
                    log.exception("analysis_failed")

        delivering = asyncio.Lock()

        async def deliver() -> None:
            async with delivering:  # the sweep and the post-grading run never overlap
                await pusher.run_once()

        library = analyser.library.library
        reports = WeeklyReports(sessions, settings, clock, routing, levels.labels,
                                {gid: group.name for gid, group in library.groups.items()})

        async def weekly_report() -> None:
            # Checked every few minutes, not only at the report time: a service that was down on
            # Monday at 08:00 makes the report when it is back. Once cluster-wide (the week's row).
            await asyncio.to_thread(reports.run_if_due)

        handover = Handover(sessions, routing, clock, levels.labels, settings.public_url)

        def prune_bodies() -> None:
            if settings.body_retention is None or not leadership.lead():
                return
            now = clock.now()
            pruned = sum(item_store.prune_bodies_in_batches(sessions, before=now - settings.body_retention, now=now))
            if pruned:
                log.info("bodies_pruned", items=pruned, older_than=str(settings.body_retention))

        async def retention() -> None:
            await asyncio.to_thread(prune_bodies)

        async def shift_handover() -> None:
            if await asyncio.to_thread(handover.run_once):
                await deliver()

        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            sweep, "interval", seconds=settings.sweep_interval.total_seconds(),
            next_run_time=clock.now(), max_instances=1, coalesce=True, id="sweep",
        )
        scheduler.add_job(
            analyse, "interval", seconds=settings.analysis_interval.total_seconds(),
            next_run_time=clock.now(), max_instances=1, coalesce=True, id="analyse",
        )
        scheduler.add_job(
            deliver, "interval", seconds=2, next_run_time=clock.now(), max_instances=1,
            coalesce=True, id="deliver",
        )
        scheduler.add_job(
            weekly_report, "interval", minutes=5, next_run_time=clock.now() + timedelta(minutes=1),
            max_instances=1, coalesce=True, id="weekly_report",
        )
        scheduler.add_job(
            retention, "interval", hours=1, next_run_time=clock.now() + timedelta(minutes=2),
            max_instances=1, coalesce=True, id="retention",
        )
        scheduler.add_job(
            shift_handover, "interval", minutes=1, next_run_time=clock.now(), max_instances=1,
            coalesce=True, id="handover",
        )
        scheduler.start()
        woken = asyncio.create_task(analyse_when_items_arrive(), name="analyse-on-arrival")
        heartbeat.running = True
        try:
            if with_api:
                await _serve_api(settings, sessions, clock, heartbeat, analyser.library, routing, len(outlets))
            else:
                log.info("fetcher_started", outlets=len(outlets))
                await _until_signalled()
        finally:
            heartbeat.running = False
            woken.cancel()
            scheduler.shutdown(wait=False)
            try:
                await asyncio.wait_for(crawler.drain(), timeout=10)
            except TimeoutError:
                log.warning("shutdown_with_fetches_in_flight")
            crawler.close()
            parsing.close()
            await pusher.client.aclose()
            leadership.release()


async def serve_api_only(settings: Settings, outlets: list[OutletConfig], *, clock: Clock | None = None) -> None:
    """`fenghuo api`: the API alone, for deployments that run workers (`fenghuo worker`) apart.
    Its /readyz checks the database only; the workers' sweeps are theirs to report."""
    clock = clock or SystemClock()
    sessions = await asyncio.to_thread(prepare_database, settings, outlets, clock)
    library = LibraryHolder(keywords_folder(settings))
    routing = load_routing(settings.notify_file)
    await _serve_api(settings, sessions, clock, None, library, routing, len(outlets))


async def _serve_api(settings, sessions, clock, heartbeat, library, routing, outlet_count: int) -> None:
    app = create_app(settings, sessions, clock=clock, heartbeat=heartbeat, library=library, routing=routing)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=settings.api_host, port=settings.api_port, log_config=None, access_log=False
        )
    )
    base = f"http://{settings.api_host}:{settings.api_port}"
    log.info("service_started", api=base, docs=f"{base}/docs", outlets=outlet_count)
    await server.serve()  # returns on SIGINT/SIGTERM (uvicorn installs the handlers)


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
