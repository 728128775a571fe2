"""The post-incident review (复盘) of a story replayed through the real stages and then handled
by the duty team: the timeline from first publication to resolution, the response times against
the playbook, the verdict on the level, and the lessons the team writes (API and CLI)."""

import io
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.api import create_app
from monitor.db import alerts as alert_store
from monitor.db.briefs import brief_material, get_review, save_lessons
from monitor.db.models import Alert
from monitor.reports.playbook import load_playbook
from monitor.reports.review import build_review, make_review, render_markdown
from tests.conftest import api_client
from tests.events.test_scenarios import COMPLAINT, Timeline, reprint

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def handled(sessions, clock, tmp_path):
    """A complaint grows to orange; the orange alert is acknowledged 20 minutes after it was
    raised (within the playbook's 60), with a note, and resolved."""
    timeline = Timeline(sessions, clock, tmp_path)
    timeline.publish("forum-a", *COMPLAINT)
    for n, outlet in enumerate(["forum-b", "self-1", "local-daily", "local-tv"]):
        timeline.publish(outlet, COMPLAINT[0], reprint(COMPLAINT[1], n), after=timedelta(minutes=20))
    event = next(e for e in timeline.events() if e.first_outlet_id == "forum-a")
    with sessions.begin() as session:
        orange = session.query(Alert).filter_by(event_id=event.id, level="orange").one()
        raised = orange.alerted_at
        alert_store.act(session, alert_id=orange.id, action="acknowledge", actor="张三", now=raised + timedelta(minutes=20))
        alert_store.act(session, alert_id=orange.id, action="note", actor="张三", now=raised + timedelta(minutes=25),
                        note="已联系供水调度，确认为管网抢修")
        alert_store.act(session, alert_id=orange.id, action="resolve", actor="张三", now=raised + timedelta(hours=2),
                        outcome="发布停水说明，恢复供水")
    clock.advance(timedelta(hours=3))
    return timeline, event


def _review(timeline, event):
    with timeline.sessions() as session:
        return build_review(brief_material(session, event_id=event.id), get_review(session, event_id=event.id),
                            now=timeline.clock.now(), zone=ZONE, labels=timeline.levels.labels,
                            playbook=load_playbook(), find_target=timedelta(minutes=60))


def test_the_timeline_runs_from_first_publication_to_resolution(handled):
    timeline, event = handled
    review = _review(timeline, event)
    steps = [s["step"] for s in review["steps"]]
    assert steps[0] == "首次发布" and "首次采集" in steps[:2]
    assert steps.index("预警（三级（橙色））") < steps.index("确认") < steps.index("处置完成")
    assert any(s["step"] == "备注" and "管网抢修" in s["detail"] for s in review["steps"])
    assert [s["at"] for s in review["steps"]] == sorted(s["at"] for s in review["steps"])
    assert review["event"]["peak_level"] == "orange"


def test_response_times_are_judged_against_the_playbook(handled):
    timeline, event = handled
    review = _review(timeline, event)
    orange = next(t for t in review["timeliness"] if t["level"] == "orange")
    assert orange["response_minutes"] == 20.0 and orange["deadline_minutes"] == 60 and orange["on_time"] is True
    assert orange["resolution_minutes"] == 120.0
    unanswered = [t for t in review["timeliness"] if t["level"] in ("blue", "yellow")]
    # the lower alerts were superseded, never acknowledged: late once their deadline passed
    assert all(t["on_time"] is False for t in unanswered)
    assert review["measures"]["handled_in_time"] is True  # judged on the orange/red ones
    assert review["measures"]["found_in_time"] is True and review["measures"]["accurate"] is True


