"""Shared parts of the `fenghuo` command: the Typer apps, consoles, and loaders that turn a
configuration problem into a clear message and exit status 2."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from monitor.config import (
    ConfigError,
    OutletConfig,
    Settings,
    load_outlets,
    load_settings,
)
from monitor.logs import configure_logging

app = typer.Typer(
    help="Fenghuo (烽火): public-opinion monitoring with blue/yellow/orange/red warning levels.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
outlets_app = typer.Typer(help="Outlet configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
keywords_app = typer.Typer(help="The keyword library.", no_args_is_help=True)
sentiment_app = typer.Typer(help="Sentiment models.", no_args_is_help=True)
events_app = typer.Typer(help="Events, warning levels and the escalation log.", no_args_is_help=True)
app.add_typer(events_app, name="events")
app.add_typer(sentiment_app, name="sentiment")
app.add_typer(outlets_app, name="outlets")
app.add_typer(keywords_app, name="keywords")

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)  # an error line is copied whole, never wrapped

OutletsOption = Annotated[
    Path | None, typer.Option("--outlets", "-o", help="outlets.yaml (default: FENGHUO_OUTLETS_FILE)")
]

def settings_or_exit(**overrides) -> Settings:
    try:
        settings = load_settings(**overrides)
    except ConfigError as error:
        errors.print(f"[red]configuration error[/red]\n{error}", highlight=False)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_format)
    return settings


def outlets_or_exit(path: Path) -> list[OutletConfig]:
    try:
        return load_outlets(path)
    except ConfigError as error:
        errors.print(f"[red]outlet configuration error[/red]\n{error}", highlight=False)
        raise typer.Exit(2) from None

def migrated_sessions(settings: Settings):
    from monitor.db import make_engine, make_session_factory, upgrade_database

    upgrade_database(settings.database_url)
    return make_session_factory(make_engine(settings.database_url))

def existing_sessions(settings: Settings, command: str):
    """Sessions on a database that already exists, for commands that read (a report, a brief).
    SQLite creates a file on first connection: a mistyped or missing FENGHUO_DATABASE_URL would
    silently give an empty database and an all-zero report, so a missing file is an error that
    names the setting (and the demo's database, the likeliest one meant)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).exists():
            errors.print(
                f"[red]no database at {url.database}[/red] (FENGHUO_DATABASE_URL={redacted(settings.database_url)}); "
                f"nothing to read.\nThe demo's data is in ./fenghuo-demo.db: "
                f"FENGHUO_DATABASE_URL=sqlite:///./fenghuo-demo.db fenghuo {command}",
                highlight=False,
            )
            raise typer.Exit(2)
    return migrated_sessions(settings)


def library_or_exit(settings: Settings, folder: Path | None = None):
    from monitor.analyze.library import LibraryError, load_library
    from monitor.config import keywords_folder

    path = folder or keywords_folder(settings)
    try:
        return load_library(path)
    except LibraryError as error:
        errors.print(f"[red]keyword library {path} has {len(error.problems)} problem(s)[/red]")
        for problem in error.problems:
            errors.print(problem, highlight=False, markup=False)
        raise typer.Exit(2) from None


def levels_or_exit(settings: Settings):
    from monitor.events.levels import load_levels

    try:
        return load_levels(settings.levels_file)
    except ConfigError as error:
        errors.print(f"[red]warning-level configuration error[/red]\n{error}", highlight=False)
        raise typer.Exit(2) from None


def routing_or_exit(settings: Settings):
    """notify.yaml (and the roster it names) checked before the service starts: a broken file is a
    message naming the file, not a traceback from inside the running service."""
    from monitor.alerts.routing import load_routing

    try:
        return load_routing(settings.notify_file)
    except ConfigError as error:
        errors.print(f"[red]notification configuration error[/red]\n{error}", highlight=False)
        raise typer.Exit(2) from None


def model_or_exit(name: str):
    from monitor.analyze.sentiment import ModelError, load_model

    try:
        return load_model(name)
    except ModelError as error:
        errors.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from None

def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=not sys.stderr.isatty(),
    )


def short_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def display_zone(settings: Settings) -> ZoneInfo:
    """The deployment's one zone for people (FENGHUO_DEFAULT_TIMEZONE): tables show times in it, as
    the console and the reports do, and name it in the column header."""
    return ZoneInfo(settings.default_timezone)


def local_time(moment: datetime | None, zone: ZoneInfo, pattern: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return "—"
    if moment.tzinfo is None:  # stored times are UTC; never let a naive one take the machine's zone
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime(pattern)


def redacted(url: str) -> str:
    """Database URLs may carry a password; never print it."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"
