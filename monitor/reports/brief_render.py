"""The event brief laid out: Markdown (chat, wikis), HTML (console and API; self-contained, font
embedded), PDF (WeasyPrint from that HTML) and DOCX (what a press office forwards and edits).
Nothing here computes a figure: that is brief.build_brief's job alone."""

from __future__ import annotations

import base64
import io
import json
import re

from monitor.config import TIER_LABELS
from monitor.reports.fonts import CjkFont

FORMATS = ("html", "md", "pdf", "docx", "json")
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "json": "application/json",
}
SECTION_TITLES = ("一、事件概述", "二、舆情态势", "三、传播源头与路径", "四、核心观点", "五、风险评估", "六、发展预测",
                  "七、初步应对建议")


_MARKDOWN_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]()#<>!"} | {"|": "｜", "\n": " "})
_ESCAPED = re.compile(r"\\(.)")
# What XML 1.0 (DOCX) cannot hold and no reader needs: C0 controls but tab/newline, lone surrogates,
# the two non-characters. A note typed with a stray control character must not break the file.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def md_text(text: str | None) -> str:
    """Stored text (titles, sentences, notes) as literal Markdown: a scraped title such as
    "[点此](http://…)" stays text, never a link or a table cell break."""
    return _NOT_XML.sub("", (text or "").translate(_MARKDOWN_SPECIAL))


def _plain(line: str) -> str:
    return _NOT_XML.sub("", _ESCAPED.sub(r"\1", line))


def title_of(brief: dict) -> str:
    return f"舆情研判报告：{brief['event']['title']}"


def _cited(entry: dict) -> str:
    return f"{md_text(entry['outlet'])} {entry['at']}"


def _pct(value) -> str:
    return "—" if value is None else f"{value:.0%}"


# Every character the trend chart can show: its words, digits and every tier's label. A closed
# set, so the font subset for it is made once per process (it costs a few seconds on a CJK
# collection, most of it reading the font) and every later brief draws with it at once.
CHART_WORDS = "传播趋势（按传播层级）信息条分钟/0123456789-: " + "".join(TIER_LABELS.values())


def spread_chart(brief: dict, font: CjkFont, image_format: str = "svg") -> str | bytes:
    """Items per interval, stacked by tier: the story's own span on the axis."""
    from monitor.reports import charts  # matplotlib: loaded only for the formats with a chart

    situation = brief["situation"]
    with charts.drawing_with(charts.lasting_font(font, CHART_WORDS)):
        return charts.tier_spread(situation["timeline"], {t["tier"]: t["label"] for t in situation["tiers"]},
                                  situation["interval_minutes"], image_format)


def _font_face(font: CjkFont) -> str:
    """The brief's font, by reference rather than embedded: a subset of every character in a
    brief takes seconds, and the brief is made on demand. Browsers use the family name (any
    Chinese font in the list will do); WeasyPrint finds the same font through fontconfig, or reads
    the configured file, and embeds its own subset in the PDF."""
    if font.path.suffix.lower() == ".ttc":  # a collection: fontconfig picks the face by name
        return ""
    return f'@font-face {{ font-family: "{font.family}"; src: url("{font.path.as_uri()}"); }}'


