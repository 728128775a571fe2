"""Weekly reports over HTTP: an admin makes one, anyone with a token lists and downloads it."""

import io

import openpyxl
import pytest

from monitor.api import create_app
from monitor.clock import FrozenClock
from tests.conftest import api_client
from tests.reports.week import NOW, load_week


@pytest.fixture
def app(db_settings, sessions):
    with sessions.begin() as session:
        load_week(session)
    return create_app(db_settings, sessions, clock=FrozenClock(NOW))


async def test_an_admin_makes_a_report_and_a_viewer_downloads_every_format(app, sessions):
    admin = api_client(app, sessions, app.state.clock, role="admin")
    viewer = api_client(app, sessions, app.state.clock, role="viewer")
    assert (await viewer.get("/api/v1/reports")).json() == []
    made = await admin.post("/api/v1/reports/2026-W47/make")
    assert made.status_code == 201, made.text
    assert sorted(made.json()["files"]) == ["csv", "html", "items.csv", "json", "pdf", "xlsx"]

    (listed,) = (await viewer.get("/api/v1/reports")).json()
    assert (listed["week"], listed["status"]) == ("2026-W47", "ready")
    assert listed["requested_by"].startswith("test-admin-")  # the token that asked
    assert listed["files"]["pdf"].endswith("/api/v1/reports/2026-W47/pdf")

    figures = (await viewer.get("/api/v1/reports/2026-W47")).json()
    assert figures["overview"]["negative_items"] == 4
    pdf = await viewer.get("/api/v1/reports/2026-W47/pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"] == 'inline; filename="fenghuo-weekly-2026-W47.pdf"'
    xlsx = await viewer.get("/api/v1/reports/2026-W47/xlsx")
    assert "attachment" in xlsx.headers["content-disposition"]
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content))["概览"]["B2"].value == 8
    html = await viewer.get("/api/v1/reports/2026-W47/html")
    assert html.headers["content-type"] == "text/html; charset=utf-8" and "舆情监测周报" in html.text
    items = await viewer.get("/api/v1/reports/2026-W47/items.csv")
    assert items.content.decode("utf-8-sig").count("\r\n") == 7  # header + 6 relevant items


async def test_operators_make_this_and_last_weeks_report_and_older_weeks_need_an_admin(app, sessions):
    viewer = api_client(app, sessions, app.state.clock, role="viewer")
    operator = api_client(app, sessions, app.state.clock, role="operator")
    admin = api_client(app, sessions, app.state.clock, role="admin")
    assert (await viewer.post("/api/v1/reports/2026-W47/make")).status_code == 403
    made = await operator.post("/api/v1/reports/2026-W47/make")  # NOW is Monday of W48: last week
    assert made.status_code == 201, made.text
    older = await operator.post("/api/v1/reports/2026-W46/make")
    assert older.status_code == 403
    assert older.json()["detail"] == ("remaking 2026-W46 needs admin: operators make this week's (2026-W48) "
                                      "and last week's (2026-W47) report")
    assert (await admin.post("/api/v1/reports/2026-W46/make")).status_code == 201


async def test_making_needs_a_sensible_week(app, sessions):
    admin = api_client(app, sessions, app.state.clock, role="admin")
    bad = await admin.post("/api/v1/reports/2026-47/make")
    assert bad.status_code == 422 and "not an ISO week like 2026-W47" in bad.text
    future = await admin.post("/api/v1/reports/2026-W50/make")
    assert future.status_code == 422 and "has not begun yet" in future.text
    missing = await admin.get("/api/v1/reports/2026-W40")
    assert missing.status_code == 404 and "no report for 2026-W40" in missing.text
    assert (await admin.get("/api/v1/reports/2026-W40/pdf")).status_code == 404
    assert (await admin.get("/api/v1/reports/2026-W47/docx")).status_code == 422
