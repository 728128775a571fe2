"""`fenghuo extract FILE_OR_URL`: what the article extractor reads from one page.

For debugging an outlet ("why is the body a footer?") and for tests: the same extractor the
crawler runs, on a saved page or on one URL fetched with the crawler's own polite, guarded client
(robots.txt, the address guard, size limits, retries).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from monitor.cli.base import app, console, errors, settings_or_exit


@app.command("extract")
def extract(
    page: Annotated[str, typer.Argument(help="A saved HTML page, or an http(s) URL to fetch")],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: title, published_at, author, source, body")
    ] = False,
    url: Annotated[
        str | None, typer.Option(help="For a saved page: the address it came from (its date counts)")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="Force the page's encoding (e.g. gbk)")] = None,
) -> None:
    """Print the title, publish time, author, source and body the extractor finds in one page."""
    from monitor.fetch.encoding import decode_body
    from monitor.fetch.pages import parse_article

    settings = settings_or_exit()
    zone = ZoneInfo(settings.default_timezone)
    if page.startswith(("http://", "https://")):
        body, content_type, address = asyncio.run(_fetch(settings, page))
    else:
        path = Path(page)
        if not path.is_file():
            errors.print(f"[red]no such file: {page}[/red] (give a saved page or an http(s) URL)")
            raise typer.Exit(2)
        body, content_type, address = path.read_bytes(), None, url or ""
    text = decode_body(body, content_type, encoding).text
    article = parse_article(text, url=address, zone=zone)
    published = article.published_at.astimezone(zone).isoformat() if article.published_at else None
    found = {
        "title": article.title, "published_at": published, "author": article.author,
        "source": article.source, "body": article.text,
    }
    if as_json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return
    for key in ("title", "published_at", "author", "source"):
        console.print(f"[bold]{key}:[/bold] {found[key] or '—'}", highlight=False)
    console.print()
    console.print(found["body"], highlight=False, markup=False)


async def _fetch(settings, address: str) -> tuple[bytes, str | None, str]:
    from monitor.fetch.http import Fetcher
    from monitor.fetch.outlet import HTML_ACCEPT

    async with Fetcher(settings) as fetcher:
        outcome = await fetcher.fetch(address, accept=HTML_ACCEPT)
    if not outcome.ok:
        errors.print(
            f"[red]could not fetch {address}: {outcome.error or outcome.kind.value}[/red]", highlight=False
        )
        raise typer.Exit(1)
    return outcome.body, outcome.content_type, outcome.url
