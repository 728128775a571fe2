"""The FastAPI application factory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session, sessionmaker

import monitor
from monitor.alerts.links import AckLinks
from monitor.alerts.routing import NO_ROUTING, Routing
from monitor.analyze.holder import LibraryHolder
from monitor.api import ack, alerts, briefs, console, docs, drills, events, health, hotlists, items, keywords, outlets, reports, stats
from monitor.api import search as search_api
from monitor.api import trending as trending_api
from monitor.api import trends as trends_api
from monitor.api.guard import Guard, domain_error, validation_error
from monitor.api.serialised import FeedPages
from monitor.clock import Clock, SystemClock
from monitor.config import Settings
from monitor.db.engine import make_read_engine
from monitor.errors import DomainError
from monitor.events.levels import load_levels


@dataclass
class Heartbeat:
    """The scheduler's sign of life, read by /readyz."""

    sweep_interval: timedelta
    last_sweep_at: datetime | None = None
    running: bool = False

    def beat(self, now: datetime) -> None:
        self.last_sweep_at = now

    def state(self, now: datetime) -> str:
        if not self.running:
            return "not_running"
        if self.last_sweep_at is None or now - self.last_sweep_at > self.sweep_interval * 3:
            return "stalled"
        return "alive"


def create_app(
    settings: Settings,
    sessions: sessionmaker[Session],
    *,
    clock: Clock | None = None,
    heartbeat: Heartbeat | None = None,
    library: LibraryHolder | None = None,
    level_labels: dict[str, str] | None = None,
    routing: Routing | None = None,
) -> FastAPI:
    app = FastAPI(
        title="Fenghuo 烽火",
        version=monitor.__version__,
        summary="Public-opinion monitoring: outlets, items, events and blue/yellow/orange/red alerts.",
        docs_url=None,  # FastAPI's pages load their scripts from a CDN: ours are served from here
        redoc_url=None,
    )
    app.add_middleware(Guard)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DomainError, domain_error)  # not found / conflict / invalid → 404 / 409 / 422
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.read_engine = make_read_engine(sessions.kw["bind"])  # the read routes' connections (Reader)
    if app.state.read_engine is not sessions.kw["bind"]:
        app.router.on_shutdown.append(app.state.read_engine.dispose)
    app.state.feed_pages = FeedPages()  # the alert feed's pages, each valid while the alerts' version holds
    app.state.clock = clock or SystemClock()
    app.state.heartbeat = heartbeat
    app.state.library = library
    app.state.levels = load_levels(settings.levels_file)
    app.state.routing = routing or NO_ROUTING
    app.state.ack_links = AckLinks(settings.link_secret) if settings.link_secret else None
    app.state.stream_poll_seconds = 1.0  # how often the live feed looks for new alerts
    app.state.level_labels = level_labels or app.state.levels.labels
    app.include_router(health.router)
    # The alert feed is the most requested route and routes are tried in order: it comes early.
    app.include_router(alerts.feed_router)
    app.include_router(alerts.router)
    app.include_router(alerts.deliveries_router)
    app.include_router(outlets.router)
    app.include_router(items.router)
    app.include_router(keywords.router)
    app.include_router(events.router)
    app.include_router(briefs.router)
    app.include_router(stats.router)
    app.include_router(hotlists.router)
    app.include_router(reports.router)
    app.include_router(search_api.router)
    app.include_router(trends_api.router)
    app.include_router(trending_api.router)
    app.include_router(ack.router)
    app.include_router(drills.router)
    app.include_router(console.router)
    app.mount("/console", console.files, name="console")
    app.include_router(docs.pages(app.title))
    app.mount(docs.ASSETS, docs.assets, name="docs-assets")
    return app
