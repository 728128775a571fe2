"""Alembic migrations are the schema: they build exactly what models.py describes, and go both ways."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from monitor.db import make_engine, upgrade_database
from monitor.db.engine import alembic_config
from monitor.db.models import Base
from monitor.db.search import OUTSIDE_THE_ORM


def test_migrated_schema_matches_the_models(database_url):
    engine = make_engine(database_url)
    with engine.connect() as connection:
        # The search index (an FTS5 table, GIN trigram indexes) is made by its migration outside
        # the ORM: everything else must match.
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_name": lambda name, *_: name not in OUTSIDE_THE_ORM,
        })
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_downgrade_to_base_and_upgrade_again(database_url):
    from alembic import command

    command.downgrade(alembic_config(database_url), "base")
    engine = make_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade_database(database_url)
    assert {"outlets", "items"} <= set(inspect(make_engine(database_url)).get_table_names())
    engine.dispose()
