"""`fenghuo drill` on a deployment that runs elsewhere: the command stores the story and leaves;
`drill list`, `drill report` and `drill clear` read and remove it; a story file with an outlet
that is not a tier is refused with the file and item named."""

import json

from typer.testing import CliRunner

from monitor.cli import app

runner = CliRunner()


def test_start_list_report_and_clear_a_drill_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("FENGHUO_DATABASE_URL", f"sqlite:///{tmp_path / 'drill.db'}")
    started = runner.invoke(app, ["drill", "--level", "orange", "--wait", "0", "--by", "演练组"])
    assert started.exit_code == 0, started.output
    assert "演练/DRILL 1 started: 5 items of built-in orange" in started.output
    assert "fenghuo drill report 1" in started.output

    listed = runner.invoke(app, ["drill", "list"])
    assert "orange" in listed.output and "5 items" in listed.output and "演练组" in listed.output
    report = json.loads(runner.invoke(app, ["drill", "report", "1", "--json"]).output)
    assert report["items"] == 5 and report["analysed"] == 0  # no worker has run: it waits for one
    assert report["waiting_for"] == "the analysis stage (is a worker running?)"
    assert runner.invoke(app, ["drill", "report", "9"]).exit_code == 1

    cleared = runner.invoke(app, ["drill", "clear"])
    assert "cleared 1 drills: 0 events, 5 items" in cleared.output
    assert "5 items" not in runner.invoke(app, ["drill", "list"]).output


def test_a_story_whose_outlet_is_not_a_tier_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FENGHUO_DATABASE_URL", f"sqlite:///{tmp_path / 'drill.db'}")
    story = tmp_path / "story.yaml"
    story.write_text("- {at: 0, outlet: people-daily, title: 标题, text: 正文}\n", encoding="utf-8")
    refused = runner.invoke(app, ["drill", "--story", str(story), "--wait", "0"])
    assert refused.exit_code == 2
    assert "item 1: outlet 'people-daily' must be a tier" in refused.output
