"""full-text search: an FTS5 trigram index (SQLite) or pg_trgm GIN indexes (PostgreSQL) over
item titles and bodies

SQLite: a contentless FTS5 table (the text lives once, in items) kept in step by triggers on
insert, delete and any update of title or text — which includes the retention prune emptying a
body, so the body leaves the index and the title stays in it. PostgreSQL: GIN trigram indexes
on title and text, which the server keeps in step itself; they serve ILIKE '%term%'.

A later migration that makes SQLite rebuild `items` (a batch_alter_table that cannot ALTER in
place: dropping or changing a column) drops these triggers with the old table: it must create
them again (tests/db/test_search.py checks they exist at head).

Both tokenise into trigrams, which needs no word segmentation (Chinese has no spaces) and finds
any substring of three characters or more. Shorter terms: on SQLite through the index's vocabulary
(below); on PostgreSQL by a substring test over the rows the other terms and the filters leave
(monitor/db/search.py).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 09:30:00
"""

from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm ships with PostgreSQL (Debian: postgresql-contrib, in the server package). CJK
        # characters count as word characters only under a UTF-8 LC_CTYPE (C.UTF-8, zh_CN.UTF-8);
        # under plain C the index holds no Chinese trigrams and every search reads every row.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_items_search_title ON items USING gin (title gin_trgm_ops)")
        op.execute("CREATE INDEX ix_items_search_text ON items USING gin (text gin_trgm_ops)")
        return
    import sqlite3

    if sqlite3.sqlite_version_info < (3, 34):
        raise RuntimeError(
            f"full-text search needs SQLite 3.34 or later (the FTS5 trigram tokenizer); this Python "
            f"has {sqlite3.sqlite_version}: use a newer Python build, or PostgreSQL"
        )
    # Contentless (the text lives once, in items) and padded: each column is indexed with two
    # U+001F after it, so that a term of one or two characters, wherever it stands, begins some
    # indexed trigram ("停水" at the end of a title is the trigram "停水\x1f"). The vocabulary
    # table lists those trigrams by prefix, which is how search finds short terms in the index.
    op.execute(
        "CREATE VIRTUAL TABLE items_fts USING fts5(title, text, content='', tokenize='trigram')"
    )
    op.execute("CREATE VIRTUAL TABLE items_fts_vocab USING fts5vocab(items_fts, 'row')")
    op.execute(f"INSERT INTO items_fts(rowid, title, text) SELECT id, {_padded('')} FROM items")
    op.execute(
        "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
        f"INSERT INTO items_fts(rowid, title, text) VALUES (new.id, {_padded('new.')}); END"
    )
    # A contentless table forgets a row when given the values it indexed: the old ones, padded.
    op.execute(
        "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
        f"INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, {_padded('old.')}); END"
    )
    # Only a change of the indexed text re-indexes: setting pruned_at alone, or any other column,
    # costs nothing here. The prune empties text, so the body leaves the index, the title stays.
    op.execute(
        "CREATE TRIGGER items_fts_update AFTER UPDATE OF title, text ON items BEGIN "
        f"INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, {_padded('old.')}); "
        f"INSERT INTO items_fts(rowid, title, text) VALUES (new.id, {_padded('new.')}); END"
    )


def _padded(row: str) -> str:
    return f"{row}title || char(31, 31), {row}text || char(31, 31)"


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_items_search_text")
        op.execute("DROP INDEX IF EXISTS ix_items_search_title")
        return  # the extension stays: other database objects may use it, and it costs nothing
    for trigger in ("items_fts_update", "items_fts_delete", "items_fts_insert"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS items_fts_vocab")
    op.execute("DROP TABLE IF EXISTS items_fts")
