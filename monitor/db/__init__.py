"""Storage: the engine, the models (all tables in models.py) and one store module per entity."""

from monitor.db.engine import make_engine, make_session_factory, upgrade_database

__all__ = ["make_engine", "make_session_factory", "upgrade_database"]
