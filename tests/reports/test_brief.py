"""The event brief (研判报告) of a story replayed through the real analysis and events stages:
every section present, only stored sentences and items cited, the playbook filled with the
event's own facts, and each format readable back (PDF text, DOCX paragraphs)."""

import io
import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.api import create_app
from monitor.config import ConfigError
from monitor.db import events as event_store
from monitor.db.briefs import brief_material
from monitor.reports.brief import build_brief, make_brief
from monitor.reports.playbook import load_playbook
from tests.conftest import api_client
from tests.events.test_scenarios import COMPLAINT, Timeline, reprint

ZONE = ZoneInfo("Asia/Shanghai")
ZONE_NOW = datetime(2026, 11, 18, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
FOLLOW_UP = ("江城水务回应河西片区停水：管网抢修导致，已恢复供水",
             "江城水务集团表示，河西片区停水系主供水管网突发爆管抢修所致，目前已恢复供水。"
             "网友质疑为什么没有提前通知，希望今后及时发布停水公告。")


@pytest.fixture
def story(sessions, clock, tmp_path):
    return replayed_story(sessions, clock, tmp_path)


def replayed_story(sessions, clock, tmp_path):
    """A complaint on a forum, reprinted, then reported by local and central media."""
    timeline = Timeline(sessions, clock, tmp_path)
    timeline.publish("forum-a", *COMPLAINT)
    for n, outlet in enumerate(["forum-b", "self-1", "local-daily", "local-tv"]):
        timeline.publish(outlet, COMPLAINT[0], reprint(COMPLAINT[1], n), after=timedelta(minutes=20))
    timeline.publish("central-0", *FOLLOW_UP, after=timedelta(hours=1))
    timeline.publish("central-1", FOLLOW_UP[0], reprint(FOLLOW_UP[1], 9), after=timedelta(minutes=30))
    # The follow-up may form an event of its own (story grouping beyond reprints is issue #14); the
    # brief is about the complaint's event, which holds the forum post and its reprints.
    event = next(e for e in timeline.events() if e.first_outlet_id == "forum-a")
    return timeline, event


def _brief(timeline, event):
    with timeline.sessions() as session:
        material = brief_material(session, event_id=event.id)
        return material, build_brief(material, now=timeline.clock.now(), zone=ZONE, labels=timeline.levels.labels,
                                     levels=timeline.levels, playbook=load_playbook())


def test_a_brief_has_every_section_and_cites_only_the_events_own_items(story):
    timeline, event = story
    material, brief = _brief(timeline, event)
    stored = {item.id: f"{item.title}\n{item.text}" for item in material.items}
    assert set(brief) >= {"overview", "situation", "spread", "viewpoints", "risk", "forecast", "response"}

    sentences = brief["overview"]["sentences"]
    assert 3 <= len(sentences) <= 5
    for sentence in sentences:  # extractive: each is text of the item it cites
        assert sentence["text"] in stored[sentence["item_id"]]
    assert any(s["reprinted_by"] >= 3 for s in sentences)  # the reprinted complaint leads
    assert "forum-a" in brief["overview"]["lead"]

    assert brief["spread"]["origin"]["outlet"] == "forum-a" and brief["spread"]["origin"]["tier"] == "forum"
    reached = [m["tier"] for m in brief["spread"]["milestones"]]
    assert reached[0] == "forum" and reached.index("self_media") < reached.index("local_media")
    assert brief["spread"]["chains"][0]["original"]["outlet"] == "forum-a"

    for group in brief["viewpoints"]["groups"]:
        for quote in group["quotes"]:
            assert quote["text"] in stored[quote["item_id"]]
    assert brief["viewpoints"]["groups"], "the posts' 表示/质疑 sentences are viewpoints"

    assert sum(row["items"] for row in brief["situation"]["timeline"]) == len(material.items)
    assert brief["situation"]["level_history"][0]["kind"] == "升级"
    assert brief["risk"]["level"] == event.level and brief["risk"]["terms"]


def test_the_advice_is_the_playbooks_for_the_level_filled_with_stored_facts(story):
    timeline, event = story
    _material, brief = _brief(timeline, event)
    playbook = load_playbook().levels[event.level]
    response = brief["response"]
    assert response["first_response_minutes"] == playbook.first_response_minutes
    assert response["actions"] == playbook.actions
    if playbook.statement:
        assert event.title in response["statement"] and "{" not in response["statement"]
    assert response["alerted_at"] is not None and response["first_response_due"] > response["alerted_at"]


def test_the_forecast_says_the_trend_and_what_the_next_level_needs(story):
    timeline, event = story
    _material, brief = _brief(timeline, event)
    forecast = brief["forecast"]
    assert forecast["trend"] in ("rising", "steady", "cooling", "quiet")
    assert forecast["last_6h"] == sum(row["items"] for row in brief["situation"]["timeline"])
    if event.level != "red":
        assert forecast["next_level"]["closest"]["unmet"]
    timeline.clock.advance(timedelta(hours=30))  # nothing new for a day: cooling to quiet
    _material, later = _brief(timeline, event)
    assert later["forecast"]["trend"] == "quiet" and later["forecast"]["expected_next_6h"] == 0


def _items_at(now, *hours_ago):
    from types import SimpleNamespace

    return [SimpleNamespace(at=now - timedelta(hours=h)) for h in sorted(hours_ago, reverse=True)]


@pytest.mark.parametrize("hours_ago, trend, expected", [
    # A burst 5 hours ago, then nothing for 3 hours: cooling, not "rising because nothing came
    # before" (the first rule said rising and expected twice the burst, 12).
    ((5, 5, 5, 4.5, 4.5, 4.5), "cooling", 3),
    # One item 4 h ago, five in the last 3 h: rising; the latest pace weighs more, (6 + 2×5) / 2.
    ((4, 2.5, 2, 1.5, 1, 0.5), "rising", 8),
    # Two and two: steady at the 6 hours' count.
    ((5, 4, 2, 1), "steady", 4),
    # Nothing in 6 hours: quiet.
    ((7, 8, 9), "quiet", 0),
])
def test_the_forecast_rule(hours_ago, trend, expected):
    """The rule bench/forecast.py measured (BENCHMARKS.md): expected = (last 6 h + 2 × last 3 h) / 2;
    the trend from the last 3 h against the 3 before."""
    from types import SimpleNamespace

    from monitor.events.levels import load_levels
    from monitor.reports.brief import _forecast

    now = ZONE_NOW
    forecast = _forecast(SimpleNamespace(status="open", level="yellow", metrics={}), _items_at(now, *hours_ago), now,
                         load_levels(), {})
    assert (forecast["trend"], forecast["expected_next_6h"]) == (trend, expected)
    assert f"最近3小时（{forecast['last_3h']} 条）" in forecast["method"] and "平均绝对误差" in forecast["method"]


def test_every_format_renders_and_reads_back_in_chinese(story):
    import docx
    import pypdfium2

    timeline, event = story
    with timeline.sessions() as session:
        def made(format):
            return make_brief(session, event_id=event.id, format=format, now=timeline.clock.now(), zone=ZONE,
                              levels=timeline.levels, playbook=load_playbook())

        markdown = made("md").decode("utf-8")
        html = made("html").decode("utf-8")
        pdf = made("pdf")
        word = made("docx")
        as_json = json.loads(made("json"))
        assert make_brief(session, event_id=event.id + 999, format="md", now=timeline.clock.now(), zone=ZONE,
                          levels=timeline.levels, playbook=load_playbook()) is None
    for heading in ("事件概述", "舆情态势", "传播源头与路径", "核心观点", "风险评估", "发展预测", "初步应对建议"):
        assert heading in markdown and heading in html
    assert as_json["event"]["id"] == event.id
    assert "data:image/svg+xml;base64," in html and "Noto Sans CJK SC" in html  # the chart inside, fonts named
    assert "built-in method" not in html and "条（100%）" in html
    text = "".join(page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(pdf))
    assert "舆情研判报告" in text and "事件概述" in text and "江城水务" in text
    paragraphs = [p.text for p in docx.Document(io.BytesIO(word)).paragraphs]
    assert any("舆情研判报告" in p for p in paragraphs) and "七、初步应对建议" in paragraphs
    assert any("江城水务" in p for p in paragraphs)


def test_a_hostile_title_is_escaped_in_html_links_are_only_http_and_word_survives_control_characters(story):
    timeline, event = story
    timeline.publish("forum-c", "<script>alert(1)</script>\x05" + COMPLAINT[0], COMPLAINT[1], after=timedelta(minutes=1))
    with timeline.sessions() as session:
        html = make_brief(session, event_id=event.id, format="html", now=timeline.clock.now(), zone=ZONE,
                          levels=timeline.levels, playbook=load_playbook()).decode("utf-8")
        word = make_brief(session, event_id=event.id, format="docx", now=timeline.clock.now(), zone=ZONE,
                          levels=timeline.levels, playbook=load_playbook())  # a control character: still a file
    assert word[:2] == b"PK"
    assert "<script>alert(1)" not in html
    assert not re.search(r'href="(?!https?://)', html)


def test_a_playbook_with_an_unknown_placeholder_or_a_missing_level_is_refused(tmp_path):
    path = tmp_path / "playbook.yaml"
    path.write_text("levels:\n  blue: {first_response_minutes: 60, statement: '{secret}'}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"levels\.blue\.statement.*unknown placeholder.*secret"):
        load_playbook(path)
    path.write_text("levels:\n  blue: {first_response_minutes: 60}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"missing: \['yellow', 'orange', 'red'\]"):
        load_playbook(path)


async def test_the_api_serves_the_brief_in_each_format(story, db_settings):
    timeline, event = story
    app = create_app(db_settings, timeline.sessions, clock=timeline.clock)
    client = api_client(app, timeline.sessions, timeline.clock, role="viewer")
    answer = await client.get(f"/api/v1/events/{event.id}/brief", params={"format": "md"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/markdown")
    assert "一、事件概述" in answer.text
    word = await client.get(f"/api/v1/events/{event.id}/brief", params={"format": "docx"})
    assert word.status_code == 200 and word.content[:2] == b"PK"
    assert (await client.get(f"/api/v1/events/{event.id + 999}/brief")).status_code == 404
    assert (await client.get(f"/api/v1/events/{event.id}/brief", params={"format": "exe"})).status_code == 422


def test_the_cli_writes_a_brief(story, db_settings, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from monitor.cli import app

    timeline, event = story
    monkeypatch.setenv("FENGHUO_DATABASE_URL", db_settings.database_url)
    out = tmp_path / "brief.docx"
    result = CliRunner().invoke(app, ["events", "brief", str(event.id), "--format", "docx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:2] == b"PK"
    missing = CliRunner().invoke(app, ["events", "brief", "999999"])
    assert missing.exit_code == 1 and "no event 999999" in missing.output
    with timeline.sessions() as session:
        assert event_store.get_event(session, event_id=event.id) is not None
