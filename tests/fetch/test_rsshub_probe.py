"""`fenghuo outlets check --probe` explains an RSSHub error page instead of "HTTP 503"/"not a feed"."""

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.cli.service import explain_rsshub_error
from tests.farm import Reply

runner = CliRunner()


def rsshub_error(message: str, route: str = "/weibo/user/:uid/:routeParams?") -> bytes:
    """The shape of RSSHub's error view (DIYgod/RSSHub lib/views/error.tsx)."""
    return (
        '<!DOCTYPE html><html><head><title>RSSHub</title></head><body>'
        '<img class="grayscale" src="/logo.png" alt="RSSHub" width="100">'
        '<h1 class="text-4xl font-bold">Looks like something went wrong</h1>'
        '<div><p class="mb-2 font-bold">Helpful Information</p>'
        f'<p class="message">Error Message:<br><code class="mt-2 block">{message}</code></p>'
        f'<p class="message">Route: <code class="ml-2 bg-zinc-100">{route}</code></p>'
        '<p class="message">Full Route: <code class="ml-2 bg-zinc-100">/weibo/user/1195230310</code></p>'
        '<p class="message">Node Version: <code class="ml-2 bg-zinc-100">v22.11.0</code></p></div>'
        "</body></html>"
    ).encode()


@pytest.fixture
def env(tmp_path, monkeypatch, farm):
    monkeypatch.setenv("FENGHUO_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("FENGHUO_ALLOW_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("FENGHUO_PER_HOST_DELAY", "0")
    monkeypatch.setenv("FENGHUO_RETRIES", "0")
    farm.route("/robots.txt", Reply(404))
    outlets = tmp_path / "outlets.yaml"
    outlets.write_text(
        "outlets:\n"
        f"  - {{id: weibo-user, name: 某市发布, kind: rss, url: '{farm.url('/weibo/user/1195230310')}', tier: social}}\n"
        f"  - {{id: weibo-json, name: 某市发布 JSON, kind: json, url: '{farm.url('/weibo/user/1195230310?format=json')}', tier: social}}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("FENGHUO_OUTLETS_FILE", str(outlets))
    return farm


def test_probe_explains_an_rsshub_error_page(env):
    env.route_prefix("/weibo/user/", Reply(503, rsshub_error("Weibo cookie is invalid or expired, please login"),
                                           {"Content-Type": "text/html; charset=utf-8"}))
    result = runner.invoke(app, ["outlets", "check", "--probe"], env={"COLUMNS": "400"})
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert output.count("RSSHub error page: the route failed at the platform, not in Fenghuo") == 2
    assert "RSSHub says: Weibo cookie is invalid or expired" in output
    assert "the route needs an account cookie in RSSHub's configuration" in output


def test_an_ordinary_error_page_is_not_called_rsshub(env):
    env.route_prefix("/weibo/user/", Reply(503, b"<html><body>Service Unavailable</body></html>"))
    result = runner.invoke(app, ["outlets", "check", "--probe"], env={"COLUMNS": "400"})
    assert result.exit_code == 1 and "HTTP 503" in result.output and "RSSHub" not in result.output


@pytest.mark.parametrize(
    ("message", "hint"),
    [
        ("Route not found", "no such route on this RSSHub instance"),
        ("Request failed with status code 403", "the platform is blocking this RSSHub instance"),
        ("访问频繁，请稍后再试", "the platform is blocking this RSSHub instance"),
        ("connect ETIMEDOUT 1.2.3.4:443", "the platform did not answer RSSHub in time"),
        ("Cannot read properties of undefined (reading &#39;data&#39;)", None),
    ],
)
def test_rsshub_messages_get_a_likely_fix(message, hint):
    explained = explain_rsshub_error(rsshub_error(message))
    assert explained.startswith(
        "RSSHub error page: the route failed at the platform, not in Fenghuo (route /weibo/user/:uid/:routeParams?)"
    )
    if hint:
        assert explained.split("; ")[-1].startswith(hint)
    else:  # no known cause: RSSHub's own words, unescaped, and no guess
        assert explained.endswith("RSSHub says: Cannot read properties of undefined (reading 'data')")
