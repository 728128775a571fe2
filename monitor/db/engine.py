"""Engine and session set-up, and the Alembic upgrade that every start runs first."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import structlog
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

import monitor
from alembic import command


def make_engine(database_url: str) -> Engine:
    url = _with_default_driver(database_url)
    # The API serves requests on up to 40 threads (AnyIO's default), each holding one connection
    # for its request: the pool must not be the bottleneck (bench/feed.py ran it dry at 15).
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, pool_size=20, max_overflow=30)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=20, max_overflow=20)


def make_read_engine(engine: Engine) -> Engine:
    """The engine a read route's DBAPI connections come from (monitor/api/deps.py: Reader).

    PostgreSQL: a pool of its own, in autocommit, without the pre-ping. Through the main pool a
    feed request made seven round trips to the server: BEGIN, the pre-ping, ROLLBACK, BEGIN, the
    token version, the page, ROLLBACK on return; here it makes two (bench/feed.py). Each statement
    reads its own snapshot, which a page of one statement does not mind. Without the pre-ping a
    connection the server dropped (a restart, a terminated backend) fails on its first statement:
    the reader invalidates it and runs its work again on a fresh one (`is_disconnect`).
    SQLite: the main engine (no server, no pre-ping, a rollback with nothing begun is free)."""
    if engine.dialect.name != "postgresql":
        return engine
    # Beside the main pool (20 + 20): keeps 10 connections open (the feed's requests are short),
    # up to 30 at once.
    return create_engine(
        engine.url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_size=10, max_overflow=20,
    )


def _with_default_driver(url: str) -> str:
    # "postgresql://" would pick psycopg2, which we do not ship; psycopg 3 is the driver.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while the fetcher writes; NORMAL sync is safe under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrations_dir() -> Path:
    """alembic/ at the repository top in a checkout; bundled inside the package in a wheel."""
    package = Path(monitor.__file__).parent
    for candidate in (package / "_bundled" / "alembic", package.parent / "alembic"):
        if (candidate / "env.py").exists():
            return candidate
    raise RuntimeError("alembic migrations not found beside the monitor package")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", _with_default_driver(database_url))
    return config


def upgrade_database(database_url: str, revision: str = "head") -> str | None:
    """Migrate to revision. Alembic's per-step lines are for debugging (shown at debug level);
    what a user sees is one line, and only when the schema changed. Returns the new revision."""
    with _alembic_quiet():
        before = current_revision(database_url)
        command.upgrade(alembic_config(database_url), revision)
        after = current_revision(database_url)
    if after != before:
        structlog.get_logger("fenghuo.db").info("database_upgraded", from_revision=before or "empty", to_revision=after)
    return after


@contextlib.contextmanager
def _alembic_quiet():
    logger = logging.getLogger("alembic")
    previous_level = logger.level
    if not logger.isEnabledFor(logging.DEBUG):
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(previous_level)


def current_revision(database_url: str) -> str | None:
    """The schema's revision, or None for a database that has none yet (or does not exist)."""
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(_with_default_driver(database_url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
