"""`fenghuo report weekly`: the weekly sentiment report as a file, with a progress bar."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from monitor.cli.base import (
    app,
    console,
    errors,
    existing_sessions,
    levels_or_exit,
    progress_bar,
    settings_or_exit,
)
from monitor.clock import SystemClock

report_app = typer.Typer(help="Reports for leadership.", no_args_is_help=True)
app.add_typer(report_app, name="report")


class Format(StrEnum):
    html = "html"
    pdf = "pdf"
    xlsx = "xlsx"
    csv = "csv"
    json = "json"


@report_app.command("weekly")
def weekly(
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W47 (default: the last complete week)")] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="html, pdf, xlsx, csv (events + items) or json")] = Format.pdf,
    out: Annotated[Path | None, typer.Option(help="File to write (default: fenghuo-weekly-WEEK.FORMAT)")] = None,
) -> None:
    """Write the weekly sentiment report: overview, daily tone, levels, top events, outlets,
    keyword groups, regions and duty performance against the 30-minute target."""
    from monitor.analyze.library import LibraryError, load_library
    from monitor.config import ConfigError, keywords_folder
    from monitor.reports.build import STEPS, build_report, steps_for
    from monitor.reports.figures import Week
    from monitor.reports.fonts import FontError
    from monitor.reports.playbook import load_playbook

    settings = settings_or_exit()
    zone = ZoneInfo(settings.default_timezone)
    now = SystemClock().now()
    try:
        chosen = Week.parse(week) if week else Week.containing(now, zone).previous()
    except ValueError as error:
        errors.print(f"[red]--week: {error}[/red]", highlight=False)
        raise typer.Exit(2) from None
    labels = levels_or_exit(settings).labels
    try:
        playbook = load_playbook(settings.playbook_file)
    except ConfigError as error:
        errors.print(f"[red]the response playbook is invalid: {error}[/red]", highlight=False)
        raise typer.Exit(2) from None
    try:
        library = load_library(keywords_folder(settings))
        group_names = {gid: group.name for gid, group in library.groups.items()}
    except LibraryError:
        group_names = {}  # the report still names groups by their file names
    out = out or Path(f"fenghuo-weekly-{chosen}.{format.value}")
    steps = steps_for([format.value])
    sessions = existing_sessions(settings, "report weekly")
    with sessions() as session:
        _say_if_empty(session, chosen, zone, asked=week is not None)
    with progress_bar() as progress, sessions() as session:
        task = progress.add_task(f"weekly report {chosen}", total=len(steps))

        def on_step(step: str) -> None:
            progress.update(task, completed=steps.index(step), description=f"{chosen}: {STEPS[step]}")

        try:
            _, outputs = build_report(
                session, week=chosen, formats=[format.value], zone=zone, now=now, ack_target=settings.ack_target,
                labels=labels, group_names=group_names, font_file=settings.report_font, on_step=on_step,
                playbook=playbook, public_url=settings.public_url,
            )
        except FontError as error:
            errors.print(f"[red]cannot draw the report: {error}[/red]", highlight=False)
            raise typer.Exit(2) from None
        progress.update(task, completed=len(steps))
    out.write_bytes(outputs[format.value])
    console.print(f"wrote {out} ({len(outputs[format.value]):,} bytes)", highlight=False)
    if format is Format.csv:
        items_file = out.with_name(out.stem + ".items.csv")
        items_file.write_bytes(outputs["items.csv"])
        console.print(f"wrote {items_file} ({len(outputs['items.csv']):,} bytes)", highlight=False)


def _say_if_empty(session, chosen, zone, *, asked: bool) -> None:
    """A week without a single item makes an all-zero report: say so, and name the weeks that
    have items. The default week (the last complete one) is refused then; a week asked for by
    name is still made (a quiet week is a fact worth a report)."""
    from monitor.db import reports as report_store
    from monitor.reports.figures import Week

    start, end = chosen.bounds(zone)
    if report_store.items_between(session, start=start, end=end):
        return
    span = report_store.item_time_span(session)
    weeks: list[str] = []
    if span is not None:
        week, last = Week.containing(span[1], zone), Week.containing(span[0], zone)
        while len(weeks) < 8:
            week_start, week_end = week.bounds(zone)
            if count := report_store.items_between(session, start=week_start, end=week_end):
                weeks.append(f"{week} ({count:,} items)")
            if str(week) == str(last):
                break
            week = week.previous()
    known = ("weeks with items: " + ", ".join(weeks)) if weeks else "this database has no items at all"
    if asked:
        errors.print(f"[yellow]{chosen} has no items: the report will be all zeros[/yellow]; {known}", highlight=False)
        return
    hint = f"; e.g. fenghuo report weekly --week {weeks[0].split()[0]}" if weeks else ""
    errors.print(f"[red]the last complete week, {chosen}, has no items[/red]; {known}{hint}", highlight=False)
    raise typer.Exit(1)
