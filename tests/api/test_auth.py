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
