"""`fenghuo search`: the archive by rule-language query and filters, printed or exported."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.text import Text

from monitor.cli.base import app, console, errors, migrated_sessions, settings_or_exit


def _when(value: str | None, zone: ZoneInfo, now: datetime) -> datetime | None:
    """2026-11-30, 2026-11-30T08:00 (local time unless a zone is given), or 7d / 12h ago."""
    if value is None:
        return None
    if value[:-1].isdigit() and value[-1] in "dh":
        return now - timedelta(**{"days" if value[-1] == "d" else "hours": int(value[:-1])})
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        errors.print(f"[red]not a time: {value!r}[/red] (2026-11-30, 2026-11-30T08:00+08:00, 7d, 12h)")
        raise typer.Exit(2) from None
    return at if at.tzinfo else at.replace(tzinfo=zone)


def _marked(text: str, spans) -> Text:
    shown = Text(text)
    for start, end in spans:
        shown.stylize("bold reverse", start, end)
    return shown


@app.command("search")
def search(
    query: Annotated[str | None, typer.Argument(help='A rule: \'"水务" & ("停水" | "断水") & !"演练"\', near(a, b, N), @group; omit to list by filters')] = None,
    since: Annotated[str | None, typer.Option(help="first seen at or after: 2026-11-30, 2026-11-30T08:00, 7d, 12h")] = None,
    until: Annotated[str | None, typer.Option(help="first seen before (same forms)")] = None,
    outlet: Annotated[list[str] | None, typer.Option(help="outlet id (repeat for several)")] = None,
    tier: Annotated[list[str] | None, typer.Option(help="outlet tier (repeat for several)")] = None,
    tone: Annotated[list[str] | None, typer.Option(help="negative | neutral | positive (repeat)")] = None,
    risk: Annotated[int | None, typer.Option(help="risk at least")] = None,
    group: Annotated[list[str] | None, typer.Option(help="keyword group the item hit (repeat)")] = None,
    event: Annotated[int | None, typer.Option(help="items of this event")] = None,
    level: Annotated[list[str] | None, typer.Option(help="their event's level: blue | yellow | orange | red (repeat)")] = None,
    sort: Annotated[str, typer.Option(help="time (newest first) | relevance")] = "time",
    limit: Annotated[int, typer.Option(help="how many to print")] = 20,
    export: Annotated[str | None, typer.Option(help="csv | xlsx: write every result (up to --at-most) to --out")] = None,
    out: Annotated[Path | None, typer.Option(help="the export file (default search.FORMAT)")] = None,
    at_most: Annotated[int, typer.Option(help="rows in an export at most")] = 10_000,
) -> None:
    """Search stored titles and bodies (bodies while retained) with the keyword library's rule
    language: the results are exactly what that rule would match."""
    from monitor.analyze.query import QueryError, compile_query
    from monitor.clock import SystemClock
    from monitor.config import keywords_folder
    from monitor.db.search import SORTS, TONES, Filters, all_hits, search_items
    from monitor.reports import search_export

    settings = settings_or_exit()
    zone = ZoneInfo(settings.default_timezone)
    now = SystemClock().now()
    bad = [t for t in tone or [] if t not in TONES]
    if bad or sort not in SORTS or (export is not None and export not in search_export.FORMATS):
        errors.print(f"[red]--tone is one of {', '.join(TONES)}; --sort {', '.join(SORTS)}; "
                     f"--export {', '.join(search_export.FORMATS)}[/red]")
        raise typer.Exit(2)
    compiled = None
    if query:
        try:
            compiled = compile_query(query, keywords_folder(settings))
        except QueryError as error:
            errors.print(Text("bad query ", style="red") + Text(query), highlight=False)
            if error.column:
                errors.print(" " * (len("bad query ") + _width(query[: error.column - 1])) + "^")
            errors.print(error.message, highlight=False, markup=False)
            raise typer.Exit(2) from None
    filters = Filters(
        since=_when(since, zone, now), until=_when(until, zone, now), outlets=tuple(outlet or ()),
        tiers=tuple(tier or ()), tones=tuple(tone or ()), risk_at_least=risk, groups=tuple(group or ()),
        event_id=event, levels=tuple(level or ()),
    )
    sessions = migrated_sessions(settings)
    with sessions() as session:
        if export:
            hits, more = all_hits(session, query=compiled, filters=filters, sort=sort, at_most=at_most)
            target = out or Path(f"search.{export}")
            target.write_bytes(search_export.render(hits, export, zone))
            console.print(f"{len(hits):,} items written to {target}"
                          + (f" (stopped at --at-most {at_most:,}; there are more)" if more else ""))
            return
        page = search_items(session, query=compiled, filters=filters, sort=sort, limit=limit)
    for hit in page.hits:
        line = Text(f"{hit.first_seen_at.astimezone(zone):%Y-%m-%d %H:%M}  ", style="dim")
        line.append(f"{hit.outlet_name}({hit.tier})  ")
        line.append_text(_marked(hit.title, hit.title_highlights))
        facts = [f"#{hit.id}"] + [f for f in (hit.tone, f"风险 {hit.risk}" if hit.risk is not None else None,
                                             f"事件 {hit.event_id} {hit.level or ''}".strip() if hit.event_id else None,
                                             "正文已清理" if hit.pruned else None) if f]
        line.append("  " + " · ".join(facts), style="dim")
        console.print(line)
        if hit.snippet_highlights:
            console.print(Text("    ").append_text(_marked(hit.snippet.replace("\n", " "), hit.snippet_highlights)))
        console.print(Text(f"    {hit.url}", style="dim"))
    shown = f"{len(page.hits)} item(s)"
    if page.next_cursor:
        shown += "; more: raise --limit or --export csv"
    console.print(shown, style="bold")


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
