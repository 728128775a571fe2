"""alert feed version: one counter that every committed change to the alerts table raises, so an
API process may answer a feed page it already made while the counter has not moved

The feed is polled by every open console and script, and between two changes to the alerts each
poll reads the same rows again. Its route reads this counter in the round trip that confirms the
caller's token and keeps, per query, the page it last answered with the counter it read before
making it (monitor/api/alerts.py). The counter is raised by the database itself, so a change by
any process (the workers raising and pushing alerts, a duty action through another API process,
a drill's clean-up, hand-written SQL) is seen by the next request: there is no expiry to wait out.

PostgreSQL: a deferred constraint trigger, so the counter's row is updated when the changing
transaction commits: readers see the new value only with the change itself (MVCC), and the
counter's row lock is the last one a writer takes (no lock-order deadlock with alert rows); it
raises the counter once per transaction, however many alerts changed. A statement trigger covers
TRUNCATE. SQLite: row triggers in the writer's transaction (one writer at a time).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-01 17:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

# The row is made again when missing (a TRUNCATE of every table, as the tests do between cases),
# and from a random number, as in the migration: an API process that kept pages under a version
# of a counter since emptied must not find that number again.
START = {'postgresql': "floor(random() * 1e15)::bigint", 'sqlite': "abs(random()) % 1000000000000000"}
MAKE = {
    'postgresql': f"INSERT INTO alert_feed_versions (id, version) VALUES (1, {START['postgresql']}) "
                  "ON CONFLICT (id) DO NOTHING;",
    'sqlite': f"INSERT OR IGNORE INTO alert_feed_versions (id, version) VALUES (1, {START['sqlite']});",
}
RAISE = "UPDATE alert_feed_versions SET version = version + 1 WHERE id = 1;"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        'alert_feed_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    if dialect == 'postgresql':
        # Once per transaction: a statement changing 10,000 alerts queues 10,000 of these for the
        # commit, and each update of the one row would leave a row version the others must step
        # over, under the row's lock, while every other writer of alerts waits for it.
        op.execute(
            "CREATE FUNCTION bump_alert_feed_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF current_setting('fenghuo.alert_feed_raised', true) = 'yes' THEN RETURN NULL; END IF; "
            "PERFORM set_config('fenghuo.alert_feed_raised', 'yes', true); "
            f"{MAKE[dialect]} {RAISE} RETURN NULL; END $$"
        )
        op.execute(
            "CREATE CONSTRAINT TRIGGER alerts_feed_version AFTER INSERT OR UPDATE OR DELETE ON alerts "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bump_alert_feed_version()"
        )
        op.execute(
            "CREATE TRIGGER alerts_feed_version_truncate AFTER TRUNCATE ON alerts "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_alert_feed_version()"
        )
    else:
        for change in ('INSERT', 'UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER alerts_feed_version_{change.lower()} AFTER {change} ON alerts "
                       f"BEGIN {MAKE[dialect]} {RAISE} END")
    op.execute(MAKE[dialect])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS alerts_feed_version_truncate ON alerts")
        op.execute("DROP TRIGGER IF EXISTS alerts_feed_version ON alerts")
        op.execute("DROP FUNCTION IF EXISTS bump_alert_feed_version()")
    else:
        for change in ('insert', 'update', 'delete'):
            op.execute(f"DROP TRIGGER IF EXISTS alerts_feed_version_{change}")
    op.drop_table('alert_feed_versions')
