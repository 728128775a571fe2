"""One display zone for the deployment (FENGHUO_DEFAULT_TIMEZONE, Asia/Shanghai unless set): the
console learns it from GET /api/v1/display, the CLI's event tables print in it and name it, and the
APIs keep ISO times with their offsets. (The console's own use of it is driven in Chromium by
tests/api/test_console.py.)"""

from datetime import datetime

import pytest
from typer.testing import CliRunner

from monitor.api import create_app
from monitor.cli import app as cli
from tests.conftest import api_client, make_settings
from tests.events.test_scenarios import COMPLAINT, Timeline

runner = CliRunner()


@pytest.fixture
def story(sessions, clock, tmp_path):
    timeline = Timeline(sessions, clock, tmp_path)
    timeline.publish("forum-a", *COMPLAINT)  # seen 2026-11-23 08:10 UTC, published 08:08 UTC
    return timeline


@pytest.mark.parametrize(("zone", "now", "this_week", "last_week_starts"), [
    ("Asia/Shanghai", "2026-11-23T16:00:00+08:00", "2026-W48", "2026-11-16T00:00:00+08:00"),
    ("America/New_York", "2026-11-23T03:00:00-05:00", "2026-W48", "2026-11-16T00:00:00-05:00"),
    # Still Sunday night in Honolulu: its "this week" is the one Shanghai calls last week.
    ("Pacific/Honolulu", "2026-11-22T22:00:00-10:00", "2026-W47", "2026-11-09T00:00:00-10:00"),
])
async def test_the_console_learns_the_zone_and_the_weeks_from_the_server(sessions, clock, tmp_path, database_url,
                                                                        zone, now, this_week, last_week_starts):
    app = create_app(make_settings(tmp_path, database_url=database_url, default_timezone=zone), sessions, clock=clock)
    viewer = api_client(app, sessions, clock, role="viewer")
    shown = (await viewer.get("/api/v1/display")).json()
    assert shown["timezone"] == zone and shown["now"] == now
    assert shown["this_week"]["week"] == this_week and shown["last_week"]["start"] == last_week_starts
    assert datetime.fromisoformat(shown["now"]) == clock.now()  # an ISO time with its offset
    assert (await api_client(app, sessions, clock).get("/api/v1/display", headers={"Authorization": ""})).status_code == 401


def test_cli_event_tables_print_in_the_display_zone_and_name_it(story, database_url, monkeypatch):
    monkeypatch.setenv("FENGHUO_DATABASE_URL", database_url)
    wide = {"COLUMNS": "200"}
    log = runner.invoke(cli, ["events", "log"], env=wide)
    assert log.exit_code == 0, log.output
    assert "at (Asia/Shanghai)" in log.output and "2026-11-23 16:10" in log.output and "08:10" not in log.output
    listed = runner.invoke(cli, ["events", "list"], env=wide)
    assert "first source (Asia/Shanghai)" in listed.output and "forum-a 11-23 16:08" in listed.output

    london = runner.invoke(cli, ["events", "log"], env={**wide, "FENGHUO_DEFAULT_TIMEZONE": "Europe/London"})
    assert "at (Europe/London)" in london.output and "2026-11-23 08:10" in london.output
