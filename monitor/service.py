"""The long-running service: the crawl sweep on APScheduler and the API on uvicorn, one event loop.

`fenghuo run` and `fenghuo demo` call :func:`serve`; `fenghuo worker` runs it without the API and
`fenghuo api` runs only the API (:func:`serve_api_only`, or :func:`serve_api_processes` for several
API processes), beside workers on PostgreSQL.
Start-up order matters: migrate the database, mirror outlets.yaml into it, then start sweeping and
serving. What happens to fetched items is the Pipeline's (monitor/stages/pipeline.py); this module
adds the fetch sweep, the schedule, the API and an orderly stop on SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import socket
import threading
from datetime import UTC, timedelta

import structlog
import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.alerts.routing import load_routing
from monitor.analyze.holder import LibraryHolder
from monitor.api import Heartbeat, create_app
from monitor.clock import Clock, SystemClock
from monitor.config import OutletConfig, Settings, keywords_folder, parse_workers
from monitor.db import make_engine, make_session_factory, upgrade_database
from monitor.db import outlets as outlet_store
from monitor.db.leadership import OUTLET_SYNC_LOCK, one_at_a_time
from monitor.fetch.http import Fetcher
from monitor.fetch.parsing import FeedParsing
from monitor.stages.crawl import Crawler
from monitor.stages.pipeline import Pipeline

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
    pipeline = Pipeline.from_settings(settings, sessions, clock)
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

        async def analyse_when_items_arrive() -> None:
            while True:
                await crawler.new_items.wait()
                crawler.new_items.clear()
                try:
                    await pipeline.analyse()
                except Exception:  # the interval job retries; this loop must not die
                    log.exception("analysis_failed")

        # What start-up loaded lives as long as the process (keyword library, models, settings,
        # routes): frozen, a full garbage collection no longer walks it. Walking it took 200-500 ms
        # each time fetching churned enough objects to trigger one, and the event loop (and
        # /healthz) stood still meanwhile (BENCHMARKS.md, "Keeping the schedule").
        freeze_startup_heap()
        running = RunningJobs()
        scheduler = _schedule(settings, clock, sweep, pipeline, running)
        scheduler.start()
        woken = asyncio.create_task(analyse_when_items_arrive(), name="analyse-on-arrival")
        heartbeat.running = True
        try:
            if with_api:
                await _serve_api(settings, sessions, clock, heartbeat, pipeline.library, pipeline.routing,
                                 len(outlets))
            else:
                log.info("fetcher_started", outlets=len(outlets))
                await _until_signalled()
        finally:
            heartbeat.running = False
            woken.cancel()
            await stop_scheduler(scheduler, running, timeout=10)
            try:
                await asyncio.wait_for(crawler.drain(), timeout=10)
            except TimeoutError:
                log.warning("shutdown_with_fetches_in_flight")
            crawler.close()
            parsing.close()
            await pipeline.close()
            log.info("service_stopped")


class RunningJobs:
    """The scheduler's jobs in flight. APScheduler's asyncio executor cancels a running job at
    shutdown and logs the CancelledError as the job's failure, with a traceback (an analysis or
    a push was mid-way at each Ctrl-C that came at the wrong moment). A stop lets them finish
    first (`stop_scheduler`); one that outlasts the wait ends with a warning, not a failure."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()

    def wrap(self, job, name: str):
        async def run() -> None:
            task = asyncio.current_task()
            self.tasks.add(task)
            try:
                await job()
            except asyncio.CancelledError:  # only a stop cancels a job: nothing to report but that
                log.warning("job_stopped_at_shutdown", job=name)
            finally:
                self.tasks.discard(task)

        run.__name__ = run.__qualname__ = name
        return run


async def stop_scheduler(scheduler: AsyncIOScheduler, running: RunningJobs, *, timeout: float) -> int:
    """No new runs; the jobs in flight get `timeout` seconds to finish; then the scheduler stops.
    Returns how many were still running (and were stopped)."""
    scheduler.pause()
    late: set = set()
    if running.tasks:
        _done, late = await asyncio.wait(set(running.tasks), timeout=timeout)
        if late:
            log.warning("shutdown_with_jobs_in_flight", jobs=len(late))
    scheduler.shutdown(wait=False)
    return len(late)


