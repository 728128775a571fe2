"""One weekly report, from the database to the bytes of each format asked for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo

from sqlalchemy.orm import Session

from monitor.reports.figures import Week, item_rows, weekly_figures
from monitor.reports.fonts import CjkFont, find_cjk_font
from monitor.reports.playbook import Playbook
from monitor.reports.render import (
    EVENT_COLUMNS,
    ITEM_COLUMNS,
    ReportContext,
    event_rows,
    render_csv,
    render_html,
    render_json,
    render_pdf,
    render_xlsx,
)
from monitor.reports.summary import weekly_summary

# What a step is called while it runs (the CLI's progress bar shows these).
STEPS = {"figures": "计算数据 figures", "html": "HTML + charts", "pdf": "PDF", "xlsx": "XLSX",
         "csv": "CSV", "json": "JSON"}


def steps_for(formats: list[str]) -> list[str]:
    wanted = set(formats) | ({"html"} if "pdf" in formats else set())
    return ["figures", *[name for name in ("html", "pdf", "xlsx", "csv", "json") if name in wanted]]


def build_report(
    session: Session,
    *,
    week: Week,
    formats: list[str],
    zone: tzinfo,
    now: datetime,
    ack_target: timedelta,
    labels: dict[str, str],
    group_names: dict[str, str] | None = None,
    font: CjkFont | None = None,
    font_file=None,
    playbook: Playbook | None = None,
    public_url: str | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> tuple[dict, dict[str, bytes]]:
    """(figures, {file name suffix: bytes}); suffixes are the formats, plus items.csv beside csv."""
    outputs: dict[str, bytes] = {}
    on_step("figures")
    figures = weekly_figures(session, week=week, zone=zone, now=now, ack_target=ack_target, group_names=group_names,
                             labels=labels, playbook=playbook, public_url=public_url)
    figures["summary"] = weekly_summary(figures, labels)
    items = item_rows(session, week=week, zone=zone) if {"xlsx", "csv"} & set(formats) else []
    html = None
    if {"html", "pdf"} & set(formats):
        on_step("html")
        context = ReportContext(labels, zone, font or find_cjk_font(font_file))
        html = render_html(figures, context)
        if "html" in formats:
            outputs["html"] = html.encode("utf-8")
    if "pdf" in formats:
        on_step("pdf")
        outputs["pdf"] = render_pdf(html)
    if "xlsx" in formats:
        on_step("xlsx")
        outputs["xlsx"] = render_xlsx(figures, items, labels)
    if "csv" in formats:
        on_step("csv")
        outputs["csv"] = render_csv(event_rows(figures), EVENT_COLUMNS)
        outputs["items.csv"] = render_csv(items, ITEM_COLUMNS)
    if "json" in formats:
        on_step("json")
        outputs["json"] = render_json(figures)
    return figures, outputs