def test_a_level_corrected_by_hand_or_a_false_alarm_is_a_verdict(handled):
    from monitor.alerts.routing import NO_ROUTING
    from monitor.stages.grouping import set_level_by_hand

    timeline, event = handled
    with timeline.sessions.begin() as session:
        set_level_by_hand(session, levels=timeline.levels, routing=NO_ROUTING, event_id=event.id, level="yellow",
                          actor="李四", reason="仅个别小区，影响有限", now=timeline.clock.now())
    review = _review(timeline, event)
    assert review["measures"]["accurate"] is False
    assert any("李四 将级别调低" in v and "自动定级偏高" in v for v in review["verdicts"])


def test_lessons_are_written_once_per_event_and_shown_in_every_format(handled):
    import docx
    import pypdfium2

    timeline, event = handled
    with timeline.sessions.begin() as session:
        save_lessons(session, event_id=event.id, lessons="停水公告要提前24小时发布。\n[点此](javascript:x)", by="王五",
                     now=timeline.clock.now())
    with timeline.sessions() as session:
        def made(format):
            return make_review(session, event_id=event.id, format=format, now=timeline.clock.now(), zone=ZONE,
                               labels=timeline.levels.labels, playbook=load_playbook(),
                               find_target=timedelta(minutes=60))
        markdown, html, pdf, word = made("md").decode(), made("html").decode(), made("pdf"), made("docx")
        assert json.loads(made("json"))["lessons"]["by"] == "王五"
    for section in ("一、事件概况", "二、处置时间线", "三、时效评估", "四、处置记录", "五、预警级别研判", "六、经验教训"):
        assert section in markdown and section in html
    assert "停水公告要提前24小时发布" in html and "<table>" in html
    assert "[点此](javascript:x)" in html and "href=" not in html  # the team's text shown as written, never a link
    text = "".join(page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(pdf))
    assert "舆情事件复盘报告" in text and "停水公告" in text
    document = docx.Document(io.BytesIO(word))
    assert any("停水公告要提前24小时发布" in p.text for p in document.paragraphs)
    assert document.tables and document.tables[0].cell(0, 1).text == "环节"


async def test_an_operator_writes_the_lessons_and_a_viewer_reads_the_review(handled, db_settings):
    timeline, event = handled
    app = create_app(db_settings, timeline.sessions, clock=timeline.clock)
    operator = api_client(app, timeline.sessions, timeline.clock, role="operator")
    viewer = api_client(app, timeline.sessions, timeline.clock, role="viewer")
    assert (await viewer.put(f"/api/v1/events/{event.id}/review/lessons", json={"lessons": "x"})).status_code == 403
    assert (await operator.put(f"/api/v1/events/{event.id}/review/lessons", json={"lessons": "  "})).status_code == 422
    written = await operator.put(f"/api/v1/events/{event.id}/review/lessons", json={"lessons": "值班群要@到分管领导"})
    assert written.status_code == 200 and written.json()["written_by"].startswith("test-operator-")
    page = await viewer.get(f"/api/v1/events/{event.id}/review", params={"format": "md"})
    assert page.status_code == 200 and "值班群要@到分管领导" in page.text
    assert (await viewer.get(f"/api/v1/events/{event.id + 99}/review")).status_code == 404
    assert (await operator.put(f"/api/v1/events/{event.id + 99}/review/lessons", json={"lessons": "x"})).status_code == 404


def test_the_cli_writes_lessons_and_the_review(handled, db_settings, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from monitor.cli import app

    timeline, event = handled
    monkeypatch.setenv("FENGHUO_DATABASE_URL", db_settings.database_url)
    refused = CliRunner().invoke(app, ["events", "review", str(event.id), "--lessons", "没有署名"])
    assert refused.exit_code == 2 and "--by" in refused.output
    out = tmp_path / "review.md"
    done = CliRunner().invoke(app, ["events", "review", str(event.id), "--lessons", "客服热线要扩容", "--by", "赵六",
                                    "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "客服热线要扩容" in out.read_text(encoding="utf-8") and "赵六" in out.read_text(encoding="utf-8")
    assert render_markdown(_review(timeline, event)).count("客服热线要扩容") == 1
