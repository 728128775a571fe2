"""Shared fixtures: settings for tests, the database (SQLite, and PostgreSQL when given), the farm."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

# A fenghuo.yaml in the working directory must not leak into tests.
os.environ["FENGHUO_CONFIG"] = str(Path(__file__).parent / "no-such-config.yaml")
# pytest-xdist's workers inherit COLUMNS=80/LINES=24 from the runner; Rich fixes a console's width
# from COLUMNS when the console is made (at import), so the width a test asks for would be ignored.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

from monitor.clock import FrozenClock  # noqa: E402
from monitor.config import Settings  # noqa: E402
from monitor.db import make_engine, make_session_factory, upgrade_database  # noqa: E402
from monitor.db.models import Base  # noqa: E402
from tests.farm import Farm  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
POSTGRES_URL = os.environ.get("FENGHUO_TEST_POSTGRES_URL")

if os.environ.get("CI") and not POSTGRES_URL:
    raise RuntimeError("CI must test PostgreSQL too: set FENGHUO_TEST_POSTGRES_URL (.ci/run does)")


def make_settings(tmp_path: Path, **overrides) -> Settings:
    values = dict(
        database_url=f"sqlite:///{tmp_path / 'fenghuo.db'}",
        allow_networks=["127.0.0.0/8", "::1/128"],
        per_host_delay=timedelta(0),
        retry_backoff=timedelta(milliseconds=10),
        request_timeout=timedelta(seconds=5),
        connect_timeout=timedelta(seconds=2),
        read_timeout=timedelta(seconds=3),
        fetch_lease=timedelta(seconds=30),
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """CLI tests configure logging globally (handlers on stderr that the runner then closes)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def farm() -> Iterator[Farm]:
    farm = Farm().start()
    yield farm
    farm.stop()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def _database_params() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    params.append(
        pytest.param(
            "postgresql", id="postgresql", marks=[pytest.mark.postgres]
            + ([] if POSTGRES_URL else [pytest.mark.skip(reason="FENGHUO_TEST_POSTGRES_URL unset")])
        )
    )
    return params


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """One throwaway database for the session, migrated once; tests empty it before use."""
    assert POSTGRES_URL
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"fenghuo_test_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    upgrade_database(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=_database_params())
def database_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fenghuo.db'}"
        upgrade_database(url)
        return url
    return _emptied(request.getfixturevalue("postgres_database"))


def _emptied(url: str) -> str:
    engine = make_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def postgres_url(request) -> str:
    """The test PostgreSQL database, emptied: for tests of what only PostgreSQL can do (several
    processes on one database)."""
    if not POSTGRES_URL:
        pytest.skip("FENGHUO_TEST_POSTGRES_URL unset")
    return _emptied(request.getfixturevalue("postgres_database"))


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def db_settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url=database_url)


def api_client(app, sessions, clock, role: str = "admin"):
    """An in-process client of `app` carrying a fresh token of `role`."""
    import httpx

    from monitor.db.tokens import create_token

    with sessions.begin() as session:
        token = create_token(session, name=f"test-{role}-{uuid.uuid4().hex[:6]}", role=role, now=clock.now())
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://fenghuo.test",
        headers={"Authorization": f"Bearer {token}"},
    )


# scripts/test.sh runs the suite in two passes: everything else in parallel processes
# (pytest-xdist), then on its own each test marked `serial` - the ones that take down what every
# test process shares (the PostgreSQL cluster). FENGHUO_TEST_PASS names the pass; unset, all run.
def pytest_collection_modifyitems(config, items):
    wanted = os.environ.get("FENGHUO_TEST_PASS")
    if wanted not in ("parallel", "serial"):
        return
    keep, drop = [], []
    for item in items:
        (keep if (item.get_closest_marker("serial") is not None) == (wanted == "serial") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
