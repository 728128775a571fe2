"""`fenghuo keywords …`, `score`, `analyze`, `sentiment eval`: the analysis stage by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from monitor.cli.base import (
    app,
    console,
    errors,
    keywords_app,
    levels_or_exit,
    library_or_exit,
    migrated_sessions,
    model_or_exit,
    progress_bar,
    sentiment_app,
    settings_or_exit,
)
from monitor.clock import SystemClock


@keywords_app.command("check")
def keywords_check(
    folder: Annotated[Path | None, typer.Argument(help="Library folder (default: FENGHUO_KEYWORDS_DIR)")] = None,
) -> None:
    """Validate the keyword library; list its groups and rules, or every problem with its place."""
    from monitor.config import keywords_folder

    settings = settings_or_exit()
    path = folder or keywords_folder(settings)
    library = library_or_exit(settings, path)
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

    settings = settings_or_exit()
    current = library_or_exit(settings, against)
    changed = library_or_exit(settings, candidate)
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

    with progress_bar() as progress:
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

@app.command()
def score(
    text: Annotated[str | None, typer.Argument(help="The text to score (the body)")] = None,
    title: Annotated[str, typer.Option(help="A title; hits in it weigh more")] = "",
    file: Annotated[Path | None, typer.Option("--file", help="Read the body from this file")] = None,
    model: Annotated[str | None, typer.Option(help="Sentiment model (default: FENGHUO_SENTIMENT_MODEL)")] = None,
) -> None:
    """Score one text as an item would be: keyword hits, sentiment, risk and the reasons."""
    from monitor.analyze.score import score_item

    settings = settings_or_exit()
    if file is not None:
        text = file.read_text(encoding="utf-8")
    if not text and not title:
        errors.print("[red]give a text, --title or --file[/red]")
        raise typer.Exit(2)
    from monitor.config import keywords_folder

    library = library_or_exit(settings)
    result = score_item(title, text or "", library, model_or_exit(model or settings.sentiment_model))
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
    if not any(library.groups[hit.group].subject for hit in result.hits if hit.group in library.groups):
        # Risk is about *us*: a text naming nobody the library watches scores low however bad it
        # reads. Say so, and whose library this is, so a newcomer does not think the model is broken.
        for line in no_subject_hint(library, keywords_folder(settings)):
            console.print(line, highlight=False, markup=False)


def no_subject_hint(library, folder) -> list[str]:
    """Lines telling who the library watches and where to make it watch one's own organisation."""
    watched = [term for group in library.groups.values() if group.subject for term in group.terms]
    shown = "、".join(watched[:6]) + (f" 等 {len(watched)} 个" if len(watched) > 6 else "")
    return [
        f"  · no watched subject named: the library in {folder} watches {shown or 'no subject (no group has subject: true)'}",
        "    To watch your own organisation, set FENGHUO_KEYWORDS_DIR to a library of your own:",
        "    README, \"Your organisation in ten minutes\".",
    ]


@app.command()
def analyze(
    backfill: Annotated[bool, typer.Option("--backfill", help="Also re-score items scored by another library version or model")] = False,
) -> None:
    """Score stored items that have no score yet, then group and grade events (the service does both continuously)."""
    from monitor.analyze.holder import LibraryHolder
    from monitor.config import keywords_folder
    from monitor.stages.analysis import Analyser
    from monitor.stages.grouping import EventStage

    settings = settings_or_exit()
    library_or_exit(settings)  # report a broken library the friendly way before anything else
    levels = levels_or_exit(settings)
    sessions = migrated_sessions(settings)
    clock = SystemClock()
    analyser = Analyser(
        sessions, LibraryHolder(keywords_folder(settings)), model_or_exit(settings.sentiment_model), clock
    )
    pending = analyser.count_pending(backfill=backfill)
    with progress_bar() as progress:
        task = progress.add_task("scoring", total=pending)
        done = analyser.run_once(backfill=backfill, on_progress=lambda n: progress.advance(task, n))
    assigned = EventStage(sessions, levels, clock).run_once()
    console.print(
        f"{done} items scored with library {analyser.library.library.version} and model "
        f"{analyser.model.name}; {assigned} items grouped into events"
    )


@sentiment_app.command("eval")
def sentiment_eval(
    file: Annotated[Path, typer.Argument(help="Labelled CSV/TSV (1 = positive, 0 = negative), a .zip of one, or CFSC-style JSON (sentence, term, polarity)")],
    model: Annotated[str | None, typer.Option(help="Model name (default: FENGHUO_SENTIMENT_MODEL); with a JSON file: the tone model, unless a sentiment model is named (it then reads the whole sentence)")] = None,
) -> None:
    """Measure a sentiment model on your own labelled data: accuracy, negative-class P/R/F1.

    A .json file (a list of objects with sentence, term, polarity) measures the tone toward each
    term instead: negative for the term against positive or neutral, by the tone model (or, with
    --model, by that sentiment model reading the whole sentence, for comparison)."""
    from monitor.analyze.sentiment import ModelError, evaluate, read_labelled
    from monitor.analyze.tone import ToneModelError, evaluate_tone, load_tone_model, read_mentions

    settings = settings_or_exit()
    toward_term = file.suffix.lower() == ".json"
    try:
        if toward_term:
            chosen = model_or_exit(model) if model else load_tone_model()
            rows = read_mentions(file)
        else:
            chosen = model_or_exit(model or settings.sentiment_model)
            rows = read_labelled(file)
    except (ModelError, ToneModelError, OSError) as error:
        errors.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(2) from None
    with progress_bar() as progress:
        progress.add_task(f"scoring {len(rows)} {'mentions' if toward_term else 'texts'}", total=None)
        if toward_term and model:  # a sentiment model has no notion of the term: the whole sentence
            cut = getattr(chosen, "threshold", 0.5)
            result = evaluate_tone(lambda m: float(chosen.negative_probability(m.text) >= cut), rows)
        elif toward_term:
            result = evaluate_tone(chosen.labelled_probability, rows)
        else:
            result = evaluate(chosen, rows)
    if toward_term:
        how = "whole sentence" if model else "tone toward the term"
        console.print(f"{file}: {result.total} mentions, {how}, model {chosen.name}", highlight=False)
    else:
        console.print(f"{file}: {result.total} texts, model {chosen.name}", highlight=False)
    console.print(f"accuracy            {result.accuracy:.4f}")
    console.print(f"negative precision  {result.negative_precision:.4f}")
    console.print(f"negative recall     {result.negative_recall:.4f}   (share of negative {'mentions' if toward_term else 'texts'} caught)")
    console.print(f"negative F1         {result.negative_f1:.4f}")
    negative, other = ("negative", "positive or neutral") if toward_term else ("negative (0)", "positive (1)")
    matrix = Table("", "called negative", "called not negative" if toward_term else "called positive", title="confusion matrix")
    matrix.add_row(negative, str(result.true_negative), str(result.missed_negative))
    matrix.add_row(other, str(result.false_positive_alarm), str(result.true_positive))
    console.print(matrix)
