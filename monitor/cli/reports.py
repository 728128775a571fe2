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
    levels_or_exit,
    migrated_sessions,
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
    from monitor.config import keywords_folder
    from monitor.reports.build import STEPS, build_report, steps_for
    from monitor.reports.figures import Week
    from monitor.reports.fonts import FontError

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
        library = load_library(keywords_folder(settings))
        group_names = {gid: group.name for gid, group in library.groups.items()}
    except LibraryError:
        group_names = {}  # the report still names groups by their file names
    out = out or Path(f"fenghuo-weekly-{chosen}.{format.value}")
    steps = steps_for([format.value])
    sessions = migrated_sessions(settings)
    with progress_bar() as progress, sessions() as session:
        task = progress.add_task(f"weekly report {chosen}", total=len(steps))

        def on_step(step: str) -> None:
            progress.update(task, completed=steps.index(step), description=f"{chosen}: {STEPS[step]}")

        try:
            _, outputs = build_report(
                session, week=chosen, formats=[format.value], zone=zone, now=now, ack_target=settings.ack_target,
                labels=labels, group_names=group_names, font_file=settings.report_font, on_step=on_step,
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
