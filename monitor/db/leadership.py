"""One leader among the workers sharing a PostgreSQL database, by a session-level advisory lock.

Fetching and delivering scale out: their work is claimed row by row (`FOR UPDATE SKIP LOCKED`
with leases). The events stage cannot: it keeps the clustering index of the last 72 hours in
memory, and two processes assigning items with different indexes would split stories. So
grouping and grading run in the worker that holds the lock (scoring, the costly part, is shared); when it dies its connection closes,
PostgreSQL releases the lock, and the next worker to ask takes over (rebuilding its index from the
database). On SQLite there is one process, and it leads.
"""

from __future__ import annotations

import threading

import structlog
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = structlog.get_logger("fenghuo.leadership")

# Arbitrary 64-bit keys in pg_advisory_lock's space: the analysis leader; the start-up mirror of
# outlets.yaml (0x…02 is the migrations' lock, in alembic/env.py).
ANALYSIS_LOCK = 0x46656E6768756F01
OUTLET_SYNC_LOCK = 0x46656E6768756F03


def one_at_a_time(session, key: int) -> None:
    """On PostgreSQL, wait for the other processes doing the same thing (key) until the caller's
    transaction ends; on SQLite there is one process."""
    if session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


class Leadership:
    def __init__(self, engine: Engine, key: int = ANALYSIS_LOCK) -> None:
        self.engine, self.key = engine, key
        self._connection: Connection | None = None
        self._lock = threading.Lock()  # asked from the analysis and the retention threads

    @property
    def shared(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def lead(self) -> bool:
        """True while this process is the leader; tries to become it when it is not."""
        if not self.shared:
            return True
        with self._lock:
            if self._connection is not None:
                try:
                    self._connection.execute(text("SELECT 1"))
                    return True
                except Exception:  # the connection (and with it the lock) is gone
                    log.warning("leadership_lost")
                    self._drop()
            # Autocommit: the connection holds the lock for as long as it lives, but never an open
            # transaction (which would keep VACUUM from cleaning up behind it).
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar()
            except Exception:
                connection.close()
                raise
            if not got:
                connection.close()
                return False
            self._connection = connection
            log.info("leadership_taken")
            return True

    def release(self) -> None:
        with self._lock:
            if self._connection is not None:
                try:
                    self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                except Exception:
                    pass
                self._drop()

    def _drop(self) -> None:
        try:
            self._connection.invalidate()
        except Exception:
            pass
        self._connection = None
