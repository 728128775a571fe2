"""search indexes bodies in batches: titles at once (triggers / the title index), bodies by the
worker (monitor/db/search.py index_backlog), off the write path

Indexing a ~200-character body costs ~1 ms (≈ 200 distinct trigrams) against 0.1–0.3 ms for
storing the item at all: with it on the write path ingest was 5–9× the bare insert (BENCHMARKS.md
"Full-text search"). Now an insert indexes its title and queues its body; the worker indexes the
queued bodies in short batches; search scans the queued tail by substring so that nothing recent
is missed (monitor/db/search.py).

SQLite: `search_backlog` holds the ids of items whose body is not in items_fts yet (the insert
trigger adds them). Deleting a row from the backlog indexes that item's body (a trigger), so the
worker's step is one DELETE. The items triggers give FTS5 exactly the values it indexed — the
body only when the item is not in the backlog — since a contentless table forgets a row only
when told its old values.

PostgreSQL: `items.body_indexed` (false for a new row); the body's trigram GIN index is partial
(WHERE body_indexed), so an insert does not touch it, and a partial btree on id lists the tail.
The worker flips the flag in batches (FOR UPDATE SKIP LOCKED: two workers never wait on each
other). The column is outside the ORM (monitor/db/search.py OUTSIDE_THE_ORM): it is the index's
bookkeeping, no item's fact.

Existing items are already indexed: the backlog starts empty, existing rows get true.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 11:40:00
"""

from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

PAD = "char(31, 31)"  # as in 0015: a short term at the very end of a column still begins a trigram


def _body(row: str) -> str:
    """The body as items_fts holds it for `row` (old./new.): empty while the item is queued."""
    return (f"(CASE WHEN EXISTS (SELECT 1 FROM search_backlog WHERE item_id = {row}id) THEN '' "
            f"ELSE {row}text END) || {PAD}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Added as true (existing rows are indexed; PostgreSQL 11+ does not rewrite the table for
        # a constant default), then new rows default to false.
        op.execute("ALTER TABLE items ADD COLUMN body_indexed boolean NOT NULL DEFAULT true")
        op.execute("ALTER TABLE items ALTER COLUMN body_indexed SET DEFAULT false")
        op.execute("DROP INDEX IF EXISTS ix_items_search_text")
        op.execute("CREATE INDEX ix_items_search_text ON items USING gin (text gin_trgm_ops) WHERE body_indexed")
        op.execute("CREATE INDEX ix_items_search_backlog ON items (id) WHERE NOT body_indexed")
        return
    op.execute("CREATE TABLE search_backlog (item_id INTEGER PRIMARY KEY)")
    for trigger in ("items_fts_insert", "items_fts_delete", "items_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    _create_item_triggers()
    # The worker's step: a row leaving the backlog swaps the item's title-only entry for title +
    # body. (When the item itself was deleted, the SELECTs find nothing: nothing to do.)
    op.execute(
        "CREATE TRIGGER search_backlog_indexed AFTER DELETE ON search_backlog BEGIN "
        "INSERT INTO items_fts(items_fts, rowid, title, text) "
        f"SELECT 'delete', id, title || {PAD}, {PAD} FROM items WHERE id = old.item_id; "
        "INSERT INTO items_fts(rowid, title, text) "
        f"SELECT id, title || {PAD}, text || {PAD} FROM items WHERE id = old.item_id; END"
    )


def _create_item_triggers() -> None:
    """The items triggers of 0015, body deferred. A later migration that makes SQLite rebuild
    `items` drops them with the old table: it must create these again, as they are here
    (tests/db/test_search.py checks they exist at head)."""
    op.execute(
        "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
        "INSERT OR IGNORE INTO search_backlog(item_id) VALUES (new.id); "
        f"INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title || {PAD}, {PAD}); END"
    )
    # Forget the entry first (its body part depends on the backlog), then leave the backlog.
    op.execute(
        "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
        f"INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title || {PAD}, {_body('old.')}); "
        "DELETE FROM search_backlog WHERE item_id = old.id; END"
    )
    # A change of title or text (the retention prune empties text) re-indexes what is indexed: a
    # queued item's title only, an indexed one's title and body.
    op.execute(
        "CREATE TRIGGER items_fts_update AFTER UPDATE OF title, text ON items BEGIN "
        f"INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title || {PAD}, {_body('old.')}); "
        f"INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title || {PAD}, {_body('new.')}); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_items_search_backlog")
        op.execute("DROP INDEX IF EXISTS ix_items_search_text")
        op.execute("ALTER TABLE items DROP COLUMN body_indexed")
        op.execute("CREATE INDEX ix_items_search_text ON items USING gin (text gin_trgm_ops)")
        return
    op.execute("DELETE FROM search_backlog")  # index every queued body: 0015's index has them all
    for trigger in ("search_backlog_indexed", "items_fts_insert", "items_fts_delete", "items_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE search_backlog")
    padded = {row: f"{row}title || {PAD}, {row}text || {PAD}" for row in ("old.", "new.")}
    op.execute(
        "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
        f"INSERT INTO items_fts(rowid, title, text) VALUES (new.id, {padded['new.']}); END"
    )
    op.execute(
        "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
        f"INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, {padded['old.']}); END"
    )
    op.execute(
        "CREATE TRIGGER items_fts_update AFTER UPDATE OF title, text ON items BEGIN "
        f"INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, {padded['old.']}); "
        f"INSERT INTO items_fts(rowid, title, text) VALUES (new.id, {padded['new.']}); END"
    )