def render_markdown(brief: dict) -> str:
    e, s, sp, v, r, f, resp = (brief[k] for k in ("event", "situation", "spread", "viewpoints", "risk", "forecast",
                                                   "response"))
    lines = [f"# {md_text(title_of(brief))}", "",
             f"事件编号 {e['id']}　级别 {e['level_label']}　状态 {'已平息' if e['status'] == 'closed' else '进行中'}　"
             f"生成时间 {brief['generated_at']}（{brief['timezone']}）", "", f"## {SECTION_TITLES[0]}", "",
             brief["overview"]["lead"], ""]
    lines += [f"- {md_text(x['text'])}（{_cited(x)}{'，' + str(x['reprinted_by']) + '家转载' if x['reprinted_by'] > 1 else ''}）"
              + (f" [原文]({x['url']})" if x["url"] else "") for x in brief["overview"]["sentences"]]
    lines += _rewrite_lines(brief.get("rewrite"))
    lines += ["", f"## {SECTION_TITLES[1]}", "",
              "倾向：" + "，".join(f"{t['label']} {t['items']} 条（{_pct(t['share'])}）" for t in s["tone"].values()), "",
              "层级：" + "，".join(f"{t['label']} {t['items']} 条" for t in s["tiers"]), "",
              "主要来源：" + "，".join(f"{md_text(o['name'])}（{o['tier']}）{o['items']} 条" for o in s["outlets"]), ""]
    if s["level_history"]:
        lines += ["| 时间 | 类型 | 原级别 | 新级别 | 操作人 | 原因 |", "|---|---|---|---|---|---|"]
        lines += [f"| {h['at']} | {h['kind']} | {h['from']} | {h['to']} | {md_text(h['actor'])} | {md_text(h['reason'])} |"
                  for h in s["level_history"]]
    lines += ["", f"## {SECTION_TITLES[2]}", ""]
    if sp["origin"]:
        o = sp["origin"]
        lines.append(f"首发：{md_text(o['outlet'])}（{o['tier_label']}）{o['at']}　{md_text(o['title'])}")
    lines += [f"- 首次到达{m['label']}：{_cited(m)}" for m in sp["milestones"]]
    for chain in sp["chains"]:
        lines.append(f"- 转载链「{md_text(chain['title'])}」：{_cited(chain['original'])} → "
                     + "、".join(_cited(x) for x in chain["reprints"]))
    lines += ["", f"## {SECTION_TITLES[3]}", ""]
    if not v["groups"]:
        lines.append("暂无明显观点（信息以事实报道为主）。")
    for n, group in enumerate(v["groups"], 1):
        lines.append(f"{n}. 占比 {_pct(group['share'])}，{group['items']} 条信息，倾向{group['tone']}：")
        lines += [f"   - “{md_text(q['text'])}”（{_cited(q)}）" for q in group["quotes"]]
        said = next((x for x in (brief.get("rewrite") or {}).get("viewpoints", []) if x["group"] == n), None)
        if said:
            lines.append(f"   - 改写：{md_text(said['text'])}")
    lines += ["", f"## {SECTION_TITLES[4]}", "",
              f"当前级别：{r['level_label']}；负面占比 {_pct(r['negative_share'])}；最高风险值 {r['max_risk']}。"]
    lines += [f"- {reason}" for reason in r["reasons"]]
    if r["terms"]:
        lines.append("命中敏感词：" + "、".join(f"{md_text(t['term'])}（{t['items']}）" for t in r["terms"]))
    lines.append(f"受众情绪（{r['public_items']} 条论坛、社交与自媒体信息）："
                 + "，".join(f"{x['emotion']} {x['items']}" for x in r["emotions"]))
    lines += ["", f"## {SECTION_TITLES[5]}", "",
              f"趋势：{f['trend_label']}（最近3小时 {f['last_3h']} 条，此前3小时 {f['previous_3h']} 条；最近6小时共 {f['last_6h']} 条）；"
              f"预计未来6小时约 {f['expected_next_6h']} 条。"]
    if f["next_level"] and f["next_level"]["closest"]:
        closest = f["next_level"]["closest"]
        lines.append(f"升级为{f['next_level']['label']}还需：" + "；".join(closest["unmet"] or ["（已满足）"]))
    lines += [f"方法：{f['method']}", "", f"## {SECTION_TITLES[6]}", "",
              f"通知对象：{'、'.join(resp['notify']) or '—'}；首次回应时限 {resp['first_response_minutes']} 分钟"
              + (f"（预警 {resp['alerted_at']}，应于 {resp['first_response_due']} 前）" if resp["alerted_at"] else "")
              + (f"；已于 {resp['acknowledged_at']} 确认" if resp["acknowledged_at"] else "") + "。"]
    lines += [f"- {action}" for action in resp["actions"]]
    if resp["statement"]:
        lines += ["", f"口径参考：{md_text(resp['statement'])}"]
    if resp["duty_notes"]:
        lines += ["", "值班记录："] + [f"- {n['at']} {md_text(n['actor'])}：{md_text(n['note'])}" for n in resp["duty_notes"]]
    return "\n".join(lines) + "\n"


def _rewrite_lines(rewrite: dict | None) -> list[str]:
    """The model's rewrite beside the draft (FENGHUO_LLM_URL), with its numbered sources."""
    if not rewrite:
        return []
    lines = [""]
    if rewrite["overview"]:
        lines += [f"改写稿（{md_text(rewrite['model'])} 据本节原句与观点引语改写，[n] 为出处编号，以原句为准）：", "",
                  f"> {md_text(rewrite['overview']['text'])}", "",
                  "出处：" + "；".join(f"[{n}] {md_text(x['outlet'])} {x['at']}" for n, x in enumerate(rewrite["sources"], 1))]
    if rewrite["error"]:
        lines += ["", f"（改写稿：{md_text(rewrite['error'])}）"]
    return lines


