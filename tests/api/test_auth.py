"""API tokens and roles: 401 without a valid token, 403 without the role, secrets never shown."""

import httpx
import pytest

from monitor.api import create_app
from monitor.db.tokens import TokenError, create_token, list_tokens, revoke_token
from tests.conftest import api_client


def anonymous(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fenghuo.test")


async def test_reading_needs_a_token_and_says_how_to_get_one(db_settings, sessions, clock):
    app = create_app(db_settings, sessions, clock=clock)
    missing = await anonymous(app).get("/api/v1/items")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "fenghuo token create" in missing.json()["detail"]
    wrong = await anonymous(app).get("/api/v1/items", headers={"Authorization": "Bearer fh_nope"})
    assert (wrong.status_code, wrong.json()["detail"]) == (401, "unknown or revoked API token")
    assert (await anonymous(app).get("/healthz")).status_code == 200  # probes need no token
    assert (await anonymous(app).get("/metrics")).status_code == 200


async def test_roles_are_ordered_viewer_operator_admin(db_settings, sessions, clock, tmp_path):
    import shutil
    from pathlib import Path

    from monitor.analyze.holder import LibraryHolder

    shutil.copytree(Path(__file__).parents[2] / "keywords", tmp_path / "kw")
    app = create_app(db_settings, sessions, clock=clock, library=LibraryHolder(tmp_path / "kw"))
    viewer = api_client(app, sessions, clock, role="viewer")
    assert (await viewer.get("/api/v1/keywords")).status_code == 200
    refused = await viewer.post("/api/v1/keywords/reload")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this token's role is viewer; POST /api/v1/keywords/reload needs admin or above"
    assert (await api_client(app, sessions, clock, role="admin").post("/api/v1/keywords/reload")).status_code == 200


async def test_a_revoked_token_stops_working_at_once(db_settings, sessions, clock):
    app = create_app(db_settings, sessions, clock=clock)
    with sessions.begin() as session:
        token = create_token(session, name="integrator", role="viewer", now=clock.now())
    headers = {"Authorization": f"Bearer {token}"}
    assert (await anonymous(app).get("/api/v1/items", headers=headers)).status_code == 200
    with sessions.begin() as session:
        revoke_token(session, name="integrator", now=clock.now())
    assert (await anonymous(app).get("/api/v1/items", headers=headers)).status_code == 401


def _token_reads(sessions) -> list[str]:
    """The SQL statements that look a token up by its hash, as the engine sends them."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(connection, cursor, statement, *args) -> None:
        if "FROM api_tokens" in statement:
            seen.append(statement)

    event.listen(sessions.kw["bind"], "before_cursor_execute", record)
    return seen


async def test_a_token_lookup_is_remembered_for_a_few_seconds(db_settings, sessions, clock):
    from monitor.api.deps import TokenCache

    app = create_app(db_settings, sessions, clock=clock)
    now = [0.0]
    app.state.token_cache = TokenCache(seconds=5, monotonic=lambda: now[0])
    client = api_client(app, sessions, clock, role="viewer")
    lookups = _token_reads(sessions)
    for path in ("/api/v1/alerts", "/api/v1/alerts", "/api/v1/items", "/api/v1/alerts?status=new"):
        assert (await client.get(path)).status_code == 200
    assert len(lookups) == 1  # the first request; the others only read the tokens' version
    now[0] = 5.0
    assert (await client.get("/api/v1/alerts")).status_code == 200
    assert len(lookups) == 2  # five seconds on, the token is looked up again


async def test_a_revoked_token_stops_working_at_once_though_its_lookup_is_remembered(db_settings, sessions, clock):
    app = create_app(db_settings, sessions, clock=clock)
    with sessions.begin() as session:
        tokens = {name: create_token(session, name=name, role="operator", now=clock.now()) for name in ("a", "b", "c")}
    routes = {  # one route of each kind: one thread hop (the feed), SessionDep, an operator's action
        "a": ("GET", "/api/v1/alerts"), "b": ("GET", "/api/v1/items"), "c": ("POST", "/api/v1/alerts/1/acknowledge"),
    }
    for name, (method, path) in routes.items():
        answer = await anonymous(app).request(method, path, headers={"Authorization": f"Bearer {tokens[name]}"}, json={})
        assert answer.status_code in (200, 404)  # remembered now (no alert 1: 404)
    with sessions.begin() as session:
        for name in tokens:
            revoke_token(session, name=name, now=clock.now())
    for name, (method, path) in routes.items():
        answer = await anonymous(app).request(method, path, headers={"Authorization": f"Bearer {tokens[name]}"}, json={})
        assert (answer.status_code, answer.json()["detail"]) == (401, "unknown or revoked API token")


def test_tokens_are_stored_as_hashes_and_names_are_unique(sessions, clock):
    with sessions.begin() as session:
        token = create_token(session, name="duty-phone", role="operator", now=clock.now())
        with pytest.raises(TokenError, match="exists already"):
            create_token(session, name="duty-phone", role="viewer", now=clock.now())
        with pytest.raises(TokenError, match="unknown role 'root'"):
            create_token(session, name="x", role="root", now=clock.now())
    with sessions() as session:
        (stored,) = list_tokens(session)
    assert token.startswith("fh_") and len(token) > 40
    assert token not in (stored.token_hash, stored.name) and len(stored.token_hash) == 64


async def test_a_token_never_appears_in_a_response_or_a_log_line(db_settings, sessions, clock, caplog):
    import logging

    from structlog.testing import capture_logs

    app = create_app(db_settings, sessions, clock=clock)
    with sessions.begin() as session:
        token = create_token(session, name="leaky", role="viewer", now=clock.now())
    headers = {"Authorization": f"Bearer {token}"}
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        bodies = [
            (await anonymous(app).get(path, headers=headers)).text
            for path in ("/api/v1/items", "/api/v1/outlets", "/api/v1/alerts", "/api/v1/stats", "/openapi.json")
        ]
        bodies.append((await anonymous(app).get("/api/v1/items", headers={"Authorization": f"Bearer {token}x"})).text)
    assert not any(token in body for body in bodies)
    assert token not in caplog.text and token not in repr(logs)


def from_address(app, address: str, **headers) -> httpx.AsyncClient:
    """A client whose requests come from `address` (the ASGI scope's client, as uvicorn sets it)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 50000)), base_url="http://fenghuo.test",
        headers=headers,
    )


@pytest.mark.parametrize("path", ["/metrics", "/readyz"])
async def test_metrics_and_readiness_answer_this_machine_or_a_token_holder_by_default(db_settings, sessions, clock, path):
    app = create_app(db_settings, sessions, clock=clock)
    assert db_settings.metrics_access == "loopback"
    with sessions.begin() as session:
        token = create_token(session, name="prometheus", role="viewer", now=clock.now())
    for local in ("127.0.0.1", "::1", "127.8.9.10"):
        assert (await from_address(app, local).get(path)).status_code == 200, local
    for remote in ("203.0.113.7", "10.0.0.5", "2001:db8::1", "fenghuo-client"):
        refused = await from_address(app, remote).get(path)
        assert refused.status_code == 401, remote
        assert refused.json()["detail"] == (
            f"{path} answers only from this machine or with an API token (FENGHUO_METRICS_ACCESS=loopback): "
            "send 'Authorization: Bearer <token>'"
        )
        assert refused.headers["www-authenticate"] == "Bearer"
        assert (await from_address(app, remote, authorization="Bearer fh_wrong").get(path)).status_code == 401
        assert (await from_address(app, remote, authorization=f"Bearer {token}").get(path)).status_code == 200
    assert (await from_address(app, "203.0.113.7").get("/healthz")).status_code == 200  # liveness is for anyone


async def test_metrics_access_can_demand_a_token_or_be_public(db_settings, sessions, clock):
    with sessions.begin() as session:
        token = create_token(session, name="prometheus", role="viewer", now=clock.now())
    db_settings.metrics_access = "token"
    strict = create_app(db_settings, sessions, clock=clock)
    refused = await from_address(strict, "127.0.0.1").get("/metrics")
    assert refused.status_code == 401 and "only with an API token (FENGHUO_METRICS_ACCESS=token)" in refused.json()["detail"]
    assert (await from_address(strict, "127.0.0.1", authorization=f"Bearer {token}").get("/metrics")).status_code == 200
    db_settings.metrics_access = "public"
    public = create_app(db_settings, sessions, clock=clock)
    for path in ("/metrics", "/readyz"):
        assert (await from_address(public, "203.0.113.7").get(path)).status_code == 200
