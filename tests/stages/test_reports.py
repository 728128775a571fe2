"""The weekly report as a scheduled job: due on Monday morning, made once however many workers
ask, stored with every format, announced in the group chat through the outbox (once), and a
failure recorded with its reason and retried later rather than every few minutes."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from monitor.alerts.delivery import DeliveryWorker
from monitor.alerts.routing import Channel, Routing
from monitor.clock import FrozenClock
from monitor.db import reports as report_store
from monitor.db.models import Delivery, Report
from monitor.reports.figures import Week
from monitor.stages.reports import BUILD_LEASE, WeeklyReports, due_week
from tests.conftest import make_settings
from tests.reports.test_figures import LABELS
from tests.reports.week import NOW, load_week
from tests.farm import Reply

BEIJING = ZoneInfo("Asia/Shanghai")
W47 = Week.parse("2026-W47")


@pytest.mark.parametrize("moment, expected", [
    (datetime(2026, 11, 23, 7, 59, tzinfo=BEIJING), "2026-W46"),  # Monday, before 08:00
    (datetime(2026, 11, 23, 8, 0, tzinfo=BEIJING), "2026-W47"),
    (datetime(2026, 11, 26, 15, 0, tzinfo=BEIJING), "2026-W47"),  # later in the week
    (datetime(2026, 11, 29, 23, 59, tzinfo=BEIJING), "2026-W47"),
])
def test_the_due_week_is_the_last_complete_one_once_monday_8_has_passed(moment, expected):
    assert str(due_week(moment, "mon 08:00", BEIJING)) == expected


@pytest.fixture
def clock():
    return FrozenClock(NOW)


@pytest.fixture
def week_loaded(sessions):
    with sessions.begin() as session:
        load_week(session)


def reports_job(sessions, clock, tmp_path, farm=None, **settings):
    routing = Routing({}, {})
    if farm is not None:
        routing = Routing(
            {"leaders": Channel("leaders", "wecom", farm.url("/wecom")),
             "archive": Channel("archive", "generic", farm.url("/hook"), "k")},
            {}, report_channels=["leaders", "archive"],
        )
    config = make_settings(tmp_path, public_url="https://yq.example.org", **settings)
    return WeeklyReports(sessions, config, clock, routing, LABELS), routing


def test_two_workers_asking_at_once_make_one_report(sessions, clock, tmp_path, week_loaded):
    first, _ = reports_job(sessions, clock, tmp_path)
    second, _ = reports_job(sessions, clock, tmp_path)
    assert first.run_if_due() is True
    assert second.run_if_due() is False
    with sessions() as session:
        (report,) = session.scalars(select(Report)).all()
        assert (report.week, report.status, report.requested_by) == ("2026-W47", "ready", "schedule")
        assert report.figures["overview"]["relevant_items"] == 6
        (_, files), = report_store.list_reports(session)
        assert files == ["csv", "html", "items.csv", "json", "pdf", "xlsx"]
        assert report_store.get_file(session, week="2026-W47", name="pdf").content.startswith(b"%PDF")


def test_a_claim_held_by_a_live_worker_is_respected_and_taken_over_when_its_lease_runs_out(sessions, clock, tmp_path):
    with sessions.begin() as session:
        assert report_store.claim_report(session, week="2026-W47", requested_by="worker-1", now=clock.now(),
                                         lease=BUILD_LEASE)
    job, _ = reports_job(sessions, clock, tmp_path)
    assert job.make(W47, requested_by="worker-2") is False  # worker-1 is building it
    clock.advance(BUILD_LEASE + timedelta(seconds=1))  # …and died
    assert job.make(W47, requested_by="worker-2") is True
    with sessions() as session:
        assert report_store.get_report(session, week="2026-W47").requested_by == "worker-2"


async def test_the_report_is_announced_once_in_each_configured_chat(sessions, clock, tmp_path, week_loaded, farm):
    farm.route("/wecom", Reply(200, json.dumps({"errcode": 0, "errmsg": "ok"}).encode()))
    farm.route("/hook", Reply(200, b"{}"))
    job, routing = reports_job(sessions, clock, tmp_path, farm)
    assert job.run_if_due()
    assert job.make(W47, requested_by="admin", rebuild=True)  # remade: not announced again
    with sessions() as session:
        queued = list(session.scalars(select(Delivery).order_by(Delivery.id)))
    assert [(d.channel, d.kind, d.alert_id) for d in queued] == [("leaders", "report", None), ("archive", "report", None)]

    async with httpx.AsyncClient(timeout=5) as client:
        worker = DeliveryWorker(sessions, routing, clock, client, LABELS)
        assert await worker.run_once() == 2
    wecom = json.loads(farm.received[0])
    text = wecom["markdown"]["content"]
    assert wecom["msgtype"] == "markdown"
    assert text.startswith("### 📊 舆情监测周报（2026-W47）")
    assert "涉我信息 6 条，负面 4 条（66.7%）" in text
    assert "橙色及以上按时处置率 50%（目标 90%）" in text
    assert "[下载报告（PDF）](https://yq.example.org/api/v1/reports/2026-W47/pdf)" in text
    generic = json.loads(farm.received[1])
    assert generic["kind"] == "report" and generic["notice"]["week"] == "2026-W47"
    assert generic["idempotency_key"] == "report-2026-W47-archive"
    with sessions() as session:
        assert {d.status for d in session.scalars(select(Delivery))} == {"sent"}


def test_a_failed_report_keeps_its_reason_and_is_retried_an_hour_later(sessions, clock, tmp_path, week_loaded):
    job, _ = reports_job(sessions, clock, tmp_path,
                         report_font="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # no Chinese
    assert job.run_if_due() is False
    with sessions() as session:
        report = report_store.get_report(session, week="2026-W47")
        assert report.status == "failed"
        assert "has no Chinese characters; install a Chinese font" in report.error
        assert session.scalars(select(Delivery)).all() == []  # nothing announced
    attempts = []
    job.make = lambda week, requested_by, rebuild=False: attempts.append(str(week)) or True
    clock.advance(timedelta(minutes=5))
    assert job.run_if_due() is False and attempts == []  # not every five minutes
    clock.advance(timedelta(hours=1))
    assert job.run_if_due() is True and attempts == ["2026-W47"]
