"""The `fenghuo` command."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from monitor.clock import SystemClock
from monitor.config import ConfigError, OutletConfig, Settings, load_outlets, load_settings
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


def _settings(**overrides) -> Settings:
    try:
        settings = load_settings(**overrides)
    except ConfigError as error:
        errors.print(f"[red]configuration error[/red]\n{error}", highlight=False)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _outlets(path: Path) -> list[OutletConfig]:
    try:
        return load_outlets(path)
    except ConfigError as error:
        errors.print(f"[red]outlet configuration error[/red]\n{error}", highlight=False)
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations (run automatically by `fenghuo run`)."""
    from monitor.db import upgrade_database

    settings = _settings()
    upgrade_database(settings.database_url)
    console.print(f"database at head: {_redacted(settings.database_url)}")


@outlets_app.command("check")
def outlets_check(
    outlets: OutletsOption = None,
    probe: Annotated[bool, typer.Option(help="Fetch each outlet once and report what came back")] = False,
) -> None:
    """Validate outlets.yaml; with --probe, fetch each outlet once (nothing is stored)."""
    settings = _settings()
    path = outlets or settings.outlets_file
    configs = _outlets(path)
    if not probe:
        table = Table("id", "name", "kind", "tier", "region", "interval", "url", title=str(path))
        for c in configs:
            table.add_row(c.id, c.name, c.kind, c.tier, c.region, _duration(c.interval), str(c.url))
        console.print(table)
        console.print(f"[green]{len(configs)} outlets valid[/green]")
        return
    results = asyncio.run(_probe(settings, configs))
    table = Table("id", "status", "items", "encoding", "time", "error", title=f"probe of {path}")
    failed = 0
    for config, result, elapsed in results:
        ok = result.error is None
        failed += not ok
        table.add_row(
            config.id, f"[{'green' if ok else 'red'}]{result.status}[/]", str(len(result.entries)),
            result.encoding or "-", f"{elapsed:.2f}s", result.error or "",
        )
    console.print(table)
    if failed:
        raise typer.Exit(1)


async def _probe(settings: Settings, configs: list[OutletConfig]):
    import time

    from monitor.fetch.http import Fetcher
    from monitor.fetch.outlet import fetch_outlet

    # A probe looks at a few articles per list page; it is a check, not a crawl.
    settings = settings.model_copy(update={"max_articles_per_fetch": 3})
    async with Fetcher(settings) as fetcher:

        async def one(config: OutletConfig):
            started = time.monotonic()
            result = await fetch_outlet(fetcher, config, settings)
            return config, result, time.monotonic() - started

        with _progress() as progress:
            task = progress.add_task("probing", total=len(configs))
            results = []
            for coroutine in asyncio.as_completed([one(c) for c in configs]):
                results.append(await coroutine)
                progress.advance(task)
    order = {c.id: n for n, c in enumerate(configs)}
    return sorted(results, key=lambda r: order[r[0].id])


@keywords_app.command("check")
def keywords_check(
    folder: Annotated[Path | None, typer.Argument(help="Library folder (default: FENGHUO_KEYWORDS_DIR)")] = None,
) -> None:
    """Validate the keyword library; list its groups and rules, or every problem with its place."""
    from monitor.config import keywords_folder

    settings = _settings()
    path = folder or keywords_folder(settings)
    library = _library(settings, path)
    table = Table("group", "name", "sensitivity", "terms", "rules", title=f"{path} · version {library.version}")
    for group in library.groups.values():
        rules = [r.id for r in library.rules.values() if r.group == group.id]
        table.add_row(
            group.id, group.name, f"{group.sensitivity:g}", str(len(group.terms)), ", ".join(rules)
        )
    console.print(table)
    console.print(
        f"[green]library valid[/green]: {len(library.groups)} groups, {len(library.rules)} rules, "
        f"{len(library.all_terms)} terms and aliases"
    )


