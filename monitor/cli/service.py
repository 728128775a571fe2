"""`fenghuo run`, `demo`, `fetch`, `outlets check`, `db upgrade`: the service and fetching."""

from __future__ import annotations

import asyncio
import html
import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from monitor.cli.base import (
    OutletsOption,
    app,
    console,
    db_app,
    errors,
    levels_or_exit,
    library_or_exit,
    migrated_sessions,
    model_or_exit,
    outlets_app,
    routing_or_exit,
    outlets_or_exit,
    progress_bar,
    redacted,
    settings_or_exit,
    short_duration,
)
from monitor.clock import SystemClock
from monitor.config import OutletConfig, Settings


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all database migrations (run automatically by `fenghuo run`)."""
    from monitor.db import upgrade_database

    settings = settings_or_exit()
    upgrade_database(settings.database_url)
    console.print(f"database at head: {redacted(settings.database_url)}")


@db_app.command("prune")
def db_prune(
    older_than: Annotated[str | None, typer.Option(help="e.g. 90d (default: FENGHUO_BODY_RETENTION)")] = None,
) -> None:
    """Empty the raw text of items older than the retention (the service does this hourly);
    titles, links, scores, events and the escalation log are kept."""
    from monitor.config import parse_duration
    from monitor.db import items as item_store
    from monitor.db.models import Item
    from sqlalchemy import func, select

    settings = settings_or_exit(**({"body_retention": older_than} if older_than else {}))
    if settings.body_retention is None:
        errors.print("retention is off (FENGHUO_BODY_RETENTION is empty): nothing to prune")
        raise typer.Exit(2)
    sessions = migrated_sessions(settings)
    now = SystemClock().now()
    before = now - parse_duration(settings.body_retention)
    with sessions() as session:
        total = session.scalar(select(func.count()).select_from(Item).where(
            Item.first_seen_at < before, Item.pruned_at.is_(None)))
    pruned = 0
    with progress_bar() as progress:
        task = progress.add_task("pruning item bodies", total=total)
        for done in item_store.prune_bodies_in_batches(sessions, before=before, now=now):
            pruned += done
            progress.advance(task, done)
    console.print(f"{pruned} item bodies older than {before:%Y-%m-%d %H:%M} UTC pruned")


@outlets_app.command("check")
def outlets_check(
    outlets: OutletsOption = None,
    probe: Annotated[bool, typer.Option(help="Fetch each outlet once and report what came back")] = False,
) -> None:
    """Validate outlets.yaml; with --probe, fetch each outlet once (nothing is stored)."""
    settings = settings_or_exit()
    path = outlets or settings.outlets_file
    configs = outlets_or_exit(path)
    if not probe:
        table = Table("id", "name", "kind", "tier", "region", "interval", "url", title=str(path))
        for c in configs:
            table.add_row(c.id, c.name, c.kind, c.tier, c.region, short_duration(c.interval), str(c.url))
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
            if result.error is not None:
                explained = explain_rsshub_error(await _error_page(fetcher, result))
                if explained:
                    result.error = f"{result.error}: {explained}"
            return config, result, time.monotonic() - started

        with progress_bar() as progress:
            task = progress.add_task("probing", total=len(configs))
            results = []
            for coroutine in asyncio.as_completed([one(c) for c in configs]):
                results.append(await coroutine)
                progress.advance(task)
    order = {c.id: n for n, c in enumerate(configs)}
    return sorted(results, key=lambda r: order[r[0].id])

async def _error_page(fetcher, result) -> bytes:
    """The body of a failed probe: the fetcher keeps none for HTTP errors, so ask once more (a
    probe is run by hand, and the page says why RSSHub failed). The first 64 KB are enough."""
    outcome = result.outcome
    if outcome.body or outcome.status is None or outcome.status < 400:
        return outcome.body
    try:
        async with fetcher.client.stream("GET", outcome.url) as response:
            page = b""
            async for chunk in response.aiter_bytes():
                page += chunk
                if len(page) > 65536:
                    break
            return page
    except Exception:  # the explanation is a courtesy; the probe's own error stands
        return b""


_RSSHUB_MESSAGE = re.compile(r"Error Message:.*?<code[^>]*>(.*?)</code>", re.S | re.I)
_RSSHUB_ROUTE = re.compile(r"Route:\s*<code[^>]*>(.*?)</code>", re.S | re.I)
_RSSHUB_HINTS = [
    (("cookie", "login", "登录"), "the route needs an account cookie in RSSHub's configuration (e.g. WEIBO_COOKIES)"),
    (("not found", "404"), "no such route on this RSSHub instance (check the path, and that the instance is recent)"),
    (("403", "429", "rate", "frequent", "频繁", "风控", "captcha", "验证"),
     "the platform is blocking this RSSHub instance: lengthen the interval, or give RSSHub a cookie or proxy"),
    (("timeout", "timed out", "ETIMEDOUT"), "the platform did not answer RSSHub in time (it may be blocking the instance)"),
]


def explain_rsshub_error(page: bytes) -> str | None:
    """RSSHub answers a failed route with an HTML page ("Looks like something went wrong",
    lib/views/error.tsx): say so, with its message and a likely fix, instead of "not a feed"."""
    text = page.decode("utf-8", errors="replace")
    if "Looks like something went wrong" not in text and not ("RSSHub" in text and "Error Message" in text):
        return None
    found = _RSSHUB_MESSAGE.search(text)
    message = html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip() if found else ""
    route = _RSSHUB_ROUTE.search(text)
    explained = "RSSHub error page: the route failed at the platform, not in Fenghuo"
    if route:
        explained += f" (route {html.unescape(route.group(1)).strip()})"
    if message:
        explained += f"; RSSHub says: {message.splitlines()[0][:200]}"
    lowered = message.lower()
    hint = next((fix for words, fix in _RSSHUB_HINTS if any(w.lower() in lowered for w in words)), None)
    return f"{explained}; {hint}" if hint else explained


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
    from monitor.service import prepare_database, serve
    from monitor.stages.crawl import Crawler

    settings = settings_or_exit()
    configs = outlets_or_exit(outlets or settings.outlets_file)
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
                with progress_bar() as progress:
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

    settings = settings_or_exit()
    configs = outlets_or_exit(outlets or settings.outlets_file)
    library_or_exit(settings)  # refuse to start on a broken library, with its problems listed
    model_or_exit(settings.sentiment_model)
    levels_or_exit(settings)
    routing_or_exit(settings)
    asyncio.run(serve(settings, configs))


@app.command()
def worker(outlets: OutletsOption = None) -> None:
    """A worker without the API: fetch, analyse (one leader at a time), push, scheduled jobs.
    Run several against one PostgreSQL; run the API apart with `fenghuo api`."""
    from monitor.service import serve

    settings = settings_or_exit()
    configs = outlets_or_exit(outlets or settings.outlets_file)
    library_or_exit(settings)
    model_or_exit(settings.sentiment_model)
    levels_or_exit(settings)
    routing_or_exit(settings)
    asyncio.run(serve(settings, configs, with_api=False))


@app.command()
def api(
    outlets: OutletsOption = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="API processes on the one port (several use several cores)")] = 1,
) -> None:
    """Serve the API alone (no fetching): beside `fenghuo worker` processes."""
    from monitor.service import serve_api_only, serve_api_processes

    settings = settings_or_exit()
    configs = outlets_or_exit(outlets or settings.outlets_file)
    library_or_exit(settings)
    levels_or_exit(settings)
    routing_or_exit(settings)
    if workers > 1:
        serve_api_processes(settings, configs, workers)
        return
    try:
        asyncio.run(serve_api_only(settings, configs))
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its clean shutdown: a normal stop
        pass


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
    host = settings_or_exit().api_host
    for wanted, option in ((port, "--port"), (farm_port, "--farm-port")):
        if wanted and not _port_free(host, wanted):  # before anything starts or is printed
            errors.print(f"[red]port {wanted} on {host} is already in use[/red] (another fenghuo, or another "
                         f"program); choose another with {option}, e.g. fenghuo demo {option} {wanted + 1}",
                         highlight=False)
            raise typer.Exit(2)
    farm = DemoFarm(port=farm_port, step=timedelta(seconds=step)).start()
    # The demo outlets live on loopback, which the private-network guard refuses by default;
    # and they are our own server, so the one-second politeness gap per host is not needed.
    settings = settings_or_exit(
        api_port=port, allow_networks=["127.0.0.0/8"], per_host_delay=timedelta(milliseconds=50),
        per_host_concurrency=4,
    )
    with tempfile.TemporaryDirectory() as folder:
        path = write_demo_outlets(farm.base_url, Path(folder) / "demo-outlets.yaml")
        configs = outlets_or_exit(path)
        library_or_exit(settings)
        model_or_exit(settings.sentiment_model)
        levels_or_exit(settings)
        routing_or_exit(settings)
        token = _demo_token(settings)
        console.print(
            f"[bold]烽火 demo[/bold]: {len(configs)} sample outlets at {farm.base_url}\n"
            f"  console  http://{settings.api_host}:{port}/   (sign in with the token below)\n"
            f"  API  http://{settings.api_host}:{port}/api/v1/items   docs  http://{settings.api_host}:{port}/docs\n"
            f"  database {redacted(settings.database_url)}; stop with Ctrl-C\n"
            f"  API token (admin, for this demo): {token}\n"
            f"  try: curl -H 'Authorization: Bearer {token}' http://{settings.api_host}:{port}/api/v1/events\n"
            f"  this week's report: FENGHUO_DATABASE_URL={settings.database_url} fenghuo report weekly "
            f"--week {_this_week(settings)} --format pdf",
            highlight=False,
        )
        try:
            asyncio.run(serve(settings, configs))
        finally:
            farm.stop()


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _this_week(settings) -> str:
    from zoneinfo import ZoneInfo

    from monitor.reports.figures import Week

    return str(Week.containing(SystemClock().now(), ZoneInfo(settings.default_timezone)))


def _demo_token(settings) -> str:
    """A fresh admin token named 'demo' for each demo run (a token is shown only when made)."""
    from monitor.db.tokens import TokenError, create_token, revoke_token

    sessions = migrated_sessions(settings)
    now = SystemClock().now()
    with sessions.begin() as session:
        try:
            revoke_token(session, name="demo", now=now)
        except TokenError:
            pass
        return create_token(session, name="demo", role="admin", now=now)
