"""Search results as CSV or XLSX for the press office: one row per item, times in local time,
highlighted terms in 【】. Text that a spreadsheet would run as a formula stays text
(monitor/reports/render.py `defused`)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, tzinfo

from monitor.db.search import SearchHit
from monitor.reports.render import defused, render_csv

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
COLUMNS = {  # column: its header in the XLSX (the CSV keeps the keys, for scripts)
    "id": "编号", "first_seen_at": "发现时间", "published_at": "发布时间", "outlet": "来源", "tier": "级别",
    "title": "标题", "snippet": "摘要", "tone": "倾向", "risk": "风险", "groups": "关键词组",
    "event_id": "事件", "level": "预警等级", "url": "链接",
}


def marked(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """`text` with each highlighted span in 【】."""
    out, at = [], 0
    for start, end in spans:
        out += [text[at:start], "【", text[start:end], "】"]
        at = end
    return "".join(out) + text[at:]


def rows(hits: Sequence[SearchHit], zone: tzinfo) -> list[dict]:
    def local(at: datetime | None) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if at else ""

    return [
        {
            "id": hit.id, "first_seen_at": local(hit.first_seen_at), "published_at": local(hit.published_at),
            "outlet": hit.outlet_name, "tier": hit.tier, "title": marked(hit.title, hit.title_highlights),
            "snippet": marked(hit.snippet, hit.snippet_highlights), "tone": hit.tone or "",
            "risk": hit.risk if hit.risk is not None else "", "groups": " ".join(hit.groups),
            "event_id": hit.event_id or "", "level": hit.level or "", "url": hit.url,
        }
        for hit in hits
    ]


def render(hits: Sequence[SearchHit], format: str, zone: tzinfo) -> bytes:
    table = rows(hits, zone)
    if format == "csv":
        return render_csv(table, list(COLUMNS))
    if format == "xlsx":
        return _xlsx(table)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


def _xlsx(table: list[dict]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "检索结果"
    sheet.append(list(COLUMNS.values()))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in table:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row.values()])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                # openpyxl would store "=…" as a formula: every string is a string, and one that
                # looks like a formula is quote-prefixed so that editing it in Excel keeps it text.
                cell.data_type = "s"
                if defused(cell.value) != cell.value:
                    cell.quotePrefix = True
    sheet.freeze_panes = "A2"
    for letter, width in zip("ABCDEFGHIJKLM", (8, 17, 17, 12, 8, 40, 60, 8, 6, 16, 6, 8, 40)):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