@keywords_app.command("backtest")
def keywords_backtest(
    candidate: Annotated[Path, typer.Argument(help="The changed library folder to try")],
    against: Annotated[Path | None, typer.Option(help="The library in service (default: FENGHUO_KEYWORDS_DIR)")] = None,
    days: Annotated[int, typer.Option(min=1, help="Stored items of the last N days")] = 7,
    show: Annotated[int, typer.Option(help="Gained and lost items to list")] = 10,
) -> None:
    """Run a changed library against stored items: what it would match that the current one does not, and the reverse."""
    from datetime import timedelta as _timedelta

    from monitor.analyze.backtest import backtest
    from monitor.db import items as item_store
    from monitor.db import make_engine, make_session_factory, upgrade_database

    settings = _settings()
    current = _library(settings, against)
    changed = _library(settings, candidate)
    upgrade_database(settings.database_url)
    sessions = make_session_factory(make_engine(settings.database_url))
    since = SystemClock().now() - _timedelta(days=days)
    with sessions() as session:
        total = item_store.count_items_since(session, since=since)

    def pages():
        after_id = 0
        while True:
            with sessions() as session:
                page = item_store.items_since(session, since=since, after_id=after_id)
            if not page:
                return
            yield from page
            progress.advance(task, len(page))
            after_id = page[-1][0]

    with _progress() as progress:
        task = progress.add_task("matching", total=total)
        result = backtest(current, changed, pages())
    table = Table(
        "group", "current", "candidate", "gained", "lost",
        title=f"{result.items} items of the last {days} days · {current.version} → {changed.version}",
    )
    for change in result.groups.values():
        table.add_row(change.group, str(change.current), str(change.candidate),
                      f"+{len(change.gained)}", f"-{len(change.lost)}")
    console.print(table)
    with sessions() as session:
        titles = item_store.titles_of(session, ids=list(result.changed_items))
    for label, rules in (("gained", result.gained_rules), ("lost", result.lost_rules)):
        for item_id, fired in list(rules.items())[:show]:
            sign = "+" if label == "gained" else "-"
            console.print(f"  {sign} #{item_id} {titles.get(item_id, '')}  [{', '.join(sorted(set(fired)))}]", highlight=False)
    if not result.changed_items:
        console.print("no item would be matched differently")


def _sessions(settings: Settings):
    from monitor.db import make_engine, make_session_factory, upgrade_database

    upgrade_database(settings.database_url)
    return make_session_factory(make_engine(settings.database_url))


@events_app.command("list")
def events_list(
    status: Annotated[str | None, typer.Option(help="open or closed")] = None,
    limit: Annotated[int, typer.Option(help="How many")] = 30,
) -> None:
    """Events, most recently active first, with level, spread and first source."""
    from monitor.db import events as event_store

    settings = _settings()
    labels = _levels(settings).labels
    with _sessions(settings)() as session:
        events = event_store.list_events(session, status=status, limit=limit)
    table = Table("id", "level", "status", "items", "outlets", "first source", "title")
    for event in events:
        table.add_row(
            str(event.id), labels.get(event.level, "—") if event.level else "—", event.status,
            str(event.item_count), str(event.metrics.get("outlets", "")),
            f"{event.first_outlet_id} {event.first_at:%m-%d %H:%M}", event.title,
        )
    console.print(table)


@events_app.command("log")
def events_log(event: Annotated[int | None, typer.Argument(help="Only this event")] = None) -> None:
    """The escalation log: every level and status change, who made it and why."""
    from monitor.db import events as event_store

    settings = _settings()
    with _sessions(settings)() as session:
        entries = event_store.escalation_log(session, event_id=event)
    table = Table("at (UTC)", "event", "change", "from", "to", "by", "why")
    for e in entries:
        why = e.reason + ("; " + "; ".join(e.reasons) if e.reasons and e.actor == "auto" else "")
        table.add_row(f"{e.at:%Y-%m-%d %H:%M}", str(e.event_id), e.kind, e.from_level or "—",
                      e.to_level or "—", e.actor, why)
    console.print(table)


@events_app.command("set-level")
def events_set_level(
    event: Annotated[int, typer.Argument(help="Event id")],
    level: Annotated[str, typer.Argument(help="blue, yellow, orange, red, or none")],
    by: Annotated[str, typer.Option("--by", help="Who decides (recorded in the log)")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the log)")],
) -> None:
    """Escalate or downgrade an event by hand; the log records who and why."""
    from monitor.db.events import TransitionError
    from monitor.stages.events import EventStage

    settings = _settings()
    stage = EventStage(_sessions(settings), _levels(settings), SystemClock())
    try:
        entry = stage.set_level(event, None if level == "none" else level, actor=by, reason=reason)
    except TransitionError as error:
        errors.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"event {event}: {entry.kind} {entry.from_level or 'none'} → {entry.to_level or 'none'} by {entry.actor}")


def _library(settings: Settings, folder: Path | None = None):
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