def render_html(brief: dict, font: CjkFont, *, for_pdf: bool = False) -> str:
    from monitor.reports.render import TEMPLATES

    # The page gets SVG (sharp at any zoom); the PDF a PNG at print resolution: WeasyPrint draws
    # the SVG's outlined letters node by node, and that and matplotlib writing them as outlines
    # were most of a PDF brief's time (bench/brief.py, BENCHMARKS.md).
    chart = spread_chart(brief, font, "png" if for_pdf else "svg") if brief["situation"]["timeline"] else ""
    environment = TEMPLATES.overlay()
    environment.filters.update(svg_data=_data_uri, pct=_pct)
    return environment.get_template("brief.html").render(
        b=brief, title=title_of(brief), sections=SECTION_TITLES, chart=chart, family=font.family,
        font_face=_font_face(font) if for_pdf else "",
    )


def _data_uri(chart: str | bytes) -> str:
    if isinstance(chart, bytes):
        return "data:image/png;base64," + base64.b64encode(chart).decode("ascii")
    return "data:image/svg+xml;base64," + base64.b64encode(chart.encode("utf-8")).decode("ascii")


def render_docx(brief: dict, font: CjkFont) -> bytes:
    picture = spread_chart(brief, font, "png") if brief["situation"]["timeline"] else None
    return markdown_docx(render_markdown(brief), font, picture_after=SECTION_TITLES[1], picture=picture)


def markdown_docx(markdown: str, font: CjkFont, *, picture_after: str | None = None,
                  picture: bytes | None = None) -> bytes:
    """Word from our own Markdown (headings, lists, tables, paragraphs): what a press office
    forwards and edits. The CJK font is named for East Asian text (Word substitutes an installed
    Chinese font when the reader lacks it); a chart goes in as a picture after its heading."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Inches, Pt

    document = Document()
    document.styles["Normal"].font.size = Pt(10.5)
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "List Bullet", "List Number"):
        document.styles[name].element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font.family)
    lines = markdown.splitlines()
    title = _plain(lines[0].removeprefix("# "))
    document.add_heading(title, level=0)
    table_rows: list[list[str]] = []

    def flush_table() -> None:
        if table_rows:
            table = document.add_table(rows=len(table_rows), cols=len(table_rows[0]), style="Table Grid")
            for r, row in enumerate(table_rows):
                for c, cell in enumerate(row[: len(table_rows[0])]):
                    table.cell(r, c).text = cell
            table_rows.clear()

    for line in lines[1:]:
        if line.startswith("|"):
            if not line.startswith("|---"):
                table_rows.append([_plain(cell.strip()) for cell in line.strip().strip("|").split("|")])
            continue
        flush_table()
        if line.startswith("## "):
            document.add_heading(line[3:], level=1)
            if picture is not None and line[3:] == picture_after:
                document.add_picture(io.BytesIO(picture), width=Inches(6.3))
        elif line.startswith(("- ", "   - ")):
            document.add_paragraph(_plain(line.lstrip(" -")), style="List Bullet")
        elif line.strip():
            document.add_paragraph(_plain(line))
    flush_table()
    document.core_properties.title = title
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def markdown_html(markdown: str, font: CjkFont, *, for_pdf: bool = False) -> str:
    """A page from our own Markdown, in the reports' look; raw HTML in the text is escaped and only
    http(s) links are kept (markdown-it's defaults with HTML off)."""
    from markdown_it import MarkdownIt

    from monitor.reports.render import TEMPLATES

    lines = markdown.splitlines()
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render("\n".join(lines[1:]))
    return TEMPLATES.get_template("document.html").render(
        title=_plain(lines[0].removeprefix("# ")), body=body, family=font.family,
        font_face=_font_face(font) if for_pdf else "",
    )


def render(brief: dict, format: str, font: CjkFont | None) -> bytes:
    if format == "json":
        return json.dumps(brief, ensure_ascii=False, indent=2).encode("utf-8")
    if format == "md":
        return render_markdown(brief).encode("utf-8")
    if font is None:
        raise ValueError(f"format {format} needs the report font")
    if format == "html":
        return render_html(brief, font).encode("utf-8")
    if format == "pdf":
        from monitor.reports.render import render_pdf

        return render_pdf(render_html(brief, font, for_pdf=True))
    if format == "docx":
        return render_docx(brief, font)
    raise ValueError(f"unknown format {format!r}; one of {', '.join(FORMATS)}")
