"""`fenghuo extract`: the extractor's answer for one saved page or one URL, as a user debugging
an outlet types it."""

import json

from typer.testing import CliRunner

from monitor.cli import app
from tests.conftest import FIXTURES
from tests.farm import Reply

runner = CliRunner()
PAGE = FIXTURES / "pages" / "banyuetan_utf8.html"


def test_extract_a_saved_page_as_json_with_exactly_the_five_fields():
    result = runner.invoke(app, ["extract", str(PAGE), "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert list(found) == ["title", "published_at", "author", "source", "body"]
    assert found["title"] == "益阳：“数字”是优长"
    assert found["published_at"] == "2020-01-02T17:11:00+08:00"  # Beijing time, ISO 8601
    assert found["author"] == "孔德明"
    assert "益水之阳，是名益阳" in found["body"]


def test_extract_prints_the_fields_then_the_body():
    result = runner.invoke(app, ["extract", str(PAGE)])
    assert result.exit_code == 0, result.output
    assert "title: 益阳：“数字”是优长" in result.output
    assert "published_at: 2020-01-02T17:11:00+08:00" in result.output
    assert "益水之阳，是名益阳" in result.output


def test_extract_fetches_a_url_with_the_guarded_client(farm, monkeypatch):
    monkeypatch.setenv("FENGHUO_ALLOW_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("FENGHUO_PER_HOST_DELAY", "0")
    farm.route("/robots.txt", Reply(404))
    farm.route("/a.html", Reply(body=PAGE.read_bytes(), headers={"Content-Type": "text/html; charset=utf-8"}))
    result = runner.invoke(app, ["extract", farm.url("/a.html"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["title"] == "益阳：“数字”是优长"


def test_extract_refuses_a_private_address_unless_allowed(farm, monkeypatch):
    monkeypatch.delenv("FENGHUO_ALLOW_NETWORKS", raising=False)
    farm.route("/a.html", Reply(body=PAGE.read_bytes()))
    result = runner.invoke(app, ["extract", farm.url("/a.html")])
    assert result.exit_code == 1
    assert "could not fetch" in result.output


def test_extract_names_a_missing_file():
    result = runner.invoke(app, ["extract", "/nonexistent/page.html"])
    assert result.exit_code == 2
    assert "no such file" in result.output