def _levels(settings: Settings):
    from monitor.events.levels import load_levels

    try:
        return load_levels(settings.levels_file)
    except ConfigError as error:
        errors.print(f"[red]warning-level configuration error[/red]\n{error}", highlight=False)
        raise typer.Exit(2) from None


def _model(name: str):
    from monitor.analyze.sentiment import ModelError, load_model

    try:
        return load_model(name)
    except ModelError as error:
        errors.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from None


@app.command()
def score(
    text: Annotated[str | None, typer.Argument(help="The text to score (the body)")] = None,
    title: Annotated[str, typer.Option(help="A title; hits in it weigh more")] = "",
    file: Annotated[Path | None, typer.Option("--file", help="Read the body from this file")] = None,
    model: Annotated[str | None, typer.Option(help="Sentiment model (default: FENGHUO_SENTIMENT_MODEL)")] = None,
) -> None:
    """Score one text as an item would be: keyword hits, sentiment, risk and the reasons."""
    from monitor.analyze.score import score_item

    settings = _settings()
    if file is not None:
        text = file.read_text(encoding="utf-8")
    if not text and not title:
        errors.print("[red]give a text, --title or --file[/red]")
        raise typer.Exit(2)
    result = score_item(title, text or "", _library(settings), _model(model or settings.sentiment_model))
    console.print(f"[bold]risk {result.risk}[/bold]/100   keyword strength {result.keyword_strength:.2f}   "
                  f"negative {result.negative_probability:.2f} (whole text {result.item_negative_probability:.2f})   "
                  f"library {result.library_version} · model {result.model}", highlight=False)
    table = Table("rule", "group", "terms", "where")
    for hit in result.hits:
        table.add_row(hit.rule, hit.group, "、".join(hit.terms), "title" if hit.in_title else "body")
    if result.hits:
        console.print(table)
    for reason in result.reasons:
        console.print(f"  · {reason.detail}", highlight=False)


@app.command()
def analyze(
    backfill: Annotated[bool, typer.Option("--backfill", help="Also re-score items scored by another library version or model")] = False,
) -> None:
    """Score stored items that have no score yet, then group and grade events (the service does both continuously)."""
    from monitor.analyze.holder import LibraryHolder
    from monitor.config import keywords_folder
    from monitor.stages.analysis import Analyser
    from monitor.stages.events import EventStage

    settings = _settings()
    _library(settings)  # report a broken library the friendly way before anything else
    levels = _levels(settings)
    sessions = _sessions(settings)
    clock = SystemClock()
    analyser = Analyser(
        sessions, LibraryHolder(keywords_folder(settings)), _model(settings.sentiment_model), clock
    )
    pending = analyser.count_pending(backfill=backfill)
    with _progress() as progress:
        task = progress.add_task("scoring", total=pending)
        done = analyser.run_once(backfill=backfill, on_progress=lambda n: progress.advance(task, n))
    assigned = EventStage(sessions, levels, clock).run_once()
    console.print(
        f"{done} items scored with library {analyser.library.library.version} and model "
        f"{analyser.model.name}; {assigned} items grouped into events"
    )


@sentiment_app.command("eval")
def sentiment_eval(
    file: Annotated[Path, typer.Argument(help="Labelled CSV/TSV (1 = positive, 0 = negative), or a .zip of one")],
    model: Annotated[str | None, typer.Option(help="Model name (default: FENGHUO_SENTIMENT_MODEL)")] = None,
) -> None:
    """Measure a sentiment model on your own labelled data: accuracy, negative-class P/R/F1."""
    from monitor.analyze.sentiment import ModelError, evaluate, read_labelled

    settings = _settings()
    chosen = _model(model or settings.sentiment_model)
    try:
        rows = read_labelled(file)
    except (ModelError, OSError) as error:
        errors.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from None
    with _progress() as progress:
        progress.add_task(f"scoring {len(rows)} texts", total=None)
        result = evaluate(chosen, rows)
    console.print(f"{file}: {result.total} texts, model {chosen.name}", highlight=False)
    console.print(f"accuracy            {result.accuracy:.4f}")
    console.print(f"negative precision  {result.negative_precision:.4f}")
    console.print(f"negative recall     {result.negative_recall:.4f}   (share of negative texts caught)")
    console.print(f"negative F1         {result.negative_f1:.4f}")
    matrix = Table("", "called negative", "called positive", title="confusion matrix")
    matrix.add_row("negative (0)", str(result.true_negative), str(result.missed_negative))
    matrix.add_row("positive (1)", str(result.false_positive_alarm), str(result.true_positive))
    console.print(matrix)