def _schedule(settings: Settings, clock: Clock, sweep, pipeline: Pipeline, running: RunningJobs) -> AsyncIOScheduler:
    """One scheduler, one job per periodic duty; none overlaps itself (max_instances=1), and a job
    that fell behind runs once, not once per missed turn (coalesce)."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    now = clock.now()
    jobs = [
        (sweep, {"seconds": settings.sweep_interval.total_seconds()}, now, "sweep"),
        (pipeline.analyse, {"seconds": settings.analysis_interval.total_seconds()}, now, "analyse"),
        (pipeline.deliver, {"seconds": 2}, now, "deliver"),
        (pipeline.weekly_report, {"minutes": 5}, now + timedelta(minutes=1), "weekly_report"),
        (pipeline.retention, {"hours": 1}, now + timedelta(minutes=2), "retention"),
        (pipeline.shift_handover, {"minutes": 1}, now, "handover"),
        (pipeline.volume_anomalies, {"minutes": 5}, now + timedelta(minutes=3), "volume_anomalies"),
        (pipeline.hot_stories, {"minutes": 3}, now + timedelta(seconds=30), "hot_stories"),
    ]
    for job, every, first_run, name in jobs:
        scheduler.add_job(running.wrap(job, name), "interval", **every, next_run_time=first_run, max_instances=1,
                          coalesce=True, id=name)
    return scheduler


async def serve_api_only(settings: Settings, outlets: list[OutletConfig], *, clock: Clock | None = None) -> None:
    """`fenghuo api`: the API alone, for deployments that run workers (`fenghuo worker`) apart.
    Its /readyz checks the database only; the workers' sweeps are theirs to report."""
    clock = clock or SystemClock()
    sessions = await asyncio.to_thread(prepare_database, settings, outlets, clock)
    library = LibraryHolder(keywords_folder(settings))
    routing = load_routing(settings.notify_file)
    freeze_startup_heap()  # `fenghuo run` freezes in serve(), before its scheduler starts
    await _serve_api(settings, sessions, clock, None, library, routing, len(outlets))


def serve_api_processes(settings: Settings, outlets: list[OutletConfig], workers: int) -> None:
    """`fenghuo api --workers N`: N API processes on one port, for more requests per second than
    one process answers under the GIL. Migrating and mirroring the outlets happen here, once;
    then :func:`run_api_processes`."""
    prepare_database(settings, outlets, SystemClock())
    log.info("service_started", api=f"http://{settings.api_host}:{settings.api_port}", workers=workers,
             outlets=len(outlets))
    run_api_processes(settings.api_host, settings.api_port, workers)


def run_api_processes(host: str, port: int, workers: int) -> None:
    """uvicorn's supervisor starts `workers` processes on one listening socket (each builds its app
    with `api_process_app`, from the same environment, with connections of its own), restarts one
    that dies, and stops them all on SIGINT or SIGTERM."""
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("monitor.service:api_process_app", factory=True, workers=workers, host=host,
                            port=port, log_config=None, access_log=False)
    try:
        Multiprocess(config, sockets=[_tcp_listener(host, port)]).run()
    except KeyboardInterrupt:
        pass


def _tcp_listener(host: str, port: int) -> socket.socket:
    """The listening socket, made as asyncio makes its own: with the TCP protocol number. uvicorn's
    (protocol 0) passes that on to every accepted connection, and asyncio then leaves Nagle's
    algorithm on: each answer on a kept-alive connection waited 40 ms for the client's delayed
    ACK, and 10 clients got 210 requests/s where one process answers 2,000 (bench/feed.py)."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )[0]
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(address)
    listener.set_inheritable(True)
    return listener


def api_process_app():
    """The app of one of `fenghuo api --workers N`'s processes (uvicorn calls this in each)."""
    from monitor.config import load_settings
    from monitor.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    sessions = make_session_factory(make_engine(settings.database_url))
    app = create_app(settings, sessions, library=LibraryHolder(keywords_folder(settings)),
                      routing=load_routing(settings.notify_file))
    freeze_startup_heap()
    return app


def freeze_startup_heap() -> None:
    """Leave what start-up made (modules, the app, the word lists) out of the garbage collector's
    full collections: it lives as long as the process, and walking it in every full collection
    stopped the API for 160-180 ms each time, in the middle of requests (/healthz's p99 under 10
    clients 95 ms, with this 13 ms: bench/feed.py)."""
    gc.collect()  # what start-up left unreachable goes first, or it would be kept for good
    gc.freeze()


async def _serve_api(settings, sessions, clock, heartbeat, library, routing, outlet_count: int) -> None:
    app = create_app(settings, sessions, clock=clock, heartbeat=heartbeat, library=library, routing=routing)
    server = _Server(
        uvicorn.Config(
            app, host=settings.api_host, port=settings.api_port, log_config=None, access_log=False
        )
    )
    base = f"http://{settings.api_host}:{settings.api_port}"
    log.info("service_started", api=base, docs=f"{base}/docs", outlets=outlet_count)
    await server.serve()  # returns on SIGINT/SIGTERM, after which the caller cleans up


class _Server(uvicorn.Server):
    """uvicorn, but a stop signal only stops it. uvicorn (0.29+) re-raises SIGINT/SIGTERM once it
    has shut down; a re-raised SIGTERM kills the process there and then (exit 143), skipping the
    caller's cleanup: fetches in flight, the parse pool ("leaked semaphore objects"), leadership.
    `docker stop` sends SIGTERM, so both signals must end in the same orderly stop as Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self):
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only; an embedding program handles them
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.handle_exit, signum, None)
        try:
            yield
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
