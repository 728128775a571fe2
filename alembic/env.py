"""Alembic environment: the URL comes from fenghuo's settings (or the caller's config)."""

from alembic import context
from sqlalchemy import create_engine, text

from monitor.db.models import Base

config = context.config
MIGRATION_LOCK = 0x46656E6768756F02  # "Fenghuo migrations" in pg_advisory_lock's key space


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from monitor.config import load_settings
    from monitor.db.engine import _with_default_driver

    return _with_default_driver(load_settings().database_url)


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(_url())
    with engine.connect() as connection:
        # render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
        context.configure(
            connection=connection, target_metadata=Base.metadata, render_as_batch=True
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Workers and the API start together: one migrates, the others wait on this lock
                # (held until the migration commits) and then find nothing left to do.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