@app.command()
def fetch(
    once: Annotated[bool, typer.Option("--once", help="Fetch what is due once and exit")] = False,
    outlet: Annotated[list[str] | None, typer.Option("--outlet", help="Only this outlet (repeatable)")] = None,
    all_outlets: Annotated[bool, typer.Option("--all", help="Every enabled outlet, due or not")] = False,
    outlets: OutletsOption = None,
) -> None:
    """Fetch outlets and store new items: --once with a progress bar, else on schedule (no API)."""
    from monitor.config import parse_workers
    from monitor.fetch.http import Fetcher
    from monitor.fetch.parsing import FeedParsing
    from monitor.fetch.scheduler import Crawler
    from monitor.service import prepare_database, serve

    settings = _settings()
    configs = _outlets(outlets or settings.outlets_file)
    if not once:
        asyncio.run(serve(settings, configs, with_api=False))
        return
    if outlet:
        unknown = sorted(set(outlet) - {c.id for c in configs})
        if unknown:
            errors.print(f"[red]unknown outlet id(s): {', '.join(unknown)}[/red]")
            raise typer.Exit(2)
    clock = SystemClock()
    sessions = prepare_database(settings, configs, clock)

    async def run():
        parsing = FeedParsing(parse_workers(settings))
        async with Fetcher(settings) as fetcher:
            crawler = Crawler(settings, sessions, fetcher, clock, parsing)
            try:
                with _progress() as progress:
                    task = progress.add_task("fetching", total=None)
                    return await crawler.run_due(
                        only=outlet or None,
                        ignore_schedule=bool(outlet) or all_outlets,
                        on_claimed=lambda n: progress.update(task, total=n),
                        on_done=lambda _run: progress.advance(task),
                    )
            finally:
                crawler.close()
                parsing.close()

    runs = asyncio.run(run())
    failed = [r for r in runs if r.error]
    new = sum(r.new_items for r in runs)
    console.print(
        f"{len(runs)} outlets fetched, {new} new items, {len(failed)} failed"
        + ("" if runs else " (nothing due; --all fetches every outlet now)")
    )
    for r in failed:
        console.print(f"  [red]{r.outlet_id}[/red]: {r.error}", highlight=False)


@app.command()
def run(outlets: OutletsOption = None) -> None:
    """Run the service: migrate, then fetch on schedule and serve the API."""
    from monitor.service import serve

    settings = _settings()
    configs = _outlets(outlets or settings.outlets_file)
    _library(settings)  # refuse to start on a broken library, with its problems listed
    _model(settings.sentiment_model)
    _levels(settings)
    asyncio.run(serve(settings, configs))


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="API port")] = 8000,
    farm_port: Annotated[int, typer.Option(help="Port of the demo outlets (0: any free port)")] = 0,
    step: Annotated[int, typer.Option(help="Seconds between two new items per demo outlet")] = 30,
) -> None:
    """Start the bundled demo outlets on 127.0.0.1 and run the service against them."""
    from monitor.demo.farm import DemoFarm, write_demo_outlets
    from monitor.service import serve

    os.environ.setdefault("FENGHUO_DATABASE_URL", "sqlite:///./fenghuo-demo.db")
    farm = DemoFarm(port=farm_port, step=timedelta(seconds=step)).start()
    # The demo outlets live on loopback, which the private-network guard refuses by default;
    # and they are our own server, so the one-second politeness gap per host is not needed.
    settings = _settings(
        api_port=port, allow_networks=["127.0.0.0/8"], per_host_delay=timedelta(milliseconds=50),
        per_host_concurrency=4,
    )
    with tempfile.TemporaryDirectory() as folder:
        path = write_demo_outlets(farm.base_url, Path(folder) / "demo-outlets.yaml")
        configs = _outlets(path)
        _library(settings)
        _model(settings.sentiment_model)
        _levels(settings)
        console.print(
            f"[bold]烽火 demo[/bold]: {len(configs)} sample outlets at {farm.base_url}\n"
            f"  API  http://{settings.api_host}:{port}/api/v1/items   docs  http://{settings.api_host}:{port}/docs\n"
            f"  database {_redacted(settings.database_url)}; stop with Ctrl-C",
            highlight=False,
        )
        try:
            asyncio.run(serve(settings, configs))
        finally:
            farm.stop()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=not sys.stderr.isatty(),
    )


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _redacted(url: str) -> str:
    """Database URLs may carry a password; never print it."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


if __name__ == "__main__":
    app()
