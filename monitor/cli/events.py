"""`fenghuo events …` (events, warning levels, the escalation log) and `fenghuo deliver` (pushes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from monitor.cli.base import (
    app,
    console,
    display_zone,
    errors,
    events_app,
    levels_or_exit,
    local_time,
    migrated_sessions,
    outlets_or_exit,
    settings_or_exit,
)
from monitor.clock import SystemClock
from monitor.config import ConfigError
from monitor.states import AUTO, EscalationKind


@events_app.command("list")
def events_list(
    status: Annotated[str | None, typer.Option(help="open or closed")] = None,
    limit: Annotated[int, typer.Option(help="How many")] = 30,
) -> None:
    """Events, most recently active first, with level, spread and first source."""
    from monitor.db import events as event_store
    from monitor.events.spread import Spread

    settings = settings_or_exit()
    labels = levels_or_exit(settings).labels
    with migrated_sessions(settings)() as session:
        events = event_store.list_events(session, status=status, limit=limit)
    zone = display_zone(settings)
    table = Table("id", "level", "status", "items", "outlets", f"first source ({zone.key})", "title")
    for event in events:
        table.add_row(
            str(event.id), labels.get(event.level, "—") if event.level else "—", event.status,
            str(event.item_count), str(Spread.of(event).outlets),
            f"{event.first_outlet_id} {local_time(event.first_at, zone, '%m-%d %H:%M')}", event.title,
        )
    console.print(table)


@events_app.command("log")
def events_log(event: Annotated[int | None, typer.Argument(help="Only this event")] = None) -> None:
    """The escalation log: every level and status change, who made it and why."""
    from monitor.db import events as event_store

    settings = settings_or_exit()
    with migrated_sessions(settings)() as session:
        entries = event_store.escalation_log(session, event_id=event)
    zone = display_zone(settings)
    table = Table(f"at ({zone.key})", "event", "change", "from", "to", "by", "why")
    for e in entries:
        why = e.reason + ("; " + "; ".join(e.reasons) if e.reasons and e.actor == AUTO else "")
        if e.kind in (EscalationKind.merge, EscalationKind.split) and e.reasons:
            why += f" ({e.reasons[0]})"  # which events and items
        table.add_row(local_time(e.at, zone), str(e.event_id), e.kind, e.from_level or "—",
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
    from monitor.alerts.routing import load_routing
    from monitor.db.events import TransitionError
    from monitor.stages.grouping import set_level_by_hand

    settings = settings_or_exit()
    levels = levels_or_exit(settings)
    try:
        routing = load_routing(settings.notify_file)  # a manual escalation is pushed like any other
        with migrated_sessions(settings).begin() as session:
            entry = set_level_by_hand(
                session, levels=levels, routing=routing, event_id=event,
                level=None if level == "none" else level, actor=by, reason=reason, now=SystemClock().now(),
            )
            summary = f"event {event}: {entry.kind} {entry.from_level or 'none'} → {entry.to_level or 'none'} by {entry.actor}"
    except (TransitionError, ConfigError) as error:
        errors.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from None
    console.print(summary)


def _regroup(change, summary) -> None:
    """Run a merge or split in one transaction with the routing for any escalation it causes;
    a refusal (unknown event, item not in it, no reason) is exit 2 with the reason."""
    from monitor.alerts.routing import load_routing
    from monitor.db.events import TransitionError

    settings = settings_or_exit()
    levels = levels_or_exit(settings)
    try:
        routing = load_routing(settings.notify_file)
        with migrated_sessions(settings).begin() as session:
            text = summary(change(session, levels, routing, SystemClock().now()))
    except (TransitionError, ConfigError) as error:
        errors.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from None
    console.print(text)


@events_app.command("merge")
def events_merge(
    event: Annotated[int, typer.Argument(help="The event that stays")],
    other: Annotated[int, typer.Argument(help="The event merged into it (closed as merged)")],
    by: Annotated[str, typer.Option("--by", help="Who decides (recorded in the log)")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the log)")],
) -> None:
    """Merge two events that tell one story: the second's items move into the first, which is
    regraded; the log records who and why, and the grouping keeps to it."""
    from monitor.stages.grouping import merge_by_hand

    _regroup(
        lambda session, levels, routing, now: merge_by_hand(
            session, levels=levels, routing=routing, event_id=event, other_id=other, actor=by, reason=reason, now=now,
        ),
        lambda entry: f"event {other} merged into event {event} by {entry.actor}; level {entry.to_level or 'none'}",
    )


@events_app.command("split")
def events_split(
    event: Annotated[int, typer.Argument(help="The event the items leave")],
    items: Annotated[list[int], typer.Argument(help="Item ids to move into a new event")],
    by: Annotated[str, typer.Option("--by", help="Who decides (recorded in the log)")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the log)")],
) -> None:
    """Move items that tell another story out of an event into a new one; both are regraded, the
    log records who and why, and the grouping keeps to it (their reprints follow them)."""
    from monitor.stages.grouping import split_by_hand

    _regroup(
        lambda session, levels, routing, now: split_by_hand(
            session, levels=levels, routing=routing, event_id=event, item_ids=items, actor=by, reason=reason, now=now,
        ),
        lambda result: (f"items {', '.join(map(str, items))} moved from event {event} to new event "
                        f"{result[1].id} by {result[0].actor}; new event level {result[1].level or 'none'}"),
    )


@events_app.command("replay")
def events_replay(
    timeline: Annotated[Path, typer.Argument(help="YAML list or JSON lines of items: at, outlet, title, text, url")],
    outlets: Annotated[Path | None, typer.Option("--outlets", help="outlets.yaml (default: FENGHUO_OUTLETS_FILE)")] = None,
    keywords: Annotated[Path | None, typer.Option("--keywords", help="Keyword library folder (default: FENGHUO_KEYWORDS_DIR)")] = None,
    levels: Annotated[Path | None, typer.Option("--levels", help="levels.yaml (default: FENGHUO_LEVELS_FILE)")] = None,
    database: Annotated[str | None, typer.Option("--database", help="Database URL to replay into (default: a temporary SQLite file)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the events as JSON")] = False,
) -> None:
    """Replay a timeline through the real analysis and events stages with a simulated clock:
    per event its items, origin, level changes with reasons, alerts, closing and reopening."""
    import json

    from monitor.config import keywords_folder
    from monitor.events.levels import load_levels
    from monitor.stages.replay import read_timeline, replay

    settings = settings_or_exit()
    try:
        items = read_timeline(timeline)
        report = replay(
            items, outlets=outlets_or_exit(outlets or settings.outlets_file),
            keywords=keywords or keywords_folder(settings), levels=load_levels(levels or settings.levels_file),
            database_url=database, model=settings.sentiment_model,
        )
    except ConfigError as error:
        errors.print(f"[red]replay error[/red]\n{error}", highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(json.dumps(report, ensure_ascii=False, default=str))
        return
    for event in report:
        console.print(
            f"[bold]event {event['id']}[/bold] {event['title']} — {event['items']} items, "
            f"max level {event['max_level'] or 'none'}, {event['alerts']} alerts"
        )
        console.print(f"  首发 origin: {event['origin']['outlet']} at {event['origin']['at']}")
        for change in event["levels"]:
            console.print(f"  {change['at']}: {change['kind']} → {change['level']} ({'; '.join(change['reasons'])})")
        for at in event["closes"]:
            console.print(f"  {at}: closed")
        if event["reopened_at"] is not None:
            console.print(f"  last reopened at {event['reopened_at']}")


@app.command()
def deliver(
    once: Annotated[bool, typer.Option("--once", help="Send what is due once and exit")] = False,
) -> None:
    """Send pending chat pushes from the outbox (the service does this every 2 s)."""
    import asyncio
    from zoneinfo import ZoneInfo

    import httpx

    from monitor.alerts.delivery import DeliveryWorker
    from monitor.alerts.links import AckLinks
    from monitor.alerts.routing import load_routing

    settings = settings_or_exit()
    try:
        routing = load_routing(settings.notify_file)
    except ConfigError as error:
        errors.print(f"[red]notify configuration error[/red]\n{error}", highlight=False)
        raise typer.Exit(2) from None
    sessions = migrated_sessions(settings)
    labels = levels_or_exit(settings).labels

    async def loop() -> int:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0), trust_env=False) as client:
            worker = DeliveryWorker(
                sessions, routing, SystemClock(), client, labels, settings.public_url,
                ZoneInfo(settings.default_timezone),
                AckLinks(settings.link_secret) if settings.link_secret else None, settings.delivery_lease,
            )
            total = 0
            while True:
                total += await worker.run_once()
                if once:
                    return total
                await asyncio.sleep(2)

    console.print(f"{asyncio.run(loop())} pushes delivered")
