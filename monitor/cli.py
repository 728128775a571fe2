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
app.add_typer(outlets_app, name="outlets")
app.add_typer(keywords_app, name="keywords")

console = Console()
errors = Console(stderr=True)

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
    from monitor.analyze.library import LibraryError, load_library
    from monitor.config import keywords_folder

    settings = _settings()
    path = folder or keywords_folder(settings)
    try:
        library = load_library(path)
    except LibraryError as error:
        errors.print(f"[red]keyword library {path} has {len(error.problems)} problem(s)[/red]")
        for problem in error.problems:
            errors.print(problem, highlight=False, markup=False)
        raise typer.Exit(2) from None
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
