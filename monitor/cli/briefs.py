"""`fenghuo events brief` and `fenghuo events review`: the event brief (研判报告) and the
post-incident review (复盘) as files, for the judgement team."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from monitor.cli.base import console, errors, events_app, existing_sessions, levels_or_exit, settings_or_exit
from monitor.clock import SystemClock
from monitor.config import ConfigError

EventArgument = Annotated[int, typer.Argument(help="The event's id (fenghuo events list)")]
FormatOption = Annotated[str, typer.Option("--format", help="html | pdf | docx | md | json")]


@events_app.command("brief")
def brief(
    event_id: EventArgument,
    format: FormatOption = "md",
    out: Annotated[Path | None, typer.Option(help="Write here (default: print md/json, else event-ID-brief.FORMAT)")] = None,
) -> None:
    """The event brief (研判报告): overview, situation, origin and spread, viewpoints, risk,
    forecast and first response from the playbook, drafted from stored items only."""
    from monitor.reports.brief import make_brief
    from monitor.reports.llm import endpoint_from

    settings, levels, playbook = _configuration(format)
    sessions = existing_sessions(settings, f"events brief {event_id}")
    _deliver("brief", event_id, format, out, lambda: _with_session(sessions, lambda session: make_brief(
        session, event_id=event_id, format=format, now=SystemClock().now(), zone=ZoneInfo(settings.default_timezone),
        levels=levels, playbook=playbook, public_url=settings.public_url, font_file=settings.report_font,
        llm=endpoint_from(settings))))


@events_app.command("review")
def review(
    event_id: EventArgument,
    format: FormatOption = "md",
    out: Annotated[Path | None, typer.Option(help="Write here (default: print md/json, else event-ID-review.FORMAT)")] = None,
    lessons: Annotated[str | None, typer.Option(help="Write the review's lessons first (needs --by)")] = None,
    by: Annotated[str | None, typer.Option(help="Who writes the lessons")] = None,
) -> None:
    """The post-incident review (复盘): first publication → found → alert → push → acknowledged →
    resolved, times against the playbook, whether the level was right, and the team's lessons."""
    from monitor.db.briefs import save_lessons
    from monitor.reports.review import make_review

    if lessons is not None and not (lessons.strip() and by and by.strip()):
        errors.print("[red]--lessons needs text and --by NAME[/red] (the review records who wrote them)")
        raise typer.Exit(2)
    settings, levels, playbook = _configuration(format)
    sessions = existing_sessions(settings, f"events review {event_id}")
    now = SystemClock().now()
    if lessons is not None:
        with sessions.begin() as session:
            if save_lessons(session, event_id=event_id, lessons=lessons.strip(), by=by.strip(), now=now) is None:
                _no_event(event_id)
    _deliver("review", event_id, format, out, lambda: _with_session(sessions, lambda session: make_review(
        session, event_id=event_id, format=format, now=now, zone=ZoneInfo(settings.default_timezone),
        labels=levels.labels, playbook=playbook, find_target=timedelta(minutes=playbook.found_within_minutes),
        font_file=settings.report_font)))


def _configuration(format: str):
    from monitor.reports.brief_render import FORMATS
    from monitor.reports.playbook import load_playbook

    if format not in FORMATS:
        errors.print(f"[red]unknown format {format!r}[/red]; one of {', '.join(FORMATS)}")
        raise typer.Exit(2)
    settings = settings_or_exit()
    levels = levels_or_exit(settings)
    try:
        playbook = load_playbook(settings.playbook_file)
    except ConfigError as error:
        errors.print(f"[red]playbook configuration error[/red]\n{error}", highlight=False)
        raise typer.Exit(2) from None
    return settings, levels, playbook


def _with_session(sessions, make):
    with sessions() as session:
        return make(session)


def _no_event(event_id: int):
    errors.print(f"[red]no event {event_id}[/red] (fenghuo events list shows them)")
    raise typer.Exit(1)


def _deliver(kind: str, event_id: int, format: str, out: Path | None, make) -> None:
    """Make the document and print it (md, json without --out) or write it to a file."""
    from monitor.reports.fonts import FontError

    try:
        data = make()
    except FontError as error:
        errors.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from None
    if data is None:
        _no_event(event_id)
    if out is None and format in ("md", "json"):
        console.print(data.decode("utf-8"), highlight=False, markup=False, soft_wrap=True)
        return
    target = out or Path(f"event-{event_id}-{kind}.{format}")
    target.write_bytes(data)
    console.print(f"{kind} of event {event_id} written to {target} ({len(data):,} bytes)")
