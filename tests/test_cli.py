"""The `fenghuo` command as a user types it."""

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from tests.farm import Reply

runner = CliRunner()

FEED = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    "<item><title>江城水务回应停水问题</title><link>{base}/a/1</link><description>正文</description></item>"
    "</channel></rss>"
)


@pytest.fixture
def env(tmp_path, monkeypatch, farm):
    monkeypatch.setenv("FENGHUO_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("FENGHUO_ALLOW_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("FENGHUO_PER_HOST_DELAY", "0")
    farm.route("/robots.txt", Reply(404))
    farm.route("/feed", Reply(body=FEED.format(base=farm.base).encode()))
    farm.route("/down", Reply(503))
    outlets = tmp_path / "outlets.yaml"
    outlets.write_text(
        "outlets:\n"
        f"  - {{id: good, name: 好的, kind: rss, url: '{farm.url('/feed')}', tier: local_media}}\n"
        f"  - {{id: down, name: 坏的, kind: rss, url: '{farm.url('/down')}', tier: forum}}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("FENGHUO_OUTLETS_FILE", str(outlets))
    monkeypatch.setenv("FENGHUO_RETRY_BACKOFF", "0.01")
    return outlets


def test_outlets_check_lists_valid_outlets(env):
    result = runner.invoke(app, ["outlets", "check"])
    assert result.exit_code == 0, result.output
    assert "2 outlets valid" in result.output


def test_outlets_check_names_the_broken_field(env):
    env.write_text(env.read_text(encoding="utf-8").replace("tier: forum", "tier: tv"), encoding="utf-8")
    result = runner.invoke(app, ["outlets", "check"])
    assert result.exit_code == 2
    assert "outlet 'down' (#2): field 'tier'" in result.output


def test_outlets_check_probe_reports_each_outlet(env):
    result = runner.invoke(app, ["outlets", "check", "--probe"])
    assert result.exit_code == 1  # one outlet is down
    assert "good" in result.output and "HTTP 503" in result.output


def test_fetch_once_stores_items_and_reports_failures(env):
    result = runner.invoke(app, ["fetch", "--once"])
    assert result.exit_code == 0, result.output
    assert "2 outlets fetched, 1 new items, 1 failed" in result.output
    assert "down" in result.output and "HTTP 503" in result.output
    again = runner.invoke(app, ["fetch", "--once", "--outlet", "good"])
    assert "1 outlets fetched, 0 new items, 0 failed" in again.output


def test_fetch_unknown_outlet_is_refused(env):
    result = runner.invoke(app, ["fetch", "--once", "--outlet", "nope"])
    assert result.exit_code == 2
    assert "unknown outlet id(s): nope" in result.output


def test_db_upgrade_hides_the_password(env, monkeypatch, tmp_path):
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0 and "database at head" in result.output


def test_keywords_check_accepts_the_shipped_library():
    result = runner.invoke(app, ["keywords", "check", "keywords"])
    assert result.exit_code == 0, result.output
    assert "library valid" in result.output


def test_keywords_check_names_the_place_of_a_broken_rule(tmp_path):
    (tmp_path / "org.yaml").write_text(
        "name: 组织\nterms: [华能]\nrules:\n  - id: r1\n    expr: 华能 & (爆炸 | 泄漏\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["keywords", "check", str(tmp_path)])
    assert result.exit_code == 2
    assert "org.yaml:5:" in result.output and "expected ')'" in result.output


def test_score_prints_risk_hits_and_reasons():
    result = runner.invoke(app, ["score", "--title", "江城水务集团停水三天无人管 居民愤怒投诉", "河西片区居民反映停水三天没有任何通知。"])
    assert result.exit_code == 0, result.output
    assert "risk " in result.output and "org-incident" in result.output
    assert "negative probability" in result.output


def test_sentiment_eval_reports_negative_class_scores(tmp_path):
    data = tmp_path / "mine.csv"
    data.write_text(
        "label,review\n0,停水三天了没人管，太气人了！\n0,自来水发黄有异味，到底管不管\n"
        "1,抢修师傅辛苦了，感谢\n1,开放日活动很精彩，点赞\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["sentiment", "eval", str(data)])
    assert result.exit_code == 0, result.output
    assert "accuracy            1.0000" in result.output
    assert "negative recall     1.0000" in result.output
    assert "confusion matrix" in result.output


def test_sentiment_eval_names_a_bad_line(tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text("label,review\n5,什么\n", encoding="utf-8")
    result = runner.invoke(app, ["sentiment", "eval", str(data)])
    assert result.exit_code == 2 and "bad.csv:2: label must be 0 or 1" in result.output


def test_analyze_scores_what_fetch_stored(env):
    assert runner.invoke(app, ["fetch", "--once"]).exit_code == 0
    result = runner.invoke(app, ["analyze"])
    assert result.exit_code == 0, result.output
    assert "1 items scored" in result.output
    assert "0 items scored" in runner.invoke(app, ["analyze"]).output


def test_keywords_backtest_on_stored_items(env, tmp_path):
    import shutil
    from pathlib import Path

    assert runner.invoke(app, ["fetch", "--once"]).exit_code == 0  # stores 江城水务回应停水问题
    current = Path(__file__).parents[1] / "keywords"
    candidate = tmp_path / "keywords.new"
    shutil.copytree(current, candidate)
    (candidate / "organisation.yaml").write_text(
        (candidate / "organisation.yaml").read_text(encoding="utf-8").replace("江城水务, ", ""),
        encoding="utf-8",
    )  # drop the short name: the stored item only says 江城水务
    result = runner.invoke(app, ["keywords", "backtest", str(candidate), "--against", str(current)])
    assert result.exit_code == 0, result.output
    assert "organisation" in result.output and "-1" in result.output
    assert "- #1 江城水务回应停水问题" in result.output


def test_events_list_log_and_a_manual_downgrade(env):
    assert runner.invoke(app, ["fetch", "--once"]).exit_code == 0
    assert "1 items grouped into events" in runner.invoke(app, ["analyze"]).output
    listed = runner.invoke(app, ["events", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "江城水务回应停水问题" in listed.output
    refused = runner.invoke(app, ["events", "set-level", "1", "none", "--by", "张三", "--reason", " "])
    assert refused.exit_code == 2 and "say why" in refused.output
    done = runner.invoke(app, ["events", "set-level", "1", "none", "--by", "张三", "--reason", "误报"])
    assert done.exit_code == 0 and "downgrade" in done.output
    log = runner.invoke(app, ["events", "log", "1"], env={"COLUMNS": "200"})
    assert "张三" in log.output and "误报" in log.output


def test_report_weekly_writes_each_format(env, tmp_path):
    from monitor.db import make_engine, make_session_factory, upgrade_database
    from tests.reports.week import load_week

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade_database(url)
    with make_session_factory(make_engine(url)).begin() as session:
        load_week(session)
    result = runner.invoke(app, ["report", "weekly", "--week", "2026-W47", "--format", "xlsx",
                                 "--out", str(tmp_path / "w.xlsx")])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and (tmp_path / "w.xlsx").read_bytes().startswith(b"PK")
    result = runner.invoke(app, ["report", "weekly", "--week", "2026-W47", "-f", "csv", "--out", str(tmp_path / "w.csv")])
    assert result.exit_code == 0, result.output
    assert "江城水务管网爆裂致多个小区停水" in (tmp_path / "w.csv").read_text(encoding="utf-8-sig")
    assert (tmp_path / "w.items.csv").read_text(encoding="utf-8-sig").count("\n") == 7


def test_report_weekly_reads_and_never_creates_a_database(env, tmp_path):
    result = runner.invoke(app, ["report", "weekly"])
    assert result.exit_code == 2
    assert f"no database at {tmp_path / 'cli.db'}" in result.output and "fenghuo-demo.db" in result.output
    assert not (tmp_path / "cli.db").exists()  # before: an empty database and an all-zero report


def test_report_weekly_says_when_there_is_nothing_to_report(env, tmp_path):
    from monitor.db import make_engine, make_session_factory, upgrade_database
    from tests.reports.week import load_week

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade_database(url)
    empty = runner.invoke(app, ["report", "weekly"], env={"COLUMNS": "200"})  # the default: last complete week
    assert empty.exit_code == 1 and "has no items" in empty.output and "no items at all" in empty.output
    with make_session_factory(make_engine(url)).begin() as session:
        load_week(session)
    asked = runner.invoke(app, ["report", "weekly", "--week", "2026-W40", "-f", "json", "--out", str(tmp_path / "q.json")],
                          env={"COLUMNS": "200"})
    assert asked.exit_code == 0, asked.output  # a quiet week asked for by name is still reported
    assert "2026-W40 has no items: the report will be all zeros" in asked.output
    assert "weeks with items: 2026-W48 (1 items), 2026-W47 (" in asked.output


def test_report_weekly_refuses_a_week_that_does_not_exist(env):
    result = runner.invoke(app, ["report", "weekly", "--week", "2026-W60"])
    assert result.exit_code == 2
    assert "2026 has no week 60" in result.output


def test_help_shows_flags_as_flags_and_uses_the_terminal_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    result = runner.invoke(app, ["fetch", "--help"])
    assert result.exit_code == 0
    assert "--once" in result.output and "<bool>" not in result.output  # a flag takes no value
    assert max(len(line) for line in result.output.splitlines()) > 100  # not cut at 80 columns
