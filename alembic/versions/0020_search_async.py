"""search indexes new items in batches, off the write path: an insert queues the item, the
worker indexes the queue (monitor/db/search.py index_backlog)

Indexing an item costs ~1 ms on either engine (FTS5 writes a segment per transaction and merges;
GIN inserts ≈ 200 distinct trigrams for a 200-character body) against 0.1–0.3 ms for storing it at
all: with it on the write path ingest was 5–9× the bare insert (BENCHMARKS.md "Full-text search").
Titles alone cost nearly as much as bodies on SQLite (the per-transaction segment, not the
trigrams, dominates), so titles are queued too. The worker indexes 500 at a time (one segment,
one GIN pass per batch) right after each analysis; search tests the queued tail by substring, so
nothing recent is missed (monitor/db/search.py).

SQLite: `search_backlog` holds the ids of items not in items_fts yet (the insert trigger adds
them). Deleting a row from the backlog indexes that item (a trigger), so the worker's step is one
DELETE. Deleting or changing an indexed item tells FTS5 its old values, as in 0015 (a contentless
table forgets a row only when told what it indexed); a queued item is not in FTS5, so there is
nothing to tell.

PostgreSQL: `items.search_indexed` (false for a new row); both trigram GIN indexes are partial
(WHERE search_indexed), so an insert touches neither, and a partial btree on id lists the queue.
The worker flips the flag in batches (FOR UPDATE SKIP LOCKED: two workers never wait on each
other). The column is outside the ORM (monitor/db/search.py OUTSIDE_THE_ORM): it is the index's
bookkeeping, no item's fact. Upgrading rebuilds the two GIN indexes (255 s with the third, below,
over 106,000 items on a loaded machine) and builds a third: every two-character substring of
title and body, for two-character terms.

Existing items are already indexed: the backlog starts empty, existing rows get true.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 11:40:00
"""

from alembic import op


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

PAD = "char(31, 31)"  # as in 0015: a short term at the very end of a column still begins a trigram


QUEUED = "EXISTS (SELECT 1 FROM search_backlog WHERE item_id = old.id)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Added as true (existing rows are indexed; PostgreSQL 11+ does not rewrite the table for
        # a constant default), then new rows default to false.
        op.execute("ALTER TABLE items ADD COLUMN search_indexed boolean NOT NULL DEFAULT true")
        op.execute("ALTER TABLE items ALTER COLUMN search_indexed SET DEFAULT false")
        for name, column in (("ix_items_search_title", "title"), ("ix_items_search_text", "text")):
            op.execute(f"DROP INDEX IF EXISTS {name}")
            op.execute(f"CREATE INDEX {name} ON items USING gin ({column} gin_trgm_ops) WHERE search_indexed")
        op.execute("CREATE INDEX ix_items_search_backlog ON items (id) WHERE NOT search_indexed")
        # Two-character terms (most Chinese words) have no trigram of their own, and pg_trgm
        # extracts none from '%停水%': a GIN index over every two-character substring (lowercased)
        # of title and body serves them, as the padded FTS5 vocabulary does on SQLite.
        # (pg_bigm would do this, but does not ship with PostgreSQL.)
        # Every pair = the pairs from the first character and those from the second, each a
        # non-overlapping regexp match: 0.17 ms for a 200-character body, where substr() in a
        # generate_series loop took 2.2 ms (substr walks a multibyte string from its start).
        # (PostgreSQL's look-aheads do not capture, so '(?=(..))' cannot do it in one pass.)
        # COST: the planner must not think it cheap to call on every row it scans.
        op.execute(
            "CREATE FUNCTION search_bigrams(value text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT "
            "PARALLEL SAFE COST 1000 AS $$ SELECT coalesce(array_agg(pair[1]), '{}') FROM ("
            "SELECT regexp_matches(lower(value), '(..)', 'g') "
            "UNION ALL SELECT regexp_matches(substr(lower(value), 2), '(..)', 'g')) AS pairs(pair) $$"
        )
        op.execute("CREATE INDEX ix_items_search_bigrams ON items USING gin "
                   "((search_bigrams(title) || search_bigrams(text))) WHERE search_indexed")
        return
    op.execute("CREATE TABLE search_backlog (item_id INTEGER PRIMARY KEY)")
    for trigger in ("items_fts_insert", "items_fts_delete", "items_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    _create_item_triggers()
    # The worker's step: a row leaving the backlog indexes its item. (When the item itself was
    # deleted, the SELECT finds nothing: nothing to do.)
    op.execute(
        "CREATE TRIGGER search_backlog_indexed AFTER DELETE ON search_backlog BEGIN "
        f"INSERT INTO items_fts(rowid, title, text) SELECT id, {_padded('')} FROM items WHERE id = old.item_id; END"
    )


def _create_item_triggers() -> None:
    """0015's items triggers, indexing deferred to the worker. A later migration that makes
    SQLite rebuild `items` drops them with the old table: it must create these again, as they are
    here (tests/db/test_search.py checks they exist at head)."""
    op.execute(
        "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
        "INSERT OR IGNORE INTO search_backlog(item_id) VALUES (new.id); END"
    )
    # Forget an indexed item's entry first (whether it has one depends on the backlog), then
    # leave the backlog.
    op.execute(
        "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
        f"INSERT INTO items_fts(items_fts, rowid, title, text) SELECT 'delete', old.id, {_padded('old.')} "
        f"WHERE NOT {QUEUED}; "
        "DELETE FROM search_backlog WHERE item_id = old.id; END"
    )
    # A change of title or text (the retention prune empties text) re-indexes an indexed item; a
    # queued one is indexed as it is when the worker comes to it.
    op.execute(
        f"CREATE TRIGGER items_fts_update AFTER UPDATE OF title, text ON items WHEN NOT {QUEUED} BEGIN "
        f"INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, {_padded('old.')}); "
        f"INSERT INTO items_fts(rowid, title, text) VALUES (new.id, {_padded('new.')}); END"
    )


def _padded(row: str) -> str:
    return f"{row}title || {PAD}, {row}text || {PAD}"


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_items_search_bigrams")
        op.execute("DROP FUNCTION IF EXISTS search_bigrams(text)")
        op.execute("DROP INDEX IF EXISTS ix_items_search_backlog")
        op.execute("DROP INDEX IF EXISTS ix_items_search_text")
        op.execute("DROP INDEX IF EXISTS ix_items_search_title")
        op.execute("ALTER TABLE items DROP COLUMN search_indexed")
        op.execute("CREATE INDEX ix_items_search_title ON items USING gin (title gin_trgm_ops)")
        op.execute("CREATE INDEX ix_items_search_text ON items USING gin (text gin_trgm_ops)")
        return
    op.execute("DELETE FROM search_backlog")  # index everything queued: 0015's index has it all
    for trigger in ("search_backlog_indexed", "items_fts_insert", "items_fts_delete", "items_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE search_backlog")
    op.execute(
        "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
        f"INSERT INTO items_fts(rowid, title, text) VALUES (new.id, {_padded('new.')}); END"
    )
    op.execute(
        "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
        f"INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, {_padded('old.')}); END"
    )
    op.execute(
        "CREATE TRIGGER items_fts_update AFTER UPDATE OF title, text ON items BEGIN "
        f"INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, {_padded('old.')}); "
        f"INSERT INTO items_fts(rowid, title, text) VALUES (new.id, {_padded('new.')}); END"
    )
