"""`fenghuo drill …`: crisis drills (应急演练) on the running deployment, their reports, clearing them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.base import (
    app,
    console,
    errors,
    levels_or_exit,
    migrated_sessions,
    settings_or_exit,
)
from monitor.clock import SystemClock
from monitor.config import ConfigError

drill_app = typer.Typer(
    help="Crisis drills (应急演练): play a marked story through the running deployment and time the response.",
)
app.add_typer(drill_app, name="drill")


@drill_app.callback(invoke_without_command=True)
def drill(
    context: typer.Context,
    level: Annotated[str, typer.Option(help="orange or red: the level the drill is pushed at")] = "red",
    story: Annotated[Path | None, typer.Option(help="A story in the `events replay` timeline format, outlets named by tier (default: the built-in one)")] = None,
    by: Annotated[str, typer.Option("--by", help="Who runs the drill (in its report)")] = "fenghuo drill",
    wait: Annotated[int, typer.Option(help="Minutes to wait for the acknowledgement; 0: start it and exit")] = 30,
    here: Annotated[bool, typer.Option("--here", help="Run the pipeline in this process (no service running, e.g. before going live)")] = False,
) -> None:
    """Start a drill: store the marked story, then follow it through analysis, grouping, grading,
    the pushes and the acknowledgement, printing each step as it happens. Exit 0 when it was
    acknowledged and every channel delivered; 1 otherwise. The drill goes on without this command
    (its report: `fenghuo drill report ID`)."""
    if context.invoked_subcommand is not None:
        return
    from monitor.drill import load_story, start_drill

    settings = settings_or_exit()
    levels = levels_or_exit(settings)
    try:
        played = load_story(level, story)
    except ConfigError as error:
        errors.print(f"[red]drill story error[/red]\n{error}", highlight=False)
        raise typer.Exit(2) from None
    sessions = migrated_sessions(settings)
    clock = SystemClock()
    pipeline = None
    if here:  # built before the story is stored: loading the model is not the analysis' time
        from monitor.stages.pipeline import Pipeline

        pipeline = Pipeline.from_settings(settings, sessions, clock)
    drill_id = start_drill(sessions, story=played, level=level, started_by=by, now=clock.now())
    console.print(f"演练/DRILL {drill_id} started: {len(played.items)} items of {played.name}, "
                  f"to be pushed at {levels.labels.get(level, level)}")
    if wait <= 0 and pipeline is None:
        console.print(f"follow it with: fenghuo drill report {drill_id}")
        return
    if pipeline is not None:
        report = _run_here(pipeline, sessions, clock, drill_id, max(wait, 1))
    else:
        report = _follow(sessions, clock, drill_id, wait, step=None)
    _print(report, levels.labels)
    raise typer.Exit(0 if report["done"] and not report["failed_channels"] else 1)


def _follow(sessions, clock, drill_id: int, wait: int, step) -> dict:
    """Poll the database until the drill is acknowledged or `wait` minutes pass, printing steps
    as they happen; `step` (when running here) moves the pipeline on between looks."""
    from monitor.drill import drill_report

    deadline, seen = time.monotonic() + wait * 60, 0
    while True:
        if step is not None:
            step()
        with sessions() as session:
            report = drill_report(session, drill_id=drill_id, now=clock.now())
        for line in report["steps"][seen:]:
            if line["at"] is None:
                break
            console.print(f"  {line['step']:<13} +{line['seconds']:.1f} s")
            seen += 1
        if report["done"] or time.monotonic() > deadline:
            return report
        time.sleep(1)


def _run_here(pipeline, sessions, clock, drill_id: int, wait: int) -> dict:
    import asyncio

    async def main() -> dict:
        try:
            loop = asyncio.get_running_loop()

            def step() -> None:
                asyncio.run_coroutine_threadsafe(pipeline.analyse(), loop).result()

            return await asyncio.to_thread(
                _follow, sessions, clock, drill_id, wait, step
            )
        finally:
            await pipeline.close()

    return asyncio.run(main())


def _print(report: dict, labels: dict[str, str]) -> None:
    from monitor.drill.report import report_lines

    for line in report_lines(report, labels):
        console.print(line, highlight=False, markup=False)


@drill_app.command("report")
def drill_report_command(
    drill_id: Annotated[int, typer.Argument(help="The drill's id (fenghuo drill list)")],
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON")] = False,
) -> None:
    """How a drill went: each step's time, who acknowledged, which channel failed."""
    from monitor.drill import drill_report

    settings = settings_or_exit()
    with migrated_sessions(settings)() as session:
        report = drill_report(session, drill_id=drill_id, now=SystemClock().now())
    if report is None:
        errors.print(f"no drill {drill_id}")
        raise typer.Exit(1)
    if as_json:
        console.print_json(json.dumps(report, ensure_ascii=False))
    else:
        _print(report, levels_or_exit(settings).labels)


@drill_app.command("list")
def drill_list() -> None:
    """The drills played so far, latest first."""
    from monitor.db import drills as drill_store

    settings = settings_or_exit()
    with migrated_sessions(settings)() as session:
        for drill in drill_store.latest(session):
            console.print(f"{drill.id}  {drill.started_at:%Y-%m-%d %H:%M} UTC  {drill.level:<6}  "
                          f"{drill.items} items  {drill.story}  by {drill.started_by}", highlight=False)


@drill_app.command("clear")
def drill_clear() -> None:
    """Remove every drill's items, events, alerts, pushes and runs."""
    from monitor.db import drills as drill_store

    settings = settings_or_exit()
    with migrated_sessions(settings).begin() as session:
        cleared = drill_store.clear(session)
    console.print(f"cleared {cleared['drills']} drills: {cleared['events']} events, {cleared['items']} items")
